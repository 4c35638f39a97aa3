/*
 * Incremental base64 decoder for attachment text (ContentTransferEncoded), fed in whatever pieces
 * libxml2 delivers: a 256-entry table, four characters at a time when no white space interrupts
 * them. White space is ignored; '=' is only accepted as the padding of the last quantum.
 */
#include <string.h>

#include "edxml/edxml_internal.h"

enum { B_WS = 64, B_PAD = 65, B_BAD = 255 };

static unsigned char table[256];
static bool table_ready;

static void init_table(void)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    memset(table, B_BAD, sizeof(table));
    for (unsigned i = 0; i < 64; i++)
        table[(unsigned char)alpha[i]] = (unsigned char)i;
    table[' '] = table['\t'] = table['\r'] = table['\n'] = B_WS;
    table['='] = B_PAD;
    table_ready = true; /* idempotent: racing initialisations write the same bytes */
}

size_t gw_edxml_b64_decode(struct gw_edxml_b64 *b, const char *in, size_t len, uint8_t *out)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    uint8_t *o = out;
    uint32_t acc = b->acc;
    unsigned n = b->n;

    if (!table_ready)
        init_table();
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
