/*
 * The cache of stored body chunks (body_cache.h): a hash on (body_id, seq) over entries that also
 * sit on a FIFO list, oldest first. A hit is called back on a later loop turn from a queue that a
 * zero timer drains; it holds a reference on its entry, so an eviction in between frees nothing
 * a callback is about to read.
 */
#include "store/body_cache.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define GW_BC_MIN_BUCKETS 64

struct gw_bc_entry {
    int64_t body_id, seq;
    struct gw_bc_entry *hnext;         /* bucket chain */
    struct gw_bc_entry *older, *newer; /* FIFO */
    uint64_t added_ms;
    unsigned refs; /* the cache's own while kept, and one per hit not yet called back */
    size_t len;
    uint8_t bytes[];
};

struct gw_bc_hit {
    struct gw_bc_hit *next;
    struct gw_bc_entry *e;
    gw_store_body_chunk_cb cb;
    void *ud;
};

/* A read from PostgreSQL whose chunk is kept for the next reader. */
struct gw_bc_miss {
    struct gw_body_cache *c;
    int64_t body_id, seq;
    gw_store_body_chunk_cb cb;
    void *ud;
};

struct gw_body_cache {
    uv_loop_t *loop;
    uv_timer_t flush; /* calls the hits back */
    uv_timer_t sweep; /* drops entries past max_age while nothing is added */
    uint64_t max_bytes, max_age_ms, bytes;
    size_t n, n_buckets;
    struct gw_bc_entry **buckets;
    struct gw_bc_entry *oldest, *newest;
    struct gw_bc_hit *hits, *hits_tail;
    unsigned handles;   /* timers not yet closed */
    unsigned in_flight; /* filling reads not yet back */
    bool closing;
    struct gw_metric *m_hits, *m_misses, *m_bytes;
};

static size_t gw_bc_slot(int64_t body_id, int64_t seq, size_t n_buckets)
{
    uint64_t x = (uint64_t)body_id * 0x9E3779B97F4A7C15u ^ (uint64_t)seq;

    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 29;
    return (size_t)(x & (n_buckets - 1));
}

static struct gw_bc_entry *gw_bc_find(const struct gw_body_cache *c, int64_t body_id, int64_t seq)
{
    struct gw_bc_entry *e;

    if (!c->buckets)
        return NULL;
    for (e = c->buckets[gw_bc_slot(body_id, seq, c->n_buckets)]; e; e = e->hnext) {
        if (e->body_id == body_id && e->seq == seq)
            return e;
    }
    return NULL;
}

static void gw_bc_unref(struct gw_bc_entry *e)
{
    if (--e->refs == 0)
        free(e);
}

static void gw_bc_gauge(struct gw_body_cache *c)
{
    gw_metric_set(c->m_bytes, (double)c->bytes);
}

/* Takes e out of the hash and the FIFO. */
static void gw_bc_drop(struct gw_body_cache *c, struct gw_bc_entry *e)
{
    struct gw_bc_entry **p = &c->buckets[gw_bc_slot(e->body_id, e->seq, c->n_buckets)];

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->bytes -= e->len;
    c->n--;
    gw_bc_unref(e);
}

/* Oldest first, while over the byte bound or past the age bound. */
static void gw_bc_evict(struct gw_body_cache *c)
{
    uint64_t now = uv_now(c->loop);

    while (c->oldest && (c->bytes > c->max_bytes || now - c->oldest->added_ms > c->max_age_ms))
        gw_bc_drop(c, c->oldest);
    gw_bc_gauge(c);
}

static void gw_bc_on_sweep(uv_timer_t *t)
{
    gw_bc_evict(t->data);
}

/* Doubles the buckets when the entries outnumber them; a failure keeps the smaller table. */
static int gw_bc_grow(struct gw_body_cache *c)
{
    size_t n = c->n_buckets ? c->n_buckets * 2 : GW_BC_MIN_BUCKETS;
    struct gw_bc_entry **b;

    if (c->buckets && c->n < c->n_buckets)
        return 0;
    if (!(b = calloc(n, sizeof(*b))))
        return c->buckets ? 0 : GW_ENOMEM;
    for (size_t i = 0; i < c->n_buckets; i++) {
        struct gw_bc_entry *e = c->buckets[i], *next;
        for (; e; e = next) {
            size_t s = gw_bc_slot(e->body_id, e->seq, n);
            next = e->hnext;
            e->hnext = b[s];
            b[s] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
    return 0;
}

struct gw_body_cache *gw_body_cache_new(uv_loop_t *loop, uint64_t max_bytes, uint64_t max_age_ms,
                                        struct gw_metrics *metrics)
{
    struct gw_body_cache *c = calloc(1, sizeof(*c));
    uint64_t every;

    if (!c)
        return NULL;
    c->loop = loop;
    c->max_bytes = max_bytes;
    c->max_age_ms = max_age_ms;
    /* Without a registry the series are the metrics module's scratch one. */
    c->m_hits = gw_metric_series(
        metrics ? gw_metrics_counter(metrics, "gateway_body_cache_hits_total",
                                     "body chunks read from memory instead of PostgreSQL", NULL)
                : NULL);
    c->m_misses = gw_metric_series(
        metrics ? gw_metrics_counter(metrics, "gateway_body_cache_misses_total",
                                     "body chunks read from PostgreSQL because they were not kept",
                                     NULL)
                : NULL);
    c->m_bytes =
        gw_metric_series(metrics ? gw_metrics_gauge(metrics, "gateway_body_cache_bytes",
                                                    "bytes of body chunks kept in memory", NULL)
                                 : NULL);
    uv_timer_init(loop, &c->flush);
    uv_timer_init(loop, &c->sweep);
    c->flush.data = c->sweep.data = c;
    c->handles = 2;
    every = max_age_ms / 4 > 1000 ? max_age_ms / 4 : 1000;
    if (max_bytes > 0) {
        uv_timer_start(&c->sweep, gw_bc_on_sweep, every, every);
        uv_unref((uv_handle_t *)&c->sweep);
    }
    return c;
}

void gw_body_cache_put(struct gw_body_cache *c, int64_t body_id, int64_t seq, const void *bytes,
                       size_t len)
{
    struct gw_bc_entry *e;
    size_t s;

    if (!c || c->closing || len == 0 || len > c->max_bytes / 4 || gw_bc_find(c, body_id, seq))
        return;
    if (gw_bc_grow(c) != 0 || !(e = malloc(sizeof(*e) + len)))
        return;
    e->body_id = body_id;
    e->seq = seq;
    e->added_ms = uv_now(c->loop);
    e->refs = 1;
    e->len = len;
    memcpy(e->bytes, bytes, len);
    s = gw_bc_slot(body_id, seq, c->n_buckets);
    e->hnext = c->buckets[s];
    c->buckets[s] = e;
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->n++;
    c->bytes += len;
    gw_bc_evict(c);
}

void gw_body_cache_forget(struct gw_body_cache *c, int64_t body_id)
{
    struct gw_bc_entry *e, *newer;

    if (!c)
        return;
    for (e = c->oldest; e; e = newer) {
        newer = e->newer;
        if (e->body_id == body_id)
            gw_bc_drop(c, e);
    }
    gw_bc_gauge(c);
}

uint64_t gw_body_cache_bytes(const struct gw_body_cache *c)
{
    return c ? c->bytes : 0;
}

/* Calls back the hits queued before this turn; a callback that reads again queues for the next. */
static void gw_bc_run_hits(struct gw_body_cache *c, int err)
{
    struct gw_bc_hit *h = c->hits, *next;

    c->hits = c->hits_tail = NULL;
    for (; h; h = next) {
        next = h->next;
        if (err == 0)
            h->cb(0, h->e->bytes, h->e->len, h->ud);
        else
            h->cb(err, NULL, 0, h->ud);
        gw_bc_unref(h->e);
        free(h);
    }
}

static void gw_bc_on_flush(uv_timer_t *t)
{
    gw_bc_run_hits(t->data, 0);
}

static void gw_bc_filled(int err, const uint8_t *bytes, size_t len, void *ud)
{
    struct gw_bc_miss *m = ud;
    struct gw_body_cache *c = m->c;

    c->in_flight--;
    if (err == 0)
        gw_body_cache_put(c, m->body_id, m->seq, bytes, len);
    m->cb(err, bytes, len, m->ud);
    free(m);
}

int gw_body_cache_read(struct gw_body_cache *c, struct gw_db *db, int64_t body_id, int64_t seq,
                       bool fill, gw_store_body_chunk_cb cb, void *ud)
{
    struct gw_bc_entry *e;
    struct gw_bc_hit *h;
    struct gw_bc_miss *m;
    int rc;

    if (!c || c->closing)
        return gw_store_body_chunk(db, body_id, seq, cb, ud);
    if ((e = gw_bc_find(c, body_id, seq)) && (h = malloc(sizeof(*h)))) {
        h->next = NULL;
        h->e = e;
        h->cb = cb;
        h->ud = ud;
        e->refs++;
        if (c->hits_tail)
            c->hits_tail->next = h;
        else
            c->hits = h;
        c->hits_tail = h;
        uv_timer_start(&c->flush, gw_bc_on_flush, 0, 0);
        gw_metric_inc(c->m_hits);
        return 0;
    }
    gw_metric_inc(c->m_misses);
    if (!fill || c->max_bytes == 0 || !(m = malloc(sizeof(*m))))
        return gw_store_body_chunk(db, body_id, seq, cb, ud);
    *m = (struct gw_bc_miss){.c = c, .body_id = body_id, .seq = seq, .cb = cb, .ud = ud};
    if ((rc = gw_store_body_chunk(db, body_id, seq, gw_bc_filled, m)) != 0) {
        free(m);
        return rc;
    }
    c->in_flight++;
    return 0;
}

static void gw_bc_closed(uv_handle_t *h)
{
    struct gw_body_cache *c = h->data;

    c->handles--;
}

void gw_body_cache_close(struct gw_body_cache *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    gw_bc_run_hits(c, GW_ECANCELED);
    while (c->oldest)
        gw_bc_drop(c, c->oldest);
    gw_bc_gauge(c);
    uv_timer_stop(&c->flush);
    uv_timer_stop(&c->sweep);
    uv_close((uv_handle_t *)&c->flush, gw_bc_closed);
    uv_close((uv_handle_t *)&c->sweep, gw_bc_closed);
}

void gw_body_cache_free(struct gw_body_cache *c)
{
    if (!c)
        return;
    if (!c->closing || c->handles > 0 || c->in_flight > 0) {
        /* Freed too early: leaking is safer than a callback into freed memory. */
        return;
    }
    free(c->buckets);
    free(c);
}
