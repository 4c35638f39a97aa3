/*
 * Operations endpoints: /healthz (the process answers), /readyz (it can do its job: database up,
 * not draining, axes configured) and /metrics (Prometheus text exposition of this process's
 * counters, plus backlog gauges read from PostgreSQL so they hold across instances).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/common.h"
#include "engine/dispatch.h"
#include "util/error.h"
#include "metrics/metrics.h"
#include "store/pgfmt.h"

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
    char data[16384];
    size_t len;
};

/* Appends to the exposition; output that would not fit is dropped whole. */
__attribute__((format(printf, 2, 3))) static void gw_metric_printf(struct gw_metric_buf *b,
                                                                   const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, sizeof(b->data) - b->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(b->data) - b->len)
        b->len += (size_t)n;
}

static void gw_metric_head(struct gw_metric_buf *b, const char *name, const char *type,
                           const char *help)
{
    gw_metric_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gw_metric(struct gw_metric_buf *b, const char *name, const char *type, const char *help,
                      uint64_t value)
{
    gw_metric_head(b, name, type, help);
    gw_metric_printf(b, "%s %llu\n", name, (unsigned long long)value);
}

/* Counters exposed as-is, in struct gw_app_stats. */
static const struct gw_counter {
    const char *name;
    const char *help;
    size_t offset;
} gw_counters[] = {
    {"gateway_http_requests_total", "HTTP requests handled",
     offsetof(struct gw_app_stats, http_requests)},
    {"gateway_submit_created_total", "packages stored from QLVBĐH",
     offsetof(struct gw_app_stats, submit_created)},
    {"gateway_submit_duplicate_total", "identical resubmissions",
     offsetof(struct gw_app_stats, submit_duplicate)},
    {"gateway_submit_conflict_total", "resubmissions with other bytes (409)",
     offsetof(struct gw_app_stats, submit_conflict)},
    {"gateway_submit_rejected_total", "submissions refused as invalid",
     offsetof(struct gw_app_stats, submit_rejected)},
    {"gateway_submit_db_errors_total", "submissions not stored (503)",
     offsetof(struct gw_app_stats, submit_db_errors)},
    {"gateway_fetch_stored_total", "packages fetched and stored",
     offsetof(struct gw_app_stats, fetched)},
    {"gateway_fetch_duplicate_total", "packages listed again",
     offsetof(struct gw_app_stats, fetch_duplicates)},
    {"gateway_fetch_invalid_total", "fetched packages that are not edXML",
     offsetof(struct gw_app_stats, fetch_invalid)},
    {"gateway_fetch_oversized_total", "listed packages over max_package_bytes (left on the axis)",
     offsetof(struct gw_app_stats, fetch_oversized)},
    {"gateway_axis_ack_total", "transport acks sent to an axis",
     offsetof(struct gw_app_stats, axis_acks)},
    {"gateway_axis_ack_failures_total", "transport acks that failed",
     offsetof(struct gw_app_stats, axis_ack_failures)},
    {"gateway_poll_errors_total", "failed poll steps", offsetof(struct gw_app_stats, poll_errors)},
    {"gateway_inbox_ack_total", "inbox packages acked by QLVBĐH",
     offsetof(struct gw_app_stats, inbox_acks)},
};

/* Backlog gauges read from PostgreSQL, so they hold across instances and restarts: one row,
 * count and oldest age per open delivery state (in gw_backlog_states order), then the inbox. */
static const char gw_sql_backlog[] =
    "SELECT count(*) FILTER (WHERE state = 'QUEUED'), count(*) FILTER (WHERE state = 'SENDING'),"
    " count(*) FILTER (WHERE state = 'DEAD'),"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'QUEUED'))),"
    "  0)::bigint,"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'SENDING'))),"
    "  0)::bigint,"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'DEAD'))),"
    "  0)::bigint,"
    " (SELECT count(*) FROM package WHERE direction = 'in' AND state = 'AVAILABLE'),"
    " (SELECT coalesce(floor(extract(epoch FROM now() - min(created_at))), 0)::bigint"
    "  FROM package WHERE direction = 'in' AND state = 'AVAILABLE')"
    " FROM delivery WHERE state <> 'SENT'";

static const char *const gw_backlog_states[] = {"queued", "sending", "dead"};
#define GW_BACKLOG_N 3

struct gw_metrics_job {
    struct gw_app *app;
    struct gw_http_req *req;
    struct gw_metric_buf b;
};

static void gw_metrics_backlog(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_metrics_job *job = ud;
    struct gw_metric_buf *b = &job->b;
    struct gw_app *app = job->app;
    bool ok = err == 0 && PQntuples(res) == 1;

    gw_metric(b, "gateway_backlog_ok", "gauge", "1 when the backlog gauges below are current", ok);
    if (ok) {
        gw_metric_head(b, "gateway_deliveries", "gauge",
                       "deliveries not yet acknowledged by an axis, by state");
        for (int i = 0; i < GW_BACKLOG_N; i++)
            gw_metric_printf(b, "gateway_deliveries{state=\"%s\"} %s\n", gw_backlog_states[i],
                             PQgetvalue(res, 0, i));
        gw_metric_head(b, "gateway_delivery_oldest_seconds", "gauge",
                       "age of the oldest unacknowledged delivery, by state");
        for (int i = 0; i < GW_BACKLOG_N; i++)
            gw_metric_printf(b, "gateway_delivery_oldest_seconds{state=\"%s\"} %s\n",
                             gw_backlog_states[i], PQgetvalue(res, 0, GW_BACKLOG_N + i));
        gw_metric(b, "gateway_inbox_waiting", "gauge", "received packages QLVBĐH has not taken",
                  (uint64_t)gw_pgfmt_int64(PQgetvalue(res, 0, 2 * GW_BACKLOG_N)));
        gw_metric(b, "gateway_inbox_oldest_seconds", "gauge",
                  "age of the oldest package waiting in the inbox",
                  (uint64_t)gw_pgfmt_int64(PQgetvalue(res, 0, 2 * GW_BACKLOG_N + 1)));
    }
    gw_http_respond(job->req, 200, "text/plain; version=0.0.4", b->data, b->len);
    free(job);
    gw_app_work_end(app);
}

void gw_api_metrics(struct gw_app *app, struct gw_http_req *req)
{
    struct gw_metrics_job *job = calloc(1, sizeof(*job));
    struct gw_metric_buf *b;

    if (!job) {
        gw_api_error(req, GW_ENOMEM, NULL);
        return;
    }
    job->app = app;
    job->req = req;
    b = &job->b;
    gw_metric(b, "gateway_up", "gauge", "1 while the process serves", 1);
    gw_metric(b, "gateway_ready", "gauge", "1 when the database is reachable and not draining",
              gw_db_ready(app->db) && !app->draining);
    gw_metric(b, "gateway_uptime_seconds", "gauge", "seconds since start",
              (uv_now(app->loop) - app->started_ms) / 1000);
    gw_metric(b, "gateway_http_inflight", "gauge", "requests being handled",
              app->http ? gw_http_server_inflight(app->http) : 0);
    gw_metric(b, "gateway_db_pending", "gauge", "queries queued or in flight",
              gw_db_pending(app->db));
    gw_metric(b, "gateway_send_inflight", "gauge", "sends in flight",
              gw_dispatch_inflight(app->dispatch));
    for (size_t i = 0; i < GW_ARRAY_LEN(gw_counters); i++) {
        const uint64_t *v = (const uint64_t *)((const char *)&app->stats + gw_counters[i].offset);
        gw_metric(b, gw_counters[i].name, "counter", gw_counters[i].help, *v);
    }
    {
        /* The labelled series of the engine's modules (gateway_send_*_total{axis}, ...). */
        size_t len = 0;
        char *text = gw_metrics_render(app->metrics, &len);
        if (text && len < sizeof(b->data) - b->len) {
            memcpy(b->data + b->len, text, len);
            b->len += len;
        }
        free(text);
    }
    gw_app_work_begin(app);
    if (!gw_db_ready(app->db) ||
        gw_db_query(app->db, gw_sql_backlog, 0, NULL, NULL, NULL, gw_metrics_backlog, job) != 0)
        gw_metrics_backlog(GW_EDB, NULL, "", job);
}
