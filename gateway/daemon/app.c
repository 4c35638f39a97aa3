/*
 * Daemon assembly: starts the database pool, HTTP client, axis adapters with their pollers, the
 * dispatcher and the HTTP server on one loop, and runs the graceful drain on SIGTERM/SIGINT:
 * stop accepting, let in-flight requests, sends and polls finish, then close every handle.
 */
#include "daemon/app.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "daemon/startup.h"
#include "engine/audit.h"
#include "engine/directory.h"
#include "engine/dispatch.h"
#include "engine/verifier.h"
#include "util/error.h"
#include "util/log.h"
#include "engine/poller.h"
#include "metrics/metrics.h"

struct gw_axis_inst *gw_app_axis(struct gw_app *app, const char *name)
{
    for (size_t i = 0; i < app->n_axes; i++) {
        if (strcmp(app->axes[i].name, name) == 0)
            return &app->axes[i];
    }
    return NULL;
}

/* Closes every component. forced (drain timeout): connections and queries still open are cut,
 * their leases expire and another claim or poll resumes the work; nothing committed is lost. */
static void gw_app_finish(struct gw_app *app, bool forced)
{
    app->closing = true;
    gw_startup_close(app->startup);
    uv_timer_stop(&app->drain_timer);
    uv_close((uv_handle_t *)&app->drain_timer, NULL);
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->sig_usr1, NULL);
    uv_close((uv_handle_t *)&app->sig_hup, NULL);
    gw_app_sig_free(app);
    gw_app_paper_stop(app);
    gw_dispatch_free(app->dispatch);
    app->dispatch = NULL;
    gw_app_push_free(app);
    gw_audit_free(app->audit);
    app->audit = NULL;
    gw_directory_free(app->directory);
    app->directory = NULL;
    for (size_t i = 0; i < app->n_axes; i++) {
        gw_poller_free(app->axes[i].poller);
        app->axes[i].poller = NULL;
    }
    gw_httpc_close(app->httpc);
    app->httpc = NULL;
    for (size_t i = 0; i < app->n_axes; i++) {
        gw_httpc_close(app->axes[i].httpc);
        app->axes[i].httpc = NULL;
    }
    for (size_t i = 0; i < app->n_axes; i++) {
        if (app->axes[i].state)
            app->axes[i].ops->destroy(app->axes[i].state);
        app->axes[i].state = NULL;
    }
    if (forced) {
        if (app->http)
            gw_http_server_close_all(app->http);
        gw_db_close_now(app->db, NULL, NULL);
    } else {
        gw_db_close(app->db, NULL, NULL);
    }
    app->db = NULL;
    gw_app_ingest_close(app);
    gw_log(GW_LOG_INFO, "app.stopped",
           forced ? "drain cut short; closing" : "all work drained; closing");
}

void gw_app_maybe_finish(struct gw_app *app)
{
    if (!app->draining || app->closing || !app->http_drained || app->pending_work > 0)
        return;
    if (!gw_dispatch_idle(app->dispatch) || !gw_audit_idle(app->audit) ||
        !gw_verifier_idle(app->verifier) || !gw_directory_idle(app->directory) ||
        !gw_app_push_idle(app))
        return;
    for (size_t i = 0; i < app->n_axes; i++) {
        if (!gw_poller_idle(app->axes[i].poller))
            return;
    }
    gw_app_finish(app, false);
}

void gw_app_work_begin(struct gw_app *app)
{
    app->pending_work++;
}

void gw_app_work_end(struct gw_app *app)
{
    app->pending_work--;
    gw_app_maybe_finish(app);
}

static void gw_app_http_drained(void *ud)
{
    struct gw_app *app = ud;
    app->http = NULL;
    app->http_drained = true;
    gw_app_maybe_finish(app);
}

static void gw_app_drain_timeout(uv_timer_t *t)
{
    struct gw_app *app = t->data;
    if (app->closing)
        return;
    gw_log(GW_LOG_WARN, "app.drain_timeout",
           "drain did not complete in time (%u API jobs, %zu sends): closing anyway",
           app->pending_work, gw_dispatch_inflight(app->dispatch));
    gw_app_finish(app, true);
}

void gw_app_stop(struct gw_app *app)
{
    if (app->draining)
        return;
    app->draining = true;
    gw_log(GW_LOG_INFO, "app.draining", "stop requested: draining in-flight work");
    uv_timer_start(&app->drain_timer, gw_app_drain_timeout, app->cfg->drain_timeout_ms, 0);
    gw_startup_stop(app->startup);
    gw_dispatch_stop(app->dispatch);
    gw_app_push_stop(app);
    gw_verifier_stop(app->verifier);
    gw_audit_stop(app->audit);
    gw_directory_stop(app->directory);
    for (size_t i = 0; i < app->n_axes; i++)
        gw_poller_stop(app->axes[i].poller);
    if (app->http)
        gw_http_server_shutdown(app->http, gw_app_http_drained, app);
    else
        app->http_drained = true;
    gw_app_maybe_finish(app);
}

static void gw_app_signal(uv_signal_t *s, int signum)
{
    struct gw_app *app = s->data;
    if (signum == SIGUSR1) {
        for (size_t i = 0; i < app->n_axes; i++)
            gw_poller_kick(app->axes[i].poller);
        gw_dispatch_kick(app->dispatch);
        gw_app_push_kick(app);
        gw_verifier_kick(app->verifier);
        gw_directory_kick(app->directory);
        return;
    }
    if (signum == SIGHUP) {
        gw_log(GW_LOG_INFO, "app.reload",
               "SIGHUP: reloading the trust store, the paper-copy catalogue and TLS, resyncing "
               "the axis directories");
        gw_app_sig_reload(app);
        gw_app_paper_reload(app);
        gw_app_tls_reload(app);
        gw_directory_kick(app->directory); /* e.g. a directory_file edited (lgsp_rest) */
        return;
    }
    gw_app_stop(app);
}

static void gw_app_idle(void *ud)
{
    gw_app_maybe_finish(ud);
}

static int gw_app_start_dispatch(struct gw_app *app)
{
    struct gw_dispatch_axis *axes = calloc(app->n_axes ? app->n_axes : 1, sizeof(*axes));
    int rc;

    if (!axes)
        return GW_ENOMEM;
    for (size_t i = 0; i < app->n_axes; i++) {
        axes[i] = (struct gw_dispatch_axis){
            .name = app->axes[i].name,
            .ops = app->axes[i].ops,
            .state = app->axes[i].state,
            .enabled = app->axes[i].cfg->enabled,
            .max_concurrency = app->axes[i].cfg->max_concurrency,
        };
    }
    struct gw_dispatch_deps deps = {
        .loop = app->loop,
        .db = app->db,
        .cache = app->body_cache,
        .axes = axes,
        .n_axes = app->n_axes,
        .metrics = app->metrics,
        .cfg = &app->cfg->delivery,
        .owner = app->owner,
        .organ_id = app->cfg->n_organ_ids ? app->cfg->organ_ids[0] : NULL,
        .idle = gw_app_idle,
        .ud = app,
    };
    rc = gw_dispatch_start(&deps, &app->dispatch);
    free(axes);
    return rc;
}

static int gw_app_start_audit(struct gw_app *app)
{
    struct gw_audit_deps deps = {.loop = app->loop,
                                 .db = app->db,
                                 /* before, always an hour: a body_timeout_ms over half an
                                  * hour could see an upload's staged body swept mid-stream */
                                 .staged_body_age_ms = gw_config_staged_body_age_ms(app->cfg),
                                 .idle = gw_app_idle,
                                 .ud = app};
    return gw_audit_start(&deps, &app->audit);
}

/* Connections to one axis at once: its sends (max_concurrency, or every send the dispatcher may
 * have in flight) plus the poller's, the directory's and a credential request, one each. */
#define GW_APP_AXIS_POOL_EXTRA 4

static unsigned gw_app_axis_pool(const struct gw_config *cfg, const struct gw_config_axis *ax)
{
    unsigned sends = ax->max_concurrency ? ax->max_concurrency : cfg->delivery.max_inflight;
    if (sends > cfg->delivery.max_inflight)
        sends = cfg->delivery.max_inflight;
    return sends + GW_APP_AXIS_POOL_EXTRA;
}

static int gw_app_start_axes(struct gw_app *app)
{
    const struct gw_config *cfg = app->cfg;
    int rc;

    app->axes = calloc(cfg->n_axes ? cfg->n_axes : 1, sizeof(*app->axes));
    if (!app->axes)
        return GW_ENOMEM;
    for (size_t i = 0; i < cfg->n_axes; i++) {
        struct gw_axis_inst *a = &app->axes[app->n_axes];
        if (!cfg->axes[i].adapter_known)
            continue; /* disabled, adapter not built in: warned at load */
        a->cfg = &cfg->axes[i];
        a->name = a->cfg->name;
        a->ops = gw_axis_find(a->cfg->adapter);
        if (!a->ops) {
            gw_log(GW_LOG_ERROR, "app.axis", "axis %s: unknown adapter %s", a->name,
                   a->cfg->adapter);
            return GW_ECONFIG;
        }
        struct gw_httpc_opts ho = {.max_connections = gw_app_axis_pool(cfg, a->cfg)};
        app->n_axes++; /* closed with the others from here on */
        rc = gw_httpc_open_opts(app->loop, &ho, &a->httpc);
        if (rc == 0)
            rc = a->ops->create(a->httpc, &a->cfg->axis, &a->state);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Agency directories and the routed axes (engine/directory.h). */
static int gw_app_start_directory(struct gw_app *app)
{
    struct gw_directory_axis *axes = calloc(app->n_axes ? app->n_axes : 1, sizeof(*axes));
    int rc;

    if (!axes)
        return GW_ENOMEM;
    for (size_t i = 0; i < app->n_axes; i++)
        axes[i] = (struct gw_directory_axis){.name = app->axes[i].name,
                                             .ops = app->axes[i].ops,
                                             .state = app->axes[i].state,
                                             .provincial = app->axes[i].cfg->provincial,
                                             .enabled = app->axes[i].cfg->enabled};
    struct gw_directory_deps deps = {.loop = app->loop,
                                     .db = app->db,
                                     .metrics = app->metrics,
                                     .axes = axes,
                                     .n_axes = app->n_axes,
                                     .interval_ms = app->cfg->directory_interval_ms,
                                     .retry_ms = app->cfg->directory_retry_ms,
                                     .idle = gw_app_idle,
                                     .ud = app};
    rc = gw_directory_start(&deps, &app->directory);
    free(axes);
    return rc;
}

/* The components that work on the database: started once the schema is ready. */
static int gw_app_start_engine(struct gw_app *app)
{
    int rc = 0;

    for (size_t i = 0; i < app->n_axes && rc == 0; i++) {
        struct gw_axis_inst *a = &app->axes[i];
        if (!a->cfg->enabled)
            continue;
        struct gw_poller_deps deps = {
            .loop = app->loop,
            .db = app->db,
            .metrics = app->metrics,
            .axis_name = a->name,
            .ops = a->ops,
            .axis_state = a->state,
            .cfg = a->cfg,
            .owner = app->owner,
            .ingest = &app->ingest,
            .idle = gw_app_idle,
            .idle_ud = app,
        };
        rc = gw_poller_start(&deps, &a->poller);
    }
    if (rc == 0)
        rc = gw_app_start_dispatch(app);
    if (rc == 0)
        rc = gw_app_push_start(app);
    if (rc == 0)
        rc = gw_app_sig_start(app);
    if (rc == 0)
        rc = gw_app_start_audit(app);
    if (rc == 0)
        rc = gw_app_start_directory(app);
    if (rc == 0)
        gw_app_paper_start(app);
    if (rc == 0)
        gw_log(GW_LOG_INFO, "app.ready", "dispatcher, verifier, pollers and audit started");
    return rc;
}

static void gw_app_owner(struct gw_app *app)
{
    unsigned char rnd[4] = {0};
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        memset(rnd, 0, sizeof(rnd));
    snprintf(app->owner, sizeof(app->owner), "%s:%d:%02x%02x%02x%02x", app->cfg->instance_id,
             (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
}

int gw_app_start(struct gw_app *app, uv_loop_t *loop, struct gw_config *cfg)
{
    int rc;

    memset(app, 0, sizeof(*app));
    app->loop = loop;
    app->cfg = cfg;
    app->started_ms = uv_now(loop);
    gw_app_owner(app);
    uv_timer_init(loop, &app->drain_timer);
    app->drain_timer.data = app;
    uv_signal_init(loop, &app->sig_term);
    uv_signal_init(loop, &app->sig_int);
    uv_signal_init(loop, &app->sig_usr1);
    uv_signal_init(loop, &app->sig_hup);
    app->sig_term.data = app->sig_int.data = app->sig_usr1.data = app->sig_hup.data = app;
    uv_signal_start(&app->sig_term, gw_app_signal, SIGTERM);
    uv_signal_start(&app->sig_int, gw_app_signal, SIGINT);
    uv_signal_start(&app->sig_usr1, gw_app_signal, SIGUSR1);
    uv_signal_start(&app->sig_hup, gw_app_signal, SIGHUP);

    app->metrics = gw_metrics_new();
    /* Pending migrations hold the pool: no query runs against a schema that is not there. */
    rc = !app->metrics           ? GW_ENOMEM
         : cfg->migrate_on_start ? gw_db_open_held(loop, &cfg->db, &app->db)
                                 : gw_db_open(loop, &cfg->db, &app->db);
    if (rc == 0)
        rc = gw_app_ingest_init(app);
    if (rc == 0)
        rc = gw_app_sig_init(app);
    if (rc == 0)
        rc = gw_app_paper_init(app);
    if (rc == 0)
        rc = gw_httpc_open(loop, &app->httpc);
    if (rc == 0)
        rc = gw_app_start_axes(app);
    if (rc == 0)
        rc = gw_app_api_start(app);
    if (rc == 0)
        rc = gw_http_server_start(loop, cfg->listen_host, cfg->listen_port, &cfg->server,
                                  gw_api_handle, app->api, &app->http);
    if (rc == 0) {
        gw_http_server_set_metrics(app->http, app->metrics);
        gw_http_server_set_head_check(app->http, gw_api_head_check);
        gw_http_server_set_stream_check(app->http, gw_api_stream_check);
        rc = gw_app_tls_start(app); /* before the loop accepts a first connection */
    }
    if (rc == 0)
        rc = gw_startup_begin(app, cfg->migrate_on_start, gw_app_start_engine, &app->startup);
    if (rc != 0) {
        gw_log(GW_LOG_ERROR, "app.start_failed", "start failed: %s", gw_strerror(rc));
        gw_app_stop(app); /* closes whatever did start; the loop then ends */
        return rc;
    }
    gw_log(GW_LOG_INFO, "app.started", "gatewayd %s listening on %s:%d with %zu axis(es)",
           app->owner, cfg->listen_host, gw_http_server_port(app->http), app->n_axes);
    return 0;
}

void gw_app_free(struct gw_app *app)
{
    gw_startup_free(app->startup);
    app->startup = NULL;
    gw_api_free(app->api);
    gw_app_ingest_free(app);
    gw_app_paper_free(app);
    gw_app_aia_free(app);
    gw_metrics_free(app->metrics);
    free(app->axes);
    app->api = NULL;
    app->metrics = NULL;
    app->axes = NULL;
}
