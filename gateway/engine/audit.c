/*
 * Periodic sealing of the audit trail into its hash chain. A full batch is followed at once by
 * another, so a burst of events is sealed within a few ticks; errors are logged and retried on
 * the next tick (unsealed events stay in the table, nothing is lost). Every minute a tick sweeps
 * orphan staged bodies instead (store_body.h): one statement, one at a time with the seals.
 * At most once a minute, when seals moved it, a tick reads the trail's head instead and logs its
 * position and hash (info "audit.head"): a log kept off the database host then anchors the
 * trail, which whoever can write the tables could otherwise re-seal (database.md).
 */
#include "engine/audit.h"

#include <stdint.h>
#include <stdlib.h>

#include "store/store_audit.h"
#include "store/store_body.h"
#include "util/error.h"
#include "util/log.h"

#define GW_AUDIT_INTERVAL_MS 1000
#define GW_AUDIT_BATCH       5000
#define GW_AUDIT_SWEEP_TICKS 60 /* a sweep of staged bodies every minute */
#define GW_AUDIT_BODY_AGE_MS (3600u * 1000)
#define GW_AUDIT_HEAD_MS     60000 /* the head logged at most once a minute */

struct gw_audit {
    struct gw_audit_deps deps;
    uv_timer_t timer;
    bool busy;
    bool stopping;
    bool moved;            /* a seal moved the head since it was last logged */
    uint64_t next_head_ms; /* loop time from which it may be logged again */
    unsigned ticks;
};

static void gw_audit_tick(uv_timer_t *t);

static void gw_audit_sealed(int err, int64_t n, void *ud)
{
    struct gw_audit *a = ud;

    a->busy = false;
    if (err != 0)
        gw_log(GW_LOG_WARN, "audit.seal_failed", "sealing audit events failed: %s",
               gw_strerror(err));
    if (n > 0)
        a->moved = true;
    if (a->stopping) {
        if (a->deps.idle)
            a->deps.idle(a->deps.ud);
        return;
    }
    if (n >= GW_AUDIT_BATCH)
        uv_timer_start(&a->timer, gw_audit_tick, 0, GW_AUDIT_INTERVAL_MS);
}

static void gw_audit_swept(int err, int64_t n, void *ud)
{
    struct gw_audit *a = ud;

    a->busy = false;
    if (err != 0)
        gw_log(GW_LOG_WARN, "audit.sweep_failed", "deleting orphan staged bodies failed: %s",
               gw_strerror(err));
    else if (n > 0)
        gw_log(GW_LOG_INFO, "audit.swept", "deleted %lld orphan staged bodies", (long long)n);
    if (a->stopping && a->deps.idle)
        a->deps.idle(a->deps.ud);
}

static void gw_audit_head(int err, int64_t seq, const char *hex, void *ud)
{
    struct gw_audit *a = ud;

    a->busy = false;
    if (err != 0)
        gw_log(GW_LOG_WARN, "audit.head_failed", "reading the trail's head failed: %s",
               gw_strerror(err));
    else
        gw_log(GW_LOG_INFO, "audit.head", "audit trail head: position %lld, hash %s",
               (long long)seq, hex);
    if (a->stopping && a->deps.idle)
        a->deps.idle(a->deps.ud);
}

static void gw_audit_tick(uv_timer_t *t)
{
    struct gw_audit *a = t->data;
    uint64_t age = a->deps.staged_body_age_ms ? a->deps.staged_body_age_ms : GW_AUDIT_BODY_AGE_MS;

    if (a->busy || a->stopping || !gw_db_ready(a->deps.db))
        return;
    a->busy = true;
    if (++a->ticks % GW_AUDIT_SWEEP_TICKS == 0) {
        if (gw_store_body_janitor(a->deps.db, age, GW_AUDIT_SWEEP_BATCH, gw_audit_swept, a) != 0)
            a->busy = false;
        return;
    }
    if (a->moved && uv_now(a->deps.loop) >= a->next_head_ms) {
        a->moved = false;
        a->next_head_ms = uv_now(a->deps.loop) + GW_AUDIT_HEAD_MS;
        if (gw_store_audit_head(a->deps.db, gw_audit_head, a) != 0)
            a->busy = false;
        return;
    }
    if (gw_store_audit_seal(a->deps.db, GW_AUDIT_BATCH, gw_audit_sealed, a) != 0)
        a->busy = false;
}

int gw_audit_start(const struct gw_audit_deps *deps, struct gw_audit **out)
{
    struct gw_audit *a = calloc(1, sizeof(*a));
    if (!a)
        return GW_ENOMEM;
    a->deps = *deps;
    uv_timer_init(deps->loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, gw_audit_tick, GW_AUDIT_INTERVAL_MS, GW_AUDIT_INTERVAL_MS);
    *out = a;
    return 0;
}

void gw_audit_stop(struct gw_audit *a)
{
    if (!a)
        return;
    a->stopping = true;
    uv_timer_stop(&a->timer);
}

bool gw_audit_idle(const struct gw_audit *a)
{
    return !a || !a->busy;
}

static void gw_audit_closed(uv_handle_t *h)
{
    free(h->data);
}

void gw_audit_free(struct gw_audit *a)
{
    if (a)
        uv_close((uv_handle_t *)&a->timer, gw_audit_closed);
}
