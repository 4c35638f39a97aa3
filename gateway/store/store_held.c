/*
 * The number of deliveries still to be sent to one axis (QUEUED or SENDING), for the start-up
 * report and /readyz of an axis that is disabled and holds its deliveries.
 */
#include "store/store_held.h"

#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_held_req {
    gw_store_held_cb cb;
    void *ud;
};

static void gw_store_held_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_held_req *r = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        err = GW_EDB;
    if (err == 0)
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    r->cb(err, n, r->ud);
    free(r);
}

int gw_store_held_count(struct gw_db *db, const char *axis, gw_store_held_cb cb, void *ud)
{
    const char *vals[1] = {axis};
    struct gw_store_held_req *r;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc != 0)
        return rc;
    if (!cb)
        return GW_EINVAL;
    r = malloc(sizeof(*r));
    if (!r)
        return GW_ENOMEM;
    r->cb = cb;
    r->ud = ud;
    rc = gw_db_query(db,
                     "SELECT count(*) FROM delivery WHERE axis = $1 "
                     "AND state IN ('QUEUED', 'SENDING')",
                     1, vals, NULL, NULL, gw_store_held_done, r);
    if (rc != 0)
        free(r);
    return rc;
}
