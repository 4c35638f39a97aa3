/*
 * The delivery SQL functions as typed C calls: arguments range-checked against their SQL types
 * and formatted here, results parsed here, so the dispatcher never sees SQL text or a PGresult.
 * Each call allocates one small job holding the caller's callback for the query in flight.
 */
#include "store/store_delivery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "store/store_delivery_internal.h"
#include "util/error.h"

struct gw_store_job *gw_store_job_new(gw_store_fn cb, void *ud)
{
    struct gw_store_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->cb = cb;
        j->ud = ud;
    }
    return j;
}

int gw_store_check_ms(uint64_t ms)
{
    return gw_pgtype_ms(ms);
}

int gw_store_check_owner(const char *owner)
{
    return gw_pgtype_text(owner, false, 0);
}

char *gw_store_int_array(const int64_t *v, size_t n, size_t stride)
{
    char *out = malloc(n * 21 + 3), *p = out;

    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        int64_t x = *(const int64_t *)(const void *)((const char *)v + i * stride);
        p += sprintf(p, "%s%" PRId64, i ? "," : "", x);
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

/* 64 hex digits into 32 bytes. */
static int gw_store_hex32(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return GW_EINVAL;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return GW_EINVAL;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void gw_store_claimed_res(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_job *j = ud;
    gw_store_claim_cb cb = (gw_store_claim_cb)j->cb;
    struct gw_store_claimed *rows = NULL;
    size_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) > 0) {
        n = (size_t)PQntuples(res);
        rows = calloc(n, sizeof(*rows));
        if (!rows)
            err = GW_ENOMEM; /* the claimed rows' leases expire and they are claimed again */
    }
    for (size_t i = 0; err == 0 && i < n; i++) {
        int r = (int)i;
        rows[i].delivery_id = gw_pgfmt_int64(PQgetvalue(res, r, 0));
        rows[i].package_id = gw_pgfmt_int64(PQgetvalue(res, r, 1));
        rows[i].axis = PQgetvalue(res, r, 2);
        rows[i].kind = strcmp(PQgetvalue(res, r, 3), "status") == 0 ? GW_KIND_STATUS : GW_KIND_EDOC;
        rows[i].document_id = PQgetvalue(res, r, 4);
        rows[i].attempt = (int)gw_pgfmt_int64(PQgetvalue(res, r, 5));
        rows[i].body_id = gw_pgfmt_int64(PQgetvalue(res, r, 6));
        int64_t len = gw_pgfmt_int64(PQgetvalue(res, r, 7));
        rows[i].len = len < 0 ? 0 : (uint64_t)len;
        rows[i].chunks = gw_pgfmt_int64(PQgetvalue(res, r, 8));
        /* NULL or not a number reads -1: a row the dispatcher cannot stream (as store_read.c) */
        if (rows[i].body_id < 1 || len < 0 || rows[i].chunks < 1)
            err = GW_EDB;
        if (gw_store_hex32(PQgetvalue(res, r, 9), rows[i].sha256) != 0)
            err = GW_EDB;
        rows[i].relay = PQgetisnull(res, r, 10) ? NULL : PQgetvalue(res, r, 10);
        rows[i].recipients = PQgetvalue(res, r, 11);
        rows[i].attachments = PQgetvalue(res, r, 12);
    }
    cb(err, err == 0 ? rows : NULL, err == 0 ? n : 0, j->ud);
    free(rows);
    free(j);
}

int gw_store_delivery_claim(struct gw_db *db, const struct gw_store_claim_args *a,
                            gw_store_claim_cb cb, void *ud)
{
    char lease[24], limit[24], bytes[24], giveup[24];
    char *axes = NULL, *limits = NULL;
    int64_t lim[GW_STORE_MAX_CLAIM_AXES];
    struct gw_store_job *j;
    int rc;

    if (a->n_axes == 0 || a->n_axes > GW_STORE_MAX_CLAIM_AXES)
        return GW_EINVAL;
    rc = gw_store_check_owner(a->owner);
    if (rc == 0)
        rc = gw_store_check_ms(a->lease_ms);
    if (rc == 0)
        rc = gw_pgtype_range((int64_t)a->limit, 1, GW_STORE_MAX_CLAIM);
    if (rc == 0 && a->max_bytes > (uint64_t)INT64_MAX)
        rc = GW_ERANGE;
    if (rc == 0 && a->give_up_s > GW_STORE_S_MAX)
        rc = GW_ERANGE;
    for (size_t i = 0; rc == 0 && i < a->n_axes; i++) {
        rc = gw_pgtype_text(a->axes[i], false, 0);
        if (rc == 0)
            rc = gw_pgtype_int4((int64_t)a->limits[i]);
        lim[i] = (int64_t)a->limits[i];
    }
    if (rc != 0)
        return rc;
    snprintf(lease, sizeof(lease), "%" PRIu64, a->lease_ms);
    snprintf(limit, sizeof(limit), "%u", a->limit);
    snprintf(bytes, sizeof(bytes), "%" PRIu64, a->max_bytes);
    snprintf(giveup, sizeof(giveup), "%" PRIu64, a->give_up_s);
    axes = gw_pgfmt_text_array((char *const *)a->axes, a->n_axes);
    limits = gw_store_int_array(lim, a->n_axes, sizeof(lim[0]));
    j = gw_store_job_new((gw_store_fn)cb, ud);
    rc = axes && limits && j ? 0 : GW_ENOMEM;
    if (rc == 0) {
        const char *vals[7] = {a->owner, lease, limit, bytes, giveup, axes, limits};
        rc = gw_db_query(db,
                         "SELECT delivery_id::text, package_id::text, axis, kind, document_id,"
                         " attempts::text, body_id::text, size::text, chunks::text,"
                         " encode(sha256, 'hex'), relay::text, to_json(recipients)::text,"
                         " attachments::text FROM"
                         " gw_claim_copies($1, $2, $3, $4, $5, $6, $7)",
                         7, vals, NULL, NULL, gw_store_claimed_res, j);
    }
    if (rc != 0)
        free(j);
    free(axes);
    free(limits);
    return rc;
}

static void gw_store_sent_res(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_job *j = ud;
    gw_store_sent_cb cb = (gw_store_sent_cb)j->cb;
    bool *rec = NULL;
    size_t n = j->n;

    (void)sqlstate;
    if (err == 0) {
        int rows = PQntuples(res);
        rec = calloc(n ? n : 1, sizeof(*rec));
        if (!rec)
            err = GW_ENOMEM; /* unknown here: recorded again later (idempotent) */
        /* Rows come back in the order of the arrays. */
        for (size_t i = 0; rec && i < n && (int)i < rows; i++)
            rec[i] = gw_pgfmt_int64(PQgetvalue(res, (int)i, 0)) == j->ids[i] &&
                     strcmp(PQgetvalue(res, (int)i, 1), "t") == 0;
    }
    cb(err, rec, err == 0 ? n : 0, j->ud);
    free(rec);
    free(j->ids);
    free(j);
}

int gw_store_delivery_sent(struct gw_db *db, const char *owner,
                           const struct gw_store_sent_item *items, size_t n, gw_store_sent_cb cb,
                           void *ud)
{
    char **docs, *ids = NULL, *doc_arr = NULL, *sha_arr = NULL, *len_arr = NULL;
    struct gw_store_job *j;
    int rc = gw_store_check_owner(owner);

    if (rc == 0 && (n == 0 || n > GW_STORE_MAX_CLAIM))
        rc = GW_EINVAL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = gw_pgtype_text(items[i].axis_doc_id, false, 0);
        if (rc == 0 && items[i].copy_len > (uint64_t)INT64_MAX)
            rc = GW_ERANGE;
    }
    if (rc != 0)
        return rc;
    docs = calloc(n, sizeof(*docs));
    j = gw_store_job_new((gw_store_fn)cb, ud);
    if (j)
        j->ids = calloc(n, sizeof(*j->ids));
    sha_arr = malloc(n * 70 + 3);
    len_arr = malloc(n * 21 + 3);
    rc = docs && j && j->ids && sha_arr && len_arr ? 0 : GW_ENOMEM;
    if (rc == 0) {
        char *sp = sha_arr, *lp = len_arr;
        *sp++ = '{';
        *lp++ = '{';
        for (size_t i = 0; i < n; i++) {
            docs[i] = (char *)items[i].axis_doc_id;
            j->ids[i] = items[i].delivery_id;
            sp += sprintf(sp, "%s\"\\\\x", i ? "," : "");
            for (size_t k = 0; k < 32; k++)
                sp += sprintf(sp, "%02x", items[i].copy_sha256[k]);
            *sp++ = '"';
            lp += sprintf(lp, "%s%" PRIu64, i ? "," : "", items[i].copy_len);
        }
        strcpy(sp, "}");
        strcpy(lp, "}");
        j->n = n;
        ids = gw_store_int_array(&items[0].delivery_id, n, sizeof(items[0]));
        doc_arr = gw_pgfmt_text_array(docs, n);
        rc = ids && doc_arr ? 0 : GW_ENOMEM;
    }
    if (rc == 0) {
        const char *vals[5] = {ids, owner, doc_arr, sha_arr, len_arr};
        rc = gw_db_query(db,
                         "SELECT delivery_id::text, recorded FROM gw_deliveries_sent_copy("
                         "$1::bigint[], $2, $3::text[], $4::bytea[], $5::bigint[])",
                         5, vals, NULL, NULL, gw_store_sent_res, j);
    }
    if (rc != 0 && j) {
        free(j->ids);
        free(j);
    }
    free(docs);
    free(ids);
    free(doc_arr);
    free(sha_arr);
    free(len_arr);
    return rc;
}

static void gw_store_outcome_res(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_job *j = ud;
    gw_store_outcome_cb cb = (gw_store_outcome_cb)j->cb;
    enum gw_store_outcome st = GW_STORE_FENCED;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        const char *v = PQgetvalue(res, 0, 0);
        st = strcmp(v, "DEAD") == 0 ? GW_STORE_DEAD : GW_STORE_QUEUED;
    }
    cb(err, st, j->ud);
    free(j);
}

int gw_store_delivery_failed(struct gw_db *db, const struct gw_store_failed_args *a,
                             gw_store_outcome_cb cb, void *ud)
{
    char id[24], attempt[24], base[24], max[24], giveup[24];
    struct gw_store_job *j;
    int rc = gw_store_check_owner(a->owner);

    if (rc == 0)
        rc = gw_pgtype_text(a->error, false, 0);
    if (rc == 0)
        rc = gw_pgtype_int4(a->attempt);
    if (rc == 0)
        rc = gw_store_check_ms(a->base_ms);
    if (rc == 0)
        rc = gw_store_check_ms(a->max_ms);
    if (rc == 0 && a->give_up_s > GW_STORE_S_MAX)
        rc = GW_ERANGE;
    if (rc != 0)
        return rc;
    snprintf(id, sizeof(id), "%" PRId64, a->delivery_id);
    snprintf(attempt, sizeof(attempt), "%d", a->attempt);
    snprintf(base, sizeof(base), "%" PRIu64, a->base_ms);
    snprintf(max, sizeof(max), "%" PRIu64, a->max_ms);
    snprintf(giveup, sizeof(giveup), "%" PRIu64, a->give_up_s);
    j = gw_store_job_new((gw_store_fn)cb, ud);
    if (!j)
        return GW_ENOMEM;
    const char *vals[7] = {id, a->owner, attempt, a->error, base, max, giveup};
    rc = gw_db_query(db, "SELECT gw_delivery_failed($1, $2, $3, $4, $5, $6, $7)", 7, vals, NULL,
                     NULL, gw_store_outcome_res, j);
    if (rc != 0)
        free(j);
    return rc;
}

int gw_store_delivery_held(struct gw_db *db, int64_t delivery_id, const char *owner, int attempt,
                           const char *error, uint64_t retry_ms, gw_store_outcome_cb cb, void *ud)
{
    char id[24], att[24], retry[24];
    struct gw_store_job *j;
    int rc = gw_store_check_owner(owner);

    if (rc == 0)
        rc = gw_pgtype_text(error, false, 0);
    if (rc == 0)
        rc = gw_pgtype_int4(attempt);
    if (rc == 0)
        rc = gw_store_check_ms(retry_ms);
    if (rc != 0)
        return rc;
    snprintf(id, sizeof(id), "%" PRId64, delivery_id);
    snprintf(att, sizeof(att), "%d", attempt);
    snprintf(retry, sizeof(retry), "%" PRIu64, retry_ms);
    j = gw_store_job_new((gw_store_fn)cb, ud);
    if (!j)
        return GW_ENOMEM;
    const char *vals[5] = {id, owner, att, error, retry};
    rc = gw_db_query(db, "SELECT gw_delivery_held($1, $2, $3, $4, $5)", 5, vals, NULL, NULL,
                     gw_store_outcome_res, j);
    if (rc != 0)
        free(j);
    return rc;
}
