#ifndef GW_VXP_SIGN_H
#define GW_VXP_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Pure helpers for the national axis (VNPT X-Road-style) request signing: timestamp format,
 * canonical sign-header JSON, HMAC-SHA256 and strict base64 decoding. No I/O, no loop.
 */

#define GW_VXP_VERSION     "3.0.201608"
#define GW_VXP_SERVICETYPE "eDoc"
#define GW_VXP_TS_LEN      21 /* "ddMMyyyyTHHmmss+SSSS" + NUL */
#define GW_VXP_MAX_VALUE   1024
#define GW_VXP_MAX_PAIRS   8

struct gw_vxp_kv {
    const char *key;
    const char *value;
};

/* ddMMyyyy'T'HHmmss'+'SSSS in local time; SSSS = milliseconds zero-padded to 4 digits. */
int gw_vxp_timestamp(time_t sec, unsigned ms, char out[GW_VXP_TS_LEN])
    __attribute__((warn_unused_result));

/* A header value we are willing to send and sign: well-formed UTF-8, at most GW_VXP_MAX_VALUE
 * bytes, no control characters (CR/LF would split the header), no blank at either end (HTTP
 * strips those). Returns 0 or GW_EINVAL. */
int gw_vxp_value_ok(const char *v);

/* Compact JSON object {"k1":"v1",...} of the pairs, in order, JSON-escaped to pure ASCII (", \,
 * controls and non-ASCII as \uXXXX); malloc'ed. GW_EINVAL if a string is not UTF-8. */
int gw_vxp_sign_json(const struct gw_vxp_kv *kv, size_t n, char **out)
    __attribute__((warn_unused_result));

/* Lowercase hex HMAC-SHA256(key, msg). */
int gw_vxp_hmac_hex(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len,
                    char out[65]) __attribute__((warn_unused_result));

/* Strict base64 decode (ASCII whitespace ignored; bad characters, bad padding or a length that is
 * not a multiple of 4 are rejected with GW_EPARSE). Output longer than max -> GW_E2BIG. *out is
 * malloc'ed and NUL-terminated (not counted in *out_len). */
int gw_vxp_b64_decode(const char *in, size_t in_len, size_t max, unsigned char **out,
                      size_t *out_len) __attribute__((warn_unused_result));

/*
 * The full header set for one call: XroadVnpt-from/systemid/timestamp/servicetype/messagetype,
 * then `extra` in order, then sign-header, sign-header-key, hash-header and version. Returns a
 * NULL-terminated array of malloc'ed "Name: value" strings; free with gw_vxp_headers_free().
 */
int gw_vxp_build_headers(const char *systemid, const unsigned char *secret, size_t secret_len,
                         const char *timestamp, const char *messagetype,
                         const struct gw_vxp_kv *extra, size_t n_extra, char ***out)
    __attribute__((warn_unused_result));
void gw_vxp_headers_free(char **headers);

#endif
