/*
 * Scoped reads of one package (its JSON document, its exact bytes) for the northbound API. The
 * visibility rule is written once, in GW_READ_VISIBLE, and shared by both statements.
 */
#include "store/store_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

/* $1 package id, $2 the scope's organisations. */
#define GW_READ_VISIBLE                                                                            \
    " p.id = $1 AND (CASE WHEN p.direction = 'in' THEN p.recipients && $2::text[]"                 \
    " ELSE p.sender = ANY ($2::text[]) END)"

static const char gw_sql_package[] =
    "SELECT json_build_object('id', p.id, 'direction', p.direction, 'kind', p.kind,"
    " 'document_id', p.document_id, 'sender', p.sender, 'recipients', p.recipients,"
    " 'status_code', p.status_code, 'business_doc_type', p.business_doc_type,"
    " 'state', p.state, 'size', p.size, 'sha256', encode(p.sha256, 'hex'),"
    " 'source', p.source, 'axis', p.axis, 'axis_doc_id', p.axis_doc_id,"
    " 'axis_acked_at', p.axis_acked_at, 'created_at', p.created_at, 'updated_at', p.updated_at,"
    " 'deliveries', coalesce((SELECT json_agg(json_build_object('axis', d.axis,"
    "   'recipients', d.recipients, 'state', d.state, 'attempts', d.attempts,"
    "   'next_attempt_at', d.next_attempt_at, 'axis_doc_id', d.axis_doc_id,"
    "   'last_error', d.last_error, 'sent_at', d.sent_at,"
    /* 007_copy.sql: the per-axis copy sent */
    "   'copy_sha256', encode(d.copy_sha256, 'hex'), 'copy_len', d.copy_len) ORDER BY d.id)"
    "   FROM delivery d WHERE d.package_id = p.id), '[]'::json),"
    /* 005_route.sql: the route of each recipient, those without electronic means, timelines. */
    " 'routes', gw_package_routes(p.id),"
    " 'no_electronic_means', (SELECT coalesce(json_agg(pr.recipient ORDER BY pr.ord),"
    "  '[]'::json) FROM package_route pr WHERE pr.package_id = p.id AND pr.route = 'none'),"
    " 'timelines', gw_package_timelines(p.id),"
    /* 008_signature.sql: the signature check and its report */
    " 'signatures', gw_package_signatures(p.id),"
    /* 010_paper.sql: the Art. 10.3 classification and the paper copies */
    " 'paper', gw_package_paper(p.id),"
    " 'events', coalesce((SELECT json_agg(json_build_object('at', e.at, 'kind', e.kind,"
    "   'actor', e.actor, 'detail', e.detail) ORDER BY e.id)"
    "   FROM event e WHERE e.package_id = p.id), '[]'::json),"
    " 'attachments', coalesce((SELECT json_agg(json_build_object('index', a.idx,"
    "   'content_id', a.content_id, 'name', a.name, 'description', a.description,"
    "   'content_type', a.content_type, 'manifest_type', a.manifest_type,"
    "   'detected_type', a.detected_type, 'size', a.size, 'sha256', encode(a.sha256, 'hex'),"
    "   'b64_offset', a.b64_offset, 'b64_len', a.b64_len, 'unwrapped', a.unwrapped,"
    "   'entry_name', a.entry_name, 'unwrapped_size', a.unwrapped_size,"
    "   'unwrapped_sha256', encode(a.unwrapped_sha256, 'hex'), 'unwrapped_type',"
    "   a.unwrapped_type, 'unwrap_error', a.unwrap_error) ORDER BY a.idx)"
    "   FROM attachment a WHERE a.package_id = p.id), '[]'::json),"
    " 'findings', coalesce((SELECT json_agg(json_build_object('code', f.code,"
    "   'severity', f.severity, 'xpath', f.xpath, 'message', f.message) ORDER BY f.idx)"
    "   FROM package_finding f WHERE f.package_id = p.id), '[]'::json))"
    " FROM package p WHERE" GW_READ_VISIBLE;

static const char gw_sql_body[] = "SELECT b.id, b.size, b.chunks FROM package p JOIN body b"
                                  " ON b.id = p.body_id WHERE" GW_READ_VISIBLE;

struct gw_store_read_call {
    gw_store_read_json_cb json_cb;
    gw_store_read_body_cb body_cb;
    void *ud;
};

static void gw_store_read_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_read_call *call = ud;
    const char *v = NULL;
    size_t len = 0;

    if (err == 0 && (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)))
        err = GW_ENOENT;
    if (call->body_cb) {
        int64_t id = -1, size = -1, chunks = -1;
        if (err == 0 && PQnfields(res) == 3 && !PQgetisnull(res, 0, 1) && !PQgetisnull(res, 0, 2)) {
            id = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
            size = gw_pgfmt_int64(PQgetvalue(res, 0, 1));
            chunks = gw_pgfmt_int64(PQgetvalue(res, 0, 2));
        }
        if (err == 0 && (id < 1 || size < 0 || chunks < 0))
            err = GW_EDB;
        call->body_cb(err == 0 || err == GW_ENOENT ? err : GW_EDB, id, size, chunks, call->ud);
        free(call);
        return;
    }
    if (err == 0) {
        v = PQgetvalue(res, 0, 0);
        len = (size_t)PQgetlength(res, 0, 0);
    } else if (err != GW_ENOENT) {
        err = GW_EDB;
    }
    call->json_cb(err, v, len, call->ud);
    free(call);
}

static int gw_store_read(struct gw_db *db, const struct gw_store_read_args *a, const char *sql,
                         struct gw_store_read_call *proto)
{
    struct gw_store_read_call *call;
    char id[24], *organs = NULL;
    const char *vals[2];
    int rc;

    if ((rc = gw_pgtype_range(a->package_id, 1, INT64_MAX)) != 0)
        return rc;
    if ((rc = gw_store_scope_array(&a->scope, &organs)) != 0)
        return rc;
    call = malloc(sizeof(*call));
    if (!call) {
        free(organs);
        return GW_ENOMEM;
    }
    *call = *proto;
    snprintf(id, sizeof(id), "%" PRId64, a->package_id);
    vals[0] = id;
    vals[1] = organs;
    rc = gw_db_query(db, sql, 2, vals, NULL, NULL, gw_store_read_done, call);
    free(organs);
    if (rc != 0)
        free(call);
    return rc;
}

int gw_store_read_package(struct gw_db *db, const struct gw_store_read_args *a,
                          gw_store_read_json_cb cb, void *ud)
{
    struct gw_store_read_call proto = {.json_cb = cb, .ud = ud};
    return gw_store_read(db, a, gw_sql_package, &proto);
}

int gw_store_read_body(struct gw_db *db, const struct gw_store_read_args *a,
                       gw_store_read_body_cb cb, void *ud)
{
    struct gw_store_read_call proto = {.body_cb = cb, .ud = ud};
    return gw_store_read(db, a, gw_sql_body, &proto);
}
