#ifndef GW_API_INTERNAL_H
#define GW_API_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "daemon/app.h"
#include "http/http_server.h"

/* Shared by the api_*.c files only. */

/* Sends a JSON object and releases it. */
void gw_api_json(struct gw_http_req *req, int status, json_t *obj);

/* Error response {"error":{"code","message"}} with the status that fits a GW_E* code. */
void gw_api_error(struct gw_http_req *req, int err, const char *message);

/* HTTP status for a GW_E* code. */
int gw_api_status_for(int err);

/* Parses a positive decimal id; -1 when not one. */
int64_t gw_api_parse_id(const char *s, size_t len);

/* Query-string parameter value copied into out, '+' and %XX decoded. 0 if found, GW_ENOENT if
 * absent, GW_E2BIG (out emptied) if the value does not fit. */
int gw_api_query_param(const char *query, const char *name, char *out, size_t outlen);

void gw_api_submit(struct gw_app *app, struct gw_http_req *req, int client);
void gw_api_get_package(struct gw_app *app, struct gw_http_req *req, int64_t id);
void gw_api_get_content(struct gw_app *app, struct gw_http_req *req, int64_t id);
void gw_api_inbox(struct gw_app *app, struct gw_http_req *req);
void gw_api_inbox_ack(struct gw_app *app, struct gw_http_req *req, int64_t id, int client);
void gw_api_healthz(struct gw_app *app, struct gw_http_req *req);
void gw_api_readyz(struct gw_app *app, struct gw_http_req *req);
void gw_api_metrics(struct gw_app *app, struct gw_http_req *req);

#endif
