/*
 * Delivery dispatcher: one repeating timer scans for due deliveries, claims a batch under a lease,
 * hands each to its axis adapter and records the result in one SQL call. A claim that returns a
 * full batch is followed at once by another, so a backlog drains at the speed of the axis.
 */
#include "dispatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "error.h"
#include "log.h"
#include "pgfmt.h"

struct gw_send {
    struct gw_dispatch *d;
    struct gw_send *next_retry;
    int64_t delivery_id;
    int64_t package_id;
    char *document_id;
    char *axis_doc_id; /* on success */
    char *error;       /* on failure */
    uint8_t *bytes;
    size_t len;
    int attempts;
    int record_tries;
};

struct gw_dispatch {
    struct gw_app *app;
    uv_timer_t timer;
    unsigned inflight;
    unsigned requested; /* rows asked for by the claim in flight */
    bool claiming;
    bool saturated; /* the last claim filled all its room (or had none): more is likely due */
    bool rekick;    /* a kick arrived while a claim was in flight */
    bool stopping;
    struct gw_send *retry; /* outcomes whose recording failed, retried on the next tick */
};

static void gw_dispatch_claim(struct gw_dispatch *d);
static void gw_send_record(struct gw_send *s);

static void gw_send_free(struct gw_send *s)
{
    free(s->document_id);
    free(s->axis_doc_id);
    free(s->error);
    free(s->bytes);
    free(s);
}

static void gw_send_finished(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;
    gw_send_free(s);
    d->inflight--;
    if (d->stopping) {
        gw_app_maybe_finish(d->app);
    } else if (d->saturated) {
        /* Claim again once a useful batch of room is free, not after every single send. */
        unsigned max = d->app->cfg->delivery.max_inflight;
        unsigned step = d->app->cfg->delivery.batch / 4 ? d->app->cfg->delivery.batch / 4 : 1;
        if (d->inflight == 0 || max - d->inflight >= step)
            gw_dispatch_kick(d);
    }
}

static void gw_send_recorded(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_send *s = ud;
    struct gw_app *app = s->d->app;
    const char *v;

    if (err != 0) {
        /* The outcome is known only here: keep it and record it again on the next tick. */
        s->record_tries++;
        gw_log_pkg(GW_LOG_WARN, "delivery.record_failed", s->package_id, s->document_id,
                   "recording the outcome of delivery %" PRId64 " failed (try %d): %s",
                   s->delivery_id, s->record_tries, gw_strerror(err));
        s->next_retry = s->d->retry;
        s->d->retry = s;
        return;
    }
    v = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL;
    if (s->axis_doc_id) {
        if (v && strcmp(v, "t") == 0) {
            app->stats.sends_ok++;
            gw_log_pkg(GW_LOG_INFO, "delivery.sent", s->package_id, s->document_id,
                       "delivery %" PRId64 " acknowledged by the axis as %s", s->delivery_id,
                       s->axis_doc_id);
        } else {
            gw_log_pkg(GW_LOG_WARN, "delivery.lease_lost", s->package_id, s->document_id,
                       "delivery %" PRId64 " was sent but its lease had passed to another owner",
                       s->delivery_id);
        }
    } else {
        app->stats.sends_failed++;
        if (v && strcmp(v, "DEAD") == 0)
            app->stats.sends_dead++;
        gw_log_pkg(v && strcmp(v, "DEAD") == 0 ? GW_LOG_ERROR : GW_LOG_WARN, "delivery.failed",
                   s->package_id, s->document_id, "delivery %" PRId64 " attempt %d: %s -> %s",
                   s->delivery_id, s->attempts, s->error, v ? v : "lease lost");
    }
    gw_send_finished(s);
}

static void gw_send_record(struct gw_send *s)
{
    const struct gw_config *cfg = s->d->app->cfg;
    char id[24], base[24], max[24], giveup[24];
    int rc;

    snprintf(id, sizeof(id), "%" PRId64, s->delivery_id);
    if (s->axis_doc_id) {
        const char *vals[3] = {id, s->d->app->owner, s->axis_doc_id};
        rc = gw_db_query(s->d->app->db, "SELECT gw_delivery_sent($1, $2, $3)", 3, vals, NULL, NULL,
                         gw_send_recorded, s);
    } else {
        const char *vals[6] = {id, s->d->app->owner, s->error, base, max, giveup};
        snprintf(base, sizeof(base), "%llu", (unsigned long long)cfg->delivery.backoff_base_ms);
        snprintf(max, sizeof(max), "%llu", (unsigned long long)cfg->delivery.backoff_max_ms);
        snprintf(giveup, sizeof(giveup), "%llu", (unsigned long long)cfg->delivery.give_up_after_s);
        rc = gw_db_query(s->d->app->db, "SELECT gw_delivery_failed($1, $2, $3, $4, $5, $6)", 6,
                         vals, NULL, NULL, gw_send_recorded, s);
    }
    if (rc != 0)
        gw_send_recorded(rc, NULL, "", s);
}

static void gw_send_done(int err, const char *axis_doc_id, const char *detail, void *ud)
{
    struct gw_send *s = ud;
    char buf[512];

    free(s->bytes);
    s->bytes = NULL;
    if (err == 0 && axis_doc_id && axis_doc_id[0]) {
        s->axis_doc_id = strdup(axis_doc_id);
    } else {
        snprintf(buf, sizeof(buf), "%s%s%s", err ? gw_errcode(err) : "axis_error",
                 detail ? ": " : "", detail ? detail : (err ? "" : ": no DocId in answer"));
        s->error = strdup(buf);
    }
    if (!s->axis_doc_id && !s->error) {
        /* Out of memory: the lease expires and the delivery is claimed again. */
        gw_send_finished(s);
        return;
    }
    gw_send_record(s);
}

static void gw_dispatch_start_send(struct gw_dispatch *d, const PGresult *res, int row)
{
    struct gw_app *app = d->app;
    struct gw_axis_inst *axis = gw_app_axis(app, PQgetvalue(res, row, 2));
    enum gw_pkg_kind kind =
        strcmp(PQgetvalue(res, row, 3), "status") == 0 ? GW_KIND_STATUS : GW_KIND_EDOC;
    struct gw_send *s = calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return; /* the lease expires and the delivery is claimed again */
    s->d = d;
    s->delivery_id = gw_pgfmt_int64(PQgetvalue(res, row, 0));
    s->package_id = gw_pgfmt_int64(PQgetvalue(res, row, 1));
    s->document_id = strdup(PQgetvalue(res, row, 4));
    s->attempts = (int)gw_pgfmt_int64(PQgetvalue(res, row, 5));
    d->inflight++;
    if (!axis || !axis->cfg->enabled) {
        s->error = strdup("axis_not_configured");
        gw_send_record(s);
        return;
    }
    s->len = (size_t)PQgetlength(res, row, 6);
    s->bytes = malloc(s->len ? s->len : 1);
    rc = s->bytes ? 0 : GW_ENOMEM;
    if (rc == 0) {
        memcpy(s->bytes, PQgetvalue(res, row, 6), s->len);
        rc = axis->ops->send(axis->state, kind, s->bytes, s->len, gw_send_done, s);
    }
    if (rc != 0)
        gw_send_done(rc, NULL, "could not start the send", s);
}

static void gw_dispatch_claimed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_dispatch *d = ud;
    int n;

    d->claiming = false;
    if (err != 0) {
        gw_log(GW_LOG_WARN, "delivery.claim_failed", "claiming deliveries failed: %s",
               gw_strerror(err));
        gw_app_maybe_finish(d->app);
        return;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        gw_dispatch_start_send(d, res, i);
    d->saturated = (unsigned)n >= d->requested;
    if (d->stopping) {
        gw_app_maybe_finish(d->app);
    } else if (d->rekick || d->saturated) {
        d->rekick = false;
        gw_dispatch_kick(d);
    }
}

static void gw_dispatch_claim(struct gw_dispatch *d)
{
    const struct gw_config *cfg = d->app->cfg;
    unsigned room =
        cfg->delivery.max_inflight > d->inflight ? cfg->delivery.max_inflight - d->inflight : 0;
    char lease[24], limit[24];
    const char *vals[3] = {d->app->owner, lease, limit};

    if (room == 0)
        d->saturated = true; /* claim again as soon as sends finish */
    if (d->claiming || d->stopping || room == 0 || !gw_db_ready(d->app->db))
        return;
    if (room > cfg->delivery.batch)
        room = cfg->delivery.batch;
    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)cfg->delivery.lease_ms);
    snprintf(limit, sizeof(limit), "%u", room);
    d->claiming = true;
    d->requested = room;
    /* Binary results: the bodies arrive as raw bytes, nothing to decode on the loop. */
    if (gw_db_query_binary(d->app->db,
                           "SELECT delivery_id::text, package_id::text, axis, kind, document_id,"
                           " attempts::text, bytes FROM gw_claim_deliveries($1, $2, $3)",
                           3, vals, NULL, NULL, gw_dispatch_claimed, d) != 0)
        d->claiming = false;
}

static void gw_dispatch_tick(uv_timer_t *t)
{
    struct gw_dispatch *d = t->data;
    struct gw_send *retry = d->retry;

    d->retry = NULL;
    while (retry) {
        struct gw_send *next = retry->next_retry;
        gw_send_record(retry);
        retry = next;
    }
    gw_dispatch_claim(d);
}

int gw_dispatch_start(struct gw_app *app, struct gw_dispatch **out)
{
    struct gw_dispatch *d = calloc(1, sizeof(*d));
    if (!d)
        return GW_ENOMEM;
    d->app = app;
    uv_timer_init(app->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, gw_dispatch_tick, 0, app->cfg->delivery.scan_interval_ms);
    *out = d;
    return 0;
}

void gw_dispatch_kick(struct gw_dispatch *d)
{
    if (!d || d->stopping)
        return;
    if (d->claiming) {
        d->rekick = true;
        return;
    }
    uv_timer_start(&d->timer, gw_dispatch_tick, 0, d->app->cfg->delivery.scan_interval_ms);
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
    /* Keep ticking so that failed recordings are retried until the drain ends. */
}

bool gw_dispatch_idle(const struct gw_dispatch *d)
{
    return !d || (d->stopping && d->inflight == 0 && !d->claiming);
}

static void gw_dispatch_closed(uv_handle_t *h)
{
    free(h->data);
}

void gw_dispatch_free(struct gw_dispatch *d)
{
    if (!d)
        return;
    while (d->retry) {
        struct gw_send *next = d->retry->next_retry;
        gw_send_free(d->retry);
        d->retry = next;
    }
    uv_close((uv_handle_t *)&d->timer, gw_dispatch_closed);
}
