/*
 * Read side of the northbound API, scoped to the organisations the client acts for: a package's
 * state, deliveries, audit events, attachments and findings; the inbox of packages received from
 * the axes (cursor over the commit-ordered inbox_seq) and its acknowledgement. Outside the scope a
 * package answers 404 exactly like one that does not exist.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "store/pgfmt.h"
#include "store/store_inbox.h"
#include "store/store_read.h"
#include "util/error.h"
#include "util/log.h"

#define GW_INBOX_DEFAULT_LIMIT 50

struct gw_read_job *gw_read_job_new(struct gw_api *api, struct gw_http_req *req,
                                    const struct gw_api_client *c, int64_t id)
{
    struct gw_read_job *job = calloc(1, sizeof(*job));
    if (!job) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return NULL;
    }
    job->api = api;
    job->req = req;
    job->client = c;
    job->id = id;
    gw_api_work_begin(api);
    return job;
}

void gw_read_job_free(struct gw_read_job *job)
{
    struct gw_api *api = job->api;
    free(job);
    gw_api_work_end(api);
}

/* Answers at once when the call could not be queued (the callback then never runs). */
static void gw_read_started(struct gw_read_job *job, int rc)
{
    if (rc == 0)
        return;
    if (rc == GW_ERANGE || rc == GW_EINVAL)
        gw_api_error(job->req, GW_EINVAL, "argument out of range");
    else
        gw_api_error(job->req, rc == GW_EAGAIN ? GW_EAGAIN : GW_EDB, NULL);
    gw_read_job_free(job);
}

static void gw_read_failed(struct gw_read_job *job, int err, const char *what)
{
    gw_api_error(job->req, err == GW_ENOENT ? GW_ENOENT : GW_EDB, err == GW_ENOENT ? what : NULL);
}

static void gw_package_done(int err, const char *json, size_t len, void *ud)
{
    struct gw_read_job *job = ud;

    if (err != 0)
        gw_read_failed(job, err, "no such package");
    else
        gw_http_respond(job->req, 200, "application/json", json, len);
    gw_read_job_free(job);
}

void gw_api_get_package(struct gw_api *api, struct gw_http_req *req, int64_t id,
                        const struct gw_api_client *c)
{
    struct gw_read_job *job = gw_read_job_new(api, req, c, id);
    struct gw_store_read_args a = {.package_id = id, .scope = c->scope};

    if (job)
        gw_read_started(job, gw_store_read_package(api->deps.db, &a, gw_package_done, job));
}

static void gw_inbox_done(int err, const struct gw_store_inbox_page *page, void *ud)
{
    struct gw_read_job *job = ud;
    char *body;
    size_t cap;
    int n;

    if (err != 0) {
        gw_api_error(job->req, GW_EDB, NULL);
        gw_read_job_free(job);
        return;
    }
    cap = page->items_len + 64;
    body = malloc(cap);
    if (!body) {
        gw_api_error(job->req, GW_ENOMEM, NULL);
    } else {
        n = snprintf(body, cap, "{\"items\":%s,\"next_cursor\":\"%" PRId64 "\"}", page->items_json,
                     page->next_cursor);
        gw_http_respond(job->req, 200, "application/json", body, (size_t)n);
        free(body);
    }
    gw_read_job_free(job);
}

void gw_api_inbox(struct gw_api *api, struct gw_http_req *req, const struct gw_api_client *c)
{
    const char *q = req->query ? req->query : "";
    char after[32], limit[32];
    int ra = gw_api_query_param(q, "after", after, sizeof(after));
    int rl = gw_api_query_param(q, "limit", limit, sizeof(limit));
    struct gw_store_inbox_args a = {
        .after = ra == GW_ENOENT ? 0
                 : ra == 0       ? gw_pgfmt_int64(after)
                                 : -1,
        .limit = rl == GW_ENOENT ? GW_INBOX_DEFAULT_LIMIT
                 : rl == 0       ? gw_pgfmt_int64(limit)
                                 : -1,
        .scope = c->scope,
    };
    struct gw_read_job *job;

    if (a.after < 0 || a.limit < 1 || a.limit > GW_STORE_INBOX_MAX_LIMIT) {
        gw_http_respond_error(req, 400, "invalid_argument",
                              "after must be a cursor from a previous page and limit 1..500");
        return;
    }
    job = gw_read_job_new(api, req, c, a.after);
    if (job)
        gw_read_started(job, gw_store_inbox_list(api->deps.db, &a, gw_inbox_done, job));
}

static void gw_ack_done(int err, void *ud)
{
    struct gw_read_job *job = ud;
    char body[96];
    int n;

    if (err != 0) {
        gw_read_failed(job, err, "no such inbox package");
    } else {
        gw_metric_inc(job->client->inbox_acks);
        n = snprintf(body, sizeof(body), "{\"id\":%" PRId64 ",\"state\":\"DELIVERED\"}", job->id);
        gw_http_respond(job->req, 200, "application/json", body, (size_t)n);
    }
    gw_read_job_free(job);
}

void gw_api_inbox_ack(struct gw_api *api, struct gw_http_req *req, int64_t id,
                      const struct gw_api_client *c)
{
    struct gw_read_job *job = gw_read_job_new(api, req, c, id);
    struct gw_store_inbox_ack_args a = {.package_id = id, .client = c->name, .scope = c->scope};

    if (job)
        gw_read_started(job, gw_store_inbox_ack(api->deps.db, &a, gw_ack_done, job));
}
