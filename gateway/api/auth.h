#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bearer-token authentication of northbound clients. The configuration stores only the SHA-256
 * of each token; a presented token is hashed and compared in constant time against every client,
 * so neither the match position nor a prefix leaks through timing.
 */

struct gw_auth_client {
    const char *name;
    uint8_t token_sha256[32];
};

/* Parses an "Authorization" header value. Returns the index of the matching client, or -1 when
 * the header is missing, not "Bearer <token>", or matches no client. */
int gw_auth_check(const struct gw_auth_client *clients, size_t n, const char *authorization);

/* SHA-256 of a token as 64 lowercase hex characters plus NUL (for tooling and tests). */
void gw_auth_hash_hex(const char *token, char out[65]);

#endif
