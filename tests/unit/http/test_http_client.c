/*
 * Unit tests for gateway/http_client.c against a small HTTP/1.1 server on loopback that runs on
 * the same libuv loop (/echo, /big, /hang, /status500). Every test ends by closing the loop and
 * asserting that no handle is left open. Also covers taking the response body over
 * (gw_httpc_take_body), borrowed request bodies (sent without a copy), request bodies streamed
 * from a source that pauses (nothing ready) and resumes from a timer, responses streamed into a
 * sink that pauses after every piece (the callback waits for the last resume), the cap on a
 * streamed response, aborts from either side, and a close while a sink is paused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "http/http_client.h"

#define MAX_REQ (8 * 1024 * 1024)

struct srv;

struct conn {
    uv_tcp_t h;
    struct srv *s;
    struct conn *prev, *next;
    char *buf;
    size_t len;
    int responded;
    uv_write_t wr;
    char *out;
};

struct srv {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    int port;
    size_t big;
    struct conn *conns;
    int hanging;
};

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->buf);
    free(c->out);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->h))
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->h, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

/* Without Content-Length when no_length: the body then ends when the connection closes. */
static void respond_ex(struct conn *c, int code, const char *body, size_t len, int no_length)
{
    size_t cap = len + 256;
    c->out = malloc(cap);
    int n = no_length
                ? snprintf(c->out, cap, "HTTP/1.1 %d X\r\nConnection: close\r\n\r\n", code)
                : snprintf(c->out, cap,
                           "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                           code, len);
    if (len)
        memcpy(c->out + n, body, len);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)(n + (int)len));
    c->wr.data = c;
    c->responded = 1;
    assert_int_equal(uv_write(&c->wr, (uv_stream_t *)&c->h, &b, 1, on_written), 0);
}

static void respond(struct conn *c, int code, const char *body, size_t len)
{
    respond_ex(c, code, body, len, 0);
}

static const char *header_value(const char *head, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            *vlen = strcspn(v, "\r");
            return v;
        }
    }
    return NULL;
}

/* Answers once the whole request (head + Content-Length body) has arrived. */
static void handle(struct conn *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t vlen = 0, clen = 0, hl;
    const char *v;
    char method[16], path[64];

    if (!end || c->responded)
        return;
    *end = '\0';
    if ((v = header_value(c->buf, "Content-Length", &vlen)) != NULL)
        clen = strtoul(v, NULL, 10);
    hl = (size_t)(end - c->buf) + 4;
    if (c->len < hl + clen) {
        *end = '\r';
        return;
    }
    assert_int_equal(sscanf(c->buf, "%15s %63s", method, path), 2);
    if (strcmp(path, "/hang") == 0) {
        c->s->hanging++;
        c->responded = 1;
    } else if (strcmp(path, "/big") == 0 || strcmp(path, "/bigeof") == 0) {
        char *big = malloc(c->s->big);
        memset(big, 'x', c->s->big);
        respond_ex(c, 200, big, c->s->big, path[4] == 'e');
        free(big);
    } else if (strcmp(path, "/status500") == 0) {
        respond(c, 500, "oops", 4);
    } else {
        /* /echo: "METHOD <X-Test value>|<body>" */
        char *out = malloc(64 + clen);
        const char *xt = header_value(c->buf, "X-Test", &vlen);
        int n = snprintf(out, 64, "%s %.*s|", method, xt ? (int)vlen : 0, xt ? xt : "");
        memcpy(out + n, c->buf + hl, clen);
        respond(c, 200, out, (size_t)n + clen);
        free(out);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(suggested);
    b->len = suggested;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = st->data;
    if (n > 0 && c->len + (size_t)n <= MAX_REQ) {
        c->buf = realloc(c->buf, c->len + (size_t)n + 1);
        memcpy(c->buf + c->len, b->base, (size_t)n);
        c->len += (size_t)n;
        handle(c);
    } else if (n < 0 && !c->responded) {
        conn_close(c);
    }
    free(b->base);
}

static void on_conn(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    struct conn *c = calloc(1, sizeof(*c));

    assert_int_equal(status, 0);
    c->s = s;
    uv_tcp_init(s->loop, &c->h);
    c->h.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->h), 0);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
}

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    assert_int_equal(uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void srv_start(struct srv *s, uv_loop_t *loop)
{
    struct sockaddr_in a;
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    assert_int_equal(uv_tcp_bind(&s->tcp, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 128, on_conn), 0);
    s->port = bound_port(&s->tcp);
}

static void srv_stop(struct srv *s)
{
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)&s->tcp, NULL);
}

/* --- client side ------------------------------------------------------------------------- */

struct result {
    int done;
    int err;
    long status;
    char *body;
    size_t len;
};

static void on_resp(int err, long status, const char *body, size_t len, void *ud)
{
    struct result *r = ud;
    assert_non_null(body);
    assert_int_equal(body[len], '\0');
    r->done++;
    r->err = err;
    r->status = status;
    r->body = malloc(len + 1);
    memcpy(r->body, body, len + 1);
    r->len = len;
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

/* A callback run from a timer (a resumed stream's) is followed, in UV_RUN_ONCE, by a poll that
 * could block for ever: a ticking timer bounds it. */
static void run_until(uv_loop_t *loop, const int *flag, int want)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 10, 10);
    while (*flag < want)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

struct fixture {
    uv_loop_t loop;
    struct srv srv;
    struct gw_httpc *c;
    char url[128];
};

static void fx_open(struct fixture *f, const char *path)
{
    assert_int_equal(uv_loop_init(&f->loop), 0);
    srv_start(&f->srv, &f->loop);
    assert_int_equal(gw_httpc_open(&f->loop, &f->c), 0);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", f->srv.port, path);
}

static void fx_close(struct fixture *f)
{
    gw_httpc_close(f->c);
    srv_stop(&f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void do_request(struct fixture *f, struct gw_httpc_request *req, struct result *r)
{
    memset(r, 0, sizeof(*r));
    req->url = f->url;
    assert_int_equal(gw_httpc_request(f->c, req, on_resp, r), 0);
    assert_int_equal(gw_httpc_inflight(f->c), 1);
    run_until(&f->loop, &r->done, 1);
    assert_int_equal(r->done, 1);
    assert_int_equal(gw_httpc_inflight(f->c), 0);
}

static void test_get_post_roundtrip(void **state)
{
    struct fixture f;
    struct result r;
    const char *hdrs[] = {"X-Test: hello", NULL};
    static const char body[] = "a\0b\r\nc";

    (void)state;
    fx_open(&f, "/echo");
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .headers = hdrs}, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "GET hello|");
    free(r.body);

    do_request(&f, &(struct gw_httpc_request){.method = "POST", .body = body, .body_len = 6}, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 6 + 6);
    assert_memory_equal(r.body, "POST |a\0b\r\nc", 12);
    free(r.body);

    do_request(&f, &(struct gw_httpc_request){.method = "POST"}, &r);
    assert_string_equal(r.body, "POST |");
    free(r.body);

    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/status500", f.srv.port);
    do_request(&f, &(struct gw_httpc_request){.method = "GET"}, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "oops");
    free(r.body);
    fx_close(&f);
}

static void test_many_concurrent(void **state)
{
    enum { N = 50 };
    struct fixture f;
    struct result r[N];
    char bodies[N][32];
    int done = 0;

    (void)state;
    fx_open(&f, "/echo");
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "request-%d", i);
        struct gw_httpc_request req = {
            .method = "POST", .url = f.url, .body = bodies[i], .body_len = strlen(bodies[i])};
        assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r[i]), 0);
    }
    assert_int_equal(gw_httpc_inflight(f.c), N);
    while (done < N) {
        uv_run(&f.loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].done;
    }
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof(want), "POST |%.31s", bodies[i]);
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].err, 0);
        assert_string_equal(r[i].body, want);
        free(r[i].body);
    }
    fx_close(&f);
}

static void test_response_cap(void **state)
{
    struct fixture f;
    struct result r;

    (void)state;
    fx_open(&f, "/big");
    f.srv.big = 200000;
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .max_response_bytes = 1000}, &r);
    assert_int_equal(r.err, GW_E2BIG);
    assert_int_equal(r.status, 0);
    free(r.body);
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .max_response_bytes = 200000}, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 200000);
    free(r.body);
    /* no Content-Length: the cap is enforced while the body streams in */
    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/bigeof", f.srv.port);
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .max_response_bytes = 1000}, &r);
    assert_int_equal(r.err, GW_E2BIG);
    free(r.body);
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .max_response_bytes = 200000}, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, 200000);
    free(r.body);
    fx_close(&f);
}

static void test_timeout(void **state)
{
    struct fixture f;
    struct result r;

    (void)state;
    fx_open(&f, "/hang");
    do_request(&f, &(struct gw_httpc_request){.method = "GET", .timeout_ms = 300}, &r);
    assert_int_equal(r.err, GW_ETIMEDOUT);
    assert_int_equal(f.srv.hanging, 1);
    free(r.body);
    fx_close(&f);
}

static void test_connection_refused(void **state)
{
    struct fixture f;
    struct result r;
    uv_tcp_t t;
    struct sockaddr_in a;

    (void)state;
    fx_open(&f, "/");
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&f.loop, &t);
    assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&a, 0), 0);
    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/", bound_port(&t));
    uv_close((uv_handle_t *)&t, NULL); /* bound, never listening: the port refuses */
    do_request(&f, &(struct gw_httpc_request){.method = "GET"}, &r);
    assert_int_equal(r.err, GW_EHTTP);
    free(r.body);
    assert_int_equal(
        gw_httpc_request(f.c, &(struct gw_httpc_request){.method = "GET"}, on_resp, &r), GW_EINVAL);
    fx_close(&f);
}

struct cancel_ctx {
    struct gw_httpc *c;
    struct result r[5];
};

static void on_close_timer(uv_timer_t *t)
{
    struct cancel_ctx *cc = t->data;
    assert_int_equal(gw_httpc_inflight(cc->c), 5);
    gw_httpc_close(cc->c);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cc->r[i].done, 1);
        assert_int_equal(cc->r[i].err, GW_ECANCELED);
    }
    uv_close((uv_handle_t *)t, NULL);
}

static void test_close_in_flight(void **state)
{
    struct fixture f;
    struct cancel_ctx cc;
    uv_timer_t t;

    (void)state;
    fx_open(&f, "/hang");
    memset(&cc, 0, sizeof(cc));
    cc.c = f.c;
    for (int i = 0; i < 5; i++) {
        struct gw_httpc_request req = {.method = "GET", .url = f.url};
        assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &cc.r[i]), 0);
    }
    uv_timer_init(&f.loop, &t);
    t.data = &cc;
    uv_timer_start(&t, on_close_timer, 200, 0);
    while (cc.r[0].done == 0)
        uv_run(&f.loop, UV_RUN_ONCE);
    assert_int_equal(f.srv.hanging, 5); /* all five reached the server before the close */
    for (int i = 0; i < 5; i++)
        free(cc.r[i].body);
    srv_stop(&f.srv);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

struct taken {
    int done, err;
    struct gw_httpc *c;
    const char *cb_body;
    char *body;
    size_t len;
    char *again;
};

static void on_take(int err, long status, const char *body, size_t len, void *ud)
{
    struct taken *t = ud;
    (void)status;
    t->done++;
    t->err = err;
    t->cb_body = body;
    t->len = len;
    t->body = gw_httpc_take_body(t->c);
    t->again = gw_httpc_take_body(t->c); /* only once */
}

static void test_take_body(void **state)
{
    struct fixture f;
    struct taken t;

    (void)state;
    fx_open(&f, "/big");
    f.srv.big = 300000;
    assert_null(gw_httpc_take_body(f.c)); /* not inside a callback */
    assert_null(gw_httpc_take_body(NULL));
    memset(&t, 0, sizeof(t));
    t.c = f.c;
    assert_int_equal(gw_httpc_request(f.c,
                                      &(struct gw_httpc_request){.method = "GET", .url = f.url},
                                      on_take, &t),
                     0);
    run_until(&f.loop, &t.done, 1);
    assert_int_equal(t.err, 0);
    assert_int_equal(t.len, 300000);
    assert_non_null(t.body);
    assert_ptr_equal(t.body, t.cb_body); /* handed over, not copied */
    assert_null(t.again);
    assert_int_equal(t.body[t.len], '\0');
    for (size_t i = 0; i < t.len; i++)
        if (t.body[i] != 'x')
            fail_msg("byte %zu differs", i);
    free(t.body); /* still valid after the callback: ours now */
    assert_null(gw_httpc_take_body(f.c));

    /* a failed transfer has no body to take */
    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/hang", f.srv.port);
    memset(&t, 0, sizeof(t));
    t.c = f.c;
    assert_int_equal(
        gw_httpc_request(
            f.c, &(struct gw_httpc_request){.method = "GET", .url = f.url, .timeout_ms = 200},
            on_take, &t),
        0);
    run_until(&f.loop, &t.done, 1);
    assert_int_equal(t.err, GW_ETIMEDOUT);
    assert_null(t.body);
    assert_null(t.again);
    fx_close(&f);
}

static void test_borrow_body(void **state)
{
    enum { LEN = 300000 };
    struct fixture f;
    struct result r;
    char *buf = malloc(LEN);

    (void)state;
    fx_open(&f, "/echo");
    for (size_t i = 0; i < LEN; i++)
        buf[i] = (char)('a' + i % 26);
    memset(&r, 0, sizeof(r));
    struct gw_httpc_request req = {
        .method = "POST", .url = f.url, .body = buf, .body_len = LEN, .borrow_body = true};
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), 0);
    /* Nothing is sent before the loop runs: a change made now travels only if curl reads the
     * caller's buffer rather than a copy. */
    memcpy(buf, "BORROWED", 8);
    memcpy(buf + LEN - 4, "TAIL", 4);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 6 + LEN);
    assert_memory_equal(r.body, "POST |", 6);
    assert_memory_equal(r.body + 6, buf, LEN);
    free(r.body);
    free(buf);

    /* the copying default is unaffected by later changes to the caller's buffer */
    char small[] = "copied";
    memset(&r, 0, sizeof(r));
    req = (struct gw_httpc_request){.method = "POST", .url = f.url, .body = small, .body_len = 6};
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), 0);
    memcpy(small, "CHANGE", 6);
    run_until(&f.loop, &r.done, 1);
    assert_string_equal(r.body, "POST |copied");
    free(r.body);

    /* borrowed empty body */
    do_request(&f, &(struct gw_httpc_request){.method = "POST", .borrow_body = true}, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.body, "POST |");
    free(r.body);
    fx_close(&f);
}

/* --- streaming ----------------------------------------------------------------------------- */

struct stream {
    struct gw_httpc_xfer *x;
    const char *data;
    size_t len, off;
    size_t slice; /* most bytes one read gives */
    int starve;   /* answer "nothing ready" every other read, resume from a timer */
    int hungry;   /* paused, waiting for the timer */
    int reads, pauses, resumes;
    int fail_at; /* abort (GW_EIO) once off reaches this (0: never) */
    uv_timer_t t;
    /* sink */
    char *got;
    size_t got_len;
    int writes, sink_pause, sink_paused;
    int hold; /* the pause is never resumed by the timer */
    long status;
    int sink_fail;
};

static void stream_timer(uv_timer_t *t)
{
    struct stream *st = t->data;
    st->resumes++;
    if (st->hungry) {
        st->hungry = 0;
        gw_httpc_resume_source(st->x);
    }
    if (st->sink_paused) {
        st->sink_paused = 0;
        gw_httpc_resume_sink(st->x);
    }
}

static int64_t stream_read(void *ud, char *buf, size_t cap)
{
    struct stream *st = ud;
    size_t n;

    st->reads++;
    assert_int_equal(st->hungry, 0); /* never asked while paused */
    if (st->fail_at && st->off >= (size_t)st->fail_at)
        return GW_EIO;
    if (st->starve && st->reads % 2 == 1) {
        st->hungry = 1;
        st->pauses++;
        uv_timer_start(&st->t, stream_timer, 1, 0);
        return 0;
    }
    n = st->len - st->off < cap ? st->len - st->off : cap;
    if (st->slice && n > st->slice)
        n = st->slice;
    memcpy(buf, st->data + st->off, n);
    st->off += n;
    return (int64_t)n;
}

static int stream_rewind(void *ud)
{
    ((struct stream *)ud)->off = 0;
    return 0;
}

static int stream_write(void *ud, long status, const char *data, size_t n)
{
    struct stream *st = ud;

    assert_int_equal(st->sink_paused, 0); /* nothing while paused */
    st->status = status;
    st->writes++;
    st->got = realloc(st->got, st->got_len + n);
    memcpy(st->got + st->got_len, data, n);
    st->got_len += n;
    if (st->sink_fail && st->writes >= st->sink_fail)
        return GW_EIO;
    if (!st->sink_pause)
        return 0;
    st->sink_paused = 1;
    if (!st->hold)
        uv_timer_start(&st->t, stream_timer, 1, 0);
    return GW_HTTPC_PAUSE;
}

static void stream_init(struct stream *st, struct fixture *f, const char *data, size_t len)
{
    memset(st, 0, sizeof(*st));
    st->data = data;
    st->len = len;
    uv_timer_init(&f->loop, &st->t);
    st->t.data = st;
}

static void stream_closed(uv_handle_t *h)
{
    *(int *)h->data = 1;
}

static void stream_fini(struct stream *st)
{
    int closed = 0;
    free(st->got);
    st->t.data = &closed;
    uv_close((uv_handle_t *)&st->t, stream_closed);
    while (!closed)
        uv_run(st->t.loop, UV_RUN_ONCE);
}

static void stream_start(struct fixture *f, struct stream *st, struct result *r, int src, int snk)
{
    struct gw_httpc_source source = {.read = stream_read, .rewind = stream_rewind, .ud = st};
    struct gw_httpc_sink sink = {.write = stream_write, .ud = st};
    struct gw_httpc_request req = {
        .method = src ? "POST" : "GET",
        .url = f->url,
        .body_len = src ? st->len : 0,
        .source = src ? &source : NULL,
        .sink = snk ? &sink : NULL,
        .max_response_bytes = 32u * 1024 * 1024,
        .xfer = &st->x,
    };
    memset(r, 0, sizeof(*r));
    assert_int_equal(gw_httpc_request(f->c, &req, on_resp, r), 0);
    assert_non_null(st->x);
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('A' + (i * 131 + i / 7) % 57);
    return p;
}

/* Uploads from a source that gives small slices and is starved every other read. */
static void test_stream_upload(void **state)
{
    enum { LEN = 3 * 1024 * 1024 + 17 };
    struct fixture f;
    struct stream st;
    struct result r;
    char *data = pattern(LEN);

    (void)state;
    fx_open(&f, "/echo");
    for (int mode = 0; mode < 3; mode++) {
        stream_init(&st, &f, data, LEN);
        st.starve = mode >= 1;
        st.slice = mode == 2 ? 1000 : 0;
        stream_start(&f, &st, &r, 1, 0);
        run_until(&f.loop, &r.done, 1);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.len, 6 + LEN); /* Content-Length was the announced length */
        assert_memory_equal(r.body, "POST |", 6);
        assert_memory_equal(r.body + 6, data, LEN);
        if (mode >= 1)
            assert_true(st.pauses > 10 && st.resumes == st.pauses);
        free(r.body);
        stream_fini(&st);
    }
    /* the source aborts part-way: the transfer fails with its code */
    stream_init(&st, &f, data, LEN);
    st.fail_at = 100000;
    stream_start(&f, &st, &r, 1, 0);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, GW_EIO);
    free(r.body);
    stream_fini(&st);
    /* bad combinations */
    struct gw_httpc_source source = {.read = stream_read, .ud = &st};
    struct gw_httpc_request req = {
        .method = "POST", .url = f.url, .body = data, .body_len = 5, .source = &source};
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), GW_EINVAL);
    req = (struct gw_httpc_request){.method = "GET", .url = f.url, .source = &source};
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), GW_EINVAL);
    fx_close(&f);
    free(data);
}

/* Downloads into a sink that pauses after every piece; the callback comes after the last resume. */
static void test_stream_download(void **state)
{
    struct fixture f;
    struct stream st;
    struct result r;

    (void)state;
    fx_open(&f, "/big");
    f.srv.big = 2 * 1024 * 1024 + 5;
    for (int pause = 0; pause < 2; pause++) {
        stream_init(&st, &f, NULL, 0);
        st.sink_pause = pause;
        stream_start(&f, &st, &r, 0, 1);
        run_until(&f.loop, &r.done, 1);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.len, 0); /* the body went to the sink */
        assert_int_equal(st.status, 200);
        assert_int_equal(st.got_len, f.srv.big);
        for (size_t i = 0; i < st.got_len; i++)
            if (st.got[i] != 'x')
                fail_msg("byte %zu differs", i);
        assert_int_equal(st.sink_paused, 0);
        if (pause)
            assert_int_equal(st.resumes, st.writes);
        free(r.body);
        stream_fini(&st);
    }
    /* the cap holds for a streamed body too */
    stream_init(&st, &f, NULL, 0);
    struct gw_httpc_sink sink = {.write = stream_write, .ud = &st};
    struct gw_httpc_request req = {
        .method = "GET", .url = f.url, .sink = &sink, .max_response_bytes = 100000};
    memset(&r, 0, sizeof(r));
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), 0);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, GW_E2BIG);
    free(r.body);
    stream_fini(&st);
    /* without Content-Length the cap is counted as the pieces arrive */
    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/bigeof", f.srv.port);
    stream_init(&st, &f, NULL, 0);
    sink.ud = &st;
    memset(&r, 0, sizeof(r));
    assert_int_equal(gw_httpc_request(f.c, &req, on_resp, &r), 0);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, GW_E2BIG);
    assert_true(st.got_len <= 100000);
    free(r.body);
    stream_fini(&st);
    /* the sink aborts */
    stream_init(&st, &f, NULL, 0);
    st.sink_fail = 2;
    stream_start(&f, &st, &r, 0, 1);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, GW_EIO);
    assert_int_equal(st.writes, 2);
    free(r.body);
    stream_fini(&st);
    fx_close(&f);
}

/* Both directions at once through /echo: a starved source and a pausing sink. */
static void test_stream_both(void **state)
{
    enum { LEN = 1024 * 1024 };
    struct fixture f;
    struct stream st;
    struct result r;
    char *data = pattern(LEN);

    (void)state;
    fx_open(&f, "/echo");
    stream_init(&st, &f, data, LEN);
    st.starve = 1;
    st.sink_pause = 1;
    stream_start(&f, &st, &r, 1, 1);
    run_until(&f.loop, &r.done, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(st.got_len, 6 + LEN);
    assert_memory_equal(st.got + 6, data, LEN);
    free(r.body);
    stream_fini(&st);
    fx_close(&f);
    free(data);
}

/* A transfer finished while its sink is paused waits; close cancels it at once. */
static void test_stream_close_paused(void **state)
{
    struct fixture f;
    struct stream st;
    struct result r;

    (void)state;
    fx_open(&f, "/echo");
    stream_init(&st, &f, NULL, 0);
    st.sink_pause = 1;
    st.hold = 1; /* never resumed */
    stream_start(&f, &st, &r, 0, 1);
    while (st.writes == 0)
        uv_run(&f.loop, UV_RUN_ONCE);
    for (int i = 0; i < 20 && r.done == 0; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(r.done, 0); /* the answer is in, but the sink is paused */
    assert_int_equal(gw_httpc_inflight(f.c), 1);
    gw_httpc_close(f.c);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.err, GW_ECANCELED);
    free(r.body);
    stream_fini(&st);
    srv_stop(&f.srv);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_post_roundtrip), cmocka_unit_test(test_many_concurrent),
        cmocka_unit_test(test_response_cap),       cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connection_refused), cmocka_unit_test(test_close_in_flight),
        cmocka_unit_test(test_take_body),          cmocka_unit_test(test_borrow_body),
        cmocka_unit_test(test_stream_upload),      cmocka_unit_test(test_stream_download),
        cmocka_unit_test(test_stream_both),        cmocka_unit_test(test_stream_close_paused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
