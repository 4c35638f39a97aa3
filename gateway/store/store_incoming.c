/*
 * Typed calls of the poller's SQL functions (store_incoming.h): arguments checked against their
 * SQL types and formatted here, results parsed here, so the poller never sees SQL text, PGresult
 * or libpq.
 */
#include "store/store_incoming.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"
#include "util/utf8.h"

#define GW_INCOMING_TEXT_MAX 1000 /* error and detail texts, as the SQL functions keep them */

/* One call in flight: the typed callback and its user data. */
struct gw_incoming_call {
    union {
        gw_store_incoming_lease_cb lease;
        gw_store_incoming_check_cb check;
        gw_store_incoming_store_cb store;
        gw_store_incoming_done_cb done;
        gw_store_incoming_failed_cb failed;
        gw_store_incoming_prune_cb prune;
        gw_store_incoming_due_cb due;
    } cb;
    void *ud;
};

static struct gw_incoming_call *gw_incoming_call_new(void *ud)
{
    struct gw_incoming_call *c = calloc(1, sizeof(*c));
    if (c)
        c->ud = ud;
    return c;
}

/* Runs the query; on error frees the call (its callback then never runs). */
static int gw_incoming_query(struct gw_db *db, const char *sql, int n, const char *const *vals,
                             const int *lens, const int *fmts, gw_db_cb trampoline,
                             struct gw_incoming_call *c)
{
    int rc = gw_db_query(db, sql, n, vals, lens, fmts, trampoline, c);
    if (rc != 0)
        free(c);
    return rc;
}

static int gw_incoming_ids(const char *axis, const char *axis_doc_id)
{
    int rc = gw_pgtype_text(axis, false, 0);
    return rc != 0 ? rc : gw_pgtype_text(axis_doc_id, false, 0);
}

static bool gw_incoming_bool(const PGresult *res, int col)
{
    return !PQgetisnull(res, 0, col) && strcmp(PQgetvalue(res, 0, col), "t") == 0;
}

static int64_t gw_incoming_int(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? -1 : gw_pgfmt_int64(PQgetvalue(res, 0, col));
}

/* ---- lease */

static void gw_incoming_leased(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    bool held = err == 0 && PQntuples(res) == 1 && gw_incoming_bool(res, 0);

    c->cb.lease(err, held, sqlstate, c->ud);
    free(c);
}

int gw_store_incoming_lease(struct gw_db *db, const char *axis, const char *owner,
                            uint64_t lease_ms, gw_store_incoming_lease_cb cb, void *ud)
{
    char ms[24];
    const char *vals[3] = {axis, owner, ms};
    struct gw_incoming_call *c;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc == 0)
        rc = gw_pgtype_text(owner, false, 0);
    if (rc == 0)
        rc = gw_pgtype_ms(lease_ms);
    if (rc != 0)
        return rc;
    if (!(c = gw_incoming_call_new(ud)))
        return GW_ENOMEM;
    c->cb.lease = cb;
    snprintf(ms, sizeof(ms), "%" PRIu64, lease_ms);
    return gw_incoming_query(db, "SELECT gw_poller_lease($1, $2, $3)", 3, vals, NULL, NULL,
                             gw_incoming_leased, c);
}

/* ---- check */

static void gw_incoming_checked(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    struct gw_store_incoming_known k = {0};
    int64_t v;

    if (err == 0 && PQntuples(res) != 1)
        err = GW_EDB;
    if (err == 0) {
        v = gw_incoming_int(res, 0);
        k.package_id = v > 0 ? v : 0;
        k.failing = !PQgetisnull(res, 0, 1);
        k.wait_ms = k.failing ? gw_incoming_int(res, 1) : 0;
        v = gw_incoming_int(res, 2);
        k.failures = v > 0 && v <= INT32_MAX ? (int32_t)v : 0;
        k.refused = gw_incoming_bool(res, 3);
        k.fail_acked = gw_incoming_bool(res, 4);
        if (k.wait_ms < 0)
            k.wait_ms = 0;
    }
    c->cb.check(err, err == 0 ? &k : NULL, sqlstate, c->ud);
    free(c);
}

int gw_store_incoming_check(struct gw_db *db, const char *axis, const char *axis_doc_id,
                            gw_store_incoming_check_cb cb, void *ud)
{
    const char *vals[2] = {axis, axis_doc_id};
    struct gw_incoming_call *c;
    int rc = gw_incoming_ids(axis, axis_doc_id);

    if (rc != 0)
        return rc;
    if (!(c = gw_incoming_call_new(ud)))
        return GW_ENOMEM;
    c->cb.check = cb;
    return gw_incoming_query(db,
                             "SELECT package_id, wait_ms, failures, refused, fail_acked"
                             " FROM gw_incoming_check($1, $2)",
                             2, vals, NULL, NULL, gw_incoming_checked, c);
}

/* ---- store */

static void gw_incoming_stored(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    int64_t id = 0;
    bool created = false;

    if (err == 0 && (PQntuples(res) != 1 || (id = gw_incoming_int(res, 0)) <= 0))
        err = GW_EDB;
    if (err == 0)
        created = gw_incoming_bool(res, 1);
    c->cb.store(err, err == 0 ? id : 0, created, sqlstate, c->ud);
    free(c);
}

int gw_store_incoming_store(struct gw_db *db, const char *axis, const char *axis_doc_id,
                            const struct gw_store_package *pkg, gw_store_incoming_store_cb cb,
                            void *ud)
{
    struct gw_pkgsql q = {.n = 0};
    struct gw_incoming_call *c;
    int rc = gw_incoming_ids(axis, axis_doc_id);

    if (rc != 0)
        return rc;
    gw_pkgsql_text(&q, axis);
    gw_pkgsql_text(&q, axis_doc_id);
    rc = gw_pkgsql_package(&q, pkg);
    if (rc == 0 && !(c = gw_incoming_call_new(ud)))
        rc = GW_ENOMEM;
    if (rc == 0) {
        c->cb.store = cb;
        rc = gw_incoming_query(
            db,
            "SELECT package_id, created FROM gw_incoming_store_staged($1, $2, $3, $4,"
            " $5, $6::text[], $7, $8::smallint, $9::bytea, $10::bigint,"
            " $11::bigint, $12::jsonb)",
            q.n, q.values, q.lengths, q.formats, gw_incoming_stored, c);
    }
    gw_pkgsql_free(&q);
    return rc;
}

/* ---- acked, refused */

static void gw_incoming_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;

    c->cb.done(err, sqlstate, c->ud);
    free(c);
}

int gw_store_incoming_acked(struct gw_db *db, int64_t package_id, gw_store_incoming_done_cb cb,
                            void *ud)
{
    char id[24];
    const char *vals[1] = {id};
    struct gw_incoming_call *c;

    if (package_id <= 0)
        return GW_ERANGE;
    if (!(c = gw_incoming_call_new(ud)))
        return GW_ENOMEM;
    c->cb.done = cb;
    snprintf(id, sizeof(id), "%" PRId64, package_id);
    return gw_incoming_query(db, "SELECT gw_incoming_acked($1)", 1, vals, NULL, NULL,
                             gw_incoming_done, c);
}

int gw_store_incoming_fail_acked(struct gw_db *db, const char *axis, const char *axis_doc_id,
                                 gw_store_incoming_done_cb cb, void *ud)
{
    const char *vals[2] = {axis, axis_doc_id};
    struct gw_incoming_call *c;
    int rc = gw_incoming_ids(axis, axis_doc_id);

    if (rc != 0)
        return rc;
    if (!(c = gw_incoming_call_new(ud)))
        return GW_ENOMEM;
    c->cb.done = cb;
    return gw_incoming_query(db, "SELECT gw_incoming_fail_acked($1, $2)", 2, vals, NULL, NULL,
                             gw_incoming_done, c);
}

int gw_store_incoming_refused(struct gw_db *db, const struct gw_store_incoming_refusal *r,
                              gw_store_incoming_done_cb cb, void *ud)
{
    char size[24];
    char *detail;
    const char *vals[7];
    int lens[7] = {0}, fmts[7] = {0};
    struct gw_incoming_call *c;
    int rc = gw_incoming_ids(r->axis, r->axis_doc_id);

    if (rc == 0)
        rc = gw_pgtype_text(r->code, false, 100);
    if (rc == 0 && r->size > INT64_MAX)
        rc = GW_ERANGE;
    if (rc != 0)
        return rc;
    detail = gw_utf8_sanitize(r->detail ? r->detail : "", GW_INCOMING_TEXT_MAX);
    c = detail ? gw_incoming_call_new(ud) : NULL;
    if (!c) {
        free(detail);
        return GW_ENOMEM;
    }
    c->cb.done = cb;
    snprintf(size, sizeof(size), "%zu", r->size);
    vals[0] = r->axis;
    vals[1] = r->axis_doc_id;
    vals[2] = gw_pkg_kind_name(r->kind);
    vals[3] = r->code;
    vals[4] = detail;
    vals[5] = (const char *)r->sha256;
    lens[5] = r->sha256 ? 32 : 0;
    fmts[5] = 1;
    vals[6] = size;
    rc = gw_incoming_query(db,
                           "SELECT gw_incoming_refused($1, $2, $3, $4, $5, $6::bytea, $7::bigint)",
                           7, vals, lens, fmts, gw_incoming_done, c);
    free(detail);
    return rc;
}

/* ---- failed */

static void gw_incoming_failed_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    int64_t n = 0, wait = 0;

    if (err == 0 && (PQntuples(res) != 1 || (n = gw_incoming_int(res, 0)) <= 0 ||
                     (wait = gw_incoming_int(res, 1)) < 0 || n > INT32_MAX || wait > INT32_MAX))
        err = GW_EDB;
    c->cb.failed(err, err == 0 ? (int32_t)n : 0, err == 0 ? (int32_t)wait : 0, sqlstate, c->ud);
    free(c);
}

int gw_store_incoming_failed(struct gw_db *db, const struct gw_store_incoming_failure *f,
                             gw_store_incoming_failed_cb cb, void *ud)
{
    char base[24], max[24];
    char *error;
    const char *vals[6];
    struct gw_incoming_call *c;
    int rc = gw_incoming_ids(f->axis, f->axis_doc_id);

    if (rc == 0)
        rc = gw_pgtype_ms(f->backoff_base_ms);
    if (rc == 0)
        rc = gw_pgtype_ms(f->backoff_max_ms);
    if (rc != 0)
        return rc;
    error = gw_utf8_sanitize(f->error ? f->error : "", GW_INCOMING_TEXT_MAX);
    c = error ? gw_incoming_call_new(ud) : NULL;
    if (!c) {
        free(error);
        return GW_ENOMEM;
    }
    c->cb.failed = cb;
    snprintf(base, sizeof(base), "%" PRIu64, f->backoff_base_ms);
    snprintf(max, sizeof(max), "%" PRIu64, f->backoff_max_ms);
    vals[0] = f->axis;
    vals[1] = f->axis_doc_id;
    vals[2] = gw_pkg_kind_name(f->kind);
    vals[3] = error;
    vals[4] = base;
    vals[5] = max;
    rc = gw_incoming_query(db,
                           "SELECT failures, wait_ms FROM gw_incoming_failed($1, $2, $3, $4, $5,"
                           " $6)",
                           6, vals, NULL, NULL, gw_incoming_failed_done, c);
    free(error);
    return rc;
}

/* ---- prune */

static void gw_incoming_pruned(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    int64_t n = 0;

    if (err == 0 && (PQntuples(res) != 1 || (n = gw_incoming_int(res, 0)) < 0))
        err = GW_EDB;
    c->cb.prune(err, n, sqlstate, c->ud);
    free(c);
}

/* The listed doc ids as a text[] literal, each checked as text first. */
static int gw_incoming_listed(char *const *listed, size_t n, char **arr)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = gw_pgtype_text(listed[i], false, 0);
    if (rc != 0)
        return rc;
    *arr = gw_pgfmt_text_array(listed, n);
    return *arr ? 0 : GW_ENOMEM;
}

int gw_store_incoming_prune(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                            char *const *listed, size_t n, bool windowed,
                            gw_store_incoming_prune_cb cb, void *ud)
{
    const char *vals[4];
    struct gw_incoming_call *c;
    char *arr = NULL;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc == 0)
        rc = gw_incoming_listed(listed, n, &arr);
    if (rc != 0)
        return rc;
    if (!(c = gw_incoming_call_new(ud))) {
        free(arr);
        return GW_ENOMEM;
    }
    c->cb.prune = cb;
    vals[0] = axis;
    vals[1] = gw_pkg_kind_name(kind);
    vals[2] = arr;
    vals[3] = windowed ? "true" : "false";
    rc = gw_incoming_query(db, "SELECT gw_incoming_prune($1, $2, $3::text[], $4::boolean)", 4, vals,
                           NULL, NULL, gw_incoming_pruned, c);
    free(arr);
    return rc;
}

/* ---- due */

static void gw_incoming_due_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_incoming_call *c = ud;
    char **ids = NULL;
    int n = err == 0 ? PQntuples(res) : 0;

    if (err == 0 && n > 0 && !(ids = calloc((size_t)n, sizeof(*ids))))
        err = GW_ENOMEM;
    for (int i = 0; err == 0 && i < n; i++) {
        if (PQgetisnull(res, i, 0))
            err = GW_EDB;
        else
            ids[i] = PQgetvalue(res, i, 0); /* owned by res, valid during the callback */
    }
    c->cb.due(err, err == 0 ? ids : NULL, err == 0 ? (size_t)n : 0, sqlstate, c->ud);
    free(ids);
    free(c);
}

int gw_store_incoming_due(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                          char *const *listed, size_t n, uint32_t limit,
                          gw_store_incoming_due_cb cb, void *ud)
{
    char lim[16];
    const char *vals[4];
    struct gw_incoming_call *c;
    char *arr = NULL;
    int rc = gw_pgtype_text(axis, false, 0);

    if (rc == 0 && (limit < 1 || limit > GW_STORE_INCOMING_DUE_MAX))
        rc = GW_ERANGE;
    if (rc == 0)
        rc = gw_incoming_listed(listed, n, &arr);
    if (rc != 0)
        return rc;
    if (!(c = gw_incoming_call_new(ud))) {
        free(arr);
        return GW_ENOMEM;
    }
    c->cb.due = cb;
    snprintf(lim, sizeof(lim), "%" PRIu32, limit);
    vals[0] = axis;
    vals[1] = gw_pkg_kind_name(kind);
    vals[2] = arr;
    vals[3] = lim;
    rc = gw_incoming_query(db, "SELECT gw_incoming_due($1, $2, $3::text[], $4::integer)", 4, vals,
                           NULL, NULL, gw_incoming_due_done, c);
    free(arr);
    return rc;
}
