#ifndef GW_AXIS_H
#define GW_AXIS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "http/http_client.h"
#include "util/pkgkind.h"
#include "config/sections.h"

/*
 * The core's only view of an exchange axis: one struct gw_axis_ops per protocol flavour
 * (adapters/vxp, adapters/lgsp_rest, ...). The core never includes adapter headers; adapters are
 * found by name with gw_axis_find().
 *
 * All operations are asynchronous on the loop. If an operation returns an error, its callback
 * never runs. Every callback runs exactly once otherwise.
 */

struct gw_axis_item {
    char *doc_id; /* axis-assigned id */
    char *from;   /* sender organ id as listed, may be NULL */
};

/* err == 0 on success; on GW_EAXIS, detail holds the axis's error text (may be NULL). */
typedef void (*gw_axis_send_cb)(int err, const char *axis_doc_id, const char *detail, void *ud);
typedef void (*gw_axis_list_cb)(int err, const struct gw_axis_item *items, size_t n,
                                const char *detail, void *ud);
/* On success the callback owns bytes (malloc'd, free() it): a package of tens of MB is handed
 * over, never copied. bytes is NULL on failure. */
typedef void (*gw_axis_fetch_cb)(int err, unsigned char *bytes, size_t len, const char *detail,
                                 void *ud);
typedef void (*gw_axis_ack_cb)(int err, const char *detail, void *ud);

/* One agency of an axis's directory (getAgenciesList / getAgenciesListQD20). Strings may be
 * NULL. In a QĐ 20 list `code` is the QĐ 20 form and `code102` the QCVN 102 form. */
struct gw_axis_agency {
    char *code;
    char *code102;
    char *name;
    char *parent; /* pid */
    char *mail;
    char *old_code;
};

/* On success the callback sees the whole list (valid during the call). */
typedef void (*gw_axis_agencies_cb)(int err, const struct gw_axis_agency *a, size_t n,
                                    const char *detail, void *ud);

struct gw_axis_ops {
    const char *name; /* adapter name used in configuration: "vxp" */
    int (*create)(struct gw_httpc *http, const struct gw_axis_config *cfg, void **state);
    void (*destroy)(void *state);
    /* Sends one edXML package; the axis routes it to every To/OrganId. The caller keeps pkg
     * valid and unchanged until the callback runs (or send returns an error): adapters may
     * transmit straight from it without a copy. */
    int (*send)(void *state, enum gw_pkg_kind kind, const unsigned char *pkg, size_t len,
                gw_axis_send_cb cb, void *ud);
    /* Lists packages waiting for this system (not yet acked). */
    int (*list_received)(void *state, enum gw_pkg_kind kind, gw_axis_list_cb cb, void *ud);
    /* Fetches one package's exact bytes. */
    int (*fetch)(void *state, const char *doc_id, gw_axis_fetch_cb cb, void *ud);
    /* Transport ack: done (stored durably) or fail. */
    int (*ack)(void *state, const char *doc_id, bool done, gw_axis_ack_cb cb, void *ud);
    /* The axis's agency directory: the QCVN 102 list (qd20 false) or the QĐ 20 list with both
     * forms (qd20 true). NULL when the flavour has no directory call. */
    int (*list_agencies)(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud);
};

/* Registry of built-in adapters; NULL if unknown. */
const struct gw_axis_ops *gw_axis_find(const char *adapter_name);

#endif
