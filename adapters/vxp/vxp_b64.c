/*
 * Strict base64 decoding for the national axis adapter: getEdoc answers carry the package as
 * base64 inside JSON. Whitespace is skipped, anything else malformed is refused, and the output is
 * bounded before it is allocated. Pure function, unit-tested in tests/unit/adapters/vxp.
 */
#include <openssl/evp.h>
#include <stdlib.h>

#include "util/error.h"
#include "vxp_sign.h"

static int gw_vxp_b64_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

/* Copies the base64 text without whitespace into a new buffer and checks its shape. */
static int gw_vxp_b64_clean(const char *in, size_t in_len, char **out, size_t *out_len)
{
    char *buf = malloc(in_len + 1);
    size_t n = 0, pad = 0;

    if (!buf)
        return GW_ENOMEM;
    for (size_t i = 0; i < in_len; i++) {
        char ch = in[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v')
            continue;
        if (ch == '=') {
            pad++;
        } else if (!gw_vxp_b64_char(ch) || pad) {
            free(buf);
            return GW_EPARSE; /* bad character, or data after padding */
        }
        buf[n++] = ch;
    }
    if (n % 4 != 0 || pad > 2) {
        free(buf);
        return GW_EPARSE;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

int gw_vxp_b64_decode(const char *in, size_t in_len, size_t max, unsigned char **out,
                      size_t *out_len)
{
    char *clean = NULL;
    size_t clen = 0, total = 0;
    unsigned char *dst = NULL;
    EVP_ENCODE_CTX *ctx = NULL;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((rc = gw_vxp_b64_clean(in, in_len, &clean, &clen)) != 0)
        return rc;
    if (clen / 4 * 3 > max + 2) {
        rc = GW_E2BIG;
        goto done;
    }
    dst = malloc(clen / 4 * 3 + 1);
    ctx = EVP_ENCODE_CTX_new();
    if (!dst || !ctx) {
        rc = GW_ENOMEM;
        goto done;
    }
    EVP_DecodeInit(ctx);
    for (size_t off = 0; off < clen;) {
        int chunk = clen - off > (1u << 24) ? (1 << 24) : (int)(clen - off);
        int got = 0;
        if (EVP_DecodeUpdate(ctx, dst + total, &got, (const unsigned char *)clean + off, chunk) <
            0) {
            rc = GW_EPARSE;
            goto done;
        }
        total += (size_t)got;
        off += (size_t)chunk;
    }
    int got = 0;
    if (EVP_DecodeFinal(ctx, dst + total, &got) < 0) {
        rc = GW_EPARSE;
        goto done;
    }
    total += (size_t)got;
    if (total > max) {
        rc = GW_E2BIG;
        goto done;
    }
    dst[total] = '\0';
    *out = dst;
    *out_len = total;
    dst = NULL;
    rc = 0;
done:
    EVP_ENCODE_CTX_free(ctx);
    free(clean);
    free(dst);
    return rc;
}
