/*
 * Start-up that waits for PostgreSQL: runs the schema migrations (blocking libpq) on the libuv
 * thread pool, retries with exponential backoff and jitter while the server is unavailable, down
 * or restarting, and once they succeeded releases the held database pool and starts the engine.
 * A failure that retrying cannot fix (a changed migration file, an SQL error) stops the daemon
 * with exit status 1. The loop never blocks on the database. Once ready it also starts the
 * report of deliveries held by disabled axes (daemon/held.c).
 */
#include "daemon/startup.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/app.h"
#include "daemon/held.h"
#include "db/db.h"
#include "util/error.h"
#include "util/log.h"

struct gw_startup {
    struct gw_app *app;
    int (*ready)(struct gw_app *app);
    uv_work_t work;
    uv_timer_t timer; /* next attempt */
    enum gw_startup_state state;
    bool job_running;
    bool stopped;
    bool closed;
    unsigned attempts;
    unsigned failures; /* consecutive unavailable attempts */
    uint64_t backoff_ms;
    uint64_t rng;
    struct gw_held *held; /* counts of the disabled axes, once ready */
    int rc;               /* result of the last attempt, written by the worker */
    char why[1024];       /* its reason, written by the worker */
};

static const char *const gw_startup_names[] = {
    [GW_STARTUP_MIGRATING] = "migrating", [GW_STARTUP_WAITING] = "waiting_for_database",
    [GW_STARTUP_READY] = "ready",         [GW_STARTUP_FAILED] = "failed",
    [GW_STARTUP_STOPPED] = "stopped",
};

const char *gw_startup_state_name(enum gw_startup_state st)
{
    return st <= GW_STARTUP_STOPPED ? gw_startup_names[st] : "unknown";
}

enum gw_startup_state gw_startup_state(const struct gw_startup *s)
{
    return s ? s->state : GW_STARTUP_READY;
}

unsigned gw_startup_attempts(const struct gw_startup *s)
{
    return s ? s->attempts : 0;
}

static uint64_t gw_startup_random(struct gw_startup *s)
{
    uint64_t x = s->rng; /* xorshift64: jitter only */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

/* Thread-pool side: one migration attempt over its own blocking connection. */
static void gw_startup_work(uv_work_t *w)
{
    struct gw_startup *s = w->data;
    const struct gw_config *cfg = s->app->cfg;

    s->rc = gw_db_migrate_once(cfg->db.conninfo, cfg->migrations_dir, s->why, sizeof(s->why));
}

static void gw_startup_fail(struct gw_startup *s, const char *what, const char *detail)
{
    s->state = GW_STARTUP_FAILED;
    gw_log(GW_LOG_ERROR, "app.start_failed", "%s: %s; stopping", what, detail);
    s->app->exit_status = 1;
    gw_app_stop(s->app);
}

static void gw_startup_attempt(uv_timer_t *t);

/* The schema is ready: release the pool, start the engine and the held-deliveries report. */
static void gw_startup_ready(struct gw_startup *s)
{
    struct gw_app *app = s->app;
    int rc;

    s->state = GW_STARTUP_READY;
    gw_db_release(app->db);
    rc = s->ready(app);
    if (rc == 0)
        rc = gw_held_start(app, &s->held);
    if (rc != 0)
        gw_startup_fail(s, "start failed", gw_strerror(rc));
}

/* The server was unavailable: the next attempt after base + up to 50% jitter, capped. The first
 * failure and those at the cap are logged as warnings, the others at debug level. */
static void gw_startup_retry(struct gw_startup *s)
{
    const struct gw_db_config *db = &s->app->cfg->db;
    uint64_t base = s->backoff_ms, delay;
    bool at_cap;

    delay = base + gw_startup_random(s) % (base / 2 + 1);
    if (delay > db->reconnect_max_ms)
        delay = db->reconnect_max_ms;
    if (delay < db->reconnect_min_ms)
        delay = db->reconnect_min_ms;
    at_cap = base >= db->reconnect_max_ms;
    s->backoff_ms = base >= db->reconnect_max_ms / 2 ? db->reconnect_max_ms : base * 2;
    s->failures++;
    s->state = GW_STARTUP_WAITING;
    gw_log(s->failures == 1 || at_cap ? GW_LOG_WARN : GW_LOG_DEBUG, "app.waiting_for_database",
           "schema migration attempt %u: database unavailable (%s); retrying in %" PRIu64 " ms",
           s->attempts, s->why, delay);
    uv_timer_start(&s->timer, gw_startup_attempt, delay, 0);
}

static void gw_startup_done(uv_work_t *w, int status)
{
    struct gw_startup *s = w->data;
    struct gw_app *app = s->app;

    s->job_running = false;
    if (s->stopped || status != 0) {
        s->state = s->state == GW_STARTUP_FAILED ? s->state : GW_STARTUP_STOPPED;
    } else if (s->rc == 0) {
        gw_log(GW_LOG_INFO, "app.schema_ready", "schema up to date after %u attempt(s)",
               s->attempts);
        gw_startup_ready(s);
    } else if (s->rc == GW_EAGAIN) {
        gw_startup_retry(s);
    } else {
        gw_startup_fail(s, "schema migration failed, which retrying cannot fix", s->why);
    }
    gw_app_work_end(app); /* last: it may complete a drain */
}

static void gw_startup_attempt(uv_timer_t *t)
{
    struct gw_startup *s = t->data;
    int rc;

    if (s->stopped || s->job_running)
        return;
    s->attempts++;
    s->state = GW_STARTUP_MIGRATING;
    s->job_running = true;
    s->why[0] = '\0';
    gw_app_work_begin(s->app); /* a drain waits for the attempt: a libpq call cannot be cut */
    rc = uv_queue_work(s->app->loop, &s->work, gw_startup_work, gw_startup_done);
    if (rc != 0) {
        s->job_running = false;
        gw_startup_fail(s, "cannot queue the schema migration", uv_strerror(rc));
        gw_app_work_end(s->app);
    }
}

int gw_startup_begin(struct gw_app *app, bool migrate, int (*ready)(struct gw_app *app),
                     struct gw_startup **out)
{
    struct gw_startup *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (!s)
        return GW_ENOMEM;
    s->app = app;
    s->ready = ready;
    s->work.data = s;
    s->backoff_ms = app->cfg->db.reconnect_min_ms ? app->cfg->db.reconnect_min_ms : 100;
    s->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s;
    if (s->rng == 0)
        s->rng = 0x9e3779b97f4a7c15ull;
    uv_timer_init(app->loop, &s->timer);
    s->timer.data = s;
    *out = s;
    if (!migrate) {
        gw_startup_ready(s);
        return s->state == GW_STARTUP_READY ? 0 : GW_EIO;
    }
    gw_log(GW_LOG_INFO, "app.migrating", "applying schema migrations from %s",
           app->cfg->migrations_dir);
    gw_startup_attempt(&s->timer);
    return 0;
}

void gw_startup_stop(struct gw_startup *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    uv_timer_stop(&s->timer);
    gw_held_stop(s->held);
    if (s->job_running)
        uv_cancel((uv_req_t *)&s->work); /* only succeeds if it has not started */
    if (s->state != GW_STARTUP_READY && s->state != GW_STARTUP_FAILED)
        s->state = GW_STARTUP_STOPPED;
}

void gw_startup_close(struct gw_startup *s)
{
    if (!s || s->closed)
        return;
    gw_startup_stop(s);
    gw_held_close(s->held);
    s->closed = true;
    uv_close((uv_handle_t *)&s->timer, NULL);
}

void gw_startup_free(struct gw_startup *s)
{
    if (s)
        gw_held_free(s->held);
    free(s);
}

size_t gw_startup_held(const struct gw_startup *s, const struct gw_held_axis **out)
{
    return gw_held_axes(s ? s->held : NULL, out);
}
