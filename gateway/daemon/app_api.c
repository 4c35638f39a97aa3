/*
 * Wiring of the northbound API into the daemon: the dependencies struct (loop, database, metric
 * registry, clients, organisations, default axis) and the callbacks the API calls back with
 * (readiness, work begin/end for the drain, "a package was stored", gauges before a /metrics
 * snapshot). The engine's counters still kept in app->stats are mirrored into the registry here
 * until the engine counts into the registry itself.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "daemon/app.h"
#include "daemon/held.h"
#include "daemon/startup.h"
#include "engine/dispatch.h"
#include "engine/verifier.h"
#include "engine/peer.h"
#include "metrics/metrics.h"
#include "util/common.h"
#include "util/error.h"

/* Texts of the axes' states for one /readyz answer (the loop thread only). */
static char gw_app_ready_text[GW_API_READY_MAX_AXES][96];

static const char *gw_app_held_text(struct gw_app *app, const char *axis, size_t slot)
{
    const struct gw_held_axis *held = NULL;
    size_t n = gw_startup_held(app->startup, &held);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(held[i].name, axis) != 0 || held[i].held < 0)
            continue;
        snprintf(gw_app_ready_text[slot], sizeof(gw_app_ready_text[slot]),
                 "disabled: %lld deliveries held", (long long)held[i].held);
        return gw_app_ready_text[slot];
    }
    return "disabled";
}

/* Readiness: database, drain, and per axis its breaker (engine/peer.h) or, for a disabled axis,
 * the deliveries it holds. */
static void gw_app_api_ready(void *ud, struct gw_api_ready *r)
{
    struct gw_app *app = ud;
    struct gw_peer_view views[GW_API_READY_MAX_AXES];
    bool enabled[GW_API_READY_MAX_AXES];
    size_t n_views = 0;
    const struct gw_held_axis *held = NULL;
    size_t n_held = gw_startup_held(app->startup, &held);

    r->database = app->db && gw_db_ready(app->db);
    r->draining = app->draining;
    if (app->dispatch)
        n_views = gw_dispatch_peer_snapshot(app->dispatch, views, enabled, GW_API_READY_MAX_AXES);
    for (size_t i = 0; i < app->n_axes && r->n_axes < GW_API_READY_MAX_AXES; i++) {
        size_t slot = r->n_axes;
        struct gw_api_axis_ready *a = &r->axes[r->n_axes++];
        a->name = app->axes[i].name;
        a->retry_in_ms = -1;
        if (!app->axes[i].cfg->enabled) {
            a->state = gw_app_held_text(app, a->name, slot);
            a->ok = false;
            continue;
        }
        a->state = "starting"; /* engine not started: migrations pending */
        a->ok = app->dispatch != NULL;
        for (size_t v = 0; v < n_views; v++) {
            if (strcmp(views[v].axis, a->name) != 0)
                continue;
            a->state = gw_peer_state_name(views[v].state);
            a->ok = views[v].state != GW_PEER_OPEN;
            snprintf(a->reason, sizeof(a->reason), "%s", views[v].reason ? views[v].reason : "");
            if (!a->ok)
                a->retry_in_ms = (int64_t)views[v].retry_in_ms;
        }
    }
    /* The push webhook's breaker while it is not closed: shown, never counted as an axis ok. */
    if (r->n_axes < GW_API_READY_MAX_AXES) {
        const char *push_state;
        int64_t retry;
        gw_app_push_ready(app, &push_state, &retry);
        if (push_state)
            r->axes[r->n_axes++] = (struct gw_api_axis_ready){
                .name = "qlvbdh_push", .state = push_state, .ok = false, .retry_in_ms = retry};
    }
    /* Disabled axes whose adapter is not built in are not in app->axes. */
    for (size_t i = 0; i < n_held && r->n_axes < GW_API_READY_MAX_AXES; i++) {
        bool listed = false;
        for (size_t j = 0; j < r->n_axes && !listed; j++)
            listed = strcmp(r->axes[j].name, held[i].name) == 0;
        if (listed)
            continue;
        size_t slot = r->n_axes;
        struct gw_api_axis_ready *a = &r->axes[r->n_axes++];
        a->name = held[i].name;
        a->state = gw_app_held_text(app, held[i].name, slot);
        a->ok = false;
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
    gw_verifier_kick(app->verifier); /* an edoc waits for its check; a status is due now */
    gw_dispatch_kick(app->dispatch);
}

static bool gw_app_api_behind(void *ud, const char **axis)
{
    struct gw_app *app = ud;
    return gw_dispatch_behind(app->dispatch, axis);
}

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
        /* The name is all a stored delivery needs: a default axis that is disabled (even one
         * whose adapter is not built in) holds its deliveries like any disabled axis. */
        .default_axis = cfg->default_ax ? cfg->default_ax->name : NULL,
        .ud = app,
        .ready = gw_app_api_ready,
        .work_begin = gw_app_api_work_begin,
        .work_end = gw_app_api_work_end,
        .stored = gw_app_api_stored,
        .ingest = &app->ingest,
        .collect = gw_app_api_collect,
        .behind = gw_app_api_behind,
    };

    gw_app_api_collect(app); /* declares the daemon's families before the first scrape */
    return gw_api_new(&deps, &app->api);
}
