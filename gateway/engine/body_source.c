/*
 * The chunk-backed package source a send pulls: stored chunks fetched one at a time from
 * PostgreSQL, passed through the per-axis relay plan, served to the adapter slice by slice; and
 * the measuring pass that gives the copy's length and SHA-256 (and feeds a reader) on the thread
 * pool. Memory: one chunk, its edited form and the worker's copy of it; or, for a body within
 * the bounds of kept bytes, the whole stored body, kept by the measure so that the send reads no
 * chunk again.
 */
#include "engine/body_source.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_body.h"
#include "util/common.h"
#include "util/error.h"

struct gw_body_source {
    struct gw_axis_body body;
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_body_cache *cache;
    int64_t body_id;
    int64_t chunks;
    uint64_t in_len;
    struct gw_edxml_plan identity; /* no plan: the bytes as stored */
    const struct gw_edxml_plan *plan;
    struct gw_edxml_apply ap;
    int64_t seq;  /* next chunk to fetch */
    uint64_t fed; /* stored bytes fetched so far */
    bool at_end;  /* every chunk fetched and the plan's end applied */
    /* the stored bytes kept by the measure (in_len, charged to the budget): complete when the
     * pass succeeded, and then the reads take their bytes from here */
    uint8_t *kept;
    bool kept_all;
    /* the current chunk's edited bytes */
    uint8_t *out;
    size_t out_len, out_cap, out_off;
    /* the read waiting for a chunk */
    bool reading;
    size_t cap;
    gw_axis_body_done_cb done;
    void *done_ud;
    bool fetching;              /* a chunk query is in flight */
    bool dead;                  /* freed while something was in flight */
    void (*released)(void *ud); /* runs once the source is gone (gw_body_source_free_then) */
    void *released_ud;
    /* the measuring pass */
    bool measuring, working;
    uv_work_t work;
    uint8_t *wbuf;
    const uint8_t *wbytes; /* what the worker takes: wbuf, or the chunk's place in kept */
    size_t wlen, wcap;
    bool wlast;
    int werr;
    EVP_MD_CTX *sha;
    EVP_MD_CTX *in_sha; /* the stored bytes', when an expected SHA-256 was given */
    uint8_t expect[32];
    uint64_t mlen;
    struct gw_edxml_reader *reader;
    struct gw_edxml_doc *doc;
    char why[256];
    gw_body_source_measured_cb measured;
    void *measured_ud;
};

/* Slice of the kept bytes put through the plan at a time (the edited form held is about this). */
#define GW_SRC_KEPT_SLICE ((size_t)256 * 1024)

static uint64_t g_keep_max = GW_BODY_SOURCE_KEEP_MAX;
static uint64_t g_keep_budget = GW_BODY_SOURCE_KEEP_BUDGET;
static _Atomic uint64_t g_kept;

void gw_body_source_keep_limits(uint64_t per_send, uint64_t budget)
{
    g_keep_max = per_send;
    g_keep_budget = budget;
}

uint64_t gw_body_source_kept_bytes(void)
{
    return atomic_load_explicit(&g_kept, memory_order_relaxed);
}

/* Takes n bytes of the budget; false when they do not fit. */
static bool gw_src_charge(uint64_t n)
{
    uint64_t used = atomic_load_explicit(&g_kept, memory_order_relaxed);

    do {
        if (n > g_keep_budget || used > g_keep_budget - n)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&g_kept, &used, used + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* Gives the kept bytes and their share of the budget back. */
static void gw_src_unkeep(struct gw_body_source *src)
{
    if (!src->kept)
        return;
    free(src->kept);
    src->kept = NULL;
    src->kept_all = false;
    atomic_fetch_sub_explicit(&g_kept, src->in_len, memory_order_relaxed);
}

static void gw_src_reset(struct gw_body_source *src)
{
    gw_edxml_apply_init(&src->ap, src->plan);
    src->seq = 0;
    src->fed = 0;
    src->at_end = false;
    src->out_len = src->out_off = 0;
}

static void gw_src_release(struct gw_body_source *src)
{
    gw_edxml_reader_free(src->reader);
    EVP_MD_CTX_free(src->sha);
    EVP_MD_CTX_free(src->in_sha);
    if (src->doc) {
        gw_edxml_doc_free(src->doc);
        free(src->doc);
    }
    void (*released)(void *) = src->released;
    void *released_ud = src->released_ud;

    gw_src_unkeep(src);
    free(src->out);
    free(src->wbuf);
    free(src);
    if (released)
        released(released_ud);
}

static int gw_src_keep(const void *buf, size_t len, void *ud)
{
    struct gw_body_source *src = ud;

    if (len > src->out_cap - src->out_len) {
        size_t cap = src->out_cap ? src->out_cap : 4096;
        uint8_t *p;
        while (cap - src->out_len < len)
            cap *= 2;
        if (!(p = realloc(src->out, cap)))
            return GW_ENOMEM;
        src->out = p;
        src->out_cap = cap;
    }
    memcpy(src->out + src->out_len, buf, len);
    src->out_len += len;
    return 0;
}

/* Takes chunk bytes into the plan; sets at_end after the last chunk. */
static int gw_src_take(struct gw_body_source *src, const uint8_t *bytes, size_t len,
                       gw_edxml_emit_fn emit)
{
    int rc;

    if (len > src->in_len - src->fed)
        return GW_ESTORED; /* more bytes than the body's size */
    src->fed += len;
    src->seq++;
    rc = gw_edxml_apply_feed(&src->ap, bytes, len, emit, src);
    if (rc == 0 && src->seq >= src->chunks) {
        if (src->fed != src->in_len)
            return GW_ESTORED; /* fewer bytes than the body's size */
        rc = gw_edxml_apply_end(&src->ap, emit, src);
        src->at_end = true;
    }
    return rc;
}

/* Takes the next slice of the kept bytes into the plan, as a chunk would be. */
static int gw_src_take_kept(struct gw_body_source *src)
{
    size_t n = src->in_len - src->fed < GW_SRC_KEPT_SLICE ? (size_t)(src->in_len - src->fed)
                                                          : GW_SRC_KEPT_SLICE;
    int rc;

    src->out_len = src->out_off = 0;
    rc = gw_edxml_apply_feed(&src->ap, src->kept + src->fed, n, gw_src_keep, src);
    src->fed += n;
    if (rc == 0 && src->fed == src->in_len) {
        rc = gw_edxml_apply_end(&src->ap, gw_src_keep, src);
        src->at_end = true;
    }
    return rc;
}

static int gw_src_fetch(struct gw_body_source *src);

/* Answers the waiting read from the edited bytes at hand (or takes or fetches on). */
static void gw_src_serve(struct gw_body_source *src, int err)
{
    gw_axis_body_done_cb done = src->done;
    size_t n = 0;

    while (err == 0 && src->kept_all && src->out_off == src->out_len && !src->at_end)
        err = gw_src_take_kept(src);
    if (err == 0 && src->out_off == src->out_len && !src->at_end) {
        err = gw_src_fetch(src); /* a chunk that left nothing once edited */
        if (err == 0)
            return;
    }
    if (err == 0) {
        n = src->out_len - src->out_off < src->cap ? src->out_len - src->out_off : src->cap;
        src->out_off += n;
    }
    src->reading = false;
    done(err, err == 0 && n ? src->out + src->out_off - n : NULL, n, src->done_ud);
}

static void gw_src_measure_chunk(struct gw_body_source *src, int err, const uint8_t *bytes,
                                 size_t len);

static void gw_src_chunk(int err, const uint8_t *bytes, size_t len, void *ud)
{
    struct gw_body_source *src = ud;

    src->fetching = false;
    if (src->dead) {
        gw_src_release(src);
        return;
    }
    if (err == GW_ENOENT)
        err = GW_ESTORED; /* a chunk missing before the body's count */
    if (src->measuring) {
        gw_src_measure_chunk(src, err, bytes, len);
        return;
    }
    src->out_len = src->out_off = 0;
    if (err == 0)
        err = gw_src_take(src, bytes, len, gw_src_keep);
    gw_src_serve(src, err);
}

static int gw_src_fetch(struct gw_body_source *src)
{
    int rc =
        gw_body_cache_read(src->cache, src->db, src->body_id, src->seq, false, gw_src_chunk, src);
    if (rc == 0)
        src->fetching = true;
    return rc;
}

static int gw_src_read(struct gw_axis_body *b, size_t cap, gw_axis_body_done_cb done, void *done_ud)
{
    struct gw_body_source *src = b->ud;

    if (src->reading || src->measuring || cap == 0)
        return GW_EINVAL;
    src->reading = true;
    src->cap = cap;
    src->done = done;
    src->done_ud = done_ud;
    if (src->out_off < src->out_len || src->at_end || src->kept_all) {
        gw_src_serve(src, 0);
        return 0;
    }
    int rc = gw_src_fetch(src);
    if (rc != 0)
        src->reading = false;
    return rc;
}

static int gw_src_rewind(struct gw_axis_body *b)
{
    struct gw_body_source *src = b->ud;

    if (src->reading || src->measuring)
        return GW_EINVAL;
    gw_src_reset(src);
    return 0;
}

int gw_body_source_new(uv_loop_t *loop, struct gw_db *db, struct gw_body_cache *cache,
                       int64_t body_id, uint64_t in_len, int64_t chunks,
                       const struct gw_edxml_plan *plan, struct gw_body_source **out)
{
    struct gw_body_source *src;

    *out = NULL;
    if (chunks < 1 || in_len == 0 || (plan && plan->in_len != in_len))
        return GW_EINVAL;
    if (!(src = calloc(1, sizeof(*src))))
        return GW_ENOMEM;
    src->loop = loop;
    src->db = db;
    src->cache = cache;
    src->body_id = body_id;
    src->chunks = chunks;
    src->in_len = in_len;
    src->identity.in_len = src->identity.out_len = in_len;
    src->plan = plan ? plan : &src->identity;
    src->body = (struct gw_axis_body){
        .len = src->plan->out_len, .read = gw_src_read, .rewind = gw_src_rewind, .ud = src};
    gw_src_reset(src);
    *out = src;
    return 0;
}

int gw_body_source_expect(struct gw_body_source *src, const uint8_t sha256[32])
{
    if (!src->in_sha && !(src->in_sha = EVP_MD_CTX_new()))
        return GW_ENOMEM;
    memcpy(src->expect, sha256, 32);
    return 0;
}

struct gw_axis_body *gw_body_source_body(struct gw_body_source *src)
{
    return &src->body;
}

/* ---- the measuring pass ---- */

static int gw_src_hash(const void *buf, size_t len, void *ud)
{
    struct gw_body_source *src = ud;

    if (EVP_DigestUpdate(src->sha, buf, len) != 1)
        return GW_ENOMEM;
    src->mlen += len;
    if (src->reader && src->werr == 0 && len > 0 &&
        gw_edxml_reader_feed(src->reader, buf, len) != 0)
        src->werr = GW_ECOPY; /* the reader's message comes with finish */
    return 0;
}

static void gw_src_work(uv_work_t *w)
{
    struct gw_body_source *src = gw_container_of(w, struct gw_body_source, work);
    const char *code = NULL;
    int rc = 0;

    if (src->in_sha && EVP_DigestUpdate(src->in_sha, src->wbytes, src->wlen) != 1)
        rc = GW_ENOMEM;
    if (rc == 0)
        rc = gw_src_take(src, src->wbytes, src->wlen, gw_src_hash);

    if (rc != 0 && src->werr == 0)
        src->werr = rc;
    if (!src->reader || (!src->at_end && src->werr != GW_ECOPY))
        return;
    if (gw_edxml_reader_finish(src->reader, &src->doc, &code, src->why, sizeof(src->why)) != 0 &&
        (src->werr == 0 || src->werr == GW_ECOPY))
        src->werr = GW_ECOPY;
    gw_edxml_reader_free(src->reader);
    src->reader = NULL;
}

static void gw_src_measure_end(struct gw_body_source *src, int err)
{
    uint8_t md[32] = {0};
    unsigned mdlen = 0;

    src->measuring = false;
    if (EVP_DigestFinal_ex(src->sha, md, &mdlen) != 1 && err == 0)
        err = GW_ENOMEM;
    if (src->in_sha && err == 0) {
        uint8_t in_md[32];
        unsigned in_len = 0;
        if (EVP_DigestFinal_ex(src->in_sha, in_md, &in_len) != 1)
            err = GW_ENOMEM;
        else if (in_len != 32 || memcmp(in_md, src->expect, 32) != 0)
            err = GW_ESTORED; /* the stored chunks are not the package received */
    }
    if (err == 0) {
        src->body.len = src->mlen;
        memcpy(src->body.sha256, md, sizeof(md));
        src->kept_all = src->kept != NULL; /* every chunk passed: fed == in_len */
    } else
        gw_src_unkeep(src);
    gw_src_reset(src);
    src->measured(err, src->mlen, md, err == 0 ? src->doc : NULL, err == GW_ECOPY ? src->why : NULL,
                  src->measured_ud);
}

static void gw_src_worked(uv_work_t *w, int status)
{
    struct gw_body_source *src = gw_container_of(w, struct gw_body_source, work);
    int err = status != 0 ? GW_ECANCELED : src->werr;

    src->working = false;
    if (src->dead) {
        gw_src_release(src);
        return;
    }
    if (err == 0 && !src->at_end)
        err = gw_src_fetch(src);
    if (err != 0 || src->at_end)
        gw_src_measure_end(src, err);
}

static void gw_src_measure_chunk(struct gw_body_source *src, int err, const uint8_t *bytes,
                                 size_t len)
{
    uint8_t *dst = src->kept ? src->kept + src->fed : NULL; /* kept: the chunk's place there */

    if (err == 0 && dst && len > src->in_len - src->fed)
        err = GW_ESTORED; /* more bytes than the body's size */
    else if (err == 0 && !dst && len > src->wcap) {
        uint8_t *p = realloc(src->wbuf, len);
        if (!p)
            err = GW_ENOMEM;
        else {
            src->wbuf = p;
            src->wcap = len;
        }
    }
    if (err == 0) {
        dst = dst ? dst : src->wbuf;
        memcpy(dst, bytes, len);
        src->wbytes = dst;
        src->wlen = len;
        if (uv_queue_work(src->loop, &src->work, gw_src_work, gw_src_worked) != 0)
            err = GW_EAGAIN;
        else
            src->working = true;
    }
    if (err != 0)
        gw_src_measure_end(src, err);
}

int gw_body_source_measure(struct gw_body_source *src, struct gw_edxml_reader *reader,
                           gw_body_source_measured_cb cb, void *ud)
{
    int rc;

    if (src->reading || src->measuring) {
        gw_edxml_reader_free(reader);
        return GW_EINVAL;
    }
    gw_src_reset(src);
    gw_src_unkeep(src);
    if (!src->sha && !(src->sha = EVP_MD_CTX_new())) {
        gw_edxml_reader_free(reader);
        return GW_ENOMEM;
    }
    if (EVP_DigestInit_ex(src->sha, EVP_sha256(), NULL) != 1 ||
        (src->in_sha && EVP_DigestInit_ex(src->in_sha, EVP_sha256(), NULL) != 1)) {
        gw_edxml_reader_free(reader);
        return GW_ENOMEM;
    }
    src->mlen = 0;
    src->werr = 0;
    src->why[0] = '\0';
    gw_edxml_reader_free(src->reader);
    if (src->doc) {
        gw_edxml_doc_free(src->doc);
        free(src->doc);
        src->doc = NULL;
    }
    src->reader = reader;
    src->measured = cb;
    src->measured_ud = ud;
    src->measuring = true;
    if (src->in_len <= g_keep_max && gw_src_charge(src->in_len) &&
        !(src->kept = malloc(src->in_len)))
        atomic_fetch_sub_explicit(&g_kept, src->in_len, memory_order_relaxed);
    rc = gw_src_fetch(src);
    if (rc != 0) {
        src->measuring = false;
        gw_src_unkeep(src);
    }
    return rc;
}

void gw_body_source_free_then(struct gw_body_source *src, void (*released)(void *ud), void *ud)
{
    if (!src) {
        if (released)
            released(ud);
        return;
    }
    src->released = released;
    src->released_ud = ud;
    if (src->fetching || src->working) {
        src->dead = true;
        return;
    }
    gw_src_release(src);
}

void gw_body_source_free(struct gw_body_source *src)
{
    gw_body_source_free_then(src, NULL, NULL);
}
