/*
 * Unit tests for the connection limits of the HTTP server (http_admit.c): which connection is
 * evicted when max_connections or max_connections_per_address is reached (no head yet, oldest
 * first, then lingering, then keep-alive; never one whose request is with the handler), when a
 * new one is refused, and that the per-address accounting and the gauges are back to zero once
 * every connection has closed. A real server on 127.0.0.1 runs in a uv loop on the main thread;
 * blocking client sockets, bound to chosen loopback source addresses, run in a helper thread.
 * Checks made on the client thread are collected and asserted on the main thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http_server.h"
#include "http/http_server_internal.h" /* gw_http_admit_key */
#include "http/http_tls.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 16

struct tctx {
    uv_loop_t loop;
    uv_async_t async;
    struct gw_http_server *srv;
    struct gw_metrics *metrics;
    struct gw_http_limits lim;
    int port;
    void (*client)(struct tctx *t);
    pthread_t th;
    atomic_int client_done;
    atomic_int release; /* answer the held requests */
    atomic_int got_hold;
    struct gw_http_req *held[MAX_HELD];
    int n_held;
    bool shut;
    int drained;
    char *final; /* metrics text once drained */
    bool tls;    /* the listener speaks TLS (a self-signed certificate made here) */
    bool known;  /* a head check: known clients send Authorization, the rest are anonymous */
    unsigned fail_accepts; /* gw_http_server_inject_accept_failures */
    char dir[64];          /* its files */
    int failures;
    char fail_msg[16][200];
};

/* ---- client side (helper thread) ---- */

static void fail_at(struct tctx *t, int line, const char *what)
{
    if (t->failures < 16)
        snprintf(t->fail_msg[t->failures], sizeof(t->fail_msg[0]), "line %d: %s", line, what);
    t->failures++;
}

#define CHECK(t, cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_at(t, __LINE__, #cond);                                                           \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A connection from 127.0.0.<src>; -1 on failure. */
static int cli_open(struct tctx *t, int src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    struct sockaddr_in b = {.sin_family = AF_INET};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    b.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)src);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (bind(fd, (struct sockaddr *)&b, sizeof(b)) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int cli_sends(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one response (head and Content-Length body) into buf; its status, or -1. */
static int cli_resp(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    int status = -1;

    for (;;) {
        char *end, *cl;
        ssize_t n;

        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end) {
            size_t want = (size_t)(end + 4 - buf);
            if ((cl = strstr(buf, "Content-Length: ")) && cl < end)
                want += strtoul(cl + 16, NULL, 10);
            if (len >= want) {
                if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
                    return -1;
                return status;
            }
        }
        if (len + 1 >= cap)
            return -1;
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
}

/* True if the server closes fd without sending anything (more). */
static bool cli_sees_close(int fd)
{
    char b[256];
    ssize_t n = recv(fd, b, sizeof(b), 0);

    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 1000 && atomic_load(v) < want; i++)
        sleep_ms(5);
    return atomic_load(v) >= want;
}

/* Sends a request the handler holds until release; waits until the handler has it. */
static void cli_hold(struct tctx *t, int fd)
{
    int before = atomic_load(&t->got_hold);

    CHECK(t, cli_sends(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, wait_for(&t->got_hold, before + 1));
}

static void cli_release(struct tctx *t)
{
    atomic_store(&t->release, 1);
    uv_async_send(&t->async);
}

/* GET /stats on fd: the metrics text, in buf. */
static bool cli_stats(int fd, char *buf, size_t cap)
{
    if (cli_sends(fd, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n") != 0)
        return false;
    return cli_resp(fd, buf, cap) == 200;
}

static bool has_line(const char *text, const char *line)
{
    char want[256];

    snprintf(want, sizeof(want), "\n%s\n", line);
    return text && strstr(text, want) != NULL;
}

/* ---- server side (loop thread) ---- */

static void handler(struct gw_http_req *req, void *ud)
{
    struct tctx *t = ud;

    if (strcmp(req->path, "/hold") == 0 && t->n_held < MAX_HELD) {
        t->held[t->n_held++] = req;
        atomic_fetch_add(&t->got_hold, 1);
        return;
    }
    if (strcmp(req->path, "/stall") == 0) { /* the loop is busy: new connections queue up */
        gw_http_server_inject_accept_failures(t->srv, 2);
        sleep_ms(300);
        gw_http_respond(req, 200, "text/plain", "ok", 2);
        return;
    }
    if (strcmp(req->path, "/stats") == 0) {
        size_t len = 0;
        char *text = gw_metrics_render(t->metrics, &len);
        gw_http_respond(req, 200, "text/plain", text, text ? len : 0);
        free(text);
        return;
    }
    gw_http_respond(req, 200, "text/plain", "ok", 2);
}

/* As the API's: a request with credentials is a known client's, the others anonymous. */
static int head_check(const struct gw_http_req *req, void *ud, const char **code, const char **msg)
{
    (void)ud, (void)code, (void)msg;
    return gw_http_req_header(req, "authorization") ? GW_HTTP_HEAD_KNOWN : 0;
}

static void on_drained(void *ud)
{
    struct tctx *t = ud;
    size_t len;

    t->final = gw_metrics_render(t->metrics, &len);
    t->drained++;
}

static void on_async(uv_async_t *a)
{
    struct tctx *t = a->data;
    bool done = atomic_load(&t->client_done);

    if (atomic_load(&t->release) || done) {
        for (int i = 0; i < t->n_held; i++)
            gw_http_respond(t->held[i], 200, "text/plain", "held", 4);
        t->n_held = 0;
        atomic_store(&t->release, 0);
    }
    if (done && !t->shut) {
        t->shut = true;
        gw_http_server_shutdown(t->srv, on_drained, t);
        uv_close((uv_handle_t *)a, NULL);
    }
}

static void *client_main(void *arg)
{
    struct tctx *t = arg;

    t->client(t);
    atomic_store(&t->client_done, 1);
    uv_async_send(&t->async);
    return NULL;
}

static struct tctx *tctx_new(void (*client)(struct tctx *t), unsigned max, unsigned per_addr)
{
    struct tctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    gw_http_limits_default(&t->lim);
    t->lim.max_connections = max;
    t->lim.max_connections_per_address = per_addr;
    t->client = client;
    return t;
}

/* A self-signed P-256 certificate and its key as PEM files in t->dir. */
static void make_tls(struct tctx *t, struct gw_tls_listener *cfg, char *cert, char *key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n;
    FILE *f;

    assert_non_null(k);
    assert_non_null(x);
    snprintf(t->dir, sizeof(t->dir), "/tmp/gw-evict-unit-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    snprintf(cert, 128, "%s/server.pem", t->dir);
    snprintf(key, 128, "%s/server.key", t->dir);
    assert_non_null(f = fopen(cert, "w"));
    PEM_write_X509(f, x);
    fclose(f);
    assert_non_null(f = fopen(key, "w"));
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    *cfg = (struct gw_tls_listener){.cert_file = cert, .key_file = key};
}

static void run(struct tctx *t)
{
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(uv_async_init(&t->loop, &t->async, on_async), 0);
    t->async.data = t;
    assert_non_null(t->metrics = gw_metrics_new());
    assert_int_equal(gw_http_server_start(&t->loop, "127.0.0.1", 0, &t->lim, handler, t, &t->srv),
                     0);
    gw_http_server_set_metrics(t->srv, t->metrics);
    if (t->known)
        gw_http_server_set_head_check(t->srv, head_check);
    gw_http_server_inject_accept_failures(t->srv, t->fail_accepts);
    if (t->tls) {
        struct gw_tls_listener cfg;
        struct gw_http_tls_ctx *ctx = NULL;
        char cert[128], key[128], err[256];

        make_tls(t, &cfg, cert, key);
        assert_int_equal(gw_http_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0);
        gw_http_server_set_tls(t->srv, ctx, t->metrics);
        unlink(cert);
        unlink(key);
        rmdir(t->dir);
    }
    t->port = gw_http_server_port(t->srv);
    assert_int_equal(pthread_create(&t->th, NULL, client_main, t), 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(pthread_join(t->th, NULL), 0);
    for (int i = 0; i < t->failures && i < 16; i++)
        print_error("client check failed: %s\n", t->fail_msg[i]);
    assert_int_equal(t->failures, 0);
    assert_int_equal(t->drained, 1);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    /* every connection closed: nothing counted any more */
    assert_true(has_line(t->final, "gateway_http_connections 0"));
    assert_true(has_line(t->final, "gateway_http_client_addresses 0"));
}

static void tctx_free(struct tctx *t)
{
    gw_metrics_free(t->metrics);
    free(t->final);
    free(t);
}

/* ---- scenarios ---- */

#define EV(lim, victim) "gateway_http_evictions_total{limit=\"" lim "\",victim=\"" victim "\"} "
#define SRV             "max_connections"
#define ADDR            "max_connections_per_address"

/* max_connections 4: connections with no head go first (oldest first), then a lingering one,
 * then a keep-alive one; busy ones never; with four busy the next one is refused. */
static void cl_order(struct tctx *t)
{
    char buf[8192];
    int k, l, n1, n2, h[4], r;

    /* k: keep-alive, between requests */
    CHECK(t, (k = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sends(k, "GET /k HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_resp(k, buf, sizeof(buf)) == 200);
    /* n1: nothing sent; n2: part of a head */
    CHECK(t, (n1 = cli_open(t, 1)) >= 0);
    CHECK(t, (n2 = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sends(n2, "GET /slow HTTP/1.1\r\nHo") == 0);
    /* l: answered 400 (no Host) and lingering: the server has sent its FIN */
    CHECK(t, (l = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sends(l, "GET /l HTTP/1.1\r\n\r\n") == 0);
    CHECK(t, cli_resp(l, buf, sizeof(buf)) == 400);
    CHECK(t, cli_sees_close(l));

    /* each newcomer takes the slot of the next victim in order and then becomes busy */
    CHECK(t, (h[0] = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(n1));
    cli_hold(t, h[0]);
    CHECK(t, (h[1] = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(n2));
    cli_hold(t, h[1]);
    CHECK(t, (h[2] = cli_open(t, 1)) >= 0);
    cli_hold(t, h[2]); /* l was evicted for it: its slot is in use */
    CHECK(t, (h[3] = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(k));
    cli_hold(t, h[3]);

    /* all four have a request with the handler: refused */
    CHECK(t, (r = cli_open(t, 1)) >= 0);
    CHECK(t, cli_resp(r, buf, sizeof(buf)) == 503 && strstr(buf, "too_many_connections"));
    CHECK(t, strstr(buf, "\r\nRetry-After: 5\r\n") != NULL);
    close(r);

    cli_release(t);
    for (int i = 0; i < 4; i++)
        CHECK(t, cli_resp(h[i], buf, sizeof(buf)) == 200 && strstr(buf, "held"));
    CHECK(t, cli_stats(h[0], buf, sizeof(buf)));
    CHECK(t, has_line(buf, EV(SRV, "no_head") "2"));
    CHECK(t, has_line(buf, EV(SRV, "lingering") "1"));
    CHECK(t, has_line(buf, EV(SRV, "keepalive") "1"));
    CHECK(t, has_line(buf, EV(ADDR, "no_head") "0"));
    CHECK(t, has_line(buf, "gateway_http_refused_total{limit=\"" SRV "\"} 1"));
    CHECK(t, has_line(buf, "gateway_http_connections 4"));
    CHECK(t, has_line(buf, "gateway_http_client_addresses 1"));

    /* now they are keep-alive between requests: a newcomer evicts the one idle longest, h[1]
     * (h[0] answered /stats after it) */
    CHECK(t, (r = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(h[1]));
    CHECK(t, cli_sends(r, "GET /r HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_resp(r, buf, sizeof(buf)) == 200);
    close(r);
    for (int i = 0; i < 4; i++)
        close(h[i]);
    close(k);
    close(l);
    close(n1);
    close(n2);
}

static void test_order(void **state)
{
    struct tctx *t = tctx_new(cl_order, 4, 100);

    (void)state;
    run(t);
    tctx_free(t);
}

/* max_connections_per_address 2, max_connections 5: an address over its own limit evicts only
 * its own connections (or is refused when they are all busy, while the server has room); at the
 * server's limit the oldest connection without a head goes, whatever its address. */
static void cl_per_address(struct tctx *t)
{
    char buf[8192];
    int z, a1, a2, a3, b1, b2, b3, c1, d1;

    CHECK(t, (z = cli_open(t, 4)) >= 0); /* the oldest of all */
    CHECK(t, (a1 = cli_open(t, 2)) >= 0);
    CHECK(t, (a2 = cli_open(t, 2)) >= 0);
    CHECK(t, (b1 = cli_open(t, 3)) >= 0);
    cli_hold(t, b1);
    CHECK(t, (a3 = cli_open(t, 2)) >= 0); /* .2 is full: its own oldest, a1, goes, not z */
    CHECK(t, cli_sees_close(a1));
    CHECK(t, (b2 = cli_open(t, 3)) >= 0);
    cli_hold(t, b2);
    CHECK(t, (b3 = cli_open(t, 3)) >= 0); /* .3 is full of busy ones: refused */
    CHECK(t, cli_resp(b3, buf, sizeof(buf)) == 503 && strstr(buf, "too_many_connections"));
    close(b3);
    /* five open (z a2 a3 b1 b2): the server is full, the oldest without a head goes */
    CHECK(t, (c1 = cli_open(t, 4)) >= 0);
    CHECK(t, cli_sees_close(z));
    CHECK(t, (d1 = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(a2));
    CHECK(t, cli_stats(d1, buf, sizeof(buf)));
    CHECK(t, has_line(buf, EV(ADDR, "no_head") "1"));
    CHECK(t, has_line(buf, EV(SRV, "no_head") "2"));
    CHECK(t, has_line(buf, "gateway_http_refused_total{limit=\"" ADDR "\"} 1"));
    CHECK(t, has_line(buf, "gateway_http_refused_total{limit=\"" SRV "\"} 0"));
    CHECK(t, has_line(buf, "gateway_http_connections 5"));
    CHECK(t, has_line(buf, "gateway_http_client_addresses 4"));

    /* closing gives the slots back: .2 may open two again, without evicting anything */
    close(a3);
    close(c1);
    for (int i = 0; i < 200; i++) {
        CHECK(t, cli_stats(d1, buf, sizeof(buf)));
        if (has_line(buf, "gateway_http_connections 3"))
            break;
        sleep_ms(10);
    }
    CHECK(t, has_line(buf, "gateway_http_client_addresses 2"));
    CHECK(t, (a1 = cli_open(t, 2)) >= 0);
    CHECK(t, (a2 = cli_open(t, 2)) >= 0);
    CHECK(t, cli_sends(a1, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_sends(a2, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_resp(a1, buf, sizeof(buf)) == 200);
    CHECK(t, cli_resp(a2, buf, sizeof(buf)) == 200);
    CHECK(t, cli_stats(d1, buf, sizeof(buf)));
    CHECK(t, has_line(buf, EV(ADDR, "no_head") "1"));
    CHECK(t, has_line(buf, EV(ADDR, "keepalive") "0"));
    CHECK(t, has_line(buf, EV(SRV, "no_head") "2"));
    CHECK(t, has_line(buf, "gateway_http_connections 5"));

    cli_release(t);
    CHECK(t, cli_resp(b1, buf, sizeof(buf)) == 200);
    CHECK(t, cli_resp(b2, buf, sizeof(buf)) == 200);
    close(a1);
    close(a2);
    close(b1);
    close(b2);
    close(d1);
    close(z);
}

static void test_per_address(void **state)
{
    struct tctx *t = tctx_new(cl_per_address, 5, 2);

    (void)state;
    run(t);
    tctx_free(t);
}

/* Three addresses under their own limit, the server at its limit: the oldest connection without
 * a head goes whatever its address; all are accounted and closed in the end. */
static void cl_mixed(struct tctx *t)
{
    int fd[6];

    for (int i = 0; i < 6; i++)
        CHECK(t, (fd[i] = cli_open(t, 2 + i % 3)) >= 0);
    cli_hold(t, fd[5]);
    CHECK(t, cli_sees_close(fd[0])); /* max_connections 5 */
    for (int i = 0; i < 6; i++)
        close(fd[i]);
}

static void test_mixed(void **state)
{
    struct tctx *t = tctx_new(cl_mixed, 5, 5);

    (void)state;
    run(t);
    assert_non_null(strstr(t->final, EV(SRV, "no_head") "1\n"));
    tctx_free(t);
}

/* TLS, max_connections 2: a connection still in its handshake has sent no head, so the oldest
 * such one makes room for a new one. */
static void cl_tls(struct tctx *t)
{
    static const char hello_part[] = {0x16, 0x03, 0x01, 0x00, 0x80, 0x01}; /* a record begun */
    int h1, h2, h3;

    CHECK(t, (h1 = cli_open(t, 1)) >= 0);
    CHECK(t, send(h1, hello_part, sizeof(hello_part), MSG_NOSIGNAL) == sizeof(hello_part));
    CHECK(t, (h2 = cli_open(t, 1)) >= 0);
    CHECK(t, (h3 = cli_open(t, 2)) >= 0);
    CHECK(t, cli_sees_close(h1));
    close(h1);
    close(h2);
    close(h3);
}

static void test_tls(void **state)
{
    struct tctx *t = tctx_new(cl_tls, 2, 100);

    (void)state;
    t->tls = true;
    run(t);
    assert_non_null(strstr(t->final, EV(SRV, "no_head") "1\n"));
    assert_non_null(strstr(t->final, "gateway_http_refused_total{limit=\"" SRV "\"} 0\n"));
    tctx_free(t);
}

static uint64_t key_of(const char *ip, uint8_t *family)
{
    struct sockaddr_storage ss = {0};
    uint64_t key = 0;

    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
    }
    gw_http_admit_key((const struct sockaddr *)&ss, &key, family);
    return key;
}

/* IPv4 by address (an IPv4-mapped IPv6 address counts as that IPv4 address), IPv6 by /64. */
static void test_address_key(void **state)
{
    uint8_t f1, f2;
    uint64_t k;

    (void)state;
    k = key_of("192.0.2.7", &f1);
    assert_true(key_of("::ffff:192.0.2.7", &f2) == k && f1 == 4 && f2 == 4);
    assert_true(key_of("192.0.2.8", &f2) != k && f2 == 4);
    k = key_of("2001:db8:1:2::1", &f1);
    assert_true(key_of("2001:db8:1:2:ffff:ee:dd:cc", &f2) == k && f1 == 6 && f2 == 6);
    assert_true(key_of("2001:db8:1:3::1", &f2) != k);
    assert_true(key_of("::1", &f1) == key_of("::2", &f2) && f1 == 6); /* one /64 */
    gw_http_admit_key(NULL, &k, &f1);
    assert_true(k == 0 && f1 == 0);
}

/* With a head check, per-address limit 2: a connection that carried only anonymous requests
 * (e.g. /healthz) is evicted before a known client's idle keep-alive connection, however recently
 * it was used. */
static void cl_anonymous_not_kept(struct tctx *t)
{
    static const char known[] = "GET /k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n";
    char buf[8192];
    int k, a, n;

    CHECK(t, (k = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sends(k, known) == 0);
    CHECK(t, cli_resp(k, buf, sizeof(buf)) == 200);
    sleep_ms(20);
    CHECK(t, (a = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sends(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_resp(a, buf, sizeof(buf)) == 200);
    CHECK(t, (n = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(a));
    CHECK(t, cli_sends(k, known) == 0);
    CHECK(t, cli_resp(k, buf, sizeof(buf)) == 200);
    CHECK(t, cli_stats(k, buf, sizeof(buf)));
    CHECK(t, has_line(buf, EV(ADDR, "anonymous") "1"));
    CHECK(t, has_line(buf, EV(ADDR, "keepalive") "0"));
    close(n);
    close(a);
    close(k);
}

static void test_anonymous_not_kept(void **state)
{
    struct tctx *t = tctx_new(cl_anonymous_not_kept, 100, 2);

    (void)state;
    t->known = true;
    run(t);
    tctx_free(t);
}

/* With a head check, max_connections 1: an anonymous client that pipelines requests and never
 * reads the answers (the server stops reading once its answers fill the socket) is evicted for
 * a newcomer, which is served. */
static void cl_anonymous_writer(struct tctx *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->port)};
    char buf[8192], req[16384];
    int rcv = 1024, w, r, stuck = 0;
    size_t off = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(t, (w = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    setsockopt(w, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    CHECK(t, connect(w, (struct sockaddr *)&a, sizeof(a)) == 0);
    while (off + 40 < sizeof(req))
        off += (size_t)snprintf(req + off, sizeof(req) - off, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    while (stuck < 50) { /* until the server has stopped reading for half a second */
        ssize_t n = send(w, req, off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            stuck = 0;
        } else {
            stuck++;
            sleep_ms(10);
        }
    }
    CHECK(t, (r = cli_open(t, 2)) >= 0);
    CHECK(t, cli_sends(r, "GET /r HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n") == 0);
    CHECK(t, cli_resp(r, buf, sizeof(buf)) == 200);
    CHECK(t, cli_stats(r, buf, sizeof(buf)));
    CHECK(t, has_line(buf, EV(SRV, "anonymous") "1"));
    close(r);
    close(w);
}

static void test_anonymous_writer(void **state)
{
    struct tctx *t = tctx_new(cl_anonymous_writer, 1, 100);

    (void)state;
    t->known = true;
    run(t);
    tctx_free(t);
}

/* Three failed allocations: a connection alone, then two arriving while the loop is busy,
 * accepted in one go. Each failure closes its connection at once and counts one refusal, except
 * that the second of the two, which finds the spare handle still closing, is tried again once it
 * has closed (and then served, not counted); the listener goes on accepting (libuv stops
 * watching a listener whose pending connection is left unaccepted). */
static void cl_no_memory(struct tctx *t)
{
    char buf[8192];
    int a, s, b, c, d;

    CHECK(t, (a = cli_open(t, 1)) >= 0);
    CHECK(t, cli_sees_close(a));
    CHECK(t, (s = cli_open(t, 2)) >= 0);
    CHECK(t, cli_sends(s, "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    sleep_ms(50);
    CHECK(t, (b = cli_open(t, 1)) >= 0);
    CHECK(t, (c = cli_open(t, 1)) >= 0);
    CHECK(t, cli_resp(s, buf, sizeof(buf)) == 200);
    CHECK(t, cli_sees_close(b));
    CHECK(t, cli_sends(c, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    CHECK(t, cli_resp(c, buf, sizeof(buf)) == 200);
    CHECK(t, (d = cli_open(t, 1)) >= 0);
    CHECK(t, cli_stats(d, buf, sizeof(buf)));
    CHECK(t, has_line(buf, "gateway_http_refused_total{limit=\"memory\"} 2"));
    CHECK(t, has_line(buf, "gateway_http_connections 3"));
    close(d);
    close(c);
    close(b);
    close(s);
    close(a);
}

static void test_no_memory(void **state)
{
    struct tctx *t = tctx_new(cl_no_memory, 100, 100);

    (void)state;
    t->fail_accepts = 1; /* and 2 more from /stall */
    run(t);
    tctx_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_per_address),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_address_key),
        cmocka_unit_test(test_anonymous_not_kept),
        cmocka_unit_test(test_anonymous_writer),
        cmocka_unit_test(test_no_memory),
    };
    gw_log_set_level(GW_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
