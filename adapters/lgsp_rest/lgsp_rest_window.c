/*
 * List windows of the REST v2.2 axis (pure): syncReceivedEdocList lists by created date in
 * Vietnam time (UTC+7), so the cursor is the date the next window starts ("YYYY/MM/DD"), and
 * windows overlap (the poller deduplicates on docId). Civil dates by day count (H. Hinnant's
 * days_from_civil / civil_from_days), valid across month and year ends and leap years.
 */
#include <stdio.h>
#include <string.h>

#include "lgsp_rest_internal.h"

#define GW_LR_VN_OFFSET_S (7 * 3600)

static long gw_lr_days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

void gw_lr_days_date(long z, char out[GW_LR_DATE_LEN])
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    snprintf(out, GW_LR_DATE_LEN, "%04ld/%02u/%02u", y, (m - 1) % 12 + 1, (d - 1) % 31 + 1);
}

long gw_lr_date_days(const char *s)
{
    unsigned y, m, d;
    char tail;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (!s || strlen(s) != 10 || s[4] != '/' || s[7] != '/')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (sscanf(s, "%4u/%2u/%2u%c", &y, &m, &d, &tail) != 3)
        return -1;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    return gw_lr_days_from_civil((long)y, m, d);
}

static long gw_lr_vn_days(time_t t)
{
    long long s = (long long)t + GW_LR_VN_OFFSET_S;
    long long d = s / 86400;
    if (s % 86400 < 0)
        d--;
    return (long)d;
}

void gw_lr_vn_date(time_t t, char out[GW_LR_DATE_LEN])
{
    gw_lr_days_date(gw_lr_vn_days(t), out);
}

void gw_lr_window(time_t now, const char *cursor, unsigned first_days, unsigned overlap_days,
                  char from[GW_LR_DATE_LEN], char to[GW_LR_DATE_LEN], char next[GW_LR_DATE_LEN])
{
    long today = gw_lr_vn_days(now);
    long start = cursor ? gw_lr_date_days(cursor) : -1;
    long nx;

    if (start < 0)
        start = today - (long)first_days;
    if (start > today) /* a cursor from the future (the clock went back): today */
        start = today;
    nx = today - (long)overlap_days;
    if (nx < start)
        nx = start;
    gw_lr_days_date(start, from);
    gw_lr_days_date(today, to);
    gw_lr_days_date(nx, next);
}

void gw_lr_window_cut(const char from[GW_LR_DATE_LEN], const char to[GW_LR_DATE_LEN],
                      const char *cut_from, char next[GW_LR_DATE_LEN])
{
    long d = gw_lr_date_days(cut_from), hi = gw_lr_date_days(to);

    if (d <= gw_lr_date_days(from)) { /* also not a date */
        memmove(next, from, GW_LR_DATE_LEN);
        return;
    }
    gw_lr_days_date(d < hi ? d : hi, next);
}
