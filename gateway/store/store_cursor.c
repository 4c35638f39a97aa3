/*
 * Axis list cursors (011_cursor.sql): one row per (axis, kind), read before a list and replaced
 * after a list whose items were all stored, refused or recorded as failing
 * (016_incoming_retry.sql).
 */
#include "store/store_cursor.h"

#include <stdlib.h>
#include <string.h>

#include "store/pgtype.h"
#include "util/error.h"

struct gw_cursor_call {
    gw_store_cursor_get_cb get;
    gw_store_cursor_put_cb put;
    void *ud;
};

static void gw_cursor_got(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_cursor_call *c = ud;
    const char *cursor = NULL;

    if (err == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        cursor = PQgetvalue(res, 0, 0);
    c->get(err, cursor, sqlstate, c->ud);
    free(c);
}

int gw_store_cursor_get(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                        gw_store_cursor_get_cb cb, void *ud)
{
    const char *vals[2] = {axis, gw_pkg_kind_name(kind)};
    struct gw_cursor_call *c;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc != 0)
        return rc;
    if (!(c = calloc(1, sizeof(*c))))
        return GW_ENOMEM;
    c->get = cb;
    c->ud = ud;
    rc = gw_db_query(db, "SELECT cursor FROM axis_cursor WHERE axis = $1 AND kind = $2", 2, vals,
                     NULL, NULL, gw_cursor_got, c);
    if (rc != 0)
        free(c);
    return rc;
}

static void gw_cursor_put_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_cursor_call *c = ud;
    (void)res;
    c->put(err, sqlstate, c->ud);
    free(c);
}

int gw_store_cursor_put(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                        const char *cursor, gw_store_cursor_put_cb cb, void *ud)
{
    const char *vals[3] = {axis, gw_pkg_kind_name(kind), cursor};
    struct gw_cursor_call *c;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc == 0)
        rc = gw_pgtype_text(cursor, false, GW_STORE_CURSOR_MAX);
    if (rc == 0 && !cursor[0])
        rc = GW_EINVAL;
    if (rc != 0)
        return rc;
    if (!(c = calloc(1, sizeof(*c))))
        return GW_ENOMEM;
    c->put = cb;
    c->ud = ud;
    rc = gw_db_query(db,
                     "INSERT INTO axis_cursor (axis, kind, cursor) VALUES ($1, $2, $3)"
                     " ON CONFLICT (axis, kind) DO UPDATE SET cursor = EXCLUDED.cursor,"
                     " updated_at = now()",
                     3, vals, NULL, NULL, gw_cursor_put_done, c);
    if (rc != 0)
        free(c);
    return rc;
}
