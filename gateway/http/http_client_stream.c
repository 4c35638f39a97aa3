/*
 * Streaming bodies of the outbound HTTP client: a request body pulled from a source (libcurl's
 * read callback, Content-Length known in advance, rewound through the source when libcurl must
 * resend on a new connection) and a response body pushed to a sink (the write callback).
 *
 * Pausing: a source with nothing ready makes the read callback answer CURL_READFUNC_PAUSE; a sink
 * that asks for a pause took its bytes, so the write callback answers the next piece with
 * CURL_WRITEFUNC_PAUSE (libcurl keeps that piece and hands it over again). gw_httpc_resume_*()
 * only records the wish and arms a zero timer; the timer's callback, outside every libcurl
 * callback (never from the socket or timer callbacks either), calls curl_easy_pause(CURLPAUSE_CONT)
 * (which may deliver the kept piece at once) and then drives the multi handle. A transfer that
 * ends while its sink is paused keeps its result until the sink resumes.
 */
#include <stdio.h>
#include <string.h>

#include "http/http_client_internal.h"
#include "util/common.h"
#include "util/error.h"

void gw_httpc_resume_unlink(struct gw_httpc_xfer *x)
{
    if (!x->want_cont)
        return;
    if (x->rprev)
        x->rprev->rnext = x->rnext;
    else
        x->c->resumes = x->rnext;
    if (x->rnext)
        x->rnext->rprev = x->rprev;
    x->rprev = x->rnext = NULL;
    x->want_cont = false;
}

/* Zero timer: unpauses (or completes) the transfers whose source or sink resumed. */
static void gw_httpc_on_resume(uv_timer_t *t)
{
    struct gw_httpc *c = gw_container_of(t, struct gw_httpc, resume_timer);
    int running;

    while (!c->closing && c->resumes) {
        struct gw_httpc_xfer *x = c->resumes;
        gw_httpc_resume_unlink(x);
        if (x->finished) {
            if (x->sink_paused)
                continue; /* paused again: stays finished */
            gw_httpc_xfer_unlink(x);
            gw_httpc_finish(x, x->finish_rc); /* may close c */
            continue;
        }
        int mask = (x->src_paused ? CURLPAUSE_SEND : 0) | (x->sink_paused ? CURLPAUSE_RECV : 0);
        /* May run the write callback at once with the piece libcurl kept. */
        curl_easy_pause(x->easy, mask);
    }
    if (c->closing)
        return;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    gw_httpc_check_done(c);
}

static void gw_httpc_resume(struct gw_httpc_xfer *x)
{
    struct gw_httpc *c = x->c;

    if (c->closing || x->want_cont)
        return;
    x->want_cont = true;
    x->rprev = NULL;
    x->rnext = c->resumes;
    if (c->resumes)
        c->resumes->rprev = x;
    c->resumes = x;
    uv_timer_start(&c->resume_timer, gw_httpc_on_resume, 0, 0);
}

void gw_httpc_resume_source(struct gw_httpc_xfer *x)
{
    if (!x || !x->src_paused)
        return;
    x->src_paused = false;
    gw_httpc_resume(x);
}

void gw_httpc_resume_sink(struct gw_httpc_xfer *x)
{
    if (!x || !x->sink_paused)
        return;
    x->sink_paused = false;
    gw_httpc_resume(x);
}

size_t gw_httpc_sink_write(struct gw_httpc_xfer *x, char *ptr, size_t n)
{
    long status = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    x->resp_len += n;
    if (n == 0)
        return 0;
    int r = x->sink.write(x->sink.ud, status, ptr, n);
    if (r == GW_HTTPC_PAUSE) {
        x->sink_paused = true; /* the bytes are taken: the next piece is answered PAUSE */
    } else if (r < 0) {
        x->abort_err = r;
        return 0;
    }
    return n;
}

static size_t gw_httpc_read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    struct gw_httpc_xfer *x = userp;
    size_t cap = size * nitems;
    uint64_t left = x->up_len - x->up_sent;
    int64_t r;

    if (left == 0)
        return 0; /* the whole Content-Length is out */
    if (x->src_paused)
        return CURL_READFUNC_PAUSE;
    if (cap > left)
        cap = (size_t)left;
    r = x->source.read(x->source.ud, buf, cap);
    if (r == 0) {
        x->src_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    if (r < 0 || (uint64_t)r > cap) {
        x->abort_err = r < 0 ? (int)r : GW_EINVAL;
        return CURL_READFUNC_ABORT;
    }
    x->up_sent += (uint64_t)r;
    return (size_t)r;
}

/* libcurl rewinds the body to resend it on a new connection (a reused one was found dead). */
static int gw_httpc_seek_cb(void *userp, curl_off_t offset, int origin)
{
    struct gw_httpc_xfer *x = userp;

    if (offset != 0 || origin != SEEK_SET)
        return CURL_SEEKFUNC_CANTSEEK;
    if (x->up_sent == 0)
        return CURL_SEEKFUNC_OK;
    if (!x->source.rewind || x->source.rewind(x->source.ud) != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    x->up_sent = 0;
    x->src_paused = false;
    return CURL_SEEKFUNC_OK;
}

void gw_httpc_setup_source(struct gw_httpc_xfer *x, const struct gw_httpc_request *req)
{
    CURL *e = x->easy;

    x->source = *req->source;
    x->up_len = req->body_len;
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, gw_httpc_read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, x);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, gw_httpc_seek_cb);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
    if (strcmp(req->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
}
