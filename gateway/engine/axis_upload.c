/*
 * A struct gw_axis_body as the HTTP client's request body (engine/axis.h): a fixed preamble, the
 * package pulled from the body into one bounded buffer (GW_AXIS_UP_BUF) ahead of libcurl, and a
 * fixed epilogue, with an exact length. libcurl's read callback takes bytes from the buffer; when
 * the buffer is empty it pauses the transfer, and the body's next bytes resume it. The buffer is
 * compacted only when it needs room, so a small package, or the start of a large one, is still
 * there when libcurl must resend the request on a fresh connection (a reused one found dead), or
 * the adapter sends it again (after a fresh login): it rewinds from the buffer, and asks the body
 * to rewind otherwise. Shared by the adapters (vxp, lgsp_rest).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/axis.h"
#include "util/error.h"

#define GW_AXIS_UP_BUF (128u * 1024) /* read ahead of libcurl */
#define GW_AXIS_UP_ASK (32u * 1024)  /* the least room worth a read */

struct gw_axis_upload {
    struct gw_axis_body *body;
    char *pre, *post; /* one allocation: pre then post */
    size_t pre_len, pre_off, post_len, post_off;
    uint8_t *buf;
    size_t rpos, wpos; /* buf[rpos..wpos) not yet given to libcurl */
    uint64_t base;     /* body offset of buf[0] */
    uint64_t got;      /* body bytes received */
    int err;           /* the body failed (or broke its length) */
    bool reading;      /* a read is pending */
    bool eof;
    bool filling; /* inside gw_axis_up_fill: a done that runs there does not fill again */
    bool in_curl; /* inside libcurl's read callback: never resume from there */
    bool waiting; /* libcurl's read callback answered "nothing yet" */
    bool dropped; /* a read's bytes came after the transfer ended: only a body rewind helps */
    struct gw_httpc_xfer *xfer;
    void (*idle)(void *ud); /* the transfer is over and waits for the pending read */
    void *idle_ud;
};

int gw_axis_upload_new(struct gw_axis_body *body, const char *pre, size_t pre_len, const char *post,
                       size_t post_len, struct gw_axis_upload **out)
{
    struct gw_axis_upload *up;

    *out = NULL;
    if (!body || !body->read || body->len == 0 || pre_len > GW_AXIS_UP_BUF ||
        post_len > GW_AXIS_UP_BUF || body->len > (uint64_t)INT64_MAX - pre_len - post_len)
        return GW_EINVAL;
    if (!(up = calloc(1, sizeof(*up))))
        return GW_ENOMEM;
    size_t cap = body->len < GW_AXIS_UP_BUF ? (size_t)body->len : GW_AXIS_UP_BUF;
    up->buf = malloc(cap);
    up->pre = malloc(pre_len + post_len + 1);
    if (!up->buf || !up->pre) {
        gw_axis_upload_free(up);
        return GW_ENOMEM;
    }
    if (pre_len)
        memcpy(up->pre, pre, pre_len);
    up->post = up->pre + pre_len;
    if (post_len)
        memcpy(up->post, post, post_len);
    up->pre_len = pre_len;
    up->post_len = post_len;
    up->body = body;
    *out = up;
    return 0;
}

void gw_axis_upload_free(struct gw_axis_upload *up)
{
    if (!up)
        return;
    free(up->buf);
    free(up->pre);
    free(up);
}

uint64_t gw_axis_upload_len(const struct gw_axis_upload *up)
{
    return up->pre_len + up->body->len + up->post_len;
}

static size_t gw_axis_up_cap(const struct gw_axis_upload *up)
{
    return up->body->len < GW_AXIS_UP_BUF ? (size_t)up->body->len : GW_AXIS_UP_BUF;
}

static void gw_axis_up_fill(struct gw_axis_upload *up);

static void gw_axis_up_done(int err, const uint8_t *data, size_t n, void *ud)
{
    struct gw_axis_upload *up = ud;
    size_t cap = gw_axis_up_cap(up);

    up->reading = false;
    if (up->idle) { /* the transfer is over: nothing more is wanted */
        void (*idle)(void *) = up->idle;
        up->idle = NULL;
        up->dropped = true;
        idle(up->idle_ud);
        return;
    }
    if (err != 0) {
        up->err = err;
    } else if (n == 0) {
        up->eof = true;
        if (up->got != up->body->len) /* shorter than measured: the Content-Length would lie */
            up->err = GW_ECOPY;
    } else if (n > cap - up->wpos || up->got + n > up->body->len) {
        up->err = GW_ECOPY; /* more than asked for, or longer than measured */
    } else {
        memcpy(up->buf + up->wpos, data, n);
        up->wpos += n;
        up->got += n;
        if (up->got == up->body->len)
            up->eof = true; /* no need to ask for the end */
    }
    if (!up->filling)
        gw_axis_up_fill(up);
    if (!up->in_curl && up->waiting && up->xfer && (up->err || up->eof || up->wpos > up->rpos)) {
        up->waiting = false;
        gw_httpc_resume_source(up->xfer);
    }
}

/* Asks the body for more while there is room and nothing pending. */
static void gw_axis_up_fill(struct gw_axis_upload *up)
{
    size_t cap = gw_axis_up_cap(up);

    up->filling = true;
    while (!up->reading && !up->eof && !up->err) {
        if (cap - up->wpos < GW_AXIS_UP_ASK && up->rpos > 0) {
            memmove(up->buf, up->buf + up->rpos, up->wpos - up->rpos);
            up->base += up->rpos;
            up->wpos -= up->rpos;
            up->rpos = 0;
        }
        size_t room = cap - up->wpos;
        if (room == 0 || (room < GW_AXIS_UP_ASK && up->body->len - up->got > room))
            break; /* wait for libcurl to take more */
        up->reading = true;
        int rc = up->body->read(up->body, room, gw_axis_up_done, up);
        if (rc != 0) {
            up->reading = false;
            up->err = rc;
        }
    }
    up->filling = false;
}

static int64_t gw_axis_up_read(void *ud, char *dst, size_t cap)
{
    struct gw_axis_upload *up = ud;
    size_t n;

    if (up->pre_off < up->pre_len) {
        n = up->pre_len - up->pre_off < cap ? up->pre_len - up->pre_off : cap;
        memcpy(dst, up->pre + up->pre_off, n);
        up->pre_off += n;
        return (int64_t)n;
    }
    if (up->wpos == up->rpos && !up->eof && !up->err) {
        up->in_curl = true;
        gw_axis_up_fill(up); /* a body with its bytes at hand answers at once */
        up->in_curl = false;
    }
    if (up->err)
        return up->err;
    if (up->wpos > up->rpos) {
        n = up->wpos - up->rpos < cap ? up->wpos - up->rpos : cap;
        memcpy(dst, up->buf + up->rpos, n);
        up->rpos += n;
        up->in_curl = true;
        gw_axis_up_fill(up);
        up->in_curl = false;
        return (int64_t)n;
    }
    if (up->eof) {
        n = up->post_len - up->post_off < cap ? up->post_len - up->post_off : cap;
        memcpy(dst, up->post + up->post_off, n);
        up->post_off += n;
        return n ? (int64_t)n : GW_EIO; /* libcurl never asks past Content-Length */
    }
    up->waiting = true;
    return 0;
}

int gw_axis_upload_restart(struct gw_axis_upload *up)
{
    up->pre_off = up->post_off = 0;
    up->waiting = false;
    if (up->base == 0 && !up->dropped) { /* everything given so far is still in the buffer */
        up->rpos = 0;
        return 0;
    }
    if (up->reading || !up->body->rewind || up->body->rewind(up->body) != 0)
        return GW_EHTTP;
    up->dropped = false;
    up->base = up->got = 0;
    up->rpos = up->wpos = 0;
    up->eof = false;
    up->err = 0;
    return 0;
}

static int gw_axis_up_rewind(void *ud)
{
    return gw_axis_upload_restart(ud);
}

void gw_axis_upload_source(struct gw_axis_upload *up, struct gw_httpc_source *src)
{
    *src = (struct gw_httpc_source){.read = gw_axis_up_read, .rewind = gw_axis_up_rewind, .ud = up};
}

void gw_axis_upload_attach(struct gw_axis_upload *up, struct gw_httpc_xfer *xfer)
{
    up->xfer = xfer;
    gw_axis_up_fill(up); /* start reading ahead before libcurl asks */
}

bool gw_axis_upload_busy(struct gw_axis_upload *up, void (*idle)(void *ud), void *ud)
{
    up->xfer = NULL;
    if (!up->reading)
        return false;
    up->idle = idle;
    up->idle_ud = ud;
    return true;
}
