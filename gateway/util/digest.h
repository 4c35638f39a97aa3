#ifndef GW_DIGEST_H
#define GW_DIGEST_H

#include <stddef.h>

/* SHA-256 of len bytes as 64 lowercase hex characters plus NUL (token hashes, file checksums). */
void gw_digest_sha256_hex(const void *data, size_t len, char out[65]);

/* HMAC-SHA256(key, msg) as 64 lowercase hex characters plus NUL (request and event signatures).
 * key_len may be 0. GW_EINVAL for a key longer than INT32_MAX bytes, GW_EIO if OpenSSL fails. */
int gw_digest_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                              char out[65]) __attribute__((warn_unused_result));

#endif
