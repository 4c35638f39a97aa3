/*
 * National axis adapter: struct gw_axis_ops over the shared HTTP client. Each operation is one
 * POST signed as the vendor's SDK signs it (vxp_sign.c, domain.md §5) with the SDK's body (edXML +
 * CRLF, "{}" or empty); its JSON answer is read and classified by vxp_resp.c. The package travels
 * streamed both ways, in bounded memory: sendEdoc pulls it from its struct gw_axis_body (the
 * shared gw_axis_upload of engine/axis.h); getEdoc's answer, the package base64-encoded inside
 * JSON, is scanned and decoded piece by piece into the caller's struct gw_axis_sink
 * (vxp_fetch.c). Other answers over 64 KiB (long lists) are taken over from the HTTP client
 * without a copy and parsed in one job on the libuv thread pool, so the loop never runs jansson
 * over megabytes.
 */
#include "vxp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/common.h"
#include "util/error.h"
#include "util/log.h"
#include "vxp_internal.h"
#include "vxp_sign.h"

#define GW_VXP_DEF_MAX_PKG (64u * 1024 * 1024)
#define GW_VXP_MAX_RESP    (8u * 1024 * 1024)
#define GW_VXP_MAX_SECRET  4096
#define GW_VXP_SECRET_LEN  44           /* as the axis issues them */
#define GW_VXP_ASYNC_BYTES (64u * 1024) /* answers larger than this are read off the loop */

enum gw_vxp_op { GW_VXP_SEND, GW_VXP_LIST, GW_VXP_FETCH, GW_VXP_ACK };

/*
 * One call in flight. Self-contained (it never points at struct gw_vxp), so it outlives
 * gw_vxp_destroy() and, once its answer is on the thread pool, gw_httpc_close() too.
 */
struct gw_vxp_call {
    enum gw_vxp_op op;
    union {
        gw_axis_send_cb send;
        gw_axis_list_cb list;
        gw_axis_fetch_cb fetch;
        gw_axis_ack_cb ack;
    } cb;
    void *ud;
    struct gw_httpc *http; /* used only inside its own HTTP callback */
    uv_loop_t *loop;
    size_t max_package_bytes;
    struct gw_axis_upload *up; /* send: the streamed body */
    struct gw_vxp_fetch *fx;   /* fetch: the streamed answer */
    uv_timer_t later;          /* runs the callback once a paused sink or pending read is done */
    /* The digested answer (gw_vxp_digest), read by gw_vxp_complete() on the loop. */
    uv_work_t work;
    char *body; /* response body taken from the HTTP client for the thread pool */
    size_t body_len;
    int rc;
    char detail[GW_VXP_DETAIL_LEN]; /* "" = no detail */
    char id[GW_VXP_MAX_ID + 1];     /* send */
    struct gw_axis_item *items;     /* list */
    size_t n_items;
};

static void gw_vxp_fail(struct gw_vxp_call *call, int err, const char *detail)
{
    switch (call->op) {
    case GW_VXP_SEND:
        call->cb.send(err, NULL, detail, call->ud);
        break;
    case GW_VXP_LIST:
        call->cb.list(err, NULL, 0, NULL, detail, call->ud);
        break;
    case GW_VXP_FETCH:
        call->cb.fetch(err, detail, call->ud);
        break;
    case GW_VXP_ACK:
        call->cb.ack(err, detail, call->ud);
        break;
    }
}

static void gw_vxp_call_free(struct gw_vxp_call *call)
{
    gw_axis_upload_free(call->up);
    gw_vxp_fetch_free(call->fx);
    free(call->body);
    gw_vxp_items_free(call->items, call->n_items);
    free(call);
}

/*
 * Reads a 2xx answer into call->rc/detail and the op's result. Touches nothing but the call, so
 * it runs on the loop for small answers and on the thread pool for large ones; the JSON tree is
 * built and freed here either way.
 */
static void gw_vxp_digest(struct gw_vxp_call *call, const char *body, size_t len)
{
    static const char *const docid_names[] = {"DocId", "docId", "docid", NULL};
    json_t *root = NULL;
    int rc = gw_vxp_resp_parse(body, len, &root, call->detail, sizeof(call->detail));

    if (body == call->body) {
        /* Thread-pool path: the tree holds a copy now, so the raw answer goes before decoding. */
        free(call->body);
        call->body = NULL;
    }
    if (rc == 0) {
        switch (call->op) {
        case GW_VXP_SEND:
            if (gw_vxp_resp_id(root, docid_names, call->id) != 0) {
                /* OK without an id: the peer's fault, and maybe stored (retried as transport) */
                snprintf(call->detail, sizeof(call->detail), "response without a usable DocId");
                rc = GW_EHTTP;
            }
            break;
        case GW_VXP_LIST:
            rc = gw_vxp_resp_items(root, &call->items, &call->n_items);
            if (rc == GW_EAXIS) {
                snprintf(call->detail, sizeof(call->detail), "data is not an array");
                rc = GW_EHTTP; /* a malformed list says nothing about any package */
            }
            break;
        case GW_VXP_FETCH: /* streamed: never digested */
        case GW_VXP_ACK:
            break;
        }
    }
    json_decref(root);
    call->rc = rc;
}

/* Runs the user's callback exactly once and frees the call (on the loop). */
static void gw_vxp_complete(struct gw_vxp_call *call)
{
    if (call->rc != 0) {
        gw_vxp_fail(call, call->rc, call->detail[0] ? call->detail : NULL);
    } else {
        switch (call->op) {
        case GW_VXP_SEND:
            call->cb.send(0, call->id, NULL, call->ud);
            break;
        case GW_VXP_LIST:
            call->cb.list(0, call->items, call->n_items, NULL, NULL, call->ud);
            break;
        case GW_VXP_FETCH:
            call->cb.fetch(0, NULL, call->ud);
            break;
        case GW_VXP_ACK:
            call->cb.ack(0, NULL, call->ud);
            break;
        }
    }
    gw_vxp_call_free(call);
}

static void gw_vxp_digest_work(uv_work_t *w)
{
    struct gw_vxp_call *call = w->data;

    gw_vxp_digest(call, call->body, call->body_len); /* frees the body on this worker */
}

static void gw_vxp_finish(struct gw_vxp_call *call);

static void gw_vxp_digest_after(uv_work_t *w, int status)
{
    struct gw_vxp_call *call = w->data;

    if (status == UV_ECANCELED) { /* never started: nothing was digested */
        call->rc = GW_ECANCELED;
        call->detail[0] = '\0';
    }
    gw_vxp_finish(call); /* as a small answer's: a body read still pending is waited for */
}

/* Hands a large answer to the thread pool; returns 1 if the pool owns the call now. */
static int gw_vxp_offload(struct gw_vxp_call *call, struct gw_httpc *http, size_t len)
{
    call->body = gw_httpc_take_body(http);
    if (!call->body)
        return 0; /* out of memory: read it on the loop */
    call->body_len = len;
    call->work.data = call;
    if (uv_queue_work(call->loop, &call->work, gw_vxp_digest_work, gw_vxp_digest_after) == 0)
        return 1;
    /* call->body is still the callback's body: it is read on the loop and freed with the call. */
    return 0;
}

/* "HTTP <status>", plus the axis's ErrorDesc (or the start of the body) when it gave one. */
static void gw_vxp_status_detail(struct gw_vxp_call *call, long status, const char *body,
                                 size_t len)
{
    json_t *root = NULL;
    char text[GW_VXP_DETAIL_LEN] = "";

    if (len > 0 && len <= GW_VXP_ASYNC_BYTES &&
        gw_vxp_resp_parse(body, len, &root, text, sizeof(text)) == 0)
        text[0] = '\0'; /* an OK envelope with an error status: nothing to add */
    json_decref(root);
    if (text[0] && strncmp(text, "unparsable", 10) != 0)
        snprintf(call->detail, sizeof(call->detail), "HTTP %ld: %s", status, text);
    else
        snprintf(call->detail, sizeof(call->detail), "HTTP %ld", status);
}

static void gw_vxp_later_closed(uv_handle_t *h)
{
    gw_vxp_complete(h->data);
}

static void gw_vxp_later_fire(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, gw_vxp_later_closed);
}

/* The sink resumed, or the pending body read ended: the callback runs on the next iteration, not
 * from inside the sink's resume or the body's done. */
static void gw_vxp_complete_later(void *ud)
{
    struct gw_vxp_call *call = ud;

    uv_timer_init(call->loop, &call->later);
    call->later.data = call;
    uv_timer_start(&call->later, gw_vxp_later_fire, 0, 0);
}

/* The HTTP transfer is over: the callback now, or once the body/sink is done with its part. */
static void gw_vxp_finish(struct gw_vxp_call *call)
{
    if (call->up && gw_axis_upload_busy(call->up, gw_vxp_complete_later, call))
        return;
    if (call->fx && gw_vxp_fetch_paused(call->fx, gw_vxp_complete_later, call))
        return;
    gw_vxp_complete(call);
}

/* A transport failure: the HTTP client's reason (tls_verify_failed, timeout, ...) when it has
 * one, so that logs and the peer's health say why. */
static void gw_vxp_transport_detail(struct gw_vxp_call *call, int err, const char *why)
{
    if (why)
        snprintf(call->detail, sizeof(call->detail), "transport: %s", why);
    else
        snprintf(call->detail, sizeof(call->detail), "transport: %s", gw_strerror(err));
}

/* A streamed getEdoc answer is over: its outcome. */
static void gw_vxp_fetch_outcome(struct gw_vxp_call *call, int err, long status, const char *why)
{
    size_t elen;
    const char *ebody;

    if (err == 0 && (status < 200 || status > 299)) {
        ebody = gw_vxp_fetch_errbody(call->fx, &elen);
        gw_vxp_status_detail(call, status, ebody, elen);
        call->rc = gw_vxp_classify_status(status);
    } else if (err == 0 || gw_vxp_fetch_aborted(call->fx)) {
        /* the whole answer's verdict, or our own abort (over max_package_bytes, not JSON, the
         * sink's code) */
        call->rc = gw_vxp_fetch_verdict(call->fx, call->detail, sizeof(call->detail));
    } else if (err == GW_EHTTP || err == GW_ETIMEDOUT) {
        gw_vxp_transport_detail(call, err, why);
        call->rc = GW_EHTTP;
    } else {
        call->rc = err; /* GW_E2BIG (answer over its cap), GW_ECANCELED, GW_ENOMEM */
    }
}

static void gw_vxp_on_http(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_vxp_call *call = ud;
    struct gw_httpc *http = call->http;

    call->http = NULL; /* the client may be closed once this callback returns */
    if (call->fx) {
        gw_vxp_fetch_outcome(call, err, status, err ? gw_httpc_fail_detail(http) : NULL);
    } else if (err == GW_EHTTP || err == GW_ETIMEDOUT) {
        gw_vxp_transport_detail(call, err, gw_httpc_fail_detail(http));
        call->rc = GW_EHTTP;
    } else if (err != 0) {
        call->rc = err; /* GW_E2BIG (answer over its cap), GW_ECANCELED, GW_ENOMEM */
    } else if (status < 200 || status > 299) {
        gw_vxp_status_detail(call, status, body, len);
        call->rc = gw_vxp_classify_status(status);
    } else if (len > GW_VXP_ASYNC_BYTES && gw_vxp_offload(call, http, len)) {
        return;
    } else {
        gw_vxp_digest(call, body, len);
    }
    gw_vxp_finish(call);
}

/* One signed POST; body/len is lent to the HTTP client (static); a send's body is streamed from
 * call->up, a fetch's answer into call->fx. */
static int gw_vxp_post(struct gw_vxp *st, struct gw_vxp_call *call, const char *path,
                       const char *content_type, const struct gw_vxp_kv *kv, size_t n_kv,
                       const void *body, size_t len)
{
    struct timespec now;
    char ts[GW_VXP_TS_LEN];
    char **signed_hdrs = NULL;
    const char *hdrs[GW_VXP_MAX_PAIRS + 8];
    size_t nh = 0;
    char *url = NULL;
    int rc;

    clock_gettime(CLOCK_REALTIME, &now);
    if ((rc = gw_vxp_timestamp(now.tv_sec, (unsigned)(now.tv_nsec / 1000000), ts)) != 0)
        goto done;
    rc = gw_vxp_build_headers(st->systemid, st->secret, st->secret_len, ts, content_type, kv, n_kv,
                              &signed_hdrs);
    if (rc != 0)
        goto done;
    for (size_t i = 0; signed_hdrs[i]; i++)
        hdrs[nh++] = signed_hdrs[i];
    hdrs[nh++] = "Expect:"; /* no 100-continue: the SDK sends the body straight away */
    hdrs[nh] = NULL;
    rc = GW_ENOMEM;
    if (asprintf(&url, "%s%s", st->base_url, path) < 0) {
        url = NULL;
        goto done;
    }
    size_t max_resp = GW_VXP_MAX_RESP;
    if (call->op == GW_VXP_FETCH) {
        size_t enc = (call->max_package_bytes + 2) / 3 * 4;
        /* escaped CRLFs every 76 characters (4 bytes each), '/' escaped as '\/' (1 in 64), the
         * JSON envelope */
        max_resp = enc + enc / 19 + enc / 64 + 65536;
    }
    struct gw_httpc_xfer *xfer = NULL;
    struct gw_httpc_source src;
    struct gw_httpc_sink sink;
    struct gw_httpc_request req = {
        .method = "POST",
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = len,
        .borrow_body = true, /* static "{}" */
        .timeout_ms = st->timeout_ms,
        .max_response_bytes = max_resp,
        .xfer = &xfer,
        .tls = &st->tls,
    };
    if (call->up) {
        gw_axis_upload_source(call->up, &src);
        req.source = &src;
        req.body = NULL;
    }
    if (call->fx) {
        gw_vxp_fetch_sink(call->fx, &sink);
        req.sink = &sink;
    }
    rc = gw_httpc_request(st->http, &req, gw_vxp_on_http, call);
    if (rc == 0 && call->up)
        gw_axis_upload_attach(call->up, xfer);
    if (rc == 0 && call->fx)
        gw_vxp_fetch_attach(call->fx, xfer);
done:
    free(url);
    gw_vxp_headers_free(signed_hdrs);
    if (rc != 0)
        gw_vxp_call_free(call);
    return rc;
}

static struct gw_vxp_call *gw_vxp_call_new(struct gw_vxp *st, enum gw_vxp_op op, void *ud)
{
    struct gw_vxp_call *call = calloc(1, sizeof(*call));
    if (!call)
        return NULL;
    call->op = op;
    call->ud = ud;
    call->http = st->http;
    call->loop = gw_httpc_loop(st->http);
    call->max_package_bytes = st->max_package_bytes;
    return call;
}

static int gw_vxp_send(void *state, enum gw_pkg_kind kind, struct gw_axis_body *body,
                       gw_axis_send_cb cb, void *ud)
{
    struct gw_vxp *st = state;
    struct gw_vxp_call *call;
    char hash[GW_VXP_HASH_LEN];
    int rc;

    if (!st || !body || !body->read || body->len == 0 || body->len > (uint64_t)INT64_MAX - 2 || !cb)
        return GW_EINVAL;
    gw_vxp_hash_hex(body->sha256, hash); /* hashed by the owner, before the send */
    struct gw_vxp_kv kv[] = {
        {"from", st->systemid}, /* the axis refuses any other sender than the systemid */
        {"servicetype", GW_VXP_SERVICETYPE},
        {"messagetype", gw_pkg_kind_name(kind)},
        {"hash-file", hash},
    };
    if (!(call = gw_vxp_call_new(st, GW_VXP_SEND, ud)))
        return GW_ENOMEM;
    call->cb.send = cb;
    /* The body is the package followed by CRLF, streamed (Content-Length = len + 2). */
    if ((rc = gw_axis_upload_new(body, NULL, 0, "\r\n", 2, &call->up)) != 0) {
        free(call);
        return rc;
    }
    return gw_vxp_post(st, call, "/sendEdoc", GW_VXP_CT_OCTET, kv, GW_ARRAY_LEN(kv), NULL,
                       (size_t)body->len + 2);
}

static int gw_vxp_list(void *state, enum gw_pkg_kind kind, const char *cursor, gw_axis_list_cb cb,
                       void *ud)
{
    (void)cursor; /* getReceivedEdocList lists what is pending: no cursor */
    struct gw_vxp *st = state;
    struct gw_vxp_call *call;

    if (!st || !cb)
        return GW_EINVAL;
    if (!(call = gw_vxp_call_new(st, GW_VXP_LIST, ud)))
        return GW_ENOMEM;
    call->cb.list = cb;
    struct gw_vxp_kv kv[] = {
        {"servicetype", GW_VXP_SERVICETYPE},
        {"messagetype", gw_pkg_kind_name(kind)},
    };
    return gw_vxp_post(st, call, "/getReceivedEdocList", GW_VXP_CT_JSON, kv, GW_ARRAY_LEN(kv), NULL,
                       0);
}

static int gw_vxp_fetch(void *state, const char *doc_id, struct gw_axis_sink *sink,
                        gw_axis_fetch_cb cb, void *ud)
{
    struct gw_vxp *st = state;
    struct gw_vxp_call *call;
    struct gw_vxp_kv kv[] = {{"docId", doc_id}};
    int rc;

    if (!st || !cb || !sink || !sink->write || !doc_id || !*doc_id || gw_vxp_value_ok(doc_id) != 0)
        return GW_EINVAL;
    if (!(call = gw_vxp_call_new(st, GW_VXP_FETCH, ud)))
        return GW_ENOMEM;
    call->cb.fetch = cb;
    if ((rc = gw_vxp_fetch_new(sink, st->max_package_bytes, &call->fx)) != 0) {
        free(call);
        return rc;
    }
    return gw_vxp_post(st, call, "/getEdoc", GW_VXP_CT_JSON, kv, GW_ARRAY_LEN(kv), "{}", 2);
}

static int gw_vxp_ack(void *state, const char *doc_id, bool done, gw_axis_ack_cb cb, void *ud)
{
    struct gw_vxp *st = state;
    struct gw_vxp_call *call;
    struct gw_vxp_kv kv[] = {{"docId", doc_id}, {"status", done ? "done" : "fail"}};

    if (!st || !cb || !doc_id || !*doc_id || gw_vxp_value_ok(doc_id) != 0)
        return GW_EINVAL;
    if (!(call = gw_vxp_call_new(st, GW_VXP_ACK, ud)))
        return GW_ENOMEM;
    call->cb.ack = cb;
    return gw_vxp_post(st, call, "/updateStatus", GW_VXP_CT_JSON, kv, GW_ARRAY_LEN(kv), "{}", 2);
}

static void gw_vxp_destroy(void *state)
{
    struct gw_vxp *st = state;
    if (!st)
        return;
    free(st->base_url);
    free(st->systemid);
    free((void *)st->tls.ca_file);
    free((void *)st->tls.client_cert);
    free((void *)st->tls.client_key);
    if (st->secret)
        memset(st->secret, 0, st->secret_len);
    free(st->secret);
    free(st);
}

static int gw_vxp_create(struct gw_httpc *http, const struct gw_axis_config *cfg, void **state)
{
    struct gw_vxp *st;
    size_t blen;

    *state = NULL;
    if (!http || !cfg || !cfg->base_url || !*cfg->base_url || !cfg->systemid || !*cfg->systemid ||
        gw_vxp_value_ok(cfg->systemid) != 0 || !cfg->secret)
        return GW_ECONFIG;
    if (!(st = calloc(1, sizeof(*st))))
        return GW_ENOMEM;
    st->http = http;
    st->timeout_ms = cfg->timeout_ms;
    st->max_package_bytes = cfg->max_package_bytes ? cfg->max_package_bytes : GW_VXP_DEF_MAX_PKG;
    st->max_directory_bytes = cfg->max_directory_bytes; /* routing: vxp_agency.c */
    st->base_url = strdup(cfg->base_url);
    st->systemid = strdup(cfg->systemid);
    st->tls.insecure = cfg->tls.insecure;
    if ((cfg->tls.ca_file && !(st->tls.ca_file = strdup(cfg->tls.ca_file))) ||
        (cfg->tls.client_cert && !(st->tls.client_cert = strdup(cfg->tls.client_cert))) ||
        (cfg->tls.client_key && !(st->tls.client_key = strdup(cfg->tls.client_key))) ||
        !st->base_url || !st->systemid) {
        gw_vxp_destroy(st);
        return GW_ENOMEM;
    }
    blen = strlen(st->base_url);
    while (blen > 0 && st->base_url[blen - 1] == '/')
        st->base_url[--blen] = '\0';
    /* The secret is used as text, exactly as issued: its UTF-8 bytes are the HMAC key. */
    st->secret_len = strlen(cfg->secret);
    if (st->secret_len == 0 || st->secret_len > GW_VXP_MAX_SECRET ||
        gw_vxp_value_ok(cfg->secret) != 0) {
        gw_error("vxp.config",
                 "axis %s: secret must be the text as issued (UTF-8, no control "
                 "characters or surrounding blanks)",
                 cfg->name ? cfg->name : "?");
        gw_vxp_destroy(st);
        return GW_ECONFIG;
    }
    if (!(st->secret = malloc(st->secret_len))) {
        gw_vxp_destroy(st);
        return GW_ENOMEM;
    }
    memcpy(st->secret, cfg->secret, st->secret_len);
    if (st->secret_len != GW_VXP_SECRET_LEN)
        gw_warn("vxp.config", "axis %s: secret has %zu characters; the axis issues %d",
                cfg->name ? cfg->name : "?", st->secret_len, GW_VXP_SECRET_LEN);
    *state = st;
    return 0;
}

const struct gw_axis_ops gw_vxp_ops = {
    .name = "vxp",
    .create = gw_vxp_create,
    .destroy = gw_vxp_destroy,
    .send = gw_vxp_send,
    .list_received = gw_vxp_list,
    .fetch = gw_vxp_fetch,
    .ack = gw_vxp_ack,
    .list_agencies = gw_vxp_list_agencies, /* vxp_agency.c */
};
