#ifndef GW_VXP_INTERNAL_H
#define GW_VXP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/axis.h"

/* Response parsing for the national axis adapter (vxp_resp.c); shared with vxp.c only. */

/* One configured axis (vxp.c creates it; vxp_agency.c reads it too). */
struct gw_vxp {
    struct gw_httpc *http;
    char *base_url; /* without trailing '/' */
    char *systemid;
    unsigned char *secret; /* the characters as configured (the HMAC key), never decoded */
    size_t secret_len;
    uint64_t timeout_ms;
    size_t max_package_bytes;
    size_t max_directory_bytes; /* cap on a directory answer; 0 = GW_VXP_DEF_MAX_DIRECTORY */
    struct gw_tls_peer tls;     /* on every request; its strings are the adapter's copies */
};

#define GW_VXP_DEF_MAX_DIRECTORY (32u * 1024 * 1024)
#define GW_VXP_MAX_AGENCIES      500000 /* rows in one list; a longer list is refused */
#define GW_VXP_AGENCY_CODE_MAX   256    /* a longer code drops the row (store limits) */
#define GW_VXP_AGENCY_TEXT_MAX   2048   /* a longer name/mail is dropped from the row */

/* ops.list_agencies (vxp_agency.c): getAgenciesList, or getAgenciesListQD20 when qd20. */
int gw_vxp_list_agencies(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud);

/* Parses a directory answer (vxp_agency.c; pure, for the thread pool and the tests): 0 and
 * out and n (free with gw_vxp_agencies_free) on an OK answer; else as gw_vxp_resp_parse, or
 * GW_EHTTP when data is not an array. Rows without a usable code are skipped. */
int gw_vxp_agencies_parse(const char *body, size_t len, bool qd20, struct gw_axis_agency **out,
                          size_t *n, char *detail, size_t detail_len);
void gw_vxp_agencies_free(struct gw_axis_agency *a, size_t n);

#define GW_VXP_DETAIL_LEN 512
#define GW_VXP_MAX_ITEMS  10000
#define GW_VXP_MAX_ID     256

/* Parses body as the axis's JSON envelope. 0: *root is the object and the axis said OK.
 * A FAIL answer: gw_vxp_classify() of it (GW_EAUTH or GW_EAXIS), detail "<ErrorCode>: <ErrorDesc>"
 * and *root set. An answer that is not a JSON object: GW_EHTTP (the peer, or something in front
 * of it, is not speaking the protocol), detail says why. */
int gw_vxp_resp_parse(const char *body, size_t len, json_t **root, char *detail, size_t detail_len);

/* The verdict on an envelope's members (gw_vxp_resp_parse after the JSON is read): status and
 * desc NULL when absent or not strings, code the ErrorCode's text (NULL when absent), code_zero
 * whether it is 0. Same answers and detail as gw_vxp_resp_parse. */
int gw_vxp_envelope(const char *status, const char *code, int code_zero, const char *desc,
                    char *detail, size_t detail_len);

/* Classifies a FAIL answer (ErrorCode, ErrorDesc; either may be NULL): GW_EAUTH when its text
 * says the credentials were refused (see vxp.h), else GW_EAXIS. */
int gw_vxp_classify(const char *code, const char *desc);

/* Classifies an HTTP status outside 2xx (see vxp.h): GW_EAUTH, GW_EHTTP or GW_EAXIS. */
int gw_vxp_classify_status(long status);

/* Copies an identifier field (string or integer) of obj into out; GW_ENOENT if absent, GW_EINVAL
 * if unusable (empty, too long, control characters). Tries each name in the NULL-terminated list.
 */
int gw_vxp_resp_id(const json_t *obj, const char *const *names, char out[GW_VXP_MAX_ID + 1]);

/* Builds the item array from root's "data" (absent or null: empty). Invalid items are skipped
 * and at most GW_VXP_MAX_ITEMS are kept. Free with gw_vxp_items_free(). */
int gw_vxp_resp_items(const json_t *root, struct gw_axis_item **items, size_t *n);
void gw_vxp_items_free(struct gw_axis_item *items, size_t n);

/* vxp_fetch.c: the getEdoc answer streamed into a struct gw_axis_sink. */
struct gw_vxp_fetch;
int gw_vxp_fetch_new(struct gw_axis_sink *sink, size_t max_package_bytes,
                     struct gw_vxp_fetch **out);
void gw_vxp_fetch_free(struct gw_vxp_fetch *f);
/* The HTTP client's sink over it (the axis sink's resume_fn/resume_ctx are set by _new). */
void gw_vxp_fetch_sink(struct gw_vxp_fetch *f, struct gw_httpc_sink *hs);
void gw_vxp_fetch_attach(struct gw_vxp_fetch *f, struct gw_httpc_xfer *xfer);
/* The first 64 KiB of a non-2xx answer (NUL-terminated). */
const char *gw_vxp_fetch_errbody(const struct gw_vxp_fetch *f, size_t *len);
/* After a 2xx answer was received whole: 0 (the sink had the package, exactly) or the error with
 * detail, as vxp.h maps them. */
int gw_vxp_fetch_verdict(struct gw_vxp_fetch *f, char *detail, size_t detail_len);
/* Whether the transfer was aborted by this side (cap, not JSON, the sink's code). */
int gw_vxp_fetch_aborted(const struct gw_vxp_fetch *f);
/* The transfer is over. true: the sink is paused, and resumed(ud) runs from its resume; false:
 * it is not. */
bool gw_vxp_fetch_paused(struct gw_vxp_fetch *f, void (*resumed)(void *ud), void *ud);

#endif
