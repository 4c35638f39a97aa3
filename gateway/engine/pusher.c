/*
 * Push engine: one repeating timer runs a step (enqueue behind the push cursor, claim within
 * max_inflight and the webhook's breaker, read the backlog), the push ops send each claimed
 * item, and each outcome is recorded fenced on (owner, attempt). A step whose claim filled its
 * room is followed at once by another, so a backlog drains at the webhook's speed.
 */
#include "engine/pusher.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_push.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"
#include "util/logrl.h"
#include "util/utf8.h"

/* A step whose query failed is followed by another after this, not only at the next scan. */
#define GW_PUSHER_RETRY_MS 1000

struct gw_pusher {
    struct gw_pusher_deps deps;
    char *owner;
    struct gw_peer *peer;
    uv_timer_t timer;
    struct gw_logrl rl;
    unsigned inflight; /* attempts sent or being recorded */
    unsigned room;     /* asked for by the claim in flight */
    bool stepping;     /* a step's database call is in flight */
    bool again;        /* the last claim filled its room */
    bool rekick;       /* a kick arrived during the step: another step when it ends */
    bool failed;       /* a query of the step failed: another step soon, not at the scan */
    bool stopping, freeing, closed;
    struct gw_metric *sent, *dead, *backlog, *oldest, *dead_now, *breaker;
    struct gw_metric_family *failures;
};

struct gw_push_send {
    struct gw_pusher *p;
    int64_t push_id;
    int64_t package_id;
    int attempt;
};

static void gw_pusher_step(struct gw_pusher *p);
static void gw_pusher_tick(uv_timer_t *t);

static bool gw_pusher_maybe_free(struct gw_pusher *p)
{
    if (!p->closed || p->inflight > 0 || p->stepping)
        return false;
    gw_peer_free(p->peer);
    free(p->owner);
    free(p);
    return true;
}

static void gw_pusher_notify(struct gw_pusher *p)
{
    if (p->stopping && !p->freeing && gw_pusher_idle(p) && p->deps.idle)
        p->deps.idle(p->deps.ud);
}

static void gw_pusher_db_trouble(struct gw_pusher *p, const char *what, int err)
{
    unsigned suppressed = 0;

    p->failed = true;
    if (gw_logrl_allow(&p->rl, what, uv_now(p->deps.loop), &suppressed))
        gw_warn("push.db", "push %s failed: %s (%u similar lines suppressed)", what,
                gw_strerror(err), suppressed);
}

/* The reason label of a failed attempt. */
static const char *gw_pusher_reason(int err, long status)
{
    if (err == GW_ETIMEDOUT)
        return "timeout";
    if (err == GW_E2BIG)
        return "answer_too_large";
    if (err == GW_EINVAL)
        return "invalid_event";
    if (err < 0)
        return "transport";
    if (status >= 500)
        return "status_5xx";
    if (status == 401 || status == 403)
        return "refused";
    if (status >= 400)
        return "status_4xx";
    return "status_other";
}

/* How the breaker sees an outcome: a 5xx or 429 like a transport failure, a refused signature
 * like a refused credential, any other non-2xx as an answer that repeats across packages. */
static int gw_pusher_peer_err(int err, long status)
{
    if (err == GW_ETIMEDOUT || err == GW_EHTTP || err == GW_EIO)
        return err;
    if (err == GW_EINVAL)
        return err; /* ours, not the webhook's */
    if (err < 0)
        return GW_EAXIS;
    if (status >= 200 && status <= 299)
        return 0;
    if (status >= 500 || status == 429)
        return GW_EHTTP;
    if (status == 401 || status == 403)
        return GW_EAUTH;
    return GW_EAXIS;
}

static void gw_pusher_send_finished(struct gw_push_send *s)
{
    struct gw_pusher *p = s->p;

    free(s);
    p->inflight--;
    if (gw_pusher_maybe_free(p))
        return;
    if (p->stopping) {
        gw_pusher_notify(p);
    } else if (p->again && !p->stepping && !p->freeing) {
        /* Claim again once a useful batch of room is free, not after every single send. */
        unsigned max = p->deps.cfg->max_inflight;
        unsigned step = p->deps.cfg->batch / 4 ? p->deps.cfg->batch / 4 : 1;
        if (p->inflight == 0 || max - p->inflight >= (step < max ? step : max))
            gw_pusher_kick(p);
    }
}

static void gw_pusher_recorded(int err, const char *state, void *ud)
{
    struct gw_push_send *s = ud;
    struct gw_pusher *p = s->p;

    if (p->freeing) {
        gw_pusher_send_finished(s);
        return;
    }
    if (err != 0) {
        /* The lease expires and the push is claimed again with the same event_id. */
        gw_pusher_db_trouble(p, "record", err);
    } else if (state && strcmp(state, "sent") == 0) {
        gw_metric_inc(p->sent);
        gw_debug("push.sent", "push %" PRId64 " of package %" PRId64 " acknowledged", s->push_id,
                 s->package_id);
    } else if (state && strcmp(state, "dead") == 0) {
        gw_metric_inc(p->dead);
        gw_warn("push.dead",
                "push %" PRId64 " of package %" PRId64
                " given up after %d attempts: the item stays in the pull inbox",
                s->push_id, s->package_id, s->attempt);
    }
    gw_pusher_send_finished(s);
}

static void gw_pusher_sent(int err, long status, const char *detail, void *ud)
{
    struct gw_push_send *s = ud;
    struct gw_pusher *p = s->p;
    uint64_t now = uv_now(p->deps.loop);
    enum gw_peer_verdict v;
    int rc;

    if (p->freeing) {
        gw_pusher_send_finished(s);
        return;
    }
    v = gw_peer_done(p->peer, gw_pusher_peer_err(err, status), detail, s->package_id, now);
    if (v == GW_PEER_DELIVERED) {
        rc = gw_store_push_sent(p->deps.db, s->push_id, p->owner, status, gw_pusher_recorded, s);
    } else {
        char *error = gw_utf8_sanitize(detail && detail[0] ? detail : gw_errcode(err), 1000);
        struct gw_store_push_failed_args a = {
            .push_id = s->push_id,
            .owner = p->owner,
            .attempt = s->attempt,
            .error = error ? error : "push failed",
            .status = err == 0 && status > 0 && status < 1000 ? status : 0,
            .held = v == GW_PEER_HELD,
            .retry_ms = v == GW_PEER_HELD ? gw_peer_retry_ms(p->peer, now) : 0,
            .base_ms = p->deps.cfg->backoff_base_ms,
            .max_ms = p->deps.cfg->backoff_max_ms,
            .give_up_s = p->deps.cfg->give_up_after_s,
        };
        gw_metric_inc(gw_metric_series(p->failures, gw_pusher_reason(err, status)));
        if (a.retry_ms > INT32_MAX)
            a.retry_ms = INT32_MAX;
        rc = gw_store_push_failed(p->deps.db, &a, gw_pusher_recorded, s);
        free(error);
    }
    if (rc != 0) {
        gw_pusher_db_trouble(p, "record", rc);
        gw_pusher_send_finished(s);
    }
}

static void gw_pusher_send_one(struct gw_pusher *p, const struct gw_store_push_row *r)
{
    struct gw_push_send *s = calloc(1, sizeof(*s));
    struct gw_push_item it = {.push_id = r->push_id,
                              .package_id = r->package_id,
                              .event_id = r->event_id,
                              .facts = r->facts,
                              .facts_len = r->facts_len};
    int rc;

    if (!s)
        return; /* the lease expires and the push is claimed again */
    s->p = p;
    s->push_id = r->push_id;
    s->package_id = r->package_id;
    s->attempt = r->attempt;
    p->inflight++;
    gw_peer_started(p->peer);
    rc = p->deps.ops.send(p->deps.ops.state, &it, gw_pusher_sent, s);
    if (rc != 0)
        gw_pusher_sent(rc, 0, gw_errcode(rc), s);
}

static void gw_pusher_step_end(struct gw_pusher *p)
{
    p->stepping = false;
    if (gw_pusher_maybe_free(p))
        return;
    if (p->stopping) {
        gw_pusher_notify(p);
    } else if (p->rekick && !p->freeing) {
        p->rekick = false; /* new items: the step that enqueues them, now, not at the scan */
        gw_pusher_kick(p);
    } else if (p->again && !p->freeing && p->inflight < p->deps.cfg->max_inflight) {
        gw_pusher_kick(p);
    } else if (p->failed && !p->freeing && uv_timer_get_due_in(&p->timer) > GW_PUSHER_RETRY_MS) {
        /* scan_interval_ms may be up to an hour: what the failed query left is tried sooner */
        uv_timer_start(&p->timer, gw_pusher_tick, GW_PUSHER_RETRY_MS,
                       p->deps.cfg->scan_interval_ms);
    }
    p->failed = false;
}

static void gw_pusher_statsed(int err, int64_t waiting, double oldest_s, int64_t dead, void *ud)
{
    struct gw_pusher *p = ud;

    if (err == 0 && !p->freeing) {
        gw_metric_set(p->backlog, (double)waiting);
        gw_metric_set(p->oldest, oldest_s);
        gw_metric_set(p->dead_now, (double)dead);
    } else if (err != 0 && !p->freeing) {
        gw_pusher_db_trouble(p, "backlog", err);
    }
    gw_pusher_step_end(p);
}

static void gw_pusher_stats(struct gw_pusher *p)
{
    int rc = gw_store_push_stats(p->deps.db, gw_pusher_statsed, p);
    if (rc != 0) {
        gw_pusher_db_trouble(p, "backlog", rc);
        gw_pusher_step_end(p);
    }
}

static void gw_pusher_claimed(int err, const struct gw_store_push_row *rows, size_t n, void *ud)
{
    struct gw_pusher *p = ud;

    if (p->freeing) {
        /* Not sent: the leases expire and the pushes are claimed again. */
        gw_pusher_step_end(p);
        return;
    }
    if (err != 0)
        gw_pusher_db_trouble(p, "claim", err);
    p->again = err == 0 && n > 0 && n >= p->room;
    for (size_t i = 0; i < n; i++)
        gw_pusher_send_one(p, &rows[i]);
    if (p->stopping)
        gw_pusher_step_end(p);
    else
        gw_pusher_stats(p);
}

static void gw_pusher_claim(struct gw_pusher *p)
{
    const struct gw_config_push *cfg = p->deps.cfg;
    unsigned room = cfg->max_inflight > p->inflight ? cfg->max_inflight - p->inflight : 0;
    unsigned peer = gw_peer_room(p->peer, uv_now(p->deps.loop));
    int rc;

    if (peer < room)
        room = peer;
    if (cfg->batch < room)
        room = cfg->batch;
    p->again = false;
    if (room == 0 || p->stopping) {
        gw_pusher_stats(p);
        return;
    }
    p->room = room;
    struct gw_store_push_claim_args a = {
        .owner = p->owner,
        .lease_ms = cfg->lease_ms,
        .limit = room,
        .give_up_s = cfg->give_up_after_s,
    };
    if ((rc = gw_store_push_claim(p->deps.db, &a, gw_pusher_claimed, p)) != 0) {
        gw_pusher_db_trouble(p, "claim", rc);
        gw_pusher_stats(p);
    }
}

static void gw_pusher_enqueued(int err, int64_t n, void *ud)
{
    struct gw_pusher *p = ud;

    if (p->freeing || p->stopping) {
        gw_pusher_step_end(p);
        return;
    }
    if (err != 0)
        gw_pusher_db_trouble(p, "enqueue", err);
    else if (n > 0)
        gw_debug("push.enqueued", "%" PRId64 " inbox item(s) queued for push", n);
    gw_pusher_claim(p);
}

static void gw_pusher_step(struct gw_pusher *p)
{
    struct gw_store_scope scope = {.organs = p->deps.organs, .n_organs = p->deps.n_organs};
    /* Look ahead of the claims, within what one enqueue may take. */
    unsigned ahead = p->deps.cfg->batch * 4;
    int rc;

    if (p->stepping) {
        p->rekick = true;
        return;
    }
    if (p->stopping || p->freeing)
        return;
    p->stepping = true;
    if (ahead > GW_STORE_PUSH_MAX_CLAIM)
        ahead = GW_STORE_PUSH_MAX_CLAIM;
    rc = gw_store_push_enqueue(p->deps.db, &scope, ahead, gw_pusher_enqueued, p);
    if (rc != 0) {
        gw_pusher_db_trouble(p, "enqueue", rc);
        gw_pusher_claim(p);
    }
}

static void gw_pusher_tick(uv_timer_t *t)
{
    gw_pusher_step(t->data);
}

/* Every breaker state change comes through here (gw_peer_set): the gauge follows it. */
static void gw_pusher_peer_changed(const struct gw_peer *peer, void *ud)
{
    struct gw_pusher *p = ud;
    struct gw_peer_view v;

    if (!p->breaker)
        return; /* not registered yet */
    gw_peer_view(peer, uv_now(p->deps.loop), &v);
    gw_metric_set(p->breaker, (double)v.state);
}

int gw_pusher_start(const struct gw_pusher_deps *deps, struct gw_pusher **out)
{
    struct gw_pusher *p;
    struct gw_metric_family *f;
    int rc;

    *out = NULL;
    if (!deps->loop || !deps->db || !deps->metrics || !deps->cfg || !deps->owner ||
        !deps->ops.send || deps->n_organs == 0)
        return GW_EINVAL;
    if (!(p = calloc(1, sizeof(*p))))
        return GW_ENOMEM;
    p->deps = *deps;
    if (!(p->owner = strdup(deps->owner))) {
        free(p);
        return GW_ENOMEM;
    }
    rc = gw_peer_new("qlvbdh_push", &deps->breaker, uv_now(deps->loop), gw_pusher_peer_changed, p,
                     &p->peer);
    if (rc != 0) {
        free(p->owner);
        free(p);
        return rc;
    }
    gw_logrl_init(&p->rl, 10000);
    struct gw_metrics *m = deps->metrics;
    p->sent = gw_metric_series(gw_metrics_counter(m, "gateway_push_sent_total",
                                                  "pushes acknowledged by QLVBĐH (2xx)", NULL));
    p->dead = gw_metric_series(
        gw_metrics_counter(m, "gateway_push_dead_total", "pushes given up by this process", NULL));
    p->failures = gw_metrics_counter(m, "gateway_push_failures_total",
                                     "failed push attempts by reason", "reason", NULL);
    p->backlog = gw_metric_series(
        gw_metrics_gauge(m, "gateway_push_backlog", "pushes queued or sending (database)", NULL));
    p->oldest = gw_metric_series(gw_metrics_gauge(m, "gateway_push_oldest_age_seconds",
                                                  "age of the oldest push waiting", NULL));
    p->dead_now = gw_metric_series(
        gw_metrics_gauge(m, "gateway_push_dead", "pushes given up (database)", NULL));
    f = gw_metrics_gauge(m, "gateway_push_breaker_state",
                         "webhook circuit breaker: 0 closed, 1 open, 2 half-open", NULL);
    p->breaker = gw_metric_series(f);
    uv_timer_init(deps->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, gw_pusher_tick, 0, deps->cfg->scan_interval_ms);
    gw_info("push.started", "pushing inbox items to the QLVBĐH webhook (max_inflight %u)",
            deps->cfg->max_inflight);
    *out = p;
    return 0;
}

void gw_pusher_kick(struct gw_pusher *p)
{
    if (!p || p->stopping || p->freeing)
        return;
    uv_timer_start(&p->timer, gw_pusher_tick, 0, p->deps.cfg->scan_interval_ms);
}

bool gw_pusher_peer_view(const struct gw_pusher *p, struct gw_peer_view *out)
{
    if (!p || !p->peer)
        return false;
    gw_peer_view(p->peer, uv_now(p->deps.loop), out);
    return true;
}

void gw_pusher_stop(struct gw_pusher *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
}

bool gw_pusher_idle(const struct gw_pusher *p)
{
    return !p || (p->stopping && p->inflight == 0 && !p->stepping);
}

size_t gw_pusher_inflight(const struct gw_pusher *p)
{
    return p ? p->inflight : 0;
}

static void gw_pusher_closed(uv_handle_t *h)
{
    struct gw_pusher *p = h->data;
    p->closed = true;
    gw_pusher_maybe_free(p);
}

void gw_pusher_free(struct gw_pusher *p)
{
    if (!p || p->freeing)
        return;
    p->stopping = p->freeing = true;
    uv_close((uv_handle_t *)&p->timer, gw_pusher_closed);
}
