#ifndef GW_VXP_H
#define GW_VXP_H

#include "engine/axis.h"

/*
 * National axis adapter (VNPT X-Road-style protocol), speaking exactly what the vendor's Java SDK
 * 2.0.x sends (domain.md §5; docs/internals/axes.md). cfg->secret is the secret as issued (44
 * characters that look like base64), used as text: never base64-decoded.
 *
 * Errors passed to the op callbacks, so that the core can tell whose condition it is:
 *   GW_EAUTH  the axis refused our credentials: HTTP 401/403, or a FAIL answer whose ErrorDesc
 *             names the signature headers, the systemid or the sender ("hash-header does not
 *             match", "Don vi gui ... khong dung voi ma da dang ky: ...", ...). A condition of
 *             the peer (open its circuit breaker), never of one package.
 *   GW_EHTTP  transport failure or timeout, HTTP 5xx/404/405/408/429, or an answer that is not
 *             the protocol's JSON envelope (or OK without a DocId). A condition of the peer.
 *   GW_EAXIS  the axis refused this request/package (any other FAIL answer, other HTTP 4xx, a
 *             fetched package that is not base64). A condition of the package.
 *   GW_E2BIG, GW_ECANCELED, GW_ENOMEM  local (answer over its cap, client closed, memory).
 * detail is always the axis's own text when it gave one ("<ErrorCode>: <ErrorDesc>", prefixed
 * "HTTP <status>: " for an error status), "transport: ..." for a transport failure.
 */
extern const struct gw_axis_ops gw_vxp_ops;

#endif
