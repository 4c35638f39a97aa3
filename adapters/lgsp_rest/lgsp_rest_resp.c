/*
 * Answers of the REST v2.2 provincial axis (pure, safe on pool workers): the JSON envelope
 * {success, message, data{errorCode, errorDesc}}, its error codes (domain.md §5) mapped to whose
 * condition each is (lgsp_rest.h), the login's token, sendEdoc's docId, the list's items and
 * getEdoc's edxml (raw text or base64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lgsp_rest_internal.h"
#include "util/error.h"

int gw_lr_parse(const char *body, size_t len, json_t **root, char *detail, size_t detail_len)
{
    json_error_t jerr;

    *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root || !json_is_object(*root)) {
        snprintf(detail, detail_len, "unparsable response: %s",
                 *root ? "not a JSON object" : jerr.text);
        json_decref(*root);
        *root = NULL;
        return GW_EHTTP;
    }
    return 0;
}

int gw_lr_classify(long code)
{
    switch (code) {
    case 0:
        return 0;
    case 15: /* wrong SystemId / SecretKey */
    case 19: /* sender not registered */
        return GW_EAUTH;
    case 10: /* invalid file */
    case 21: /* file processing error */
    case 22: /* edXML not conformant */
        return GW_EREFUSED;
    case 18: /* receiver does not exist */
    case 23: /* receiver locked */
        return GW_ERECIPIENT;
    case 20: /* the axis's internal error: retried as a failure of the peer */
        return GW_EHTTP;
    default: /* undocumented: retried, the code in the detail */
        return GW_EAXIS;
    }
}

int gw_lr_classify_status(long status)
{
    if (status == 401 || status == 403)
        return GW_EAUTH;
    if (status >= 500 || status == 404 || status == 405 || status == 408 || status == 429)
        return GW_EHTTP;
    return GW_EAXIS;
}

/* An integer member (number or digit string); false if absent or not one. */
static bool gw_lr_int(const json_t *v, long *out)
{
    char *end;

    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) == (double)(long)json_real_value(v)) {
        *out = (long)json_real_value(v);
        return true;
    }
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 20) {
        *out = strtol(json_string_value(v), &end, 10);
        return *end == '\0';
    }
    return false;
}

/* A text member cut for a detail, or "" (never a control character: it goes into logs). */
static void gw_lr_text(const json_t *v, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = json_is_string(v) ? json_string_value(v) : "";

    for (; *s && n + 1 < cap; s++)
        out[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    out[n] = '\0';
}

int gw_lr_success_text(const char *text, bool quoted)
{
    if (quoted)
        return strcasecmp(text, "true") == 0 ? 1 : strcasecmp(text, "false") == 0 ? 0 : -2;
    return strcmp(text, "true") == 0    ? 1
           : strcmp(text, "false") == 0 ? 0
           : strcmp(text, "null") == 0  ? -1
                                        : -2;
}

/* success as a boolean, or as the text "true" / "false": 1, 0; absent: -1; anything else: -2. */
static int gw_lr_success(const json_t *v)
{
    if (!v || json_is_null(v))
        return -1;
    if (json_is_boolean(v))
        return json_is_true(v);
    return json_is_string(v) ? gw_lr_success_text(json_string_value(v), true) : -2;
}

/* A status member that says the call failed ("fail", any case). */
static bool gw_lr_says_fail(const json_t *v)
{
    return json_is_string(v) && strcasecmp(json_string_value(v), "fail") == 0;
}

int gw_lr_envelope(const json_t *root, char *detail, size_t detail_len)
{
    const json_t *data = json_object_get(root, "data");
    const json_t *code = NULL, *desc = NULL;
    char text[GW_LR_DETAIL_LEN];
    int ok = gw_lr_success(json_object_get(root, "success"));
    bool has_code;
    long c = 0;

    if (ok == -2) {
        snprintf(detail, detail_len, "response whose success is not a boolean");
        return GW_EHTTP;
    }
    if (ok == 1)
        return 0;
    if (json_is_object(data)) {
        code = json_object_get(data, "errorCode");
        desc = json_object_get(data, "errorDesc");
    }
    if (!code)
        code = json_object_get(root, "errorCode");
    has_code = gw_lr_int(code, &c);
    /* no success member and nothing that says the call failed (an errorCode that is not 0,
     * readable or not; a status "fail"): the caller's own reading of the answer decides */
    if (ok == -1 && (!code || json_is_null(code) || (has_code && c == 0)) &&
        !gw_lr_says_fail(json_object_get(root, "status")) &&
        !(json_is_object(data) && gw_lr_says_fail(json_object_get(data, "status"))))
        return 0;
    if (!desc || !json_is_string(desc))
        desc = json_object_get(root, json_object_get(root, "errorDesc") ? "errorDesc" : "message");
    gw_lr_text(desc, text, sizeof(text));
    if (!has_code) {
        /* refused without a code: nothing says whose condition it is; retried */
        snprintf(detail, detail_len, "refused without errorCode%s%s", text[0] ? ": " : "", text);
        return GW_EAXIS;
    }
    snprintf(detail, detail_len, "errorCode %ld%s%s", c, text[0] ? ": " : "", text);
    if (c == 0) {
        snprintf(detail, detail_len, "%s with errorCode 0%s%s",
                 ok == 0 ? "success false" : "status fail", text[0] ? ": " : "", text);
        return GW_EAXIS; /* contradictory: not taken as a success */
    }
    return gw_lr_classify(c);
}

int gw_lr_envelope_strict(const json_t *root, char *detail, size_t detail_len)
{
    if (!json_object_get(root, "success") || json_is_null(json_object_get(root, "success"))) {
        snprintf(detail, detail_len, "response without success");
        return GW_EHTTP;
    }
    return gw_lr_envelope(root, detail, detail_len);
}

int gw_lr_parse_login(const char *body, size_t len, char **token, uint64_t *expires_s, char *detail,
                      size_t detail_len)
{
    json_t *root = NULL;
    const json_t *data, *tok, *exp;
    int rc;

    *token = NULL;
    *expires_s = 0;
    if ((rc = gw_lr_parse(body, len, &root, detail, detail_len)) != 0)
        return rc;
    if ((rc = gw_lr_envelope(root, detail, detail_len)) != 0) {
        json_decref(root);
        /* a login refused */
        return rc == GW_EAXIS || rc == GW_EREFUSED || rc == GW_ERECIPIENT ? GW_EAUTH : rc;
    }
    data = json_object_get(root, "data");
    tok = json_is_object(data) ? json_object_get(data, "token") : NULL;
    if (!json_is_string(tok) || json_string_length(tok) == 0 ||
        json_string_length(tok) > GW_LR_MAX_TOKEN) {
        snprintf(detail, detail_len, "login answer without a usable data.token");
        json_decref(root);
        return GW_EHTTP;
    }
    for (const char *p = json_string_value(tok); *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(detail, detail_len, "login answer with a token that is not header text");
            json_decref(root);
            return GW_EHTTP;
        }
    }
    exp = json_object_get(data, "expiresIn");
    long e = 0;
    if (gw_lr_int(exp, &e) && e > 0 && e <= 366L * 86400)
        *expires_s = (uint64_t)e;
    *token = strdup(json_string_value(tok));
    json_decref(root);
    return *token ? 0 : GW_ENOMEM;
}

/* An identifier: string or integer, 1..GW_LR_MAX_ID bytes, printable. */
static int gw_lr_id(const json_t *v, char out[GW_LR_MAX_ID + 1])
{
    const char *s;

    if (!v || json_is_null(v))
        return GW_ENOENT;
    if (json_is_integer(v)) {
        snprintf(out, GW_LR_MAX_ID + 1, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return GW_EINVAL;
    s = json_string_value(v);
    if (json_string_length(v) == 0 || json_string_length(v) > GW_LR_MAX_ID)
        return GW_EINVAL;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return GW_EINVAL;
    if (strlen(s) != json_string_length(v))
        return GW_EINVAL; /* an embedded NUL */
    memcpy(out, s, json_string_length(v) + 1);
    return 0;
}

int gw_lr_doc_id(const json_t *root, char out[GW_LR_MAX_ID + 1])
{
    const json_t *data = json_object_get(root, "data");
    int rc = gw_lr_id(json_object_get(root, "docId"), out);

    if (rc == GW_ENOENT && json_is_object(data))
        rc = gw_lr_id(json_object_get(data, "docId"), out);
    return rc;
}

void gw_lr_items_free(struct gw_axis_item *items, bool *done, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].doc_id);
        free(items[i].from);
    }
    free(items);
    free(done);
}

/* The created date of a list item ("createdTime" "YYYY/MM/DD[ HH:MM:SS]", '-' also taken): days
 * since 1970-01-01, or -1 without a usable one. */
static long gw_lr_item_day(const json_t *it)
{
    const json_t *t = json_object_get(it, "createdTime");
    char d[GW_LR_DATE_LEN];

    if (!json_is_string(t) || json_string_length(t) < 10)
        return -1;
    memcpy(d, json_string_value(t), 10);
    d[10] = '\0';
    if (d[4] == '-' && d[7] == '-')
        d[4] = d[7] = '/';
    return gw_lr_date_days(d);
}

/* A valid list item's place in the order items are kept in. */
struct gw_lr_rank {
    size_t i;  /* index in data */
    long day;  /* created date, -1 without a usable one */
    bool done; /* listed as status "done" */
};

/* Pending before done, then the oldest first (no usable date first of all), then as listed. */
static int gw_lr_rank_cmp(const void *pa, const void *pb)
{
    const struct gw_lr_rank *a = pa, *b = pb;

    if (a->done != b->done)
        return a->done ? 1 : -1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

int gw_lr_items(const json_t *root, struct gw_axis_item **items, bool **done, size_t *n, bool *cut,
                char cut_from[GW_LR_DATE_LEN])
{
    const json_t *data = json_object_get(root, "data");
    struct gw_lr_rank *rank;
    size_t cap, i, valid = 0;
    long first = -1;
    char id[GW_LR_MAX_ID + 1], from[GW_LR_MAX_ID + 1];

    *items = NULL;
    *done = NULL;
    *n = 0;
    *cut = false;
    cut_from[0] = '\0';
    if (!data || json_is_null(data))
        return 0;
    if (!json_is_array(data))
        return GW_EHTTP;
    if (json_array_size(data) == 0)
        return 0;
    if (!(rank = calloc(json_array_size(data), sizeof(*rank))))
        return GW_ENOMEM;
    for (i = 0; i < json_array_size(data); i++) {
        const json_t *it = json_array_get(data, i);
        const json_t *st;
        if (!json_is_object(it) || gw_lr_id(json_object_get(it, "docId"), id) != 0)
            continue;
        st = json_object_get(it, "status");
        rank[valid].i = i;
        rank[valid].day = gw_lr_item_day(it);
        rank[valid++].done = json_is_string(st) && strcmp(json_string_value(st), "done") == 0;
    }
    /* Past the cap, what is left out must be what the next window lists again: the newest and
     * those already done, whatever order the axis lists them in (newest first, say), so the
     * window moves on and no pending item stays behind the cap for ever. */
    qsort(rank, valid, sizeof(*rank), gw_lr_rank_cmp);
    cap = valid < GW_LR_MAX_ITEMS ? valid : GW_LR_MAX_ITEMS;
    if (cap > 0) {
        *items = calloc(cap, sizeof(**items));
        *done = calloc(cap, sizeof(**done));
    }
    if (cap > 0 && (!*items || !*done)) {
        gw_lr_items_free(*items, *done, 0);
        *items = NULL;
        *done = NULL;
        free(rank);
        return GW_ENOMEM;
    }
    for (size_t k = 0; k < cap; k++) {
        const json_t *it = json_array_get(data, rank[k].i);
        gw_lr_id(json_object_get(it, "docId"), id);
        (*items)[k].doc_id = strdup(id);
        if (gw_lr_id(json_object_get(it, "from"), from) == 0)
            (*items)[k].from = strdup(from);
        (*done)[k] = rank[k].done;
        if (!(*items)[k].doc_id) {
            gw_lr_items_free(*items, *done, k + 1);
            *items = NULL;
            *done = NULL;
            free(rank);
            return GW_ENOMEM;
        }
    }
    *n = cap;
    /* The valid items past the cap: cut, and the earliest created date among them (none when
     * one of them has no usable date). */
    for (size_t k = cap; k < valid; k++) {
        if (!*cut || (first >= 0 && (rank[k].day < 0 || rank[k].day < first)))
            first = rank[k].day;
        *cut = true;
    }
    if (*cut && first >= 0)
        gw_lr_days_date(first, cut_from);
    free(rank);
    return 0;
}

int gw_lr_b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard (or URL-safe) base64, whitespace ignored, padding optional at the end only. */
static int gw_lr_b64(const char *s, size_t n, size_t max, uint8_t **out, size_t *out_len)
{
    uint8_t *o = malloc(n / 4 * 3 + 3);
    uint32_t acc = 0;
    unsigned bits = 0, pad = 0;
    size_t k = 0;

    if (!o)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || (v = gw_lr_b64_val(c)) < 0) {
            free(o);
            return GW_EAXIS;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= max) {
                free(o);
                return GW_E2BIG;
            }
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    /* 2 or 4 bits left over are the padding's; 6 means a lone character */
    if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)) != 0) {
        free(o);
        return GW_EAXIS;
    }
    *out = o;
    *out_len = k;
    return 0;
}

int gw_lr_edxml(const json_t *root, size_t max, uint8_t **out, size_t *out_len, char *detail,
                size_t detail_len)
{
    const json_t *data = json_object_get(root, "data");
    const json_t *x = json_is_object(data) ? json_object_get(data, "edxml") : NULL;
    const char *s;
    size_t n, i = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (!json_is_string(x) || json_string_length(x) == 0) {
        snprintf(detail, detail_len, "response without data.edxml");
        return GW_EAXIS;
    }
    s = json_string_value(x);
    n = json_string_length(x);
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    if (i < n && s[i] == '<') { /* raw text: the string's bytes are the package */
        if (n > max) {
            snprintf(detail, detail_len, "package exceeds %zu bytes", max);
            return GW_E2BIG;
        }
        if (!(*out = malloc(n)))
            return GW_ENOMEM;
        memcpy(*out, s, n);
        *out_len = n;
        return 0;
    }
    rc = gw_lr_b64(s, n, max, out, out_len);
    if (rc == GW_E2BIG)
        snprintf(detail, detail_len, "package exceeds %zu bytes", max);
    else if (rc == GW_EAXIS)
        snprintf(detail, detail_len, "data.edxml is neither XML text nor base64");
    return rc;
}
