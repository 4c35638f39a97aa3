/*
 * Wiring of the northbound API into the daemon: the dependencies struct (loop, database, metric
 * registry, clients, organisations, default axis) and the callbacks the API calls back with
 * (readiness, work begin/end for the drain, "a package was stored", gauges before a /metrics
 * snapshot). The engine's counters still kept in app->stats are mirrored into the registry here
 * until the engine counts into the registry itself.
 */
#include <stddef.h>
#include <string.h>

#include "api/api.h"
#include "daemon/app.h"
#include "engine/dispatch.h"
#include "metrics/metrics.h"
#include "util/common.h"
#include "util/error.h"

static void gw_app_api_ready(void *ud, struct gw_api_ready *r)
{
    struct gw_app *app = ud;

    r->database = app->db && gw_db_ready(app->db);
    r->draining = app->draining;
    for (size_t i = 0; i < app->n_axes && r->n_axes < GW_API_READY_MAX_AXES; i++) {
        struct gw_api_axis_ready *a = &r->axes[r->n_axes++];
        a->name = app->axes[i].name;
        a->state = app->axes[i].cfg->enabled ? "enabled" : "disabled";
        a->ok = true;
        a->retry_in_ms = -1;
    }
}

static void gw_app_api_work_begin(void *ud)
{
    gw_app_work_begin(ud);
}

static void gw_app_api_work_end(void *ud)
{
    gw_app_work_end(ud);
}

static void gw_app_api_stored(void *ud)
{
    struct gw_app *app = ud;
    gw_dispatch_kick(app->dispatch);
}

/* Engine counters still in struct gw_app_stats, exposed under their names. */
static const struct gw_app_counter {
    const char *name;
    const char *help;
    size_t offset;
} gw_app_counters[] = {
    {"gateway_send_ok_total", "deliveries acknowledged by an axis",
     offsetof(struct gw_app_stats, sends_ok)},
    {"gateway_send_failed_total", "failed send attempts",
     offsetof(struct gw_app_stats, sends_failed)},
    {"gateway_send_dead_total", "deliveries given up", offsetof(struct gw_app_stats, sends_dead)},
};

static void gw_app_api_collect(void *ud)
{
    struct gw_app *app = ud;
    struct gw_metrics *reg = app->metrics;

    gw_metric_set(gw_metric_series(gw_metrics_gauge(reg, "gateway_http_inflight",
                                                    "requests being handled", NULL)),
                  app->http ? (double)gw_http_server_inflight(app->http) : 0);
    gw_metric_set(
        gw_metric_series(gw_metrics_gauge(reg, "gateway_send_inflight", "sends in flight", NULL)),
        app->dispatch ? (double)gw_dispatch_inflight(app->dispatch) : 0);
    for (size_t i = 0; i < GW_ARRAY_LEN(gw_app_counters); i++) {
        const struct gw_app_counter *c = &gw_app_counters[i];
        const uint64_t *v = (const uint64_t *)((const char *)&app->stats + c->offset);
        gw_metric_set(gw_metric_series(gw_metrics_counter(reg, c->name, c->help, NULL)),
                      (double)*v);
    }
}

int gw_app_api_start(struct gw_app *app)
{
    const struct gw_config *cfg = app->cfg;
    struct gw_api_deps deps = {
        .loop = app->loop,
        .db = app->db,
        .metrics = app->metrics,
        .clients = cfg->clients,
        .n_clients = cfg->n_clients,
        .organ_ids = (const char *const *)cfg->organ_ids,
        .n_organ_ids = cfg->n_organ_ids,
        .default_axis =
            cfg->default_axis && gw_app_axis(app, cfg->default_axis) ? cfg->default_axis : NULL,
        .ud = app,
        .ready = gw_app_api_ready,
        .work_begin = gw_app_api_work_begin,
        .work_end = gw_app_api_work_end,
        .stored = gw_app_api_stored,
        .collect = gw_app_api_collect,
    };

    if (!app->metrics && !(app->metrics = gw_metrics_new()))
        return GW_ENOMEM;
    deps.metrics = app->metrics;
    gw_app_api_collect(app); /* declares the daemon's families before the first scrape */
    return gw_api_new(&deps, &app->api);
}
