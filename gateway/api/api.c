/*
 * The northbound API object and its request routing: construction from the dependencies struct,
 * the head check (no body outside /v1/, bearer token on /v1/), method/path dispatch and the JSON
 * error convention shared by every endpoint. Handlers live in api_submit.c, api_read.c,
 * api_ops.c and api_metrics.c; who may do what in api_authz.c.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/error.h"
#include "util/log.h"

void gw_api_json(struct gw_http_req *req, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) {
        gw_http_respond_error(req, 500, "out_of_memory", "out of memory");
        return;
    }
    gw_http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

int gw_api_status_for(int err)
{
    switch (err) {
    case GW_EPARSE:
    case GW_EINVAL:
        return 400;
    case GW_EAUTH:
        return 401;
    case GW_ENOENT:
        return 404;
    case GW_ECONFLICT:
        return 409;
    case GW_E2BIG:
        return 413;
    case GW_ENOTEDXML:
    case GW_ENORCPT:
    case GW_ELIMIT:
    case GW_ERANGE:
        return 422;
    case GW_EDB:
    case GW_EAGAIN:
    case GW_ESHUTDOWN:
        return 503;
    default:
        return 500;
    }
}

void gw_api_unavailable(struct gw_http_req *req, const char *code, const char *message)
{
    gw_http_add_header(req, "Retry-After", "5");
    gw_http_respond_error(req, 503, code, message);
}

void gw_api_error(struct gw_http_req *req, int err, const char *message)
{
    int status = gw_api_status_for(err);
    if (!message)
        message = gw_strerror(err);
    if (status == 503)
        gw_api_unavailable(req, gw_errcode(err), message);
    else
        gw_http_respond_error(req, status, gw_errcode(err), message);
}

int64_t gw_api_parse_id(const char *s, size_t len)
{
    int64_t v = 0;
    if (len == 0 || len > 18)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > 0 ? v : -1;
}

static int gw_api_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gw_api_query_param(const char *query, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = query;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t seglen = end ? (size_t)(end - p) : strlen(p);
        if (seglen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t o = 0;
            for (size_t i = nlen + 1; i < seglen; i++) {
                char c = p[i];
                if (o + 1 >= outlen) {
                    out[0] = '\0';
                    return GW_E2BIG;
                }
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && i + 2 < seglen && gw_api_hexval(p[i + 1]) >= 0 &&
                           gw_api_hexval(p[i + 2]) >= 0) {
                    c = (char)(gw_api_hexval(p[i + 1]) * 16 + gw_api_hexval(p[i + 2]));
                    i += 2;
                }
                out[o++] = c;
            }
            out[o] = '\0';
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return GW_ENOENT;
}

/* Matches "/v1/<prefix>/<id>[/<suffix>]"; returns the id or -1. */
static int64_t gw_api_match_id(const char *path, const char *prefix, const char *suffix)
{
    size_t plen = strlen(prefix);
    const char *idp, *slash;
    size_t idlen;

    if (strncmp(path, prefix, plen) != 0)
        return -1;
    idp = path + plen;
    slash = strchr(idp, '/');
    if (!suffix) {
        if (slash)
            return -1;
        return gw_api_parse_id(idp, strlen(idp));
    }
    if (!slash || strcmp(slash, suffix) != 0)
        return -1;
    idlen = (size_t)(slash - idp);
    return gw_api_parse_id(idp, idlen);
}

static bool gw_api_method(struct gw_http_req *req, const char *want)
{
    if (strcmp(req->method, want) == 0)
        return true;
    gw_http_add_header(req, "Allow", want);
    gw_http_respond_error(req, 405, "method_not_allowed", "method not allowed for this path");
    return false;
}

static bool gw_api_is_v1(const char *path)
{
    return strncmp(path, "/v1/", 4) == 0;
}

int gw_api_head_check(const struct gw_http_req *req, void *ud, const char **code,
                      const char **message)
{
    const struct gw_api *api = ud;

    if (!gw_api_is_v1(req->path)) {
        /* Anonymous endpoints never read a body: refused here, nothing is buffered or charged
         * to the shared body budget. */
        if (!req->has_body)
            return 0;
        *code = "body_not_allowed";
        *message = "only /v1/ requests may carry a body";
        return 413;
    }
    if (gw_auth_identify(api->auth, api->n_clients,
                         req->client_cert ? req->client_cert_sha256 : NULL,
                         gw_http_req_header(req, "authorization")) >= 0) {
        /* a paper-copy record is small: a larger announced body is refused before it is read */
        const char *cl = gw_http_req_header(req, "content-length");
        size_t plen = strlen(req->path);
        if (cl && plen > 11 && strcmp(req->path + plen - 11, "/paper-copy") == 0 &&
            strtoull(cl, NULL, 10) > GW_PAPER_BODY_MAX) {
            *code = "too_large";
            *message = "a paper-copy record is at most 16 KiB of JSON";
            return 413;
        }
        return GW_HTTP_HEAD_KNOWN;
    }
    *code = "unauthorized";
    *message = "missing or invalid bearer token";
    return 401;
}

bool gw_api_stream_check(const struct gw_http_req *req, void *ud)
{
    (void)ud;
    return req->has_body && strcmp(req->method, "POST") == 0 &&
           strcmp(req->path, "/v1/packages") == 0;
}

void gw_api_work_begin(struct gw_api *api)
{
    api->deps.work_begin(api->deps.ud);
}

void gw_api_work_end(struct gw_api *api)
{
    api->deps.work_end(api->deps.ud);
}

bool gw_api_ready_get(struct gw_api *api, struct gw_api_ready *r)
{
    bool any_axis = false;

    memset(r, 0, sizeof(*r));
    api->deps.ready(api->deps.ud, r);
    if (r->n_axes > GW_API_READY_MAX_AXES)
        r->n_axes = GW_API_READY_MAX_AXES;
    for (size_t i = 0; i < r->n_axes; i++)
        any_axis = any_axis || r->axes[i].ok;
    return r->database && !r->draining && any_axis;
}

int gw_api_new(const struct gw_api_deps *deps, struct gw_api **out)
{
    struct gw_api *api;
    int rc;

    *out = NULL;
    if (!deps->loop || !deps->db || !deps->metrics || !deps->clients || deps->n_clients == 0 ||
        !deps->organ_ids || deps->n_organ_ids == 0 || !deps->ready || !deps->work_begin ||
        !deps->work_end || deps->n_clients > INT32_MAX)
        return GW_EINVAL;
    api = calloc(1, sizeof(*api));
    if (!api)
        return GW_ENOMEM;
    api->deps = *deps;
    api->started_ms = uv_now(deps->loop);
    rc = gw_api_clients_init(api);
    if (rc == 0)
        rc = gw_api_metrics_init(api);
    if (rc != 0) {
        gw_api_free(api);
        return rc;
    }
    *out = api;
    return 0;
}

void gw_api_free(struct gw_api *api)
{
    if (!api)
        return;
    gw_api_metrics_free(api);
    gw_api_clients_free(api);
    free(api);
}

static void gw_api_route_v1(struct gw_api *api, struct gw_http_req *req,
                            const struct gw_api_client *c)
{
    const char *path = req->path;
    int64_t id;

    if (strcmp(path, "/v1/packages") == 0) {
        if (gw_api_method(req, "POST"))
            gw_api_submit(api, req, c);
    } else if ((id = gw_api_match_id(path, "/v1/packages/", NULL)) > 0) {
        if (gw_api_method(req, "GET"))
            gw_api_get_package(api, req, id, c);
    } else if ((id = gw_api_match_id(path, "/v1/packages/", "/content")) > 0) {
        if (gw_api_method(req, "GET"))
            gw_api_get_content(api, req, id, c);
    } else if ((id = gw_api_match_id(path, "/v1/packages/", "/paper-copy")) > 0) {
        if (gw_api_method(req, "POST"))
            gw_api_paper_copy(api, req, id, c);
    } else if (strcmp(path, "/v1/inbox") == 0) {
        if (gw_api_method(req, "GET"))
            gw_api_inbox(api, req, c);
    } else if ((id = gw_api_match_id(path, "/v1/inbox/", "/ack")) > 0) {
        if (gw_api_method(req, "POST"))
            gw_api_inbox_ack(api, req, id, c);
    } else {
        gw_http_respond_error(req, 404, "not_found", "no such endpoint");
    }
}

void gw_api_handle(struct gw_http_req *req, void *ud)
{
    struct gw_api *api = ud;
    const char *path = req->path;
    int client;

    gw_metric_inc(api->m.http_requests);
    if (!gw_api_is_v1(path) && req->body_len > 0) {
        /* Only without the head check (which refuses these before the body is read). */
        gw_http_respond_error(req, 413, "body_not_allowed", "only /v1/ requests may carry a body");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        gw_api_healthz(api, req);
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        gw_api_readyz(api, req);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        gw_api_metrics(api, req);
        return;
    }
    if (!gw_api_is_v1(path)) {
        gw_http_respond_error(req, 404, "not_found", "no such endpoint");
        return;
    }
    client = gw_auth_identify(api->auth, api->n_clients,
                              req->client_cert ? req->client_cert_sha256 : NULL,
                              gw_http_req_header(req, "authorization"));
    if (client < 0) {
        gw_http_add_header(req, "WWW-Authenticate", "Bearer");
        gw_api_error(req, GW_EAUTH, "missing or invalid bearer token");
        return;
    }
    gw_api_route_v1(api, req, &api->clients[client]);
}
