#ifndef GW_API_INTERNAL_H
#define GW_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/auth.h"
#include "http/http_server.h"
#include "metrics/metrics.h"
#include "store/store_args.h"

/* Shared by the api_*.c files only. */

/* One configured client as the API keeps it: its scope is the organisations it acts for (its
 * organ_id, or else every one of [gateway] organ_ids). */
struct gw_api_client {
    const char *name;
    const char *organ_id; /* NULL: the whole province */
    struct gw_store_scope scope;
    struct gw_metric *inbox_acks; /* gateway_inbox_ack_total{client} */
};

/* The /metrics snapshot: rendered text, refreshed at most once a second; scrapes that arrive
 * while a refresh runs wait for it and share it. */
struct gw_api_snapshot {
    char *text;
    size_t len;
    uint64_t at_ms; /* uv_now() of the refresh that made text */
    bool valid;
    bool refreshing;
    struct gw_http_req **waiting;
    size_t n_waiting, cap_waiting;
};

struct gw_api {
    struct gw_api_deps deps;
    struct gw_auth_client *auth; /* parallel to clients, for gw_auth_check */
    struct gw_api_client *clients;
    size_t n_clients;
    uint64_t started_ms;
    struct {
        struct gw_metric *http_requests;
        struct gw_metric *submit_created;
        struct gw_metric *submit_duplicate;
        struct gw_metric *submit_conflict;
        struct gw_metric_family *submit_rejected; /* label code */
        struct gw_metric *submit_db_errors;
        struct gw_metric *submit_backpressure;
        struct gw_metric *refreshes;
        struct gw_metric *up, *ready, *uptime, *db_pending;
        struct gw_metric *backlog_ok;
        struct gw_metric_family *deliveries, *oldest;
        struct gw_metric *inbox_waiting, *inbox_oldest;
        struct gw_metric *no_electronic_means;                    /* 005_route.sql */
        struct gw_metric *audit_unsealed, *audit_unsealed_oldest; /* 020 */
    } m;
    struct gw_api_snapshot snap;
};

/* Sends a JSON object and releases it. */
void gw_api_json(struct gw_http_req *req, int status, json_t *obj);

/* Error response {"error":{"code","message"}} with the status that fits a GW_E* code. */
void gw_api_error(struct gw_http_req *req, int err, const char *message);

/* A 503 with its Retry-After (every 503 of the API, back-pressure included: a few seconds, long
 * enough for the dispatcher to drain part of a backlog, short against a client's patience). */
void gw_api_unavailable(struct gw_http_req *req, const char *code, const char *message);

/* HTTP status for a GW_E* code. */
int gw_api_status_for(int err);

/* Parses a positive decimal id; -1 when not one. */
int64_t gw_api_parse_id(const char *s, size_t len);

/* Query-string parameter value copied into out, '+' and %XX decoded. 0 if found, GW_ENOENT if
 * absent, GW_E2BIG (out emptied) if the value does not fit. */
int gw_api_query_param(const char *query, const char *name, char *out, size_t outlen);

/* Authorisation (api_authz.c). Whether client may send a package whose From/OrganId is from:
 * its organ_id, or, for a client without one, one of [gateway] organ_ids. */
bool gw_api_may_send(const struct gw_api *api, const struct gw_api_client *client,
                     const char *from);
/* Builds api->clients (scopes, per-client series) from deps. */
int gw_api_clients_init(struct gw_api *api);
void gw_api_clients_free(struct gw_api *api);

void gw_api_work_begin(struct gw_api *api);
void gw_api_work_end(struct gw_api *api);

#define GW_PAPER_BODY_MAX 16384 /* bytes of a POST /v1/packages/{id}/paper-copy body */

/* One request's asynchronous store call (api_read.c): the drain waits for it. new answers 500
 * itself and returns NULL on allocation failure; free ends the work. */
struct gw_read_job {
    struct gw_api *api;
    struct gw_http_req *req;
    const struct gw_api_client *client;
    int64_t id;
};
struct gw_read_job *gw_read_job_new(struct gw_api *api, struct gw_http_req *req,
                                    const struct gw_api_client *c, int64_t id);
void gw_read_job_free(struct gw_read_job *job);

void gw_api_submit(struct gw_api *api, struct gw_http_req *req, const struct gw_api_client *c);
void gw_api_get_package(struct gw_api *api, struct gw_http_req *req, int64_t id,
                        const struct gw_api_client *c);
void gw_api_get_content(struct gw_api *api, struct gw_http_req *req, int64_t id,
                        const struct gw_api_client *c);
void gw_api_inbox(struct gw_api *api, struct gw_http_req *req, const struct gw_api_client *c);
void gw_api_inbox_ack(struct gw_api *api, struct gw_http_req *req, int64_t id,
                      const struct gw_api_client *c);
void gw_api_paper_copy(struct gw_api *api, struct gw_http_req *req, int64_t id,
                       const struct gw_api_client *c);
void gw_api_healthz(struct gw_api *api, struct gw_http_req *req);
void gw_api_readyz(struct gw_api *api, struct gw_http_req *req);

/* /metrics (api_metrics.c). */
int gw_api_metrics_init(struct gw_api *api);
void gw_api_metrics_free(struct gw_api *api);
void gw_api_metrics(struct gw_api *api, struct gw_http_req *req);
/* The readiness report, filled by the daemon's callback; returns whether it is ready. */
bool gw_api_ready_get(struct gw_api *api, struct gw_api_ready *r);

#endif
