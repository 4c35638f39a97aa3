/*
 * Unit tests for the memory-BIO TLS layer (http/http_tls.h), driven by a client SSL in memory in
 * the same process: handshake, bytes fed one at a time (record boundaries anywhere), 10 MB each
 * way with bounded buffers, close_notify both ways, garbage and plain HTTP instead of a
 * ClientHello, TLS 1.1, client certificates (pinned fingerprint, missing, unknown) and context
 * load errors that name the file but never its contents. Certificates are made here with OpenSSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http_tls.h"
#include "util/error.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/gw-tls-unit-XXXXXX";

struct cert {
    char cert[256], key[256];
    X509 *x;
    EVP_PKEY *k;
};

/* A self-signed P-256 certificate for name, written as PEM files. */
static void make_cert(struct cert *c, const char *name)
{
    X509_NAME *n;
    FILE *f;

    c->k = EVP_EC_gen("P-256");
    assert_non_null(c->k);
    c->x = X509_new();
    X509_set_version(c->x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c->x), (long)(rand() & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(c->x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c->x), 86400);
    X509_set_pubkey(c->x, c->k);
    n = X509_get_subject_name(c->x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(c->x, n);
    assert_true(X509_sign(c->x, c->k, EVP_sha256()) > 0);
    snprintf(c->cert, sizeof(c->cert), "%s/%s.pem", tmpdir, name);
    snprintf(c->key, sizeof(c->key), "%s/%s.key", tmpdir, name);
    assert_non_null(f = fopen(c->cert, "w"));
    PEM_write_X509(f, c->x);
    fclose(f);
    assert_non_null(f = fopen(c->key, "w"));
    PEM_write_PrivateKey(f, c->k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void free_cert(struct cert *c)
{
    X509_free(c->x);
    EVP_PKEY_free(c->k);
}

static struct cert server_cert, client_cert, rogue_cert;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    make_cert(&server_cert, "server");
    make_cert(&client_cert, "client");
    make_cert(&rogue_cert, "rogue");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    free_cert(&server_cert);
    free_cert(&client_cert);
    free_cert(&rogue_cert);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A client SSL over its own memory BIOs, and the server session under test. */
struct pair {
    struct gw_http_tls_ctx *sctx;
    struct gw_http_tls *srv;
    SSL_CTX *cctx;
    SSL *cli;
    BIO *crd, *cwr; /* client's input and output */
    int srv_rc;
    size_t step;  /* bytes fed to the server at a time (0: all) */
    size_t cap;   /* plaintext taken from the server at a time */
    uint8_t *got; /* plaintext the server delivered */
    size_t got_len, got_cap;
};

static void pair_open(struct pair *p, enum gw_tls_client_auth auth, const char *client_ca,
                      const struct cert *present, int client_max_version)
{
    struct gw_tls_listener cfg = {server_cert.cert, server_cert.key, client_ca, auth};
    char err[256];

    memset(p, 0, sizeof(*p));
    p->cap = 16384;
    assert_int_equal(gw_http_tls_ctx_new(&cfg, &p->sctx, err, sizeof(err)), 0);
    assert_int_equal(gw_http_tls_new(p->sctx, &p->srv), 0);
    p->cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, server_cert.cert, NULL), 1);
    if (client_max_version) {
        SSL_CTX_set_security_level(p->cctx, 0);
        SSL_CTX_set_min_proto_version(p->cctx, 0);
        SSL_CTX_set_max_proto_version(p->cctx, client_max_version);
        SSL_CTX_set_cipher_list(p->cctx, "DEFAULT:@SECLEVEL=0");
    }
    if (present) {
        assert_int_equal(SSL_CTX_use_certificate(p->cctx, present->x), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(p->cctx, present->k), 1);
    }
    p->cli = SSL_new(p->cctx);
    p->crd = BIO_new(BIO_s_mem());
    p->cwr = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->crd, -1);
    BIO_set_mem_eof_return(p->cwr, -1);
    SSL_set_bio(p->cli, p->crd, p->cwr);
    SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    gw_http_tls_free(p->srv);
    gw_http_tls_ctx_free(p->sctx);
    free(p->got);
}

/* Moves bytes both ways until nothing moves; returns true if anything moved. The server is fed
 * like a connection does: only while less than GW_HTTP_TLS_IN_MAX-like bounds are pending. */
static bool pump(struct pair *p)
{
    bool any = false, moved;
    char buf[65536];

    do {
        int n;
        moved = false;
        while (p->srv_rc == 0 && gw_http_tls_pending_in(p->srv) < 65536 &&
               (n = BIO_read(p->cwr, buf,
                             (int)(p->step && p->step < sizeof(buf) ? p->step : sizeof(buf)))) >
                   0) {
            assert_int_equal(gw_http_tls_feed(p->srv, buf, (size_t)n), 0);
            moved = true;
            if (p->step)
                break;
        }
        if (p->srv_rc == 0) {
            size_t got = 0;
            if (p->got_cap - p->got_len < p->cap) {
                p->got_cap = (p->got_cap + p->cap) * 2;
                p->got = realloc(p->got, p->got_cap);
                assert_non_null(p->got);
            }
            p->srv_rc = gw_http_tls_read(p->srv, (char *)p->got + p->got_len, p->cap, &got);
            p->got_len += got;
            if (got)
                moved = true;
        }
        if (gw_http_tls_pending_out(p->srv) > 0) {
            char *out;
            size_t len;
            assert_int_equal(gw_http_tls_take_output(p->srv, &out, &len), 0);
            assert_int_equal(BIO_write(p->crd, out, (int)len), (int)len);
            free(out);
            moved = true;
        }
        if (!SSL_is_init_finished(p->cli)) {
            ERR_clear_error();
            (void)SSL_do_handshake(p->cli);
            if (BIO_ctrl_pending(p->cwr) > 0)
                moved = true;
        }
        any = any || moved;
    } while (moved);
    return any;
}

static void handshake(struct pair *p)
{
    pump(p);
    assert_int_equal(p->srv_rc, 0);
    assert_true(SSL_is_init_finished(p->cli));
    assert_true(gw_http_tls_established(p->srv));
    assert_null(gw_http_tls_reason(p->srv));
}

static void test_handshake(void **state)
{
    struct pair p;
    const char msg[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char back[64];
    size_t n = 0;

    (void)state;
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, 0);
    handshake(&p);
    assert_int_equal(SSL_get_verify_result(p.cli), X509_V_OK);
    assert_int_equal(SSL_version(p.cli), TLS1_3_VERSION);
    assert_null(gw_http_tls_peer_sha256(p.srv));
    assert_int_equal(SSL_write(p.cli, msg, (int)strlen(msg)), (int)strlen(msg));
    pump(&p);
    assert_int_equal(p.got_len, strlen(msg));
    assert_memory_equal(p.got, msg, strlen(msg));
    assert_int_equal(gw_http_tls_write(p.srv, "HTTP/1.1 200 OK\r\n", 17), 0);
    pump(&p);
    assert_int_equal(SSL_read_ex(p.cli, back, sizeof(back), &n), 1);
    assert_int_equal(n, 17);
    assert_memory_equal(back, "HTTP/1.1 200 OK\r\n", 17);
    pair_close(&p);
}

/* Ciphertext one byte at a time: records and the handshake split everywhere. */
static void test_byte_by_byte(void **state)
{
    struct pair p;
    char msg[3000];

    (void)state;
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('a' + i % 26);
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, 0);
    p.step = 1;
    p.cap = 7;
    handshake(&p);
    for (int i = 0; i < 3; i++)
        assert_int_equal(SSL_write(p.cli, msg, 1000), 1000); /* three records */
    assert_int_equal(SSL_write(p.cli, msg, (int)sizeof(msg)), (int)sizeof(msg));
    pump(&p);
    assert_int_equal(p.srv_rc, 0);
    assert_int_equal(p.got_len, 3000 + sizeof(msg));
    assert_memory_equal(p.got, msg, 1000);
    assert_memory_equal(p.got + 3000, msg, sizeof(msg));
    pair_close(&p);
}

/* 10 MB each way; reads with room decrypt every whole record fed, leaving nothing behind. */
static void test_ten_megabytes(void **state)
{
    struct pair p;
    const size_t total = 10u * 1024 * 1024;
    uint8_t *data = malloc(total), md1[32], md2[32];
    size_t sent = 0, recvd = 0, n;
    char buf[65536];
    EVP_MD_CTX *sh = EVP_MD_CTX_new();

    (void)state;
    assert_non_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, 0);
    p.cap = 16384;
    handshake(&p);
    while (sent < total) {
        size_t chunk = total - sent < 100000 ? total - sent : 100000;
        assert_int_equal(SSL_write_ex(p.cli, data + sent, chunk, &n), 1);
        sent += n;
        while (pump(&p))
            ;
        assert_int_equal(gw_http_tls_pending_in(p.srv), 0);
    }
    assert_int_equal(p.srv_rc, 0);
    assert_int_equal(p.got_len, total);
    assert_memory_equal(p.got, data, total);
    /* server to client */
    assert_int_equal(gw_http_tls_write(p.srv, data, total), 0);
    assert_true(gw_http_tls_pending_out(p.srv) > total);
    pump(&p);
    assert_int_equal(EVP_DigestInit_ex(sh, EVP_sha256(), NULL), 1);
    while (SSL_read_ex(p.cli, buf, sizeof(buf), &n) == 1) {
        EVP_DigestUpdate(sh, buf, n);
        recvd += n;
    }
    EVP_DigestFinal_ex(sh, md1, NULL);
    EVP_MD_CTX_free(sh);
    SHA256(data, total, md2);
    assert_int_equal(recvd, total);
    assert_memory_equal(md1, md2, 32);
    free(data);
    pair_close(&p);
}

static void test_close_notify(void **state)
{
    struct pair p;
    char buf[16];
    size_t got = 0, n = 0;

    (void)state;
    /* the client's: data before it first, then GW_HTTP_TLS_CLOSED */
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, 0);
    handshake(&p);
    assert_int_equal(SSL_write(p.cli, "last", 4), 4);
    assert_int_equal(SSL_shutdown(p.cli), 0);
    pump(&p);
    assert_int_equal(p.got_len, 4);
    assert_int_equal(p.srv_rc, GW_HTTP_TLS_CLOSED);
    assert_int_equal(gw_http_tls_read(p.srv, buf, sizeof(buf), &got), GW_HTTP_TLS_CLOSED);
    assert_int_equal(got, 0);
    pair_close(&p);
    /* the server's: the client reads a clean end */
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, 0);
    handshake(&p);
    assert_int_equal(gw_http_tls_write(p.srv, "bye", 3), 0);
    gw_http_tls_shutdown(p.srv);
    gw_http_tls_shutdown(p.srv); /* once */
    pump(&p);
    assert_int_equal(SSL_read_ex(p.cli, buf, sizeof(buf), &n), 1);
    assert_int_equal(n, 3);
    assert_int_equal(SSL_read_ex(p.cli, buf, sizeof(buf), &n), 0);
    assert_int_equal(SSL_get_error(p.cli, 0), SSL_ERROR_ZERO_RETURN);
    assert_int_not_equal(gw_http_tls_write(p.srv, "more", 4), 0);
    pair_close(&p);
}

static int feed_garbage(const void *data, size_t len, const char **reason)
{
    struct gw_tls_listener cfg = {server_cert.cert, server_cert.key, NULL, GW_TLS_CLIENT_NONE};
    struct gw_http_tls_ctx *ctx;
    struct gw_http_tls *t;
    char err[256], buf[1024];
    size_t got = 7;
    int rc;

    assert_int_equal(gw_http_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0);
    assert_int_equal(gw_http_tls_new(ctx, &t), 0);
    assert_int_equal(gw_http_tls_feed(t, data, len), 0);
    rc = gw_http_tls_read(t, buf, sizeof(buf), &got);
    assert_int_equal(got, 0);
    assert_false(gw_http_tls_established(t));
    *reason = gw_http_tls_reason(t);
    if (rc == GW_EIO) /* stays failed */
        assert_int_equal(gw_http_tls_read(t, buf, sizeof(buf), &got), GW_EIO);
    gw_http_tls_free(t);
    gw_http_tls_ctx_free(ctx);
    return rc;
}

static void test_garbage(void **state)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t bad_record[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
    static const uint8_t half[] = {0x16, 0x03, 0x01, 0x01, 0x00, 0x01};
    uint8_t noise[4096];
    const char *reason;

    (void)state;
    assert_int_equal(feed_garbage(http, strlen(http), &reason), GW_EIO);
    assert_string_equal(reason, "not_tls");
    assert_int_equal(feed_garbage(bad_record, sizeof(bad_record), &reason), GW_EIO);
    assert_non_null(reason);
    for (size_t i = 0; i < sizeof(noise); i++)
        noise[i] = (uint8_t)(i * 7919u >> 3);
    assert_int_equal(feed_garbage(noise, sizeof(noise), &reason), GW_EIO);
    assert_non_null(reason);
    /* an incomplete record is not an error: more may come */
    assert_int_equal(feed_garbage(half, sizeof(half), &reason), 0);
    assert_null(reason);
}

static void test_tls11_refused(void **state)
{
    struct pair p;

    (void)state;
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, NULL, TLS1_1_VERSION);
    pump(&p);
    assert_int_equal(p.srv_rc, GW_EIO);
    assert_string_equal(gw_http_tls_reason(p.srv), "protocol_version");
    assert_false(SSL_is_init_finished(p.cli));
    pair_close(&p);
}

static void test_client_certs(void **state)
{
    struct pair p;
    uint8_t want[32];
    unsigned char *der = NULL;
    int len;

    (void)state;
    len = i2d_X509(client_cert.x, &der);
    assert_true(len > 0);
    SHA256(der, (size_t)len, want);
    OPENSSL_free(der);
    /* optional, presented and verified: its fingerprint */
    pair_open(&p, GW_TLS_CLIENT_OPTIONAL, client_cert.cert, &client_cert, 0);
    handshake(&p);
    assert_non_null(gw_http_tls_peer_sha256(p.srv));
    assert_memory_equal(gw_http_tls_peer_sha256(p.srv), want, 32);
    pair_close(&p);
    /* optional, none presented: fine, no fingerprint */
    pair_open(&p, GW_TLS_CLIENT_OPTIONAL, client_cert.cert, NULL, 0);
    handshake(&p);
    assert_null(gw_http_tls_peer_sha256(p.srv));
    pair_close(&p);
    /* required, none presented */
    pair_open(&p, GW_TLS_CLIENT_REQUIRED, client_cert.cert, NULL, 0);
    pump(&p);
    assert_int_equal(p.srv_rc, GW_EIO);
    assert_string_equal(gw_http_tls_reason(p.srv), "no_client_cert");
    pair_close(&p);
    /* optional, one that does not chain to the bundle */
    pair_open(&p, GW_TLS_CLIENT_OPTIONAL, client_cert.cert, &rogue_cert, 0);
    pump(&p);
    assert_int_equal(p.srv_rc, GW_EIO);
    assert_string_equal(gw_http_tls_reason(p.srv), "bad_client_cert");
    assert_non_null(strstr(gw_http_tls_detail(p.srv), "self-signed certificate at depth 0"));
    assert_null(gw_http_tls_peer_sha256(p.srv));
    pair_close(&p);
    /* none: no certificate is asked for, a presented one is not taken */
    pair_open(&p, GW_TLS_CLIENT_NONE, NULL, &rogue_cert, 0);
    handshake(&p);
    assert_null(gw_http_tls_peer_sha256(p.srv));
    pair_close(&p);
}

static void expect_load_error(const struct gw_tls_listener *cfg, const char *must,
                              const char *never)
{
    struct gw_http_tls_ctx *ctx = (struct gw_http_tls_ctx *)1;
    char err[512];

    assert_int_equal(gw_http_tls_ctx_new(cfg, &ctx, err, sizeof(err)), GW_ECONFIG);
    assert_null(ctx);
    if (!strstr(err, must))
        fail_msg("'%s' does not name '%s'", err, must);
    if (never && strstr(err, never))
        fail_msg("'%s' shows '%s'", err, never);
}

static void test_load_errors(void **state)
{
    char junk[300], msg[400];
    struct gw_tls_listener cfg = {server_cert.cert, server_cert.key, NULL, GW_TLS_CLIENT_NONE};
    FILE *f;

    (void)state;
    snprintf(junk, sizeof(junk), "%s/junk.pem", tmpdir);
    assert_non_null(f = fopen(junk, "w"));
    fputs("-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    cfg.cert_file = "/nonexistent/cert.pem";
    expect_load_error(&cfg, "tls_cert /nonexistent/cert.pem", NULL);
    cfg.cert_file = server_cert.cert;
    cfg.key_file = junk;
    snprintf(msg, sizeof(msg), "tls_key %s", junk);
    expect_load_error(&cfg, msg, "U0VDUkVU");
    cfg.key_file = client_cert.key; /* another certificate's key */
    snprintf(msg, sizeof(msg), "tls_key %s: does not belong", client_cert.key);
    expect_load_error(&cfg, msg, NULL);
    cfg.key_file = server_cert.key;
    cfg.client_ca_file = junk;
    snprintf(msg, sizeof(msg), "tls_client_ca %s", junk);
    expect_load_error(&cfg, msg, "U0VDUkVU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),     cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_ten_megabytes), cmocka_unit_test(test_close_notify),
        cmocka_unit_test(test_garbage),       cmocka_unit_test(test_tls11_refused),
        cmocka_unit_test(test_client_certs),  cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
