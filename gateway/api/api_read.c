/*
 * Read side of the northbound API: a package's state, deliveries and audit events; its exact
 * bytes; the inbox of packages received from the axes (cursor over the commit-ordered inbox_seq)
 * and its acknowledgement. The JSON documents are built by PostgreSQL in one statement each.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"

#define GW_INBOX_DEFAULT_LIMIT 50
#define GW_INBOX_MAX_LIMIT     500

struct gw_read_job {
    struct gw_app *app;
    struct gw_http_req *req;
    int64_t id;
};

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
    "   'last_error', d.last_error, 'sent_at', d.sent_at) ORDER BY d.id)"
    "   FROM delivery d WHERE d.package_id = p.id), '[]'::json),"
    " 'events', coalesce((SELECT json_agg(json_build_object('at', e.at, 'kind', e.kind,"
    "   'actor', e.actor, 'detail', e.detail) ORDER BY e.id)"
    "   FROM event e WHERE e.package_id = p.id), '[]'::json))"
    " FROM package p WHERE p.id = $1";

static const char gw_sql_inbox[] =
    "SELECT coalesce(json_agg(row_to_json(x) ORDER BY x.seq), '[]'::json), max(x.seq)"
    " FROM (SELECT p.inbox_seq AS seq, p.id, p.kind, p.document_id, p.sender, p.recipients,"
    "   p.status_code, p.axis, p.axis_doc_id, p.size, encode(p.sha256, 'hex') AS sha256,"
    "   p.created_at AS received_at, '/v1/packages/' || p.id || '/content' AS content_url"
    "   FROM package p WHERE p.direction = 'in' AND p.state = 'AVAILABLE' AND p.inbox_seq > $1"
    "   ORDER BY p.inbox_seq LIMIT $2) x";

static struct gw_read_job *gw_read_job_new(struct gw_app *app, struct gw_http_req *req, int64_t id)
{
    struct gw_read_job *job = calloc(1, sizeof(*job));
    if (!job) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return NULL;
    }
    job->app = app;
    job->req = req;
    job->id = id;
    gw_app_work_begin(app);
    return job;
}

static void gw_read_job_free(struct gw_read_job *job)
{
    struct gw_app *app = job->app;
    free(job);
    gw_app_work_end(app);
}

static bool gw_read_failed(struct gw_read_job *job, int err, const PGresult *res)
{
    if (err != 0) {
        gw_api_error(job->req, GW_EDB, NULL);
        return true;
    }
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        gw_api_error(job->req, GW_ENOENT, "no such package");
        return true;
    }
    return false;
}

/* Answers at once when the query could not be queued. */
static void gw_read_started(struct gw_read_job *job, int rc)
{
    if (rc != 0) {
        gw_api_error(job->req, rc == GW_EAGAIN ? GW_EAGAIN : GW_EDB, NULL);
        gw_read_job_free(job);
    }
}

static void gw_read_query(struct gw_read_job *job, const char *sql, int n, const char *const *vals,
                          gw_db_cb cb)
{
    gw_read_started(job, gw_db_query(job->app->db, sql, n, vals, NULL, NULL, cb, job));
}

static void gw_package_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_read_job *job = ud;
    if (!gw_read_failed(job, err, res)) {
        const char *json = PQgetvalue(res, 0, 0);
        gw_http_respond(job->req, 200, "application/json", json, strlen(json));
    }
    gw_read_job_free(job);
}

/* Runs a one-parameter query keyed on a package id, with text or binary result columns. */
static void gw_read_by_id(struct gw_app *app, struct gw_http_req *req, int64_t id, const char *sql,
                          bool binary, gw_db_cb cb)
{
    struct gw_read_job *job = gw_read_job_new(app, req, id);
    char idbuf[24];
    const char *vals[1] = {idbuf};

    if (!job)
        return;
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    if (binary)
        gw_read_started(job, gw_db_query_binary(app->db, sql, 1, vals, NULL, NULL, cb, job));
    else
        gw_read_query(job, sql, 1, vals, cb);
}

void gw_api_get_package(struct gw_app *app, struct gw_http_req *req, int64_t id)
{
    gw_read_by_id(app, req, id, gw_sql_package, false, gw_package_done);
}

static void gw_content_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_read_job *job = ud;

    if (!gw_read_failed(job, err, res))
        gw_http_respond(job->req, 200, "application/xml", PQgetvalue(res, 0, 0),
                        (size_t)PQgetlength(res, 0, 0));
    gw_read_job_free(job);
}

void gw_api_get_content(struct gw_app *app, struct gw_http_req *req, int64_t id)
{
    gw_read_by_id(app, req, id, "SELECT bytes FROM package_body WHERE package_id = $1", true,
                  gw_content_done);
}

static void gw_inbox_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_read_job *job = ud;
    const char *items, *next;
    char *body;
    size_t cap;
    char after[24];

    if (err != 0) {
        gw_api_error(job->req, GW_EDB, NULL);
        gw_read_job_free(job);
        return;
    }
    items = PQgetvalue(res, 0, 0);
    if (PQgetisnull(res, 0, 1)) {
        snprintf(after, sizeof(after), "%" PRId64, job->id);
        next = after;
    } else {
        next = PQgetvalue(res, 0, 1);
    }
    cap = strlen(items) + strlen(next) + 64;
    body = malloc(cap);
    if (!body) {
        gw_api_error(job->req, GW_ENOMEM, NULL);
    } else {
        int n = snprintf(body, cap, "{\"items\":%s,\"next_cursor\":\"%s\"}", items, next);
        gw_http_respond(job->req, 200, "application/json", body, (size_t)n);
        free(body);
    }
    gw_read_job_free(job);
}

void gw_api_inbox(struct gw_app *app, struct gw_http_req *req)
{
    const char *q = req->query ? req->query : "";
    char after[32], limit[32];
    int ra = gw_api_query_param(q, "after", after, sizeof(after));
    int rl = gw_api_query_param(q, "limit", limit, sizeof(limit));
    int64_t a = ra == GW_ENOENT ? 0 : ra == 0 ? gw_pgfmt_int64(after) : -1;
    int64_t l = rl == GW_ENOENT ? GW_INBOX_DEFAULT_LIMIT : rl == 0 ? gw_pgfmt_int64(limit) : -1;
    char abuf[24], lbuf[24];
    const char *vals[2] = {abuf, lbuf};
    struct gw_read_job *job;

    if (a < 0 || l < 1 || l > GW_INBOX_MAX_LIMIT) {
        gw_http_respond_error(req, 400, "invalid_argument",
                              "after must be a cursor from a previous page and limit 1..500");
        return;
    }
    job = gw_read_job_new(app, req, a);
    if (!job)
        return;
    snprintf(abuf, sizeof(abuf), "%" PRId64, a);
    snprintf(lbuf, sizeof(lbuf), "%" PRId64, l);
    gw_read_query(job, gw_sql_inbox, 2, vals, gw_inbox_done);
}

static void gw_ack_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_read_job *job = ud;
    char body[96];
    int n;

    if (err != 0) {
        gw_api_error(job->req, GW_EDB, NULL);
    } else if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        gw_api_error(job->req, GW_ENOENT, "no such inbox package");
    } else {
        job->app->stats.inbox_acks++;
        n = snprintf(body, sizeof(body), "{\"id\":%" PRId64 ",\"state\":\"DELIVERED\"}", job->id);
        gw_http_respond(job->req, 200, "application/json", body, (size_t)n);
    }
    gw_read_job_free(job);
}

void gw_api_inbox_ack(struct gw_app *app, struct gw_http_req *req, int64_t id, int client)
{
    struct gw_read_job *job = gw_read_job_new(app, req, id);
    char idbuf[24];
    const char *vals[2] = {idbuf, app->cfg->clients[client].name};

    if (!job)
        return;
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
    gw_read_query(job, "SELECT gw_inbox_ack($1, $2)", 2, vals, gw_ack_done);
}
