/*
 * Strict incremental base64 decoding for the national axis adapter: getEdoc answers carry the
 * package as base64 inside JSON, decoded slice by slice as they arrive (gw_vxp_b64_feed keeps
 * four characters of state). Whitespace is skipped, anything else malformed is refused. Pure
 * functions, unit-tested in tests/unit/adapters/vxp.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "vxp_sign.h"

/* --- incremental decoding (getEdoc answers streamed) -------------------------------------- */

enum { GW_B64_BAD = 0xff, GW_B64_WS = 0xfe, GW_B64_PAD = 0xfd };

static uint8_t gw_vxp_b64_table[256];
static pthread_once_t gw_vxp_b64_once = PTHREAD_ONCE_INIT;

static void gw_vxp_b64_table_init(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(gw_vxp_b64_table, GW_B64_BAD, sizeof(gw_vxp_b64_table));
    for (unsigned i = 0; i < 64; i++)
        gw_vxp_b64_table[(unsigned char)alphabet[i]] = (uint8_t)i;
    gw_vxp_b64_table['='] = GW_B64_PAD;
    gw_vxp_b64_table[' '] = gw_vxp_b64_table['\t'] = gw_vxp_b64_table['\r'] = GW_B64_WS;
    gw_vxp_b64_table['\n'] = gw_vxp_b64_table['\f'] = gw_vxp_b64_table['\v'] = GW_B64_WS;
}

void gw_vxp_b64_init(struct gw_vxp_b64 *b)
{
    pthread_once(&gw_vxp_b64_once, gw_vxp_b64_table_init);
    memset(b, 0, sizeof(*b));
}

int gw_vxp_b64_feed(struct gw_vxp_b64 *b, const char *in, size_t n, uint8_t *out, size_t *out_n)
{
    const uint8_t *t = gw_vxp_b64_table;
    const unsigned char *p = (const unsigned char *)in, *end = p + n;
    uint8_t *o = out;

    while (p < end) {
        /* Fast path: four alphabet characters in a row. */
        if (b->q == 0 && !b->pad) {
            while (end - p >= 4) {
                uint8_t c0 = t[p[0]], c1 = t[p[1]], c2 = t[p[2]], c3 = t[p[3]];
                if ((c0 | c1 | c2 | c3) & 0xc0)
                    break;
                uint32_t v = (uint32_t)c0 << 18 | (uint32_t)c1 << 12 | (uint32_t)c2 << 6 | c3;
                o[0] = (uint8_t)(v >> 16);
                o[1] = (uint8_t)(v >> 8);
                o[2] = (uint8_t)v;
                o += 3;
                p += 4;
            }
            if (p == end)
                break;
        }
        uint8_t c = t[*p++];
        if (c == GW_B64_WS)
            continue;
        if (c == GW_B64_BAD || b->done)
            return GW_EPARSE; /* a bad character, or anything after the padding */
        if (c == GW_B64_PAD) {
            if (b->q < 2)
                return GW_EPARSE;
            b->pad++;
            b->q++;
        } else {
            if (b->pad)
                return GW_EPARSE; /* data after '=' */
            b->acc = b->acc << 6 | c;
            b->q++;
        }
        if (b->q == 4) {
            uint32_t v = b->acc << (6 * b->pad);
            o[0] = (uint8_t)(v >> 16);
            if (b->pad < 2)
                o[1] = (uint8_t)(v >> 8);
            if (b->pad < 1)
                o[2] = (uint8_t)v;
            o += 3 - b->pad;
            b->done = b->pad > 0;
            b->q = 0;
            b->acc = 0;
        }
    }
    *out_n = (size_t)(o - out);
    return 0;
}

int gw_vxp_b64_end(const struct gw_vxp_b64 *b)
{
    return b->q == 0 ? 0 : GW_EPARSE;
}
