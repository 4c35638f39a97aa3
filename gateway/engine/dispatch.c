/*
 * Delivery dispatcher: one repeating timer scans for due deliveries, claims a batch under a lease
 * (only for the enabled axes given, each within its peer health's room), hands each to its axis
 * adapter and passes the outcome to dispatch_record.c. New work (gw_dispatch_kick) and an open
 * breaker's probe time fire the timer at once rather than at the next scan; a claim that fills
 * its room is followed at once by another, so a backlog drains at the speed of the axis.
 */
#include "engine/dispatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dispatch_internal.h"
#include "store/store_delivery.h"
#include "util/error.h"
#include "util/log.h"
#include "util/utf8.h"

#define GW_DISPATCH_LOG_INTERVAL_MS 10000
#define GW_DISPATCH_DB_WAIT_MS      250 /* a claim skipped while the pool is down: retried after */

static void gw_send_release_bytes(struct gw_send *s)
{
    if (s->body) {
        s->d->inflight_bytes -= s->len;
        gw_dispatch_body_close(s);
    }
}

void gw_dispatch_send_free(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;

    gw_send_release_bytes(s);
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else if (d->all == s)
        d->all = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    free(s->document_id);
    free(s->axis_doc_id);
    free(s->error);
    free(s);
}

bool gw_dispatch_maybe_free(struct gw_dispatch *d)
{
    if (!d->closed || d->inflight > 0 || d->claiming || d->renewing || d->peer_writes > 0 ||
        d->due_reading)
        return false;
    gw_dispatch_axes_free(d);
    free(d->organ_id);
    free(d->owner);
    free(d);
    return true;
}

void gw_dispatch_notify_idle(struct gw_dispatch *d)
{
    if (d->stopping && !d->freeing && d->deps.idle)
        d->deps.idle(d->deps.ud);
}

void gw_dispatch_send_finished(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;
    struct gw_dax *ax = s->axis;

    gw_dispatch_send_free(s);
    d->inflight--;
    if (gw_dispatch_maybe_free(d))
        return;
    if (d->stopping) {
        gw_dispatch_notify_idle(d);
    } else if (!d->freeing && (d->saturated || (ax && ax->more))) {
        /* Claim again once a useful batch of room is free, not after every single send: in all
         * when the last claim filled its room, or for an axis whose own limit was all it lacked
         * (with several axes the claim's total says nothing of each). */
        unsigned max = d->cfg->max_inflight;
        unsigned step = d->cfg->batch / 4 ? d->cfg->batch / 4 : 1;
        bool room = d->inflight == 0 || max - d->inflight >= step;
        if (!room && ax && ax->more && ax->peer) {
            /* the same quarter of a batch, or the axis's whole limit when that is smaller, free
             * both for it and in all */
            unsigned lim = ax->ax.max_concurrency, want = lim && lim < step ? lim : step;
            room =
                max - d->inflight >= want && gw_peer_room(ax->peer, uv_now(d->deps.loop)) >= want;
        }
        if (room)
            gw_dispatch_kick(d);
    }
}

/* The error text stored with a failed attempt: valid UTF-8 however the peer's text was cut. */
char *gw_dispatch_error_text(int err, const char *detail)
{
    char buf[GW_STORE_ERROR_MAX + 64];

    snprintf(buf, sizeof(buf), "%s%s%s", err ? gw_errcode(err) : "axis_error", detail ? ": " : "",
             detail ? detail : (err ? "" : ": no DocId in answer"));
    return gw_utf8_sanitize(buf, GW_STORE_ERROR_MAX);
}

static void gw_send_done(int err, const char *axis_doc_id, const char *detail, void *ud)
{
    struct gw_send *s = ud;
    struct gw_dispatch *d = s->d;
    enum gw_peer_verdict v;

    gw_send_release_bytes(s);
    if (d->freeing) {
        /* Forced stop: nothing is recorded; the lease expires and the delivery is claimed again
         * (a success here can mean one duplicate on the axis, never a loss). */
        gw_dispatch_send_finished(s);
        return;
    }
    v = gw_peer_done(s->axis->peer, err, detail, s->package_id, uv_now(d->deps.loop));
    if (err == 0 && axis_doc_id && axis_doc_id[0]) {
        /* The axis has the package: keep the success even if its id is not clean text (repaired,
         * not refused, so one odd id cannot make a whole group-committed batch fail). */
        s->axis_doc_id = gw_utf8_sanitize(axis_doc_id, GW_STORE_ERROR_MAX);
    } else {
        s->error = gw_dispatch_error_text(err, detail);
        s->held = v == GW_PEER_HELD;
        s->permanent = err == GW_EREFUSED && !s->held;
    }
    if (!s->axis_doc_id && !s->error) {
        /* Out of memory: the lease expires and the delivery is claimed again. */
        gw_dispatch_send_finished(s);
        return;
    }
    gw_dispatch_record(s);
}

/* The body is ready (hashed): hand it to the adapter. */
static void gw_send_body_ready(struct gw_send *s, int err)
{
    struct gw_dax *ax = s->axis;
    int rc = err;

    if (rc == 0 && s->d->freeing)
        rc = GW_ECANCELED; /* forced stop while hashing: nothing is sent */
    if (rc == 0)
        rc = ax->ax.ops->send(ax->ax.state, s->kind, gw_dispatch_body(s), gw_send_done, s);
    if (rc == GW_ECOPY) {
        /* Never sent: the copy is not faithful (logged and counted by dispatch_body.c). */
        char why[400];
        snprintf(why, sizeof(why), "%s", gw_dispatch_body_why(s) ? gw_dispatch_body_why(s) : "");
        gw_send_done(rc, NULL, why, s);
    } else if (rc != 0) {
        gw_send_done(rc, NULL, "could not start the send", s);
    }
}

static struct gw_dax *gw_dispatch_axis(struct gw_dispatch *d, const char *name)
{
    for (size_t i = 0; i < d->n_axes; i++) {
        if (strcmp(d->axes[i].ax.name, name) == 0)
            return &d->axes[i];
    }
    return NULL;
}

static void gw_dispatch_start_send(struct gw_dispatch *d, const struct gw_store_claimed *row)
{
    struct gw_send *s = calloc(1, sizeof(*s));
    struct gw_dax *ax = gw_dispatch_axis(d, row->axis);
    int rc;

    if (ax)
        ax->got++; /* claimed for it, started or not */
    if (!s || !ax || !ax->peer || !(s->document_id = strdup(row->document_id))) {
        free(s); /* the lease expires and the delivery is claimed again */
        return;
    }
    s->d = d;
    s->axis = ax;
    s->delivery_id = row->delivery_id;
    s->package_id = row->package_id;
    s->attempts = row->attempt;
    s->claim_no = ++d->claims;
    s->lease_at = uv_now(d->deps.loop);
    s->all_next = d->all;
    if (d->all)
        d->all->all_prev = s;
    d->all = s;
    d->inflight++;
    s->len = row->len;
    s->kind = row->kind;
    gw_peer_started(ax->peer);
    rc = gw_dispatch_body_open(s, row, gw_send_body_ready);
    if (rc != 0) {
        gw_send_done(rc, NULL,
                     rc == GW_ECOPY ? "no copy can be planned for these recipients"
                                    : "could not start the send",
                     s);
        return;
    }
    d->inflight_bytes += s->len;
}

/* A claim that failed: what it asked of each axis is forgotten (their more stays as it was). */
static void gw_dispatch_unask(struct gw_dispatch *d)
{
    for (size_t i = 0; i < d->n_axes; i++)
        d->axes[i].asked = d->axes[i].got = 0;
}

/* The recordings a tick did not retry because this claim was in flight: retried now, after the
 * sends the claim started (an outcome of a delivery claimed again is then dropped). */
static void gw_dispatch_retry_skipped(struct gw_dispatch *d)
{
    if (!d->retry_skipped || d->freeing)
        return;
    d->retry_skipped = false;
    gw_dispatch_record_retry(d);
}

static void gw_dispatch_claimed(int err, const struct gw_store_claimed *rows, size_t n, void *ud)
{
    struct gw_dispatch *d = ud;
    uint64_t largest = 0, left;

    d->claiming = false;
    if (gw_dispatch_maybe_free(d))
        return; /* forced stop: the claimed rows' leases expire */
    if (err != 0) {
        gw_dispatch_retry_skipped(d);
        gw_dispatch_unask(d);
        gw_log(GW_LOG_WARN, "delivery.claim_failed", "claiming deliveries failed: %s",
               gw_strerror(err));
        gw_dispatch_notify_idle(d);
        if (d->rekick && !d->stopping) {
            /* new work arrived meanwhile: claim it now, not at the next scan (at most one claim
             * per kick, so a database failing at once cannot make this spin) */
            d->rekick = false;
            gw_dispatch_kick(d);
        }
        return;
    }
    if (d->freeing)
        return;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].len > largest)
            largest = rows[i].len;
        gw_dispatch_start_send(d, &rows[i]);
    }
    gw_dispatch_retry_skipped(d);
    /* Per axis: one that got all it asked for may have more due, claimed again as soon as one
     * of its sends ends (with several axes the claim's total says nothing of each). */
    for (size_t i = 0; i < d->n_axes; i++) {
        struct gw_dax *ax = &d->axes[i];
        if (ax->asked > 0)
            ax->more = ax->got >= ax->asked;
        ax->asked = ax->got = 0;
    }
    /* In all: the claim's whole room filled, or (fewer rows) the byte budget left could not
     * take another package as large as the largest just claimed. */
    left = d->cfg->max_inflight_bytes > d->inflight_bytes
               ? d->cfg->max_inflight_bytes - d->inflight_bytes
               : 0;
    d->saturated = (unsigned)n >= d->requested || (n > 0 && left < largest);
    if (d->stopping) {
        gw_dispatch_notify_idle(d);
    } else if (d->rekick || d->saturated) {
        d->rekick = false;
        gw_dispatch_kick(d);
    }
}

static void gw_dispatch_tick(uv_timer_t *t);

void gw_dispatch_wake_for_probe(struct gw_dispatch *d, const struct gw_peer *p, uint64_t now)
{
    struct gw_peer_view v;
    uint64_t due;

    if (d->stopping || d->freeing)
        return;
    due = uv_timer_get_due_in(&d->timer);
    gw_peer_view(p, now, &v);
    if (v.state == GW_PEER_OPEN && v.retry_in_ms + 1 < due)
        uv_timer_start(&d->timer, gw_dispatch_tick, v.retry_in_ms + 1, d->cfg->scan_interval_ms);
}

static void gw_dispatch_claim(struct gw_dispatch *d)
{
    const struct gw_config_delivery *cfg = d->cfg;
    unsigned room = cfg->max_inflight > d->inflight ? cfg->max_inflight - d->inflight : 0;
    uint64_t budget = cfg->max_inflight_bytes > d->inflight_bytes
                          ? cfg->max_inflight_bytes - d->inflight_bytes
                          : 0;
    const char *names[GW_STORE_MAX_CLAIM_AXES];
    unsigned limits[GW_STORE_MAX_CLAIM_AXES];
    unsigned sum = 0;
    size_t n = 0;
    uint64_t now = uv_now(d->deps.loop);
    struct gw_store_claim_args a;
    int rc;

    if (budget == 0 && d->inflight == 0)
        budget = 1; /* the claim always takes at least one package, however large */
    if (budget == 0)
        room = 0;
    if (room == 0)
        d->saturated = true; /* claim again as soon as sends finish */
    if (d->claiming || d->stopping || d->freeing || room == 0)
        return;
    if (!gw_db_ready(d->deps.db)) {
        /* Not connected yet (at start) or any more: tried again shortly, not only at the next
         * scan (up to an hour), so deliveries due at a restart go out once the pool is up. */
        if (uv_timer_get_due_in(&d->timer) > GW_DISPATCH_DB_WAIT_MS)
            uv_timer_start(&d->timer, gw_dispatch_tick, GW_DISPATCH_DB_WAIT_MS,
                           d->cfg->scan_interval_ms);
        return;
    }
    if (room > cfg->batch)
        room = cfg->batch;
    for (size_t i = 0; i < d->n_axes && n < GW_STORE_MAX_CLAIM_AXES; i++) {
        unsigned r;
        if (!d->axes[i].peer)
            continue; /* disabled: its deliveries wait, neither claimed nor given up */
        r = gw_peer_room(d->axes[i].peer, now);
        if (r == 0) {
            d->axes[i].more = true; /* at its limit (or its breaker open): when a send ends */
            gw_dispatch_wake_for_probe(d, d->axes[i].peer, now);
            continue;
        }
        names[n] = d->axes[i].ax.name;
        limits[n] = r < room ? r : room;
        d->axes[i].asked = limits[n];
        sum += limits[n];
        n++;
    }
    if (n == 0)
        return; /* every axis is disabled, open or at its limit */
    a = (struct gw_store_claim_args){
        .owner = d->owner,
        .lease_ms = cfg->lease_ms,
        .limit = sum < room ? sum : room,
        .max_bytes = budget,
        .give_up_s = cfg->give_up_after_s,
        .axes = names,
        .limits = limits,
        .n_axes = n,
    };
    d->claiming = true;
    d->requested = a.limit;
    rc = gw_store_delivery_claim(d->deps.db, &a, gw_dispatch_claimed, d);
    if (rc != 0) {
        d->claiming = false;
        gw_dispatch_unask(d);
        if (rc == GW_ERANGE || rc == GW_EINVAL)
            gw_log(GW_LOG_ERROR, "delivery.claim_refused",
                   "a delivery setting does not fit its SQL type: %s", gw_strerror(rc));
    }
}

/* A recording that failed may still have been applied (its answer lost), and a hold gives its
 * attempt back: were the claim to run beside its retry, the delivery could be claimed again with
 * the same owner and attempt, and the retried hold would then requeue the new send in flight (a
 * second copy on the axis). So the claim waits for the retries' answers, and an outcome of a
 * delivery claimed again since is dropped (gw_dispatch_record_retry). */
static void gw_dispatch_tick(uv_timer_t *t)
{
    struct gw_dispatch *d = t->data;

    gw_dispatch_record_retry(d);
    if (d->retrying > 0) {
        d->claim_waits = true;
        return;
    }
    gw_dispatch_claim(d);
}

void gw_dispatch_retries_answered(struct gw_dispatch *d)
{
    if (!d->claim_waits || d->retrying > 0)
        return;
    d->claim_waits = false;
    gw_dispatch_claim(d);
}

/* Lease upkeep on its own clock (a quarter of lease_ms), however long scan_interval_ms is. */
static void gw_dispatch_lease_tick(uv_timer_t *t)
{
    gw_dispatch_lease_renew(t->data);
}

int gw_dispatch_start(const struct gw_dispatch_deps *deps, struct gw_dispatch **out)
{
    struct gw_dispatch *d = calloc(1, sizeof(*d));
    int rc;

    if (!d)
        return GW_ENOMEM;
    d->deps = *deps;
    d->cfg = deps->cfg;
    d->owner = strdup(deps->owner);
    d->organ_id = strdup(deps->organ_id ? deps->organ_id : "");
    gw_logrl_init(&d->rl, GW_DISPATCH_LOG_INTERVAL_MS);
    rc = d->owner && d->organ_id ? gw_dispatch_axes_init(d) : GW_ENOMEM;
    if (rc != 0) {
        gw_dispatch_axes_free(d);
        free(d->organ_id);
        free(d->owner);
        free(d);
        return rc;
    }
    d->deps.axes = NULL; /* copied into d->axes */
    uv_timer_init(deps->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, gw_dispatch_tick, 0, d->cfg->scan_interval_ms);
    uv_timer_init(deps->loop, &d->lease_timer);
    d->lease_timer.data = d;
    uv_timer_start(&d->lease_timer, gw_dispatch_lease_tick, d->cfg->lease_ms / 4 + 1,
                   d->cfg->lease_ms / 4 + 1);
    uv_timer_init(deps->loop, &d->due_timer);
    d->due_timer.data = d;
    d->handles = 3;
    gw_dispatch_due_start(d);
    *out = d;
    return 0;
}

void gw_dispatch_kick(struct gw_dispatch *d)
{
    if (!d || d->stopping || d->freeing)
        return;
    if (d->claiming) {
        d->rekick = true;
        return;
    }
    uv_timer_start(&d->timer, gw_dispatch_tick, 0, d->cfg->scan_interval_ms);
}

size_t gw_dispatch_inflight(const struct gw_dispatch *d)
{
    return d ? d->inflight : 0;
}

void gw_dispatch_stop(struct gw_dispatch *d)
{
    if (!d)
        return;
    d->stopping = true;
    /* Keep ticking so that failed recordings are retried (and leases renewed) until the drain
     * ends. */
}

bool gw_dispatch_idle(const struct gw_dispatch *d)
{
    return !d || (d->stopping && d->inflight == 0 && !d->claiming);
}

static void gw_dispatch_closed(uv_handle_t *h)
{
    struct gw_dispatch *d = h->data;
    if (--d->handles > 0)
        return;
    d->closed = true;
    gw_dispatch_maybe_free(d);
}

void gw_dispatch_free(struct gw_dispatch *d)
{
    if (!d)
        return;
    d->freeing = true;
    gw_dispatch_record_drop(d);
    uv_close((uv_handle_t *)&d->timer, gw_dispatch_closed);
    uv_close((uv_handle_t *)&d->lease_timer, gw_dispatch_closed);
    uv_close((uv_handle_t *)&d->due_timer, gw_dispatch_closed);
}
