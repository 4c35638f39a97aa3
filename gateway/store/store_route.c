/*
 * gw_store_route_package: the typed call of gw_route_package. Axis names and roles travel as two
 * text[] literals built from checked items; the answer is the number of deliveries created.
 */
#include "store/store_route.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "store/store_args.h"
#include "util/error.h"

struct gw_store_route_call {
    gw_store_route_cb cb;
    void *ud;
};

static void gw_store_route_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_route_call *c = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)))
        err = GW_EDB;
    if (err == 0)
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    c->cb(err, n, c->ud);
    free(c);
}

int gw_store_route_package(struct gw_db *db, const struct gw_store_route_args *a,
                           gw_store_route_cb cb, void *ud)
{
    struct gw_store_route_call *c = NULL;
    const char **roles = NULL;
    char *v_axes = NULL, *v_roles = NULL, id[24];
    const char *vals[4];
    int rc;

    if (!a || !cb || (a->n_axes && (!a->axes || !a->provincial)))
        return GW_EINVAL;
    if ((rc = gw_pgtype_range(a->package_id, 1, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->default_axis, true, 0)) != 0)
        return rc;
    if (!(roles = calloc(a->n_axes ? a->n_axes : 1, sizeof(*roles))))
        return GW_ENOMEM;
    for (size_t i = 0; i < a->n_axes; i++)
        roles[i] = a->provincial[i] ? "provincial" : "national";
    rc = gw_store_text_array(a->axes, a->n_axes, 0, &v_axes);
    if (rc == 0)
        rc = gw_store_text_array(roles, a->n_axes, 0, &v_roles);
    if (rc == 0 && !(c = malloc(sizeof(*c))))
        rc = GW_ENOMEM;
    if (rc == 0) {
        c->cb = cb;
        c->ud = ud;
        snprintf(id, sizeof(id), "%" PRId64, a->package_id);
        vals[0] = id;
        vals[1] = v_axes;
        vals[2] = v_roles;
        vals[3] = a->default_axis;
        rc = gw_db_query(db, "SELECT gw_route_package($1, $2::text[], $3::text[], $4)", 4, vals,
                         NULL, NULL, gw_store_route_done, c);
        if (rc != 0)
            free(c);
    }
    free(roles);
    free(v_axes);
    free(v_roles);
    return rc;
}
