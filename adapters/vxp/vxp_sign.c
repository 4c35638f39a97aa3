/*
 * Request signing for the national axis: every call carries XroadVnpt-* headers, a compact JSON
 * copy of them (sign-header), the list of signed keys and an HMAC-SHA256 of the JSON bytes keyed
 * with the base64-decoded system secret. Pure functions, unit-tested in tests/unit/test_vxp_sign.c.
 */
#include "vxp_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int gw_vxp_timestamp(time_t sec, unsigned ms, char out[GW_VXP_TS_LEN])
{
    struct tm tm;

    if (ms > 999 || !localtime_r(&sec, &tm))
        return GW_EINVAL;
    int n = snprintf(out, GW_VXP_TS_LEN, "%02d%02d%04dT%02d%02d%02d+%04u", tm.tm_mday,
                     tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return n == GW_VXP_TS_LEN - 1 ? 0 : GW_EINVAL;
}

/* Decodes one UTF-8 sequence at s: code point, or -1 if malformed (overlong, surrogate, >
 * U+10FFFF). */
static long gw_vxp_utf8(const unsigned char *s, size_t *len)
{
    long cp;
    size_t n;

    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = n;
    return cp;
}

int gw_vxp_value_ok(const char *v)
{
    size_t n = 0, step;

    if (!v)
        return GW_EINVAL;
    for (; v[n]; n += step) {
        long cp = gw_vxp_utf8((const unsigned char *)v + n, &step);
        if (cp < 0x20 || cp == 0x7f || n + step > GW_VXP_MAX_VALUE)
            return GW_EINVAL;
    }
    /* HTTP drops blanks around a header value, which would break the signed copy. */
    if (n > 0 && (v[0] == ' ' || v[n - 1] == ' '))
        return GW_EINVAL;
    return 0;
}

static void gw_vxp_put_u(char *buf, size_t *p, unsigned u)
{
    static const char hex[] = "0123456789abcdef";
    buf[(*p)++] = '\\';
    buf[(*p)++] = 'u';
    for (int sh = 12; sh >= 0; sh -= 4)
        buf[(*p)++] = hex[(u >> sh) & 15];
}

/* The two-character JSON escapes (as Python's json.dumps writes them); 0 if none. */
static char gw_vxp_short_escape(long cp)
{
    switch (cp) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

/* Appends s JSON-escaped, pure ASCII (without quotes) to buf at *pos; buf holds 6 bytes/input
 * byte. Non-ASCII becomes \uXXXX (surrogate pairs above U+FFFF). */
static int gw_vxp_json_escape(const char *s, char *buf, size_t *pos)
{
    size_t p = *pos, step;

    for (; *s; s += step) {
        long cp = gw_vxp_utf8((const unsigned char *)s, &step);
        if (cp < 0)
            return GW_EINVAL;
        char esc = gw_vxp_short_escape(cp);
        if (esc) {
            buf[p++] = '\\';
            buf[p++] = esc;
        } else if (cp < 0x20 || cp >= 0x7f) {
            if (cp > 0xffff) {
                gw_vxp_put_u(buf, &p, (unsigned)(0xd800 + ((cp - 0x10000) >> 10)));
                gw_vxp_put_u(buf, &p, (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
            } else {
                gw_vxp_put_u(buf, &p, (unsigned)cp);
            }
        } else {
            buf[p++] = (char)cp;
        }
    }
    *pos = p;
    return 0;
}

int gw_vxp_sign_json(const struct gw_vxp_kv *kv, size_t n, char **out)
{
    size_t cap = 3, pos = 0;
    char *buf;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key || !kv[i].value)
            return GW_EINVAL;
        cap += 6 * (strlen(kv[i].key) + strlen(kv[i].value)) + 6;
    }
    buf = malloc(cap);
    if (!buf)
        return GW_ENOMEM;
    buf[pos++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[pos++] = ',';
        buf[pos++] = '"';
        if (gw_vxp_json_escape(kv[i].key, buf, &pos) != 0)
            goto bad;
        buf[pos++] = '"';
        buf[pos++] = ':';
        buf[pos++] = '"';
        if (gw_vxp_json_escape(kv[i].value, buf, &pos) != 0)
            goto bad;
        buf[pos++] = '"';
    }
    buf[pos++] = '}';
    buf[pos] = '\0';
    *out = buf;
    return 0;
bad:
    free(buf);
    return GW_EINVAL; /* not UTF-8 */
}

int gw_vxp_hmac_hex(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len,
                    char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const unsigned char nokey = 0;

    if (key_len > INT32_MAX)
        return GW_EINVAL;
    if (!HMAC(EVP_sha256(), key_len ? key : &nokey, (int)key_len, (const unsigned char *)msg,
              msg_len, md, &md_len) ||
        md_len != 32)
        return GW_EIO;
    for (unsigned i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

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

void gw_vxp_headers_free(char **headers)
{
    if (!headers)
        return;
    for (size_t i = 0; headers[i]; i++)
        free(headers[i]);
    free(headers);
}

static int gw_vxp_push(char **h, size_t *n, const char *name, const char *value)
{
    size_t len = strlen("XroadVnpt-") + strlen(name) + 2 + strlen(value) + 1;
    char *s = malloc(len);
    if (!s)
        return GW_ENOMEM;
    snprintf(s, len, "XroadVnpt-%s: %s", name, value);
    h[(*n)++] = s;
    return 0;
}

int gw_vxp_build_headers(const char *systemid, const unsigned char *secret, size_t secret_len,
                         const char *timestamp, const char *messagetype,
                         const struct gw_vxp_kv *extra, size_t n_extra, char ***out)
{
    struct gw_vxp_kv kv[GW_VXP_MAX_PAIRS];
    char keys[GW_VXP_MAX_PAIRS * 64];
    char mac[65];
    char *json = NULL;
    char **h = NULL;
    size_t n = 0, nk = 0, kpos = 0;
    int rc;

    *out = NULL;
    if (n_extra > GW_VXP_MAX_PAIRS - 5)
        return GW_EINVAL;
    kv[nk++] = (struct gw_vxp_kv){"from", systemid};
    kv[nk++] = (struct gw_vxp_kv){"systemid", systemid};
    kv[nk++] = (struct gw_vxp_kv){"timestamp", timestamp};
    kv[nk++] = (struct gw_vxp_kv){"servicetype", GW_VXP_SERVICETYPE};
    kv[nk++] = (struct gw_vxp_kv){"messagetype", messagetype};
    for (size_t i = 0; i < n_extra; i++)
        kv[nk++] = extra[i];
    for (size_t i = 0; i < nk; i++) {
        size_t kl = kv[i].key ? strlen(kv[i].key) : 0;
        if (kl == 0 || kl > 48 || strpbrk(kv[i].key, ":; \t") || gw_vxp_value_ok(kv[i].key) ||
            gw_vxp_value_ok(kv[i].value))
            return GW_EINVAL;
        if (i)
            keys[kpos++] = ';';
        memcpy(keys + kpos, kv[i].key, kl);
        kpos += kl;
    }
    keys[kpos] = '\0';
    if ((rc = gw_vxp_sign_json(kv, nk, &json)) != 0)
        return rc;
    if ((rc = gw_vxp_hmac_hex(secret, secret_len, json, strlen(json), mac)) != 0)
        goto fail;
    rc = GW_ENOMEM;
    h = calloc(nk + 5, sizeof(*h));
    if (!h)
        goto fail;
    for (size_t i = 0; i < nk; i++)
        if (gw_vxp_push(h, &n, kv[i].key, kv[i].value))
            goto fail;
    if (gw_vxp_push(h, &n, "sign-header", json) || gw_vxp_push(h, &n, "sign-header-key", keys) ||
        gw_vxp_push(h, &n, "hash-header", mac) || gw_vxp_push(h, &n, "version", GW_VXP_VERSION))
        goto fail;
    free(json);
    *out = h;
    return 0;
fail:
    free(json);
    gw_vxp_headers_free(h);
    return rc;
}
