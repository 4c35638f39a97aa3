#ifndef GW_APP_H
#define GW_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "api/auth.h"
#include "engine/axis.h"
#include "config/config.h"
#include "db/db.h"
#include "http/http_client.h"
#include "http/http_server.h"

/*
 * The running daemon: configuration, the loop and every long-lived component, plus the counters
 * that /metrics exposes. One per process; components reach it through the pointer they were
 * started with, never through a global.
 */

struct gw_audit;
struct gw_dispatch;
struct gw_metrics;
struct gw_poller;

struct gw_axis_inst {
    const char *name;
    const struct gw_axis_ops *ops;
    void *state;
    const struct gw_config_axis *cfg;
    struct gw_poller *poller;
};

struct gw_app_stats {
    uint64_t http_requests;
    uint64_t submit_created;
    uint64_t submit_duplicate;
    uint64_t submit_conflict;
    uint64_t submit_rejected;
    uint64_t submit_db_errors;
    uint64_t fetched;
    uint64_t fetch_duplicates;
    uint64_t fetch_invalid;
    uint64_t fetch_oversized;
    uint64_t axis_acks;
    uint64_t axis_ack_failures;
    uint64_t inbox_acks;
    uint64_t poll_errors;
};

struct gw_app {
    uv_loop_t *loop;
    struct gw_config *cfg;
    struct gw_db *db;
    struct gw_httpc *httpc;
    struct gw_http_server *http;
    struct gw_dispatch *dispatch;
    struct gw_audit *audit;
    struct gw_metrics *metrics; /* labelled series of the engine's modules */
    struct gw_axis_inst *axes;
    size_t n_axes;
    struct gw_auth_client *clients;
    size_t n_clients;
    char owner[160]; /* lease owner id: instance_id:pid:random */
    uint64_t started_ms;
    unsigned pending_work; /* thread-pool jobs and DB calls started by the API */
    bool draining;
    bool http_drained;
    bool closing;
    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_usr1;
    uv_timer_t drain_timer;
    struct gw_app_stats stats;
};

/* Starts every component on loop. On error everything started so far is stopped again. */
int gw_app_start(struct gw_app *app, uv_loop_t *loop, struct gw_config *cfg)
    __attribute__((warn_unused_result));

/* Begins a graceful drain (as on SIGTERM): stop accepting, finish in-flight work, close. */
void gw_app_stop(struct gw_app *app);

/* Components call this when they become idle so the drain can complete. */
void gw_app_maybe_finish(struct gw_app *app);

/* An API request's asynchronous work (thread-pool job, database query) starts or ends; the drain
 * waits for all of them. */
void gw_app_work_begin(struct gw_app *app);
void gw_app_work_end(struct gw_app *app);

/* Frees what gw_app_start allocated, once the loop has ended. */
void gw_app_free(struct gw_app *app);

/* The axis instance configured under name, or NULL. */
struct gw_axis_inst *gw_app_axis(struct gw_app *app, const char *name);

#endif
