/*
 * The dispatcher's per-axis state and its upkeep: each axis's peer health with its metrics and
 * stored breaker state, the snapshot /readyz reads, and the renewal of the leases of sends in
 * flight or being recorded, so no instance claims a delivery whose outcome is still on its way.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dispatch_internal.h"
#include "store/store_delivery.h"
#include "util/error.h"
#include "util/log.h"

#define GW_RENEW_MAX 1000

static void gw_dispatch_peer_write(struct gw_dax *ax);

static void gw_dispatch_peer_written(int err, void *ud)
{
    struct gw_dax *ax = ud;
    struct gw_dispatch *d = ax->d;

    d->peer_writes--;
    if (err != 0 && !d->freeing)
        ax->peer_dirty = true; /* written again on the next tick */
    gw_dispatch_maybe_free(d);
}

static void gw_dispatch_peer_write(struct gw_dax *ax)
{
    struct gw_dispatch *d = ax->d;
    struct gw_peer_view v;

    if (d->freeing || !ax->peer || !gw_db_ready(d->deps.db))
        return;
    gw_peer_view(ax->peer, uv_now(d->deps.loop), &v);
    ax->peer_dirty = false;
    if (gw_store_delivery_peer_set(d->deps.db, ax->ax.name, gw_peer_state_name(v.state),
                                   v.reason[0] ? v.reason : NULL, v.failures, d->owner,
                                   gw_dispatch_peer_written, ax) != 0)
        ax->peer_dirty = true;
    else
        d->peer_writes++;
}

static void gw_dispatch_peer_changed(const struct gw_peer *p, void *ud)
{
    struct gw_dax *ax = ud;
    struct gw_peer_view v;

    gw_peer_view(p, 0, &v);
    gw_metric_set(ax->breaker, (double)v.state);
    ax->peer_dirty = true;
    gw_dispatch_peer_write(ax);
    if (v.state == GW_PEER_OPEN)
        gw_dispatch_wake_for_probe(ax->d, p, uv_now(ax->d->deps.loop));
}

int gw_dispatch_axes_init(struct gw_dispatch *d)
{
    struct gw_metrics *m = d->deps.metrics;
    struct gw_metric_family *ok, *failed, *dead, *held, *breaker, *mismatch;
    uint64_t now = uv_now(d->deps.loop);

    ok = gw_metrics_counter(m, "gateway_send_ok_total", "deliveries acknowledged by an axis",
                            "axis", NULL);
    failed = gw_metrics_counter(m, "gateway_send_failed_total",
                                "failed send attempts (failures of the package)", "axis", NULL);
    dead = gw_metrics_counter(m, "gateway_send_dead_total", "deliveries given up", "axis", NULL);
    held = gw_metrics_counter(m, "gateway_send_held_total",
                              "sends failed by the peer and requeued without spending an attempt",
                              "axis", NULL);
    mismatch = gw_metrics_counter(
        m, "gateway_copy_mismatch_total",
        "per-axis copies found unfaithful to the stored package (never sent)", "axis", NULL);
    breaker = gw_metrics_gauge(m, "gateway_axis_breaker_state",
                               "circuit breaker of the axis: 0 closed, 1 open, 2 half-open", "axis",
                               NULL);
    d->axes = calloc(d->deps.n_axes ? d->deps.n_axes : 1, sizeof(*d->axes));
    if (!d->axes)
        return GW_ENOMEM;
    for (size_t i = 0; i < d->deps.n_axes; i++) {
        struct gw_dax *ax = &d->axes[i];
        const struct gw_dispatch_axis *src = &d->deps.axes[i];
        struct gw_peer_config pc = {
            .failures = d->cfg->breaker_failures,
            .backoff_ms = d->cfg->breaker_backoff_ms,
            .backoff_max_ms = d->cfg->breaker_backoff_max_ms,
            .max_concurrency = src->max_concurrency,
        };
        int rc;

        ax->d = d;
        ax->ax = *src;
        ax->ax.name = strdup(src->name);
        d->n_axes++;
        if (!ax->ax.name)
            return GW_ENOMEM;
        ax->ok = gw_metric_series(ok, src->name);
        ax->failed = gw_metric_series(failed, src->name);
        ax->dead = gw_metric_series(dead, src->name);
        ax->held = gw_metric_series(held, src->name);
        ax->mismatch = gw_metric_series(mismatch, src->name);
        if (!src->enabled || !src->ops)
            continue; /* its deliveries are held: never claimed by this instance */
        ax->breaker = gw_metric_series(breaker, src->name);
        gw_metric_set(ax->breaker, 0);
        rc = gw_peer_new(src->name, &pc, now, gw_dispatch_peer_changed, ax, &ax->peer);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void gw_dispatch_axes_free(struct gw_dispatch *d)
{
    for (size_t i = 0; i < d->n_axes; i++) {
        gw_peer_free(d->axes[i].peer);
        free((char *)d->axes[i].ax.name);
    }
    free(d->axes);
    d->axes = NULL;
    d->n_axes = 0;
}

size_t gw_dispatch_peer_snapshot(const struct gw_dispatch *d, struct gw_peer_view *out,
                                 bool *enabled, size_t max)
{
    uint64_t now;

    if (!d)
        return 0;
    now = uv_now(d->deps.loop);
    for (size_t i = 0; i < d->n_axes && i < max; i++) {
        const struct gw_dax *ax = &d->axes[i];
        if (enabled)
            enabled[i] = ax->peer != NULL;
        if (ax->peer) {
            gw_peer_view(ax->peer, now, &out[i]);
        } else {
            memset(&out[i], 0, sizeof(out[i]));
            out[i].axis = ax->ax.name;
            out[i].reason = "disabled";
        }
    }
    return d->n_axes < max ? d->n_axes : max;
}

static int gw_dispatch_id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void gw_dispatch_renewed(int err, const int64_t *ids, size_t n, void *ud)
{
    struct gw_dispatch *d = ud;

    d->renewing = false;
    if (gw_dispatch_maybe_free(d))
        return;
    if (err != 0) {
        gw_log(GW_LOG_WARN, "delivery.renew_failed", "renewing send leases failed: %s",
               gw_strerror(err));
        for (struct gw_send *s = d->all; s; s = s->all_next)
            s->renew_pending = false; /* tried again on the next tick */
        return;
    }
    int64_t *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
    if (sorted) {
        memcpy(sorted, ids, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), gw_dispatch_id_cmp);
    }
    for (struct gw_send *s = d->all; s; s = s->all_next) {
        if (!s->renew_pending)
            continue;
        s->renew_pending = false;
        bool kept = false;
        if (sorted)
            kept = bsearch(&s->delivery_id, sorted, n, sizeof(*sorted), gw_dispatch_id_cmp);
        else
            for (size_t i = 0; i < n && !kept; i++)
                kept = ids[i] == s->delivery_id;
        s->lease_lost = !kept;
        if (kept)
            s->lease_at = d->renew_at;
        if (s->lease_lost)
            gw_log_pkg(GW_LOG_WARN, "delivery.lease_lost", s->package_id, s->document_id,
                       "delivery %" PRId64 " attempt %d: its lease passed to another claim",
                       s->delivery_id, s->attempts);
    }
    free(sorted);
    /* More sends may be due than one renewal carries (GW_RENEW_MAX): go on at once. */
    gw_dispatch_lease_renew(d);
}

void gw_dispatch_lease_renew(struct gw_dispatch *d)
{
    struct gw_store_lease l[GW_RENEW_MAX];
    uint64_t now = uv_now(d->deps.loop);
    uint64_t due = d->cfg->lease_ms / 3;
    size_t n = 0;

    for (size_t i = 0; i < d->n_axes; i++) {
        if (d->axes[i].peer_dirty)
            gw_dispatch_peer_write(&d->axes[i]);
    }
    if (d->renewing || d->freeing || !gw_db_ready(d->deps.db))
        return;
    for (struct gw_send *s = d->all; s && n < GW_RENEW_MAX; s = s->all_next) {
        if (s->lease_lost || now - s->lease_at < due)
            continue;
        l[n].delivery_id = s->delivery_id;
        l[n++].attempt = s->attempts;
        s->renew_pending = true;
    }
    if (n == 0)
        return;
    d->renew_at = now;
    d->renewing = true;
    if (gw_store_delivery_renew(d->deps.db, d->owner, l, n, d->cfg->lease_ms, gw_dispatch_renewed,
                                d) != 0) {
        d->renewing = false;
        for (struct gw_send *s = d->all; s; s = s->all_next)
            s->renew_pending = false;
    }
}
