#ifndef GW_DIGEST_H
#define GW_DIGEST_H

#include <stddef.h>

/* SHA-256 of len bytes as 64 lowercase hex characters plus NUL (token hashes, file checksums). */
void gw_digest_sha256_hex(const void *data, size_t len, char out[65]);

#endif
