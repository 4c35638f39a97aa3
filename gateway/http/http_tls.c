/*
 * TLS for the HTTP server over OpenSSL memory BIOs: contexts loaded from the [server] tls_* files
 * (TLS 1.2+, no compression, renegotiation or resumption; client certificates checked against the
 * configured CA bundle only) and per-connection sessions that turn ciphertext into plaintext and
 * back without any I/O, so the connection keeps control of reading, writing and buffer sizes.
 */
#include "http/http_tls.h"
#include "util/digest.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_HTTP_TLS_VERIFY_DEPTH 8

struct gw_http_tls_ctx {
    SSL_CTX *ctx;
    char fingerprint[65];
};

struct gw_http_tls {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool established;
    bool peer_closed; /* close_notify seen; GW_HTTP_TLS_CLOSED on the next read */
    bool shut;
    bool peer_verified;
    const char *reason;
    char detail[192];
    char verify[96]; /* why the client certificate did not verify, from the verify callback */
    uint8_t peer_sha256[32];
};

/* OpenSSL's verdict stands (an unverifiable client certificate fails the handshake); the
 * callback only keeps why, for the debug line. */
static int gw_http_tls_verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct gw_http_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;

    if (!ok && t && !t->verify[0])
        snprintf(t->verify, sizeof(t->verify), "%s at depth %d",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)),
                 X509_STORE_CTX_get_error_depth(store));
    return ok;
}

/* Encrypted keys are refused instead of prompting on the terminal. */
static int gw_http_tls_no_password(char *buf, int size, int rwflag, void *ud)
{
    (void)buf, (void)size, (void)rwflag, (void)ud;
    return -1;
}

static void gw_http_tls_err(char *err, size_t errlen, const char *key, const char *path,
                            const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;

    snprintf(err, errlen, "[server] %s %s: %s%s%s", key, path, what, why ? ": " : "",
             why ? why : "");
    ERR_clear_error();
}

static int gw_http_tls_ctx_files(SSL_CTX *ctx, const struct gw_tls_listener *cfg, char *err,
                                 size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        gw_http_tls_err(err, errlen, "tls_cert", cfg->cert_file, "not a PEM certificate chain");
        return GW_ECONFIG;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();
        bool other =
            ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
        gw_http_tls_err(err, errlen, "tls_key", cfg->key_file,
                        other ? "does not belong to the tls_cert certificate"
                              : "not an unencrypted PEM private key");
        return GW_ECONFIG;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        gw_http_tls_err(err, errlen, "tls_key", cfg->key_file,
                        "does not belong to the tls_cert certificate");
        return GW_ECONFIG;
    }
    if (cfg->client_ca_file) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
        /* The bundle is the whole trust for client certificates: no default paths. */
        if (!names || sk_X509_NAME_num(names) == 0 ||
            SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            gw_http_tls_err(err, errlen, "tls_client_ca", cfg->client_ca_file,
                            "no PEM CA certificate in it");
            return GW_ECONFIG;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    return 0;
}

int gw_http_tls_ctx_new(const struct gw_tls_listener *cfg, struct gw_http_tls_ctx **out, char *err,
                        size_t errlen)
{
    struct gw_http_tls_ctx *c;
    unsigned char *der = NULL;
    int derlen;
    int mode = SSL_VERIFY_NONE;

    *out = NULL;
    if (!cfg || !cfg->cert_file || !cfg->key_file) {
        snprintf(err, errlen, "[server] tls_cert and tls_key are required for TLS");
        return GW_ECONFIG;
    }
    if (!(c = calloc(1, sizeof(*c))) || !(c->ctx = SSL_CTX_new(TLS_server_method()))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(c->ctx, 0);
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(c->ctx, (const unsigned char *)"gatewayd", 8);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(c->ctx, gw_http_tls_no_password);
    if (gw_http_tls_ctx_files(c->ctx, cfg, err, errlen) != 0) {
        gw_http_tls_ctx_free(c);
        return GW_ECONFIG;
    }
    if (cfg->client_auth == GW_TLS_CLIENT_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    else if (cfg->client_auth == GW_TLS_CLIENT_REQUIRED)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    /* OpenSSL's own verification decides: an unverifiable certificate fails the handshake. */
    SSL_CTX_set_verify(c->ctx, mode, gw_http_tls_verify_cb);
    SSL_CTX_set_verify_depth(c->ctx, GW_HTTP_TLS_VERIFY_DEPTH);
    SSL_CTX_set_purpose(c->ctx, X509_PURPOSE_SSL_CLIENT);
    derlen = i2d_X509(SSL_CTX_get0_certificate(c->ctx), &der);
    if (derlen > 0)
        gw_digest_sha256_hex(der, (size_t)derlen, c->fingerprint);
    OPENSSL_free(der);
    *out = c;
    return 0;
}

void gw_http_tls_ctx_free(struct gw_http_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ctx); /* sessions made from it keep their own reference */
    free(ctx);
}

const char *gw_http_tls_ctx_fingerprint(const struct gw_http_tls_ctx *ctx)
{
    return ctx ? ctx->fingerprint : "";
}

int gw_http_tls_new(struct gw_http_tls_ctx *ctx, struct gw_http_tls **out)
{
    struct gw_http_tls *t = calloc(1, sizeof(*t));

    *out = NULL;
    if (!t)
        return GW_ENOMEM;
    t->ssl = SSL_new(ctx->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return GW_ENOMEM;
    }
    /* An empty input buffer means "more later", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    SSL_set_accept_state(t->ssl);
    *out = t;
    return 0;
}

void gw_http_tls_free(struct gw_http_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

int gw_http_tls_feed(struct gw_http_tls *t, const void *data, size_t len)
{
    if (len > INT32_MAX)
        return GW_EINVAL;
    if (len == 0)
        return 0;
    return BIO_write(t->rbio, data, (int)len) == (int)len ? 0 : GW_ENOMEM;
}

size_t gw_http_tls_pending_in(const struct gw_http_tls *t)
{
    return BIO_ctrl_pending(t->rbio);
}

size_t gw_http_tls_pending_out(const struct gw_http_tls *t)
{
    return BIO_ctrl_pending(t->wbio);
}

static const char *gw_http_tls_classify(unsigned long e)
{
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return "protocol";
    switch (ERR_GET_REASON(e)) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
        return "not_tls";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
        return "protocol_version";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "no_client_cert";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "bad_client_cert";
    case SSL_R_NO_SHARED_CIPHER:
        return "no_shared_cipher";
    default:
        return "protocol";
    }
}

/* Records why the session failed; returns GW_EIO. */
static int gw_http_tls_fail(struct gw_http_tls *t, int ssl_err)
{
    unsigned long e = ERR_peek_last_error();

    if (!t->reason) {
        t->reason = ssl_err == SSL_ERROR_SYSCALL && !e ? "protocol" : gw_http_tls_classify(e);
        if (e)
            ERR_error_string_n(e, t->detail, sizeof(t->detail));
        else
            snprintf(t->detail, sizeof(t->detail), "SSL error %d", ssl_err);
        if (t->verify[0]) {
            size_t n = strlen(t->detail);
            snprintf(t->detail + n, sizeof(t->detail) - n, " (%s)", t->verify);
        }
    }
    ERR_clear_error();
    return GW_EIO;
}

static void gw_http_tls_established_now(struct gw_http_tls *t)
{
    X509 *peer = SSL_get0_peer_certificate(t->ssl);
    unsigned n = 0;

    t->established = true;
    if (peer && SSL_get_verify_result(t->ssl) == X509_V_OK &&
        X509_digest(peer, EVP_sha256(), t->peer_sha256, &n) == 1 && n == 32)
        t->peer_verified = true;
}

int gw_http_tls_read(struct gw_http_tls *t, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (t->reason)
        return GW_EIO;
    if (!t->established) {
        int r, e;
        ERR_clear_error();
        r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            return gw_http_tls_fail(t, e);
        }
        gw_http_tls_established_now(t);
    }
    while (*got < cap && !t->peer_closed) {
        size_t want = cap - *got, n = 0;
        int e;
        ERR_clear_error();
        if (SSL_read_ex(t->ssl, buf + *got, want, &n) == 1) {
            *got += n;
            continue;
        }
        e = SSL_get_error(t->ssl, 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            t->peer_closed = true;
            break;
        }
        if (*got > 0)
            break; /* hand out what came before; the error repeats on the next read */
        return gw_http_tls_fail(t, e);
    }
    return *got == 0 && t->peer_closed ? GW_HTTP_TLS_CLOSED : 0;
}

int gw_http_tls_write(struct gw_http_tls *t, const void *data, size_t len)
{
    const char *p = data;

    if (t->reason || t->shut || !t->established)
        return GW_EIO;
    while (len > 0) {
        size_t n = 0;
        ERR_clear_error();
        /* A memory BIO takes everything: one call writes the whole buffer. */
        if (SSL_write_ex(t->ssl, p, len, &n) != 1)
            return gw_http_tls_fail(t, SSL_get_error(t->ssl, 0));
        p += n;
        len -= n;
    }
    return 0;
}

void gw_http_tls_shutdown(struct gw_http_tls *t)
{
    if (t->shut || !t->established || t->reason)
        return;
    t->shut = true;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl); /* queues close_notify; the peer's is not waited for */
    ERR_clear_error();
}

int gw_http_tls_take_output(struct gw_http_tls *t, char **out, size_t *len)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    char *buf;

    *out = NULL;
    *len = 0;
    if (n == 0)
        return 0;
    if (n > INT32_MAX) /* writes are at most a few MiB: not reached */
        return GW_E2BIG;
    if (!(buf = malloc(n)))
        return GW_ENOMEM;
    if (BIO_read(t->wbio, buf, (int)n) != (int)n) {
        free(buf);
        return GW_EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

bool gw_http_tls_established(const struct gw_http_tls *t)
{
    return t->established;
}

const uint8_t *gw_http_tls_peer_sha256(const struct gw_http_tls *t)
{
    return t->peer_verified ? t->peer_sha256 : NULL;
}

const char *gw_http_tls_reason(const struct gw_http_tls *t)
{
    return t->reason;
}

const char *gw_http_tls_detail(const struct gw_http_tls *t)
{
    return t->detail;
}
