#ifndef GW_VXP_H
#define GW_VXP_H

#include "engine/axis.h"

/* National axis adapter (VNPT X-Road-style protocol, XroadVnpt-* signed headers). */
extern const struct gw_axis_ops gw_vxp_ops;

#endif
