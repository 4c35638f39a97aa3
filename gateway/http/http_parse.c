/*
 * HTTP/1.1 request parser on top of http-parser: collects the head and body of one request at a
 * time, enforces the header-size, header-count and body limits, and builds struct gw_http_req.
 * (http_req.c turns the collected bytes into the request.) It does no I/O, so the connection code
 * and the fuzz entry point (gw_http_parse_for_test) run exactly the same callbacks and checks.
 */
#include "http/http_server_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gw_http_pctx_fail(struct gw_http_pctx *pc, int status, const char *code, const char *msg)
{
    if (!pc->err_status) {
        pc->err_status = status;
        pc->err_code = code;
        pc->err_msg = msg;
        /* Headers some statuses require or invite (RFC 9110): the first error decides. */
        if (status == 401)
            pc->err_extra = "WWW-Authenticate: Bearer\r\n";
        else if (status == 503)
            pc->err_extra = GW_HTTP_RETRY_AFTER;
    }
    return -1;
}

static int gw_http_too_large(struct gw_http_pctx *pc, const char *msg)
{
    return gw_http_pctx_fail(pc, 431, "headers_too_large", msg);
}

static int gw_http_head_append(struct gw_http_pctx *pc, const char *at, size_t len)
{
    size_t need = pc->head_len + len;

    if (len == 0)
        return 0;
    if (need > pc->limits.max_header_bytes)
        return gw_http_too_large(pc, "request head exceeds the limit");
    if (need > pc->head_cap) {
        size_t cap = pc->head_cap ? pc->head_cap * 2 : 256;
        char *p;
        while (cap < need)
            cap *= 2;
        if (cap > pc->limits.max_header_bytes)
            cap = pc->limits.max_header_bytes;
        p = realloc(pc->head, cap);
        if (!p)
            return gw_http_pctx_fail(pc, 500, "internal_error", "out of memory");
        pc->head = p;
        pc->head_cap = cap;
    }
    memcpy(pc->head + pc->head_len, at, len);
    pc->head_len = need;
    return 0;
}

int gw_http_pctx_busy(struct gw_http_pctx *pc)
{
    return gw_http_pctx_fail(pc, 503, "server_busy", "too many request bodies in progress");
}

/* Frees the body buffer of the request being parsed and returns its charge to the budget. */
void gw_http_pctx_drop_body(struct gw_http_pctx *pc)
{
    if (pc->budget)
        pc->budget->used -= pc->body_cap;
    free(pc->body);
    pc->body = NULL;
    pc->body_len = 0;
    pc->body_cap = 0;
}

/* Whether n more body bytes fit in what is left of the global budget. */
static bool gw_http_budget_fits(const struct gw_http_pctx *pc, uint64_t n)
{
    const struct gw_http_budget *b = pc->budget;
    return !b || b->limit == 0 || n <= b->limit - b->used;
}

static int gw_http_trailer(struct gw_http_pctx *pc, size_t len)
{
    pc->trailer_bytes += len;
    if (pc->trailer_bytes > pc->limits.max_header_bytes)
        return gw_http_too_large(pc, "chunked trailer exceeds the header limit");
    return 0;
}

static int gw_http_on_message_begin(http_parser *p)
{
    struct gw_http_pctx *pc = p->data;

    pc->head_len = 0;
    pc->url_len = 0;
    pc->n_fields = 0;
    pc->in_value = false;
    pc->headers_done = false;
    pc->expect_continue = false;
    pc->trailer_bytes = 0;
    gw_http_req_free(pc->building);
    pc->building = NULL;
    gw_http_pctx_drop_body(pc);
    pc->body_announced = UINT64_MAX;
    pc->streaming = false;
    pc->stream_done = false;
    pc->body_total = 0;
    if (pc->on_phase)
        pc->on_phase(pc, GW_HTTP_PHASE_HEAD);
    return 0;
}

static int gw_http_on_url(http_parser *p, const char *at, size_t len)
{
    struct gw_http_pctx *pc = p->data;

    if (pc->n_fields > 0 || pc->headers_done)
        return gw_http_pctx_fail(pc, 400, "malformed_http", "unexpected request target");
    if (gw_http_head_append(pc, at, len) != 0)
        return -1;
    pc->url_len += len;
    return 0;
}

static int gw_http_on_header_field(http_parser *p, const char *at, size_t len)
{
    struct gw_http_pctx *pc = p->data;

    if (pc->headers_done)
        return gw_http_trailer(pc, len);
    if (pc->n_fields == 0 || pc->in_value) {
        struct gw_http_field *f;
        if (pc->n_fields >= pc->limits.max_headers)
            return gw_http_too_large(pc, "too many header fields");
        if (pc->n_fields == pc->fields_cap) {
            size_t cap = pc->fields_cap ? pc->fields_cap * 2 : 16;
            if (cap > pc->limits.max_headers)
                cap = pc->limits.max_headers;
            f = realloc(pc->fields, cap * sizeof(*f));
            if (!f)
                return gw_http_pctx_fail(pc, 500, "internal_error", "out of memory");
            pc->fields = f;
            pc->fields_cap = cap;
        }
        f = &pc->fields[pc->n_fields++];
        f->name_off = pc->head_len;
        f->name_len = 0;
        f->value_off = pc->head_len;
        f->value_len = 0;
        pc->in_value = false;
    }
    if (gw_http_head_append(pc, at, len) != 0)
        return -1;
    pc->fields[pc->n_fields - 1].name_len += len;
    return 0;
}

static int gw_http_on_header_value(http_parser *p, const char *at, size_t len)
{
    struct gw_http_pctx *pc = p->data;
    struct gw_http_field *f;

    if (pc->headers_done)
        return gw_http_trailer(pc, len);
    if (pc->n_fields == 0)
        return gw_http_pctx_fail(pc, 400, "malformed_http", "header value without a name");
    f = &pc->fields[pc->n_fields - 1];
    if (!pc->in_value) {
        pc->in_value = true;
        f->value_off = pc->head_len;
        f->value_len = 0;
    }
    if (gw_http_head_append(pc, at, len) != 0)
        return -1;
    f->value_len += len;
    return 0;
}

/* Counts fields called name; *last is the last one. */
static size_t gw_http_find(const struct gw_http_pctx *pc, const char *name,
                           const struct gw_http_field **last)
{
    size_t n = 0, nlen = strlen(name);

    for (size_t i = 0; i < pc->n_fields; i++) {
        const struct gw_http_field *f = &pc->fields[i];
        if (f->name_len == nlen && strncasecmp(pc->head + f->name_off, name, nlen) == 0) {
            *last = f;
            n++;
        }
    }
    return n;
}

static bool gw_http_value_is(const struct gw_http_pctx *pc, const struct gw_http_field *f,
                             const char *want)
{
    size_t len;
    const char *v = gw_http_trim(pc->head + f->value_off, f->value_len, &len);
    return len == strlen(want) && strncasecmp(v, want, len) == 0;
}

/* End of a streaming request's head: a fixed chunk buffer (charged to the budget), and the
 * request handed out now; the parser pauses so that no body byte is parsed before dispatch. */
static int gw_http_stream_head(struct gw_http_pctx *pc, http_parser *p)
{
    size_t cap = GW_HTTP_STREAM_CHUNK;

    if (pc->body_announced < cap)
        cap = pc->body_announced ? (size_t)pc->body_announced : 1;
    if (!gw_http_budget_fits(pc, cap))
        return gw_http_pctx_busy(pc);
    pc->body = malloc(cap);
    if (!pc->body)
        return gw_http_pctx_fail(pc, 500, "internal_error", "out of memory");
    if (pc->budget)
        pc->budget->used += cap;
    pc->body_cap = cap;
    pc->body_len = 0;
    pc->building->streaming = true;
    if (pc->on_phase)
        pc->on_phase(pc, GW_HTTP_PHASE_BODY);
    pc->ready = pc->building;
    pc->building = NULL;
    http_parser_pause(p, 1);
    return 0;
}

static int gw_http_on_headers_complete(http_parser *p)
{
    struct gw_http_pctx *pc = p->data;
    const struct gw_http_field *f = NULL;
    bool has_len = (p->flags & F_CONTENTLENGTH) != 0;
    size_t n;

    pc->headers_done = true;
    if (p->http_major != 1)
        return gw_http_pctx_fail(pc, 505, "http_version_not_supported",
                                 "only HTTP/1.x is supported");
    if (p->upgrade)
        return gw_http_pctx_fail(pc, 501, "upgrade_not_supported",
                                 "protocol upgrade and CONNECT are not supported");
    n = gw_http_find(pc, "transfer-encoding", &f);
    if (n > 1 || (n == 1 && !gw_http_value_is(pc, f, "chunked")))
        return gw_http_pctx_fail(pc, 501, "unsupported_transfer_encoding",
                                 "only Transfer-Encoding: chunked is supported");
    n = gw_http_find(pc, "host", &f);
    if (n > 1 || (n == 0 && p->http_minor >= 1))
        return gw_http_pctx_fail(pc, 400, "malformed_http", "missing or repeated Host header");
    if (has_len && p->content_length > pc->limits.max_body_bytes)
        return gw_http_pctx_fail(pc, 413, "payload_too_large", "request body exceeds the limit");
    n = gw_http_find(pc, "expect", &f);
    if (n > 0) {
        if (n > 1 || !gw_http_value_is(pc, f, "100-continue"))
            return gw_http_pctx_fail(pc, 417, "expectation_failed", "unsupported Expect header");
        pc->expect_continue =
            p->http_minor >= 1 && ((p->flags & F_CHUNKED) || (has_len && p->content_length > 0));
    }
    if (has_len)
        pc->body_announced = p->content_length;
    pc->building = gw_http_req_build(pc, p);
    if (!pc->building)
        return -1;
    if (pc->on_head && pc->on_head(pc, pc->building) != 0)
        return gw_http_pctx_fail(pc, 500, "internal_error", "request rejected");
    if (pc->streaming)
        return gw_http_stream_head(pc, p);
    /* Reject now what could not be buffered, but charge only what actually arrives. */
    if (has_len && p->content_length > 0 && !gw_http_budget_fits(pc, p->content_length + 1))
        return gw_http_pctx_busy(pc);
    if (pc->on_phase)
        pc->on_phase(pc, GW_HTTP_PHASE_BODY);
    return 0;
}

static int gw_http_on_body(http_parser *p, const char *at, size_t len)
{
    struct gw_http_pctx *pc = p->data;
    size_t need;

    if (pc->streaming) {
        if (len > pc->limits.max_body_bytes - pc->body_total)
            return gw_http_pctx_fail(pc, 413, "payload_too_large",
                                     "request body exceeds the limit");
        if (len > pc->body_cap - pc->body_len) /* feed never gives more raw bytes than room */
            return gw_http_pctx_fail(pc, 500, "internal_error", "stream buffer overrun");
        memcpy(pc->body + pc->body_len, at, len);
        pc->body_len += len;
        pc->body_total += len;
        return 0;
    }

    if (len > pc->limits.max_body_bytes - pc->body_len)
        return gw_http_pctx_fail(pc, 413, "payload_too_large", "request body exceeds the limit");
    need = pc->body_len + len + 1;
    if (need > pc->body_cap) {
        size_t cap = pc->body_cap ? pc->body_cap * 2 : GW_HTTP_BODY_MIN;
        uint8_t *b;
        while (cap < need)
            cap *= 2;
        if (cap > pc->limits.max_body_bytes + 1)
            cap = pc->limits.max_body_bytes + 1;
        if (pc->body_announced < cap - 1) /* http-parser never delivers more than announced */
            cap = (size_t)pc->body_announced + 1;
        if (!gw_http_budget_fits(pc, cap - pc->body_cap))
            return gw_http_pctx_busy(pc);
        b = realloc(pc->body, cap);
        if (!b)
            return gw_http_pctx_fail(pc, 500, "internal_error", "out of memory");
        if (pc->budget)
            pc->budget->used += cap - pc->body_cap;
        pc->body = b;
        pc->body_cap = cap;
    }
    memcpy(pc->body + pc->body_len, at, len);
    pc->body_len += len;
    return 0;
}

static int gw_http_on_message_complete(http_parser *p)
{
    struct gw_http_pctx *pc = p->data;
    struct gw_http_req *req = pc->building;

    if (pc->streaming) { /* handed out at the head; the connection ends the stream */
        pc->stream_done = true;
        pc->headers_done = false;
        pc->head_raw = 0;
        if (!http_should_keep_alive(p))
            pc->closed = true;
        http_parser_pause(p, 1);
        return 0;
    }
    if (!req) /* cannot happen: headers_complete built it or failed */
        return gw_http_pctx_fail(pc, 400, "malformed_http", "message without a head");
    pc->building = NULL;
    gw_http_req_take_body(req, pc);
    pc->ready = req;
    pc->headers_done = false;
    pc->head_raw = 0;
    if (!req->keep_alive)
        pc->closed = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings gw_http_settings = {
    .on_message_begin = gw_http_on_message_begin,
    .on_url = gw_http_on_url,
    .on_header_field = gw_http_on_header_field,
    .on_header_value = gw_http_on_header_value,
    .on_headers_complete = gw_http_on_headers_complete,
    .on_body = gw_http_on_body,
    .on_message_complete = gw_http_on_message_complete,
};

void gw_http_pctx_init(struct gw_http_pctx *pc, const struct gw_http_limits *limits)
{
    memset(pc, 0, sizeof(*pc));
    pc->limits = *limits;
    pc->body_announced = UINT64_MAX;
    http_parser_init(&pc->parser, HTTP_REQUEST);
    pc->parser.data = pc;
}

void gw_http_pctx_free(struct gw_http_pctx *pc)
{
    free(pc->head);
    free(pc->fields);
    gw_http_pctx_drop_body(pc);
    gw_http_req_free(pc->building);
    gw_http_req_free(pc->ready);
    pc->head = NULL;
    pc->fields = NULL;
    pc->building = NULL;
    pc->ready = NULL;
}

static void gw_http_fail_parser(struct gw_http_pctx *pc, enum http_errno e)
{
    if (e == HPE_HEADER_OVERFLOW)
        gw_http_too_large(pc, "request head exceeds the limit");
    else if (e == HPE_INVALID_TRANSFER_ENCODING)
        gw_http_pctx_fail(pc, 501, "unsupported_transfer_encoding",
                          "only Transfer-Encoding: chunked is supported");
    else
        gw_http_pctx_fail(pc, 400, "malformed_http", http_errno_description(e));
}

size_t gw_http_pctx_feed(struct gw_http_pctx *pc, const char *data, size_t len)
{
    size_t used = 0;

    while (used < len && !pc->ready && !pc->err_status && !pc->closed) {
        size_t chunk = len - used, n;
        bool in_head = !pc->headers_done, paused = false;
        enum http_errno e;

        /* Feed the head in slices so that its raw size is known exactly. */
        if (in_head && chunk > pc->limits.max_header_bytes - pc->head_raw)
            chunk = pc->limits.max_header_bytes - pc->head_raw;
        /* A streamed body: no more raw bytes than the chunk buffer has room for decoded ones. */
        if (pc->streaming && !in_head && !pc->stream_done) {
            if (pc->body_len >= pc->body_cap)
                break;
            if (chunk > pc->body_cap - pc->body_len)
                chunk = pc->body_cap - pc->body_len;
        }
        if (pc->streaming && pc->stream_done)
            break; /* the connection resets the parser state with the next request */
        n = http_parser_execute(&pc->parser, &gw_http_settings, data + used, chunk);
        used += n;
        e = HTTP_PARSER_ERRNO(&pc->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&pc->parser, 0);
            paused = true;
        } else if (e != HPE_OK) {
            gw_http_fail_parser(pc, e);
            break;
        }
        if (pc->ready || paused)
            break;
        if (n < chunk) {
            gw_http_pctx_fail(pc, 400, "malformed_http", "parser stopped unexpectedly");
            break;
        }
        if (in_head && !pc->headers_done) {
            pc->head_raw += n;
            if (pc->head_raw >= pc->limits.max_header_bytes) {
                gw_http_too_large(pc, "request head exceeds the limit");
                break;
            }
        }
    }
    return used;
}

struct gw_http_req *gw_http_pctx_take(struct gw_http_pctx *pc)
{
    struct gw_http_req *req = pc->ready;
    pc->ready = NULL;
    return req;
}
