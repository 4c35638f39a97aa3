/*
 * libFuzzer harness for the server side of the TLS layer (http/http_tls.h): the input is fed as
 * ciphertext from a client, whole and then in small pieces, to a fresh session over memory BIOs
 * with plaintext taken in small reads. Nothing may crash, and what the session buffers (input
 * not yet decrypted, output not yet taken) must stay within fixed bounds. The server certificate
 * is made once per process in a temporary directory.
 */
#include "http/http_tls.h"
#include "util/error.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_http_tls_ctx *ctx;
static char dir[] = "/tmp/gw-fuzz-tls-XXXXXX";
static char cert_path[64], key_path[64];

static void cleanup(void)
{
    gw_http_tls_ctx_free(ctx);
    unlink(cert_path);
    unlink(key_path);
    rmdir(dir);
}

static void make_ctx(void)
{
    struct gw_tls_listener cfg = {cert_path, key_path, NULL, GW_TLS_CLIENT_NONE};
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n;
    FILE *f;
    char err[256];

    if (!k || !x || !mkdtemp(dir))
        abort();
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (X509_sign(x, k, EVP_sha256()) <= 0 || !(f = fopen(cert_path, "w")))
        abort();
    PEM_write_X509(f, x);
    fclose(f);
    if (!(f = fopen(key_path, "w")))
        abort();
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    if (gw_http_tls_ctx_new(&cfg, &ctx, err, sizeof(err)) != 0)
        abort();
    atexit(cleanup);
}

static void run(const uint8_t *data, size_t size, size_t step)
{
    struct gw_http_tls *t;
    char plain[512];
    size_t off = 0;
    int rc = 0;

    if (gw_http_tls_new(ctx, &t) != 0)
        abort();
    while (off < size && rc == 0) {
        size_t n = step && size - off > step ? step : size - off, got;
        char *out;
        size_t olen;
        if (gw_http_tls_feed(t, data + off, n) != 0)
            abort();
        off += n;
        do {
            rc = gw_http_tls_read(t, plain, sizeof(plain), &got);
        } while (rc == 0 && got > 0);
        if (gw_http_tls_pending_in(t) > size || gw_http_tls_pending_out(t) > 256 * 1024)
            abort();
        if (gw_http_tls_take_output(t, &out, &olen) != 0)
            abort();
        free(out);
    }
    if (rc != 0 && rc != GW_EIO && rc != GW_HTTP_TLS_CLOSED)
        abort();
    if (rc == GW_EIO && !gw_http_tls_reason(t))
        abort();
    gw_http_tls_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        make_ctx();
    run(data, size, 0);
    if (size <= 65536) {
        run(data, size, 1);
        run(data, size, 61);
    }
    return 0;
}
