/*
 * UTF-8 validation and repair. Text that a peer sent (an axis's error text, a header value) is
 * repaired before it is stored or logged, so that a cut multi-byte character can never turn a
 * database write or a log line into an error.
 */
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

size_t gw_utf8_seq_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* Like gw_utf8_seq_len but never reads past end. */
static size_t gw_utf8_seq_len_bounded(const unsigned char *p, const unsigned char *end)
{
    unsigned char tmp[4] = {0, 0, 0, 0};
    size_t avail = (size_t)(end - p);

    if (avail >= 4)
        return gw_utf8_seq_len(p);
    memcpy(tmp, p, avail);
    return gw_utf8_seq_len(tmp);
}

size_t gw_utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

bool gw_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        size_t n;
        if (*p == 0)
            return false;
        n = gw_utf8_seq_len_bounded(p, end);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

char *gw_utf8_sanitize(const char *s, size_t max_bytes)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *end = p + strlen((const char *)p);
    char *out = malloc(max_bytes + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    while (p < end) {
        size_t n = gw_utf8_seq_len_bounded(p, end);
        const char *rep = (const char *)p;
        size_t rep_len = n;
        if (n == 0) {
            rep = "\xef\xbf\xbd";
            rep_len = 3;
            n = 1;
        } else if (n == 1 && (*p < 0x20 || *p == 0x7f) && *p != '\t' && *p != '\n') {
            rep = " ";
        }
        if (o + rep_len > max_bytes)
            break;
        memcpy(out + o, rep, rep_len);
        o += rep_len;
        p += n;
    }
    out[o] = '\0';
    return out;
}
