/*
 * Turns the bytes collected by the request parser (http_parse.c) into a struct gw_http_req: one
 * allocation holding the request, its header array and all strings (decoded path, raw query,
 * lower-cased names, trimmed values), built as soon as the head is complete, plus the body buffer
 * handed over by the parser at the end (with its charge against the global body budget).
 */
#include "http/http_server_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Value of a field without surrounding blanks. */
const char *gw_http_trim(const char *s, size_t len, size_t *out_len)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    *out_len = len;
    return s;
}

static int gw_http_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes src into dst (NUL-terminated); rejects bad escapes and %00. */
static int gw_http_pct_decode(const char *src, size_t len, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '%') {
            int hi, lo;
            if (len - i < 3)
                return -1;
            hi = gw_http_hex(src[i + 1]);
            lo = gw_http_hex(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
    return 0;
}

static char *gw_http_copy_field(char *dst, const char *src, size_t len, bool lower)
{
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (lower)
            c = (char)tolower((unsigned char)c);
        else if (c == '\r' || c == '\n')
            c = ' '; /* obsolete line folding */
        dst[i] = c;
    }
    dst[len] = '\0';
    return dst + len + 1;
}

struct gw_http_req *gw_http_req_build(struct gw_http_pctx *pc, http_parser *p)
{
    struct http_parser_url u;
    const char *path = "/", *query = NULL;
    size_t path_len = 1, query_len = 0, size;
    struct gw_http_req_priv *rp;
    struct gw_http_req *req;
    char *s;

    if (pc->url_len == 0)
        return gw_http_pctx_fail(pc, 400, "malformed_http", "empty request target"), NULL;
    if (pc->url_len > GW_HTTP_MAX_URL)
        return gw_http_pctx_fail(pc, 414, "uri_too_long", "request target too long"), NULL;
    http_parser_url_init(&u);
    if (http_parser_parse_url(pc->head, pc->url_len, p->method == HTTP_CONNECT, &u) != 0)
        return gw_http_pctx_fail(pc, 400, "malformed_http", "invalid request target"), NULL;
    if (u.field_set & (1u << UF_PATH)) {
        path = pc->head + u.field_data[UF_PATH].off;
        path_len = u.field_data[UF_PATH].len;
    }
    if (u.field_set & (1u << UF_QUERY)) {
        query = pc->head + u.field_data[UF_QUERY].off;
        query_len = u.field_data[UF_QUERY].len;
    }
    size = sizeof(*rp) + pc->n_fields * sizeof(struct gw_http_header) + path_len + 1 +
           (query ? query_len + 1 : 0);
    for (size_t i = 0; i < pc->n_fields; i++)
        size += pc->fields[i].name_len + pc->fields[i].value_len + 2;
    rp = calloc(1, size);
    if (!rp)
        return gw_http_pctx_fail(pc, 500, "internal_error", "out of memory"), NULL;
    req = &rp->pub;
    req->headers = (struct gw_http_header *)(rp + 1);
    s = (char *)(req->headers + pc->n_fields);
    req->path = s;
    if (gw_http_pct_decode(path, path_len, s) != 0) {
        free(rp);
        return gw_http_pctx_fail(pc, 400, "malformed_http", "bad percent-encoding in path"), NULL;
    }
    s += strlen(s) + 1;
    if (query) {
        req->query = s;
        s = gw_http_copy_field(s, query, query_len, false);
    }
    for (size_t i = 0; i < pc->n_fields; i++) {
        const struct gw_http_field *f = &pc->fields[i];
        size_t vlen;
        const char *v = gw_http_trim(pc->head + f->value_off, f->value_len, &vlen);
        req->headers[i].name = s;
        s = gw_http_copy_field(s, pc->head + f->name_off, f->name_len, true);
        req->headers[i].value = s;
        s = gw_http_copy_field(s, v, vlen, false);
    }
    req->n_headers = pc->n_fields;
    req->method = http_method_str((enum http_method)p->method);
    req->keep_alive = http_should_keep_alive(p) != 0;
    req->has_body =
        (p->flags & F_CHUNKED) != 0 || ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > 0);
    rp->head_only = p->method == HTTP_HEAD;
    if (pc->peer_cert) {
        req->client_cert = true;
        memcpy(req->client_cert_sha256, pc->peer_cert, sizeof(req->client_cert_sha256));
    }
    return req;
}

void gw_http_req_take_body(struct gw_http_req *req, struct gw_http_pctx *pc)
{
    struct gw_http_req_priv *rp = gw_container_of(req, struct gw_http_req_priv, pub);

    if (!pc->body) {
        req->body = rp->empty_body;
        req->body_len = 0;
        return;
    }
    pc->body[pc->body_len] = 0;
    req->body = pc->body;
    req->body_len = pc->body_len;
    rp->body_owned = true;
    rp->budget = pc->budget;
    rp->charged = pc->body_cap;
    pc->body = NULL;
    pc->body_cap = 0;
    pc->body_len = 0;
}

void gw_http_req_free(struct gw_http_req *req)
{
    struct gw_http_req_priv *rp;

    if (!req)
        return;
    rp = gw_container_of(req, struct gw_http_req_priv, pub);
    if (rp->body_owned)
        free(req->body);
    if (rp->budget)
        rp->budget->used -= rp->charged;
    free(rp->extra);
    free(rp);
}

const char *gw_http_req_header(const struct gw_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}
