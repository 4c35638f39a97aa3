/*
 * Provincial axis adapter, REST v2.2 style: struct gw_axis_ops over the shared HTTP client. Every
 * call carries X-SystemId, X-SecretKey and the bearer token of the last login. One login is in
 * flight at a time; calls that need a token wait for it in a bounded queue (GW_LR_MAX_WAITING).
 * A token is used until 80 % of its lifetime (data.expiresIn, else token_lifetime_s), then the
 * next call logs in first; an HTTP 401 or 403 drops the token, logs in again and retries that call
 * once. Answers are read by lgsp_rest_resp.c, those over 64 KiB on the thread pool; the getEdoc
 * answer is streamed into the caller's sink (lgsp_rest_fetch.c), sendEdoc's multipart body from the
 * caller's body (lgsp_rest_send.c); list windows come from lgsp_rest_window.c and the directory
 * from a file (lgsp_rest_dir.c).
 */
#include "lgsp_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lgsp_rest_internal.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

#define GW_LR_ASYNC_BYTES (64u * 1024)

enum gw_lr_op { GW_LR_SEND, GW_LR_LIST, GW_LR_FETCH, GW_LR_ACK };

struct gw_lr_call {
    struct gw_lr *st;
    enum gw_lr_op op;
    union {
        gw_axis_send_cb send;
        gw_axis_list_cb list;
        gw_axis_fetch_cb fetch;
        gw_axis_ack_cb ack;
    } cb;
    void *ud;
    struct gw_lr_call *next; /* waiting for a login */
    const char *method;
    char *url;
    char *body; /* a POST's JSON */
    size_t body_len;
    char *content_type; /* "Content-Type: ..." header */
    struct gw_axis_upload *up;
    struct gw_axis_sink *sink;
    size_t max_package_bytes;
    uint64_t token_gen; /* of the token the request carried */
    bool retried;       /* logged in again after a 401 or 403 once */
    bool retry;         /* the transfer ended with a 401 or 403: retry once the body is idle */
    bool done_ack;      /* an ack "done": remembered when it succeeds */
    char doc_id[GW_LR_MAX_ID + 1];
    int rc;
    char detail[GW_LR_DETAIL_LEN];
    char id[GW_LR_MAX_ID + 1];
    struct gw_axis_item *items;
    bool *item_done;
    size_t n_items;
    char from[GW_LR_DATE_LEN], to[GW_LR_DATE_LEN]; /* the window listed */
    char next_cursor[GW_LR_DATE_LEN];
    bool cut;                      /* the list had more than GW_LR_MAX_ITEMS items */
    char cut_from[GW_LR_DATE_LEN]; /* the earliest created date of those not kept */
    char *resp;                    /* an answer taken for the thread pool */
    size_t resp_len;
    struct gw_lr_fetch *fx; /* getEdoc: the answer streamed into sink */
    uv_work_t work;
    uv_timer_t later;
    bool later_init;
};

static void gw_lr_free_state(struct gw_lr *st);

/* After destroy, the state goes with its last call and login. */
static void gw_lr_maybe_free(struct gw_lr *st)
{
    if (st->dying && st->n_calls == 0 && !st->logging_in && !st->in_login_cb)
        gw_lr_free_state(st);
}

static void gw_lr_call_closed(uv_handle_t *h)
{
    struct gw_lr_call *c = h->data;
    struct gw_lr *st = c->st;

    free(c);
    st->n_calls--;
    gw_lr_maybe_free(st);
}

static void gw_lr_call_free(struct gw_lr_call *c)
{
    if (!c)
        return;
    free(c->url);
    free(c->body);
    free(c->content_type);
    gw_axis_upload_free(c->up);
    gw_lr_items_free(c->items, c->item_done, c->n_items);
    free(c->resp);
    gw_lr_fetch_free(c->fx);
    if (c->later_init) {
        c->later.data = c;
        uv_close((uv_handle_t *)&c->later, gw_lr_call_closed);
    } else {
        struct gw_lr *st = c->st;
        free(c);
        st->n_calls--;
        gw_lr_maybe_free(st);
    }
}

/* Runs the user's callback exactly once and frees the call (on the loop). */
static void gw_lr_complete(struct gw_lr_call *c)
{
    const char *d = c->detail[0] ? c->detail : NULL;
    int rc = c->rc;

    switch (c->op) {
    case GW_LR_SEND:
        c->cb.send(rc, rc ? NULL : c->id, rc ? d : NULL, c->ud);
        break;
    case GW_LR_LIST:
        if (rc)
            c->cb.list(rc, NULL, 0, NULL, d, c->ud);
        else
            c->cb.list(0, c->items, c->n_items, c->next_cursor, NULL, c->ud);
        break;
    case GW_LR_FETCH:
        c->cb.fetch(rc, rc ? d : NULL, c->ud);
        break;
    case GW_LR_ACK:
        if (rc == 0 && c->done_ack)
            gw_lr_acked_add(c->st->acked, c->doc_id);
        c->cb.ack(rc, rc ? d : NULL, c->ud);
        break;
    }
    gw_lr_call_free(c);
}

static void gw_lr_fail(struct gw_lr_call *c, int rc, const char *detail)
{
    c->rc = rc;
    if (detail && detail != c->detail)
        snprintf(c->detail, sizeof(c->detail), "%s", detail);
    gw_lr_complete(c);
}

/* ---- the answer */

/* Reads a 2xx answer (on the loop, or on a pool worker for a large one: touches only c). */
static void gw_lr_digest(struct gw_lr_call *c, const char *body, size_t len)
{
    json_t *root = NULL;
    size_t blank = 0;
    int rc;

    while (blank < len && body[blank] != '\0' && strchr(" \t\r\n", body[blank]))
        blank++;
    if (c->op == GW_LR_ACK && blank == len) {
        /* updateStatus's answer is not documented: a 2xx without a body (204, say) is the ack */
        c->rc = 0;
        return;
    }
    rc = gw_lr_parse(body, len, &root, c->detail, sizeof(c->detail));
    if (rc == 0 && (c->op == GW_LR_SEND || c->op == GW_LR_LIST))
        rc = gw_lr_envelope_strict(root, c->detail, sizeof(c->detail));
    else if (rc == 0)
        rc = gw_lr_envelope(root, c->detail, sizeof(c->detail));
    if (rc == 0) {
        switch (c->op) {
        case GW_LR_SEND:
            if (gw_lr_doc_id(root, c->id) != 0) {
                snprintf(c->detail, sizeof(c->detail), "response without a usable docId");
                rc = GW_EHTTP; /* maybe stored: retried as a failure of the peer */
            }
            break;
        case GW_LR_LIST:
            rc = gw_lr_items(root, &c->items, &c->item_done, &c->n_items, &c->cut, c->cut_from);
            if (rc == GW_EHTTP)
                snprintf(c->detail, sizeof(c->detail), "data is not an array");
            break;
        case GW_LR_FETCH: /* streamed: never digested */
        case GW_LR_ACK:
            break;
        }
    }
    json_decref(root);
    c->rc = rc;
}

static void gw_lr_later_fire(uv_timer_t *t);

static void gw_lr_later(struct gw_lr_call *c)
{
    if (!c->later_init) {
        uv_timer_init(c->st->loop, &c->later);
        c->later_init = true;
    }
    c->later.data = c;
    uv_timer_start(&c->later, gw_lr_later_fire, 0, 0);
}

/* The sink resumed after the transfer ended: the callback on the next iteration, not from
 * inside the sink's own resume. */
static void gw_lr_complete_later(void *ud)
{
    gw_lr_later(ud);
}

static void gw_lr_later_fire(uv_timer_t *t)
{
    gw_lr_complete(t->data);
}

/* The answer is read: what is left to do on the loop. */
static void gw_lr_digested(struct gw_lr_call *c)
{
    if (c->rc != 0) {
        gw_lr_complete(c);
        return;
    }
    if (c->op == GW_LR_LIST) {
        /* Drop what the axis lists as done and this process acked done itself (stored). */
        size_t k = 0;
        for (size_t i = 0; i < c->n_items; i++) {
            if (c->item_done[i] && gw_lr_acked_has(c->st->acked, c->items[i].doc_id)) {
                free(c->items[i].doc_id);
                free(c->items[i].from);
                continue;
            }
            c->items[k] = c->items[i];
            c->item_done[k++] = c->item_done[i];
        }
        c->n_items = k;
        if (c->cut) { /* the next window starts where the items not kept begin */
            gw_lr_window_cut(c->from, c->to, c->cut_from, c->next_cursor);
            gw_log(GW_LOG_WARN, "lgsp_rest.list_cut",
                   "axis %s: more than %d items listed from %s; the next window starts at %s",
                   c->st->name, GW_LR_MAX_ITEMS, c->from, c->next_cursor);
        }
    }
    gw_lr_complete(c);
}

static void gw_lr_digest_work(uv_work_t *w)
{
    struct gw_lr_call *c = w->data;

    gw_lr_digest(c, c->resp, c->resp_len);
    free(c->resp);
    c->resp = NULL;
}

static void gw_lr_digest_after(uv_work_t *w, int status)
{
    struct gw_lr_call *c = w->data;

    if (status == UV_ECANCELED) {
        c->rc = GW_ECANCELED;
        c->detail[0] = '\0';
    }
    gw_lr_digested(c);
}

/* "HTTP <status>", with the answer's message when it gave one. */
static void gw_lr_status_detail(struct gw_lr_call *c, long status, const char *body, size_t len)
{
    json_t *root = NULL;
    char text[GW_LR_DETAIL_LEN] = "";

    if (len > 0 && len <= GW_LR_ASYNC_BYTES &&
        gw_lr_parse(body, len, &root, text, sizeof(text)) == 0) {
        text[0] = '\0';
        if (gw_lr_envelope(root, text, sizeof(text)) == 0)
            text[0] = '\0';
    } else {
        text[0] = '\0';
    }
    json_decref(root);
    if (text[0])
        snprintf(c->detail, sizeof(c->detail), "HTTP %ld: %s", status, text);
    else
        snprintf(c->detail, sizeof(c->detail), "HTTP %ld", status);
}

static int gw_lr_start(struct gw_lr_call *c);

/* The transfer is over and the body idle: retry after a fresh login, or finish. */
static void gw_lr_after_transfer(void *ud)
{
    struct gw_lr_call *c = ud;
    int rc;

    if (c->retry) {
        c->retry = false;
        if (c->up && gw_axis_upload_restart(c->up) != 0) {
            gw_lr_fail(c, GW_EHTTP, "HTTP 401/403: the body cannot be sent again");
            return;
        }
        if (c->fx) { /* a refused call's body never reached the sink: a fresh scanner */
            gw_lr_fetch_free(c->fx);
            c->fx = NULL;
            if ((rc = gw_lr_fetch_new(c->sink, c->max_package_bytes, &c->fx)) != 0) {
                gw_lr_fail(c, rc, NULL);
                return;
            }
        }
        if ((rc = gw_lr_start(c)) != 0)
            gw_lr_fail(c, rc, "HTTP 401/403: could not log in again");
        return;
    }
    if (c->resp) { /* a large answer: read on the thread pool */
        c->work.data = c;
        if (uv_queue_work(c->st->loop, &c->work, gw_lr_digest_work, gw_lr_digest_after) == 0)
            return;
        gw_lr_digest(c, c->resp, c->resp_len);
    }
    gw_lr_digested(c);
}

static void gw_lr_on_http(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_lr_call *c = ud;
    struct gw_lr *st = c->st;

    c->rc = 0;
    c->detail[0] = '\0';
    if (c->fx && err == 0 && status >= 200 && status <= 299) {
        /* the whole streamed answer's verdict */
        c->rc = gw_lr_fetch_verdict(c->fx, c->detail, sizeof(c->detail));
    } else if (c->fx && err != 0 && gw_lr_fetch_aborted(c->fx)) {
        /* our own abort: over max_package_bytes, not JSON, the sink's code */
        c->rc = gw_lr_fetch_verdict(c->fx, c->detail, sizeof(c->detail));
    } else if (err == GW_EHTTP || err == GW_ETIMEDOUT) {
        snprintf(c->detail, sizeof(c->detail), "transport: %s", gw_strerror(err));
        c->rc = GW_EHTTP;
    } else if (err != 0) {
        c->rc = err; /* GW_E2BIG (answer over its cap), GW_ECANCELED, GW_ENOMEM */
        if (err == GW_E2BIG)
            snprintf(c->detail, sizeof(c->detail), "answer over its cap");
    } else if ((status == 401 || status == 403) && !c->retried) {
        /* The token is no longer valid (how an axis says so is not documented: 401 or 403): log
         * in again (once) and retry; refused again, the credentials are the peer's condition. */
        c->retried = true;
        c->retry = true;
        if (c->token_gen == st->token_gen) {
            free(st->h_auth);
            st->h_auth = NULL;
        }
    } else if (status < 200 || status > 299) {
        if (c->fx)
            body = gw_lr_fetch_errbody(c->fx, &len);
        gw_lr_status_detail(c, status, body, len);
        c->rc = gw_lr_classify_status(status);
    } else if (len > GW_LR_ASYNC_BYTES) {
        if (!(c->resp = gw_httpc_take_body(st->http)) && len > 0) {
            c->rc = GW_ENOMEM;
        } else if (!c->resp) {
            c->resp = strdup("");
            if (!c->resp)
                c->rc = GW_ENOMEM;
        }
        c->resp_len = len;
    } else {
        gw_lr_digest(c, body, len);
    }
    if (c->rc != 0) {
        free(c->resp);
        c->resp = NULL;
    }
    if (c->up && gw_axis_upload_busy(c->up, gw_lr_after_transfer, c))
        return;
    if (c->fx &&
        gw_lr_fetch_paused(c->fx, c->retry ? gw_lr_after_transfer : gw_lr_complete_later, c))
        return;
    gw_lr_after_transfer(c);
}

/* Sends the request with the current token. */
static int gw_lr_issue(struct gw_lr_call *c)
{
    struct gw_lr *st = c->st;
    const char *hdrs[8];
    size_t nh = 0;
    struct gw_httpc_xfer *xfer = NULL;
    struct gw_httpc_source src;
    struct gw_httpc_sink sink;
    int rc;

    if (!st->h_auth)
        return GW_EAUTH; /* never sent without a token */
    hdrs[nh++] = st->h_systemid;
    hdrs[nh++] = st->h_secret;
    hdrs[nh++] = st->h_auth;
    hdrs[nh++] = "Accept: application/json";
    if (c->content_type)
        hdrs[nh++] = c->content_type;
    hdrs[nh++] = "Expect:";
    hdrs[nh] = NULL;
    size_t max_resp = GW_LR_MAX_RESP;
    if (c->op == GW_LR_FETCH) /* raw text escaped as \\uXXXX takes up to twice its bytes */
        max_resp = (size_t)c->max_package_bytes * 3 + 65536;
    struct gw_httpc_request req = {
        .method = c->method,
        .url = c->url,
        .headers = hdrs,
        .body = c->body,
        .body_len = c->body_len,
        .borrow_body = true, /* c->body lives as long as the call */
        .timeout_ms = st->timeout_ms,
        .max_response_bytes = max_resp,
        .xfer = &xfer,
        .tls = st->tls,
    };
    if (c->up) {
        gw_axis_upload_source(c->up, &src);
        req.source = &src;
        req.body = NULL;
        req.body_len = (size_t)gw_axis_upload_len(c->up);
    }
    if (c->fx) {
        gw_lr_fetch_sink(c->fx, &sink);
        req.sink = &sink;
    }
    c->token_gen = st->token_gen;
    rc = gw_httpc_request(st->http, &req, gw_lr_on_http, c);
    if (rc == 0 && c->up)
        gw_axis_upload_attach(c->up, xfer);
    if (rc == 0 && c->fx)
        gw_lr_fetch_attach(c->fx, xfer);
    return rc;
}

/* ---- login */

static void gw_lr_on_login(int err, long status, const char *body, size_t len, void *ud)
{
    struct gw_lr *st = ud;
    char detail[GW_LR_DETAIL_LEN] = "";
    char *token = NULL;
    uint64_t expires_s = 0;
    int rc = 0;
    struct gw_lr_call *c, *list;

    st->logging_in = false;
    st->in_login_cb = true; /* the state outlives the waiting calls' callbacks */
    if (err == GW_EHTTP || err == GW_ETIMEDOUT) {
        snprintf(detail, sizeof(detail), "login: transport: %s", gw_strerror(err));
        rc = GW_EHTTP;
    } else if (err != 0) {
        snprintf(detail, sizeof(detail), "login: %s", gw_strerror(err));
        rc = err;
    } else if (status < 200 || status > 299) {
        snprintf(detail, sizeof(detail), "login: HTTP %ld", status);
        rc = gw_lr_classify_status(status);
        if (rc == GW_EAXIS) /* a login refused (400, say) is never a package's condition */
            rc = GW_EAUTH;
    } else {
        char why[GW_LR_DETAIL_LEN] = "";
        rc = gw_lr_parse_login(body, len, &token, &expires_s, why, sizeof(why));
        if (rc != 0)
            snprintf(detail, sizeof(detail), "login: %s", why);
    }
    if (rc == 0) {
        uint64_t life = expires_s ? expires_s : st->lifetime_s;
        uint64_t now = uv_now(st->loop);
        free(st->h_auth);
        st->h_auth = NULL;
        if (asprintf(&st->h_auth, "Authorization: Bearer %s", token) < 0) {
            st->h_auth = NULL;
            rc = GW_ENOMEM;
        }
        st->token_gen++;
        st->renew_at_ms = now + life * 800; /* 80 % of the lifetime, in ms */
        st->expires_at_ms = now + life * 1000;
        gw_log(GW_LOG_INFO, "lgsp_rest.login", "axis %s: logged in, token for %llu s", st->name,
               (unsigned long long)life);
    } else {
        gw_log(GW_LOG_WARN, "lgsp_rest.login_failed", "axis %s: %s", st->name, detail);
    }
    if (token)
        memset(token, 0, strlen(token));
    free(token);
    list = st->waiting;
    st->waiting = NULL;
    st->waiting_tail = &st->waiting;
    st->n_waiting = 0;
    while ((c = list)) {
        list = c->next;
        c->next = NULL;
        int irc = rc == 0 ? gw_lr_issue(c) : rc;
        if (irc != 0)
            gw_lr_fail(c, irc, rc != 0 ? detail : "could not start the request");
    }
    st->in_login_cb = false;
    gw_lr_maybe_free(st);
}

static int gw_lr_login(struct gw_lr *st)
{
    char *url = NULL;
    const char *hdrs[] = {
        st->h_systemid, st->h_secret, "Content-Type: application/json", "Accept: application/json",
        "Expect:",      NULL};
    int rc;

    if (asprintf(&url, "%s/v1/auth/login?allow_anonymous=true", st->base_url) < 0)
        return GW_ENOMEM;
    struct gw_httpc_request req = {
        .method = "POST",
        .url = url,
        .headers = hdrs,
        .body = st->login_body,
        .body_len = st->login_len,
        .borrow_body = true, /* lives as long as the adapter */
        .timeout_ms = st->timeout_ms,
        .max_response_bytes = 65536,
        .tls = st->tls,
    };
    rc = gw_httpc_request(st->http, &req, gw_lr_on_login, st);
    free(url);
    if (rc == 0)
        st->logging_in = true;
    return rc;
}

/* Issues the call now with a fresh enough token, or queues it behind a login. */
static int gw_lr_start(struct gw_lr_call *c)
{
    struct gw_lr *st = c->st;
    int rc;

    if (st->h_auth && uv_now(st->loop) < st->renew_at_ms && !st->logging_in)
        return gw_lr_issue(c);
    if (st->n_waiting >= GW_LR_MAX_WAITING)
        return GW_EAGAIN;
    if (!st->logging_in && (rc = gw_lr_login(st)) != 0)
        return rc;
    c->next = NULL;
    *st->waiting_tail = c;
    st->waiting_tail = &c->next;
    st->n_waiting++;
    return 0;
}

/* ---- operations */

static struct gw_lr_call *gw_lr_call_new(struct gw_lr *st, enum gw_lr_op op, const char *method,
                                         void *ud)
{
    struct gw_lr_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    st->n_calls++;
    c->st = st;
    c->op = op;
    c->method = method;
    c->ud = ud;
    c->max_package_bytes = st->max_package_bytes;
    return c;
}

/* Starts c; on failure frees it and returns the error (the callback never runs). */
static int gw_lr_go(struct gw_lr_call *c)
{
    int rc = gw_lr_start(c);
    if (rc != 0)
        gw_lr_call_free(c);
    return rc;
}

/* Percent-encodes a query value (RFC 3986 unreserved characters kept). */
static char *gw_lr_qenc(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n * 3 + 1), *p = o;

    if (!o)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *p++ = (char)ch;
        } else {
            snprintf(p, 4, "%%%02X", ch);
            p += 3;
        }
    }
    *p = '\0';
    return o;
}

static bool gw_lr_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > GW_LR_MAX_ID)
        return false;
    for (; *id; id++)
        if ((unsigned char)*id < 0x20 || *id == 0x7f)
            return false;
    return true;
}

static int gw_lr_send(void *state, enum gw_pkg_kind kind, struct gw_axis_body *body,
                      gw_axis_send_cb cb, void *ud)
{
    struct gw_lr *st = state;
    struct gw_lr_call *c;
    int rc;

    if (!st || !body || !body->read || body->len == 0 || !cb)
        return GW_EINVAL;
    if (!(c = gw_lr_call_new(st, GW_LR_SEND, "POST", ud)))
        return GW_ENOMEM;
    c->cb.send = cb;
    rc = gw_lr_upload_new(body, gw_pkg_kind_name(kind), &c->content_type, &c->up);
    if (rc == 0 && asprintf(&c->url, "%s/v1/sendEdoc", st->base_url) < 0) {
        c->url = NULL;
        rc = GW_ENOMEM;
    }
    if (rc != 0) {
        gw_lr_call_free(c);
        return rc;
    }
    return gw_lr_go(c);
}

static int gw_lr_list(void *state, enum gw_pkg_kind kind, const char *cursor, gw_axis_list_cb cb,
                      void *ud)
{
    struct gw_lr *st = state;
    struct gw_lr_call *c;

    if (!st || !cb)
        return GW_EINVAL;
    if (!(c = gw_lr_call_new(st, GW_LR_LIST, "GET", ud)))
        return GW_ENOMEM;
    c->cb.list = cb;
    if (cursor && gw_lr_date_days(cursor) < 0)
        gw_log(GW_LOG_WARN, "lgsp_rest.cursor",
               "axis %s: stored cursor '%.32s' is not a date; "
               "listing the first window",
               st->name, cursor);
    gw_lr_window(time(NULL), cursor, st->first_window_days, st->window_overlap_days, c->from, c->to,
                 c->next_cursor);
    if (asprintf(&c->url, "%s/v1/syncReceivedEdocList?messageType=%s&fromDate=%s&toDate=%s",
                 st->base_url, gw_pkg_kind_name(kind), c->from, c->to) < 0) {
        c->url = NULL;
        gw_lr_call_free(c);
        return GW_ENOMEM;
    }
    return gw_lr_go(c);
}

static int gw_lr_fetch(void *state, const char *doc_id, struct gw_axis_sink *sink,
                       gw_axis_fetch_cb cb, void *ud)
{
    struct gw_lr *st = state;
    struct gw_lr_call *c;
    char *q;
    int rc;

    if (!st || !cb || !sink || !sink->write || !gw_lr_id_ok(doc_id))
        return GW_EINVAL;
    if (!(c = gw_lr_call_new(st, GW_LR_FETCH, "GET", ud)))
        return GW_ENOMEM;
    c->cb.fetch = cb;
    c->sink = sink;
    if (!(q = gw_lr_qenc(doc_id)) ||
        asprintf(&c->url, "%s/v1/getEdoc?docId=%s", st->base_url, q) < 0) {
        c->url = NULL;
        free(q);
        gw_lr_call_free(c);
        return GW_ENOMEM;
    }
    free(q);
    if ((rc = gw_lr_fetch_new(sink, st->max_package_bytes, &c->fx)) != 0) {
        gw_lr_call_free(c);
        return rc;
    }
    return gw_lr_go(c);
}

static int gw_lr_ack(void *state, const char *doc_id, bool done, gw_axis_ack_cb cb, void *ud)
{
    struct gw_lr *st = state;
    struct gw_lr_call *c;
    json_t *o;

    if (!st || !cb || !gw_lr_id_ok(doc_id))
        return GW_EINVAL;
    if (!(c = gw_lr_call_new(st, GW_LR_ACK, "POST", ud)))
        return GW_ENOMEM;
    c->cb.ack = cb;
    c->done_ack = done;
    snprintf(c->doc_id, sizeof(c->doc_id), "%s", doc_id);
    o = json_pack("{s:s, s:s}", "docId", doc_id, "status", done ? "done" : "fail");
    c->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!c->body || !(c->content_type = strdup("Content-Type: application/json")) ||
        asprintf(&c->url, "%s/v1/updateStatus", st->base_url) < 0) {
        c->url = NULL;
        gw_lr_call_free(c);
        return GW_ENOMEM;
    }
    c->body_len = strlen(c->body);
    return gw_lr_go(c);
}

/* ---- life */

static void gw_lr_free_state(struct gw_lr *st)
{
    free(st->name);
    free(st->base_url);
    free(st->h_systemid);
    if (st->h_secret)
        memset(st->h_secret, 0, strlen(st->h_secret));
    free(st->h_secret);
    if (st->login_body)
        memset(st->login_body, 0, st->login_len);
    free(st->login_body);
    if (st->h_auth)
        memset(st->h_auth, 0, strlen(st->h_auth));
    free(st->h_auth);
    free(st->directory_file);
    gw_lr_acked_free(st->acked);
    free(st);
}

/* Calls in flight (or on the thread pool) still complete: the state waits for them. */
static void gw_lr_destroy(void *state)
{
    struct gw_lr *st = state;

    if (!st)
        return;
    st->dying = true;
    gw_lr_maybe_free(st);
}

/* Header text: printable ASCII or UTF-8, no control characters, no surrounding blanks. */
static bool gw_lr_header_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 1024 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int gw_lr_create(struct gw_httpc *http, const struct gw_axis_config *cfg, void **state)
{
    struct gw_lr *st;
    json_t *login;
    size_t blen;
    const char *name = cfg && cfg->name ? cfg->name : "?";

    *state = NULL;
    if (!http || !cfg || !cfg->base_url || !*cfg->base_url || !gw_lr_header_ok(cfg->systemid) ||
        !gw_lr_header_ok(cfg->secret) || !cfg->username || !cfg->password || !cfg->directory_file ||
        !*cfg->directory_file) {
        gw_error("lgsp_rest.config",
                 "axis %s: base_url, systemid, secret (header text), username, password and "
                 "directory_file are required",
                 name);
        return GW_ECONFIG;
    }
    if (!(st = calloc(1, sizeof(*st))))
        return GW_ENOMEM;
    st->http = http;
    st->loop = gw_httpc_loop(http);
    st->tls = &cfg->tls;
    st->timeout_ms = cfg->timeout_ms;
    st->max_package_bytes = cfg->max_package_bytes ? cfg->max_package_bytes : GW_LR_DEF_MAX_PKG;
    st->lifetime_s = cfg->token_lifetime_s ? cfg->token_lifetime_s : 1800;
    st->first_window_days = cfg->first_window_days;
    st->window_overlap_days = cfg->window_overlap_days;
    st->waiting_tail = &st->waiting;
    st->name = strdup(name);
    st->base_url = strdup(cfg->base_url);
    st->directory_file = strdup(cfg->directory_file);
    st->acked = gw_lr_acked_new();
    if (asprintf(&st->h_systemid, "X-SystemId: %s", cfg->systemid) < 0)
        st->h_systemid = NULL;
    if (asprintf(&st->h_secret, "X-SecretKey: %s", cfg->secret) < 0)
        st->h_secret = NULL;
    login = json_pack("{s:s, s:s, s:s, s:n, s:n, s:[i,i]}", "username", cfg->username, "password",
                      cfg->password, "applicationCode",
                      cfg->application_code ? cfg->application_code : "", "otp",
                      "twoFactorProvider", "typeObjs", 0, 1);
    st->login_body = login ? json_dumps(login, JSON_COMPACT) : NULL;
    json_decref(login); /* the tree's copy of the password goes with it */
    if (!st->name || !st->base_url || !st->directory_file || !st->acked || !st->h_systemid ||
        !st->h_secret || !st->login_body) {
        gw_lr_destroy(st);
        return GW_ENOMEM;
    }
    st->login_len = strlen(st->login_body);
    blen = strlen(st->base_url);
    while (blen > 0 && st->base_url[blen - 1] == '/')
        st->base_url[--blen] = '\0';
    *state = st;
    return 0;
}

const struct gw_axis_ops gw_lgsp_rest_ops = {
    .name = "lgsp_rest",
    .create = gw_lr_create,
    .destroy = gw_lr_destroy,
    .send = gw_lr_send,
    .list_received = gw_lr_list,
    .fetch = gw_lr_fetch,
    .ack = gw_lr_ack,
    .list_agencies = gw_lr_list_agencies, /* lgsp_rest_dir.c */
};
