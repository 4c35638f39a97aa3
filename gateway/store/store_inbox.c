/*
 * The QLVBĐH inbox in the store: scoped page reads (one statement that builds the JSON items and
 * the next cursor) and scoped acknowledgements (gw_inbox_ack_for), with every argument checked
 * against its SQL type before it is sent.
 */
#include "store/store_inbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

static const char gw_sql_inbox[] =
    "SELECT coalesce(json_agg(row_to_json(x) ORDER BY x.seq), '[]'::json), max(x.seq)"
    " FROM (SELECT p.inbox_seq AS seq, p.id, p.kind, p.document_id, p.sender, p.recipients,"
    "   p.status_code, p.axis, p.axis_doc_id, p.size, encode(p.sha256, 'hex') AS sha256,"
    "   p.created_at AS received_at, '/v1/packages/' || p.id || '/content' AS content_url,"
    /* 008_signature.sql: the signature summary and whether the policy flagged it */
    "   c.summary AS signature_summary, c.summary_sub AS signature_sub,"
    "   coalesce(c.flagged, false) AS signature_flagged,"
    /* 010_paper.sql: whether a paper copy is expected, under which clauses, by when */
    "   pc.required AS paper_required, pc.tracked AS paper_tracked, pc.clauses AS paper_clauses,"
    "   pc.declared AS paper_declared, pc.mismatch AS paper_mismatch, pc.due_on AS paper_due_on"
    "   FROM package p LEFT JOIN package_check c ON c.package_id = p.id"
    "   LEFT JOIN paper_check pc ON pc.package_id = p.id WHERE p.direction = 'in' "
    "AND p.state = 'AVAILABLE' AND p.inbox_seq > $1"
    "   AND p.recipients && $3::text[]"
    "   ORDER BY p.inbox_seq LIMIT $2) x";

struct gw_store_inbox_call {
    gw_store_inbox_cb list_cb;
    gw_store_inbox_ack_cb ack_cb;
    void *ud;
    int64_t after;
};

static void gw_store_inbox_listed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_inbox_call *call = ud;
    struct gw_store_inbox_page page = {0};

    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 2))
        err = GW_EDB;
    if (err != 0) {
        call->list_cb(GW_EDB, NULL, call->ud);
        free(call);
        return;
    }
    page.items_json = PQgetvalue(res, 0, 0);
    page.items_len = (size_t)PQgetlength(res, 0, 0);
    page.next_cursor = PQgetisnull(res, 0, 1) ? call->after : gw_pgfmt_int64(PQgetvalue(res, 0, 1));
    call->list_cb(0, &page, call->ud);
    free(call);
}

int gw_store_inbox_list(struct gw_db *db, const struct gw_store_inbox_args *a, gw_store_inbox_cb cb,
                        void *ud)
{
    struct gw_store_inbox_call *call;
    char after[24], limit[24], *organs = NULL;
    const char *vals[3] = {after, limit, NULL};
    int rc;

    if ((rc = gw_pgtype_range(a->after, 0, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_range(a->limit, 1, GW_STORE_INBOX_MAX_LIMIT)) != 0)
        return rc;
    if ((rc = gw_store_scope_array(&a->scope, &organs)) != 0)
        return rc;
    call = calloc(1, sizeof(*call));
    if (!call) {
        free(organs);
        return GW_ENOMEM;
    }
    call->list_cb = cb;
    call->ud = ud;
    call->after = a->after;
    snprintf(after, sizeof(after), "%" PRId64, a->after);
    snprintf(limit, sizeof(limit), "%" PRId64, a->limit);
    vals[2] = organs;
    rc = gw_db_query(db, gw_sql_inbox, 3, vals, NULL, NULL, gw_store_inbox_listed, call);
    free(organs);
    if (rc != 0)
        free(call);
    return rc;
}

static void gw_store_inbox_acked(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_inbox_call *call = ud;

    if (err != 0 || PQntuples(res) != 1)
        err = GW_EDB;
    else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        err = GW_ENOENT;
    call->ack_cb(err, call->ud);
    free(call);
}

int gw_store_inbox_ack(struct gw_db *db, const struct gw_store_inbox_ack_args *a,
                       gw_store_inbox_ack_cb cb, void *ud)
{
    struct gw_store_inbox_call *call;
    char id[24], *organs = NULL;
    const char *vals[3] = {id, a->client, NULL};
    int rc;

    if ((rc = gw_pgtype_range(a->package_id, 1, INT64_MAX)) != 0 ||
        (rc = gw_pgtype_text(a->client, false, 0)) != 0)
        return rc;
    if ((rc = gw_store_scope_array(&a->scope, &organs)) != 0)
        return rc;
    call = calloc(1, sizeof(*call));
    if (!call) {
        free(organs);
        return GW_ENOMEM;
    }
    call->ack_cb = cb;
    call->ud = ud;
    snprintf(id, sizeof(id), "%" PRId64, a->package_id);
    vals[2] = organs;
    rc = gw_db_query(db, "SELECT gw_inbox_ack_for($1, $2, $3::text[])", 3, vals, NULL, NULL,
                     gw_store_inbox_acked, call);
    free(organs);
    if (rc != 0)
        free(call);
    return rc;
}
