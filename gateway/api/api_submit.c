/*
 * POST /v1/packages: QLVBĐH hands over an edXML package. The package is parsed and hashed on the
 * thread pool, then stored with its deliveries in one transaction (gw_submit); the 202 goes out
 * only after that commit. Resubmitting the same bytes returns the same id, other bytes 409.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/common.h"
#include "engine/dispatch.h"
#include "edxml/edxml.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"
#include "store/pkgsql.h"

struct gw_submit_job {
    uv_work_t work;
    struct gw_app *app;
    struct gw_http_req *req;
    int client;
    struct gw_edxml_info info;
    uint8_t sha[32];
    int err;
    char errmsg[256];
};

static void gw_submit_job_free(struct gw_submit_job *job)
{
    struct gw_app *app = job->app;
    gw_edxml_info_free(&job->info);
    free(job);
    gw_app_work_end(app);
}

/* Thread pool: parse and hash. Touches only the request body, which the loop leaves alone while
 * the request is being handled. */
static void gw_submit_work(uv_work_t *w)
{
    struct gw_submit_job *job = gw_container_of(w, struct gw_submit_job, work);
    struct gw_http_req *req = job->req;
    struct gw_edxml_limits lim;

    gw_edxml_limits_default(&lim);
    lim.max_bytes = req->body_len + 1; /* the HTTP server's body limit already applies */
    job->err = gw_edxml_parse(req->body, req->body_len, &lim, &job->info, job->errmsg,
                              sizeof(job->errmsg));
    if (job->err == 0)
        SHA256(req->body, req->body_len, job->sha);
}

static void gw_submit_stored(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_submit_job *job = ud;
    struct gw_app *app = job->app;
    struct gw_http_req *req = job->req;
    const char *outcome;
    int64_t id;
    json_t *obj;
    char msg[512];

    if (err != 0 || PQntuples(res) != 1) {
        app->stats.submit_db_errors++;
        gw_log_pkg(GW_LOG_WARN, "submit.db_error", 0, job->info.document_id,
                   "storing failed (sqlstate %s): %s", sqlstate ? sqlstate : "", gw_strerror(err));
        gw_api_error(req, GW_EDB, "the package could not be stored; retry later");
        gw_submit_job_free(job);
        return;
    }
    id = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    outcome = PQgetvalue(res, 0, 1);
    if (strcmp(outcome, "conflict") == 0) {
        app->stats.submit_conflict++;
        snprintf(msg, sizeof(msg),
                 "DocumentId %s was already submitted with different content (package %lld)",
                 job->info.document_id, (long long)id);
        gw_log_pkg(GW_LOG_WARN, "submit.conflict", id, job->info.document_id, "%s", msg);
        gw_api_error(req, GW_ECONFLICT, msg);
        gw_submit_job_free(job);
        return;
    }
    if (strcmp(outcome, "created") == 0) {
        app->stats.submit_created++;
        gw_log_pkg(GW_LOG_INFO, "submit.stored", id, job->info.document_id,
                   "stored %zu bytes for %zu recipient(s)", req->body_len, job->info.n_to);
        gw_dispatch_kick(app->dispatch);
    } else {
        app->stats.submit_duplicate++;
    }
    obj = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)id, "document_id", job->info.document_id,
                    "kind", job->info.kind == GW_KIND_STATUS ? "status" : "edoc", "duplicate",
                    strcmp(outcome, "duplicate") == 0);
    gw_api_json(req, 202, obj);
    gw_submit_job_free(job);
}

static int gw_submit_store(struct gw_submit_job *job)
{
    struct gw_app *app = job->app;
    const char *axis = app->cfg->default_axis;
    struct gw_pkgsql q = {.n = 0};
    struct gw_store_package pkg;
    int rc;

    if (!axis || !gw_app_axis(app, axis))
        return GW_ENOENT;
    gw_edxml_store_package(&job->info, job->sha, job->req->body, job->req->body_len, &pkg);
    gw_pkgsql_text(&q, app->cfg->clients[job->client].name);
    rc = gw_pkgsql_package(&q, &pkg);
    gw_pkgsql_text(&q, axis);
    if (rc == 0)
        rc = gw_db_query(app->db,
                         "SELECT package_id, outcome FROM gw_submit($1, $2, $3, $4, $5::text[], "
                         "$6, $7::smallint, $8::bytea, $9::bytea, $10)",
                         q.n, q.values, q.lengths, q.formats, gw_submit_stored, job);
    gw_pkgsql_free(&q);
    return rc;
}

static void gw_submit_parsed(uv_work_t *w, int status)
{
    struct gw_submit_job *job = gw_container_of(w, struct gw_submit_job, work);
    struct gw_app *app = job->app;
    const char *allowed = app->cfg->clients[job->client].organ_id;
    int rc;

    if (status != 0 || job->err != 0) {
        app->stats.submit_rejected++;
        gw_log(GW_LOG_INFO, "submit.rejected", "%s: %s", gw_errcode(job->err), job->errmsg);
        gw_api_error(job->req, job->err ? job->err : GW_ECANCELED,
                     job->errmsg[0] ? job->errmsg : NULL);
        gw_submit_job_free(job);
        return;
    }
    if (allowed && allowed[0] && (!job->info.from || strcmp(allowed, job->info.from) != 0)) {
        app->stats.submit_rejected++;
        gw_http_respond_error(job->req, 403, "forbidden_sender",
                              "this client may not send on behalf of the package's From/OrganId");
        gw_submit_job_free(job);
        return;
    }
    rc = app->closing ? GW_ESHUTDOWN : gw_submit_store(job);
    if (rc != 0) {
        /* Nothing was stored: every failure here is the gateway's, so the client is told to
         * retry (503), never that its package is wrong. */
        app->stats.submit_db_errors++;
        gw_api_error(job->req, rc == GW_EAGAIN || rc == GW_ESHUTDOWN ? rc : GW_EDB,
                     rc == GW_ENOENT ? "no axis is configured to route this package" : NULL);
        gw_submit_job_free(job);
    }
}

void gw_api_submit(struct gw_app *app, struct gw_http_req *req, int client)
{
    struct gw_submit_job *job;

    if (app->draining) {
        gw_api_error(req, GW_ESHUTDOWN, NULL);
        return;
    }
    if (req->body_len == 0) {
        gw_http_respond_error(req, 400, "empty_body", "the request body must be an edXML package");
        return;
    }
    job = calloc(1, sizeof(*job));
    if (!job) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return;
    }
    job->app = app;
    job->req = req;
    job->client = client;
    gw_app_work_begin(app);
    if (uv_queue_work(app->loop, &job->work, gw_submit_work, gw_submit_parsed) != 0) {
        gw_api_error(req, GW_EAGAIN, NULL);
        gw_submit_job_free(job);
    }
}
