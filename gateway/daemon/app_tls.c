/*
 * TLS of the northbound listener: the context is loaded from [server] tls_* before the listener
 * takes its first connection (a bad file stops the start, naming the file), and rebuilt on
 * SIGHUP on the thread pool; the new one serves new connections, open ones keep theirs, and a
 * bad file keeps the previous context (gateway_tls_reloads_total{result}).
 */
#include "daemon/app.h"
#include "http/http_tls.h"
#include "metrics/metrics.h"
#include "util/log.h"

#include <stdlib.h>

struct gw_tls_reload {
    uv_work_t work;
    struct gw_app *app;
    struct gw_tls_listener cfg; /* points into app->cfg, which outlives the job */
    struct gw_http_tls_ctx *ctx;
    char err[512];
    int rc;
};

static struct gw_metric *gw_app_tls_reloads(struct gw_app *app, const char *result)
{
    return gw_metric_series(gw_metrics_counter(app->metrics, "gateway_tls_reloads_total",
                                               "inbound TLS context reloads (SIGHUP), by result",
                                               "result", NULL),
                            result);
}

int gw_app_tls_start(struct gw_app *app)
{
    const struct gw_tls_listener *cfg = &app->cfg->tls;
    struct gw_http_tls_ctx *ctx;
    char err[512];
    int rc;

    if (!cfg->cert_file)
        return 0;
    rc = gw_http_tls_ctx_new(cfg, &ctx, err, sizeof(err));
    if (rc != 0) {
        gw_log(GW_LOG_ERROR, "tls.load_failed", "%s", err);
        return rc;
    }
    gw_log(GW_LOG_INFO, "tls.loaded", "northbound TLS: certificate %s (sha256 %s), client auth %s",
           cfg->cert_file, gw_http_tls_ctx_fingerprint(ctx),
           cfg->client_auth == GW_TLS_CLIENT_REQUIRED   ? "required"
           : cfg->client_auth == GW_TLS_CLIENT_OPTIONAL ? "optional"
                                                        : "none");
    gw_http_server_set_tls(app->http, ctx, app->metrics);
    (void)gw_app_tls_reloads(app, "ok"); /* both series exist from the start */
    (void)gw_app_tls_reloads(app, "failed");
    return 0;
}

static void gw_tls_reload_work(uv_work_t *w)
{
    struct gw_tls_reload *r = w->data;
    r->rc = gw_http_tls_ctx_new(&r->cfg, &r->ctx, r->err, sizeof(r->err));
}

static void gw_tls_reload_done(uv_work_t *w, int status)
{
    struct gw_tls_reload *r = w->data;
    struct gw_app *app = r->app;

    if (status == 0 && r->rc == 0 && app->http && !app->closing) {
        gw_log(GW_LOG_INFO, "tls.reloaded", "northbound TLS: certificate %s (sha256 %s)",
               r->cfg.cert_file, gw_http_tls_ctx_fingerprint(r->ctx));
        gw_http_server_set_tls(app->http, r->ctx, app->metrics);
        r->ctx = NULL;
        gw_metric_inc(gw_app_tls_reloads(app, "ok"));
    } else if (status == 0) {
        gw_log(GW_LOG_ERROR, "tls.reload_failed", "%s; the previous TLS context stays in force",
               r->rc ? r->err : "shutting down");
        gw_metric_inc(gw_app_tls_reloads(app, "failed"));
    }
    gw_http_tls_ctx_free(r->ctx);
    free(r);
    gw_app_work_end(app);
}

void gw_app_tls_reload(struct gw_app *app)
{
    struct gw_tls_reload *r;

    if (!app->cfg->tls.cert_file || app->draining || !app->http)
        return;
    if (!(r = calloc(1, sizeof(*r))))
        return;
    r->app = app;
    r->cfg = app->cfg->tls;
    r->work.data = r;
    gw_app_work_begin(app);
    if (uv_queue_work(app->loop, &r->work, gw_tls_reload_work, gw_tls_reload_done) != 0) {
        free(r);
        gw_app_work_end(app);
    }
}
