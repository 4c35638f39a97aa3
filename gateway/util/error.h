#ifndef GW_ERROR_H
#define GW_ERROR_H

#include <errno.h>

/*
 * One error convention for the whole project: functions return int, 0 on success and a negative
 * GW_E* code on failure. Where an errno value fits, the code is that errno negated;
 * project-specific failures use values below GW_E_BASE. gw_strerror() gives a human message,
 * gw_errcode() a stable snake_case identifier that is safe to put in API responses and logs.
 */

#define GW_MUST_CHECK __attribute__((warn_unused_result))

enum {
    GW_OK = 0,
    GW_ENOMEM = -ENOMEM,
    GW_EINVAL = -EINVAL,
    GW_ENOENT = -ENOENT,
    GW_EIO = -EIO,
    GW_ETIMEDOUT = -ETIMEDOUT,
    GW_EAGAIN = -EAGAIN,
    GW_ECANCELED = -ECANCELED,
    GW_E2BIG = -E2BIG,
    GW_ERANGE = -ERANGE, /* a value outside what its destination (an SQL type, say) holds */

    GW_E_BASE = -1000,
    GW_EPARSE = -1001,     /* malformed input (XML, JSON, HTTP) */
    GW_ECONFIG = -1002,    /* configuration file is wrong */
    GW_EDB = -1003,        /* database unavailable or query failed */
    GW_ECONFLICT = -1004,  /* same identity, different content */
    GW_EAUTH = -1005,      /* missing or wrong credentials */
    GW_EAXIS = -1006,      /* the axis answered with an error */
    GW_EHTTP = -1007,      /* transport-level HTTP failure towards a peer */
    GW_ENORCPT = -1008,    /* package has no recipient */
    GW_ENOTEDXML = -1009,  /* well-formed XML that is not an edXML package */
    GW_ESHUTDOWN = -1010,  /* the service is draining */
    GW_ELIMIT = -1011,     /* a configured limit was exceeded */
    GW_ECOPY = -1012,      /* a per-axis copy is not faithful to the stored package */
    GW_EREFUSED = -1013,   /* the axis refused the package for good (resending cannot help) */
    GW_ERECIPIENT = -1014, /* the axis does not serve a recipient now (unknown or locked there) */
    GW_ESTORED = -1015,    /* a stored body's chunks are missing or not the bytes received */
    GW_E_LAST = -1016,
};

/* Human-readable message; never NULL. */
const char *gw_strerror(int err);

/* Stable machine-readable identifier, e.g. "payload_too_large"; never NULL. */
const char *gw_errcode(int err);

#endif
