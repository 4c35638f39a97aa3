/*
 * PDF string values: escapes and hex decoded to bytes, text strings (PDFDocEncoding, UTF-16BE,
 * UTF-8) turned into UTF-8 for the report, and structural equality of two values, used to tell
 * whether a later revision really changed an object.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool pdf_str_bytes(struct pdf_doc *d, const struct pdf_val *v, uint8_t **out, size_t *olen)
{
    const uint8_t *s = v->u.s.raw;
    size_t len = v->u.s.len, n = 0;
    uint8_t *o = pdf_alloc(d, len / (v->u.s.hex ? 2 : 1) + 2);
    int hi = -1;

    if (!o)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v->u.s.hex) {
            int h = hexval(s[i]);

            if (h < 0)
                continue;
            if (hi < 0) {
                hi = h;
            } else {
                o[n++] = (uint8_t)(hi * 16 + h);
                hi = -1;
            }
            continue;
        }
        if (s[i] == '\r') { /* an EOL in a literal string reads as \n */
            o[n++] = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
            continue;
        }
        if (s[i] != '\\' || i + 1 >= len) {
            o[n++] = s[i];
            continue;
        }
        i++;
        switch (s[i]) {
        case 'n':
            o[n++] = '\n';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case '\r':
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
            break;
        case '\n':
            break;
        default:
            if (s[i] >= '0' && s[i] <= '7') {
                unsigned x = 0, k = 0;

                while (k < 3 && i < len && s[i] >= '0' && s[i] <= '7')
                    x = x * 8 + (s[i++] - '0'), k++;
                i--;
                o[n++] = (uint8_t)x;
            } else {
                o[n++] = s[i];
            }
        }
    }
    if (hi >= 0)
        o[n++] = (uint8_t)(hi * 16);
    *out = o;
    *olen = n;
    return true;
}

static const uint16_t pdfdoc_80[33] = {
    0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044, 0x2039, 0x203a, 0x2212,
    0x2030, 0x201e, 0x201c, 0x201d, 0x2018, 0x2019, 0x201a, 0x2122, 0xfb01, 0xfb02, 0x0141,
    0x0152, 0x0160, 0x0178, 0x017d, 0x0131, 0x0142, 0x0153, 0x0161, 0x017e, 0xfffd, 0x20ac};

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

char *pdf_text(struct pdf_doc *d, const struct pdf_val *v)
{
    uint8_t *b;
    size_t len, n = 0;
    char *tmp, *out;

    if (!v)
        return NULL;
    if (v->kind == PV_NAME) {
        b = (uint8_t *)v->u.name.p;
        len = v->u.name.len;
    } else if (v->kind == PV_STR) {
        if (!pdf_str_bytes(d, v, &b, &len)) {
            d->nomem = true;
            return NULL;
        }
    } else {
        return NULL;
    }
    if (!(tmp = malloc(len * 3 + 1))) {
        d->nomem = true;
        return NULL;
    }
    if (v->kind == PV_STR && len >= 2 && b[0] == 0xfe && b[1] == 0xff) {
        for (size_t i = 2; i + 1 < len; i += 2) {
            uint32_t cp = (uint32_t)b[i] << 8 | b[i + 1];

            if (cp >= 0xd800 && cp < 0xdc00 && i + 3 < len) {
                uint32_t lo = (uint32_t)b[i + 2] << 8 | b[i + 3];

                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 2;
                }
            }
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
            n += put_utf8(tmp + n, cp ? cp : 0xfffd);
        }
    } else if (v->kind == PV_STR && len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
        memcpy(tmp, b + 3, len - 3);
        n = len - 3;
    } else if (v->kind == PV_STR) {
        for (size_t i = 0; i < len; i++)
            n += put_utf8(tmp + n, b[i] >= 0x80 && b[i] <= 0xa0 ? pdfdoc_80[b[i] - 0x80]
                                   : b[i]                       ? b[i]
                                                                : 0xfffd);
    } else {
        memcpy(tmp, b, len);
        n = len;
    }
    tmp[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!tmp[i])
            tmp[i] = ' ';
    out = gw_utf8_sanitize(tmp, 4096);
    free(tmp);
    if (!out)
        d->nomem = true;
    return out;
}

bool pdf_val_equal(struct pdf_doc *d, const struct pdf_val *a, const struct pdf_val *b,
                   unsigned depth)
{
    if (!a || !b)
        return a == b;
    if (depth > d->lim.max_depth)
        return false;
    if ((a->kind == PV_INT || a->kind == PV_REAL) && (b->kind == PV_INT || b->kind == PV_REAL)) {
        double x = a->kind == PV_INT ? (double)a->u.i : a->u.r;
        double y = b->kind == PV_INT ? (double)b->u.i : b->u.r;

        return x <= y && x >= y;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case PV_NULL:
        return true;
    case PV_BOOL:
        return a->u.b == b->u.b;
    case PV_NAME:
        return strcmp(a->u.name.p, b->u.name.p) == 0;
    case PV_REF:
        return a->u.ref.num == b->u.ref.num && a->u.ref.gen == b->u.ref.gen;
    case PV_STR: {
        uint8_t *x, *y;
        size_t xl, yl;

        if (a->u.s.hex == b->u.s.hex && a->u.s.len == b->u.s.len &&
            memcmp(a->u.s.raw, b->u.s.raw, a->u.s.len) == 0)
            return true;
        if (!pdf_str_bytes(d, a, &x, &xl) || !pdf_str_bytes(d, b, &y, &yl))
            return false;
        return xl == yl && memcmp(x, y, xl) == 0;
    }
    case PV_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!pdf_val_equal(d, a->u.arr.v[i], b->u.arr.v[i], depth + 1))
                return false;
        return true;
    case PV_DICT: {
        size_t na = 0, nb = 0;

        for (size_t i = 0; i < a->u.dict.n; i++) {
            const struct pdf_val *av = a->u.dict.kv[i].v;

            if (av->kind == PV_NULL)
                continue;
            na++;
            if (!pdf_val_equal(d, av, pdf_dget(b, a->u.dict.kv[i].key), depth + 1))
                return false;
        }
        for (size_t i = 0; i < b->u.dict.n; i++)
            nb += b->u.dict.kv[i].v->kind != PV_NULL;
        return na == nb;
    }
    default:
        return false;
    }
}
