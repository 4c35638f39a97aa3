/*
 * Hex digests shared by the modules that print, store or send one: client token hashes,
 * migration checksums and HMAC signatures.
 */
#include "util/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdint.h>

#include "util/error.h"

static void gw_digest_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void gw_digest_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];

    SHA256(data, len, d);
    gw_digest_hex(d, sizeof(d), out);
}

int gw_digest_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                              char out[65])
{
    static const unsigned char nokey = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (key_len > INT32_MAX)
        return GW_EINVAL;
    if (!HMAC(EVP_sha256(), key_len ? key : &nokey, (int)key_len, msg, msg_len, md, &md_len) ||
        md_len != 32) {
        OPENSSL_cleanse(md, sizeof(md));
        return GW_EIO;
    }
    gw_digest_hex(md, md_len, out);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}
