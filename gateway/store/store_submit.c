/*
 * gw_store_submit: the typed call of gw_submit for the northbound API. Every value is checked
 * against its SQL type before it is sent (a BussinessDocType beyond smallint is GW_ERANGE here,
 * a 4xx for the client, never a database error), then the outcome row is read back typed. A
 * package small enough for one chunk is staged and stored in one statement (stage_bytes).
 */
#include "store/store_submit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "store/store_args.h"
#include "store/store_body.h"
#include "util/error.h"

#define GW_SUBMIT_NPARAMS 12

struct gw_store_submit_call {
    gw_store_submit_cb cb;
    void *ud;
};

int gw_store_submit_check(const struct gw_store_submit_args *a)
{
    int rc;

    if (!a->document_id || !a->document_id[0] || !a->sender || !a->sender[0] || !a->source ||
        !a->axis || !a->sha256 || a->n_recipients == 0 || !a->recipients)
        return GW_EINVAL;
    if (a->kind != GW_KIND_EDOC && a->kind != GW_KIND_STATUS)
        return GW_EINVAL;
    if ((rc = gw_pgtype_int2(a->business_doc_type)) != 0 ||
        (rc = gw_pgtype_text(a->source, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->document_id, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->sender, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->status_code, true, 0)) != 0 ||
        (rc = gw_pgtype_text(a->axis, false, 0)) != 0 || (rc = gw_pgtype_bytea(a->len)) != 0)
        return rc;
    if (a->body_id != 0 && a->stage_bytes)
        return GW_EINVAL;
    if (a->stage_bytes && (!a->bytes || a->len == 0))
        return GW_EINVAL;
    if (a->stage_bytes && a->len > GW_STORE_BODY_CHUNK_MAX)
        return GW_ERANGE;
    if (a->body_id != 0 && (rc = gw_pgtype_range(a->body_id, 1, INT64_MAX)) != 0)
        return rc;
    if ((a->body_id != 0 || a->stage_bytes) && (rc = gw_pgtype_text(a->doc_json, true, 0)) != 0)
        return rc;
    if (a->body_id != 0 && a->size > (uint64_t)INT64_MAX)
        return GW_ERANGE;
    for (size_t i = 0; i < a->n_recipients; i++) {
        if ((rc = gw_pgtype_text(a->recipients[i], false, 0)) != 0)
            return rc;
    }
    return 0;
}

static void gw_store_submit_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_submit_call *call = ud;
    struct gw_store_submit_result r = {0};
    const char *outcome;

    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) < 2 || PQgetisnull(res, 0, 0)))
        err = GW_EDB;
    if (err != 0) {
        call->cb(err, NULL, sqlstate ? sqlstate : "", call->ud);
        free(call);
        return;
    }
    r.package_id = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    outcome = PQgetvalue(res, 0, 1);
    r.outcome = strcmp(outcome, "created") == 0     ? GW_STORE_SUBMIT_CREATED
                : strcmp(outcome, "duplicate") == 0 ? GW_STORE_SUBMIT_DUPLICATE
                                                    : GW_STORE_SUBMIT_CONFLICT;
    if (PQnfields(res) > 2 && !PQgetisnull(res, 0, 2))
        r.body_id = gw_pgfmt_int64(PQgetvalue(res, 0, 2));
    call->cb(0, &r, "", call->ud);
    free(call);
}

int gw_store_submit(struct gw_db *db, const struct gw_store_submit_args *a, gw_store_submit_cb cb,
                    void *ud)
{
    static const char sql[] = "SELECT package_id, outcome FROM gw_submit($1, $2, $3, $4,"
                              " $5::text[], $6, $7::smallint, $8::bytea, $9::bytea, $10)";
    static const char sql_staged[] =
        "SELECT s.package_id, s.outcome, b.id FROM gw_body_start($9::bytea) AS b(id),"
        " gw_submit_staged($1, $2, $3, $4, $5::text[], $6, $7::smallint, $8::bytea, b.id,"
        " $10::bigint, $11::jsonb, $12) AS s";
    static const char sql_body[] =
        "SELECT package_id, outcome FROM gw_submit_staged($1, $2, $3, $4,"
        " $5::text[], $6, $7::smallint, $8::bytea, $9::bigint,"
        " $10::bigint, $11::jsonb, $12)";
    struct gw_store_submit_call *call;
    const char *vals[GW_SUBMIT_NPARAMS];
    int lens[GW_SUBMIT_NPARAMS] = {0};
    int fmts[GW_SUBMIT_NPARAMS] = {0};
    char bdt[8], body[24], size[24], *rcpts = NULL;
    int n = 10;
    int rc;

    if ((rc = gw_store_submit_check(a)) != 0)
        return rc;
    if ((rc = gw_store_text_array(a->recipients, a->n_recipients, 0, &rcpts)) != 0)
        return rc;
    call = malloc(sizeof(*call));
    if (!call) {
        free(rcpts);
        return GW_ENOMEM;
    }
    call->cb = cb;
    call->ud = ud;
    snprintf(bdt, sizeof(bdt), "%d", (int)a->business_doc_type);
    vals[0] = a->source;
    vals[1] = gw_pkg_kind_name(a->kind);
    vals[2] = a->document_id;
    vals[3] = a->sender;
    vals[4] = rcpts;
    vals[5] = a->status_code;
    vals[6] = bdt;
    vals[7] = (const char *)a->sha256;
    lens[7] = 32;
    fmts[7] = 1;
    if (a->stage_bytes) {
        snprintf(size, sizeof(size), "%zu", a->len);
        vals[8] = (const char *)a->bytes;
        lens[8] = (int)a->len;
        fmts[8] = 1;
        vals[9] = size;
        vals[10] = a->doc_json;
        vals[11] = a->axis;
        n = 12;
    } else if (a->body_id == 0) {
        vals[8] = a->bytes ? (const char *)a->bytes : "";
        lens[8] = (int)a->len;
        fmts[8] = 1;
        vals[9] = a->axis;
    } else {
        snprintf(body, sizeof(body), "%" PRId64, a->body_id);
        snprintf(size, sizeof(size), "%" PRIu64, a->size);
        vals[8] = body;
        vals[9] = size;
        vals[10] = a->doc_json;
        vals[11] = a->axis;
        n = 12;
    }
    /* A submission is new work: it waits until the work in hand has been handed out (db.h
     * GW_DB_INTAKE), so accepting does not outrun relaying. */
    if (a->stage_bytes)
        rc = gw_db_query_ex(db, GW_DB_BORROW | GW_DB_INTAKE, sql_staged, n, vals, lens, fmts,
                            gw_store_submit_done, call);
    else
        rc = gw_db_query_ex(db, GW_DB_INTAKE, a->body_id == 0 ? sql : sql_body, n, vals, lens, fmts,
                            gw_store_submit_done, call);
    free(rcpts);
    if (rc != 0)
        free(call);
    return rc;
}
