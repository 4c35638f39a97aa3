/*
 * Due dates in working days (workdays.h): weekends skipped by the day of the week (1970-01-01
 * was a Thursday), holidays by a binary search of the sorted list.
 */
#include "rules/workdays.h"

#include <stdbool.h>
#include <stdlib.h>

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bool working(int32_t day, const int32_t *holidays, size_t n)
{
    int wd = (int)((day % 7 + 7 + 4) % 7); /* 0 Sunday .. 6 Saturday */
    if (wd == 0 || wd == 6)
        return false;
    return !n || !bsearch(&day, holidays, n, sizeof(*holidays), cmp_day);
}

int32_t gw_workdays_add(int32_t day, unsigned n, const int32_t *holidays, size_t n_holidays)
{
    for (unsigned k = 0; k < n;) {
        day++;
        k += working(day, holidays, n_holidays);
    }
    return day;
}
