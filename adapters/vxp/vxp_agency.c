/*
 * The national axis's agency directory (domain.md §5): POST /getAgenciesList (data[]{id, code,
 * pid, name, mail, oldCode}) and POST /getAgenciesListQD20 with the signed key `level`
 * (data[]{id, code, name, mail, code102}: the QĐ 20 code and its QCVN 102 pair), signed like
 * every call (vxp_sign.c) with an empty body. The answer is capped (max_directory_bytes); one
 * over 64 KiB is parsed on the libuv thread pool, so the loop never runs jansson over megabytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error.h"
#include "util/utf8.h"
#include "vxp_internal.h"
#include "vxp_sign.h"

#define GW_VXP_AGENCY_ASYNC (64u * 1024)
/* QĐ 20 list level: the axis's meaning of the values is not published; "1" is what the SDK's
 * sample passes (an inference, see docs/internals/axes.md). */
#define GW_VXP_QD20_LEVEL "1"

struct gw_vxp_agency_call {
    gw_axis_agencies_cb cb;
    void *ud;
    bool qd20;
    uv_loop_t *loop;
    uv_work_t work;
    char *body; /* taken from the HTTP client for the thread pool */
    size_t body_len;
    int rc;
    char detail[GW_VXP_DETAIL_LEN];
    struct gw_axis_agency *rows;
    size_t n;
};

void gw_vxp_agencies_free(struct gw_axis_agency *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].code);
        free(a[i].code102);
        free(a[i].name);
        free(a[i].parent);
        free(a[i].mail);
        free(a[i].old_code);
    }
    free(a);
}

/* A string or integer member as text, NULL when absent, empty, null or longer than max. */
static char *gw_vxp_agency_field(const json_t *o, const char *name, size_t max, bool *oom)
{
    const json_t *v = json_object_get(o, name);
    char num[32], *s;
    const char *t;
    size_t len;

    if (json_is_string(v)) {
        t = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        t = num;
        len = strlen(num);
    } else {
        return NULL;
    }
    if (len == 0 || len > max || memchr(t, '\0', len) || !gw_utf8_valid(t, len))
        return NULL;
    if (!(s = strndup(t, len)))
        *oom = true;
    return s;
}

static int gw_vxp_agency_row(const json_t *o, bool qd20, struct gw_axis_agency *r)
{
    bool oom = false;

    memset(r, 0, sizeof(*r));
    r->code = gw_vxp_agency_field(o, "code", GW_VXP_AGENCY_CODE_MAX, &oom);
    if (!r->code)
        return oom ? GW_ENOMEM : GW_ENOENT;
    r->name = gw_vxp_agency_field(o, "name", GW_VXP_AGENCY_TEXT_MAX, &oom);
    r->mail = gw_vxp_agency_field(o, "mail", GW_VXP_AGENCY_TEXT_MAX, &oom);
    if (qd20) {
        r->code102 = gw_vxp_agency_field(o, "code102", GW_VXP_AGENCY_CODE_MAX, &oom);
    } else {
        r->parent = gw_vxp_agency_field(o, "pid", GW_VXP_AGENCY_CODE_MAX, &oom);
        r->old_code = gw_vxp_agency_field(o, "oldCode", GW_VXP_AGENCY_CODE_MAX, &oom);
    }
    return oom ? GW_ENOMEM : 0;
}

int gw_vxp_agencies_parse(const char *body, size_t len, bool qd20, struct gw_axis_agency **out,
                          size_t *n, char *detail, size_t detail_len)
{
    json_t *root = NULL;
    const json_t *data;
    struct gw_axis_agency *rows = NULL;
    size_t k = 0, total;
    int rc;

    *out = NULL;
    *n = 0;
    rc = gw_vxp_resp_parse(body, len, &root, detail, detail_len);
    if (rc != 0)
        goto done;
    data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        snprintf(detail, detail_len, "data is not an array");
        rc = GW_EHTTP;
        goto done;
    }
    total = json_array_size(data);
    if (total > GW_VXP_MAX_AGENCIES) {
        /* Never a partial list: the directory is replaced by what is returned here, and the
         * agencies cut off would read as recipients without electronic means. */
        snprintf(detail, detail_len, "%zu agencies listed, more than the %d kept", total,
                 GW_VXP_MAX_AGENCIES);
        rc = GW_E2BIG;
        goto done;
    }
    if (total && !(rows = calloc(total, sizeof(*rows)))) {
        rc = GW_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < total; i++) {
        const json_t *o = json_array_get(data, i);
        if (!json_is_object(o))
            continue;
        rc = gw_vxp_agency_row(o, qd20, &rows[k]);
        if (rc == GW_ENOMEM) {
            k++;
            goto done;
        }
        if (rc == 0)
            k++; /* GW_ENOENT: a row without a usable code is skipped */
    }
    rc = 0;
done:
    json_decref(root);
    if (rc != 0) {
        gw_vxp_agencies_free(rows, k);
        return rc;
    }
    *out = rows;
    *n = k;
    return 0;
}

static void gw_vxp_agency_complete(struct gw_vxp_agency_call *c)
{
    if (c->rc != 0)
        c->cb(c->rc, NULL, 0, c->detail[0] ? c->detail : NULL, c->ud);
    else
        c->cb(0, c->rows, c->n, NULL, c->ud);
    gw_vxp_agencies_free(c->rows, c->n);
    free(c->body);
    free(c);
}

static void gw_vxp_agency_work(uv_work_t *w)
{
    struct gw_vxp_agency_call *c = w->data;

    c->rc = gw_vxp_agencies_parse(c->body, c->body_len, c->qd20, &c->rows, &c->n, c->detail,
                                  sizeof(c->detail));
    free(c->body);
    c->body = NULL;
}

static void gw_vxp_agency_after(uv_work_t *w, int status)
{
    struct gw_vxp_agency_call *c = w->data;

    if (status == UV_ECANCELED) {
        c->rc = GW_ECANCELED;
        c->detail[0] = '\0';
    }
    gw_vxp_agency_complete(c);
}

static void gw_vxp_agency_on_http(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_vxp_agency_call *c = ud;
    struct gw_httpc *http = c->work.data; /* parked here until the answer */

    c->work.data = c;
    if (err == GW_EHTTP || err == GW_ETIMEDOUT) {
        const char *why = gw_httpc_fail_detail(http);
        snprintf(c->detail, sizeof(c->detail), "transport: %s", why ? why : gw_strerror(err));
        c->rc = GW_EHTTP;
    } else if (err != 0) {
        if (err == GW_E2BIG)
            snprintf(c->detail, sizeof(c->detail), "directory answer over its size cap");
        c->rc = err;
    } else if (status < 200 || status > 299) {
        snprintf(c->detail, sizeof(c->detail), "HTTP %ld", status);
        c->rc = gw_vxp_classify_status(status);
    } else if (len > GW_VXP_AGENCY_ASYNC && (c->body = gw_httpc_take_body(http)) != NULL) {
        c->body_len = len;
        if (uv_queue_work(c->loop, &c->work, gw_vxp_agency_work, gw_vxp_agency_after) == 0)
            return;
        gw_vxp_agency_work(&c->work); /* the pool refused: parse here */
    } else {
        c->rc = gw_vxp_agencies_parse(body, len, c->qd20, &c->rows, &c->n, c->detail,
                                      sizeof(c->detail));
    }
    gw_vxp_agency_complete(c);
}

int gw_vxp_list_agencies(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud)
{
    struct gw_vxp *st = state;
    struct gw_vxp_agency_call *c;
    struct gw_vxp_kv kv[] = {{"level", GW_VXP_QD20_LEVEL}};
    struct timespec now;
    char ts[GW_VXP_TS_LEN], *url = NULL, **signed_hdrs = NULL;
    const char *hdrs[GW_VXP_MAX_PAIRS + 8];
    size_t nh = 0;
    int rc;

    if (!st || !cb)
        return GW_EINVAL;
    if (!(c = calloc(1, sizeof(*c))))
        return GW_ENOMEM;
    c->cb = cb;
    c->ud = ud;
    c->qd20 = qd20;
    c->loop = gw_httpc_loop(st->http);
    clock_gettime(CLOCK_REALTIME, &now);
    rc = gw_vxp_timestamp(now.tv_sec, (unsigned)(now.tv_nsec / 1000000), ts);
    if (rc == 0)
        rc = gw_vxp_build_headers(st->systemid, st->secret, st->secret_len, ts, GW_VXP_CT_JSON, kv,
                                  qd20 ? 1 : 0, &signed_hdrs);
    if (rc == 0 && asprintf(&url, "%s%s", st->base_url,
                            qd20 ? "/getAgenciesListQD20" : "/getAgenciesList") < 0) {
        url = NULL;
        rc = GW_ENOMEM;
    }
    if (rc == 0) {
        for (size_t i = 0; signed_hdrs[i]; i++)
            hdrs[nh++] = signed_hdrs[i];
        hdrs[nh++] = "Expect:";
        hdrs[nh] = NULL;
        struct gw_httpc_request req = {
            .method = "POST",
            .url = url,
            .headers = hdrs,
            .body = NULL,
            .body_len = 0,
            .borrow_body = true,
            .timeout_ms = st->timeout_ms,
            .max_response_bytes =
                st->max_directory_bytes ? st->max_directory_bytes : GW_VXP_DEF_MAX_DIRECTORY,
            .tls = &st->tls,
        };
        c->work.data = st->http;
        rc = gw_httpc_request(st->http, &req, gw_vxp_agency_on_http, c);
    }
    free(url);
    gw_vxp_headers_free(signed_hdrs);
    if (rc != 0)
        free(c);
    return rc;
}
