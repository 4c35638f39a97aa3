#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Authentication of northbound clients by bearer token, TLS client certificate, or both. The
 * configuration stores only the SHA-256 of each token and of each pinned certificate's DER; a
 * presented token is hashed and compared in constant time against every client, so neither the
 * match position nor a prefix leaks through timing.
 */

struct gw_auth_client {
    const char *name;
    uint8_t token_sha256[32];
    bool cert_only; /* no bearer token: token_sha256 is unused */
    bool has_cert;  /* cert_sha256 is pinned */
    uint8_t cert_sha256[32];
};

/* Parses an "Authorization" header value. Returns the index of the matching client, or -1 when
 * the header is missing, not "Bearer <token>", or matches no client. */
int gw_auth_check(const struct gw_auth_client *clients, size_t n, const char *authorization);

/* Who sent a request. cert: SHA-256 of the client certificate OpenSSL verified on the
 * connection, or NULL. A certificate pinned by a client makes it that client; a bearer token
 * sent alongside must then name the same client. Otherwise the token decides as in
 * gw_auth_check. Returns the client's index, or -1 (nobody, or token and certificate disagree). */
int gw_auth_identify(const struct gw_auth_client *clients, size_t n, const uint8_t *cert,
                     const char *authorization);

/* SHA-256 of a token as 64 lowercase hex characters plus NUL (for tooling and tests). */
void gw_auth_hash_hex(const char *token, char out[65]);

#endif
