/*
 * Unit tests for the HTTP server: a real server on 127.0.0.1 (ephemeral port) runs in a uv loop on
 * the main thread and is driven by blocking client sockets in a helper thread. Every test ends with
 * shutdown, the drained callback, and uv_loop_close() == 0. Checks made on the client thread are
 * collected and asserted on the main thread (cmocka is not thread-safe).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/error.h"
#include "http/http_server.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum hmode { H_SYNC, H_ASYNC, H_HOLD, H_GATE }; /* H_GATE: answered once t->release is set */

struct tctx {
    uv_loop_t loop;
    uv_async_t async;
    struct gw_http_server *srv;
    struct gw_http_limits lim;
    int port;
    enum hmode mode;
    uint64_t delay_ms;
    void (*client)(struct tctx *t);
    pthread_t th;
    atomic_int shutdown_req;
    atomic_int client_done;
    atomic_int got_req;
    atomic_int release; /* H_GATE */
    bool shut;
    int drained;
    int detached_seen;
    size_t max_inflight;
    size_t inflight_at_drain;
    gw_http_head_fn head_check; /* installed by run() if set */
    int head_checks;
    int head_bad;      /* head check saw something it should not */
    bool force_close;  /* gw_http_server_close_all() right after shutdown */
    int held_answered; /* async requests answered by the handler */
    int held_at_drain;
    int failures;
    char fail_msg[16][200];
};

struct held {
    uv_timer_t timer;
    struct gw_http_req *req;
    struct tctx *t;
    int polls;
};

/* ---- client side (helper thread) ---- */

struct cli {
    int fd;
    size_t len;
    char buf[65536];
};

struct resp {
    int status;
    bool saw_100;
    char connection[32];
    char ctype[64];
    char head[4096];
    size_t clen;
    char body[8192];
};

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

static int cli_open(struct cli *c, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};

    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void cli_close(struct cli *c, bool reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(c->fd);
    c->fd = -1;
}

static int cli_send(struct cli *c, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int cli_sends(struct cli *c, const char *s)
{
    return cli_send(c, s, strlen(s));
}

static int cli_fill(struct cli *c)
{
    ssize_t n;
    if (c->len == sizeof(c->buf))
        return -1;
    n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 0;
}

static void cli_consume(struct cli *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void header_copy(const char *line, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name), i = 0;
    const char *v;
    if (strncasecmp(line, name, nl) != 0)
        return;
    for (v = line + nl; *v == ' '; v++)
        ;
    while (v[i] && v[i] != '\r' && i + 1 < cap) {
        dst[i] = v[i];
        i++;
    }
    dst[i] = '\0';
}

/* Reads one final response (skipping 100 Continue). 0 on success, -1 on EOF/timeout. */
static int cli_read_resp_x(struct cli *c, struct resp *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        size_t hlen;
        char clen[32] = "";

        if (!end) {
            if (cli_fill(c) != 0)
                return -1;
            continue;
        }
        hlen = (size_t)(end - c->buf) + 4;
        if (hlen >= sizeof(r->head))
            return -1;
        memcpy(r->head, c->buf, hlen);
        r->head[hlen] = '\0';
        if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
            return -1;
        if (r->status == 100) {
            r->saw_100 = true;
            cli_consume(c, hlen);
            continue;
        }
        for (char *line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
            header_copy(line + 2, "content-length:", clen, sizeof(clen));
            header_copy(line + 2, "connection:", r->connection, sizeof(r->connection));
            header_copy(line + 2, "content-type:", r->ctype, sizeof(r->ctype));
        }
        r->clen = (size_t)strtoul(clen, NULL, 10);
        if (head_only) {
            cli_consume(c, hlen);
            return 0;
        }
        if (r->clen >= sizeof(r->body))
            return -1;
        while (c->len < hlen + r->clen) {
            if (cli_fill(c) != 0)
                return -1;
        }
        memcpy(r->body, c->buf + hlen, r->clen);
        r->body[r->clen] = '\0';
        cli_consume(c, hlen + r->clen);
        return 0;
    }
}

static int cli_read_resp(struct cli *c, struct resp *r)
{
    return cli_read_resp_x(c, r, false);
}

/* True if the server closes the connection without sending anything more. */
static bool cli_sees_close(struct cli *c)
{
    char b[256];
    ssize_t n;
    if (c->len)
        return false;
    n = recv(c->fd, b, sizeof(b), 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 1000 && atomic_load(v) < want; i++)
        sleep_ms(5);
    return atomic_load(v) >= want;
}

/* Sends req on a fresh connection and expects a JSON error with status and code, then close. */
static void expect_error(struct tctx *t, const char *req, size_t len, int status, const char *code)
{
    struct cli c;
    struct resp r;
    char want[96];

    snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_send(&c, req, len);
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == status);
    CHECK(t, strstr(r.body, want) != NULL);
    CHECK(t, strcmp(r.ctype, "application/json") == 0);
    CHECK(t, strcmp(r.connection, "close") == 0);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);
}

/* ---- server side (loop thread) ---- */

static void answer(struct gw_http_req *req)
{
    char body[4096];
    int n = snprintf(body, sizeof(body), "%s %s %s %zu:%s", req->method, req->path,
                     req->query ? req->query : "-", req->body_len, (const char *)req->body);
    if (n >= (int)sizeof(body))
        n = (int)sizeof(body) - 1; /* truncated */
    assert_int_equal(gw_http_add_header(req, "X-Test", "yes"), 0);
    assert_int_not_equal(gw_http_add_header(req, "X-Bad", "a\r\nb"), 0);
    gw_http_respond(req, 200, "text/plain", body, (size_t)n);
}

static void on_held_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_held_timer(uv_timer_t *tm)
{
    struct held *h = tm->data;

    if (h->t->mode == H_HOLD && !h->req->detached && ++h->polls < 300)
        return; /* repeating timer: poll until the client is seen gone */
    if (h->t->mode == H_GATE && !atomic_load(&h->t->release) && ++h->polls < 3000)
        return; /* repeating timer: poll until the client thread releases the requests */
    if (h->req->detached)
        h->t->detached_seen++;
    h->t->held_answered++;
    answer(h->req);
    uv_close((uv_handle_t *)tm, on_held_closed);
}

static void handler(struct gw_http_req *req, void *ud)
{
    struct tctx *t = ud;
    struct held *h;
    size_t inflight = gw_http_server_inflight(t->srv);

    if (inflight > t->max_inflight)
        t->max_inflight = inflight;
    atomic_fetch_add(&t->got_req, 1);
    if (t->mode == H_SYNC) {
        answer(req);
        return;
    }
    h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->req = req;
    h->t = t;
    h->timer.data = h;
    uv_timer_init(&t->loop, &h->timer);
    if (t->mode == H_HOLD || t->mode == H_GATE)
        uv_timer_start(&h->timer, on_held_timer, 10, 10);
    else
        uv_timer_start(&h->timer, on_held_timer, t->delay_ms, 0);
}

static void on_drained(void *ud)
{
    struct tctx *t = ud;
    t->inflight_at_drain = gw_http_server_inflight(t->srv);
    t->held_at_drain = t->held_answered;
    t->drained++;
}

static void on_async(uv_async_t *a)
{
    struct tctx *t = a->data;
    bool done = atomic_load(&t->client_done);

    if ((done || atomic_load(&t->shutdown_req)) && !t->shut) {
        t->shut = true;
        if (t->force_close)
            gw_http_server_close_all(t->srv); /* without shutdown: ignored */
        gw_http_server_shutdown(t->srv, on_drained, t);
        if (t->force_close)
            gw_http_server_close_all(t->srv);
    }
    if (done)
        uv_close((uv_handle_t *)a, NULL);
}

static void *client_main(void *arg)
{
    struct tctx *t = arg;
    t->client(t);
    atomic_store(&t->client_done, 1);
    uv_async_send(&t->async);
    return NULL;
}

static void request_shutdown(struct tctx *t)
{
    atomic_store(&t->shutdown_req, 1);
    uv_async_send(&t->async);
}

static struct tctx *tctx_new(void (*client)(struct tctx *t), enum hmode mode)
{
    struct tctx *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    gw_http_limits_default(&t->lim);
    t->client = client;
    t->mode = mode;
    t->delay_ms = 50;
    return t;
}

static void run(struct tctx *t)
{
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(uv_async_init(&t->loop, &t->async, on_async), 0);
    t->async.data = t;
    assert_int_equal(gw_http_server_start(&t->loop, "127.0.0.1", 0, &t->lim, handler, t, &t->srv),
                     0);
    t->port = gw_http_server_port(t->srv);
    assert_true(t->port > 0);
    if (t->head_check)
        gw_http_server_set_head_check(t->srv, t->head_check);
    assert_int_equal(pthread_create(&t->th, NULL, client_main, t), 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(pthread_join(t->th, NULL), 0);
    for (int i = 0; i < t->failures && i < 16; i++)
        print_error("client check failed: %s\n", t->fail_msg[i]);
    assert_int_equal(t->failures, 0);
    assert_int_equal(t->drained, 1);
    assert_int_equal(t->inflight_at_drain, 0);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

/* ---- scenarios ---- */

static void cl_keepalive(struct tctx *t)
{
    static const char post[] = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    struct cli c;
    struct resp r;

    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "GET /a%20b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 200);
    CHECK(t, strcmp(r.body, "GET /a b x=1 0:") == 0);
    CHECK(t, strcmp(r.connection, "keep-alive") == 0);
    CHECK(t, strcmp(r.ctype, "text/plain") == 0);
    CHECK(t, strstr(r.head, "\r\nDate: ") != NULL);
    CHECK(t, strstr(r.head, "\r\nX-Test: yes\r\n") != NULL);
    CHECK(t, strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    cli_sends(&c, post);
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, strcmp(r.body, "POST /b - 5:hello") == 0);
    cli_sends(&c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp_x(&c, &r, true) == 0 && r.status == 200);
    CHECK(t, r.clen == strlen("HEAD /h - 0:")); /* length of the GET body, no body follows */
    cli_sends(&c, "GET /after-head HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /after-head - 0:") == 0);
    cli_close(&c, false);

    /* HTTP/1.0 without keep-alive: answered, then closed */
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "GET /old HTTP/1.0\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 200 && strcmp(r.connection, "close") == 0);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);

    /* HTTP/1.0 with keep-alive stays open */
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.connection, "keep-alive") == 0);
    cli_sends(&c, "GET /k2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /k2 - 0:") == 0);
    cli_close(&c, false);
}

static void test_keepalive(void **state)
{
    struct tctx *t = tctx_new(cl_keepalive, H_SYNC);
    run(t);
    free(t);
}

static void cl_pipelined(struct tctx *t)
{
    static const char reqs[] = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                               "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                               "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct cli c;
    struct resp r;

    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, reqs);
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /1 - 0:") == 0);
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "POST /2 - 3:abc") == 0);
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /3 - 0:") == 0);
    /* pipelined after garbage: the good request is answered, then 400 and close */
    cli_sends(&c, "GET /4 HTTP/1.1\r\nHost: x\r\n\r\nBLAH\x01\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /4 - 0:") == 0);
    CHECK(t, cli_read_resp(&c, &r) == 0 && r.status == 400);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);
}

static void test_pipelined(void **state)
{
    struct tctx *t = tctx_new(cl_pipelined, H_ASYNC);
    t->delay_ms = 20;
    run(t);
    free(t);
}

static void cl_chunked(struct tctx *t)
{
    struct cli c;
    struct resp r;

    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\nWiki\r\n");
    sleep_ms(20);
    cli_sends(&c, "5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 200 && strcmp(r.body, "POST /c - 9:Wikipedia") == 0);

    /* Expect: 100-continue: the body is sent only after the interim response */
    cli_sends(&c,
              "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    {
        char b[64] = "";
        ssize_t n = recv(c.fd, b, sizeof(b) - 1, 0);
        CHECK(t, n > 0 && strncmp(b, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    }
    cli_sends(&c, "data");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "PUT /e - 4:data") == 0);
    cli_close(&c, false);
}

static void test_chunked(void **state)
{
    struct tctx *t = tctx_new(cl_chunked, H_SYNC);
    run(t);
    free(t);
}

static void cl_async(struct tctx *t)
{
    struct cli c;
    struct resp r;

    CHECK(t, cli_open(&c, t->port) == 0);
    for (int i = 0; i < 3; i++) {
        cli_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /slow - 0:") == 0);
    }
    cli_close(&c, false);
}

static void test_async(void **state)
{
    struct tctx *t = tctx_new(cl_async, H_ASYNC);
    run(t);
    free(t);
}

static void cl_headers_too_large(struct tctx *t)
{
    char req[4096];
    size_t n;

    n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', 2000);
    n += 2000;
    memcpy(req + n, "\r\n\r\n", 4);
    expect_error(t, req, n + 4, 431, "headers_too_large");

    n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 12; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
    expect_error(t, req, n, 431, "headers_too_large");
}

static void test_headers_too_large(void **state)
{
    struct tctx *t = tctx_new(cl_headers_too_large, H_SYNC);
    t->lim.max_header_bytes = 1024;
    t->lim.max_headers = 8;
    run(t);
    free(t);
}

static void cl_payload_too_large(struct tctx *t)
{
    static const char cl[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    char req[512];
    size_t n;

    expect_error(t, cl, sizeof(cl) - 1, 413, "payload_too_large");
    n = (size_t)snprintf(req, sizeof(req),
                         "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n");
    for (int i = 0; i < 2; i++) {
        memset(req + n, 'z', 0x50);
        n += 0x50;
        n += (size_t)snprintf(req + n, sizeof(req) - n, i == 0 ? "\r\n50\r\n" : "\r\n0\r\n\r\n");
    }
    expect_error(t, req, n, 413, "payload_too_large");
}

static void test_payload_too_large(void **state)
{
    struct tctx *t = tctx_new(cl_payload_too_large, H_SYNC);
    t->lim.max_body_bytes = 100;
    run(t);
    free(t);
}

static void cl_slow(struct tctx *t)
{
    static const char half[] = "GET / HTTP/1.1\r\nHost: x\r\n";
    static const char body[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc";
    struct cli c;
    struct resp r;

    expect_error(t, half, sizeof(half) - 1, 408, "request_timeout");
    expect_error(t, body, sizeof(body) - 1, 408, "request_timeout");
    /* idle keep-alive connection: closed silently */
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && r.status == 200);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);
}

static void test_slow_client(void **state)
{
    struct tctx *t = tctx_new(cl_slow, H_SYNC);
    t->lim.header_timeout_ms = 200;
    t->lim.body_timeout_ms = 200;
    t->lim.idle_timeout_ms = 300;
    run(t);
    free(t);
}

static void cl_malformed(struct tctx *t)
{
    static const char garbage[] = "\x01\x02 HELLO\r\n\r\n";
    static const char nohost[] = "GET / HTTP/1.1\r\n\r\n";
    static const char te[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n";
    static const char up[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
                             "Upgrade: websocket\r\n\r\n";
    static const char badchunk[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                   "\r\nzz\r\n";

    expect_error(t, garbage, sizeof(garbage) - 1, 400, "malformed_http");
    expect_error(t, nohost, sizeof(nohost) - 1, 400, "malformed_http");
    expect_error(t, te, sizeof(te) - 1, 501, "unsupported_transfer_encoding");
    expect_error(t, up, sizeof(up) - 1, 501, "upgrade_not_supported");
    expect_error(t, badchunk, sizeof(badchunk) - 1, 400, "malformed_http");
}

static void test_malformed(void **state)
{
    struct tctx *t = tctx_new(cl_malformed, H_SYNC);
    run(t);
    free(t);
}

static void cl_conn_limit(struct tctx *t)
{
    struct cli a, b, c, d;
    struct resp r;
    bool ok = false;

    /* a and b are with the handler, so neither can be evicted: c is refused */
    CHECK(t, cli_open(&a, t->port) == 0);
    CHECK(t, cli_open(&b, t->port) == 0);
    cli_sends(&a, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    cli_sends(&b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, wait_for(&t->got_req, 2));
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 503 && strstr(r.body, "too_many_connections") != NULL);
    CHECK(t, cli_sees_close(&c));
    atomic_store(&t->release, 1);
    CHECK(t, cli_read_resp(&a, &r) == 0 && r.status == 200);
    CHECK(t, cli_read_resp(&b, &r) == 0 && r.status == 200);
    cli_close(&c, false);
    cli_close(&a, false);
    /* a slot frees up once the server has seen a close */
    for (int i = 0; i < 100 && !ok; i++) {
        CHECK(t, cli_open(&d, t->port) == 0);
        cli_sends(&d, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
        ok = cli_read_resp(&d, &r) == 0 && r.status == 200;
        cli_close(&d, false);
        if (!ok)
            sleep_ms(20);
    }
    CHECK(t, ok);
    cli_close(&b, false);
}

static void test_conn_limit(void **state)
{
    struct tctx *t = tctx_new(cl_conn_limit, H_GATE); /* a and b stay with the handler */
    t->lim.max_connections = 2;
    run(t);
    free(t);
}

static void cl_disconnect(struct tctx *t)
{
    struct cli c;

    for (int i = 0; i < 2; i++) {
        CHECK(t, cli_open(&c, t->port) == 0);
        cli_sends(&c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        CHECK(t, wait_for(&t->got_req, i + 1));
        cli_close(&c, i == 0); /* first a reset, then an orderly close */
    }
    sleep_ms(100);
}

static void test_disconnect(void **state)
{
    struct tctx *t = tctx_new(cl_disconnect, H_HOLD);
    run(t);
    assert_int_equal(t->detached_seen, 2);
    free(t);
}

static void cl_shutdown(struct tctx *t)
{
    struct cli idle, busy, late;
    struct resp r;

    CHECK(t, cli_open(&idle, t->port) == 0);
    cli_sends(&idle, "GET /i HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&idle, &r) == 0 && r.status == 200);
    CHECK(t, cli_open(&busy, t->port) == 0);
    cli_sends(&busy, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, wait_for(&t->got_req, 2));
    request_shutdown(t);
    CHECK(t, cli_sees_close(&idle));         /* idle connection closed at once */
    CHECK(t, cli_read_resp(&busy, &r) == 0); /* busy one gets its answer, then close */
    CHECK(t, r.status == 200 && strcmp(r.connection, "close") == 0);
    CHECK(t, cli_sees_close(&busy));
    CHECK(t, cli_open(&late, t->port) != 0); /* no longer listening */
    cli_close(&idle, false);
    cli_close(&busy, false);
}

static void test_shutdown(void **state)
{
    struct tctx *t = tctx_new(cl_shutdown, H_ASYNC);
    t->delay_ms = 300;
    run(t);
    free(t);
}

/* Refuses /deny before the body; checks that the head is complete, the body absent and
 * announced in has_body. */
static int deny_head(const struct gw_http_req *req, void *ud, const char **code, const char **msg)
{
    struct tctx *t = ud;

    t->head_checks++;
    if (req->body != NULL || !req->method || !gw_http_req_header(req, "host"))
        t->head_bad++;
    /* every POST of this test announces a body, no GET does */
    if (req->has_body != (strcmp(req->method, "POST") == 0))
        t->head_bad++;
    if (strcmp(req->path, "/ok") == 0 && (!req->query || strcmp(req->query, "q=1") != 0))
        t->head_bad++;
    if (strcmp(req->path, "/deny") == 0) {
        *code = "unauthorized";
        *msg = "missing or invalid bearer token";
        return 401;
    }
    if (strcmp(req->path, "/odd") == 0)
        return 99; /* not an error status: becomes 500 with default code and message */
    return 0;
}

static void cl_head_check(struct tctx *t)
{
    static const char expect[] = "POST /deny HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                 "Content-Length: 1000000\r\n\r\n";
    static const char big[] = "POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                              "first bytes of a body that is never read";
    static const char get[] = "GET /deny HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char odd[] = "GET /odd HTTP/1.1\r\nHost: x\r\n\r\n";
    struct cli c;
    struct resp r;

    /* Expect: 100-continue gets the 401 and no 100 Continue */
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, expect);
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 401 && !r.saw_100);
    CHECK(t, strstr(r.body, "\"code\":\"unauthorized\"") != NULL);
    CHECK(t, strstr(r.head, "\r\nWWW-Authenticate: Bearer\r\n") != NULL);
    CHECK(t, strcmp(r.connection, "close") == 0);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);

    expect_error(t, big, sizeof(big) - 1, 401, "unauthorized");
    expect_error(t, get, sizeof(get) - 1, 401, "unauthorized");
    expect_error(t, odd, sizeof(odd) - 1, 500, "rejected");

    /* accepted requests are unaffected, also keep-alive and pipelined */
    CHECK(t, cli_open(&c, t->port) == 0);
    cli_sends(&c, "POST /ok?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                  "GET /ok?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "POST /ok q=1 5:hello") == 0);
    CHECK(t, cli_read_resp(&c, &r) == 0 && strcmp(r.body, "GET /ok q=1 0:") == 0);
    CHECK(t, strcmp(r.connection, "keep-alive") == 0);
    cli_close(&c, false);
}

static void test_head_check(void **state)
{
    struct tctx *t = tctx_new(cl_head_check, H_SYNC);
    t->head_check = deny_head;
    run(t);
    assert_int_equal(t->head_checks, 6);
    assert_int_equal(t->head_bad, 0);
    assert_int_equal(atomic_load(&t->got_req), 2);
    free(t);
}

/* Sends req on a fresh connection and expects 503 server_busy with Retry-After, then close. */
static void expect_busy(struct tctx *t, const char *req, size_t len)
{
    struct cli c;
    struct resp r;

    CHECK(t, cli_open(&c, t->port) == 0);
    cli_send(&c, req, len);
    CHECK(t, cli_read_resp(&c, &r) == 0);
    CHECK(t, r.status == 503 && !r.saw_100);
    CHECK(t, strstr(r.body, "\"code\":\"server_busy\"") != NULL);
    CHECK(t, strstr(r.head, "\r\nRetry-After: 5\r\n") != NULL);
    CHECK(t, strcmp(r.connection, "close") == 0);
    CHECK(t, cli_sees_close(&c));
    cli_close(&c, false);
}

/* Budget 10000 bytes of body buffers (capacity incl. NUL) over all connections. */
static void cl_body_budget(struct tctx *t)
{
    static const char over[] = "POST /o HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               "Content-Length: 20000\r\n\r\n";
    static const char chunked[] = "POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
    char req[4096], fill[9000];
    struct cli a, c;
    struct resp r;
    size_t n;

    memset(fill, 'y', sizeof(fill));
    expect_busy(t, over, sizeof(over) - 1); /* announced length over the whole budget */

    /* A announces 9000 but has sent 100: only a first small buffer is held for it */
    CHECK(t, cli_open(&a, t->port) == 0);
    cli_sends(&a, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n");
    cli_send(&a, fill, 100);
    sleep_ms(50);
    CHECK(t, cli_open(&c, t->port) == 0);
    n = (size_t)snprintf(req, sizeof(req),
                         "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n");
    cli_send(&c, req, n);
    cli_send(&c, fill, 3000);
    CHECK(t, cli_read_resp(&c, &r) == 0 && r.status == 200);
    CHECK(t, strncmp(r.body, "POST /b - 3000:yyy", 18) == 0);
    cli_close(&c, false);

    /* A completes and is held by the handler: 9001 of 10000 in use */
    cli_send(&a, fill, 8900);
    CHECK(t, wait_for(&t->got_req, 2));
    n = (size_t)snprintf(req, sizeof(req),
                         "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    memset(req + n, 'z', 1000);
    expect_busy(t, req, n + 1000);
    expect_busy(t, chunked, sizeof(chunked) - 1); /* growth of a chunked body */
    CHECK(t, cli_read_resp(&a, &r) == 0 && r.status == 200);
    CHECK(t, strncmp(r.body, "POST /a - 9000:yyy", 18) == 0);

    /* A's request is freed: the budget is available again */
    cli_sends(&a, chunked);
    CHECK(t, cli_read_resp(&a, &r) == 0 && strcmp(r.body, "POST /d - 16:0123456789abcdef") == 0);
    cli_close(&a, false);
}

static void test_body_budget(void **state)
{
    struct tctx *t = tctx_new(cl_body_budget, H_ASYNC);
    t->lim.max_inflight_body_bytes = 10000;
    t->delay_ms = 300;
    run(t);
    assert_int_equal(atomic_load(&t->got_req), 3);
    free(t);
}

static void cl_close_all(struct tctx *t)
{
    struct cli idle, busy;
    struct resp r;

    CHECK(t, cli_open(&idle, t->port) == 0);
    cli_sends(&idle, "GET /i HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(t, cli_read_resp(&idle, &r) == 0 && r.status == 200);
    CHECK(t, cli_open(&busy, t->port) == 0);
    cli_sends(&busy, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(t, wait_for(&t->got_req, 2));
    request_shutdown(t); /* shutdown, then close_all at once */
    CHECK(t, cli_sees_close(&idle));
    CHECK(t, cli_sees_close(&busy)); /* closed without waiting for the handler's answer */
    cli_close(&idle, false);
    cli_close(&busy, false);
}

static void test_close_all(void **state)
{
    struct tctx *t = tctx_new(cl_close_all, H_ASYNC);
    t->delay_ms = 500;
    t->force_close = true;
    run(t); /* drained once, nothing in flight, uv_loop_close() == 0 */
    assert_int_equal(t->held_answered, 2);
    assert_int_equal(t->held_at_drain, 2); /* drained only after the late answer */
    assert_int_equal(t->detached_seen, 1);
    free(t);
}

static void test_parse_for_test(void **state)
{
    static const char two[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char bad[] = "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n";
    static const char part[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc";
    struct gw_http_limits l;

    gw_http_limits_default(&l);
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)two, sizeof(two) - 1, &l), 2);
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)bad, sizeof(bad) - 1, &l), GW_EPARSE);
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)part, sizeof(part) - 1, &l), 0);
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)"", 0, NULL), 0);
    l.max_header_bytes = 20;
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)two, sizeof(two) - 1, &l), GW_E2BIG);
    l.max_header_bytes = 0;
    assert_int_equal(gw_http_parse_for_test((const uint8_t *)two, sizeof(two) - 1, &l), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive),         cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_chunked),           cmocka_unit_test(test_async),
        cmocka_unit_test(test_headers_too_large), cmocka_unit_test(test_payload_too_large),
        cmocka_unit_test(test_slow_client),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_conn_limit),        cmocka_unit_test(test_disconnect),
        cmocka_unit_test(test_shutdown),          cmocka_unit_test(test_head_check),
        cmocka_unit_test(test_body_budget),       cmocka_unit_test(test_close_all),
        cmocka_unit_test(test_parse_for_test),
    };
    gw_log_set_level(GW_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
