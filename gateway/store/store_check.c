/*
 * Typed calls of the signature check's SQL (008_signature.sql): gw_check_claim, gw_check_done,
 * gw_check_renew, gw_check_decide, and the chunk layout of a stored body. Every argument is
 * checked against its SQL type before it is sent.
 */
#include "store/store_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_check_call {
    union {
        gw_store_check_claim_cb claim;
        gw_store_check_done_cb done;
        gw_store_check_renew_cb renew;
        gw_store_check_decide_cb decide;
        gw_store_check_layout_cb layout;
        gw_store_check_recipients_cb recipients;
    } cb;
    void *ud;
};

static struct gw_store_check_call *gw_check_call(void *ud)
{
    struct gw_store_check_call *c = calloc(1, sizeof(*c));
    if (c)
        c->ud = ud;
    return c;
}

static int gw_check_send(struct gw_db *db, const char *sql, int n, const char *const *vals,
                         gw_db_cb done, struct gw_store_check_call *c)
{
    int rc;

    if (!c)
        return GW_ENOMEM;
    rc = gw_db_query(db, sql, n, vals, NULL, NULL, done, c);
    if (rc != 0)
        free(c);
    return rc;
}

void gw_store_check_job_clear(struct gw_store_check_job *j)
{
    free(j->sender);
    free(j->document_id);
    free(j->attachments_json);
    free(j->first_recipient);
    memset(j, 0, sizeof(*j));
}

static char *gw_check_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static void gw_check_claimed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    struct gw_store_check_job *jobs = NULL;
    int n = 0;

    (void)sqlstate;
    if (err == 0 && PQnfields(res) != 13)
        err = GW_EDB;
    if (err == 0)
        n = PQntuples(res);
    if (err == 0 && n > 0 && !(jobs = calloc((size_t)n, sizeof(*jobs))))
        err = GW_ENOMEM;
    for (int i = 0; err == 0 && i < n; i++) {
        struct gw_store_check_job *j = &jobs[i];
        j->package_id = gw_pgfmt_int64(PQgetvalue(res, i, 0));
        j->incoming = strcmp(PQgetvalue(res, i, 1), "in") == 0;
        j->sender = gw_check_text(res, i, 2);
        j->document_id = gw_check_text(res, i, 3);
        j->attempts = (int)gw_pgfmt_int64(PQgetvalue(res, i, 4));
        j->deadline_at = gw_pgfmt_int64(PQgetvalue(res, i, 5));
        j->body_id = gw_pgfmt_int64(PQgetvalue(res, i, 6));
        j->size = gw_pgfmt_int64(PQgetvalue(res, i, 7));
        j->chunks = (int)gw_pgfmt_int64(PQgetvalue(res, i, 8));
        j->xmldsig = strcmp(PQgetvalue(res, i, 9), "t") == 0;
        j->attachments_json = gw_check_text(res, i, 10);
        j->first_recipient = gw_check_text(res, i, 11);
        j->max_unwrapped = gw_pgfmt_int64(PQgetvalue(res, i, 12));
        if (j->package_id <= 0 || !j->attachments_json || !j->document_id)
            err = GW_EDB;
    }
    c->cb.claim(err, err == 0 ? jobs : NULL, err == 0 ? (size_t)n : 0, c->ud);
    for (int i = 0; jobs && i < n; i++)
        gw_store_check_job_clear(&jobs[i]);
    free(jobs);
    free(c);
}

int gw_store_check_claim(struct gw_db *db, const char *owner, uint64_t lease_ms, unsigned limit,
                         gw_store_check_claim_cb cb, void *ud)
{
    char lease[24], lim[16];
    const char *vals[3] = {owner, lease, lim};
    int rc;

    if ((rc = gw_pgtype_text(owner, false, 0)) != 0 || (rc = gw_pgtype_ms(lease_ms)) != 0 ||
        (rc = gw_pgtype_int4(limit)) != 0)
        return rc;
    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)lease_ms);
    snprintf(lim, sizeof(lim), "%u", limit);
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.claim = cb;
    return gw_check_send(
        db,
        "SELECT package_id, direction, sender, document_id, attempts,"
        " coalesce(extract(epoch FROM deadline_at)::bigint, 0),"
        " coalesce(body_id, 0), coalesce(size, 0), coalesce(chunks, 0),"
        " xmldsig, attachments, first_recipient,"
        " coalesce((SELECT CASE WHEN bool_or(coalesce((a ->> 'unwrapped_size')::bigint, 0) <= 0)"
        " THEN -1 ELSE max((a ->> 'unwrapped_size')::bigint) END"
        " FROM json_array_elements(attachments) a WHERE (a ->> 'unwrapped')::boolean), 0)"
        " FROM gw_check_claim($1, $2::integer, $3::integer)",
        3, vals, gw_check_claimed, c);
}

static void gw_check_recorded(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    bool recorded = false;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        err = GW_EDB;
    if (err == 0)
        recorded = strcmp(PQgetvalue(res, 0, 0), "recorded") == 0;
    c->cb.done(err, recorded, c->ud);
    free(c);
}

int gw_store_check_done(struct gw_db *db, const struct gw_store_check_done_args *a,
                        gw_store_check_done_cb cb, void *ud)
{
    char id[24], retry[24], deadline[24];
    const char *vals[11];
    int rc;

    if ((rc = gw_pgtype_text(a->owner, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->summary, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->sub, true, 0)) != 0 ||
        (rc = gw_pgtype_text(a->reason_vi, true, 0)) != 0 ||
        (rc = gw_pgtype_text(a->reason_en, true, 0)) != 0 ||
        (rc = gw_pgtype_text(a->action, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->decided_by, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->report_json, false, 0)) != 0 ||
        (a->retry_ms >= 0 && (rc = gw_pgtype_int4(a->retry_ms)) != 0) ||
        (rc = gw_pgtype_int4(a->deadline_s)) != 0)
        return rc;
    snprintf(id, sizeof(id), "%lld", (long long)a->package_id);
    snprintf(retry, sizeof(retry), "%lld", (long long)a->retry_ms);
    snprintf(deadline, sizeof(deadline), "%lld", (long long)a->deadline_s);
    vals[0] = id;
    vals[1] = a->owner;
    vals[2] = a->summary;
    vals[3] = a->sub;
    vals[4] = a->reason_vi;
    vals[5] = a->reason_en;
    vals[6] = a->action;
    vals[7] = a->decided_by;
    vals[8] = a->retry_ms >= 0 ? retry : NULL;
    vals[9] = deadline;
    vals[10] = a->report_json;
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.done = cb;
    return gw_check_send(db,
                         "SELECT gw_check_done($1::bigint, $2, $3, $4, $5, $6, $7, $8,"
                         " $9::integer, $10::integer, $11::jsonb)",
                         11, vals, gw_check_recorded, c);
}

static void gw_check_renewed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    int64_t *gone = NULL;
    int n = 0;

    (void)sqlstate;
    if (err == 0)
        n = PQntuples(res);
    if (err == 0 && n > 0 && !(gone = calloc((size_t)n, sizeof(*gone))))
        err = GW_ENOMEM;
    for (int i = 0; err == 0 && i < n; i++)
        gone[i] = gw_pgfmt_int64(PQgetvalue(res, i, 0));
    c->cb.renew(err, gone, err == 0 ? (size_t)n : 0, c->ud);
    free(gone);
    free(c);
}

int gw_store_check_renew(struct gw_db *db, const char *owner, const int64_t *ids, size_t n,
                         uint64_t lease_ms, gw_store_check_renew_cb cb, void *ud)
{
    char lease[24], *arr;
    size_t cap = 3 + n * 21, off;
    const char *vals[3];
    int rc;

    if ((rc = gw_pgtype_text(owner, false, 0)) != 0 || (rc = gw_pgtype_ms(lease_ms)) != 0)
        return rc;
    if (!(arr = malloc(cap)))
        return GW_ENOMEM;
    off = (size_t)snprintf(arr, cap, "{");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(arr + off, cap - off, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(arr + off, cap - off, "}");
    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)lease_ms);
    vals[0] = owner;
    vals[1] = arr;
    vals[2] = lease;
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.renew = cb;
    rc = gw_check_send(db, "SELECT package_id FROM gw_check_renew($1, $2::bigint[], $3::integer)",
                       3, vals, gw_check_renewed, c);
    free(arr);
    return rc;
}

static void gw_check_decided(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    bool ok = false;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        err = GW_EDB;
    if (err == 0)
        ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    c->cb.decide(err, ok, c->ud);
    free(c);
}

int gw_store_check_decide(struct gw_db *db, int64_t package_id, const char *actor, bool release,
                          const char *reason, gw_store_check_decide_cb cb, void *ud)
{
    char id[24];
    const char *vals[4] = {id, actor, release ? "t" : "f", reason};
    int rc;

    if ((rc = gw_pgtype_text(actor, false, 0)) != 0 || (rc = gw_pgtype_text(reason, true, 0)) != 0)
        return rc;
    snprintf(id, sizeof(id), "%lld", (long long)package_id);
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.decide = cb;
    return gw_check_send(db, "SELECT gw_check_decide($1::bigint, $2, $3::boolean, $4)", 4, vals,
                         gw_check_decided, c);
}

static void gw_check_recipients_read(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    const char **ids = NULL;
    size_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) > 0 && !(ids = calloc((size_t)PQntuples(res), sizeof(*ids))))
        err = GW_ENOMEM;
    for (int i = 0; err == 0 && i < PQntuples(res); i++)
        if (!PQgetisnull(res, i, 0))
            ids[n++] = PQgetvalue(res, i, 0);
    c->cb.recipients(err, err == 0 ? ids : NULL, err == 0 ? n : 0, c->ud);
    free(ids);
    free(c);
}

int gw_store_check_recipients(struct gw_db *db, int64_t package_id, gw_store_check_recipients_cb cb,
                              void *ud)
{
    char id[24];
    const char *vals[1] = {id};

    snprintf(id, sizeof(id), "%lld", (long long)package_id);
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.recipients = cb;
    return gw_check_send(db,
                         "SELECT r FROM package p, unnest(p.recipients) WITH ORDINALITY AS u(r, n)"
                         " WHERE p.id = $1::bigint ORDER BY u.n",
                         1, vals, gw_check_recipients_read, c);
}

static void gw_check_laid_out(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_check_call *c = ud;
    int64_t *lens = NULL;
    int n = 0;

    (void)sqlstate;
    if (err == 0)
        n = PQntuples(res);
    if (err == 0 && n > 0 && !(lens = calloc((size_t)n, sizeof(*lens))))
        err = GW_ENOMEM;
    for (int i = 0; err == 0 && i < n; i++) {
        lens[i] = gw_pgfmt_int64(PQgetvalue(res, i, 0));
        if (lens[i] < 0 || gw_pgfmt_int64(PQgetvalue(res, i, 1)) != i)
            err = GW_EIO; /* chunks must be 0..n-1 */
    }
    c->cb.layout(err, lens, err == 0 ? (size_t)n : 0, c->ud);
    free(lens);
    free(c);
}

int gw_store_check_layout(struct gw_db *db, int64_t body_id, gw_store_check_layout_cb cb, void *ud)
{
    char id[24];
    const char *vals[1] = {id};

    snprintf(id, sizeof(id), "%lld", (long long)body_id);
    struct gw_store_check_call *c = gw_check_call(ud);
    if (c)
        c->cb.layout = cb;
    /* octet_length of an out-of-line value reads its TOAST pointer, not the bytes */
    return gw_check_send(
        db,
        "SELECT octet_length(bytes), seq FROM body_chunk WHERE body_id = $1::bigint"
        " ORDER BY seq",
        1, vals, gw_check_laid_out, c);
}
