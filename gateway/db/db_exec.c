/*
 * Query traffic on a pooled connection that is up: hand-off from the queue, PQsendQueryParams and
 * PQflush on write-readiness, PQconsumeInput / PQisBusy / PQgetResult on read-readiness, and
 * delivery of the outcome to the caller's callback (SQLSTATE on SQL errors, "" when broken).
 */
#include "db/db_internal.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sends a query and flushes what the socket takes now; the rest goes out on write-readiness. */
int gw_db_conn_send(struct gw_db_conn *c, const char *sql, int n, const char *const *values,
                    const int *lengths, const int *formats, int result_format)
{
    int r;

    if (!PQsendQueryParams(c->pg, sql, n, NULL, values, lengths, formats, result_format))
        return GW_EDB;
    r = PQflush(c->pg);
    if (r < 0)
        return GW_EIO;
    c->flushing = r == 1;
    return gw_db_conn_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0));
}

/* Hands queued queries to this connection while it is idle. A query libpq refuses to send (bad
 * parameters) fails on its own without taking the connection down. */
void gw_db_conn_next(struct gw_db_conn *c)
{
    struct gw_db *db = c->db;

    while (c->state == GW_DBC_IDLE && !db->closing && gw_db_queued(db)) {
        struct gw_db_req *r = gw_db_queue_pop(db);
        char msg[512];
        int rc;

        c->inflight = r;
        gw_db_conn_set_state(c, GW_DBC_BUSY);
        rc = gw_db_conn_send(c, r->sql, r->nparams, r->values, r->lengths, r->formats,
                             r->result_format);
        if (rc == 0) {
            gw_db_conn_arm_deadline(c);
            return;
        }
        if (rc == GW_EDB && PQstatus(c->pg) == CONNECTION_OK) {
            gw_warn("db.query_rejected", "connection %u: %s", c->idx,
                    gw_db_conn_errmsg(c, msg, sizeof(msg)));
            c->inflight = NULL;
            gw_db_conn_set_state(c, GW_DBC_IDLE);
            gw_db_req_finish(r, GW_EDB, NULL, "");
            continue;
        }
        gw_db_conn_fail(c, "send");
        return;
    }
    if (c->state == GW_DBC_IDLE && db->closing)
        gw_db_conn_shutdown(c);
}

/* Keeps the first success and the first error of the current query. */
static bool gw_db_conn_stash(struct gw_db_conn *c, PGresult *res)
{
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        if (!c->res) {
            c->res = res;
            return true;
        }
        break;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        PQclear(res);
        return false; /* COPY is not supported here; the protocol state is unusable */
    default:
        if (!c->err) {
            c->err = res;
            return true;
        }
        break;
    }
    PQclear(res);
    return true;
}

/* The current query has returned all its results. */
static void gw_db_conn_complete(struct gw_db_conn *c)
{
    struct gw_db_req *r = c->inflight;
    PGresult *res = c->res, *err = c->err;
    const char *st = err ? PQresultErrorField(err, PG_DIAG_SQLSTATE) : NULL;
    char sqlstate[6] = "";
    bool broken = PQstatus(c->pg) == CONNECTION_BAD || (st && strncmp(st, "57P", 3) == 0);

    c->res = c->err = NULL;
    c->inflight = NULL;
    if (c->state == GW_DBC_BUSY)
        uv_timer_stop(&c->timer); /* the query deadline; in SETUP it is the connect deadline */
    if (st && !broken)
        snprintf(sqlstate, sizeof(sqlstate), "%s", st);
    if (err && !broken) {
        const char *m = PQresultErrorField(err, PG_DIAG_MESSAGE_PRIMARY);
        gw_debug("db.query_error", "connection %u: %s: %s", c->idx, sqlstate, m ? m : "");
    }
    if (c->state == GW_DBC_SETUP) {
        PQclear(res);
        PQclear(err);
        if (err || !res)
            gw_db_conn_fail(c, "session setup");
        else
            gw_db_conn_up(c);
        return;
    }
    if (broken) {
        PQclear(err);
        err = NULL;
        gw_db_conn_fail(c, "server closed the session");
    } else {
        gw_db_conn_set_state(c, GW_DBC_IDLE);
    }
    if (err || !res)
        gw_db_req_finish(r, GW_EDB, NULL, sqlstate);
    else
        gw_db_req_finish(r, 0, res, NULL);
    PQclear(res);
    PQclear(err);
    gw_db_conn_next(c);
}

/* Socket event on a connection that is up: flush, read, collect results. */
void gw_db_conn_io(struct gw_db_conn *c, int events)
{
    if ((events & UV_READABLE) && !PQconsumeInput(c->pg)) {
        gw_db_conn_fail(c, "read");
        return;
    }
    if (c->flushing) {
        int r = PQflush(c->pg);
        if (r < 0) {
            gw_db_conn_fail(c, "write");
            return;
        }
        c->flushing = r == 1;
        if (gw_db_conn_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0)) < 0) {
            gw_db_conn_fail(c, "poll");
            return;
        }
    }
    if (c->state == GW_DBC_IDLE) {
        PGnotify *n;
        while ((n = PQnotifies(c->pg)) != NULL)
            PQfreemem(n);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            gw_db_conn_fail(c, "idle");
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        if (!res) {
            gw_db_conn_complete(c);
            return;
        }
        if (!gw_db_conn_stash(c, res)) {
            gw_db_conn_fail(c, "unsupported result");
            return;
        }
    }
    if (PQstatus(c->pg) == CONNECTION_BAD)
        gw_db_conn_fail(c, "read");
}
