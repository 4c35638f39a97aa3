#ifndef GW_DB_INTERNAL_H
#define GW_DB_INTERNAL_H

/*
 * Private structures of the PostgreSQL pool, shared by db.c (queue, public API, shutdown) and
 * db_conn.c (per-connection state machine). Nothing outside the db_*.c files includes this.
 */

#include "util/common.h"
#include "db/db.h"

#include <stddef.h>
#include <stdint.h>

/* The longest an intake query waits behind work in hand when queue_timeout_ms is 0. */
#define GW_DB_INTAKE_WAIT_MS 1000

/* Client-side deadline of a query in flight: statement_timeout plus this margin, or the fixed
 * fallback when query_timeout_ms is 0. It catches a server or network that vanished without a
 * reset, which would otherwise leave the connection waiting on the kernel for hours. */
#define GW_DB_DEADLINE_MARGIN_MS  5000
#define GW_DB_DEADLINE_DEFAULT_MS 300000

/* Session keywords passed to PQconnectStartParams: TCP keepalive defaults (only those this libpq
 * knows and the conninfo does not set), then dbname = the conninfo for expansion, then NULL. */
#define GW_DB_MAX_CONN_PARAMS 8

/* One queued or in-flight query; parameters and SQL live in the same allocation. */
struct gw_db_req {
    struct gw_db_req *next;
    gw_db_cb cb;
    void *ud;
    uint64_t enqueued_ms; /* uv_now() when queued, for queue_timeout_ms and the intake's wait */
    int nparams;
    const char **values;
    int *lengths;
    int *formats;
    int result_format; /* 0 text, 1 binary */
    bool intake;       /* GW_DB_INTAKE: waits in the intake queue */
    char *sql;
};

/* One FIFO of waiting queries: they join at the tail in time order and leave from the head. */
struct gw_db_fifo {
    struct gw_db_req *head, *tail;
    size_t len; /* bounded by max_queue, each queue on its own */
};

enum gw_db_conn_state {
    GW_DBC_DOWN,       /* no socket; a reconnect timer may be pending */
    GW_DBC_CONNECTING, /* PQconnectPoll in progress */
    GW_DBC_SETUP,      /* session settings (synchronous_commit, statement_timeout) in flight */
    GW_DBC_IDLE,       /* up, no query */
    GW_DBC_BUSY,       /* up, one query in flight */
    GW_DBC_CLOSED,     /* shut down by gw_db_close(_now); handles closing or closed */
};

/* uv_poll handle on the current libpq socket; heap-allocated because a new one is needed when the
 * socket changes, and the old one must live until its close callback. */
struct gw_db_poll {
    uv_poll_t h;
    struct gw_db_conn *conn;
};

struct gw_db_conn {
    struct gw_db *db;
    unsigned idx;
    enum gw_db_conn_state state;
    PGconn *pg;
    struct gw_db_poll *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;     /* events the handle is started with (0 = stopped) */
    bool flushing;       /* PQflush returned 1: wait for write-readiness too */
    uv_timer_t timer;    /* DOWN: reconnect backoff; CONNECTING/SETUP: connect deadline;
                            BUSY: query deadline; IDLE: stopped */
    uint64_t backoff_ms; /* next base delay */
    unsigned failures;   /* consecutive failed connection attempts */
    struct gw_db_req *inflight;
    PGresult *res; /* first successful result of the current query */
    PGresult *err; /* first error result of the current query */
};

struct gw_db {
    uv_loop_t *loop;
    struct gw_db_config cfg;
    char *conninfo;
    const char *conn_keys[GW_DB_MAX_CONN_PARAMS];
    const char *conn_vals[GW_DB_MAX_CONN_PARAMS];
    struct gw_db_conn *conns;
    struct gw_db_fifo queue;  /* work in hand: handed to connections first */
    struct gw_db_fifo intake; /* GW_DB_INTAKE queries: only when the queue above is empty */
    size_t q_len;             /* in both */
    uv_timer_t sweep;         /* fails queued queries older than queue_timeout_ms */
    uv_idle_t kick;           /* hands queued queries to idle connections on the next loop turn */
    unsigned handles;         /* initialised handles whose close callback has not run yet */
    uint64_t rng;
    bool held; /* opened with gw_db_open_held and not yet released: no connection, no query */
    bool closing;
    void (*closed_cb)(void *ud);
    void *closed_ud;
};

/* db.c */
/* The next query to send: the oldest of the queue of work in hand, else the oldest intake. */
struct gw_db_req *gw_db_queue_pop(struct gw_db *db);
/* True when a query waits in either queue. */
bool gw_db_queued(const struct gw_db *db);
void gw_db_kick(struct gw_db *db);
void gw_db_req_finish(struct gw_db_req *r, int err, const PGresult *res, const char *sqlstate);
void gw_db_handle_closed(struct gw_db *db);
uint64_t gw_db_random(struct gw_db *db);
const char *gw_db_oneline(char *buf, size_t cap, const char *msg);

/* db_conn.c */
void gw_db_conn_init(struct gw_db *db, struct gw_db_conn *c, unsigned idx);
void gw_db_conn_start(struct gw_db_conn *c);
void gw_db_conn_shutdown(struct gw_db_conn *c);
void gw_db_conn_set_state(struct gw_db_conn *c, enum gw_db_conn_state st);
const char *gw_db_conn_errmsg(struct gw_db_conn *c, char *buf, size_t cap);
int gw_db_conn_watch(struct gw_db_conn *c, int events);
void gw_db_conn_clear_results(struct gw_db_conn *c);
void gw_db_conn_fail(struct gw_db_conn *c, const char *why);
void gw_db_conn_up(struct gw_db_conn *c);
void gw_db_conn_arm_deadline(struct gw_db_conn *c);

/* db_exec.c */
int gw_db_conn_send(struct gw_db_conn *c, const char *sql, int n, const char *const *values,
                    const int *lengths, const int *formats, int result_format);
void gw_db_conn_next(struct gw_db_conn *c);
void gw_db_conn_io(struct gw_db_conn *c, int events);

#endif
