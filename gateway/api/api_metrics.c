/*
 * /metrics: the shared metric registry in Prometheus text form, with the backlog gauges read from
 * PostgreSQL (gw_store_backlog_read), served from a snapshot refreshed at most once a second.
 * Scrapes that arrive while a refresh runs wait for it and share its result, so anonymous
 * scrapers cost at most one database query per second however often they come.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "store/store_backlog.h"
#include "util/error.h"
#include "util/log.h"

#define GW_API_SNAPSHOT_MS 1000

int gw_api_metrics_init(struct gw_api *api)
{
    struct gw_metrics *reg = api->deps.metrics;

#define GW_GAUGE(name, help)   gw_metric_series(gw_metrics_gauge(reg, name, help, NULL))
#define GW_COUNTER(name, help) gw_metric_series(gw_metrics_counter(reg, name, help, NULL))
    api->m.up = GW_GAUGE("gateway_up", "1 while the process serves");
    api->m.ready = GW_GAUGE("gateway_ready", "1 when /readyz answers 200");
    api->m.uptime = GW_GAUGE("gateway_uptime_seconds", "seconds since start");
    api->m.db_pending = GW_GAUGE("gateway_db_pending", "queries queued or in flight");
    api->m.http_requests = GW_COUNTER("gateway_http_requests_total", "HTTP requests handled");
    api->m.submit_created =
        GW_COUNTER("gateway_submit_created_total", "packages stored from QLVBĐH");
    api->m.submit_duplicate =
        GW_COUNTER("gateway_submit_duplicate_total", "identical resubmissions");
    api->m.submit_conflict =
        GW_COUNTER("gateway_submit_conflict_total", "resubmissions with other bytes (409)");
    api->m.submit_rejected = gw_metrics_counter(reg, "gateway_submit_rejected_total",
                                                "submissions refused, by error code", "code", NULL);
    api->m.submit_db_errors =
        GW_COUNTER("gateway_submit_db_errors_total", "submissions not stored (503)");
    api->m.submit_backpressure =
        GW_COUNTER("gateway_submit_backpressure_total",
                   "submissions refused (503 delivery_backlog) while deliveries fall behind");
    api->m.refreshes = GW_COUNTER("gateway_metrics_refresh_total",
                                  "snapshots of /metrics built (at most one a second)");
    api->m.backlog_ok = GW_GAUGE("gateway_backlog_ok", "1 when the backlog gauges are current");
    api->m.deliveries =
        gw_metrics_gauge(reg, "gateway_deliveries",
                         "deliveries not yet acknowledged by an axis, by state", "state", NULL);
    api->m.oldest =
        gw_metrics_gauge(reg, "gateway_delivery_oldest_seconds",
                         "age of the oldest unacknowledged delivery, by state", "state", NULL);
    api->m.inbox_waiting =
        GW_GAUGE("gateway_inbox_waiting", "received packages QLVBĐH has not taken (NaN unknown)");
    api->m.inbox_oldest = GW_GAUGE("gateway_inbox_oldest_seconds",
                                   "age of the oldest package waiting in the inbox (NaN unknown)");
    api->m.no_electronic_means =
        GW_GAUGE("gateway_recipients_no_electronic_means",
                 "recipients on no axis directory once all were synced (Art. 10.3a; NaN unknown)");
    api->m.audit_unsealed = GW_GAUGE("gateway_audit_unsealed_events",
                                     "committed audit events no seal covers yet (NaN unknown)");
    api->m.audit_unsealed_oldest =
        GW_GAUGE("gateway_audit_unsealed_oldest_seconds",
                 "age of the oldest audit event no seal covers (0 none, NaN unknown)");
#undef GW_GAUGE
#undef GW_COUNTER
    gw_metric_set(api->m.up, 1);
    return 0;
}

void gw_api_metrics_free(struct gw_api *api)
{
    free(api->snap.text);
    free(api->snap.waiting);
    api->snap.text = NULL;
    api->snap.waiting = NULL;
}

static void gw_api_backlog_gauges(struct gw_api *api, const struct gw_store_backlog *b)
{
    gw_metric_set(api->m.backlog_ok, b != NULL);
    gw_metrics_clear(api->m.deliveries);
    gw_metrics_clear(api->m.oldest);
    if (!b) {
        gw_metric_set(api->m.inbox_waiting, NAN);
        gw_metric_set(api->m.inbox_oldest, NAN);
        gw_metric_set(api->m.no_electronic_means, NAN);
        gw_metric_set(api->m.audit_unsealed, NAN);
        gw_metric_set(api->m.audit_unsealed_oldest, NAN);
        return;
    }
    for (int i = 0; i < GW_STORE_BACKLOG_N; i++) {
        gw_metric_set(gw_metric_series(api->m.deliveries, gw_store_backlog_states[i]),
                      (double)b->deliveries[i]);
        gw_metric_set(gw_metric_series(api->m.oldest, gw_store_backlog_states[i]),
                      (double)b->oldest_s[i]);
    }
    gw_metric_set(api->m.inbox_waiting, (double)b->inbox_waiting);
    gw_metric_set(api->m.inbox_oldest, (double)b->inbox_oldest_s);
    gw_metric_set(api->m.no_electronic_means, (double)b->no_electronic_means);
    gw_metric_set(api->m.audit_unsealed, (double)b->unsealed);
    gw_metric_set(api->m.audit_unsealed_oldest, (double)b->unsealed_oldest_s);
}

/* Answers every waiting scrape with the current snapshot (500 when there is none). */
static void gw_api_snapshot_serve(struct gw_api *api)
{
    struct gw_api_snapshot *s = &api->snap;
    size_t n = s->n_waiting;

    s->n_waiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->valid)
            gw_http_respond(s->waiting[i], 200, "text/plain; version=0.0.4", s->text, s->len);
        else
            gw_api_error(s->waiting[i], GW_ENOMEM, NULL);
    }
}

static void gw_api_backlog_done(int err, const struct gw_store_backlog *b, void *ud)
{
    struct gw_api *api = ud;
    struct gw_api_snapshot *s = &api->snap;
    struct gw_api_ready r;
    char *text;
    size_t len = 0;

    gw_api_backlog_gauges(api, err == 0 ? b : NULL);
    gw_metric_set(api->m.ready, gw_api_ready_get(api, &r));
    gw_metric_set(api->m.uptime, (double)((uv_now(api->deps.loop) - api->started_ms) / 1000));
    gw_metric_set(api->m.db_pending, (double)gw_db_pending(api->deps.db));
    if (api->deps.collect)
        api->deps.collect(api->deps.ud);
    gw_metric_inc(api->m.refreshes);
    text = gw_metrics_render(api->deps.metrics, &len);
    if (text) {
        free(s->text);
        s->text = text;
        s->len = len;
        s->valid = true;
    } else {
        gw_warn("metrics.render_failed", "out of memory rendering /metrics");
    }
    s->at_ms = uv_now(api->deps.loop);
    s->refreshing = false;
    gw_api_snapshot_serve(api);
    gw_api_work_end(api);
}

static void gw_api_snapshot_refresh(struct gw_api *api)
{
    api->snap.refreshing = true;
    gw_api_work_begin(api);
    if (!gw_db_ready(api->deps.db) ||
        gw_store_backlog_read(api->deps.db, gw_api_backlog_done, api) != 0)
        gw_api_backlog_done(GW_EDB, NULL, api);
}

void gw_api_metrics(struct gw_api *api, struct gw_http_req *req)
{
    struct gw_api_snapshot *s = &api->snap;
    uint64_t now = uv_now(api->deps.loop);

    if (s->valid && !s->refreshing && now - s->at_ms < GW_API_SNAPSHOT_MS) {
        gw_http_respond(req, 200, "text/plain; version=0.0.4", s->text, s->len);
        return;
    }
    if (s->n_waiting == s->cap_waiting) {
        size_t cap = s->cap_waiting ? s->cap_waiting * 2 : 8;
        struct gw_http_req **w = realloc(s->waiting, cap * sizeof(*w));
        if (!w) {
            gw_api_error(req, GW_ENOMEM, NULL);
            return;
        }
        s->waiting = w;
        s->cap_waiting = cap;
    }
    s->waiting[s->n_waiting++] = req;
    if (!s->refreshing)
        gw_api_snapshot_refresh(api);
}
