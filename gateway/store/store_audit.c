/*
 * The audit sealer's SQL calls as typed functions: the seal (the batch limit checked against the
 * function's integer argument, the answer parsed into a count) and the read of the trail's head.
 */
#include "store/store_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

/* The caller's callback for one call in flight. */
struct gw_store_audit_job {
    union {
        gw_store_audit_seal_cb seal;
        gw_store_audit_head_cb head;
    } cb;
    void *ud;
};

/* One query with its job; the job is freed here when the query was not sent. */
static int gw_store_audit_send(struct gw_db *db, const char *sql, int n, const char *const *vals,
                               gw_db_cb done, struct gw_store_audit_job *j)
{
    int rc;

    if (!j)
        return GW_ENOMEM;
    rc = gw_db_query(db, sql, n, vals, NULL, NULL, done, j);
    if (rc != 0)
        free(j);
    return rc;
}

static struct gw_store_audit_job *gw_store_audit_job_new(void *ud)
{
    struct gw_store_audit_job *j = malloc(sizeof(*j));

    if (j)
        j->ud = ud;
    return j;
}

static void gw_store_audit_sealed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_audit_job *j = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    j->cb.seal(err, n < 0 ? 0 : n, j->ud);
    free(j);
}

int gw_store_audit_seal(struct gw_db *db, int64_t limit, gw_store_audit_seal_cb cb, void *ud)
{
    char batch[24];
    const char *vals[1] = {batch};
    struct gw_store_audit_job *j;
    int rc = gw_pgtype_range(limit, 1, GW_PG_INT4_MAX);

    if (rc != 0)
        return rc;
    if ((j = gw_store_audit_job_new(ud)))
        j->cb.seal = cb;
    snprintf(batch, sizeof(batch), "%" PRId64, limit);
    return gw_store_audit_send(db, "SELECT gw_event_seal($1)", 1, vals, gw_store_audit_sealed, j);
}

static void gw_store_audit_head_read(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_audit_job *j = ud;
    int64_t seq = 0;
    const char *hex = NULL;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && PQnfields(res) == 2) {
        seq = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        hex = PQgetvalue(res, 0, 1);
    } else if (err == 0) {
        err = GW_EDB;
    }
    j->cb.head(err, seq, hex, j->ud);
    free(j);
}

int gw_store_audit_head(struct gw_db *db, gw_store_audit_head_cb cb, void *ud)
{
    struct gw_store_audit_job *j = gw_store_audit_job_new(ud);

    if (j)
        j->cb.head = cb;
    return gw_store_audit_send(db, "SELECT seq, encode(hash, 'hex') FROM event_head", 0, NULL,
                               gw_store_audit_head_read, j);
}
