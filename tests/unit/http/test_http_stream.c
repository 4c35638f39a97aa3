/*
 * Unit tests for the HTTP server's streamed bodies: uploads by Content-Length and chunked with a
 * handler that takes each chunk later (backpressure), the size limit, the body timeout, a client
 * that vanishes mid-upload, an answer before the end of the body, and a streamed download pulled
 * piece by piece. The server runs in a uv loop on the main thread, clients are blocking sockets
 * in a helper thread; checks made there are collected and asserted on the main thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/http_server.h"
#include "util/error.h"

#include <arpa/inet.h>
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

struct tctx;

/* One streamed request in the handler. */
struct up {
    uv_timer_t timer;
    struct gw_http_req *req;
    struct tctx *t;
    uint64_t len, sum;
    bool refuse;
    bool held;                /* a chunk was delivered and not yet taken */
    uint64_t dl_left, dl_pos; /* download */
};

struct tctx {
    uv_loop_t loop;
    uv_async_t async;
    struct gw_http_server *srv;
    struct gw_http_limits lim;
    int port;
    void (*client)(struct tctx *t);
    pthread_t th;
    atomic_int done;
    int drained;
    int ends[8]; /* end callbacks by outcome: [0] ok, [1] E2BIG, [2] ETIMEDOUT, [3] EIO, [4] other
                  */
    int overlap; /* a data callback while the previous chunk was held */
    size_t max_chunk;
    int dl_done_ok, dl_done_err;
    int failures;
    char fail_msg[16][200];
};

#define CHECK(t, cond)                                                                             \
    do {                                                                                           \
        if (!(cond) && (t)->failures < 16)                                                         \
            snprintf((t)->fail_msg[(t)->failures++], 200, "line %d: %s", __LINE__, #cond);         \
    } while (0)

/* ---- server side ---- */

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 131u + (i >> 9)) & 0xff);
}

static void up_closed(uv_handle_t *h)
{
    free(h->data);
}

static void up_free(struct up *u)
{
    uv_close((uv_handle_t *)&u->timer, up_closed);
}

static void up_resume(uv_timer_t *tm)
{
    struct up *u = tm->data;
    u->held = false;
    gw_http_body_resume(u->req);
}

static void on_data(struct gw_http_req *req, const uint8_t *b, size_t n, void *ud)
{
    struct up *u = ud;

    if (n > u->t->max_chunk)
        u->t->max_chunk = n;
    if (u->held)
        u->t->overlap++;
    u->held = true;
    for (size_t i = 0; i < n; i++)
        u->sum = u->sum * 31 + b[i];
    u->len += n;
    if (u->refuse && u->len > 0) {
        gw_http_respond_error(req, 403, "refused", "no");
        up_free(u);
        return;
    }
    /* take the chunk later: the server must not parse or deliver more meanwhile */
    uv_timer_start(&u->timer, up_resume, 1, 0);
}

static void on_end(struct gw_http_req *req, int err, void *ud)
{
    struct up *u = ud;
    char body[128];
    int n;

    u->t->ends[err == 0              ? 0
               : err == GW_E2BIG     ? 1
               : err == GW_ETIMEDOUT ? 2
               : err == GW_EIO       ? 3
                                     : 4]++;
    uv_timer_stop(&u->timer);
    n = snprintf(body, sizeof(body), "len=%llu sum=%llu", (unsigned long long)u->len,
                 (unsigned long long)u->sum);
    gw_http_respond(req, err == 0 ? 200 : 500, "text/plain", body, (size_t)n);
    up_free(u);
}

static const struct gw_http_body_ops up_ops = {on_data, on_end};

static void dl_pull_later(uv_timer_t *tm)
{
    struct up *u = tm->data;
    uint8_t buf[50000];
    size_t n = u->dl_left < sizeof(buf) ? (size_t)u->dl_left : sizeof(buf);

    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(u->dl_pos + i);
    if (gw_http_stream_write(u->req, buf, n) != 0) {
        gw_http_stream_abort(u->req);
        up_free(u);
        return;
    }
    u->dl_pos += n;
    u->dl_left -= n;
}

static void dl_pull(struct gw_http_req *req, void *ud)
{
    struct up *u = ud;
    (void)req;
    uv_timer_start(&u->timer, dl_pull_later, 0, 0); /* as if fetched from the database */
}

static void dl_done(struct gw_http_req *req, int err, void *ud)
{
    struct up *u = ud;
    (void)req;
    if (err == 0)
        u->t->dl_done_ok++;
    else
        u->t->dl_done_err++;
    uv_timer_stop(&u->timer);
    up_free(u);
}

static const struct gw_http_stream_ops dl_ops = {dl_pull, dl_done};

static bool stream_check(const struct gw_http_req *req, void *ud)
{
    (void)ud;
    return strncmp(req->path, "/up", 3) == 0;
}

static void handler(struct gw_http_req *req, void *ud)
{
    struct tctx *t = ud;
    struct up *u;

    if (strncmp(req->path, "/up", 3) != 0 && strncmp(req->path, "/down", 5) != 0) {
        gw_http_respond(req, 200, "text/plain", "plain", 5);
        return;
    }
    u = calloc(1, sizeof(*u));
    u->t = t;
    u->req = req;
    uv_timer_init(&t->loop, &u->timer);
    u->timer.data = u;
    if (req->path[1] == 'd') {
        u->dl_left = strtoull(req->query ? req->query : "0", NULL, 10);
        if (gw_http_respond_stream(req, 200, "application/octet-stream", u->dl_left, &dl_ops, u) !=
            0) {
            gw_http_respond_error(req, 500, "x", "y");
            up_free(u);
        }
        return;
    }
    CHECK(t, req->streaming && req->body == NULL);
    if (strcmp(req->path, "/up/busy") == 0) { /* answered before the body is read */
        gw_http_respond_error(req, 503, "busy", "later");
        up_free(u);
        return;
    }
    u->refuse = strcmp(req->path, "/up/refuse") == 0;
    gw_http_body_start(req, &up_ops, u);
}

static void on_drained(void *ud)
{
    ((struct tctx *)ud)->drained++;
}

static void on_async(uv_async_t *a)
{
    struct tctx *t = a->data;
    gw_http_server_shutdown(t->srv, on_drained, t);
    uv_close((uv_handle_t *)&t->async, NULL);
}

static void *client_main(void *arg)
{
    struct tctx *t = arg;
    t->client(t);
    atomic_store(&t->done, 1);
    uv_async_send(&t->async);
    return NULL;
}

static void run(struct tctx *t, void (*client)(struct tctx *))
{
    t->client = client;
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(uv_async_init(&t->loop, &t->async, on_async), 0);
    t->async.data = t;
    assert_int_equal(gw_http_server_start(&t->loop, "127.0.0.1", 0, &t->lim, handler, t, &t->srv),
                     0);
    gw_http_server_set_stream_check(t->srv, stream_check);
    t->port = gw_http_server_port(t->srv);
    pthread_create(&t->th, NULL, client_main, t);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    pthread_join(t->th, NULL);
    assert_int_equal(t->drained, 1);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    for (int i = 0; i < t->failures && i < 16; i++)
        fprintf(stderr, "client check failed: %s\n", t->fail_msg[i]);
    assert_int_equal(t->failures, 0);
    assert_int_equal(t->overlap, 0);
    assert_true(t->max_chunk <= GW_HTTP_STREAM_CHUNK);
}

static void setup_limits(struct tctx *t)
{
    memset(t, 0, sizeof(*t));
    gw_http_limits_default(&t->lim);
    t->lim.max_body_bytes = 8 * 1024 * 1024;
}

/* ---- client side ---- */

static int cli_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {10, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads one response: status, Connection header, body into out (Content-Length). */
struct resp {
    int status;
    bool close;
    uint64_t clen;
    uint8_t *body;
};

static bool read_resp(int fd, struct resp *r)
{
    char head[8192];
    size_t hl = 0;
    char *end = NULL, *cl;

    memset(r, 0, sizeof(*r));
    while (!end) {
        ssize_t n = recv(fd, head + hl, 1, 0); /* byte by byte: the body stays in the socket */
        if (n <= 0 || hl + 1 >= sizeof(head))
            return false;
        hl++;
        head[hl] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    r->status = atoi(head + 9);
    r->close = strcasestr(head, "Connection: close") != NULL;
    cl = strcasestr(head, "Content-Length:");
    r->clen = cl ? strtoull(cl + 15, NULL, 10) : 0;
    r->body = malloc(r->clen + 1);
    for (uint64_t got = 0; got < r->clen;) {
        ssize_t n = recv(fd, r->body + got, (size_t)(r->clen - got), 0);
        if (n <= 0)
            return false;
        got += (uint64_t)n;
    }
    r->body[r->clen] = 0;
    return true;
}

static uint64_t expect_sum(uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s = s * 31 + pattern(i);
    return s;
}

static void cl_content_length(struct tctx *t)
{
    uint64_t n = 1000 * 1000 + 7;
    uint8_t *b = malloc(n);
    char head[256], want[128];
    struct resp r;
    int fd = cli_open(t->port);

    for (uint64_t i = 0; i < n; i++)
        b[i] = pattern(i);
    snprintf(head, sizeof(head), "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %llu\r\n\r\n",
             (unsigned long long)n);
    CHECK(t, send_all(fd, head, strlen(head)) && send_all(fd, b, n));
    /* a second request pipelined right behind the streamed body */
    CHECK(t, send_all(fd, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", 32));
    CHECK(t, read_resp(fd, &r));
    snprintf(want, sizeof(want), "len=%llu sum=%llu", (unsigned long long)n,
             (unsigned long long)expect_sum(n));
    CHECK(t, r.status == 200 && !r.close && strcmp((char *)r.body, want) == 0);
    free(r.body);
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 200 && strcmp((char *)r.body, "plain") == 0);
    free(r.body);
    close(fd);
    free(b);
}

static void test_content_length(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_content_length);
    assert_int_equal(t.ends[0], 1);
}

static void cl_chunked(struct tctx *t)
{
    uint64_t n = 300001, off = 0;
    char line[32], want[128];
    struct resp r;
    int fd = cli_open(t->port);
    const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Expect: 100-continue\r\n\r\n";
    char cont[64] = {0};

    CHECK(t, send_all(fd, head, strlen(head)));
    CHECK(t, recv(fd, cont, 25, MSG_WAITALL) == 25 && strncmp(cont, "HTTP/1.1 100", 12) == 0);
    for (unsigned k = 1; off < n; k = k * 7 % 1000 + 1) {
        uint8_t buf[100000];
        size_t m = (size_t)k * 97 % 90000 + 1;
        if (m > n - off)
            m = (size_t)(n - off);
        for (size_t i = 0; i < m; i++)
            buf[i] = pattern(off + i);
        snprintf(line, sizeof(line), "%zx\r\n", m);
        CHECK(t,
              send_all(fd, line, strlen(line)) && send_all(fd, buf, m) && send_all(fd, "\r\n", 2));
        off += m;
    }
    CHECK(t, send_all(fd, "0\r\n\r\n", 5));
    CHECK(t, read_resp(fd, &r));
    snprintf(want, sizeof(want), "len=%llu sum=%llu", (unsigned long long)n,
             (unsigned long long)expect_sum(n));
    CHECK(t, r.status == 200 && strcmp((char *)r.body, want) == 0);
    free(r.body);
    close(fd);
}

static void test_chunked(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_chunked);
    assert_int_equal(t.ends[0], 1);
}

static void cl_too_large(struct tctx *t)
{
    static uint8_t buf[65536];
    struct resp r;
    int fd = cli_open(t->port);
    const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    bool ok = send_all(fd, head, strlen(head));

    for (int i = 0; ok && i < 40; i++) /* 2.6 MB over a 1 MB limit */
        ok = send_all(fd, "10000\r\n", 7) && send_all(fd, buf, sizeof(buf)) &&
             send_all(fd, "\r\n", 2);
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 413 && r.close && strstr((char *)r.body, "payload_too_large"));
    free(r.body);
    close(fd);
}

static void test_too_large(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    t.lim.max_body_bytes = 1024 * 1024;
    run(&t, cl_too_large);
    assert_int_equal(t.ends[1], 1);
    assert_int_equal(t.ends[0], 0);
}

static void cl_timeout(struct tctx *t)
{
    struct resp r;
    int fd = cli_open(t->port);
    const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc";

    CHECK(t, send_all(fd, head, strlen(head)));
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 408 && r.close);
    free(r.body);
    close(fd);
}

static void test_timeout(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    t.lim.body_timeout_ms = 300;
    run(&t, cl_timeout);
    assert_int_equal(t.ends[2], 1);
}

static void cl_vanish(struct tctx *t)
{
    static uint8_t buf[200000];
    int fd = cli_open(t->port);
    const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n";
    struct linger l = {1, 0};

    CHECK(t, send_all(fd, head, strlen(head)) && send_all(fd, buf, sizeof(buf)));
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
    nanosleep(&ts, NULL);
}

static void test_vanish(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_vanish);
    assert_int_equal(t.ends[3], 1);
}

static void cl_refuse(struct tctx *t)
{
    static uint8_t buf[300000];
    struct resp r;
    int fd = cli_open(t->port);
    const char *head = "POST /up/refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n";

    CHECK(t, send_all(fd, head, strlen(head)) && send_all(fd, buf, sizeof(buf)));
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 403 && r.close);
    free(r.body);
    close(fd);
}

static void test_refuse(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_refuse);
    assert_int_equal(t.ends[0] + t.ends[1] + t.ends[2] + t.ends[3] + t.ends[4], 0);
}

/* Expect: 100-continue on a streamed body: the 100 comes when the handler starts reading it, and
 * a handler that answers first sends its final answer with no 100 before it. */
static void cl_expect(struct tctx *t)
{
    static uint8_t buf[1000];
    char got[32] = {0};
    struct resp r;
    int fd = cli_open(t->port);
    const char *busy = "POST /up/busy HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       "Content-Length: 1000\r\n\r\n";
    const char *up = "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Content-Length: 1000\r\n\r\n";

    CHECK(t, send_all(fd, busy, strlen(busy)));
    CHECK(t, read_resp(fd, &r)); /* the first answer: before, a 100 Continue */
    CHECK(t, r.status == 503);
    free(r.body);
    close(fd);
    fd = cli_open(t->port);
    CHECK(t, send_all(fd, up, strlen(up)));
    CHECK(t, recv(fd, got, 25, MSG_WAITALL) == 25 &&
                 strcmp(got, "HTTP/1.1 100 Continue\r\n\r\n") == 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = pattern(i);
    CHECK(t, send_all(fd, buf, sizeof(buf)));
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 200);
    free(r.body);
    close(fd);
}

static void test_expect(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_expect);
}

static void cl_download(struct tctx *t)
{
    uint64_t n = 3 * 1000 * 1000 + 11;
    char req[128];
    struct resp r;
    int fd = cli_open(t->port);
    bool same = true;

    snprintf(req, sizeof(req), "GET /down?%llu HTTP/1.1\r\nHost: x\r\n\r\n", (unsigned long long)n);
    CHECK(t, send_all(fd, req, strlen(req)));
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 200 && r.clen == n && !r.close);
    for (uint64_t i = 0; i < r.clen && same; i++)
        same = r.body[i] == pattern(i);
    CHECK(t, same);
    free(r.body);
    /* keep-alive goes on after a streamed response; HEAD gets the head only */
    CHECK(t, send_all(fd, "HEAD /down?5 HTTP/1.1\r\nHost: x\r\n\r\n", 34));
    char head[512] = {0};
    size_t hl = 0;
    while (hl < sizeof(head) - 1 && !strstr(head, "\r\n\r\n") && recv(fd, head + hl, 1, 0) == 1)
        hl++;
    CHECK(t, strncmp(head, "HTTP/1.1 200", 12) == 0 && strstr(head, "Content-Length: 5\r\n"));
    CHECK(t, send_all(fd, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", 32));
    CHECK(t, read_resp(fd, &r));
    CHECK(t, r.status == 200 && strcmp((char *)r.body, "plain") == 0);
    free(r.body);
    close(fd);
    /* a client that goes away during a download */
    fd = cli_open(t->port);
    snprintf(req, sizeof(req), "GET /down?%d HTTP/1.1\r\nHost: x\r\n\r\n", 200 * 1000 * 1000);
    CHECK(t, send_all(fd, req, strlen(req)));
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    close(fd);
    nanosleep(&ts, NULL);
}

static void test_download(void **state)
{
    struct tctx t;
    (void)state;
    setup_limits(&t);
    run(&t, cl_download);
    assert_int_equal(t.dl_done_ok, 2);
    assert_int_equal(t.dl_done_err, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length), cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_too_large),      cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_vanish),         cmocka_unit_test(test_refuse),
        cmocka_unit_test(test_download),       cmocka_unit_test(test_expect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
