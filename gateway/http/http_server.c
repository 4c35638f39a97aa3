/*
 * HTTP server listener: validates limits, binds and accepts (connections themselves live in
 * http_conn.c, their admission against the connection limits in http_admit.c), keeps the list
 * of connections and the count of in-flight requests, owns the global request-body budget and
 * the TLS context for new connections, and drains on shutdown: idle connections are closed at
 * once, busy ones after their current response, or all of them at once by
 * gw_http_server_close_all().
 */
#include "http/http_server_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

void gw_http_limits_default(struct gw_http_limits *l)
{
    l->max_header_bytes = 16 * 1024;
    l->max_body_bytes = 16 * 1024 * 1024;
    l->header_timeout_ms = 10000;
    l->body_timeout_ms = 60000;
    l->idle_timeout_ms = 30000;
    l->max_connections = 1024;
    l->max_connections_per_address = 256;
    l->max_headers = 64;
    l->max_inflight_body_bytes = (size_t)512 * 1024 * 1024;
}

int gw_http_limits_check(const struct gw_http_limits *l)
{
    if (l->max_header_bytes < 16 || l->max_header_bytes > 1024 * 1024)
        return GW_EINVAL;
    if (l->max_body_bytes > SIZE_MAX / 4)
        return GW_EINVAL;
    if (l->max_headers < 1 || l->max_headers > 10000 || l->max_connections < 1 ||
        l->max_connections_per_address < 1)
        return GW_EINVAL;
    return 0;
}

void gw_http_server_conn_added(struct gw_http_server *srv, struct gw_http_conn *c)
{
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
}

static void gw_http_server_maybe_drained(struct gw_http_server *srv)
{
    if (!srv->shutting_down || !srv->listener_closed || srv->n_conns > 0 || srv->spare_busy)
        return;
    gw_info("http.drained", "HTTP server on port %d stopped", srv->port);
    if (srv->drained_cb)
        srv->drained_cb(srv->drained_ud);
    gw_http_tls_ctx_free(srv->tls);
    free(srv->tls_in);
    gw_http_admit_free(srv);
    free(srv);
}

void gw_http_server_conn_gone(struct gw_http_server *srv, struct gw_http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->n_conns--;
    gw_http_server_maybe_drained(srv);
}

static void gw_http_server_on_spare_closed(uv_handle_t *h)
{
    struct gw_http_server *srv = h->data;

    srv->spare_busy = false;
    if (srv->spare_waiting) {
        srv->spare_waiting = false;
        if (!srv->shutting_down)
            gw_http_conn_accept(srv);
    }
    gw_http_server_maybe_drained(srv);
}

/* libuv stops watching a listener whose pending connection the callback does not accept: left
 * pending, one failed allocation would end every later accept. */
void gw_http_server_refuse_pending(struct gw_http_server *srv)
{
    unsigned suppressed = 0;
    int rc;

    if (srv->spare_busy) {
        srv->spare_waiting = true; /* tried again, with a fresh allocation, once it has closed */
        return;
    }
    if (srv->m_refused_memory)
        gw_metric_inc(srv->m_refused_memory);
    if (gw_logrl_allow(&srv->admit_rl, "http.accept.memory", uv_now(srv->loop), &suppressed))
        gw_error("http.accept",
                 "out of memory: a new connection closed (%u more since the last line)",
                 suppressed);
    if ((rc = uv_tcp_init(srv->loop, &srv->spare)) != 0) {
        gw_error("http.accept", "spare handle: %s", uv_strerror(rc));
        return;
    }
    srv->spare.data = srv;
    srv->spare_busy = true;
    (void)uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&srv->spare);
    uv_close((uv_handle_t *)&srv->spare, gw_http_server_on_spare_closed);
}

void gw_http_server_inject_accept_failures(struct gw_http_server *srv, unsigned n)
{
    if (srv)
        srv->fail_accepts = n;
}

static void gw_http_server_on_connection(uv_stream_t *l, int status)
{
    struct gw_http_server *srv = l->data;

    if (status < 0) {
        gw_warn("http.accept", "accept failed: %s", uv_strerror(status));
        return;
    }
    if (!srv->shutting_down)
        gw_http_conn_accept(srv);
}

static void gw_http_server_free_on_close(uv_handle_t *h)
{
    struct gw_http_server *srv = h->data;

    gw_http_admit_free(srv);
    free(srv);
}

int gw_http_server_start(uv_loop_t *loop, const char *host, int port,
                         const struct gw_http_limits *limits, gw_http_handler_fn handler, void *ud,
                         struct gw_http_server **out)
{
    struct sockaddr_storage ss;
    struct gw_http_server *srv;
    int rc, len = sizeof(ss);

    if (!out)
        return GW_EINVAL;
    *out = NULL;
    if (!loop || !host || !handler || port < 0 || port > 65535)
        return GW_EINVAL;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc != 0)
        return GW_EINVAL;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return GW_ENOMEM;
    if (limits)
        srv->limits = *limits;
    else
        gw_http_limits_default(&srv->limits);
    if (gw_http_limits_check(&srv->limits) != 0) {
        free(srv);
        return GW_EINVAL;
    }
    if (gw_http_admit_init(srv) != 0) {
        gw_http_admit_free(srv);
        free(srv);
        return GW_ENOMEM;
    }
    srv->bodies.limit = srv->limits.max_inflight_body_bytes;
    srv->loop = loop;
    srv->handler = handler;
    srv->ud = ud;
    rc = uv_tcp_init(loop, &srv->listener);
    if (rc != 0) {
        gw_http_admit_free(srv);
        free(srv);
        return rc;
    }
    srv->listener.data = srv;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, gw_http_server_on_connection);
    if (rc == 0)
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
    if (rc != 0) {
        gw_error("http.listen", "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, gw_http_server_free_on_close);
        return rc;
    }
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    gw_info("http.listen", "listening on %s:%d", host, srv->port);
    *out = srv;
    return 0;
}

int gw_http_server_port(const struct gw_http_server *srv)
{
    return srv ? srv->port : -1;
}

size_t gw_http_server_inflight(const struct gw_http_server *srv)
{
    return srv ? srv->n_inflight : 0;
}

void gw_http_server_set_tls(struct gw_http_server *srv, struct gw_http_tls_ctx *ctx,
                            struct gw_metrics *metrics)
{
    if (!srv || !ctx)
        return;
    if (!srv->tls_in) {
        if (!(srv->tls_in = malloc(GW_HTTP_INBUF_SIZE))) {
            gw_error("http.tls", "out of memory: the previous TLS context stays");
            gw_http_tls_ctx_free(ctx);
            return;
        }
        gw_logrl_init(&srv->tls_rl, 10000); /* one debug line per reason per 10 s */
    }
    if (!srv->tls_failures && metrics)
        srv->tls_failures = gw_metrics_counter(
            metrics, "gateway_tls_handshake_failures_total",
            "inbound TLS handshakes that did not complete, by reason", "reason", NULL);
    gw_http_tls_ctx_free(srv->tls); /* connections made with it keep their reference */
    srv->tls = ctx;
}

void gw_http_server_set_head_check(struct gw_http_server *srv, gw_http_head_fn fn)
{
    if (srv)
        srv->head_check = fn;
}

static void gw_http_server_on_listener_closed(uv_handle_t *h)
{
    struct gw_http_server *srv = h->data;

    srv->listener_closed = true;
    gw_http_server_maybe_drained(srv);
}

void gw_http_server_shutdown(struct gw_http_server *srv, void (*drained_cb)(void *ud), void *ud)
{
    if (!srv || srv->shutting_down)
        return;
    srv->shutting_down = true;
    srv->drained_cb = drained_cb;
    srv->drained_ud = ud;
    gw_info("http.shutdown", "draining %zu connections, %zu requests in flight", srv->n_conns,
            srv->n_inflight);
    uv_close((uv_handle_t *)&srv->listener, gw_http_server_on_listener_closed);
    for (struct gw_http_conn *c = srv->conns; c; c = c->next) {
        if (c->state == GW_HTTP_C_IDLE)
            gw_http_conn_close_idle(c);
        else if (c->tls && !gw_http_tls_established(c->tls))
            gw_http_conn_close(c); /* a TLS handshake not yet complete */
    }
}

void gw_http_server_close_all(struct gw_http_server *srv)
{
    if (!srv)
        return;
    if (!srv->shutting_down) {
        gw_warn("http.close_all", "ignored: gw_http_server_shutdown() was not called");
        return;
    }
    gw_info("http.close_all", "closing %zu connections, %zu requests in flight", srv->n_conns,
            srv->n_inflight);
    /* Closing only issues uv_close: no connection is freed while walking the list. */
    for (struct gw_http_conn *c = srv->conns; c; c = c->next)
        gw_http_conn_close(c);
}
