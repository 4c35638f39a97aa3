#ifndef GW_VXP_SIGN_H
#define GW_VXP_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Pure helpers for the national axis (VNPT X-Road-style) request signing, exactly as the vendor's
 * Java SDK 2.0.x writes it (domain.md §5): the timestamp, Java String.hashCode / HashMap member
 * order, the prefixed sign-header JSON, the key list, HMAC-SHA256 keyed with the secret's
 * characters, the unpadded hash-file hex, and strict base64 decoding. No I/O, no loop.
 */

#define GW_VXP_PREFIX      "XroadVnpt-"
#define GW_VXP_VERSION     "3.0.201608"
#define GW_VXP_USER_AGENT  "JAVASDKAgent/1.0.0 XRoad/VPCP"
#define GW_VXP_SERVICETYPE "eDoc"
#define GW_VXP_CT_JSON     "application/json"
#define GW_VXP_CT_OCTET    "application/octet-stream" /* sendEdoc */
#define GW_VXP_TS_LEN      21                         /* "ddMMyyyyTHHmmss+SSSS" + NUL */
#define GW_VXP_HASH_LEN    65                         /* hash-file: at most 64 hex digits + NUL */
#define GW_VXP_MAX_VALUE   1024
#define GW_VXP_MAX_KEY     48
#define GW_VXP_MAX_PAIRS   24 /* HashMap capacity 16 up to 12 pairs, 32 up to 24 */

struct gw_vxp_kv {
    const char *key; /* without the XroadVnpt- prefix */
    const char *value;
};

/* ddMMyyyy'T'HHmmss in Vietnam's time (UTC+7, whatever the host's zone), then a literal '+' and
 * the milliseconds zero-padded to 4 digits (the SDK's SimpleDateFormat "...+SSSS"). */
int gw_vxp_timestamp(time_t sec, unsigned ms, char out[GW_VXP_TS_LEN])
    __attribute__((warn_unused_result));

/* A header value we are willing to send and sign: well-formed UTF-8, at most GW_VXP_MAX_VALUE
 * bytes, no control characters (CR/LF would split the header), no blank at either end (HTTP
 * strips those). Returns 0 or GW_EINVAL. */
int gw_vxp_value_ok(const char *v);

/* Java String.hashCode() of the UTF-8 string s (over its UTF-16 code units, 32-bit wrapping),
 * as unsigned. GW_EINVAL if s is not UTF-8. */
int gw_vxp_java_hash(const char *s, uint32_t *out) __attribute__((warn_unused_result));

/* Reorders the n pairs (given in insertion order) into the iteration order of a Java 8
 * HashMap<String,String> that had them put in that order: bucket (h ^ h >>> 16) & (cap - 1)
 * ascending, insertion order within a bucket; cap 16, doubled while n > 0.75 * cap. out must not
 * alias in. GW_EINVAL for more than GW_VXP_MAX_PAIRS pairs, a duplicate key or a non-UTF-8 key. */
int gw_vxp_hashmap_order(const struct gw_vxp_kv *in, size_t n, struct gw_vxp_kv *out)
    __attribute__((warn_unused_result));

/* Compact JSON object {"XroadVnpt-k1":"v1",...} of the pairs, in the order given. Only '"', '\'
 * and control characters are escaped; non-ASCII stays raw UTF-8. malloc'ed. GW_EINVAL if a
 * string is not UTF-8. */
int gw_vxp_sign_json(const struct gw_vxp_kv *kv, size_t n, char **out)
    __attribute__((warn_unused_result));

/* The keys without prefix joined by ';' in the order given (sign-header-key); malloc'ed. */
int gw_vxp_key_list(const struct gw_vxp_kv *kv, size_t n, char **out)
    __attribute__((warn_unused_result));

/* hash-file: SHA-256 of data with each byte printed in lowercase hex WITHOUT zero padding (0x0a
 * -> "a", 0x00 -> "0"), so usually shorter than 64 characters. */
int gw_vxp_hash_file(const unsigned char *data, size_t len, char out[GW_VXP_HASH_LEN])
    __attribute__((warn_unused_result));

/* Strict incremental base64 decode (whitespace anywhere, strict padding). feed
 * writes at most n / 4 * 3 + 3 bytes to out; GW_EPARSE on a bad character, misplaced padding or
 * anything after it. end: GW_EPARSE when the input stopped inside a quantum. */
struct gw_vxp_b64 {
    uint32_t acc;
    unsigned q;   /* characters of the current quantum */
    unsigned pad; /* '=' in the current quantum */
    int done;     /* a padded quantum ended the data */
};
void gw_vxp_b64_init(struct gw_vxp_b64 *b);
int gw_vxp_b64_feed(struct gw_vxp_b64 *b, const char *in, size_t n, uint8_t *out, size_t *out_n)
    __attribute__((warn_unused_result));
int gw_vxp_b64_end(const struct gw_vxp_b64 *b) __attribute__((warn_unused_result));

/* hash-file of a SHA-256 computed elsewhere: each byte in lowercase hex without zero padding. */
void gw_vxp_hash_hex(const uint8_t sha256[32], char out[GW_VXP_HASH_LEN]);

/*
 * The full header set of one call, as the SDK sends it. The signed pairs are put in the order
 * timestamp, systemid, Content-Type, then `call` in order, and laid out in HashMap order (see
 * gw_vxp_hashmap_order). Headers: "XroadVnpt-<k>: <v>" for every pair, the plain
 * "Content-Type: <content_type>", XroadVnpt-sign-header, -sign-header-key, -hash-header (HMAC
 * keyed with the secret's bytes as given, never decoded), XroadVnpt-version and User-Agent.
 * Returns a NULL-terminated array of malloc'ed "Name: value" strings; free with
 * gw_vxp_headers_free(). GW_EINVAL for a value gw_vxp_value_ok() refuses or a bad key.
 */
int gw_vxp_build_headers(const char *systemid, const unsigned char *secret, size_t secret_len,
                         const char *timestamp, const char *content_type,
                         const struct gw_vxp_kv *call, size_t n_call, char ***out)
    __attribute__((warn_unused_result));
void gw_vxp_headers_free(char **headers);

#endif
