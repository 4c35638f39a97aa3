/*
 * Request routing for the northbound API: authentication, method/path dispatch and the JSON error
 * convention shared by every endpoint. Handlers live in api_submit.c, api_read.c and api_ops.c.
 */
#include "api/api.h"

#include <stdio.h>
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
        return 422;
    case GW_EDB:
    case GW_EAGAIN:
    case GW_ESHUTDOWN:
        return 503;
    default:
        return 500;
    }
}

void gw_api_error(struct gw_http_req *req, int err, const char *message)
{
    int status = gw_api_status_for(err);
    if (status == 503)
        gw_http_add_header(req, "Retry-After", "5");
    gw_http_respond_error(req, status, gw_errcode(err), message ? message : gw_strerror(err));
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

int gw_api_head_check(const struct gw_http_req *req, void *ud, const char **code,
                      const char **message)
{
    const struct gw_app *app = ud;

    if (strncmp(req->path, "/v1/", 4) != 0)
        return 0;
    if (gw_auth_check(app->clients, app->n_clients, gw_http_req_header(req, "authorization")) >= 0)
        return 0;
    *code = "unauthorized";
    *message = "missing or invalid bearer token";
    return 401;
}

void gw_api_handle(struct gw_http_req *req, void *ud)
{
    struct gw_app *app = ud;
    const char *path = req->path;
    int client;
    int64_t id;

    app->stats.http_requests++;
    if (strcmp(path, "/healthz") == 0) {
        gw_api_healthz(app, req);
        return;
    }
    if (strcmp(path, "/readyz") == 0) {
        gw_api_readyz(app, req);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        gw_api_metrics(app, req);
        return;
    }
    if (strncmp(path, "/v1/", 4) != 0) {
        gw_http_respond_error(req, 404, "not_found", "no such endpoint");
        return;
    }
    client = gw_auth_check(app->clients, app->n_clients, gw_http_req_header(req, "authorization"));
    if (client < 0) {
        gw_http_add_header(req, "WWW-Authenticate", "Bearer");
        gw_api_error(req, GW_EAUTH, "missing or invalid bearer token");
        return;
    }
    if (strcmp(path, "/v1/packages") == 0) {
        if (gw_api_method(req, "POST"))
            gw_api_submit(app, req, client);
    } else if ((id = gw_api_match_id(path, "/v1/packages/", NULL)) > 0) {
        if (gw_api_method(req, "GET"))
            gw_api_get_package(app, req, id);
    } else if ((id = gw_api_match_id(path, "/v1/packages/", "/content")) > 0) {
        if (gw_api_method(req, "GET"))
            gw_api_get_content(app, req, id);
    } else if (strcmp(path, "/v1/inbox") == 0) {
        if (gw_api_method(req, "GET"))
            gw_api_inbox(app, req);
    } else if ((id = gw_api_match_id(path, "/v1/inbox/", "/ack")) > 0) {
        if (gw_api_method(req, "POST"))
            gw_api_inbox_ack(app, req, id, client);
    } else {
        gw_http_respond_error(req, 404, "not_found", "no such endpoint");
    }
}
