/*
 * Organisation identifiers (domain.md §4): the strict QCVN 102 form V1V2V3.Z1Z2.Y1Y2.MX1X2 (level
 * 1 on the right), the strict QĐ 20/2020 form (level-1 group on the left), the lenient routing form
 * and the QCVN 102 parent. Pure functions over ASCII; never allocate.
 */
#include "edxml/edxml_orgid.h"

#include <string.h>

#define QD20_MAX 35

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Exactly "ddd.dd.dd.Ldd": 13 characters. */
bool gw_orgid_is_qcvn102(const char *id)
{
    static const char shape[] = "999.99.99.A99";

    if (!id || strlen(id) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        char s = shape[i], c = id[i];
        if ((s == '9' && !is_digit(c)) || (s == 'A' && !is_upper(c)) || (s == '.' && c != '.'))
            return false;
    }
    return true;
}

/*
 * QĐ 20 as this project reads it: at most 35 characters of [0-9A-Z.]; groups separated by single
 * dots (no empty group, no dot at either end); the first group is the level-1 code, a capital
 * letter and two digits (H37); further groups are one or more of [0-9A-Z] (H37.DN.001). A QCVN 102
 * id never matches, since its first group is three digits.
 */
bool gw_orgid_is_qd20(const char *id)
{
    size_t n;

    if (!id)
        return false;
    n = strlen(id);
    if (n < 3 || n > QD20_MAX || !is_upper(id[0]) || !is_digit(id[1]) || !is_digit(id[2]))
        return false;
    if (n > 3 && id[3] != '.')
        return false;
    for (size_t i = 3; i < n; i++) {
        char c = id[i];
        if (c == '.') {
            if (i + 1 == n || id[i + 1] == '.')
                return false;
        } else if (!is_digit(c) && !is_upper(c)) {
            return false;
        }
    }
    return true;
}

enum gw_orgid_form gw_orgid_form(const char *id)
{
    if (gw_orgid_is_qcvn102(id))
        return GW_ORGID_QCVN102;
    if (gw_orgid_is_qd20(id))
        return GW_ORGID_QD20;
    return GW_ORGID_INVALID;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool gw_orgid_lenient(const char *id, char *out, size_t n)
{
    const unsigned char *b, *e;
    size_t len;

    if (!id || !out || n == 0)
        return false;
    b = (const unsigned char *)id;
    e = b + strlen(id);
    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    len = (size_t)(e - b);
    if (len == 0 || len + 1 > n)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        if (c < 0x20 || c == 0x7f || c == ' ')
            return false;
        /* C1 controls in UTF-8 are C2 80..C2 9F. */
        if (c == 0xc2 && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] <= 0x9f)
            return false;
        out[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    out[len] = '\0';
    if (strcmp(out, "NULL") == 0) {
        out[0] = '\0';
        return false;
    }
    return true;
}

/* Zeroes the deepest non-zero level: V1V2V3 (level 4), then Z1Z2 (3), then Y1Y2 (2). */
bool gw_orgid_parent(const char *id, char *out, size_t n)
{
    static const struct {
        size_t at, len;
    } level[] = {{0, 3}, {4, 2}, {7, 2}};

    if (!gw_orgid_is_qcvn102(id) || !out || n < 14)
        return false;
    for (size_t l = 0; l < sizeof(level) / sizeof(level[0]); l++) {
        bool zero = true;
        for (size_t i = 0; i < level[l].len; i++)
            zero = zero && id[level[l].at + i] == '0';
        if (!zero) {
            memcpy(out, id, 14);
            memset(out + level[l].at, '0', level[l].len);
            return true;
        }
    }
    return false;
}

bool gw_orgid_same_level1(const char *a, const char *b)
{
    char la[64], lb[64];
    enum gw_orgid_form fa, fb;
    const char *dot;

    if (!gw_orgid_lenient(a, la, sizeof(la)) || !gw_orgid_lenient(b, lb, sizeof(lb)))
        return false;
    fa = gw_orgid_form(la);
    fb = gw_orgid_form(lb);
    if (fa != fb || fa == GW_ORGID_INVALID)
        return strcmp(la, lb) == 0;
    if (fa == GW_ORGID_QCVN102)
        return strcmp(la + 10, lb + 10) == 0; /* MX1X2 */
    dot = strchr(la, '.');
    size_t n = dot ? (size_t)(dot - la) : strlen(la);
    return strncmp(la, lb, n) == 0 && (lb[n] == '.' || lb[n] == '\0');
}

bool gw_orgid_same_level1_any(const char *id, char *const *ids, size_t n)
{
    for (size_t i = 0; id && i < n; i++)
        if (gw_orgid_same_level1(id, ids[i]))
            return true;
    return false;
}
