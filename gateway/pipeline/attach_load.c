/*
 * Reads one attachment back from its stored package: the chunk layout first (known already for
 * a body of one chunk), then only the chunks that overlap the attachment's base64 slice, each
 * decoded on the thread pool into one buffer (or into a temporary file when the attachment is a ZIP
 * to inflate).
 */
#include "pipeline/attach_load.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edxml/edxml_b64.h"
#include "edxml/edxml_zip.h"
#include "store/store_body.h"
#include "store/store_check.h"
#include "util/error.h"

struct gw_attach_load {
    struct gw_attach_load_req req;
    gw_attach_load_cb cb;
    void *ud;
    int64_t *lens;
    size_t n_lens, next;
    uint64_t start; /* offset of chunk next in the stored bytes */
    uint8_t *piece; /* the part of the current chunk inside the slice */
    size_t piece_n;
    bool last;
    struct gw_edxml_b64 b64;
    uint8_t *out; /* decoded (or inflated) bytes */
    size_t out_n, out_cap;
    int fd; /* unwrapped: the decoded archive */
    int err;
    const char *code;
    uv_work_t work;
};

static void gw_al_finish(struct gw_attach_load *al)
{
    if (al->fd >= 0)
        close(al->fd);
    if (al->err != 0) {
        free(al->out);
        al->out = NULL;
        al->out_n = 0;
    }
    al->cb(al->err, al->err ? al->code : NULL, al->out, al->out_n, al->ud);
    free(al->lens);
    free(al->piece);
    free(al);
}

static int gw_al_fail(struct gw_attach_load *al, int err, const char *code)
{
    if (al->err == 0) {
        al->err = err;
        al->code = code;
    }
    return err;
}

/* Appends to the result buffer within max_bytes. */
static int gw_al_append(void *ud, const uint8_t *p, size_t n)
{
    struct gw_attach_load *al = ud;

    if (al->out_n + n > al->req.max_bytes)
        return gw_al_fail(al, GW_ELIMIT, "pdf_too_large");
    if (al->out_n + n > al->out_cap) {
        size_t cap = al->out_cap ? al->out_cap * 2 : 65536;
        uint8_t *o;
        while (cap < al->out_n + n)
            cap *= 2;
        if (cap > al->req.max_bytes)
            cap = (size_t)al->req.max_bytes;
        if (!(o = realloc(al->out, cap)))
            return gw_al_fail(al, GW_ENOMEM, "memory");
        al->out = o;
        al->out_cap = cap;
    }
    memcpy(al->out + al->out_n, p, n);
    al->out_n += n;
    return 0;
}

static int gw_al_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return GW_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Worker: decodes the current piece; after the last one, ends the base64 and inflates. */
static void gw_al_work(uv_work_t *w)
{
    struct gw_attach_load *al = w->data;
    uint8_t tmp[(64 * 1024) / 4 * 3 + 3], tail[4];
    size_t done = 0, tail_n = 0;

    if (al->req.raw) {
        gw_al_append(al, al->piece, al->piece_n);
        return;
    }
    while (al->err == 0 && done < al->piece_n) {
        size_t take = al->piece_n - done, got;
        if (take > 64 * 1024)
            take = 64 * 1024;
        got = gw_edxml_b64_decode(&al->b64, (const char *)al->piece + done, take, tmp);
        if (got == (size_t)-1) {
            gw_al_fail(al, GW_EPARSE, "bad_base64");
            return;
        }
        if (al->fd >= 0 ? gw_al_write_all(al->fd, tmp, got) != 0 : gw_al_append(al, tmp, got) != 0)
            return (void)gw_al_fail(al, GW_EIO, "temporary_file");
        done += take;
    }
    if (al->err != 0 || !al->last)
        return;
    if (gw_edxml_b64_end(&al->b64, tail, &tail_n) < 0)
        return (void)gw_al_fail(al, GW_EPARSE, "bad_base64");
    if (al->fd >= 0 ? gw_al_write_all(al->fd, tail, tail_n) != 0
                    : gw_al_append(al, tail, tail_n) != 0)
        return (void)gw_al_fail(al, GW_EIO, "temporary_file");
    if (al->fd >= 0) {
        struct gw_edxml_zip_limits lim = {al->req.max_bytes, al->req.max_zip_ratio ?: 200,
                                          gw_al_append, al};
        struct gw_edxml_zip_result zr;
        int rc = gw_edxml_zip_unwrap(al->fd, &lim, &zr);
        if (rc != 0 && al->err == 0)
            gw_al_fail(al, rc, zr.error ? zr.error : "zip_corrupt");
        if (rc == 0)
            gw_edxml_zip_result_free(&zr);
    }
}

static void gw_al_fetch(struct gw_attach_load *al);

static void gw_al_worked(uv_work_t *w, int status)
{
    struct gw_attach_load *al = w->data;

    if (status != 0)
        gw_al_fail(al, GW_ECANCELED, "cancelled");
    if (al->err != 0 || al->last)
        return gw_al_finish(al);
    gw_al_fetch(al);
}

/* A chunk read from PostgreSQL is kept for the copies that follow when the body is one the
 * writers keep (body_cache.h). */
static bool gw_al_fill(const struct gw_attach_load_req *req)
{
    return req->body_size > 0 && req->body_size <= GW_BODY_CACHE_BODY_MAX;
}

static void gw_al_chunk(int err, const uint8_t *bytes, size_t len, void *ud)
{
    struct gw_attach_load *al = ud;
    uint64_t end = al->req.b64_offset + al->req.b64_len, from, to;

    if (err != 0 || len != (size_t)al->lens[al->next]) {
        gw_al_fail(al, err ? err : GW_EIO, err ? "database" : "body_layout");
        return gw_al_finish(al);
    }
    from = al->req.b64_offset > al->start ? al->req.b64_offset - al->start : 0;
    to = end < al->start + len ? end - al->start : len;
    al->piece_n = (size_t)(to - from);
    memcpy(al->piece, bytes + from, al->piece_n);
    al->start += len;
    al->next++;
    al->last = al->start >= end;
    al->work.data = al;
    if (uv_queue_work(al->req.loop, &al->work, gw_al_work, gw_al_worked) != 0) {
        gw_al_fail(al, GW_EAGAIN, "thread_pool");
        gw_al_finish(al);
    }
}

static void gw_al_fetch(struct gw_attach_load *al)
{
    int rc;

    if (al->next >= al->n_lens) {
        gw_al_fail(al, GW_EIO, "body_layout");
        return gw_al_finish(al);
    }
    rc = gw_body_cache_read(al->req.cache, al->req.db, al->req.body_id, (int64_t)al->next,
                            gw_al_fill(&al->req), gw_al_chunk, al);
    if (rc != 0) {
        gw_al_fail(al, rc, "database");
        gw_al_finish(al);
    }
}

/* The body's chunk lengths, the chunks before the slice skipped, and the buffer of one piece:
 * 0 or GW_ENOMEM. */
static int gw_al_set_layout(struct gw_attach_load *al, const int64_t *lens, size_t n)
{
    size_t biggest = 0;

    if (!(al->lens = malloc((n ? n : 1) * sizeof(*lens))))
        return GW_ENOMEM;
    memcpy(al->lens, lens, n * sizeof(*lens));
    al->n_lens = n;
    /* skip the chunks that end before the slice */
    while (al->next < n && al->start + (uint64_t)lens[al->next] <= al->req.b64_offset)
        al->start += (uint64_t)lens[al->next++];
    for (size_t i = 0; i < n; i++)
        if ((size_t)lens[i] > biggest)
            biggest = (size_t)lens[i];
    if (!(al->piece = malloc(biggest ? biggest : 1)))
        return GW_ENOMEM;
    return 0;
}

static void gw_al_layout(int err, const int64_t *lens, size_t n, void *ud)
{
    struct gw_attach_load *al = ud;

    if (err != 0) {
        gw_al_fail(al, err, "database");
        return gw_al_finish(al);
    }
    if (gw_al_set_layout(al, lens, n) != 0) {
        gw_al_fail(al, GW_ENOMEM, "memory");
        return gw_al_finish(al);
    }
    gw_al_fetch(al);
}

static int gw_al_tmpfile(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/gw-attach-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

int gw_attach_load(const struct gw_attach_load_req *req, gw_attach_load_cb cb, void *ud)
{
    struct gw_attach_load *al;
    int rc;

    if (!req || !cb || req->body_id <= 0 || req->max_bytes == 0)
        return GW_EINVAL;
    if (!req->unwrapped && req->size > req->max_bytes)
        return GW_ELIMIT;
    if (!(al = calloc(1, sizeof(*al))))
        return GW_ENOMEM;
    al->req = *req;
    al->cb = cb;
    al->ud = ud;
    al->fd = -1;
    if (req->raw && (req->unwrapped || req->b64_len > req->max_bytes)) {
        free(al);
        return req->unwrapped ? GW_EINVAL : GW_ELIMIT;
    }
    if (!req->unwrapped && req->size > 0) {
        if (!(al->out = malloc((size_t)req->size + 3))) {
            free(al);
            return GW_ENOMEM;
        }
        al->out_cap =
            (size_t)req->size + 3 > req->max_bytes ? (size_t)req->max_bytes : (size_t)req->size + 3;
    }
    if (req->unwrapped && (al->fd = gw_al_tmpfile()) < 0) {
        free(al);
        return GW_EIO;
    }
    if (req->b64_len == 0) { /* an empty attachment: nothing to fetch */
        al->last = true;
        al->work.data = al;
        rc = uv_queue_work(req->loop, &al->work, gw_al_work, gw_al_worked);
    } else if (req->body_chunks == 1 && req->body_size >= req->b64_offset + req->b64_len) {
        /* one chunk of body_size bytes, as the claim said: no layout query */
        int64_t len = (int64_t)req->body_size;
        rc = gw_al_set_layout(al, &len, 1);
        if (rc == 0)
            rc = gw_body_cache_read(req->cache, req->db, req->body_id, 0, gw_al_fill(req),
                                    gw_al_chunk, al);
    } else {
        rc = gw_store_check_layout(req->db, req->body_id, gw_al_layout, al);
    }
    if (rc != 0) {
        if (al->fd >= 0)
            close(al->fd);
        free(al->lens);
        free(al->piece);
        free(al->out);
        free(al);
    }
    return rc;
}

int gw_attach_decode(const char *b64, size_t len, bool unwrapped, uint64_t max_bytes,
                     unsigned max_zip_ratio, uint8_t **out, size_t *n, const char **code)
{
    struct gw_attach_load al;

    memset(&al, 0, sizeof(al));
    al.req.max_bytes = max_bytes;
    al.req.unwrapped = unwrapped;
    al.req.max_zip_ratio = max_zip_ratio;
    al.fd = unwrapped ? gw_al_tmpfile() : -1;
    *out = NULL;
    *n = 0;
    if (unwrapped && al.fd < 0) {
        *code = "temporary_file";
        return GW_EIO;
    }
    al.piece = (uint8_t *)b64; /* only read */
    al.piece_n = len;
    al.last = true;
    al.work.data = &al;
    gw_al_work(&al.work);
    if (al.fd >= 0)
        close(al.fd);
    if (al.err != 0) {
        free(al.out);
        *code = al.code;
        return al.err;
    }
    *out = al.out;
    *n = al.out_n;
    return 0;
}
