/*
 * The body a send pulls (struct gw_axis_body), built in this one place. Today it is the claimed
 * row's bytes, held in memory: copied from the claim, hashed (SHA-256) on the thread pool, then
 * read out slice by slice. When bodies are stored in chunks, this file becomes the chunk-backed
 * source (length and hash from one streaming pass over the chunks, read fetching chunks on
 * demand); dispatch.c only calls gw_dispatch_body_open/close.
 */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dispatch_internal.h"
#include "store/store_delivery.h"
#include "util/common.h"
#include "util/error.h"

struct gw_send_body {
    struct gw_axis_body body;
    struct gw_send *s;
    gw_send_body_ready_cb ready;
    uint8_t *bytes;
    size_t len;
    size_t off; /* next byte read gives */
    uv_work_t work;
};

static int gw_send_body_read(struct gw_axis_body *b, size_t cap, gw_axis_body_done_cb done,
                             void *done_ud)
{
    struct gw_send_body *sb = b->ud;
    size_t n = sb->len - sb->off < cap ? sb->len - sb->off : cap;
    size_t at = sb->off;

    sb->off += n; /* before done: it may ask for the next bytes */
    done(0, sb->bytes + at, n, done_ud);
    return 0;
}

static int gw_send_body_rewind(struct gw_axis_body *b)
{
    struct gw_send_body *sb = b->ud;
    sb->off = 0;
    return 0;
}

static void gw_send_body_hash(uv_work_t *w)
{
    struct gw_send_body *sb = gw_container_of(w, struct gw_send_body, work);
    SHA256(sb->bytes, sb->len, sb->body.sha256);
}

static void gw_send_body_hashed(uv_work_t *w, int status)
{
    struct gw_send_body *sb = gw_container_of(w, struct gw_send_body, work);
    sb->ready(sb->s, status == 0 ? 0 : GW_ECANCELED);
}

int gw_dispatch_body_open(struct gw_send *s, const struct gw_store_claimed *row,
                          gw_send_body_ready_cb ready)
{
    struct gw_send_body *sb = calloc(1, sizeof(*sb));

    if (!sb || !(sb->bytes = malloc(row->len ? row->len : 1))) {
        free(sb);
        return GW_ENOMEM;
    }
    memcpy(sb->bytes, row->bytes, row->len);
    sb->len = row->len;
    sb->s = s;
    sb->ready = ready;
    sb->body = (struct gw_axis_body){
        .len = row->len, .read = gw_send_body_read, .rewind = gw_send_body_rewind, .ud = sb};
    if (uv_queue_work(s->d->deps.loop, &sb->work, gw_send_body_hash, gw_send_body_hashed) != 0) {
        free(sb->bytes);
        free(sb);
        return GW_EAGAIN;
    }
    s->body = sb;
    return 0;
}

struct gw_axis_body *gw_dispatch_body(struct gw_send *s)
{
    return s->body ? &s->body->body : NULL;
}

void gw_dispatch_body_close(struct gw_send *s)
{
    if (!s->body)
        return;
    free(s->body->bytes);
    free(s->body);
    s->body = NULL;
}
