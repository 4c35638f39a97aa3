#ifndef GW_APP_H
#define GW_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine/axis.h"
#include "config/config.h"
#include "db/db.h"
#include "http/http_client.h"
#include "http/http_server.h"
#include "pipeline/ingest.h"
#include "engine/revoke.h"
#include "pipeline/verify.h"
#include "sig/path.h"

/*
 * The running daemon: configuration, the loop and every long-lived component, plus the counters
 * that /metrics exposes. One per process; components reach it through the pointer they were
 * started with, never through a global.
 */

struct gw_api;
struct gw_audit;
struct gw_directory;
struct gw_dispatch;
struct gw_metrics;
struct gw_poller;
struct gw_startup;

struct gw_axis_inst {
    const char *name;
    const struct gw_axis_ops *ops;
    void *state;
    const struct gw_config_axis *cfg;
    struct gw_poller *poller;
    /* The axis's own HTTP client: its connection pool, sized by the axis's concurrency limit
     * plus the poller's and directory's requests (gw_app_axis_pool). */
    struct gw_httpc *httpc;
};

struct gw_app_paper;
struct gw_app_aia;
struct gw_app_push;

struct gw_app {
    uv_loop_t *loop;
    struct gw_config *cfg;
    struct gw_db *db;
    struct gw_httpc *httpc;
    struct gw_http_server *http;
    struct gw_dispatch *dispatch;
    struct gw_audit *audit;
    /* agency directories (engine/directory.h) */
    struct gw_directory *directory;
    struct gw_metrics *metrics; /* labelled series of the components (rendered by /metrics) */
    struct gw_axis_inst *axes;
    size_t n_axes;
    struct gw_api *api; /* northbound API (daemon/app_api.c) */
    /* how received packages are read, checked and stored (daemon/app_ingest.c) */
    struct gw_edxml_xsd *xsd;
    struct gw_ingest_deps ingest;
    struct gw_body_cache *body_cache; /* chunks just stored, for the check and the copies */
    /* signature checks (daemon/app_sig.c) */
    struct gw_verifier *verifier;
    struct gw_trust *trust; /* the snapshot in force; NULL without [verify] trust_dir */
    struct gw_path_opts path_opts;
    struct gw_revoke_opts revoke_opts; /* engine/revoke.h: OCSP and CRL fetches */
    struct gw_app_paper *paper;        /* paper-copy catalogue and counts (daemon/app_paper.c) */
    struct gw_app_aia *aia;            /* issuers fetched at caIssuers URLs (daemon/app_aia.c) */
    struct gw_app_push *push;          /* push to QLVBĐH's webhook (daemon/app_push.c), or NULL */
    char owner[160];                   /* lease owner id: instance_id:pid:random */
    uint64_t started_ms;
    unsigned pending_work; /* thread-pool jobs and DB calls started by the API */
    bool draining;
    bool http_drained;
    bool closing;
    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_usr1;
    uv_signal_t sig_hup;
    uv_timer_t drain_timer;
    struct gw_startup *startup; /* migrations pending at start (daemon/startup.h), or NULL */
    int exit_status;            /* 1 once start-up failed for good */
};

/* Starts every component on loop. With migrate_on_start the HTTP server answers at once while
 * the migrations wait for PostgreSQL; the database pool is released and the dispatcher, pollers
 * and audit start once they succeeded. On error everything started so far is stopped again. */
int gw_app_start(struct gw_app *app, uv_loop_t *loop, struct gw_config *cfg)
    __attribute__((warn_unused_result));

/* Signature checks (daemon/app_sig.c): init loads the trust store and starts the XML-DSig
 * library; start runs the verifier; reload (SIGHUP) reloads the trust store. */
int gw_app_sig_init(struct gw_app *app) __attribute__((warn_unused_result));
int gw_app_sig_start(struct gw_app *app) __attribute__((warn_unused_result));
void gw_app_sig_reload(struct gw_app *app);
void gw_app_sig_free(struct gw_app *app);

/* Issuer certificates at caIssuers URLs (daemon/app_aia.c): the verifier's issuer hook (see
 * pipeline/verify.h); free drops the cache. */
int gw_app_issuer(void *ud, const char *url, void (*done)(void *done_ud, X509 *cert),
                  void *done_ud);
void gw_app_aia_free(struct gw_app *app);

/* Paper copies (daemon/app_paper.c): init loads the catalogue (a bad one fails the start) and
 * hooks the classification into the ingest; start counts pending and overdue copies for
 * /metrics; reload (SIGHUP) replaces the catalogue unless the new one is refused. */
int gw_app_paper_init(struct gw_app *app) __attribute__((warn_unused_result));
void gw_app_paper_start(struct gw_app *app);
void gw_app_paper_reload(struct gw_app *app);
void gw_app_paper_stop(struct gw_app *app);
void gw_app_paper_free(struct gw_app *app);

/* Northbound TLS (daemon/app_tls.c): start loads [server] tls_* into the listener (a bad file
 * fails the start); reload (SIGHUP) rebuilds the context on the thread pool and swaps it. */
int gw_app_tls_start(struct gw_app *app) __attribute__((warn_unused_result));
void gw_app_tls_reload(struct gw_app *app);

/* Push to QLVBĐH (daemon/app_push.c), only with [push]: start once the schema is ready; kick,
 * stop and idle for signals and the drain; ready gives the webhook breaker's state while it is
 * not closed (*state NULL when closed or without push); free before the HTTP client closes. */
int gw_app_push_start(struct gw_app *app) __attribute__((warn_unused_result));
void gw_app_push_kick(struct gw_app *app);
void gw_app_push_stop(struct gw_app *app);
bool gw_app_push_idle(const struct gw_app *app);
void gw_app_push_ready(struct gw_app *app, const char **state, int64_t *retry_in_ms);
void gw_app_push_free(struct gw_app *app);

/* The ingest dependencies: loads the header schema. 0, or the load error (logged). */
int gw_app_ingest_init(struct gw_app *app) __attribute__((warn_unused_result));
/* Stops keeping stored chunks (shutdown, with the pool); free once the loop has ended. */
void gw_app_ingest_close(struct gw_app *app);
void gw_app_ingest_free(struct gw_app *app);

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

/* Builds app->api (and app->metrics if not yet there) from the running components
 * (daemon/app_api.c); the HTTP server is then started with gw_api_handle and app->api. */
int gw_app_api_start(struct gw_app *app) __attribute__((warn_unused_result));

/* The axis instance configured under name, or NULL. */
struct gw_axis_inst *gw_app_axis(struct gw_app *app, const char *name);

#endif
