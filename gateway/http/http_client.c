/*
 * Outbound HTTP client: one libcurl multi handle driven by the libuv loop. curl tells us which
 * sockets to watch (one uv_poll per socket) and when to wake it (one uv_timer); completions are
 * collected with curl_multi_info_read. Response bodies are buffered up to a per-request cap, or
 * handed to a sink piece by piece; request bodies are a buffer, or pulled from a source.
 * Streaming bodies and their pausing are in http_client_stream.c.
 */
#include "http/http_client.h"

#include "http/http_client_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

#define GW_HTTPC_DEF_TIMEOUT_MS 30000
#define GW_HTTPC_DEF_CONNECT_MS 5000
#define GW_HTTPC_DEF_MAX_RESP   (16u * 1024 * 1024)
#define GW_HTTPC_MAX_HEADER_LEN 8192
#define GW_HTTPC_DEF_MAX_IDLE   15000

static pthread_once_t gw_httpc_once = PTHREAD_ONCE_INIT;
static CURLcode gw_httpc_global_rc = CURLE_OK;

static void gw_httpc_global_init(void)
{
    gw_httpc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void gw_httpc_maybe_free(struct gw_httpc *c)
{
    if (c->closing && c->open_handles == 0)
        free(c);
}

static void gw_httpc_on_handle_closed(uv_handle_t *h)
{
    struct gw_httpc *c = h->data;
    if (h->type == UV_POLL)
        free(gw_container_of((uv_poll_t *)h, struct gw_httpc_sock, poll));
    c->open_handles--;
    gw_httpc_maybe_free(c);
}

static void gw_httpc_sock_close(struct gw_httpc_sock *s)
{
    struct gw_httpc *c = s->c;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, gw_httpc_on_handle_closed);
}

void gw_httpc_xfer_unlink(struct gw_httpc_xfer *x)
{
    struct gw_httpc *c = x->c;
    if (x->prev)
        x->prev->next = x->next;
    else
        c->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    c->inflight--;
}

static void gw_httpc_xfer_free(struct gw_httpc_xfer *x)
{
    if (!x)
        return;
    gw_httpc_resume_unlink(x);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->req_body);
    free(x->resp);
    free(x);
}

/* Why a transfer failed, as a stable code for logs and /readyz (the peer's fault, not the
 * package's: every one of these is a transport failure). */
static const char *gw_httpc_reason(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION: /* chain not ending in ca_file, or wrong host name */
        return "tls_verify_failed";
    case CURLE_SSL_CONNECT_ERROR: /* no common protocol version or cipher, client cert refused */
        return "tls_handshake_failed";
    case CURLE_SSL_CACERT_BADFILE:
        return "tls_ca_file_unusable";
    case CURLE_SSL_CERTPROBLEM:
        return "tls_client_cert_unusable";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return "connect_failed";
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "protocol_refused";
    default:
        return "transport_failed";
    }
}

/* TLS 1.3 servers refuse a client certificate after the client has finished its handshake: the
 * client learns it from an alert on its first read or write. */
static const char *gw_httpc_reason_of(CURLcode rc, const char *msg)
{
    if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR) && msg && strstr(msg, "SSL") &&
        strstr(msg, " alert "))
        return "tls_handshake_failed";
    return gw_httpc_reason(rc);
}

static int gw_httpc_map_curl(const struct gw_httpc_xfer *x, CURLcode rc)
{
    if (x->abort_err)
        return x->abort_err;
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return GW_E2BIG;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return GW_ETIMEDOUT;
    return GW_EHTTP;
}

/* Runs the transfer's callback (the body can be taken only on success) and frees the transfer. */
static void gw_httpc_deliver(struct gw_httpc_xfer *x, int err, long status, const char *body,
                             size_t len)
{
    struct gw_httpc *c = x->c;
    struct gw_httpc_xfer *outer = c->in_cb;
    const char *outer_fail = c->fail_detail;

    c->in_cb = err ? NULL : x;
    c->fail_detail = err ? x->fail : NULL;
    x->cb(err, status, err ? "" : body, err ? 0 : len, x->ud);
    c->in_cb = outer; /* c outlives gw_httpc_close(): it is freed by the last close callback */
    c->fail_detail = outer_fail;
    gw_httpc_xfer_free(x);
}

/* Completes one finished transfer: it is already out of the multi handle. */
void gw_httpc_finish(struct gw_httpc_xfer *x, CURLcode rc)
{
    int err = 0;
    long status = 0;
    static const char empty[] = "";
    const char *body = empty;
    size_t len = 0;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (x->resp) {
            body = x->resp;
            len = x->resp_len;
        }
    } else {
        err = gw_httpc_map_curl(x, rc);
        if (!x->abort_err && !x->too_big)
            snprintf(x->fail, sizeof(x->fail), "%s: %s", gw_httpc_reason_of(rc, x->errbuf),
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        gw_debug("httpc.fail", "transfer failed: %s (%s)", curl_easy_strerror(rc),
                 x->errbuf[0] ? x->errbuf : "-");
    }
    gw_httpc_deliver(x, err, status, body, len);
}

const char *gw_httpc_fail_detail(const struct gw_httpc *c)
{
    return c && c->fail_detail && c->fail_detail[0] ? c->fail_detail : NULL;
}

char *gw_httpc_take_body(struct gw_httpc *c)
{
    struct gw_httpc_xfer *x = c ? c->in_cb : NULL;
    char *body;

    if (!x)
        return NULL;
    if (x->resp) {
        body = x->resp;
        x->resp = NULL;
    } else {
        body = calloc(1, 1); /* empty body: the callback was given a static "" */
        if (!body)
            return NULL;
    }
    c->in_cb = NULL; /* taken once */
    return body;
}

void gw_httpc_check_done(struct gw_httpc *c)
{
    CURLMsg *msg;
    int left;

    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct gw_httpc_xfer *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(c->multi, easy);
        if (x->sink_paused) {
            /* The sink has had every byte but is still busy with them: the result waits. */
            x->finished = true;
            x->finish_rc = rc;
            continue;
        }
        gw_httpc_xfer_unlink(x);
        gw_httpc_finish(x, rc); /* the callback may close c: the loop re-checks c->closing */
    }
}

static void gw_httpc_on_poll(uv_poll_t *h, int status, int events)
{
    struct gw_httpc_sock *s = gw_container_of(h, struct gw_httpc_sock, poll);
    struct gw_httpc *c = s->c;
    int flags = 0;
    int running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    gw_httpc_check_done(c);
}

static void gw_httpc_on_timer(uv_timer_t *t)
{
    struct gw_httpc *c = gw_container_of(t, struct gw_httpc, timer);
    int running;

    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    gw_httpc_check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: curl asks to be woken after timeout_ms (-1: cancel the timer). */
static int gw_httpc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct gw_httpc *c = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, gw_httpc_on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int gw_httpc_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct gw_httpc *c = userp;
    struct gw_httpc_sock *s = socketp;
    int events = 0;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            gw_httpc_sock_close(s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->c = c;
        s->poll.data = c;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        c->open_handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, gw_httpc_on_poll) == 0 ? 0 : -1;
}

int gw_httpc_open(uv_loop_t *loop, struct gw_httpc **out)
{
    return gw_httpc_open_opts(loop, NULL, out);
}

int gw_httpc_open_opts(uv_loop_t *loop, const struct gw_httpc_opts *opts, struct gw_httpc **out)
{
    struct gw_httpc *c;

    *out = NULL;
    pthread_once(&gw_httpc_once, gw_httpc_global_init);
    if (gw_httpc_global_rc != CURLE_OK)
        return GW_EHTTP;
    c = calloc(1, sizeof(*c));
    if (!c)
        return GW_ENOMEM;
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return GW_ENOMEM;
    }
    if (uv_timer_init(loop, &c->timer) != 0) {
        curl_multi_cleanup(c->multi);
        free(c);
        return GW_EIO;
    }
    c->timer.data = c;
    uv_timer_init(loop, &c->resume_timer); /* cannot fail once the first timer could start */
    c->resume_timer.data = c;
    c->open_handles = 2;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, gw_httpc_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, gw_httpc_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    c->max_idle_ms = opts && opts->max_idle_ms ? opts->max_idle_ms : GW_HTTPC_DEF_MAX_IDLE;
    if (opts && opts->max_connections) {
        /* One pool of that size: never more connections to the host at once, and every one of
         * them kept for reuse however few transfers are in flight. */
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)opts->max_connections);
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)opts->max_connections);
    }
    *out = c;
    return 0;
}

static size_t gw_httpc_write_cb(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct gw_httpc_xfer *x = userp;
    size_t n = size * nmemb;

    if (x->sink_p && x->sink_paused)
        return CURL_WRITEFUNC_PAUSE; /* kept by libcurl, handed over again after the resume */
    if (n > x->resp_max - x->resp_len) {
        x->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (x->sink_p)
        return gw_httpc_sink_write(x, ptr, n);
    if (x->resp_len + n + 1 > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap : 4096;
        while (cap < x->resp_len + n + 1)
            cap *= 2;
        if (cap > x->resp_max + 1)
            cap = x->resp_max + 1;
        char *p = realloc(x->resp, cap);
        if (!p)
            return 0;
        x->resp = p;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, ptr, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    return n;
}

static int gw_httpc_set_headers(struct gw_httpc_xfer *x, const char *const *headers)
{
    for (size_t i = 0; headers && headers[i]; i++) {
        if (strlen(headers[i]) > GW_HTTPC_MAX_HEADER_LEN || strpbrk(headers[i], "\r\n"))
            return GW_EINVAL;
        struct curl_slist *l = curl_slist_append(x->headers, headers[i]);
        if (!l)
            return GW_ENOMEM;
        x->headers = l;
    }
    /* No "Expect: 100-continue" round trip for large bodies. */
    struct curl_slist *l = curl_slist_append(x->headers, "Expect:");
    if (!l)
        return GW_ENOMEM;
    x->headers = l;
    return 0;
}

/* Whether a request's URL and TLS settings can be used at all: checked before any I/O. */
static int gw_httpc_check_tls(const struct gw_httpc_request *req)
{
    const struct gw_tls_peer *t = req->tls;
    bool https = strncasecmp(req->url, "https://", 8) == 0;

    if (!t)
        return 0;
    if (!https && !t->insecure)
        return GW_EINVAL; /* plain HTTP (or no scheme) to a peer that must be reached over TLS */
    if (https && (!t->ca_file || !t->ca_file[0]))
        return GW_EINVAL; /* nothing to pin: the system store is never used */
    if (!t->client_cert != !t->client_key)
        return GW_EINVAL;
    return 0;
}

/* The CA set pinned to ca_file alone (Debian's libcurl would otherwise also load its built-in
 * bundle and /etc/ssl/certs), the peer and its host name verified, TLS 1.2 at least, the
 * optional client certificate, and only https unless insecure. */
static void gw_httpc_setup_tls(CURL *e, const struct gw_tls_peer *t)
{
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, t->insecure ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_SSL_OPTIONS, 0L); /* no native CA store */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (t->client_cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->client_cert);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->client_key);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

static int gw_httpc_setup(struct gw_httpc_xfer *x, const struct gw_httpc_request *req)
{
    CURL *e = x->easy;
    int rc;

    if ((rc = gw_httpc_set_headers(x, req->headers)) != 0)
        return rc;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (req->tls)
        gw_httpc_setup_tls(e, req->tls);
    else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    /* Seconds (the option's unit), rounded up: an idle connection older than this is closed
     * rather than reused. */
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, (long)((x->c->max_idle_ms + 999) / 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms ? req->timeout_ms : GW_HTTPC_DEF_TIMEOUT_MS));
    curl_easy_setopt(
        e, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(req->connect_timeout_ms ? req->connect_timeout_ms : GW_HTTPC_DEF_CONNECT_MS));
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->resp_max);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gw_httpc_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);

    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return 0;
    }
    if (req->source) {
        gw_httpc_setup_source(x, req);
        return 0;
    }
    const char *post = "";
    if (req->borrow_body) {
        if (req->body_len)
            post = req->body; /* the caller keeps it alive until the callback */
    } else {
        x->req_body = malloc(req->body_len ? req->body_len : 1);
        if (!x->req_body)
            return GW_ENOMEM;
        if (req->body_len)
            memcpy(x->req_body, req->body, req->body_len);
        post = x->req_body;
    }
    /* A NULL CURLOPT_POSTFIELDS would make curl read the body from a read callback: never NULL. */
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
    if (strcmp(req->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    return 0;
}

int gw_httpc_request(struct gw_httpc *c, const struct gw_httpc_request *req, gw_httpc_cb cb,
                     void *ud)
{
    struct gw_httpc_xfer *x;
    int rc;

    if (!c || !req || !req->url || !req->method || !cb ||
        (req->body_len && !req->body && !req->source) || (req->source && req->body) ||
        (req->source && (!req->source->read || strcmp(req->method, "GET") == 0)) ||
        (req->sink && !req->sink->write) || req->body_len > (uint64_t)INT64_MAX)
        return GW_EINVAL;
    if ((rc = gw_httpc_check_tls(req)) != 0)
        return rc;
    if (c->closing)
        return GW_ESHUTDOWN;
    x = calloc(1, sizeof(*x));
    if (!x)
        return GW_ENOMEM;
    x->c = c;
    x->cb = cb;
    x->ud = ud;
    x->resp_max = req->max_response_bytes ? req->max_response_bytes : GW_HTTPC_DEF_MAX_RESP;
    if (req->sink) {
        x->sink = *req->sink;
        x->sink_p = &x->sink;
    }
    x->easy = curl_easy_init();
    if (!x->easy) {
        rc = GW_ENOMEM;
        goto fail;
    }
    if ((rc = gw_httpc_setup(x, req)) != 0)
        goto fail;
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        rc = GW_EHTTP;
        goto fail;
    }
    x->next = c->xfers;
    if (c->xfers)
        c->xfers->prev = x;
    c->xfers = x;
    c->inflight++;
    if (req->xfer)
        *req->xfer = x;
    return 0;
fail:
    gw_httpc_xfer_free(x);
    return rc;
}

size_t gw_httpc_inflight(const struct gw_httpc *c)
{
    return c ? c->inflight : 0;
}

void gw_httpc_close(struct gw_httpc *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    while (c->resumes)
        gw_httpc_resume_unlink(c->resumes);
    while (c->xfers) {
        struct gw_httpc_xfer *x = c->xfers;
        if (!x->finished)
            curl_multi_remove_handle(c->multi, x->easy);
        gw_httpc_xfer_unlink(x);
        gw_httpc_deliver(x, GW_ECANCELED, 0, "", 0);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->socks) /* sockets curl kept for reuse and never reported as removed */
        gw_httpc_sock_close(c->socks);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, gw_httpc_on_handle_closed);
    uv_timer_stop(&c->resume_timer);
    uv_close((uv_handle_t *)&c->resume_timer, gw_httpc_on_handle_closed);
}

uv_loop_t *gw_httpc_loop(const struct gw_httpc *c)
{
    return c ? c->loop : NULL;
}
