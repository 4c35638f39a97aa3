/*
 * POST /v1/packages: QLVBĐH hands over an edXML package. The body is streamed (the HTTP server
 * hands it over in chunks, gw_http_body_start) into the ingest pipeline (pipeline/ingest.h),
 * which parses it on the thread pool while storing the same bytes as the chunks of a staged body;
 * reading from the client pauses while a chunk is in flight, so memory stays bounded whatever the
 * package size. A refusal stops the upload at once (the staged chunks are discarded). Once parsed,
 * the sender is checked against what the client may send as (api_authz.c), then the package row,
 * which takes the staged body, its delivery and audit events are committed in one transaction
 * (gw_store_submit) and the 202 goes out only after that commit. Resubmitting the same bytes
 * returns the same id, other bytes 409; either way the new staged body is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "edxml/edxml.h"
#include "pipeline/ingest.h"
#include "store/body_cache.h"
#include "store/store_body.h"
#include "store/store_submit.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

struct gw_submit_job {
    struct gw_api *api;
    struct gw_http_req *req;
    const struct gw_api_client *client;
    struct gw_ingest *in;
    const uint8_t *pending; /* bytes of the current body chunk the ingest has not taken yet */
    size_t pending_len;
    bool held;       /* a streamed chunk not yet given back (gw_http_body_resume) */
    bool body_ended; /* the whole body was handed over */
    bool finished;   /* gw_ingest_finish called */
    bool pumping;
    bool gone;    /* the upload ended in error inside the pump: the pump frees the job */
    uint64_t fed; /* body bytes the ingest took */
    /* parsed */
    struct gw_edxml_doc *doc;
    char *doc_json;
    int64_t body_id;
    uint8_t *bytes; /* not staged (one chunk): the package's bytes, read by the pool in place */
    uint64_t size;
    uint8_t sha[32];
};

static void gw_submit_job_free(struct gw_submit_job *job)
{
    struct gw_api *api = job->api;

    if (job->doc) {
        gw_edxml_doc_free(job->doc);
        free(job->doc);
    }
    free(job->doc_json);
    free(job->bytes);
    free(job);
    gw_api_work_end(api);
}

/* A staged body no package will take (refused after parsing, a failed store). */
static void gw_submit_discard(struct gw_submit_job *job)
{
    struct gw_body_cache *cache = job->api->deps.ingest ? job->api->deps.ingest->cache : NULL;

    if (job->body_id && gw_store_body_drop(job->api->deps.db, cache, job->body_id) != 0)
        gw_warn("submit.discard", "staged body %lld left to the janitor", (long long)job->body_id);
    job->body_id = 0;
}

static void gw_submit_rejected(struct gw_submit_job *job, int status, const char *code,
                               const char *message)
{
    gw_metric_inc(gw_metric_series(job->api->m.submit_rejected, code));
    gw_log_pkg(GW_LOG_INFO, "submit.rejected", 0, job->doc ? job->doc->document_id : NULL,
               "client %s: %s: %s", job->client->name, code, message);
    gw_submit_discard(job);
    if (status == 503)
        gw_api_unavailable(job->req, code, message);
    else
        gw_http_respond_error(job->req, status, code, message);
    gw_submit_job_free(job);
}

static void gw_submit_stored(int err, const struct gw_store_submit_result *r, const char *sqlstate,
                             void *ud)
{
    struct gw_submit_job *job = ud;
    struct gw_api *api = job->api;
    struct gw_http_req *req = job->req;
    const struct gw_edxml_doc *doc = job->doc;
    json_t *obj;
    char msg[512];

    if (err != 0) {
        gw_metric_inc(api->m.submit_db_errors);
        gw_log_pkg(GW_LOG_WARN, "submit.db_error", 0, doc->document_id,
                   "storing failed (sqlstate %s): %s", sqlstate, gw_strerror(err));
        gw_submit_discard(job); /* a commit of unknown outcome refuses it: the body is taken */
        gw_api_error(req, GW_EDB, "the package could not be stored; retry later");
        gw_submit_job_free(job);
        return;
    }
    if (r->outcome != GW_STORE_SUBMIT_CREATED && api->deps.ingest)
        gw_body_cache_forget(api->deps.ingest->cache, job->body_id); /* deleted in PostgreSQL */
    job->body_id = 0; /* taken by the package, or deleted with the duplicate */
    if (r->outcome == GW_STORE_SUBMIT_CONFLICT) {
        gw_metric_inc(api->m.submit_conflict);
        snprintf(msg, sizeof(msg),
                 "DocumentId %s was already submitted by %s with different content (package %lld)",
                 doc->document_id, doc->from, (long long)r->package_id);
        gw_log_pkg(GW_LOG_WARN, "submit.conflict", r->package_id, doc->document_id, "%s", msg);
        gw_api_error(req, GW_ECONFLICT, msg);
        gw_submit_job_free(job);
        return;
    }
    if (r->outcome == GW_STORE_SUBMIT_CREATED) {
        gw_metric_inc(api->m.submit_created);
        if (job->bytes && r->body_id > 0 && api->deps.ingest) /* for the readers that follow */
            gw_body_cache_put(api->deps.ingest->cache, r->body_id, 0, job->bytes,
                              (size_t)job->size);
        gw_log_pkg(GW_LOG_INFO, "submit.stored", r->package_id, doc->document_id,
                   "stored %llu bytes for %zu recipient(s), %zu attachment(s)",
                   (unsigned long long)job->size, doc->n_recipients, doc->n_attachments);
        if (api->deps.stored)
            api->deps.stored(api->deps.ud);
    } else {
        gw_metric_inc(api->m.submit_duplicate);
    }
    obj = json_pack("{s:I,s:s,s:s,s:b}", "id", (json_int_t)r->package_id, "document_id",
                    doc->document_id, "kind", doc->kind == GW_KIND_STATUS ? "status" : "edoc",
                    "duplicate", r->outcome == GW_STORE_SUBMIT_DUPLICATE);
    gw_api_json(req, 202, obj);
    gw_submit_job_free(job);
}

/* Parsed and staged: authorise, check the values against their SQL types, store. */
static void gw_submit_store(struct gw_submit_job *job)
{
    struct gw_api *api = job->api;
    const struct gw_edxml_doc *doc = job->doc;
    struct gw_api_ready ready;
    struct gw_store_submit_args a;
    int rc;

    if (!gw_api_may_send(api, job->client, doc->from)) {
        gw_submit_rejected(job, 403, "forbidden_sender",
                           "this client may not send on behalf of the package's From/OrganId");
        return;
    }
    a = (struct gw_store_submit_args){
        .source = job->client->name,
        .kind = doc->kind,
        .document_id = doc->document_id,
        .sender = doc->from,
        .recipients = (const char *const *)doc->recipients,
        .n_recipients = doc->n_recipients,
        .status_code = doc->kind == GW_KIND_STATUS ? doc->status_code : NULL,
        .business_doc_type = doc->business.doc_type,
        .sha256 = job->sha,
        .body_id = job->body_id,
        .size = job->size,
        .bytes = job->bytes,
        .len = job->bytes ? (size_t)job->size : 0,
        .stage_bytes = job->bytes != NULL,
        .doc_json = job->doc_json,
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
        gw_submit_discard(job);
        gw_api_error(job->req, rc == GW_EAGAIN || rc == GW_ESHUTDOWN ? rc : GW_EDB,
                     rc == GW_ENOENT ? "no axis is configured to route this package" : NULL);
        gw_submit_job_free(job);
    }
}

static void gw_submit_ingested(struct gw_ingest_result *r, void *ud)
{
    struct gw_submit_job *job = ud;
    const char *msg = r->message ? r->message : "";

    job->in = NULL; /* freed by the pipeline when this returns */
    if (r->outcome == GW_INGEST_REFUSED && job->fed == 0) {
        /* a streamed body with no byte (chunked, "0" at once): as one of Content-Length 0 */
        gw_submit_rejected(job, 400, "empty_body", "the request body must be an edXML package");
        return;
    }
    if (r->outcome == GW_INGEST_REFUSED) {
        /* The API's codes stay as they were (malformed, not_edxml, no_recipient); the
         * reader's finer code starts the message. */
        gw_submit_rejected(job, gw_api_status_for(r->err), gw_errcode(r->err), msg);
        return;
    }
    if (r->outcome == GW_INGEST_FAILED) {
        int err = r->err == GW_E2BIG || r->err == GW_ELIMIT ? r->err : GW_EDB;
        if (r->err == GW_ENOMEM)
            err = GW_ENOMEM;
        gw_submit_rejected(job, gw_api_status_for(err),
                           err == GW_EDB ? "database_unavailable" : gw_errcode(err), msg);
        return;
    }
    job->doc = r->doc;
    job->doc_json = r->doc_json;
    job->body_id = r->body_id;
    job->bytes = r->bytes;
    r->bytes = NULL;
    job->size = r->size;
    memcpy(job->sha, r->sha256, 32);
    r->doc = NULL;
    r->doc_json = NULL;
    gw_submit_store(job);
}

/* Moves body bytes into the ingest as far as it takes them; gives the HTTP chunk back when it
 * is all taken; finishes once the whole body is in. Not reentrant (resume may deliver the next
 * chunk at once). */
static void gw_submit_pump(struct gw_submit_job *job)
{
    if (job->pumping || !job->in)
        return;
    job->pumping = true;
    for (;;) {
        if (gw_ingest_stopped(job->in))
            break; /* its done callback answers */
        if (job->pending_len > 0) {
            size_t n = gw_ingest_write(job->in, job->pending, job->pending_len);
            job->fed += n;
            job->pending += n;
            job->pending_len -= n;
            if (job->pending_len > 0)
                break; /* ready or done follows */
            continue;
        }
        if (job->held) {
            job->held = false;
            /* May parse what the connection holds at once: the next chunk (data, the pump not
             * reentered) or an error that ends the upload (end, the job left to free here). */
            gw_http_body_resume(job->req);
            if (job->gone) {
                gw_submit_job_free(job);
                return;
            }
            continue;
        }
        if (job->body_ended && !job->finished) {
            job->finished = true;
            gw_ingest_finish(job->in);
        }
        break;
    }
    job->pumping = false;
}

static void gw_submit_ready(void *ud)
{
    gw_submit_pump(ud);
}

static void gw_submit_data(struct gw_http_req *req, const uint8_t *bytes, size_t len, void *ud)
{
    struct gw_submit_job *job = ud;

    (void)req;
    job->pending = bytes;
    job->pending_len = len;
    job->held = true;
    gw_submit_pump(job);
}

static void gw_submit_end(struct gw_http_req *req, int err, void *ud)
{
    struct gw_submit_job *job = ud;

    if (err != 0) { /* the server answered (408, 413...) or the client left: nothing is kept */
        gw_log(GW_LOG_INFO, "submit.aborted", "client %s: upload ended: %s", job->client->name,
               gw_strerror(err));
        if (job->in)
            gw_ingest_abort(job->in);
        job->in = NULL;
        gw_http_respond(req, 500, NULL, NULL, 0); /* detached: only frees */
        if (job->pumping)
            job->gone = true; /* inside the pump's resume: it frees the job when that returns */
        else
            gw_submit_job_free(job);
        return;
    }
    job->body_ended = true;
    gw_submit_pump(job);
}

static const struct gw_http_body_ops gw_submit_body_ops = {gw_submit_data, gw_submit_end};

void gw_api_submit(struct gw_api *api, struct gw_http_req *req, const struct gw_api_client *c)
{
    struct gw_ingest_deps deps = {.loop = api->deps.loop, .db = api->deps.db};
    struct gw_submit_job *job;
    struct gw_api_ready ready;
    const char *behind = NULL;

    gw_api_ready_get(api, &ready);
    if (ready.draining) {
        gw_api_error(req, GW_ESHUTDOWN, NULL);
        return;
    }
    if (api->deps.behind && api->deps.behind(api->deps.ud, &behind)) {
        /* Back-pressure: decided before a byte of the body is read, so nothing is parsed or
         * stored; the client retries later, as after any 503. */
        char msg[200];
        gw_metric_inc(api->m.submit_backpressure);
        if (behind)
            snprintf(msg, sizeof(msg),
                     "deliveries to axis %.64s are falling behind; retry later, nothing was stored",
                     behind);
        else
            snprintf(msg, sizeof(msg),
                     "signature checks are falling behind; retry later, nothing was stored");
        gw_api_unavailable(req, "delivery_backlog", msg);
        return;
    }
    if (!req->has_body || (!req->streaming && req->body_len == 0)) {
        gw_http_respond_error(req, 400, "empty_body", "the request body must be an edXML package");
        return;
    }
    if (api->deps.ingest) {
        deps = *api->deps.ingest;
        deps.loop = api->deps.loop;
        deps.db = api->deps.db;
        deps.inline_single = true; /* staged and stored in one statement (gw_store_submit) */
    } else {
        gw_edxml_reader_opts_default(&deps.reader);
        deps.reader.limits.max_bytes = SIZE_MAX / 2; /* the HTTP server's body limit applies */
    }
    job = calloc(1, sizeof(*job));
    if (!job || !(job->in = gw_ingest_new(&deps, gw_submit_ready, gw_submit_ingested, job))) {
        free(job);
        gw_api_error(req, GW_ENOMEM, NULL);
        return;
    }
    job->api = api;
    job->req = req;
    job->client = c;
    gw_api_work_begin(api);
    if (req->streaming) {
        gw_http_body_start(req, &gw_submit_body_ops, job);
        return;
    }
    /* A buffered body (a server without the stream check): the same pipeline. */
    job->pending = req->body;
    job->pending_len = req->body_len;
    job->body_ended = true;
    gw_submit_pump(job);
}
