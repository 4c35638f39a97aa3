/*
 * The sendEdoc request body, multipart/form-data, streamed: a preamble (the messageType field and
 * the head of the edocFile part), the package pulled from its struct gw_axis_body into one bounded
 * buffer (GW_LR_UP_BUF) ahead of libcurl, and the closing delimiter, with an exact Content-Length.
 * The boundary is "gwrest" and 32 random hex characters, fresh per request: the body is never
 * held whole, so it cannot be checked not to contain the boundary; a 128-bit random boundary
 * makes that a 2^-128 chance per line. libcurl's read callback takes bytes from the buffer and
 * pauses when it is empty; the body's next bytes resume it. The buffer is compacted only when it
 * needs room, so libcurl can rewind from it (a resend on a fresh connection) while it still holds
 * the start of the package; otherwise the body rewinds.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgsp_rest_internal.h"
#include "util/error.h"

#define GW_LR_UP_BUF (128u * 1024)
#define GW_LR_UP_ASK (32u * 1024)

struct gw_lr_upload {
    struct gw_axis_body *body;
    char boundary[40];
    char pre[512];
    size_t pre_len, pre_off;
    char post[64];
    size_t post_len, post_off;
    uint8_t *buf;
    size_t rpos, wpos;
    uint64_t base, got;
    int err;
    bool reading, eof, filling, in_curl, waiting;
    bool dropped; /* a read's bytes came after the transfer ended: only a body rewind helps */
    struct gw_httpc_xfer *xfer;
    void (*idle)(void *ud);
    void *idle_ud;
};

int gw_lr_upload_new(struct gw_axis_body *body, const char *kind_name, struct gw_lr_upload **out)
{
    struct gw_lr_upload *up;
    unsigned char rnd[16];
    int n;

    *out = NULL;
    if (!body || !body->read || body->len == 0 || body->len > (uint64_t)INT64_MAX / 2)
        return GW_EINVAL;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return GW_EIO;
    if (!(up = calloc(1, sizeof(*up))))
        return GW_ENOMEM;
    n = snprintf(up->boundary, sizeof(up->boundary), "gwrest");
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(up->boundary + n, sizeof(up->boundary) - (size_t)n, "%02x", rnd[i]);
    up->pre_len = (size_t)snprintf(up->pre, sizeof(up->pre),
                                   "--%s\r\n"
                                   "Content-Disposition: form-data; name=\"messageType\"\r\n"
                                   "\r\n"
                                   "%s\r\n"
                                   "--%s\r\n"
                                   "Content-Disposition: form-data; name=\"edocFile\"; "
                                   "filename=\"edoc.edxml\"\r\n"
                                   "Content-Type: application/xml\r\n"
                                   "\r\n",
                                   up->boundary, kind_name, up->boundary);
    up->post_len = (size_t)snprintf(up->post, sizeof(up->post), "\r\n--%s--\r\n", up->boundary);
    size_t cap = body->len < GW_LR_UP_BUF ? (size_t)body->len : GW_LR_UP_BUF;
    if (!(up->buf = malloc(cap))) {
        free(up);
        return GW_ENOMEM;
    }
    up->body = body;
    *out = up;
    return 0;
}

void gw_lr_upload_free(struct gw_lr_upload *up)
{
    if (!up)
        return;
    free(up->buf);
    free(up);
}

uint64_t gw_lr_upload_len(const struct gw_lr_upload *up)
{
    return up->pre_len + up->body->len + up->post_len;
}

const char *gw_lr_upload_boundary(const struct gw_lr_upload *up)
{
    return up->boundary;
}

static size_t gw_lr_up_cap(const struct gw_lr_upload *up)
{
    return up->body->len < GW_LR_UP_BUF ? (size_t)up->body->len : GW_LR_UP_BUF;
}

static void gw_lr_up_fill(struct gw_lr_upload *up);

static void gw_lr_up_done(int err, const uint8_t *data, size_t n, void *ud)
{
    struct gw_lr_upload *up = ud;
    size_t cap = gw_lr_up_cap(up);

    up->reading = false;
    if (up->idle) {
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
        if (up->got != up->body->len)
            up->err = GW_EIO; /* shorter than announced */
    } else if (n > cap - up->wpos || up->got + n > up->body->len) {
        up->err = GW_EIO;
    } else {
        memcpy(up->buf + up->wpos, data, n);
        up->wpos += n;
        up->got += n;
        if (up->got == up->body->len)
            up->eof = true;
    }
    if (!up->filling)
        gw_lr_up_fill(up);
    if (!up->in_curl && up->waiting && up->xfer && (up->err || up->eof || up->wpos > up->rpos)) {
        up->waiting = false;
        gw_httpc_resume_source(up->xfer);
    }
}

static void gw_lr_up_fill(struct gw_lr_upload *up)
{
    size_t cap = gw_lr_up_cap(up);

    up->filling = true;
    while (!up->reading && !up->eof && !up->err) {
        if (cap - up->wpos < GW_LR_UP_ASK && up->rpos > 0) {
            memmove(up->buf, up->buf + up->rpos, up->wpos - up->rpos);
            up->base += up->rpos;
            up->wpos -= up->rpos;
            up->rpos = 0;
        }
        size_t room = cap - up->wpos;
        if (room == 0 || (room < GW_LR_UP_ASK && up->body->len - up->got > room))
            break;
        up->reading = true;
        int rc = up->body->read(up->body, room, gw_lr_up_done, up);
        if (rc != 0) {
            up->reading = false;
            up->err = rc;
        }
    }
    up->filling = false;
}

static int64_t gw_lr_up_read(void *ud, char *dst, size_t cap)
{
    struct gw_lr_upload *up = ud;
    size_t n;

    if (up->pre_off < up->pre_len) {
        n = up->pre_len - up->pre_off < cap ? up->pre_len - up->pre_off : cap;
        memcpy(dst, up->pre + up->pre_off, n);
        up->pre_off += n;
        return (int64_t)n;
    }
    if (up->wpos == up->rpos && !up->eof && !up->err) {
        up->in_curl = true;
        gw_lr_up_fill(up);
        up->in_curl = false;
    }
    if (up->err)
        return up->err;
    if (up->wpos > up->rpos) {
        n = up->wpos - up->rpos < cap ? up->wpos - up->rpos : cap;
        memcpy(dst, up->buf + up->rpos, n);
        up->rpos += n;
        up->in_curl = true;
        gw_lr_up_fill(up);
        up->in_curl = false;
        return (int64_t)n;
    }
    if (up->eof) {
        n = up->post_len - up->post_off < cap ? up->post_len - up->post_off : cap;
        memcpy(dst, up->post + up->post_off, n);
        up->post_off += n;
        return n ? (int64_t)n : GW_EIO;
    }
    up->waiting = true;
    return 0;
}

int gw_lr_upload_restart(struct gw_lr_upload *up)
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

static int gw_lr_up_rewind(void *ud)
{
    return gw_lr_upload_restart(ud);
}

void gw_lr_upload_source(struct gw_lr_upload *up, struct gw_httpc_source *src)
{
    *src = (struct gw_httpc_source){.read = gw_lr_up_read, .rewind = gw_lr_up_rewind, .ud = up};
}

void gw_lr_upload_attach(struct gw_lr_upload *up, struct gw_httpc_xfer *xfer)
{
    up->xfer = xfer;
    gw_lr_up_fill(up);
}

bool gw_lr_upload_busy(struct gw_lr_upload *up, void (*idle)(void *ud), void *ud)
{
    up->xfer = NULL;
    if (!up->reading)
        return false;
    up->idle = idle;
    up->idle_ud = ud;
    return true;
}
