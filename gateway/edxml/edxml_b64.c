/*
 * Incremental base64 decoder for attachment text (ContentTransferEncoded), fed in whatever pieces
 * libxml2 delivers: a 256-entry table, four characters at a time when no white space interrupts
 * them. White space is ignored; '=' is only accepted as the padding of the last quantum.
 */
#include <string.h>

#include "edxml/edxml_internal.h"

enum { B_WS = 64, B_PAD = 65, B_BAD = 255 };

/* Value of each byte: 0-63 data, B_WS (64) white space, B_PAD (65) '=', B_BAD (255) anything
 * else (built from the RFC 4648 alphabet; a constant, so threads share it without any
 * initialisation). */
static const unsigned char table[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 64,  64,  255, 255, 64,  255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 64,  255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 62,  255, 255, 255, 63,  52,  53,  54,  55,  56,  57,  58,  59,  60,
    61,  255, 255, 255, 65,  255, 255, 255, 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,
    11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  255, 255, 255, 255,
    255, 255, 26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,
    43,  44,  45,  46,  47,  48,  49,  50,  51,  255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255,
};

size_t gw_edxml_b64_decode(struct gw_edxml_b64 *b, const char *in, size_t len, uint8_t *out)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    uint8_t *o = out;
    uint32_t acc = b->acc;
    unsigned n = b->n;

    if (b->bad)
        return (size_t)-1;
    while (p < end) {
        unsigned v;
        /* fast path: whole quanta of data characters */
        if (n == 0 && b->pad == 0) {
            while (end - p >= 4) {
                unsigned a = table[p[0]], c = table[p[1]], d = table[p[2]], e = table[p[3]];
                if ((a | c | d | e) & 0xC0)
                    break;
                uint32_t q = a << 18 | c << 12 | d << 6 | e;
                o[0] = (uint8_t)(q >> 16);
                o[1] = (uint8_t)(q >> 8);
                o[2] = (uint8_t)q;
                o += 3;
                p += 4;
            }
            if (p == end)
                break;
        }
        v = table[*p++];
        if (v == B_WS)
            continue;
        if (v == B_PAD) {
            /* "xx==" or "xxx=": padding only after two or three sextets */
            if (n + b->pad < 2 || n + b->pad >= 4) {
                b->bad = true;
                return (size_t)-1;
            }
            b->pad++;
            if (n + b->pad == 4) {
                if (n == 2) {
                    *o++ = (uint8_t)(acc >> 4);
                } else {
                    *o++ = (uint8_t)(acc >> 10);
                    *o++ = (uint8_t)(acc >> 2);
                }
                acc = 0;
                n = 0;
                b->pad = 4; /* finished: only white space may follow */
            }
            continue;
        }
        if (v == B_BAD || b->pad) {
            b->bad = true; /* a bad character, or data after '=' */
            return (size_t)-1;
        }
        acc = acc << 6 | v;
        if (++n == 4) {
            *o++ = (uint8_t)(acc >> 16);
            *o++ = (uint8_t)(acc >> 8);
            *o++ = (uint8_t)acc;
            acc = 0;
            n = 0;
        }
    }
    b->acc = acc;
    b->n = n;
    return (size_t)(o - out);
}

int gw_edxml_b64_end(struct gw_edxml_b64 *b, uint8_t *out, size_t *written)
{
    *written = 0;
    if (b->bad)
        return -1;
    if (b->pad != 0 && b->pad != 4)
        return -1; /* "xx=" at the end */
    if (b->n == 0)
        return 0;
    if (b->n == 1)
        return -1;
    if (b->n == 2) {
        out[0] = (uint8_t)(b->acc >> 4);
        *written = 1;
    } else {
        out[0] = (uint8_t)(b->acc >> 10);
        out[1] = (uint8_t)(b->acc >> 2);
        *written = 2;
    }
    b->n = 0;
    return 1;
}
