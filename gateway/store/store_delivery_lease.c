/*
 * Lease renewal of sends in flight (gw_delivery_renew) and the record of each axis's breaker
 * state (gw_peer_health_set), as typed calls.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "store/store_delivery.h"
#include "store/store_delivery_internal.h"
#include "util/error.h"

static void gw_store_renew_res(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_job *j = ud;
    gw_store_renew_cb cb = (gw_store_renew_cb)j->cb;
    int64_t *ids = NULL;
    size_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) > 0) {
        n = (size_t)PQntuples(res);
        ids = calloc(n, sizeof(*ids));
        if (!ids)
            err = GW_ENOMEM;
        for (size_t i = 0; ids && i < n; i++)
            ids[i] = gw_pgfmt_int64(PQgetvalue(res, (int)i, 0));
    }
    cb(err, err == 0 ? ids : NULL, err == 0 ? n : 0, j->ud);
    free(ids);
    free(j);
}

int gw_store_delivery_renew(struct gw_db *db, const char *owner, const struct gw_store_lease *l,
                            size_t n, uint64_t lease_ms, gw_store_renew_cb cb, void *ud)
{
    char lease[24], *ids = NULL, *atts = NULL;
    int64_t *att = NULL;
    struct gw_store_job *j = NULL;
    int rc = gw_store_check_owner(owner);

    if (rc == 0)
        rc = gw_store_check_ms(lease_ms);
    if (rc == 0 && (n == 0 || n > GW_STORE_MAX_CLAIM))
        rc = GW_EINVAL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = gw_pgtype_int4(l[i].attempt);
    if (rc != 0)
        return rc;
    att = calloc(n, sizeof(*att));
    for (size_t i = 0; att && i < n; i++)
        att[i] = l[i].attempt;
    ids = gw_store_int_array(&l[0].delivery_id, n, sizeof(l[0]));
    atts = att ? gw_store_int_array(att, n, sizeof(att[0])) : NULL;
    j = gw_store_job_new((gw_store_fn)cb, ud);
    rc = ids && atts && j ? 0 : GW_ENOMEM;
    if (rc == 0) {
        snprintf(lease, sizeof(lease), "%" PRIu64, lease_ms);
        const char *vals[4] = {ids, owner, atts, lease};
        rc = gw_db_query(db,
                         "SELECT delivery_id::text FROM"
                         " gw_delivery_renew($1::bigint[], $2, $3::integer[], $4)",
                         4, vals, NULL, NULL, gw_store_renew_res, j);
    }
    if (rc != 0)
        free(j);
    free(att);
    free(ids);
    free(atts);
    return rc;
}

static void gw_store_done_res(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_job *j = ud;
    gw_store_done_cb cb = (gw_store_done_cb)j->cb;

    (void)res;
    (void)sqlstate;
    if (cb)
        cb(err, j->ud);
    free(j);
}

int gw_store_delivery_peer_set(struct gw_db *db, const char *axis, const char *state,
                               const char *reason, unsigned failures, const char *owner,
                               gw_store_done_cb cb, void *ud)
{
    char fail[24];
    struct gw_store_job *j;
    int rc = gw_store_check_owner(owner);

    if (rc == 0)
        rc = gw_pgtype_text(axis, false, 0);
    if (rc == 0)
        rc = gw_pgtype_text(state, false, 0);
    if (rc == 0)
        rc = gw_pgtype_text(reason, true, 0);
    if (rc == 0)
        rc = gw_pgtype_int4((int64_t)failures);
    if (rc != 0)
        return rc;
    snprintf(fail, sizeof(fail), "%u", failures);
    j = gw_store_job_new((gw_store_fn)cb, ud);
    if (!j)
        return GW_ENOMEM;
    const char *vals[5] = {axis, state, reason, fail, owner};
    rc = gw_db_query(db, "SELECT gw_peer_health_set($1, $2, $3, $4, $5)", 5, vals, NULL, NULL,
                     gw_store_done_res, j);
    if (rc != 0)
        free(j);
    return rc;
}
