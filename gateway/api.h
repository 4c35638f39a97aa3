#ifndef GW_API_H
#define GW_API_H

#include "http_server.h"

/*
 * Northbound API for QLVBĐH and the operations endpoints. gw_api_handle is the HTTP server's
 * handler; ud is the struct gw_app. Routes and error codes: docs/internals/api.md.
 */
void gw_api_handle(struct gw_http_req *req, void *ud);

#endif
