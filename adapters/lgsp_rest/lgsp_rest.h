#ifndef GW_LGSP_REST_H
#define GW_LGSP_REST_H

#include "engine/axis.h"

/*
 * Provincial axis adapter, "REST v2.2 style" (domain.md §5; docs/internals/axes.md, "REST v2.2
 * provincial axis"): a bearer token from /v1/auth/login, X-SystemId / X-SecretKey on every call,
 * sendEdoc as multipart/form-data, syncReceivedEdocList by date window (the poller's cursor is the
 * Vietnam date the next window starts), getEdoc with edxml raw or base64, updateStatus, and a
 * directory read from the file named by directory_file.
 *
 * Errors passed to the op callbacks:
 *   GW_EAUTH     credentials refused: errorCode 15 (SystemId/SecretKey) or 19 (sender not
 *                registered), a login refused, or HTTP 401/403 again after a fresh login. The
 *                peer's.
 *   GW_EHTTP     transport failure or timeout, HTTP 5xx/404/405/408/429, an answer that is not the
 *                protocol's JSON, errorCode 20 (the axis's internal error). The peer's.
 *   GW_EREFUSED  errorCode 10, 21, 22: this package is refused for good (invalid file, file
 *                processing error, edXML not conformant).
 *   GW_ERECIPIENT errorCode 18, 23: a recipient does not exist / is locked at the axis. The
 *                package's condition (retried with its backoff until it gives up), never the
 *                peer's: the same answer for every package to that recipient opens no breaker.
 *   GW_EAXIS     any other code (retried, the code in the detail), other HTTP 4xx, an edxml
 *                that is not base64.
 *   GW_E2BIG, GW_ECANCELED, GW_ENOMEM, GW_EAGAIN (too many calls waiting for a login): local.
 * detail is "errorCode <n>: <errorDesc>", "HTTP <status>[: <message>]" or "transport: ...".
 */
extern const struct gw_axis_ops gw_lgsp_rest_ops;

#endif
