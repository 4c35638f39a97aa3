/*
 * Recording of send outcomes. Successes are group-committed: while one batch query is in flight,
 * further successes wait in a list and go together in the next one, so a busy dispatcher spends
 * about one commit per batch instead of one per document. Failures carry their own backoff and
 * are recorded one by one, fenced on the claim's attempt number; a failure of the peer is held
 * (requeued, attempt given back). A recording that fails is retried on the next dispatcher tick;
 * the outcome is never guessed. Repeated identical failure lines are rate-limited.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dispatch_internal.h"
#include "store/store_delivery.h"
#include "util/error.h"
#include "util/log.h"

static void gw_record_flush(struct gw_dispatch *d);

/* s's recording has its answer; true when it was the last retry the tick's claim waits for. */
static bool gw_record_answered(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;

    if (!s->retried)
        return false;
    s->retried = false;
    return --d->retrying == 0 && d->claim_waits;
}

static void gw_record_keep(struct gw_send *s, int err)
{
    struct gw_dispatch *d = s->d;

    if (d->freeing) {
        gw_dispatch_send_finished(s); /* forced stop: the lease decides */
        return;
    }
    if (err == GW_ERANGE || err == GW_EINVAL) {
        /* A value its SQL type cannot hold: recording again would fail the same way. The lease
         * decides; the send must not hold a place in flight for ever. */
        gw_log_pkg(GW_LOG_ERROR, "delivery.record_refused", s->package_id, s->document_id,
                   "the outcome of delivery %" PRId64 " cannot be recorded: %s", s->delivery_id,
                   gw_strerror(err));
        gw_dispatch_send_finished(s);
        return;
    }
    s->record_tries++;
    gw_log_pkg(GW_LOG_WARN, "delivery.record_failed", s->package_id, s->document_id,
               "recording the outcome of delivery %" PRId64 " failed (try %d): %s", s->delivery_id,
               s->record_tries, gw_strerror(err));
    s->next = d->retry;
    d->retry = s;
}

static void gw_record_sent_one(struct gw_send *s, bool recorded)
{
    if (recorded) {
        gw_metric_inc(s->axis->ok);
        gw_log_pkg(GW_LOG_INFO, "delivery.sent", s->package_id, s->document_id,
                   "delivery %" PRId64 " acknowledged by the axis as %s", s->delivery_id,
                   s->axis_doc_id);
    } else {
        gw_log_pkg(GW_LOG_WARN, "delivery.sent_twice", s->package_id, s->document_id,
                   "delivery %" PRId64 " was already recorded as sent under another axis DocId; "
                   "the axis now also holds %s",
                   s->delivery_id, s->axis_doc_id);
    }
    gw_dispatch_send_finished(s);
}

static void gw_record_flushed(int err, const bool *recorded, size_t n, void *ud)
{
    struct gw_dispatch *d = ud;
    struct gw_send *s = d->flushing;
    /* On a forced stop the last send finished below may free the dispatcher: touch it no more. */
    bool freeing = d->freeing, waited = false;

    d->flushing = NULL;
    /* Answers come in the order of the list. */
    for (size_t i = 0; s; i++) {
        struct gw_send *next = s->next;

        waited |= gw_record_answered(s);
        if (err != 0)
            gw_record_keep(s, err);
        else
            gw_record_sent_one(s, i < n && recorded[i]);
        s = next;
    }
    if (freeing)
        return;
    if (d->batch)
        gw_record_flush(d);
    if (waited)
        gw_dispatch_retries_answered(d);
}

/* Sends every waiting success in one query. */
static void gw_record_flush(struct gw_dispatch *d)
{
    size_t n = 0;
    struct gw_send *s;
    struct gw_store_sent_item *items;
    int rc = GW_ENOMEM;

    if (d->flushing || !d->batch)
        return;
    for (s = d->batch; s; s = s->next)
        n++;
    items = calloc(n, sizeof(*items));
    if (items) {
        n = 0;
        for (s = d->batch; s; s = s->next) {
            items[n].delivery_id = s->delivery_id;
            memcpy(items[n].copy_sha256, s->copy_sha256, sizeof(s->copy_sha256));
            items[n].copy_len = s->copy_len;
            items[n++].axis_doc_id = s->axis_doc_id;
        }
    }
    d->flushing = d->batch;
    d->batch = NULL;
    if (items)
        rc = gw_store_delivery_sent(d->deps.db, d->owner, items, n, gw_record_flushed, d);
    free(items);
    if (rc != 0)
        gw_record_flushed(rc, NULL, 0, d);
}

/* One line per distinct failure text per axis and interval, with the count of those dropped. */
static void gw_record_log(struct gw_send *s, const char *event, int level, const char *outcome)
{
    struct gw_dispatch *d = s->d;
    char key[160];
    unsigned dropped = 0;

    snprintf(key, sizeof(key), "%s|%s|%s|%.100s", event, s->axis->ax.name, outcome, s->error);
    if (!gw_logrl_allow(&d->rl, key, uv_now(d->deps.loop), &dropped))
        return;
    gw_log_pkg(level, event, s->package_id, s->document_id,
               "delivery %" PRId64 " to %s attempt %d: %s -> %s (%u similar lines not logged)",
               s->delivery_id, s->axis->ax.name, s->attempts, s->error, outcome, dropped);
}

static void gw_record_failed_done(int err, enum gw_store_outcome st, void *ud)
{
    struct gw_send *s = ud;
    struct gw_dispatch *d = s->d;
    struct gw_dax *ax = s->axis;
    bool dead = st == GW_STORE_DEAD;
    bool waited = gw_record_answered(s), freeing = d->freeing;

    if (err != 0) {
        gw_record_keep(s, err);
        if (waited && !freeing)
            gw_dispatch_retries_answered(d);
        return;
    }
    if (s->held) {
        gw_metric_inc(ax->held);
        gw_record_log(s, "delivery.held", GW_LOG_WARN,
                      st == GW_STORE_FENCED ? "lease lost" : "held: the axis is unavailable");
    } else {
        gw_metric_inc(ax->failed);
        if (dead)
            gw_metric_inc(ax->dead);
        gw_record_log(s, "delivery.failed", dead ? GW_LOG_ERROR : GW_LOG_WARN,
                      st == GW_STORE_FENCED ? "lease lost"
                      : dead                ? "DEAD"
                                            : "QUEUED");
    }
    gw_dispatch_send_finished(s);
    if (waited && !freeing)
        gw_dispatch_retries_answered(d);
}

void gw_dispatch_record(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;
    const struct gw_config_delivery *cfg = d->cfg;
    int rc;

    if (s->axis_doc_id) {
        s->next = d->batch;
        d->batch = s;
        gw_record_flush(d);
        return;
    }
    if (s->held) {
        rc = gw_store_delivery_held(d->deps.db, s->delivery_id, d->owner, s->attempts, s->error,
                                    gw_peer_retry_ms(s->axis->peer, uv_now(d->deps.loop)),
                                    gw_record_failed_done, s);
    } else {
        struct gw_store_failed_args a = {
            .delivery_id = s->delivery_id,
            .owner = d->owner,
            .attempt = s->attempts,
            .error = s->error,
            .base_ms = cfg->backoff_base_ms,
            /* A cap beyond what the SQL integer holds (24.8 days) caps nothing more. */
            .max_ms = cfg->backoff_max_ms > GW_STORE_MS_MAX ? GW_STORE_MS_MAX : cfg->backoff_max_ms,
            /* refused for good (GW_EREFUSED): past any give-up age, so DEAD at once */
            .give_up_s = s->permanent ? 0 : cfg->give_up_after_s,
        };
        rc = gw_store_delivery_failed(d->deps.db, &a, gw_record_failed_done, s);
    }
    if (rc != 0)
        gw_record_failed_done(rc, GW_STORE_FENCED, s);
}

/* True when this instance has claimed s's delivery again since s was claimed: s's recording was
 * applied or its lease had passed, and the later claim is what stands (a retried hold would
 * requeue the later send in flight). Only a later claim supersedes: of two outcomes both
 * waiting to be recorded, the older is dropped, never the newer. */
static bool gw_record_superseded(const struct gw_send *s)
{
    for (const struct gw_send *o = s->d->all; o; o = o->all_next)
        if (o != s && o->delivery_id == s->delivery_id && o->claim_no > s->claim_no)
            return true;
    return false;
}

void gw_dispatch_record_retry(struct gw_dispatch *d)
{
    struct gw_send *s = d->retry;

    if (d->claiming) {
        d->retry_skipped = true; /* the claim could return a delivery whose hold is retried */
        return;
    }
    d->retry = NULL;
    while (s) {
        struct gw_send *next = s->next;
        if (gw_record_superseded(s)) {
            gw_log_pkg(GW_LOG_INFO, "delivery.record_stale", s->package_id, s->document_id,
                       "the outcome of delivery %" PRId64 " attempt %d is not recorded: the "
                       "delivery has been claimed again",
                       s->delivery_id, s->attempts);
            gw_dispatch_send_finished(s);
        } else {
            s->retried = true;
            d->retrying++;
            gw_dispatch_record(s);
        }
        s = next;
    }
}

static void gw_record_free_list(struct gw_dispatch *d, struct gw_send *s)
{
    while (s) {
        struct gw_send *next = s->next;
        gw_dispatch_send_free(s);
        d->inflight--;
        s = next;
    }
}

void gw_dispatch_record_drop(struct gw_dispatch *d)
{
    gw_record_free_list(d, d->retry);
    gw_record_free_list(d, d->batch);
    d->retry = d->batch = NULL;
    /* d->flushing belongs to the query in flight; its callback finishes those sends. */
}
