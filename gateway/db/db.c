/*
 * PostgreSQL pool facade: configuration, the FIFO of waiting queries (bounded by max_queue, swept
 * by one timer for queue_timeout_ms), hand-off of queued queries to idle connections, and the
 * shutdown (orderly or forced) that frees the pool once every libuv handle has been closed. The
 * connection state machine itself lives in db_conn.c.
 */
#include "db/db_internal.h"
#include "util/error.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gw_db_config_default(struct gw_db_config *c)
{
    memset(c, 0, sizeof(*c));
    c->conninfo = "";
    c->pool_size = 4;
    c->max_queue = 1024;
    c->queue_timeout_ms = 5000;
    c->query_timeout_ms = 30000;
    c->reconnect_min_ms = 100;
    c->reconnect_max_ms = 10000;
}

uint64_t gw_db_random(struct gw_db *db)
{
    /* xorshift64: jitter only, not security relevant. */
    uint64_t x = db->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    db->rng = x;
    return x;
}

/* Copies a libpq message into buf on one line: newlines and tabs become single spaces. */
const char *gw_db_oneline(char *buf, size_t cap, const char *msg)
{
    size_t n = 0;

    for (; msg && *msg && n + 1 < cap; msg++) {
        char ch = *msg == '\n' || *msg == '\t' || *msg == '\r' ? ' ' : *msg;
        if (ch == ' ' && (n == 0 || buf[n - 1] == ' '))
            continue;
        buf[n++] = ch;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

/* TCP keepalive settings applied unless the conninfo sets them, so that a peer that vanished
 * without a reset is noticed within about a minute instead of the kernel's two hours. Unix-socket
 * connections ignore them. */
static const char *const gw_db_tcp_defaults[][2] = {
    {"keepalives", "1"},       {"keepalives_idle", "30"},     {"keepalives_interval", "10"},
    {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
};

/* Fills the PQconnectStartParams arrays: the defaults this libpq knows (tcp_user_timeout needs
 * libpq 12) that opts (the parsed conninfo) leaves unset, then dbname = the whole conninfo for
 * expansion. Expanded fields override array entries before dbname, so the defaults come first. */
static void gw_db_conn_params(struct gw_db *db, const PQconninfoOption *opts)
{
    size_t n = 0;

    for (size_t i = 0; i < GW_ARRAY_LEN(gw_db_tcp_defaults); i++) {
        const PQconninfoOption *o = opts;
        while (o->keyword && strcmp(o->keyword, gw_db_tcp_defaults[i][0]) != 0)
            o++;
        if (!o->keyword || (o->val && *o->val))
            continue;
        db->conn_keys[n] = gw_db_tcp_defaults[i][0];
        db->conn_vals[n] = gw_db_tcp_defaults[i][1];
        n++;
    }
    db->conn_keys[n] = "dbname";
    db->conn_vals[n] = db->conninfo;
    n++;
    db->conn_keys[n] = NULL;
    db->conn_vals[n] = NULL;
}

static void gw_db_free(struct gw_db *db)
{
    free(db->conns);
    free(db->conninfo);
    free(db);
}

void gw_db_handle_closed(struct gw_db *db)
{
    void (*cb)(void *ud);
    void *ud;

    db->handles--;
    if (db->handles > 0 || !db->closing)
        return;
    cb = db->closed_cb;
    ud = db->closed_ud;
    gw_debug("db.closed", "database pool closed");
    gw_db_free(db);
    if (cb)
        cb(ud);
}

static void gw_db_on_handle_closed(uv_handle_t *h)
{
    gw_db_handle_closed(h->data);
}

void gw_db_req_finish(struct gw_db_req *r, int err, const PGresult *res, const char *sqlstate)
{
    r->cb(err, res, sqlstate ? sqlstate : "", r->ud);
    free(r);
}

static struct gw_db_req *gw_db_fifo_pop(struct gw_db *db, struct gw_db_fifo *q)
{
    struct gw_db_req *r = q->head;

    if (!r)
        return NULL;
    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    r->next = NULL;
    q->len--;
    db->q_len--;
    return r;
}

/* The work in hand first, but the oldest intake first once it has waited a quarter of
 * queue_timeout_ms (GW_DB_INTAKE_WAIT_MS without one): work that callbacks keep queueing
 * (pollers, client reads) would otherwise keep the intake waiting until its queue timeout. */
struct gw_db_req *gw_db_queue_pop(struct gw_db *db)
{
    uint64_t wait = db->cfg.queue_timeout_ms ? db->cfg.queue_timeout_ms / 4 : GW_DB_INTAKE_WAIT_MS;
    const struct gw_db_req *in = db->intake.head;

    if (in && (!db->queue.head || uv_now(db->loop) - in->enqueued_ms >= wait))
        return gw_db_fifo_pop(db, &db->intake);
    return gw_db_fifo_pop(db, &db->queue);
}

bool gw_db_queued(const struct gw_db *db)
{
    return db->queue.head || db->intake.head;
}

/* Detaches both queues (work in hand first) so callbacks may enqueue while the caller walks the
 * old list. */
static struct gw_db_req *gw_db_queue_take_all(struct gw_db *db)
{
    struct gw_db_req *all = db->queue.head;

    if (db->queue.tail)
        db->queue.tail->next = db->intake.head;
    else
        all = db->intake.head;
    db->queue.head = db->queue.tail = db->intake.head = db->intake.tail = NULL;
    db->queue.len = db->intake.len = db->q_len = 0;
    return all;
}

static void gw_db_on_kick(uv_idle_t *h)
{
    struct gw_db *db = h->data;

    uv_idle_stop(h);
    for (unsigned i = 0; i < db->cfg.pool_size && gw_db_queued(db) && !db->closing; i++)
        gw_db_conn_next(&db->conns[i]);
}

/* Schedules a hand-off on the next loop turn when a connection is idle; never dispatches
 * synchronously, so no callback can run inside gw_db_query. */
void gw_db_kick(struct gw_db *db)
{
    if (db->closing || !gw_db_queued(db))
        return;
    for (unsigned i = 0; i < db->cfg.pool_size; i++) {
        if (db->conns[i].state == GW_DBC_IDLE) {
            uv_idle_start(&db->kick, gw_db_on_kick);
            return;
        }
    }
}

static void gw_db_on_sweep(uv_timer_t *t)
{
    struct gw_db *db = t->data;
    uint64_t now = uv_now(db->loop);
    struct gw_db_req *expired = NULL, **tail = &expired;

    /* The expired ones are a prefix of each queue. Detach them all before any callback may
     * enqueue again. */
    struct gw_db_fifo *qs[2] = {&db->queue, &db->intake};
    for (size_t i = 0; i < 2; i++) {
        while (qs[i]->head && now - qs[i]->head->enqueued_ms >= db->cfg.queue_timeout_ms) {
            *tail = gw_db_fifo_pop(db, qs[i]);
            tail = &(*tail)->next;
        }
    }
    if (!gw_db_queued(db))
        uv_timer_stop(t);
    if (expired)
        gw_warn("db.queue_timeout", "queries waited more than %llu ms for a connection",
                (unsigned long long)db->cfg.queue_timeout_ms);
    while (expired) {
        struct gw_db_req *r = expired;
        expired = r->next;
        gw_db_req_finish(r, GW_EDB, NULL, "");
    }
}

static uint64_t gw_db_sweep_interval(const struct gw_db *db)
{
    uint64_t iv = db->cfg.queue_timeout_ms / 4;
    return iv < 10 ? 10 : iv > 1000 ? 1000 : iv;
}

static int gw_db_open_common(uv_loop_t *loop, const struct gw_db_config *cfg, bool held,
                             struct gw_db **out)
{
    struct gw_db *db;
    PQconninfoOption *opts;
    char *errmsg = NULL;

    *out = NULL;
    opts = PQconninfoParse(cfg->conninfo ? cfg->conninfo : "", &errmsg);
    if (!opts) {
        char msg[512];
        gw_error("db.config", "bad conninfo: %s",
                 gw_db_oneline(msg, sizeof(msg), errmsg ? errmsg : "out of memory"));
        PQfreemem(errmsg);
        return errmsg ? GW_EINVAL : GW_ENOMEM;
    }

    db = calloc(1, sizeof(*db));
    if (!db) {
        PQconninfoFree(opts);
        return GW_ENOMEM;
    }
    db->loop = loop;
    db->cfg = *cfg;
    db->held = held;
    if (db->cfg.pool_size == 0)
        db->cfg.pool_size = 4;
    if (db->cfg.reconnect_min_ms == 0)
        db->cfg.reconnect_min_ms = 100;
    if (db->cfg.reconnect_max_ms < db->cfg.reconnect_min_ms)
        db->cfg.reconnect_max_ms = db->cfg.reconnect_min_ms;
    db->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
    db->conns = calloc(db->cfg.pool_size, sizeof(*db->conns));
    if (!db->conninfo || !db->conns) {
        PQconninfoFree(opts);
        gw_db_free(db);
        return GW_ENOMEM;
    }
    db->cfg.conninfo = db->conninfo;
    gw_db_conn_params(db, opts);
    PQconninfoFree(opts);
    db->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)db;
    if (db->rng == 0)
        db->rng = 0x9e3779b97f4a7c15ull;

    uv_timer_init(loop, &db->sweep);
    db->sweep.data = db;
    uv_idle_init(loop, &db->kick);
    db->kick.data = db;
    db->handles = 2;
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        gw_db_conn_init(db, &db->conns[i], i);
    gw_info("db.open", "database pool of %u connections%s", db->cfg.pool_size,
            held ? ", held until the schema is ready" : "");
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        gw_db_conn_start(&db->conns[i]);
    *out = db;
    return 0;
}

int gw_db_open(uv_loop_t *loop, const struct gw_db_config *cfg, struct gw_db **out)
{
    return gw_db_open_common(loop, cfg, false, out);
}

int gw_db_open_held(uv_loop_t *loop, const struct gw_db_config *cfg, struct gw_db **out)
{
    return gw_db_open_common(loop, cfg, true, out);
}

void gw_db_release(struct gw_db *db)
{
    if (!db || !db->held || db->closing)
        return;
    db->held = false;
    gw_info("db.release", "schema ready: connecting the database pool");
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        gw_db_conn_start(&db->conns[i]);
}

/* A binary parameter gw_db_query_borrow references instead of copying. */
static bool gw_db_borrowed(bool borrow, const int *formats, const int *lengths, int i)
{
    return borrow && formats && formats[i] == 1 && lengths[i] >= GW_DB_BORROW_MIN;
}

/* Copies SQL and parameters into one allocation owned by the request; with borrow, large binary
 * parameters are referenced instead (the caller keeps them until the callback). */
static struct gw_db_req *gw_db_req_new(const char *sql, int nparams, const char *const *values,
                                       const int *lengths, const int *formats, bool borrow)
{
    size_t sql_len = strlen(sql) + 1, size = sizeof(struct gw_db_req), data = 0;
    struct gw_db_req *r;
    char *p;

    for (int i = 0; i < nparams; i++) {
        if (!values[i])
            continue;
        if (formats && formats[i] == 1) {
            if (!lengths || lengths[i] < 0)
                return NULL;
            data += gw_db_borrowed(borrow, formats, lengths, i) ? 0 : (size_t)lengths[i];
        } else {
            data += strlen(values[i]) + 1;
        }
    }
    size += (size_t)nparams * (sizeof(char *) + 2 * sizeof(int)) + sql_len + data;
    r = calloc(1, size);
    if (!r)
        return NULL;
    r->nparams = nparams;
    r->values = (const char **)(void *)(r + 1);
    r->lengths = (int *)(void *)(r->values + nparams);
    r->formats = r->lengths + nparams;
    p = (char *)(r->formats + nparams);
    r->sql = p;
    memcpy(p, sql, sql_len);
    p += sql_len;
    for (int i = 0; i < nparams; i++) {
        size_t n;
        r->formats[i] = formats && formats[i] == 1 ? 1 : 0;
        if (!values[i])
            continue;
        n = r->formats[i] ? (size_t)lengths[i] : strlen(values[i]) + 1;
        r->lengths[i] = r->formats[i] ? lengths[i] : (int)(n - 1);
        if (gw_db_borrowed(borrow, formats, lengths, i)) {
            r->values[i] = values[i];
            continue;
        }
        memcpy(p, values[i], n);
        r->values[i] = p;
        p += n;
    }
    return r;
}

static int gw_db_enqueue(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                         const int *lengths, const int *formats, unsigned flags, gw_db_cb cb,
                         void *ud)
{
    struct gw_db_req *r;
    struct gw_db_fifo *q;
    bool borrow = flags & GW_DB_BORROW;

    if (!db || !sql || !cb || nparams < 0 || nparams > 65535 || (nparams > 0 && !values))
        return GW_EINVAL;
    if (db->closing)
        return GW_ESHUTDOWN;
    if (db->held)
        return GW_EDB; /* the schema is not ready yet: nothing could run */
    /* Each queue on its own: work in hand that fills its queue (reads, scans) does not refuse
     * submissions, nor a burst of submissions the recording of sends. */
    q = flags & GW_DB_INTAKE ? &db->intake : &db->queue;
    if (db->cfg.max_queue && q->len >= db->cfg.max_queue)
        return GW_EAGAIN;
    for (int i = 0; i < nparams; i++) {
        if (values[i] && formats && formats[i] == 1 && (!lengths || lengths[i] < 0))
            return GW_EINVAL;
    }
    r = gw_db_req_new(sql, nparams, values, lengths, formats, borrow);
    if (!r)
        return GW_ENOMEM;
    r->cb = cb;
    r->ud = ud;
    r->result_format = flags & GW_DB_BINARY ? 1 : 0;
    r->intake = flags & GW_DB_INTAKE;
    r->enqueued_ms = uv_now(db->loop);
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->len++;
    db->q_len++;
    if (db->cfg.queue_timeout_ms && !uv_is_active((uv_handle_t *)&db->sweep)) {
        uint64_t iv = gw_db_sweep_interval(db);
        uv_timer_start(&db->sweep, gw_db_on_sweep, iv, iv);
    }
    gw_db_kick(db);
    return 0;
}

int gw_db_query(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                const int *lengths, const int *formats, gw_db_cb cb, void *ud)
{
    return gw_db_enqueue(db, sql, nparams, values, lengths, formats, 0, cb, ud);
}

int gw_db_query_borrow(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, gw_db_cb cb, void *ud)
{
    return gw_db_enqueue(db, sql, nparams, values, lengths, formats, GW_DB_BORROW, cb, ud);
}

int gw_db_query_binary(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, gw_db_cb cb, void *ud)
{
    return gw_db_enqueue(db, sql, nparams, values, lengths, formats, GW_DB_BINARY, cb, ud);
}

int gw_db_query_ex(struct gw_db *db, unsigned flags, const char *sql, int nparams,
                   const char *const *values, const int *lengths, const int *formats, gw_db_cb cb,
                   void *ud)
{
    if (flags & ~(GW_DB_BORROW | GW_DB_BINARY | GW_DB_INTAKE))
        return GW_EINVAL;
    return gw_db_enqueue(db, sql, nparams, values, lengths, formats, flags, cb, ud);
}

bool gw_db_ready(const struct gw_db *db)
{
    for (unsigned i = 0; db && i < db->cfg.pool_size; i++) {
        if (db->conns[i].state == GW_DBC_IDLE || db->conns[i].state == GW_DBC_BUSY)
            return true;
    }
    return false;
}

/* Queries on the wire: one per connection at most. */
static size_t gw_db_inflight(const struct gw_db *db)
{
    size_t n = 0;
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        n += db->conns[i].inflight != NULL;
    return n;
}

size_t gw_db_pending(const struct gw_db *db)
{
    return db ? db->q_len + gw_db_inflight(db) : 0;
}

/* Common start of both shutdowns: refuse new queries and close the pool-wide handles. */
static void gw_db_begin_close(struct gw_db *db, void (*closed_cb)(void *ud), void *ud)
{
    db->closing = true;
    db->closed_cb = closed_cb;
    db->closed_ud = ud;
    uv_close((uv_handle_t *)&db->sweep, gw_db_on_handle_closed);
    uv_close((uv_handle_t *)&db->kick, gw_db_on_handle_closed);
}

static void gw_db_cancel_all(struct gw_db_req *list)
{
    while (list) {
        struct gw_db_req *r = list;
        list = r->next;
        gw_db_req_finish(r, GW_ECANCELED, NULL, "");
    }
}

void gw_db_close(struct gw_db *db, void (*closed_cb)(void *ud), void *ud)
{
    if (!db || db->closing)
        return;
    gw_info("db.close", "closing database pool (%zu queued, %zu in flight)", db->q_len,
            gw_db_inflight(db));
    gw_db_begin_close(db, closed_cb, ud);
    /* Connections with a query in flight close themselves once it completes or its deadline
     * passes. */
    for (unsigned i = 0; i < db->cfg.pool_size; i++) {
        if (db->conns[i].state != GW_DBC_BUSY)
            gw_db_conn_shutdown(&db->conns[i]);
    }
    gw_db_cancel_all(gw_db_queue_take_all(db));
}

void gw_db_close_now(struct gw_db *db, void (*closed_cb)(void *ud), void *ud)
{
    struct gw_db_req *queued;

    if (!db)
        return;
    gw_info("db.close_now", "closing database pool now (%zu queued, %zu in flight cancelled)",
            db->q_len, gw_db_inflight(db));
    if (!db->closing)
        gw_db_begin_close(db, closed_cb, ud);
    else if (closed_cb) {
        db->closed_cb = closed_cb;
        db->closed_ud = ud;
    }
    /* Detach the queue first so that no connection picks up more work; callbacks run below and
     * can only be refused (GW_ESHUTDOWN). The pool is freed from close callbacks on a later loop
     * turn, so it stays valid throughout. */
    queued = gw_db_queue_take_all(db);
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        gw_db_conn_shutdown(&db->conns[i]);
    gw_db_cancel_all(queued);
}
