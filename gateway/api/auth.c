/*
 * Client check for the northbound API: a verified TLS client certificate pinned by a client, else
 * the bearer token, hashed once and compared with every configured hash without early exit
 * (CRYPTO_memcmp), so timing reveals nothing.
 */
#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "util/digest.h"

#define GW_AUTH_MAX_TOKEN 4096

int gw_auth_check(const struct gw_auth_client *clients, size_t n, const char *authorization)
{
    uint8_t digest[32];
    const char *tok;
    size_t len;
    int found = -1;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return -1;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    len = strlen(tok);
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0 || len > GW_AUTH_MAX_TOKEN)
        return -1;
    SHA256((const unsigned char *)tok, len, digest);
    for (size_t i = 0; i < n; i++) {
        if (CRYPTO_memcmp(digest, clients[i].token_sha256, sizeof(digest)) == 0 &&
            !clients[i].cert_only && found < 0)
            found = (int)i;
    }
    return found;
}

int gw_auth_identify(const struct gw_auth_client *clients, size_t n, const uint8_t *cert,
                     const char *authorization)
{
    int by_cert = -1;

    for (size_t i = 0; cert && i < n; i++) {
        if (clients[i].has_cert && CRYPTO_memcmp(cert, clients[i].cert_sha256, 32) == 0 &&
            by_cert < 0)
            by_cert = (int)i;
    }
    if (by_cert < 0)
        return gw_auth_check(clients, n, authorization);
    if (authorization && gw_auth_check(clients, n, authorization) != by_cert)
        return -1; /* a token for another client (or a wrong one) over this client's connection */
    return by_cert;
}

void gw_auth_hash_hex(const char *token, char out[65])
{
    gw_digest_sha256_hex(token, strlen(token), out);
}
