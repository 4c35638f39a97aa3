/*
 * Request signing for the national axis, byte for byte as the vendor's Java SDK does it
 * (domain.md §5): the signed pairs in Java HashMap order, sign-header members
 * "XroadVnpt-<k>":"<v>", the key list, HMAC-SHA256 keyed with the secret's characters, the UTC+7
 * timestamp and the unpadded hash-file hex. Pure functions, unit-tested in
 * tests/unit/adapters/vxp/test_vxp_sign.c.
 */
#include "vxp_sign.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "util/error.h"

#define GW_VXP_UTC_OFFSET (7 * 3600) /* Vietnam, no daylight saving */

int gw_vxp_timestamp(time_t sec, unsigned ms, char out[GW_VXP_TS_LEN])
{
    struct tm tm;
    time_t local = sec + GW_VXP_UTC_OFFSET;

    if (ms > 999 || !gmtime_r(&local, &tm))
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

int gw_vxp_java_hash(const char *s, uint32_t *out)
{
    uint32_t h = 0;
    size_t step;

    for (; *s; s += step) {
        long cp = gw_vxp_utf8((const unsigned char *)s, &step);
        if (cp < 0)
            return GW_EINVAL;
        if (cp > 0xffff) { /* a surrogate pair: two UTF-16 code units */
            h = 31 * h + (uint32_t)(0xd800 + ((cp - 0x10000) >> 10));
            h = 31 * h + (uint32_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            h = 31 * h + (uint32_t)cp;
        }
    }
    *out = h;
    return 0;
}

int gw_vxp_hashmap_order(const struct gw_vxp_kv *in, size_t n, struct gw_vxp_kv *out)
{
    uint32_t bucket[GW_VXP_MAX_PAIRS];
    uint32_t cap = 16;

    if (n > GW_VXP_MAX_PAIRS)
        return GW_EINVAL;
    while (n > cap / 4 * 3) /* HashMap resizes once its size exceeds 0.75 * capacity */
        cap *= 2;
    for (size_t i = 0; i < n; i++) {
        uint32_t h, b;
        if (!in[i].key || gw_vxp_java_hash(in[i].key, &h) != 0)
            return GW_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(in[j].key, in[i].key) == 0)
                return GW_EINVAL; /* a map holds a key once */
        b = (h ^ (h >> 16)) & (cap - 1);
        /* insertion sort, stable: an equal bucket keeps insertion order */
        size_t k = i;
        while (k > 0 && bucket[k - 1] > b) {
            bucket[k] = bucket[k - 1];
            out[k] = out[k - 1];
            k--;
        }
        bucket[k] = b;
        out[k] = in[i];
    }
    return 0;
}

/* Appends s JSON-escaped (without quotes) to buf at *pos; buf holds 6 bytes per input byte.
 * Escapes only '"', '\' and control characters; everything else is copied as is. */
static int gw_vxp_json_escape(const char *s, char *buf, size_t *pos)
{
    static const char hex[] = "0123456789abcdef";
    size_t p = *pos, step;

    for (; *s; s += step) {
        long cp = gw_vxp_utf8((const unsigned char *)s, &step);
        if (cp < 0)
            return GW_EINVAL;
        const char *esc = NULL;
        switch (cp) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            buf[p++] = esc[0];
            buf[p++] = esc[1];
        } else if (cp < 0x20) {
            memcpy(buf + p, "\\u00", 4);
            buf[p + 4] = hex[cp >> 4];
            buf[p + 5] = hex[cp & 15];
            p += 6;
        } else {
            memcpy(buf + p, s, step);
            p += step;
        }
    }
    *pos = p;
    return 0;
}

int gw_vxp_sign_json(const struct gw_vxp_kv *kv, size_t n, char **out)
{
    static const size_t plen = sizeof(GW_VXP_PREFIX) - 1;
    size_t cap = 3, pos = 0;
    char *buf;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key || !kv[i].value)
            return GW_EINVAL;
        cap += plen + 6 * (strlen(kv[i].key) + strlen(kv[i].value)) + 6;
    }
    buf = malloc(cap);
    if (!buf)
        return GW_ENOMEM;
    buf[pos++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf[pos++] = ',';
        buf[pos++] = '"';
        memcpy(buf + pos, GW_VXP_PREFIX, plen);
        pos += plen;
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

int gw_vxp_key_list(const struct gw_vxp_kv *kv, size_t n, char **out)
{
    size_t cap = 1, pos = 0;
    char *buf;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key)
            return GW_EINVAL;
        cap += strlen(kv[i].key) + 1;
    }
    if (!(buf = malloc(cap)))
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(kv[i].key);
        if (i)
            buf[pos++] = ';';
        memcpy(buf + pos, kv[i].key, kl);
        pos += kl;
    }
    buf[pos] = '\0';
    *out = buf;
    return 0;
}

void gw_vxp_hash_hex(const uint8_t sha256[32], char out[GW_VXP_HASH_LEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t p = 0;

    for (unsigned i = 0; i < 32; i++) {
        if (sha256[i] >> 4) /* Java's Integer.toHexString(b & 0xff): no leading zero */
            out[p++] = hex[sha256[i] >> 4];
        out[p++] = hex[sha256[i] & 15];
    }
    out[p] = '\0';
}

int gw_vxp_hash_file(const unsigned char *data, size_t len, char out[GW_VXP_HASH_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!EVP_Digest(len ? data : (const unsigned char *)"", len, md, &md_len, EVP_sha256(), NULL) ||
        md_len != 32)
        return GW_EIO;
    gw_vxp_hash_hex(md, out);
    return 0;
}

void gw_vxp_headers_free(char **headers)
{
    if (!headers)
        return;
    for (size_t i = 0; headers[i]; i++)
        free(headers[i]);
    free(headers);
}

static int gw_vxp_push(char **h, size_t *n, const char *prefix, const char *name, const char *value)
{
    char *s;
    if (asprintf(&s, "%s%s: %s", prefix, name, value) < 0)
        return GW_ENOMEM;
    h[(*n)++] = s;
    return 0;
}

static int gw_vxp_key_ok(const char *k)
{
    size_t kl = k ? strlen(k) : 0;
    if (kl == 0 || kl > GW_VXP_MAX_KEY || strpbrk(k, ":; \t\"\\"))
        return GW_EINVAL;
    for (size_t i = 0; i < kl; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
            return GW_EINVAL; /* an HTTP header name is a token */
    return 0;
}

int gw_vxp_build_headers(const char *systemid, const unsigned char *secret, size_t secret_len,
                         const char *timestamp, const char *content_type,
                         const struct gw_vxp_kv *call, size_t n_call, char ***out)
{
    struct gw_vxp_kv put[GW_VXP_MAX_PAIRS], kv[GW_VXP_MAX_PAIRS];
    char mac[65];
    char *json = NULL, *keys = NULL;
    char **h = NULL;
    size_t n = 0, nk = 0;
    int rc;

    *out = NULL;
    if (n_call > GW_VXP_MAX_PAIRS - 3 || (n_call && !call))
        return GW_EINVAL;
    put[nk++] = (struct gw_vxp_kv){"timestamp", timestamp}; /* the SDK's insertion order */
    put[nk++] = (struct gw_vxp_kv){"systemid", systemid};
    put[nk++] = (struct gw_vxp_kv){"Content-Type", content_type};
    for (size_t i = 0; i < n_call; i++)
        put[nk++] = call[i];
    for (size_t i = 0; i < nk; i++)
        if (gw_vxp_key_ok(put[i].key) != 0 || gw_vxp_value_ok(put[i].value) != 0)
            return GW_EINVAL;
    if ((rc = gw_vxp_hashmap_order(put, nk, kv)) != 0)
        return rc;
    if ((rc = gw_vxp_sign_json(kv, nk, &json)) != 0 || (rc = gw_vxp_key_list(kv, nk, &keys)) != 0)
        goto fail;
    if ((rc = gw_digest_hmac_sha256_hex(secret, secret_len, json, strlen(json), mac)) != 0)
        goto fail;
    rc = GW_ENOMEM;
    if (!(h = calloc(nk + 7, sizeof(*h))))
        goto fail;
    for (size_t i = 0; i < nk; i++)
        if (gw_vxp_push(h, &n, GW_VXP_PREFIX, kv[i].key, kv[i].value))
            goto fail;
    if (gw_vxp_push(h, &n, "", "Content-Type", content_type) ||
        gw_vxp_push(h, &n, GW_VXP_PREFIX, "sign-header", json) ||
        gw_vxp_push(h, &n, GW_VXP_PREFIX, "sign-header-key", keys) ||
        gw_vxp_push(h, &n, GW_VXP_PREFIX, "hash-header", mac) ||
        gw_vxp_push(h, &n, GW_VXP_PREFIX, "version", GW_VXP_VERSION) ||
        gw_vxp_push(h, &n, "", "User-Agent", GW_VXP_USER_AGENT))
        goto fail;
    free(json);
    free(keys);
    *out = h;
    return 0;
fail:
    free(json);
    free(keys);
    gw_vxp_headers_free(h);
    return rc;
}
