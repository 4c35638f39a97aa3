#ifndef GW_WORKDAYS_H
#define GW_WORKDAYS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Working days (domain.md §7): Monday to Friday, minus a configured list of public holidays.
 * Days are counted as days since 1970-01-01 (Vietnam dates).
 */

/* The day n working days after day (day itself when n is 0). holidays: sorted. */
int32_t gw_workdays_add(int32_t day, unsigned n, const int32_t *holidays, size_t n_holidays);

#endif
