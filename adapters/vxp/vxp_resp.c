/*
 * Parsing of the national axis's JSON answers: the {status, ErrorCode, ErrorDesc} envelope, read
 * leniently (codes as strings or numbers), the classification of refusals (credentials, package,
 * transport; vxp.h), plus identifiers and the received-package list. Every value the peer
 * controls is bounded before it is copied.
 */
#include "vxp_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"
#include "util/error.h"
#include "util/log.h"
#include "util/utf8.h"
#include "vxp_sign.h"

/* Formats ErrorCode into code; returns 1 if present, 0 if absent. */
static int gw_vxp_code(const json_t *v, char *code, size_t len)
{
    if (json_is_string(v))
        snprintf(code, len, "%.60s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(code, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(code, len, "%g", json_real_value(v));
    else
        return 0;
    return 1;
}

static int gw_vxp_code_is_zero(const json_t *v, const char *code)
{
    if (json_is_number(v))
        return json_number_value(v) == 0;
    return strcmp(code, "0") == 0;
}

/*
 * Phrases of a FAIL answer that mean the request's credentials were refused, not the package:
 * the HMAC (hash-header), the signed headers (sign-header, any XroadVnpt- header), the systemid
 * or the sender ("Don vi gui X khong dung voi ma da dang ky: Y"). Matched case-insensitively
 * (ASCII). "signature" and "timestamp" are deliberately absent: an edXML package has a
 * Signature and TraceHeader Timestamps of its own, and a refusal of those is the package's.
 */
static const char *const gw_vxp_auth_phrases[] = {
    "hash-header",
    "sign-header",
    "xroadvnpt-",
    "systemid",
    "khong dung voi ma da dang ky",
    "không đúng với mã đã đăng ký",
    "secret",
    "credential",
    "unauthori",
    "authenticat",
    "forbidden",
    "access denied",
};

int gw_vxp_classify(const char *code, const char *desc)
{
    (void)code; /* the axis's codes for refused credentials are not documented (domain.md §5) */
    if (!desc)
        return GW_EAXIS;
    for (size_t i = 0; i < GW_ARRAY_LEN(gw_vxp_auth_phrases); i++)
        if (strcasestr(desc, gw_vxp_auth_phrases[i]))
            return GW_EAUTH;
    return GW_EAXIS;
}

int gw_vxp_classify_status(long status)
{
    if (status == 401 || status == 403)
        return GW_EAUTH;
    if (status >= 500 || status < 400 || status == 404 || status == 405 || status == 408 ||
        status == 429)
        return GW_EHTTP; /* the peer, its address or its load: not this request's content */
    return GW_EAXIS;
}

int gw_vxp_resp_parse(const char *body, size_t len, json_t **root, char *detail, size_t detail_len)
{
    json_error_t jerr;
    char code[64] = "";
    json_t *r;

    *root = NULL;
    r = json_loadb(body, len, 0, &jerr);
    if (!r) {
        snprintf(detail, detail_len, "unparsable response: %s (line %d)", jerr.text, jerr.line);
        return GW_EHTTP;
    }
    if (!json_is_object(r)) {
        json_decref(r);
        snprintf(detail, detail_len, "unparsable response: not a JSON object");
        return GW_EHTTP;
    }
    *root = r;
    const json_t *ec = json_object_get(r, "ErrorCode");
    int has_code = gw_vxp_code(ec, code, sizeof(code));
    return gw_vxp_envelope(json_string_value(json_object_get(r, "status")), has_code ? code : NULL,
                           has_code && gw_vxp_code_is_zero(ec, code),
                           json_string_value(json_object_get(r, "ErrorDesc")), detail, detail_len);
}

int gw_vxp_envelope(const char *s, const char *code, int code_zero, const char *desc, char *detail,
                    size_t detail_len)
{
    int has_code = code != NULL;
    int code_ok = has_code && code_zero;
    int st_ok = s && strcasecmp(s, "OK") == 0;
    int st_fail = s && strcasecmp(s, "FAIL") == 0;

    if (!st_fail && (st_ok || code_ok) && (!has_code || code_ok))
        return 0;
    if (!desc && !st_fail && !has_code) { /* not the protocol's envelope */
        snprintf(detail, detail_len, "-: %s",
                 s ? "unrecognised status" : "response has neither status nor ErrorCode");
        return GW_EHTTP;
    }
    if (!desc)
        desc = "";
    int dl = (int)gw_utf8_prefix(desc, detail_len / 2);
    snprintf(detail, detail_len, "%s: %.*s", has_code ? code : "-", dl, desc);
    return gw_vxp_classify(has_code ? code : NULL, desc);
}

int gw_vxp_resp_id(const json_t *obj, const char *const *names, char out[GW_VXP_MAX_ID + 1])
{
    const json_t *v = NULL;

    for (size_t i = 0; names[i] && !v; i++)
        v = json_object_get(obj, names[i]);
    if (!v || json_is_null(v))
        return GW_ENOENT;
    if (json_is_integer(v)) {
        snprintf(out, GW_VXP_MAX_ID + 1, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return GW_EINVAL;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > GW_VXP_MAX_ID || strlen(s) != len || gw_vxp_value_ok(s) != 0)
        return GW_EINVAL;
    memcpy(out, s, len + 1);
    return 0;
}

void gw_vxp_items_free(struct gw_axis_item *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        free(items[i].doc_id);
        free(items[i].from);
    }
    free(items);
}

int gw_vxp_resp_items(const json_t *root, struct gw_axis_item **items, size_t *n)
{
    static const char *const id_names[] = {"docId", "DocId", "docid", NULL};
    static const char *const from_names[] = {"from", NULL};
    const json_t *data = json_object_get(root, "data");
    struct gw_axis_item *out;
    size_t total, k = 0;

    *items = NULL;
    *n = 0;
    if (!data || json_is_null(data))
        return 0;
    if (!json_is_array(data))
        return GW_EAXIS;
    total = json_array_size(data);
    if (total > GW_VXP_MAX_ITEMS) {
        gw_warn("vxp.list_truncated", "axis listed %zu packages, taking the first %d", total,
                GW_VXP_MAX_ITEMS);
        total = GW_VXP_MAX_ITEMS;
    }
    out = calloc(total ? total : 1, sizeof(*out));
    if (!out)
        return GW_ENOMEM;
    for (size_t i = 0; i < total; i++) {
        const json_t *it = json_array_get(data, i);
        char id[GW_VXP_MAX_ID + 1], from[GW_VXP_MAX_ID + 1];
        if (!json_is_object(it) || gw_vxp_resp_id(it, id_names, id) != 0) {
            gw_warn("vxp.list_item", "skipping list item %zu without a usable docId", i);
            continue;
        }
        out[k].doc_id = strdup(id);
        if (gw_vxp_resp_id(it, from_names, from) == 0)
            out[k].from = strdup(from);
        if (!out[k].doc_id) {
            gw_vxp_items_free(out, k + 1);
            return GW_ENOMEM;
        }
        k++;
    }
    *items = out;
    *n = k;
    return 0;
}
