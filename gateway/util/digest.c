/*
 * Hex digests shared by the modules that print or store one: client token hashes and migration
 * checksums.
 */
#include "util/digest.h"

#include <openssl/sha.h>
#include <stdio.h>

void gw_digest_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];

    SHA256(data, len, d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}
