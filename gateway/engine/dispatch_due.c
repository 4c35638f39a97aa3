/*
 * Back-pressure of the dispatcher: a timer reads, for every axis this instance serves, how long
 * its oldest due delivery has waited, and how long the oldest due signature check has (store_due.h,
 * one cheap statement a second, never one per submission), and gw_dispatch_behind answers the API
 * from that reading. Only an axis whose breaker is closed counts, and only since its breaker last
 * closed: a peer that is down lets its queue grow without the gateway refusing work, and the
 * backlog it left has the bound's time to drain before new work is refused. The checks always
 * count: a check that needs revocation data it cannot get now is due again only later, so what
 * is due and waiting is the gateway's own work.
 */
#include <stdlib.h>

#include "engine/dispatch_internal.h"
#include "store/store_due.h"
#include "util/error.h"
#include "util/log.h"

#define GW_DUE_INTERVAL_MS 1000
#define GW_DUE_MIN_MS      100
/* A reading older than this many intervals is not believed (the database is away). */
#define GW_DUE_STALE_INTERVALS 3

static uint64_t gw_due_interval_ms(const struct gw_dispatch *d)
{
    /* At least two readings within the bound, so a small bound is noticed in time. */
    uint64_t half = d->cfg->backpressure_age_s * 1000 / 2;
    if (half < GW_DUE_MIN_MS)
        return GW_DUE_MIN_MS;
    return half < GW_DUE_INTERVAL_MS ? half : GW_DUE_INTERVAL_MS;
}

static void gw_due_read_done(int err, int64_t check_age_ms, const int64_t *age_ms, size_t n,
                             void *ud)
{
    struct gw_dispatch *d = ud;
    uint64_t now;
    size_t k = 0;

    d->due_reading = false;
    if (gw_dispatch_maybe_free(d) || d->freeing)
        return;
    if (err != 0) {
        gw_debug("delivery.due_read_failed", "reading the oldest due deliveries failed: %s",
                 gw_strerror(err));
        return; /* the reading ages and stops counting */
    }
    now = uv_now(d->deps.loop);
    d->check_age_ms = check_age_ms;
    d->check_read_at = now ? now : 1;
    gw_metric_set(d->check_age, check_age_ms > 0 ? (double)check_age_ms / 1000.0 : 0);
    for (size_t i = 0; i < d->n_axes && k < n; i++) {
        struct gw_dax *ax = &d->axes[i];
        if (!ax->peer)
            continue; /* not read: the same order as gw_due_tick's names */
        ax->due_age_ms = age_ms[k++];
        ax->due_read_at = now ? now : 1;
        gw_metric_set(ax->due_age, ax->due_age_ms > 0 ? (double)ax->due_age_ms / 1000.0 : 0);
    }
}

static void gw_due_tick(uv_timer_t *t)
{
    struct gw_dispatch *d = t->data;
    const char *names[GW_STORE_DUE_MAX_AXES];
    size_t n = 0;

    if (d->due_reading || d->stopping || d->freeing || !gw_db_ready(d->deps.db))
        return;
    for (size_t i = 0; i < d->n_axes && n < GW_STORE_DUE_MAX_AXES; i++) {
        if (d->axes[i].peer)
            names[n++] = d->axes[i].ax.name;
    }
    if (n == 0)
        return;
    if (gw_store_due_read(d->deps.db, names, n, gw_due_read_done, d) == 0)
        d->due_reading = true;
}

void gw_dispatch_due_start(struct gw_dispatch *d)
{
    struct gw_metric_family *f, *checks;

    if (d->cfg->backpressure_age_s == 0)
        return;
    f = gw_metrics_gauge(d->deps.metrics, "gateway_delivery_due_age_seconds",
                         "how long the oldest due delivery of the axis has waited (back-pressure)",
                         "axis", NULL);
    checks = gw_metrics_gauge(d->deps.metrics, "gateway_verify_due_age_seconds",
                              "how long the oldest due signature check has waited (back-pressure)",
                              NULL);
    d->check_age = gw_metric_series(checks);
    d->check_age_ms = -1;
    for (size_t i = 0; i < d->n_axes; i++) {
        d->axes[i].due_age_ms = -1;
        if (d->axes[i].peer)
            d->axes[i].due_age = gw_metric_series(f, d->axes[i].ax.name);
    }
    uv_timer_start(&d->due_timer, gw_due_tick, gw_due_interval_ms(d), gw_due_interval_ms(d));
}

bool gw_dispatch_behind(const struct gw_dispatch *d, const char **axis)
{
    uint64_t now, bound_ms, stale_ms;

    if (!d || d->cfg->backpressure_age_s == 0 || d->stopping || d->freeing)
        return false;
    now = uv_now(d->deps.loop);
    bound_ms = d->cfg->backpressure_age_s * 1000;
    stale_ms = GW_DUE_STALE_INTERVALS * gw_due_interval_ms(d);
    if (d->check_read_at != 0 && d->check_age_ms >= 0 && now - d->check_read_at <= stale_ms &&
        (uint64_t)d->check_age_ms > bound_ms) {
        if (axis)
            *axis = NULL; /* the signature checks */
        return true;
    }
    for (size_t i = 0; i < d->n_axes; i++) {
        const struct gw_dax *ax = &d->axes[i];
        struct gw_peer_view v;
        uint64_t age;

        if (!ax->peer || ax->due_read_at == 0 || ax->due_age_ms < 0 ||
            now - ax->due_read_at > stale_ms)
            continue;
        gw_peer_view(ax->peer, now, &v);
        if (v.state != GW_PEER_CLOSED)
            continue; /* the peer is away, not the gateway behind */
        age = (uint64_t)ax->due_age_ms;
        if (now - v.since_ms < age)
            age = now - v.since_ms; /* what waited before the breaker closed is the peer's */
        if (age > bound_ms) {
            if (axis)
                *axis = ax->ax.name;
            return true;
        }
    }
    return false;
}
