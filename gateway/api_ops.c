/*
 * Operations endpoints: /healthz (the process answers), /readyz (it can do its job: database up,
 * not draining, axes configured) and /metrics (Prometheus text exposition of the counters).
 */
#include <stdio.h>
#include <string.h>

#include "api_internal.h"
#include "dispatch.h"

void gw_api_healthz(struct gw_app *app, struct gw_http_req *req)
{
    static const char body[] = "{\"status\":\"alive\"}";
    gw_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

void gw_api_readyz(struct gw_app *app, struct gw_http_req *req)
{
    bool db_ok = gw_db_ready(app->db);
    bool ready = db_ok && !app->draining && app->n_axes > 0;
    json_t *axes = json_array();
    json_t *obj;

    for (size_t i = 0; i < app->n_axes; i++)
        json_array_append_new(axes, json_string(app->axes[i].name));
    obj = json_pack("{s:b,s:{s:s,s:b,s:o},s:I}", "ready", ready, "checks", "database",
                    db_ok ? "ok" : "unavailable", "draining", app->draining, "axes", axes,
                    "db_pending", (json_int_t)gw_db_pending(app->db));
    gw_api_json(req, ready ? 200 : 503, obj);
}

struct gw_metric_buf {
    char data[8192];
    size_t len;
};

static void gw_metric(struct gw_metric_buf *b, const char *name, const char *type, const char *help,
                      uint64_t value)
{
    int n = snprintf(b->data + b->len, sizeof(b->data) - b->len,
                     "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                     (unsigned long long)value);
    if (n > 0 && (size_t)n < sizeof(b->data) - b->len)
        b->len += (size_t)n;
}

void gw_api_metrics(struct gw_app *app, struct gw_http_req *req)
{
    const struct gw_app_stats *s = &app->stats;
    struct gw_metric_buf b = {.len = 0};

    gw_metric(&b, "gateway_up", "gauge", "1 while the process serves", 1);
    gw_metric(&b, "gateway_ready", "gauge", "1 when the database is reachable and not draining",
              gw_db_ready(app->db) && !app->draining);
    gw_metric(&b, "gateway_uptime_seconds", "gauge", "seconds since start",
              (uv_now(app->loop) - app->started_ms) / 1000);
    gw_metric(&b, "gateway_http_requests_total", "counter", "HTTP requests handled",
              s->http_requests);
    gw_metric(&b, "gateway_http_inflight", "gauge", "requests being handled",
              gw_http_server_inflight(app->http));
    gw_metric(&b, "gateway_db_pending", "gauge", "queries queued or in flight",
              gw_db_pending(app->db));
    gw_metric(&b, "gateway_submit_created_total", "counter", "packages stored from QLVBĐH",
              s->submit_created);
    gw_metric(&b, "gateway_submit_duplicate_total", "counter", "identical resubmissions",
              s->submit_duplicate);
    gw_metric(&b, "gateway_submit_conflict_total", "counter",
              "resubmissions with other bytes (409)", s->submit_conflict);
    gw_metric(&b, "gateway_submit_rejected_total", "counter", "submissions refused as invalid",
              s->submit_rejected);
    gw_metric(&b, "gateway_submit_db_errors_total", "counter", "submissions not stored (503)",
              s->submit_db_errors);
    gw_metric(&b, "gateway_send_ok_total", "counter", "deliveries acknowledged by an axis",
              s->sends_ok);
    gw_metric(&b, "gateway_send_failed_total", "counter", "failed send attempts", s->sends_failed);
    gw_metric(&b, "gateway_send_dead_total", "counter", "deliveries given up", s->sends_dead);
    gw_metric(&b, "gateway_send_inflight", "gauge", "sends in flight",
              gw_dispatch_inflight(app->dispatch));
    gw_metric(&b, "gateway_fetch_stored_total", "counter", "packages fetched and stored",
              s->fetched);
    gw_metric(&b, "gateway_fetch_duplicate_total", "counter", "packages listed again",
              s->fetch_duplicates);
    gw_metric(&b, "gateway_fetch_invalid_total", "counter", "fetched packages that are not edXML",
              s->fetch_invalid);
    gw_metric(&b, "gateway_axis_ack_total", "counter", "transport acks sent to an axis",
              s->axis_acks);
    gw_metric(&b, "gateway_axis_ack_failures_total", "counter", "transport acks that failed",
              s->axis_ack_failures);
    gw_metric(&b, "gateway_poll_errors_total", "counter", "failed poll steps", s->poll_errors);
    gw_metric(&b, "gateway_inbox_ack_total", "counter", "inbox packages acked by QLVBĐH",
              s->inbox_acks);
    gw_http_respond(req, 200, "text/plain; version=0.0.4", b.data, b.len);
}
