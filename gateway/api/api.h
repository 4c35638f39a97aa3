#ifndef GW_API_H
#define GW_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "db/db.h"
#include "http/http_server.h"
#include "metrics/metrics.h"
#include "pipeline/ingest.h"

/*
 * Northbound API for QLVBĐH and the operations endpoints (/healthz, /readyz, /metrics). Built
 * from an explicit dependencies struct; it never sees the daemon. Routes, error codes and who
 * may do what: docs/internals/api.md.
 */

struct gw_api;

/* One axis as /readyz shows it; filled by the daemon. */
struct gw_api_axis_ready {
    const char *name;    /* must outlive the call (configuration strings do) */
    const char *state;   /* e.g. "closed", "open", "half_open", "disabled": shown as is */
    bool ok;             /* deliveries to this axis can go out now */
    int64_t retry_in_ms; /* when not ok: time until the next attempt or probe; -1 unknown */
    char reason[256];    /* what opened the breaker (e.g. a tls_verify_failed transport failure);
                            "" when none; shown when not empty */
};

#define GW_API_READY_MAX_AXES 16

/* What /readyz and gateway_ready report. The API zeroes it and then calls the daemon's ready
 * callback, which fills it. Ready = database && !draining && at least one axis ok. */
struct gw_api_ready {
    bool database; /* at least one database connection is up */
    bool draining; /* a stop was requested */
    size_t n_axes;
    struct gw_api_axis_ready axes[GW_API_READY_MAX_AXES];
};

struct gw_api_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_metrics *metrics; /* shared registry: the API counts into it and renders it */
    /* configuration pieces, borrowed for the API's lifetime */
    const struct gw_config_client *clients; /* at least one */
    size_t n_clients;
    const char *const *organ_ids; /* [gateway] organ_ids: the province's organisations */
    size_t n_organ_ids;
    const char *default_axis; /* the axis submissions are routed to; NULL: 503 */
    /* How submitted packages are ingested (reader limits, conformance hook, JSON form); loop and
     * db are the API's own. NULL: the reader's defaults, no conformance hook, the store's JSON
     * subset, and the HTTP server's body limit as the only size limit. */
    const struct gw_ingest_deps *ingest;

    void *ud; /* passed to every callback below */
    /* Fills r for /readyz and the gateway_ready gauge. Required. */
    void (*ready)(void *ud, struct gw_api_ready *r);
    /* An asynchronous piece of API work (thread-pool job, database call, metrics refresh)
     * starts or ends; a drain waits until every begun piece has ended. Required. */
    void (*work_begin)(void *ud);
    void (*work_end)(void *ud);
    /* A submission created a new package with queued deliveries (e.g. kick the dispatcher).
     * May be NULL. */
    void (*stored)(void *ud);
    /* Before each /metrics snapshot is rendered: set the gauges the daemon owns. May be NULL. */
    void (*collect)(void *ud);
    /* Back-pressure: true while deliveries fall behind (engine/dispatch.h gw_dispatch_behind),
     * *axis naming the axis, or NULL for the signature checks; a submission is then refused with
     * 503 delivery_backlog before its body is read. May be NULL (never). */
    bool (*behind)(void *ud, const char **axis);
};

/* Validates deps and builds the API (copies what it keeps of the client list). GW_EINVAL,
 * GW_ENOMEM. */
int gw_api_new(const struct gw_api_deps *deps, struct gw_api **out)
    __attribute__((warn_unused_result));

/* Stream check for the HTTP server (gw_http_server_set_stream_check; ud is the struct gw_api):
 * the body of POST /v1/packages is streamed into the ingest pipeline instead of buffered. */
bool gw_api_stream_check(const struct gw_http_req *req, void *ud);

/* Frees the API once no request or work of it is in flight (after the drain). NULL is fine. */
void gw_api_free(struct gw_api *api);

/* The HTTP server's handler; ud is the struct gw_api. */
void gw_api_handle(struct gw_http_req *req, void *ud);

/* Head check for the HTTP server (gw_http_server_set_head_check; ud is the struct gw_api),
 * decided before any body byte is read or charged to max_inflight_body_bytes: a request outside
 * /v1/ that announces a body gets 413 body_not_allowed; a /v1/ request without a valid bearer
 * token gets 401. Everything else goes on to gw_api_handle: an authenticated request as a known
 * client's (GW_HTTP_HEAD_KNOWN: its connection is kept under a flood), the rest anonymous. */
int gw_api_head_check(const struct gw_http_req *req, void *ud, const char **code,
                      const char **message);

#endif
