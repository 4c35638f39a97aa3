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

struct gw_store_audit_job {
    gw_store_audit_seal_cb cb;
    void *ud;
};

static void gw_store_audit_sealed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_audit_job *j = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    j->cb(err, n < 0 ? 0 : n, j->ud);
    free(j);
}

int gw_store_audit_seal(struct gw_db *db, int64_t limit, gw_store_audit_seal_cb cb, void *ud)
{
    char batch[24];
    struct gw_store_audit_job *j;
    int rc = gw_pgtype_range(limit, 1, GW_PG_INT4_MAX);

    if (rc != 0)
        return rc;
    j = malloc(sizeof(*j));
    if (!j)
        return GW_ENOMEM;
    j->cb = cb;
    j->ud = ud;
    snprintf(batch, sizeof(batch), "%" PRId64, limit);
    const char *vals[1] = {batch};
    rc = gw_db_query(db, "SELECT gw_event_seal($1)", 1, vals, NULL, NULL, gw_store_audit_sealed, j);
    if (rc != 0)
        free(j);
    return rc;
}

struct gw_store_audit_head_job {
    gw_store_audit_head_cb cb;
    void *ud;
};

static void gw_store_audit_head_read(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_audit_head_job *j = ud;
    int64_t seq = 0;
    const char *hex = NULL;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && PQnfields(res) == 2) {
        seq = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        hex = PQgetvalue(res, 0, 1);
    } else if (err == 0) {
        err = GW_EDB;
    }
    j->cb(err, seq, hex, j->ud);
    free(j);
}

int gw_store_audit_head(struct gw_db *db, gw_store_audit_head_cb cb, void *ud)
{
    struct gw_store_audit_head_job *j = malloc(sizeof(*j));
    int rc;

    if (!j)
        return GW_ENOMEM;
    j->cb = cb;
    j->ud = ud;
    rc = gw_db_query(db, "SELECT seq, encode(hash, 'hex') FROM event_head", 0, NULL, NULL, NULL,
                     gw_store_audit_head_read, j);
    if (rc != 0)
        free(j);
    return rc;
}
