/*
 * POST /v1/packages: QLVBĐH hands over an edXML package. The package is parsed and hashed on the
 * thread pool; its sender is checked against what the client may send as (api_authz.c); then it
 * is stored with its delivery in one transaction (gw_store_submit) and the 202 goes out only
 * after that commit. Resubmitting the same bytes returns the same id, other bytes 409.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "edxml/edxml.h"
#include "store/store_submit.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

struct gw_submit_job {
    uv_work_t work;
    struct gw_api *api;
    struct gw_http_req *req;
    const struct gw_api_client *client;
    struct gw_edxml_info info;
    uint8_t sha[32];
    int err;
    char errmsg[256];
};

static void gw_submit_job_free(struct gw_submit_job *job)
{
    struct gw_api *api = job->api;
    gw_edxml_info_free(&job->info);
    free(job);
    gw_api_work_end(api);
}

static void gw_submit_rejected(struct gw_submit_job *job, int status, const char *code,
                               const char *message)
{
    gw_metric_inc(gw_metric_series(job->api->m.submit_rejected, code));
    gw_log_pkg(GW_LOG_INFO, "submit.rejected", 0, job->info.document_id, "client %s: %s: %s",
               job->client->name, code, message);
    if (status == 503)
        gw_http_add_header(job->req, "Retry-After", "5");
    gw_http_respond_error(job->req, status, code, message);
    gw_submit_job_free(job);
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

static void gw_submit_stored(int err, const struct gw_store_submit_result *r, const char *sqlstate,
                             void *ud)
{
    struct gw_submit_job *job = ud;
    struct gw_api *api = job->api;
    struct gw_http_req *req = job->req;
    json_t *obj;
    char msg[512];

    if (err != 0) {
        gw_metric_inc(api->m.submit_db_errors);
        gw_log_pkg(GW_LOG_WARN, "submit.db_error", 0, job->info.document_id,
                   "storing failed (sqlstate %s): %s", sqlstate, gw_strerror(err));
        gw_api_error(req, GW_EDB, "the package could not be stored; retry later");
        gw_submit_job_free(job);
        return;
    }
    if (r->outcome == GW_STORE_SUBMIT_CONFLICT) {
        gw_metric_inc(api->m.submit_conflict);
        snprintf(msg, sizeof(msg),
                 "DocumentId %s was already submitted by %s with different content (package %lld)",
                 job->info.document_id, job->info.from, (long long)r->package_id);
        gw_log_pkg(GW_LOG_WARN, "submit.conflict", r->package_id, job->info.document_id, "%s", msg);
        gw_api_error(req, GW_ECONFLICT, msg);
        gw_submit_job_free(job);
        return;
    }
    if (r->outcome == GW_STORE_SUBMIT_CREATED) {
        gw_metric_inc(api->m.submit_created);
        gw_log_pkg(GW_LOG_INFO, "submit.stored", r->package_id, job->info.document_id,
                   "stored %zu bytes for %zu recipient(s)", req->body_len, job->info.n_to);
        if (api->deps.stored)
            api->deps.stored(api->deps.ud);
    } else {
        gw_metric_inc(api->m.submit_duplicate);
    }
    obj = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)r->package_id, "document_id",
                    job->info.document_id, "kind",
                    job->info.kind == GW_KIND_STATUS ? "status" : "edoc", "duplicate",
                    r->outcome == GW_STORE_SUBMIT_DUPLICATE);
    gw_api_json(req, 202, obj);
    gw_submit_job_free(job);
}

static void gw_submit_parsed(uv_work_t *w, int status)
{
    struct gw_submit_job *job = gw_container_of(w, struct gw_submit_job, work);
    struct gw_api *api = job->api;
    struct gw_api_ready ready;
    struct gw_store_submit_args a;
    int rc;

    if (status != 0 || job->err != 0) {
        int err = job->err ? job->err : GW_ECANCELED;
        gw_submit_rejected(job, gw_api_status_for(err), gw_errcode(err),
                           job->errmsg[0] ? job->errmsg : gw_strerror(err));
        return;
    }
    if (!gw_api_may_send(api, job->client, job->info.from)) {
        gw_submit_rejected(job, 403, "forbidden_sender",
                           "this client may not send on behalf of the package's From/OrganId");
        return;
    }
    a = (struct gw_store_submit_args){
        .source = job->client->name,
        .kind = job->info.kind,
        .document_id = job->info.document_id,
        .sender = job->info.from,
        .recipients = (const char *const *)job->info.to,
        .n_recipients = job->info.n_to,
        .status_code = job->info.status_code,
        .business_doc_type = job->info.business_doc_type,
        .sha256 = job->sha,
        .bytes = job->req->body,
        .len = job->req->body_len,
        .axis = api->deps.default_axis,
    };
    /* A value its SQL type cannot hold is the package's fault: a 4xx, decided before sending. */
    rc = api->deps.default_axis ? gw_store_submit_check(&a) : 0;
    if (rc == GW_ERANGE || rc == GW_EINVAL) {
        gw_submit_rejected(job, gw_api_status_for(rc), gw_errcode(rc),
                           rc == GW_ERANGE ? "a value of the package is outside what the gateway "
                                             "stores (e.g. BussinessDocType beyond 32767)"
                                           : "a value of the package is not valid text");
        return;
    }
    gw_api_ready_get(api, &ready);
    if (ready.draining)
        rc = GW_ESHUTDOWN;
    else if (!api->deps.default_axis)
        rc = GW_ENOENT;
    else
        rc = gw_store_submit(api->deps.db, &a, gw_submit_stored, job);
    if (rc != 0) {
        /* Nothing was stored and the package is valid: the failure is the gateway's, so the
         * client is told to retry (503), never that its package is wrong. */
        gw_metric_inc(api->m.submit_db_errors);
        gw_api_error(job->req, rc == GW_EAGAIN || rc == GW_ESHUTDOWN ? rc : GW_EDB,
                     rc == GW_ENOENT ? "no axis is configured to route this package" : NULL);
        gw_submit_job_free(job);
    }
}

void gw_api_submit(struct gw_api *api, struct gw_http_req *req, const struct gw_api_client *c)
{
    struct gw_submit_job *job;
    struct gw_api_ready ready;

    gw_api_ready_get(api, &ready);
    if (ready.draining) {
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
    job->api = api;
    job->req = req;
    job->client = c;
    gw_api_work_begin(api);
    if (uv_queue_work(api->deps.loop, &job->work, gw_submit_work, gw_submit_parsed) != 0) {
        gw_api_error(req, GW_EAGAIN, NULL);
        gw_submit_job_free(job);
    }
}
