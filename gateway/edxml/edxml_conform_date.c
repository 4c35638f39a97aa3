/*
 * Dates of QCVN 102: yyyy/MM/dd and yyyy/MM/dd HH:mm:ss checked for form and for being real
 * (2014/02/30 is not), Vietnam's calendar day of a Unix time, and DocumentId normalisation
 * (yyyy-MM-dd, yyyy.MM.dd and one-digit months or days written back as yyyy/MM/dd).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml_conform.h"
#include "edxml/edxml_conform_date.h"

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : d[m - 1];
}

enum gw_date_check gw_date_parse(const char *s, size_t len, bool with_time, int *ymd)
{
    size_t want = with_time ? 19 : 10;
    int y, m, d;

    if (len != want || !digits(s, 4) || s[4] != '/' || !digits(s + 5, 2) || s[7] != '/' ||
        !digits(s + 8, 2))
        return GW_DATE_BAD_FORMAT;
    if (with_time && (s[10] != ' ' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
                      s[16] != ':' || !digits(s + 17, 2)))
        return GW_DATE_BAD_FORMAT;
    y = num(s, 4);
    m = num(s + 5, 2);
    d = num(s + 8, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
        return GW_DATE_IMPOSSIBLE;
    if (with_time && (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59))
        return GW_DATE_IMPOSSIBLE;
    if (ymd)
        *ymd = y * 10000 + m * 100 + d;
    return GW_DATE_OK;
}

int gw_date_vn_today(int64_t now)
{
    time_t t = (time_t)(now + 7 * 3600);
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        return 0;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* "yyyy<sep>M[M]<sep>d[d]" with sep one of / - . (both the same) written as yyyy/MM/dd into out
 * (11 bytes). */
static bool norm_date(const char *s, size_t n, char out[11])
{
    size_t i = 5, m0, d0;
    char sep;

    if (n < 8 || n > 10 || !digits(s, 4))
        return false;
    sep = s[4];
    if (sep != '/' && sep != '-' && sep != '.')
        return false;
    m0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i - m0 < 1 || i - m0 > 2 || i >= n || s[i] != sep)
        return false;
    d0 = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i != n || n - d0 < 1 || n - d0 > 2)
        return false;
    memcpy(out, s, 4);
    out[4] = '/';
    out[5] = d0 - m0 == 3 ? s[m0] : '0';
    out[6] = s[d0 - 2];
    out[7] = '/';
    out[8] = n - d0 == 2 ? s[d0] : '0';
    out[9] = s[n - 1];
    out[10] = '\0';
    return true;
}

char *gw_edxml_norm_document_id(const char *document_id)
{
    const char *b, *e, *c1, *c2;
    char date[11], *out;
    size_t n;

    if (!document_id)
        return NULL;
    b = document_id;
    while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
        b++;
    e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    n = (size_t)(e - b);
    out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, b, n);
    out[n] = '\0';
    c1 = memchr(out, ',', n);
    c2 = c1 ? memchr(c1 + 1, ',', (size_t)(out + n - c1 - 1)) : NULL;
    if (c2 && norm_date(c1 + 1, (size_t)(c2 - c1 - 1), date)) {
        size_t head = (size_t)(c1 + 1 - out), old = (size_t)(c2 - c1 - 1);
        /* The normalised date is 10 bytes, never shorter than 8 nor longer than the 10 read. */
        char *o2 = malloc(n - old + 10 + 1);
        if (!o2) {
            free(out);
            return NULL;
        }
        memcpy(o2, out, head);
        memcpy(o2 + head, date, 10);
        memcpy(o2 + head + 10, c2, (size_t)(out + n - c2) + 1);
        free(out);
        out = o2;
    }
    return out;
}
