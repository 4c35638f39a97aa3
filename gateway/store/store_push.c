/*
 * The push to QLVBĐH's webhook in the store: one statement per step (enqueue behind the cursor,
 * claim, sent, failed, backlog), each a call of a 012_push.sql function, every argument checked
 * against its SQL type before it is sent.
 */
#include "store/store_push.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_push_call {
    gw_store_push_count_cb count_cb;
    gw_store_push_claim_cb claim_cb;
    gw_store_push_state_cb state_cb;
    gw_store_push_stats_cb stats_cb;
    void *ud;
};

static struct gw_store_push_call *gw_store_push_call_new(void *ud)
{
    struct gw_store_push_call *c = calloc(1, sizeof(*c));
    if (c)
        c->ud = ud;
    return c;
}

/* A give-up age: an int4 number of seconds, at least 1. */
static int gw_store_push_seconds(uint64_t s)
{
    return s >= 1 && s <= INT32_MAX ? 0 : GW_ERANGE;
}

static int gw_store_push_send(struct gw_db *db, const char *sql, int n, const char *const *vals,
                              gw_db_cb done, struct gw_store_push_call *c)
{
    int rc = gw_db_query(db, sql, n, vals, NULL, NULL, done, c);
    if (rc != 0)
        free(c);
    return rc;
}

static void gw_store_push_counted(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_push_call *c = ud;
    int64_t n = 0;

    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 1))
        err = GW_EDB;
    if (err == 0)
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    c->count_cb(err ? GW_EDB : 0, n, c->ud);
    free(c);
}

int gw_store_push_enqueue(struct gw_db *db, const struct gw_store_scope *organs, unsigned limit,
                          gw_store_push_count_cb cb, void *ud)
{
    struct gw_store_push_call *c;
    char lim[24], *arr = NULL;
    const char *vals[2] = {NULL, lim};
    int rc;

    if ((rc = gw_pgtype_range(limit, 1, GW_STORE_PUSH_MAX_CLAIM)) != 0)
        return rc;
    if ((rc = gw_store_scope_array(organs, &arr)) != 0)
        return rc;
    if (!(c = gw_store_push_call_new(ud))) {
        free(arr);
        return GW_ENOMEM;
    }
    c->count_cb = cb;
    snprintf(lim, sizeof(lim), "%u", limit);
    vals[0] = arr;
    rc = gw_store_push_send(db, "SELECT gw_push_enqueue($1::text[], $2)", 2, vals,
                            gw_store_push_counted, c);
    free(arr);
    return rc;
}

static void gw_store_push_claimed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_push_call *c = ud;
    struct gw_store_push_row *rows = NULL;
    size_t n = 0;

    if (err == 0 && PQnfields(res) != 5)
        err = GW_EDB;
    if (err == 0 && (n = (size_t)PQntuples(res)) > 0 && !(rows = calloc(n, sizeof(*rows))))
        err = GW_ENOMEM;
    for (size_t i = 0; err == 0 && i < n; i++) {
        rows[i].push_id = gw_pgfmt_int64(PQgetvalue(res, (int)i, 0));
        rows[i].package_id = gw_pgfmt_int64(PQgetvalue(res, (int)i, 1));
        rows[i].event_id = PQgetvalue(res, (int)i, 2);
        rows[i].attempt = (int)gw_pgfmt_int64(PQgetvalue(res, (int)i, 3));
        rows[i].facts = PQgetvalue(res, (int)i, 4);
        rows[i].facts_len = (size_t)PQgetlength(res, (int)i, 4);
        if (PQgetisnull(res, (int)i, 4))
            err = GW_EDB;
    }
    if (err != 0)
        c->claim_cb(err == GW_ENOMEM ? GW_ENOMEM : GW_EDB, NULL, 0, c->ud);
    else
        c->claim_cb(0, rows, n, c->ud);
    free(rows);
    free(c);
}

int gw_store_push_claim(struct gw_db *db, const struct gw_store_push_claim_args *a,
                        gw_store_push_claim_cb cb, void *ud)
{
    struct gw_store_push_call *c;
    char lease[24], lim[24], giveup[24];
    const char *vals[4] = {a->owner, lease, lim, giveup};
    int rc;

    if ((rc = gw_pgtype_text(a->owner, false, 0)) != 0 || (rc = gw_pgtype_ms(a->lease_ms)) != 0 ||
        (rc = gw_pgtype_range(a->limit, 1, GW_STORE_PUSH_MAX_CLAIM)) != 0 ||
        (rc = gw_store_push_seconds(a->give_up_s)) != 0)
        return rc;
    if (!(c = gw_store_push_call_new(ud)))
        return GW_ENOMEM;
    c->claim_cb = cb;
    snprintf(lease, sizeof(lease), "%" PRIu64, a->lease_ms);
    snprintf(lim, sizeof(lim), "%u", a->limit);
    snprintf(giveup, sizeof(giveup), "%" PRIu64, a->give_up_s);
    return gw_store_push_send(db,
                              "SELECT push_id, package_id, event_id, attempts, facts"
                              " FROM gw_push_claim($1, $2, $3, $4)",
                              4, vals, gw_store_push_claimed, c);
}

static void gw_store_push_stated(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_push_call *c = ud;
    const char *state = NULL;

    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 1))
        err = GW_EDB;
    if (err == 0 && !PQgetisnull(res, 0, 0))
        state = PQgetvalue(res, 0, 0);
    c->state_cb(err ? GW_EDB : 0, state, c->ud);
    free(c);
}

int gw_store_push_sent(struct gw_db *db, int64_t push_id, const char *owner, long status,
                       gw_store_push_state_cb cb, void *ud)
{
    struct gw_store_push_call *c;
    char id[24], st[24];
    const char *vals[3] = {id, owner, st};
    int rc;

    if ((rc = gw_pgtype_range(push_id, 1, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_text(owner, false, 0)) != 0 || (rc = gw_pgtype_range(status, 0, 999)) != 0)
        return rc;
    if (!(c = gw_store_push_call_new(ud)))
        return GW_ENOMEM;
    c->state_cb = cb;
    snprintf(id, sizeof(id), "%" PRId64, push_id);
    snprintf(st, sizeof(st), "%ld", status);
    return gw_store_push_send(db, "SELECT CASE WHEN gw_push_sent($1, $2, $3) THEN 'sent' END", 3,
                              vals, gw_store_push_stated, c);
}

int gw_store_push_failed(struct gw_db *db, const struct gw_store_push_failed_args *a,
                         gw_store_push_state_cb cb, void *ud)
{
    struct gw_store_push_call *c;
    char id[24], attempt[24], st[24], retry[24], base[24], max[24], giveup[24];
    const char *vals[10] = {id,    a->owner, attempt, a->error, st, a->held ? "t" : "f",
                            retry, base,     max,     giveup};
    int rc;

    if ((rc = gw_pgtype_range(a->push_id, 1, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->owner, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->error, false, 0)) != 0 || (rc = gw_pgtype_int4(a->attempt)) != 0 ||
        (rc = gw_pgtype_range(a->status, 0, 999)) != 0 || (rc = gw_pgtype_ms(a->retry_ms)) != 0 ||
        (rc = gw_pgtype_ms(a->base_ms)) != 0 || (rc = gw_pgtype_ms(a->max_ms)) != 0 ||
        (rc = gw_store_push_seconds(a->give_up_s)) != 0)
        return rc;
    if (!(c = gw_store_push_call_new(ud)))
        return GW_ENOMEM;
    c->state_cb = cb;
    snprintf(id, sizeof(id), "%" PRId64, a->push_id);
    snprintf(attempt, sizeof(attempt), "%d", a->attempt);
    snprintf(st, sizeof(st), "%ld", a->status);
    snprintf(retry, sizeof(retry), "%" PRIu64, a->retry_ms);
    snprintf(base, sizeof(base), "%" PRIu64, a->base_ms);
    snprintf(max, sizeof(max), "%" PRIu64, a->max_ms);
    snprintf(giveup, sizeof(giveup), "%" PRIu64, a->give_up_s);
    return gw_store_push_send(db, "SELECT gw_push_failed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                              10, vals, gw_store_push_stated, c);
}

static void gw_store_push_statsed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_push_call *c = ud;
    int64_t waiting = 0, dead = 0;
    double oldest = 0;

    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 3))
        err = GW_EDB;
    if (err == 0) {
        waiting = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        oldest = strtod(PQgetvalue(res, 0, 1), NULL);
        dead = gw_pgfmt_int64(PQgetvalue(res, 0, 2));
    }
    c->stats_cb(err ? GW_EDB : 0, waiting, oldest, dead, c->ud);
    free(c);
}

int gw_store_push_stats(struct gw_db *db, gw_store_push_stats_cb cb, void *ud)
{
    struct gw_store_push_call *c = gw_store_push_call_new(ud);

    if (!c)
        return GW_ENOMEM;
    c->stats_cb = cb;
    return gw_store_push_send(db, "SELECT waiting, oldest_s, dead FROM gw_push_stats()", 0, NULL,
                              gw_store_push_statsed, c);
}
