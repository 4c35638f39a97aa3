/*
 * Delivery dispatcher: one repeating timer scans for due deliveries, claims a batch under a lease,
 * hands each to its axis adapter and passes the outcome to dispatch_record.c. A claim that fills
 * its room is followed at once by another, so a backlog drains at the speed of the axis.
 */
#include "engine/dispatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "engine/dispatch_internal.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"

static void gw_dispatch_claim(struct gw_dispatch *d);

static void gw_send_release_bytes(struct gw_send *s)
{
    if (s->bytes) {
        s->d->inflight_bytes -= s->len;
        free(s->bytes);
        s->bytes = NULL;
    }
}

void gw_dispatch_send_free(struct gw_send *s)
{
    gw_send_release_bytes(s);
    free(s->document_id);
    free(s->axis_doc_id);
    free(s->error);
    free(s);
}

/* After the handle closed (forced stop), the last late callback frees the dispatcher. */
static bool gw_dispatch_maybe_free(struct gw_dispatch *d)
{
    if (!d->closed || d->inflight > 0 || d->claiming)
        return false;
    free(d);
    return true;
}

void gw_dispatch_send_finished(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;
    gw_dispatch_send_free(s);
    d->inflight--;
    if (gw_dispatch_maybe_free(d))
        return;
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

static void gw_send_done(int err, const char *axis_doc_id, const char *detail, void *ud)
{
    struct gw_send *s = ud;
    char buf[512];

    gw_send_release_bytes(s);
    if (s->d->app->closing) {
        /* Forced stop: nothing is recorded; the lease expires and the delivery is claimed again
         * (a success here can mean one duplicate on the axis, never a loss). */
        gw_dispatch_send_finished(s);
        return;
    }
    if (err == 0 && axis_doc_id && axis_doc_id[0]) {
        s->axis_doc_id = strdup(axis_doc_id);
    } else {
        snprintf(buf, sizeof(buf), "%s%s%s", err ? gw_errcode(err) : "axis_error",
                 detail ? ": " : "", detail ? detail : (err ? "" : ": no DocId in answer"));
        s->error = strdup(buf);
    }
    if (!s->axis_doc_id && !s->error) {
        /* Out of memory: the lease expires and the delivery is claimed again. */
        gw_dispatch_send_finished(s);
        return;
    }
    gw_dispatch_record(s);
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
        gw_dispatch_record(s);
        return;
    }
    s->len = (size_t)PQgetlength(res, row, 6);
    s->bytes = malloc(s->len ? s->len : 1);
    rc = s->bytes ? 0 : GW_ENOMEM;
    if (rc == 0) {
        d->inflight_bytes += s->len;
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
    if (gw_dispatch_maybe_free(d))
        return; /* forced stop: the claimed rows' leases expire */
    if (err != 0) {
        gw_log(GW_LOG_WARN, "delivery.claim_failed", "claiming deliveries failed: %s (sqlstate %s)",
               gw_strerror(err), sqlstate && sqlstate[0] ? sqlstate : "none");
        gw_app_maybe_finish(d->app);
        return;
    }
    if (d->app->closing)
        return;
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
    uint64_t budget = cfg->delivery.max_inflight_bytes > d->inflight_bytes
                          ? cfg->delivery.max_inflight_bytes - d->inflight_bytes
                          : 0;
    char lease[24], limit[24], bytes[24], giveup[24];
    const char *vals[5] = {d->app->owner, lease, limit, bytes, giveup};

    if (budget == 0 && d->inflight == 0)
        budget = 1; /* the claim always takes at least one package, however large */
    if (budget == 0)
        room = 0;
    if (room == 0)
        d->saturated = true; /* claim again as soon as sends finish */
    if (d->claiming || d->stopping || room == 0 || !gw_db_ready(d->app->db))
        return;
    if (room > cfg->delivery.batch)
        room = cfg->delivery.batch;
    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)cfg->delivery.lease_ms);
    snprintf(limit, sizeof(limit), "%u", room);
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)budget);
    snprintf(giveup, sizeof(giveup), "%llu", (unsigned long long)cfg->delivery.give_up_after_s);
    d->claiming = true;
    d->requested = room;
    /* Binary results: the bodies arrive as raw bytes, nothing to decode on the loop. */
    if (gw_db_query_binary(d->app->db,
                           "SELECT delivery_id::text, package_id::text, axis, kind, document_id,"
                           " attempts::text, bytes FROM gw_claim_deliveries($1, $2, $3, $4, $5)",
                           5, vals, NULL, NULL, gw_dispatch_claimed, d) != 0)
        d->claiming = false;
}

static void gw_dispatch_tick(uv_timer_t *t)
{
    struct gw_dispatch *d = t->data;

    gw_dispatch_record_retry(d);
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
    struct gw_dispatch *d = h->data;
    d->closed = true;
    gw_dispatch_maybe_free(d);
}

void gw_dispatch_free(struct gw_dispatch *d)
{
    if (!d)
        return;
    gw_dispatch_record_drop(d);
    uv_close((uv_handle_t *)&d->timer, gw_dispatch_closed);
}
