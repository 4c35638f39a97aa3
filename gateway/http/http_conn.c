/*
 * One client connection of the HTTP server: reads into a bounded buffer, feeds the shared request
 * parser, hands one request at a time to the handler, writes the response, and enforces the
 * header/body/idle timeouts with one timer driven by the connection state. Closing is always
 * uv_close + close callback; a connection whose request is still with the handler stays allocated
 * (request marked detached) until gw_http_respond() is called. With TLS (c->tls) reads and writes
 * pass through http_conn_tls.c; a connection without it takes the plain path unchanged.
 */
#include "http/http_server_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

struct gw_http_write {
    uv_write_t wr;
    struct gw_http_conn *conn;
    char *buf; /* malloc'd response; NULL for the static 100 Continue */
    size_t len;
    enum gw_http_wkind kind;
};

static const char gw_http_continue[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void gw_http_conn_on_timer(uv_timer_t *t);

static uint64_t gw_http_state_timeout(const struct gw_http_conn *c, enum gw_http_cstate st)
{
    const struct gw_http_limits *l = &c->srv->limits;

    switch (st) {
    case GW_HTTP_C_IDLE:
        return l->idle_timeout_ms;
    case GW_HTTP_C_HEAD:
        return l->header_timeout_ms;
    case GW_HTTP_C_BODY:
    case GW_HTTP_C_STREAM:
    case GW_HTTP_C_WRITING: /* a client that does not read its response is slow too */
        return l->body_timeout_ms;
    case GW_HTTP_C_LINGER:
        return GW_HTTP_LINGER_MS;
    default:
        return 0;
    }
}

/* The one place where the state changes (except closing); re-arms the state's timer. */
void gw_http_conn_set_state(struct gw_http_conn *c, enum gw_http_cstate st)
{
    uint64_t ms;

    if (c->state == GW_HTTP_C_CLOSING)
        return;
    c->state = st;
    ms = gw_http_state_timeout(c, st);
    if (ms)
        uv_timer_start(&c->timer, gw_http_conn_on_timer, ms, 0);
    else
        uv_timer_stop(&c->timer);
    gw_http_admit_track(c);
}

void gw_http_conn_free(struct gw_http_conn *c)
{
    struct gw_http_server *srv = c->srv;

    gw_http_pctx_free(&c->pc);
    gw_http_tls_free(c->tls);
    gw_http_server_conn_gone(srv, c); /* may free srv */
    free(c);
}

static void gw_http_conn_on_close(uv_handle_t *h)
{
    struct gw_http_conn *c = h->data;

    if (--c->handles_open > 0)
        return;
    if (!c->inflight)
        gw_http_conn_free(c);
}

void gw_http_conn_close(struct gw_http_conn *c)
{
    if (c->state == GW_HTTP_C_CLOSING)
        return;
    c->state = GW_HTTP_C_CLOSING;
    gw_http_admit_release(c); /* the socket closes now: its slot is free for a new one */
    if (c->inflight)
        c->inflight->detached = true;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->tcp, gw_http_conn_on_close);
    uv_close((uv_handle_t *)&c->timer, gw_http_conn_on_close);
    if (c->ins.active) /* the client went away (or close_all) during an upload */
        gw_http_instream_abort(c, GW_EIO);
}

static void gw_http_conn_on_shutdown(uv_shutdown_t *req, int status)
{
    struct gw_http_conn *c = gw_container_of(req, struct gw_http_conn, shutdown_req);

    if (status < 0 && c->state != GW_HTTP_C_CLOSING)
        gw_http_conn_close(c);
}

/* Final response written: send FIN, then discard input for a moment so that the client reads the
 * response instead of a reset caused by unread request bytes. */
static void gw_http_conn_linger(struct gw_http_conn *c)
{
    gw_http_conn_set_state(c, GW_HTTP_C_LINGER);
    c->in_len = 0;
    c->in_pos = 0;
    if (c->tls)
        gw_http_conn_tls_goodbye(c);
    if (c->state == GW_HTTP_C_CLOSING)
        return;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, gw_http_conn_on_shutdown) != 0) {
        gw_http_conn_close(c);
        return;
    }
    gw_http_conn_update_reading(c);
}

void gw_http_conn_close_idle(struct gw_http_conn *c)
{
    if (c->tls)
        gw_http_conn_linger(c); /* close_notify and FIN, then close */
    else
        gw_http_conn_close(c);
}

void gw_http_conn_written(struct gw_http_conn *c)
{
    if (c->close_after || c->srv->shutting_down || c->pc.closed) {
        gw_http_conn_linger(c);
        return;
    }
    gw_http_conn_set_state(c, GW_HTTP_C_IDLE);
    gw_http_conn_process(c);
}

static void gw_http_conn_on_write(uv_write_t *wr, int status)
{
    struct gw_http_write *w = gw_container_of(wr, struct gw_http_write, wr);
    struct gw_http_conn *c = w->conn;
    enum gw_http_wkind kind = w->kind;
    size_t len = w->len;

    free(w->buf);
    free(w);
    if (kind == GW_HTTP_W_TLS) {
        c->tls_queued -= len;
        if (c->state == GW_HTTP_C_CLOSING)
            return;
        if (status < 0)
            gw_http_conn_close(c);
        else
            gw_http_conn_update_reading(c); /* reading may have waited for this */
        return;
    }
    if (kind == GW_HTTP_W_STREAM) {
        gw_http_outstream_written(c, c->state == GW_HTTP_C_CLOSING && status >= 0 ? UV_ECANCELED
                                                                                  : status);
        return;
    }
    if (c->state == GW_HTTP_C_CLOSING)
        return;
    if (status < 0) {
        gw_http_conn_close(c);
        return;
    }
    if (kind == GW_HTTP_W_RESPONSE)
        gw_http_conn_written(c);
}

int gw_http_conn_write(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind)
{
    if (c->tls)
        return gw_http_conn_tls_write(c, buf, len, kind);
    return gw_http_conn_send(c, buf, len, kind, kind != GW_HTTP_W_CONTINUE);
}

int gw_http_conn_send(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind,
                      bool owned)
{
    struct gw_http_write *w = malloc(sizeof(*w));
    uv_buf_t b;
    int rc;

    if (!w) {
        if (owned)
            free(buf);
        return GW_ENOMEM;
    }
    w->conn = c;
    w->kind = kind;
    w->len = len;
    w->buf = owned ? buf : NULL;
    b = uv_buf_init(buf, (unsigned)len);
    rc = uv_write(&w->wr, (uv_stream_t *)&c->tcp, &b, 1, gw_http_conn_on_write);
    if (rc != 0) {
        free(w->buf);
        free(w);
    }
    return rc;
}

/* Server-generated final answer (limits, malformed input, head check): JSON error, then close.
 * extra: static "Name: value\r\n" header lines, or NULL. */
void gw_http_conn_fail(struct gw_http_conn *c, int status, const char *code, const char *msg,
                       const char *extra)
{
    size_t blen = 0, rlen = 0;
    char *body, *resp = NULL;

    gw_log(status == 400 ? GW_LOG_DEBUG : GW_LOG_INFO, "http.reject", "%s: %d %s (%s)", c->peer,
           status, code, msg);
    c->close_after = true;
    body = gw_http_json_error(code, msg, &blen);
    if (!body || gw_http_format_response(status, "application/json", body, blen, false, false,
                                         extra, extra ? strlen(extra) : 0, &resp, &rlen) != 0) {
        free(body);
        gw_http_conn_close(c);
        return;
    }
    free(body);
    gw_http_conn_set_state(c, GW_HTTP_C_WRITING);
    if (gw_http_conn_write(c, resp, rlen, GW_HTTP_W_RESPONSE) != 0)
        gw_http_conn_close(c);
    else
        gw_http_conn_update_reading(c);
}

static void gw_http_conn_on_timer(uv_timer_t *t)
{
    struct gw_http_conn *c = t->data;

    if (c->tls && !gw_http_tls_established(c->tls)) {
        gw_http_conn_tls_failed(c, "timeout"); /* the handshake counts against the head's time */
        gw_http_conn_close(c);
        return;
    }
    switch (c->state) {
    case GW_HTTP_C_IDLE:
        gw_http_conn_close_idle(c);
        break;
    case GW_HTTP_C_HEAD:
        gw_http_conn_fail(c, 408, "request_timeout", "request head not received in time", NULL);
        break;
    case GW_HTTP_C_BODY:
        gw_http_conn_fail(c, 408, "request_timeout", "request body not received in time", NULL);
        break;
    case GW_HTTP_C_STREAM:
        gw_http_instream_fail(c, 408, "request_timeout", "request body not received in time", NULL);
        break;
    case GW_HTTP_C_WRITING:
        gw_info("http.write_timeout", "%s: client does not read the response", c->peer);
        gw_http_conn_close(c);
        break;
    default: /* idle keep-alive or lingering: close silently */
        gw_http_conn_close(c);
        break;
    }
}

/* The server's head check, before any body byte is accepted. */
static int gw_http_conn_on_head(struct gw_http_pctx *pc, const struct gw_http_req *req)
{
    struct gw_http_conn *c = gw_container_of(pc, struct gw_http_conn, pc);
    gw_http_head_fn check = c->srv->head_check;
    const char *code = NULL, *msg = NULL;
    int status;

    status = check ? check(req, c->srv->ud, &code, &msg) : GW_HTTP_HEAD_KNOWN;
    if (status == GW_HTTP_HEAD_KNOWN) {
        c->known = true;
        status = 0;
    }
    if (status == 0) {
        pc->streaming = c->srv->stream_check && c->srv->stream_check(req, c->srv->ud);
        return 0;
    }
    if (status < 400 || status > 599)
        status = 500;
    return gw_http_pctx_fail(pc, status, code ? code : "rejected", msg ? msg : "request rejected");
}

static void gw_http_conn_on_phase(struct gw_http_pctx *pc, enum gw_http_phase ph)
{
    struct gw_http_conn *c = gw_container_of(pc, struct gw_http_conn, pc);

    if (c->state == GW_HTTP_C_CLOSING)
        return;
    if (ph == GW_HTTP_PHASE_HEAD) {
        gw_http_conn_set_state(c, GW_HTTP_C_HEAD);
        return;
    }
    gw_http_conn_set_state(c, GW_HTTP_C_BODY);
    /* A streamed body is invited only when its handler starts reading it (gw_http_body_start):
     * one that answers first (503, 400...) gets its final answer with no 100 before it, and no
     * body sent. */
    if (pc->expect_continue && !(pc->building && pc->building->streaming))
        gw_http_conn_send_continue(c);
}

void gw_http_conn_send_continue(struct gw_http_conn *c)
{
    if (gw_http_conn_write(c, (char *)gw_http_continue, sizeof(gw_http_continue) - 1,
                           GW_HTTP_W_CONTINUE) != 0)
        gw_http_conn_close(c);
}

static void gw_http_conn_dispatch(struct gw_http_conn *c, struct gw_http_req *req)
{
    struct gw_http_server *srv = c->srv;

    req->conn_ = c;
    memcpy(req->peer, c->peer, sizeof(req->peer));
    req->received_at_ms = uv_now(srv->loop);
    c->inflight = req;
    srv->n_inflight++;
    if (req->streaming) {
        /* The body timer armed at the end of the head keeps running. */
        /* the head just parsed is this request's: its Expect still stands */
        c->ins = (struct gw_http_instream){.active = true, .continue_due = c->pc.expect_continue};
        c->state = GW_HTTP_C_STREAM;
        gw_http_admit_track(c);
    } else {
        gw_http_conn_set_state(c, GW_HTTP_C_BUSY);
    }
    srv->handler(req, srv->ud);
}

static void gw_http_conn_parse(struct gw_http_conn *c);

/* Parses buffered input while the connection is between requests or receiving one, and feeds a
 * streamed body to its handler. With TLS, plaintext the session still holds is decrypted into
 * the room parsing made, and parsed in turn. */
void gw_http_conn_process(struct gw_http_conn *c)
{
    for (;;) {
        size_t before;

        if (c->processing)
            return;
        gw_http_conn_parse(c);
        if (!c->tls || c->state == GW_HTTP_C_CLOSING || c->state > GW_HTTP_C_STREAM)
            return;
        before = c->in_len;
        if (!gw_http_conn_tls_pull(c))
            return;
        if (c->in_len == before)
            return;
    }
}

static void gw_http_conn_parse(struct gw_http_conn *c)
{
    c->processing = true;
    for (;;) {
        struct gw_http_req *req;
        size_t n;

        if (c->state == GW_HTTP_C_STREAM) {
            if (gw_http_instream_step(c))
                continue;
            if (c->state == GW_HTTP_C_STREAM && c->ins.started && !c->ins.held &&
                gw_http_instream_feed(c))
                continue;
            break;
        }
        if (c->state > GW_HTTP_C_BODY || c->in_pos >= c->in_len)
            break;
        n = gw_http_pctx_feed(&c->pc, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_pos += n;
        if (c->state == GW_HTTP_C_CLOSING)
            break;
        if (c->pc.err_status) {
            gw_http_conn_fail(c, c->pc.err_status, c->pc.err_code, c->pc.err_msg, c->pc.err_extra);
            break;
        }
        req = gw_http_pctx_take(&c->pc);
        if (req)
            gw_http_conn_dispatch(c, req);
        else if (n == 0)
            break; /* nothing more will be parsed on this connection */
    }
    c->processing = false;
    if (c->state == GW_HTTP_C_CLOSING)
        return;
    if (c->in_pos > 0) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    gw_http_conn_update_reading(c);
}

static void gw_http_conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct gw_http_conn *c = h->data;

    if (c->tls && c->state != GW_HTTP_C_LINGER) {
        *buf = uv_buf_init(c->srv->tls_in, GW_HTTP_INBUF_SIZE);
        return;
    }
    if (c->state == GW_HTTP_C_LINGER)
        c->in_len = 0;
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof(c->in) - c->in_len));
}

static void gw_http_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw_http_conn *c = s->data;

    if (c->state == GW_HTTP_C_CLOSING || nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        gw_http_conn_update_reading(c);
        return;
    }
    if (nread < 0) { /* EOF or error: the client is gone, even if it only half-closed */
        if (c->state == GW_HTTP_C_BUSY)
            gw_debug("http.client_gone", "%s: closed before the response", c->peer);
        else if (c->tls && !gw_http_tls_established(c->tls))
            gw_http_conn_tls_failed(c, "eof");
        gw_http_conn_close(c);
        return;
    }
    if (c->state == GW_HTTP_C_LINGER) {
        c->linger_bytes += (size_t)nread;
        if (c->linger_bytes > GW_HTTP_LINGER_MAX)
            gw_http_conn_close(c);
        return;
    }
    if (c->tls) {
        gw_http_conn_tls_input(c, buf->base, (size_t)nread);
        if (c->state == GW_HTTP_C_CLOSING)
            return;
    } else {
        c->in_len += (size_t)nread;
    }
    if (c->state <= GW_HTTP_C_STREAM)
        gw_http_conn_process(c);
    else
        gw_http_conn_update_reading(c); /* busy: buffer only, stop when full */
}

/* Reads while there is room (also while busy, to notice a client going away); stops when full,
 * and while the handler of a streamed body has not taken its last chunk. */
void gw_http_conn_update_reading(struct gw_http_conn *c)
{
    bool want = c->state == GW_HTTP_C_LINGER ||
                (c->in_len < sizeof(c->in) && !(c->state == GW_HTTP_C_STREAM && c->ins.held) &&
                 (!c->tls || gw_http_conn_tls_want_read(c)));

    if (c->state == GW_HTTP_C_CLOSING)
        return;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, gw_http_conn_on_alloc, gw_http_conn_on_read) !=
            0) {
            gw_http_conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Fills c->peer; false if the peer's address is unknown (*ss is then unset). */
static bool gw_http_conn_peer(struct gw_http_conn *c, struct sockaddr_storage *ss)
{
    int len = sizeof(*ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    bool known = false;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)ss, &len) == 0) {
        if (ss->ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
            uv_ip6_name(a, ip, sizeof(ip));
            port = ntohs(a->sin6_port);
            snprintf(c->peer, sizeof(c->peer), "[%s]:%d", ip, port);
            return true;
        }
        if (ss->ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
            uv_ip4_name(a, ip, sizeof(ip));
            port = ntohs(a->sin_port);
            known = true;
        }
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
    return known;
}

void gw_http_conn_accept(struct gw_http_server *srv)
{
    struct gw_http_conn *c = NULL;
    struct sockaddr_storage ss;
    bool known;
    int rc;

    if (srv->fail_accepts > 0)
        srv->fail_accepts--;
    else
        c = calloc(1, sizeof(*c));
    if (!c) {
        gw_http_server_refuse_pending(srv);
        return;
    }
    c->srv = srv;
    if (uv_tcp_init(srv->loop, &c->tcp) != 0) {
        free(c);
        gw_http_server_refuse_pending(srv);
        return;
    }
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    c->ev = GW_HTTP_EV_NONE;
    gw_http_pctx_init(&c->pc, &srv->limits);
    c->pc.budget = &srv->bodies;
    c->pc.on_head = gw_http_conn_on_head;
    c->pc.on_phase = gw_http_conn_on_phase;
    gw_http_server_conn_added(srv, c);
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp) != 0) {
        gw_http_conn_close(c);
        return;
    }
    known = gw_http_conn_peer(c, &ss);
    uv_tcp_nodelay(&c->tcp, 1);
    rc = gw_http_admit(srv, c, known ? (const struct sockaddr *)&ss : NULL);
    if (rc != 0) {
        /* a 503 would need a handshake first: a TLS listener closes at once */
        if (rc != GW_ELIMIT || srv->n_rejecting >= GW_HTTP_MAX_REJECTING || srv->tls) {
            gw_http_conn_close(c);
            return;
        }
        c->rejecting = true;
        srv->n_rejecting++;
        gw_http_conn_fail(c, 503, "too_many_connections", "connection limit reached",
                          GW_HTTP_RETRY_AFTER);
        return;
    }
    if (srv->tls && gw_http_tls_new(srv->tls, &c->tls) != 0) {
        gw_http_conn_close(c);
        return;
    }
    /* With TLS the header timer runs from the connect: a stalled handshake is a slow head. */
    gw_http_conn_set_state(c, c->tls ? GW_HTTP_C_HEAD : GW_HTTP_C_IDLE);
    gw_http_conn_update_reading(c);
}

bool gw_http_conn_keep_alive_ok(const struct gw_http_conn *c)
{
    /* An upload answered before its end leaves unread body bytes: close after the answer. */
    return !c->srv->shutting_down && !c->close_after && !c->ins.active;
}

void gw_http_conn_req_done(struct gw_http_conn *c, struct gw_http_req *req, char *resp,
                           size_t resp_len, bool close_after)
{
    bool gone = req->detached || c->state == GW_HTTP_C_CLOSING;

    if (c->inflight == req) {
        c->inflight = NULL;
        c->srv->n_inflight--;
    }
    if (c->ins.active)
        close_after = true;
    gw_http_instream_clear(c);
    gw_http_req_free(req);
    if (gone) {
        free(resp);
        if (c->state == GW_HTTP_C_CLOSING && c->handles_open == 0)
            gw_http_conn_free(c);
        return;
    }
    if (!resp) {
        gw_http_conn_close(c);
        return;
    }
    if (close_after)
        c->close_after = true;
    gw_http_conn_set_state(c, GW_HTTP_C_WRITING);
    if (gw_http_conn_write(c, resp, resp_len, GW_HTTP_W_RESPONSE) != 0)
        gw_http_conn_close(c);
    else
        gw_http_conn_update_reading(c);
}
