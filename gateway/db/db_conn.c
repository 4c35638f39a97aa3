/*
 * Life cycle of one pooled PostgreSQL connection on the libuv loop: non-blocking connect
 * (PQconnectStartParams / PQconnectPoll, TCP keepalives by default), session setup
 * (synchronous_commit = on, statement_timeout), the client-side deadline of a query in flight,
 * failure handling with reconnect after an exponential backoff plus jitter, and final shutdown. The
 * socket is watched with a uv_poll handle that is replaced whenever libpq changes socket. Query
 * traffic itself is in db_exec.c.
 */
#include "db/db_internal.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gw_db_state_names[] = {
    [GW_DBC_DOWN] = "down",   [GW_DBC_CONNECTING] = "connecting",
    [GW_DBC_SETUP] = "setup", [GW_DBC_IDLE] = "idle",
    [GW_DBC_BUSY] = "busy",   [GW_DBC_CLOSED] = "closed",
};

/* Deadline for connect plus session setup. */
#define GW_DB_CONNECT_TIMEOUT_MS 10000

static void gw_db_conn_on_poll(uv_poll_t *h, int status, int events);

/* The one place a connection changes state. */
void gw_db_conn_set_state(struct gw_db_conn *c, enum gw_db_conn_state st)
{
    if (c->state == st)
        return;
    gw_debug("db.conn_state", "connection %u: %s -> %s", c->idx, gw_db_state_names[c->state],
             gw_db_state_names[st]);
    c->state = st;
}

const char *gw_db_conn_errmsg(struct gw_db_conn *c, char *buf, size_t cap)
{
    const char *m = c->pg ? PQerrorMessage(c->pg) : "";

    return gw_db_oneline(buf, cap, m && *m ? m : "unknown error");
}

static void gw_db_conn_on_notice(void *arg, const char *msg)
{
    struct gw_db_conn *c = arg;
    char line[512];

    gw_debug("db.notice", "connection %u: %s", c->idx, gw_db_oneline(line, sizeof(line), msg));
}

static void gw_db_poll_on_closed(uv_handle_t *h)
{
    struct gw_db_poll *p = gw_container_of(h, struct gw_db_poll, h);
    struct gw_db *db = p->conn->db;

    free(p);
    gw_db_handle_closed(db);
}

static void gw_db_timer_on_closed(uv_handle_t *h)
{
    gw_db_handle_closed(h->data);
}

/* Stops watching and closes the poll handle; must run before libpq closes the socket. */
static void gw_db_conn_unwatch(struct gw_db_conn *c)
{
    if (!c->poll)
        return;
    uv_close((uv_handle_t *)&c->poll->h, gw_db_poll_on_closed);
    c->poll = NULL;
    c->poll_fd = -1;
    c->poll_events = 0;
}

/* Watches the current libpq socket for events, replacing the handle if the socket changed. */
int gw_db_conn_watch(struct gw_db_conn *c, int events)
{
    int fd = PQsocket(c->pg), rc;

    if (fd < 0)
        return GW_EIO;
    if (c->poll && c->poll_fd != fd)
        gw_db_conn_unwatch(c);
    if (!c->poll) {
        struct gw_db_poll *p = calloc(1, sizeof(*p));
        if (!p)
            return GW_ENOMEM;
        rc = uv_poll_init(c->db->loop, &p->h, fd);
        if (rc < 0) {
            free(p);
            gw_warn("db.poll", "connection %u: uv_poll_init: %s", c->idx, uv_strerror(rc));
            return GW_EIO;
        }
        p->conn = c;
        c->db->handles++;
        c->poll = p;
        c->poll_fd = fd;
        c->poll_events = 0;
    }
    if (c->poll_events != events) {
        rc = events ? uv_poll_start(&c->poll->h, events, gw_db_conn_on_poll)
                    : uv_poll_stop(&c->poll->h);
        if (rc < 0)
            return GW_EIO;
        c->poll_events = events;
    }
    return 0;
}

/* Drops the current query's results. */
void gw_db_conn_clear_results(struct gw_db_conn *c)
{
    PQclear(c->res);
    PQclear(c->err);
    c->res = c->err = NULL;
}

static uint64_t gw_db_conn_deadline_ms(const struct gw_db_conn *c)
{
    uint64_t qt = c->db->cfg.query_timeout_ms;

    if (qt == 0)
        return GW_DB_DEADLINE_DEFAULT_MS;
    return qt > UINT64_MAX - GW_DB_DEADLINE_MARGIN_MS ? UINT64_MAX : qt + GW_DB_DEADLINE_MARGIN_MS;
}

/* One timer per connection, its meaning given by the state: the reconnect backoff while down, the
 * deadline of a connection attempt (libpq's connect_timeout only applies to blocking connects),
 * and the deadline of the query in flight. */
static void gw_db_conn_on_timer(uv_timer_t *t)
{
    struct gw_db_conn *c = gw_container_of(t, struct gw_db_conn, timer);

    if (c->state == GW_DBC_DOWN)
        gw_db_conn_start(c);
    else if (c->state == GW_DBC_CONNECTING || c->state == GW_DBC_SETUP)
        gw_db_conn_fail(c, "connect timeout");
    else if (c->state == GW_DBC_BUSY) {
        char why[96];
        snprintf(why, sizeof(why), "no result within %" PRIu64 " ms, server unresponsive",
                 gw_db_conn_deadline_ms(c));
        gw_db_conn_fail(c, why);
    }
}

/* Starts the deadline of the query just sent; gw_db_conn_complete stops it. */
void gw_db_conn_arm_deadline(struct gw_db_conn *c)
{
    uv_timer_start(&c->timer, gw_db_conn_on_timer, gw_db_conn_deadline_ms(c), 0);
}

static void gw_db_conn_schedule_retry(struct gw_db_conn *c)
{
    const struct gw_db_config *cfg = &c->db->cfg;
    uint64_t base = c->backoff_ms, delay;

    /* base plus up to 50% jitter; at the cap, up to 25% below it so that connections which failed
     * together do not retry in lockstep. */
    delay = base + gw_db_random(c->db) % (base / 2 + 1);
    if (delay > cfg->reconnect_max_ms)
        delay = cfg->reconnect_max_ms - gw_db_random(c->db) % (cfg->reconnect_max_ms / 4 + 1);
    if (delay < cfg->reconnect_min_ms)
        delay = cfg->reconnect_min_ms;
    c->backoff_ms = base >= cfg->reconnect_max_ms / 2 ? cfg->reconnect_max_ms : base * 2;
    gw_debug("db.reconnect", "connection %u: reconnecting in %" PRIu64 " ms", c->idx, delay);
    uv_timer_start(&c->timer, gw_db_conn_on_timer, delay, 0);
}

/* Tears down the socket of a failed connection, schedules a reconnect and fails the query that
 * was in flight (its outcome is unknown). */
void gw_db_conn_fail(struct gw_db_conn *c, const char *why)
{
    struct gw_db_req *r = c->inflight;
    bool was_up = c->state == GW_DBC_IDLE || c->state == GW_DBC_BUSY;
    char msg[512];

    gw_db_conn_errmsg(c, msg, sizeof(msg));
    if (was_up || c->state == GW_DBC_SETUP) {
        gw_warn("db.conn_lost", "connection %u lost (%s): %s", c->idx, why, msg);
    } else {
        /* A server that stays down is reported on the first failure and then at the backoff cap,
         * not on every attempt. */
        c->failures++;
        gw_log(c->failures == 1 || c->backoff_ms >= c->db->cfg.reconnect_max_ms ? GW_LOG_WARN
                                                                                : GW_LOG_DEBUG,
               "db.connect_failed", "connection %u: connect failed (attempt %u): %s", c->idx,
               c->failures, msg);
    }
    gw_db_conn_unwatch(c);
    PQfinish(c->pg);
    c->pg = NULL;
    c->flushing = false;
    c->inflight = NULL;
    gw_db_conn_clear_results(c);
    gw_db_conn_set_state(c, GW_DBC_DOWN);
    if (was_up)
        c->backoff_ms = c->db->cfg.reconnect_min_ms;
    if (c->db->closing)
        gw_db_conn_shutdown(c);
    else
        gw_db_conn_schedule_retry(c);
    if (r) {
        gw_db_req_finish(r, GW_EDB, NULL, "");
    }
}

/* Connection and session are ready: start serving the queue. */
void gw_db_conn_up(struct gw_db_conn *c)
{
    uv_timer_stop(&c->timer);
    gw_db_conn_set_state(c, GW_DBC_IDLE);
    c->backoff_ms = c->db->cfg.reconnect_min_ms;
    c->failures = 0;
    gw_info("db.connected", "connection %u up (server %d, backend pid %d)", c->idx,
            PQserverVersion(c->pg), PQbackendPID(c->pg));
    gw_db_conn_next(c);
}

static void gw_db_conn_connected(struct gw_db_conn *c)
{
    char sql[160];

    if (PQsetnonblocking(c->pg, 1) != 0) {
        gw_db_conn_fail(c, "PQsetnonblocking");
        return;
    }
    PQsetNoticeProcessor(c->pg, gw_db_conn_on_notice, c);
    /* Every session commits durably whatever the server, database or role default says: a 202
     * to a client and an ack to an axis are only sent after a commit, and both promise that
     * the package survives a crash of the database server. */
    gw_db_conn_set_state(c, GW_DBC_SETUP);
    snprintf(sql, sizeof(sql),
             "SELECT set_config('synchronous_commit', 'on', false), "
             "set_config('statement_timeout', '%" PRIu64 "', false)",
             c->db->cfg.query_timeout_ms);
    if (gw_db_conn_send(c, sql, 0, NULL, NULL, NULL, 0) < 0)
        gw_db_conn_fail(c, "session setup");
}

/* Advances PQconnectPoll; the socket is not watched while libpq may swap it. */
static void gw_db_conn_connect_step(struct gw_db_conn *c)
{
    PostgresPollingStatusType st;

    if (c->poll && c->poll_events) {
        uv_poll_stop(&c->poll->h);
        c->poll_events = 0;
    }
    st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_READING:
        if (gw_db_conn_watch(c, UV_READABLE) < 0)
            gw_db_conn_fail(c, "poll");
        break;
    case PGRES_POLLING_WRITING:
        if (gw_db_conn_watch(c, UV_WRITABLE) < 0)
            gw_db_conn_fail(c, "poll");
        break;
    case PGRES_POLLING_OK:
        gw_db_conn_connected(c);
        break;
    default:
        gw_db_conn_fail(c, "connect");
        break;
    }
}

void gw_db_conn_init(struct gw_db *db, struct gw_db_conn *c, unsigned idx)
{
    c->db = db;
    c->idx = idx;
    c->state = GW_DBC_DOWN;
    c->poll_fd = -1;
    c->backoff_ms = db->cfg.reconnect_min_ms;
    uv_timer_init(db->loop, &c->timer);
    c->timer.data = db;
    db->handles++;
}

void gw_db_conn_start(struct gw_db_conn *c)
{
    if (c->state != GW_DBC_DOWN || c->db->closing || c->db->held)
        return;
    gw_db_conn_set_state(c, GW_DBC_CONNECTING);
    c->pg = PQconnectStartParams(c->db->conn_keys, c->db->conn_vals, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        gw_db_conn_fail(c, "connect");
        return;
    }
    /* Before the first PQconnectPoll, behave as if it had returned PGRES_POLLING_WRITING. */
    if (gw_db_conn_watch(c, UV_WRITABLE) < 0)
        gw_db_conn_fail(c, "poll");
    else
        uv_timer_start(&c->timer, gw_db_conn_on_timer, GW_DB_CONNECT_TIMEOUT_MS, 0);
}

static void gw_db_conn_on_poll(uv_poll_t *h, int status, int events)
{
    struct gw_db_poll *p = gw_container_of(h, struct gw_db_poll, h);
    struct gw_db_conn *c = p->conn;

    if (c->poll != p)
        return; /* a replaced handle that is already closing */
    if (status < 0) {
        gw_db_conn_fail(c, uv_strerror(status));
        return;
    }
    switch (c->state) {
    case GW_DBC_CONNECTING:
        gw_db_conn_connect_step(c);
        break;
    case GW_DBC_SETUP:
    case GW_DBC_IDLE:
    case GW_DBC_BUSY:
        gw_db_conn_io(c, events);
        break;
    default:
        break;
    }
}

/* Final close for gw_db_close and gw_db_close_now: the poll handle is closed before PQfinish
 * closes the socket. A query still in flight fails with GW_ECANCELED. */
void gw_db_conn_shutdown(struct gw_db_conn *c)
{
    struct gw_db_req *r = c->inflight;

    if (c->state == GW_DBC_CLOSED)
        return;
    gw_db_conn_unwatch(c);
    PQfinish(c->pg);
    c->pg = NULL;
    c->inflight = NULL;
    gw_db_conn_clear_results(c);
    gw_db_conn_set_state(c, GW_DBC_CLOSED);
    uv_close((uv_handle_t *)&c->timer, gw_db_timer_on_closed);
    if (r) {
        gw_db_req_finish(r, GW_ECANCELED, NULL, "");
    }
}
