/*
 * The TLS layer of one HTTP connection (c->tls): ciphertext read from the socket goes into the
 * session, plaintext comes out into the connection's fixed input buffer only as far as there is
 * room, responses are encrypted on their way to uv_write, and the session's own records
 * (handshake, alerts, close_notify) are sent as they appear. Reading stops while the session
 * holds GW_HTTP_TLS_IN_MAX undecrypted bytes or GW_HTTP_TLS_WQ_MAX of its own records are unsent.
 */
#include "http/http_server_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

/* Sends what the session has produced; false if the connection was closed. */
static bool gw_http_conn_tls_flush(struct gw_http_conn *c)
{
    char *out;
    size_t len;

    if (gw_http_tls_pending_out(c->tls) == 0)
        return true;
    if (gw_http_tls_take_output(c->tls, &out, &len) != 0) {
        gw_http_conn_close(c);
        return false;
    }
    c->tls_queued += len;
    if (gw_http_conn_send(c, out, len, GW_HTTP_W_TLS, true) != 0) {
        c->tls_queued -= len; /* no write callback follows */
        gw_http_conn_close(c);
        return false;
    }
    return true;
}

/* One debug line per kind of failure every 10 s (peers choose how often they fail). */
static void gw_http_conn_tls_log(struct gw_http_conn *c, const char *event, const char *what,
                                 const char *reason)
{
    struct gw_http_server *srv = c->srv;
    unsigned suppressed = 0;
    char key[64];

    snprintf(key, sizeof(key), "%s %s", event, reason);
    if (gw_logrl_allow(&srv->tls_rl, key, uv_now(srv->loop), &suppressed))
        gw_debug(event, "%s: %s: %s%s%s (%u alike before)", c->peer, what, reason,
                 *gw_http_tls_detail(c->tls) ? ": " : "", gw_http_tls_detail(c->tls), suppressed);
}

void gw_http_conn_tls_failed(struct gw_http_conn *c, const char *reason)
{
    gw_metric_inc(gw_metric_series(c->srv->tls_failures, reason));
    gw_http_conn_tls_log(c, "http.tls_handshake_failed", "TLS handshake failed", reason);
}

bool gw_http_conn_tls_pull(struct gw_http_conn *c)
{
    bool was = gw_http_tls_established(c->tls);
    size_t got = 0;
    int rc = gw_http_tls_read(c->tls, c->in + c->in_len, sizeof(c->in) - c->in_len, &got);

    c->in_len += got;
    if (!was && gw_http_tls_established(c->tls))
        c->pc.peer_cert = gw_http_tls_peer_sha256(c->tls);
    if (rc == GW_EIO) {
        if (!was && !gw_http_tls_established(c->tls))
            gw_http_conn_tls_failed(c, gw_http_tls_reason(c->tls));
        else
            gw_http_conn_tls_log(c, "http.tls_error", "TLS error", gw_http_tls_reason(c->tls));
        if (gw_http_conn_tls_flush(c)) /* the alert, as far as the socket takes it now */
            gw_http_conn_close(c);
        return false;
    }
    if (!gw_http_conn_tls_flush(c))
        return false;
    if (rc == GW_HTTP_TLS_CLOSED) { /* close_notify: the client is gone */
        gw_http_conn_close(c);
        return false;
    }
    return true;
}

void gw_http_conn_tls_input(struct gw_http_conn *c, const char *data, size_t len)
{
    if (gw_http_tls_feed(c->tls, data, len) != 0) {
        gw_http_conn_close(c);
        return;
    }
    (void)gw_http_conn_tls_pull(c);
}

bool gw_http_conn_tls_want_read(const struct gw_http_conn *c)
{
    return gw_http_tls_pending_in(c->tls) < GW_HTTP_TLS_IN_MAX &&
           c->tls_queued < GW_HTTP_TLS_WQ_MAX;
}

int gw_http_conn_tls_write(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind)
{
    char *out;
    size_t olen;
    int rc = gw_http_tls_write(c->tls, buf, len);

    if (kind != GW_HTTP_W_CONTINUE)
        free(buf);
    if (rc == 0)
        rc = gw_http_tls_take_output(c->tls, &out, &olen);
    if (rc != 0)
        return rc;
    return gw_http_conn_send(c, out, olen, kind, true);
}

void gw_http_conn_tls_goodbye(struct gw_http_conn *c)
{
    gw_http_tls_shutdown(c->tls);
    (void)gw_http_conn_tls_flush(c);
}
