/*
 * GET /v1/packages/{id}/content: the exact bytes received, streamed from the stored chunks of the
 * package's body (006_body.sql). The scope check and the body's size come first (one statement,
 * so an unknown id and a package outside the client's organisations both answer 404); then each
 * chunk is read when the HTTP server pulls for more, i.e. once the previous one has left the
 * write queue, so a slow client holds one chunk in memory, not the package.
 */
#include <stdlib.h>

#include "api/api_internal.h"
#include "store/store_body.h"
#include "store/store_read.h"
#include "util/error.h"
#include "util/log.h"

struct gw_content_job {
    struct gw_api *api;
    struct gw_http_req *req;
    int64_t package_id;
    int64_t body_id;
    int64_t chunks;
    int64_t next; /* next chunk to read */
    bool reading; /* a chunk read is in flight */
    bool done;    /* the HTTP side has ended (done callback or abort) */
};

static void gw_content_free(struct gw_content_job *job)
{
    struct gw_api *api = job->api;
    free(job);
    gw_api_work_end(api);
}

static void gw_content_abort(struct gw_content_job *job, const char *why)
{
    gw_log_pkg(GW_LOG_INFO, "content.aborted", job->package_id, NULL, "%s", why);
    gw_http_stream_abort(job->req);
    gw_content_free(job);
}

static void gw_content_chunk(int err, const uint8_t *bytes, size_t len, void *ud)
{
    struct gw_content_job *job = ud;

    job->reading = false;
    if (err != 0 || len == 0) {
        gw_content_abort(job, err == GW_ENOENT ? "a chunk of the body is missing"
                                               : "reading a chunk failed");
        return;
    }
    if (gw_http_stream_write(job->req, bytes, len) != 0)
        gw_content_abort(job, "the client went away");
}

static void gw_content_pull(struct gw_http_req *req, void *ud)
{
    struct gw_content_job *job = ud;
    int rc;

    (void)req;
    if (job->next >= job->chunks) { /* more was announced than the chunks hold */
        gw_content_abort(job, "the body is shorter than its size");
        return;
    }
    rc = gw_store_body_chunk(job->api->deps.db, job->body_id, job->next, gw_content_chunk, job);
    if (rc != 0) {
        gw_content_abort(job, "a chunk could not be read");
        return;
    }
    job->next++;
    job->reading = true;
}

static void gw_content_done(struct gw_http_req *req, int err, void *ud)
{
    struct gw_content_job *job = ud;

    (void)req;
    if (err != 0)
        gw_log_pkg(GW_LOG_DEBUG, "content.client_gone", job->package_id, NULL, "%s",
                   gw_strerror(err));
    gw_content_free(job);
}

static const struct gw_http_stream_ops gw_content_ops = {gw_content_pull, gw_content_done};

static void gw_content_found(int err, int64_t body_id, int64_t size, int64_t chunks, void *ud)
{
    struct gw_content_job *job = ud;
    int rc;

    if (err != 0) {
        gw_api_error(job->req, err == GW_ENOENT ? GW_ENOENT : GW_EDB,
                     err == GW_ENOENT ? "no such package" : NULL);
        gw_content_free(job);
        return;
    }
    job->body_id = body_id;
    job->chunks = chunks;
    rc = gw_http_respond_stream(job->req, 200, "application/xml", (uint64_t)size, &gw_content_ops,
                                job);
    if (rc != 0) {
        gw_api_error(job->req, rc == GW_EIO ? GW_EIO : GW_ENOMEM, NULL);
        gw_content_free(job);
    }
}

void gw_api_get_content(struct gw_api *api, struct gw_http_req *req, int64_t id,
                        const struct gw_api_client *c)
{
    struct gw_store_read_args a = {.package_id = id, .scope = c->scope};
    struct gw_content_job *job = calloc(1, sizeof(*job));
    int rc;

    if (!job) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return;
    }
    job->api = api;
    job->req = req;
    job->package_id = id;
    gw_api_work_begin(api);
    rc = gw_store_read_body(api->deps.db, &a, gw_content_found, job);
    if (rc != 0) {
        if (rc == GW_ERANGE || rc == GW_EINVAL)
            gw_api_error(req, GW_EINVAL, "argument out of range");
        else
            gw_api_error(req, rc == GW_EAGAIN ? GW_EAGAIN : GW_EDB, NULL);
        gw_content_free(job);
    }
}
