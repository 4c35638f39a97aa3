/*
 * Typed calls of gw_paper_dispatch and gw_paper_counts (010_paper.sql).
 */
#include "store/store_paper.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

#define TEXT_MAX 1000 /* bytes of who sent a copy and of its reference */

struct gw_store_paper_call {
    gw_store_paper_dispatch_cb dispatch;
    gw_store_paper_counts_cb counts;
    gw_store_paper_aliases_cb aliases;
    void *ud;
};

static void gw_store_paper_dispatched(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_paper_call *c = ud;
    int n = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 1))
        err = GW_EDB;
    if (err == 0) {
        /* -2 and -1 are answers (pgfmt reads only counts) */
        const char *v = PQgetvalue(res, 0, 0);
        n = v[0] == '-' ? -(int)gw_pgfmt_int64(v + 1) : (int)gw_pgfmt_int64(v);
        if (n < -2)
            err = GW_EDB;
    }
    c->dispatch(err, n, c->ud);
    free(c);
}

int gw_store_paper_dispatch(struct gw_db *db, const struct gw_store_paper_dispatch_args *a,
                            gw_store_paper_dispatch_cb cb, void *ud)
{
    char id[24], at[24], *scope = NULL;
    int rc;

    if ((rc = gw_pgtype_range(a->package_id, 1, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->recipient, true, 200)) != 0 ||
        (rc = gw_pgtype_text(a->by, false, TEXT_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->reference, true, TEXT_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->actor, false, 200)) != 0 ||
        (rc = gw_pgtype_range(a->at, 0, 253402300799)) != 0 || /* up to 9999-12-31 */
        (rc = gw_store_scope_array(&a->scope, &scope)) != 0)
        return rc;
    struct gw_store_paper_call *c = calloc(1, sizeof(*c));
    if (!c) {
        free(scope);
        return GW_ENOMEM;
    }
    c->dispatch = cb;
    c->ud = ud;
    snprintf(id, sizeof(id), "%" PRId64, a->package_id);
    snprintf(at, sizeof(at), "%" PRId64, a->at);
    const char *vals[7] = {id,    scope,        a->recipient, a->at ? at : NULL,
                           a->by, a->reference, a->actor};
    rc = gw_db_query(db,
                     "SELECT gw_paper_dispatch($1::bigint, $2::text[], $3,"
                     " to_timestamp($4::bigint), $5, $6, $7)",
                     7, vals, NULL, NULL, gw_store_paper_dispatched, c);
    free(scope);
    if (rc != 0)
        free(c);
    return rc;
}

static void gw_store_paper_counted(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_paper_call *c = ud;
    int64_t pending = 0, overdue = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 2))
        err = GW_EDB;
    if (err == 0) {
        pending = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        overdue = gw_pgfmt_int64(PQgetvalue(res, 0, 1));
    }
    c->counts(err, pending, overdue, c->ud);
    free(c);
}

int gw_store_paper_counts(struct gw_db *db, gw_store_paper_counts_cb cb, void *ud)
{
    struct gw_store_paper_call *c = calloc(1, sizeof(*c));
    if (!c)
        return GW_ENOMEM;
    c->counts = cb;
    c->ud = ud;
    int rc = gw_db_query(db, "SELECT pending, overdue FROM gw_paper_counts()", 0, NULL, NULL, NULL,
                         gw_store_paper_counted, c);
    if (rc != 0)
        free(c);
    return rc;
}

#define ALIASES_MAX 1000 /* pairs read at most */

static void gw_store_paper_aliased(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_paper_call *c = ud;
    const char *alias[ALIASES_MAX], *id[ALIASES_MAX];
    size_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQnfields(res) != 2)
        err = GW_EDB;
    for (int i = 0; err == 0 && i < PQntuples(res) && n < ALIASES_MAX; i++) {
        alias[n] = PQgetvalue(res, i, 0);
        id[n++] = PQgetvalue(res, i, 1);
    }
    c->aliases(err, alias, id, err == 0 ? n : 0, c->ud);
    free(c);
}

int gw_store_paper_aliases(struct gw_db *db, const char *const *ids, size_t n_ids,
                           gw_store_paper_aliases_cb cb, void *ud)
{
    char *arr = NULL;
    int rc = gw_store_text_array(ids, n_ids, 200, &arr);
    if (rc != 0)
        return rc;
    struct gw_store_paper_call *c = calloc(1, sizeof(*c));
    if (!c) {
        free(arr);
        return GW_ENOMEM;
    }
    c->aliases = cb;
    c->ud = ud;
    const char *vals[1] = {arr};
    rc = gw_db_query(db,
                     "SELECT DISTINCT qd20, qcvn102 FROM v_agency_pair"
                     " WHERE gw_orgid_key(qcvn102) IN (SELECT gw_orgid_key(x) FROM"
                     " unnest($1::text[]) x) ORDER BY 1, 2 LIMIT 1000",
                     1, vals, NULL, NULL, gw_store_paper_aliased, c);
    free(arr);
    if (rc != 0)
        free(c);
    return rc;
}
