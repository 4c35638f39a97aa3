#ifndef GW_EDXML_CONFORM_DATE_H
#define GW_EDXML_CONFORM_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Dates of QCVN 102 for the conformance checks (edxml_conform_date.c). */

enum gw_date_check {
    GW_DATE_OK = 0,
    GW_DATE_BAD_FORMAT, /* not yyyy/MM/dd (or yyyy/MM/dd HH:mm:ss with with_time) */
    GW_DATE_IMPOSSIBLE, /* the right form, not a real date or time (2014/02/30, 25:00:00) */
};

/* Checks s[0..len); on GW_DATE_OK *ymd (may be NULL) = yyyymmdd. */
enum gw_date_check gw_date_parse(const char *s, size_t len, bool with_time, int *ymd);

/* yyyymmdd of the calendar day in Vietnam (UTC+7) at Unix time now. */
int gw_date_vn_today(int64_t now);

#endif
