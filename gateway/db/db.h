#ifndef GW_DB_H
#define GW_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config/sections.h"

/*
 * Asynchronous PostgreSQL access for the event loop: a small pool of non-blocking libpq
 * connections whose sockets are watched with uv_poll. Each query is one statement (one implicit
 * transaction); multi-step state changes live in SQL functions (schemas/sql), so every step is
 * atomic and the C side never holds a transaction open across loop iterations.
 *
 * Connections that fail are re-established with exponential backoff; queries queued meanwhile
 * wait up to queue_timeout_ms and then fail with GW_EDB. A query in flight on a connection that
 * breaks fails with GW_EDB (its outcome is unknown: callers must be idempotent). A query that has
 * no complete result query_timeout_ms + 5 s after it was sent (300 s when query_timeout_ms is 0)
 * counts as a broken connection too, so a server or network that vanished without a reset cannot
 * stall the caller. TCP connections use keepalives (idle 30 s, interval 10 s, count 3) and
 * tcp_user_timeout 30 s unless the conninfo sets them. Every session sets synchronous_commit = on
 * (whatever the server default) and statement_timeout = query_timeout_ms before its first query.
 */

struct gw_db;

/* Result callback. On success err == 0 and res is a PGRES_TUPLES_OK or PGRES_COMMAND_OK result
 * owned by the pool (valid only during the callback). On failure res is NULL and err < 0; sqlstate
 * is the 5-char SQLSTATE when the server reported one, else "". */
typedef void (*gw_db_cb)(int err, const PGresult *res, const char *sqlstate, void *ud);

void gw_db_config_default(struct gw_db_config *c);

int gw_db_open(uv_loop_t *loop, const struct gw_db_config *cfg, struct gw_db **out)
    __attribute__((warn_unused_result));

/* Same, but the pool stays held: no connection is made and every query fails at once with
 * GW_EDB (gw_db_ready() is false) until gw_db_release(). Start-up opens the pool this way while
 * migrations are pending, so components can be wired to it before the schema exists. */
int gw_db_open_held(uv_loop_t *loop, const struct gw_db_config *cfg, struct gw_db **out)
    __attribute__((warn_unused_result));
void gw_db_release(struct gw_db *db);

/* Parameterised query. values[i] may be NULL (SQL NULL). lengths/formats may be NULL for all-text
 * parameters; format 1 marks binary (use it for bytea). The pool copies the parameters, so they
 * need not outlive the call. Results are always requested in text format.
 * If this returns an error the callback never runs. */
int gw_db_query(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                const int *lengths, const int *formats, gw_db_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Same, but binary parameters (format 1) of GW_DB_BORROW_MIN bytes or more are not copied: libpq
 * reads them straight from the caller's memory, which must stay valid and unchanged until the
 * callback has run (it always runs once this returns 0, also when the query fails or is
 * cancelled). Shorter ones (a hash) and text parameters are copied as by gw_db_query. For package
 * bytes: one copy, into libpq's output buffer, between the caller's buffer and the socket. */
#define GW_DB_BORROW_MIN 4096
int gw_db_query_borrow(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, gw_db_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Same as gw_db_query, with every result column in binary format: bytea arrives as raw bytes
 * (PQgetlength), so large bodies need no decoding on the loop. Cast other columns to text in the
 * SQL; libpq still NUL-terminates every value, so text columns read as C strings. */
int gw_db_query_binary(struct gw_db *db, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, gw_db_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* gw_db_query with flags (any other bit: GW_EINVAL): GW_DB_BORROW as gw_db_query_borrow,
 * GW_DB_BINARY as gw_db_query_binary, GW_DB_INTAKE for a query that brings new work in (a
 * submission and its body). Intake waits in a queue of its own that connections serve only when
 * no other query waits: work already accepted (checks, sends, their records) goes first, so
 * under load the gateway accepts at the rate it relays instead of growing a backlog, and the
 * submissions' waits grow (queue_timeout_ms applies to both queues, max_queue to each on its
 * own: a full queue of work in hand does not refuse submissions, nor the reverse). */
#define GW_DB_BORROW 1u
#define GW_DB_BINARY 2u
#define GW_DB_INTAKE 4u
int gw_db_query_ex(struct gw_db *db, unsigned flags, const char *sql, int nparams,
                   const char *const *values, const int *lengths, const int *formats, gw_db_cb cb,
                   void *ud) __attribute__((warn_unused_result));

/* True while at least one connection is up. */
bool gw_db_ready(const struct gw_db *db);

/* Queries queued or in flight. */
size_t gw_db_pending(const struct gw_db *db);

/* Fails queued queries with GW_ECANCELED, waits for in-flight ones (at most until their deadline),
 * closes every handle and frees the pool; closed_cb (may be NULL) runs once all handles are
 * closed. A second call is ignored. */
void gw_db_close(struct gw_db *db, void (*closed_cb)(void *ud), void *ud);

/* Forced close, e.g. when draining took too long: fails queued and in-flight queries with
 * GW_ECANCELED at once (callbacks run inside this call; an in-flight query's outcome is unknown),
 * closes every connection and handle, frees the pool after the last close callback and then runs
 * closed_cb (may be NULL). May follow gw_db_close, escalating it: a non-NULL closed_cb then
 * replaces the one given there (only one runs). Must not be called after closed_cb has run. */
void gw_db_close_now(struct gw_db *db, void (*closed_cb)(void *ud), void *ud);

/*
 * Blocking helpers for start-up and tools only (never on a running loop).
 */
/* Applies schemas/sql/NNN_*.sql files from dir in order, each once, recorded in
 * schema_migrations; serialised across instances with an advisory lock. */
int gw_db_migrate(const char *conninfo, const char *dir) __attribute__((warn_unused_result));

/* One attempt of the same, safe to run on a thread-pool thread; it waits at most 10 s for another
 * instance's migration lock (the blocking form waits as long as it takes). 0 when the schema is up
 * to date.
 * GW_EAGAIN when the server was unavailable or went away (connection refused or lost, shutting
 * down or starting up, out of connections, a lock or serialisation conflict): worth retrying;
 * why (may be NULL) says what, and nothing is logged. Any other error is one retrying cannot fix
 * (a changed or unreadable file, an SQL error); it is logged, and why says what too. */
int gw_db_migrate_once(const char *conninfo, const char *dir, char *why, size_t why_cap)
    __attribute__((warn_unused_result));

#endif
