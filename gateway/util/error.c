/*
 * Error codes shared by every module: messages for humans and stable identifiers for API clients.
 * The identifiers are part of the public API (docs/internals/errors.md) and must never change
 * meaning.
 */
#include "util/error.h"

#include <string.h>

struct gw_err_entry {
    int code;
    const char *id;
    const char *msg;
};

static const struct gw_err_entry gw_errors[] = {
    {GW_OK, "ok", "success"},
    {GW_ENOMEM, "out_of_memory", "out of memory"},
    {GW_EINVAL, "invalid_argument", "invalid argument"},
    {GW_ENOENT, "not_found", "not found"},
    {GW_EIO, "io_error", "input/output error"},
    {GW_ETIMEDOUT, "timeout", "operation timed out"},
    {GW_EAGAIN, "try_again", "resource temporarily unavailable"},
    {GW_ECANCELED, "canceled", "operation canceled"},
    {GW_E2BIG, "too_large", "input exceeds a configured size limit"},
    {GW_ERANGE, "out_of_range", "value outside the range its destination holds"},
    {GW_EPARSE, "malformed", "malformed input"},
    {GW_ECONFIG, "config_error", "invalid configuration"},
    {GW_EDB, "database_unavailable", "database unavailable or query failed"},
    {GW_ECONFLICT, "conflict", "same identity with different content"},
    {GW_EAUTH, "unauthorized", "missing or invalid credentials"},
    {GW_EAXIS, "axis_error", "the exchange axis reported an error"},
    {GW_EHTTP, "peer_unreachable", "HTTP transport failure towards a peer"},
    {GW_ENORCPT, "no_recipient", "package names no recipient"},
    {GW_ENOTEDXML, "not_edxml", "XML document is not an edXML package"},
    {GW_ESHUTDOWN, "shutting_down", "service is shutting down"},
    {GW_ELIMIT, "limit_exceeded", "a configured limit was exceeded"},
    {GW_ECOPY, "copy_mismatch", "the per-axis copy is not faithful to the stored package"},
    {GW_EREFUSED, "axis_refused", "the axis refused the package permanently"},
    {GW_ERECIPIENT, "axis_recipient", "the axis does not serve a recipient of the package"},
    {GW_ESTORED, "stored_body_damaged",
     "the stored package's chunks are missing or not the bytes received"},
};

static const struct gw_err_entry *gw_err_find(int err)
{
    for (size_t i = 0; i < sizeof(gw_errors) / sizeof(gw_errors[0]); i++) {
        if (gw_errors[i].code == err)
            return &gw_errors[i];
    }
    return NULL;
}

const char *gw_strerror(int err)
{
    const struct gw_err_entry *e = gw_err_find(err);
    if (e)
        return e->msg;
    if (err < 0 && err > GW_E_BASE)
        return strerror(-err);
    return "unknown error";
}

const char *gw_errcode(int err)
{
    const struct gw_err_entry *e = gw_err_find(err);
    return e ? e->id : "internal_error";
}
