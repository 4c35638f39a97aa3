#ifndef GW_API_H
#define GW_API_H

#include "http/http_server.h"

/*
 * Northbound API for QLVBĐH and the operations endpoints. gw_api_handle is the HTTP server's
 * handler; ud is the struct gw_app. Routes and error codes: docs/internals/api.md.
 */
void gw_api_handle(struct gw_http_req *req, void *ud);

/* Head check for the HTTP server (gw_http_server_set_head_check; ud is the struct gw_app):
 * refuses /v1/ requests without a valid bearer token with 401 before their body is read.
 * Everything else goes on to gw_api_handle, which routes (and checks the token again). */
int gw_api_head_check(const struct gw_http_req *req, void *ud, const char **code,
                      const char **message);

#endif
