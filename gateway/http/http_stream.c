/*
 * Streamed bodies of the HTTP server, both ways. Requests: a route chosen by the stream check
 * gets its request at the end of the head and its body in chunks of at most GW_HTTP_STREAM_CHUNK
 * bytes, one at a time: the connection parses no further and stops reading the socket until the
 * handler has taken the chunk (gw_http_body_resume). Responses: a body of known length is pulled
 * from the producer one piece at a time, the next pull only once the previous piece has left the
 * write queue, so a slow client holds at most one piece in memory.
 */
#include "http/http_server_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

void gw_http_server_set_stream_check(struct gw_http_server *srv, gw_http_stream_fn fn)
{
    if (srv)
        srv->stream_check = fn;
}

/* ---- request bodies ---- */

static struct gw_http_conn *gw_http_req_conn(struct gw_http_req *req)
{
    return req ? req->conn_ : NULL;
}

void gw_http_instream_clear(struct gw_http_conn *c)
{
    c->ins.active = false;
    c->ins.held = false;
    if (c->pc.streaming) {
        gw_http_pctx_drop_body(&c->pc);
        c->pc.body_len = 0;
    }
}

void gw_http_instream_abort(struct gw_http_conn *c, int err)
{
    struct gw_http_req *req = c->inflight;

    if (!c->ins.active)
        return;
    c->ins.active = false;
    if (!c->ins.held && c->pc.streaming)
        gw_http_pctx_drop_body(&c->pc); /* a held chunk stays valid until resume or respond */
    if (!c->ins.started) {
        c->ins.failed = err; /* told at gw_http_body_start */
        return;
    }
    if (req && c->ins.ops.end)
        c->ins.ops.end(req, err, c->ins.ud);
}

bool gw_http_instream_step(struct gw_http_conn *c)
{
    struct gw_http_req *req = c->inflight;

    if (!c->ins.active || !c->ins.started || c->ins.held || !req)
        return false;
    if (c->pc.body_len > 0) {
        c->ins.held = true;
        c->ins.ops.data(req, c->pc.body, c->pc.body_len, c->ins.ud);
        return true;
    }
    if (!c->pc.stream_done)
        return false;
    /* Complete: the request is the handler's until it answers; the next one may be parsed
     * after that answer. */
    c->ins.active = false;
    gw_http_pctx_drop_body(&c->pc);
    c->pc.streaming = false;
    c->pc.stream_done = false;
    gw_http_conn_set_state(c, GW_HTTP_C_BUSY);
    c->ins.ops.end(req, 0, c->ins.ud);
    return true;
}

void gw_http_body_start(struct gw_http_req *req, const struct gw_http_body_ops *ops, void *ud)
{
    struct gw_http_conn *c = gw_http_req_conn(req);

    if (!c || !req->streaming || c->ins.started || !ops || !ops->data || !ops->end)
        return;
    c->ins.ops = *ops;
    c->ins.ud = ud;
    c->ins.started = true;
    if (c->ins.continue_due && c->ins.active) {
        c->ins.continue_due = false;
        gw_http_conn_send_continue(c); /* the body is wanted now */
        if (c->state == GW_HTTP_C_CLOSING)
            return; /* the write failed: closing told end already (started) */
    }
    if (!c->ins.active) {
        ops->end(req, c->ins.failed ? c->ins.failed : GW_EIO, ud);
        return;
    }
    gw_http_conn_process(c);
}

void gw_http_body_resume(struct gw_http_req *req)
{
    struct gw_http_conn *c = gw_http_req_conn(req);

    if (!c || !req->streaming || !c->ins.held)
        return;
    c->ins.held = false;
    c->pc.body_len = 0;
    if (!c->ins.active) { /* failed while the chunk was held */
        if (c->pc.streaming)
            gw_http_pctx_drop_body(&c->pc);
        return;
    }
    gw_http_conn_process(c); /* a no-op when called from inside data */
}

/* A limit hit while the body of a request already with the handler streams in: the server
 * answers, and the handler hears of it through its end callback. */
void gw_http_instream_fail(struct gw_http_conn *c, int status, const char *code, const char *msg,
                           const char *extra)
{
    int err = status == 408 ? GW_ETIMEDOUT : status == 413 ? GW_E2BIG : GW_EPARSE;

    if (c->inflight)
        c->inflight->detached = true;
    gw_http_conn_fail(c, status, code, msg, extra);
    gw_http_instream_abort(c, err);
}

/* One parse step of a streamed body (state STREAM, with room in the chunk buffer). */
bool gw_http_instream_feed(struct gw_http_conn *c)
{
    size_t n;

    if (c->in_pos >= c->in_len)
        return false;
    n = gw_http_pctx_feed(&c->pc, c->in + c->in_pos, c->in_len - c->in_pos);
    c->in_pos += n;
    if (c->pc.err_status) {
        gw_http_instream_fail(c, c->pc.err_status, c->pc.err_code, c->pc.err_msg, c->pc.err_extra);
        return false;
    }
    return n > 0 || c->pc.body_len > 0 || c->pc.stream_done;
}

/* ---- response bodies ---- */

int gw_http_conn_stream_begin(struct gw_http_conn *c, struct gw_http_req *req, char *head,
                              size_t head_len, bool close_after, uint64_t length,
                              const struct gw_http_stream_ops *ops, void *ud)
{
    (void)req;
    if (close_after)
        c->close_after = true;
    c->outs =
        (struct gw_http_outstream){.ops = *ops, .ud = ud, .active = true, .remaining = length};
    gw_http_instream_clear(c);
    gw_http_conn_set_state(c, GW_HTTP_C_WRITING);
    if (gw_http_conn_write(c, head, head_len, GW_HTTP_W_STREAM) != 0) {
        c->outs.active = false;
        return GW_ENOMEM;
    }
    gw_http_conn_update_reading(c);
    return 0;
}

/* Ends a streamed response: done, then the request is freed like an answered one. */
static void gw_http_outstream_finish(struct gw_http_conn *c, int err)
{
    struct gw_http_req *req = c->inflight;

    c->outs.active = false;
    if (req) {
        if (c->outs.ops.done)
            c->outs.ops.done(req, err, c->outs.ud);
        c->inflight = NULL;
        c->srv->n_inflight--;
        gw_http_req_free(req);
    }
    if (c->state == GW_HTTP_C_CLOSING) {
        if (c->handles_open == 0)
            gw_http_conn_free(c);
        return;
    }
    if (err != 0)
        gw_http_conn_close(c);
    else
        gw_http_conn_written(c);
}

void gw_http_outstream_written(struct gw_http_conn *c, int status)
{
    if (!c->outs.active)
        return;
    if (status < 0 || c->state == GW_HTTP_C_CLOSING) {
        gw_http_outstream_finish(c, GW_EIO);
        return;
    }
    if (c->outs.remaining == 0) {
        gw_http_outstream_finish(c, 0);
        return;
    }
    gw_http_conn_set_state(c, GW_HTTP_C_WRITING); /* progress re-arms the write timer */
    c->outs.pulling = true;
    c->outs.ops.pull(c->inflight, c->outs.ud);
}

int gw_http_stream_write(struct gw_http_req *req, const void *data, size_t len)
{
    struct gw_http_conn *c = gw_http_req_conn(req);
    char *copy;
    int rc;

    if (!c || req->detached || c->state == GW_HTTP_C_CLOSING || !c->outs.active)
        return GW_EIO;
    if (!c->outs.pulling || !data || len == 0 || len > GW_HTTP_STREAM_WRITE_MAX ||
        len > c->outs.remaining)
        return GW_EINVAL;
    copy = malloc(len);
    if (!copy)
        return GW_ENOMEM;
    memcpy(copy, data, len);
    c->outs.pulling = false;
    c->outs.remaining -= len;
    rc = gw_http_conn_write(c, copy, len, GW_HTTP_W_STREAM);
    if (rc != 0) {
        c->outs.pulling = true;
        c->outs.remaining += len;
    }
    return rc;
}

void gw_http_stream_abort(struct gw_http_req *req)
{
    struct gw_http_conn *c = gw_http_req_conn(req);

    if (!c)
        return;
    c->outs.active = false;
    gw_http_conn_req_done(c, req, NULL, 0, true); /* no response: the connection closes */
}
