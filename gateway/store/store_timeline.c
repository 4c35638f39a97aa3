/*
 * Timelines of a package: the JSON read (routes, recipients without electronic means, timelines,
 * all built by the SQL functions of 005_route.sql) and the typed call of gw_timeline_note.
 */
#include "store/store_timeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_timeline_call {
    gw_store_timeline_json_cb json_cb;
    gw_store_timeline_note_cb note_cb;
    void *ud;
};

static void gw_store_timeline_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_timeline_call *c = ud;
    const char *v = NULL;
    size_t len = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)))
        err = c->json_cb && PQntuples(res) == 0 ? GW_ENOENT : GW_EDB;
    if (err == 0) {
        v = PQgetvalue(res, 0, 0);
        len = (size_t)PQgetlength(res, 0, 0);
    }
    if (c->json_cb)
        c->json_cb(err, v, len, c->ud);
    else
        c->note_cb(err, err == 0 ? gw_pgfmt_int64(v) : 0, c->ud);
    free(c);
}

static int gw_store_timeline_query(struct gw_db *db, const char *sql, int64_t package_id,
                                   struct gw_store_timeline_call *proto)
{
    struct gw_store_timeline_call *c;
    char id[24];
    const char *vals[1] = {id};
    int rc;

    if ((rc = gw_pgtype_range(package_id, 1, INT64_MAX)) != 0)
        return rc;
    if (!(c = malloc(sizeof(*c))))
        return GW_ENOMEM;
    *c = *proto;
    snprintf(id, sizeof(id), "%" PRId64, package_id);
    rc = gw_db_query(db, sql, 1, vals, NULL, NULL, gw_store_timeline_done, c);
    if (rc != 0)
        free(c);
    return rc;
}

int gw_store_timeline_read(struct gw_db *db, int64_t package_id, gw_store_timeline_json_cb cb,
                           void *ud)
{
    struct gw_store_timeline_call proto = {.json_cb = cb, .ud = ud};

    if (!cb)
        return GW_EINVAL;
    return gw_store_timeline_query(
        db,
        "SELECT json_build_object('routes', gw_package_routes(p.id),"
        " 'no_electronic_means', (SELECT coalesce(json_agg(pr.recipient ORDER BY pr.ord),"
        "  '[]'::json) FROM package_route pr WHERE pr.package_id = p.id AND pr.route = 'none'),"
        " 'timelines', gw_package_timelines(p.id)) FROM package p WHERE p.id = $1",
        package_id, &proto);
}

int gw_store_timeline_note(struct gw_db *db, int64_t package_id, gw_store_timeline_note_cb cb,
                           void *ud)
{
    struct gw_store_timeline_call proto = {.note_cb = cb, .ud = ud};

    if (!cb)
        return GW_EINVAL;
    return gw_store_timeline_query(db, "SELECT gw_timeline_note($1)", package_id, &proto);
}
