/*
 * Recording of send outcomes. Successes are group-committed: while one batch query is in flight,
 * further successes wait in a list and go together in the next one (gw_deliveries_sent), so a
 * busy dispatcher spends about one commit per batch instead of one per document. Failures carry
 * their own backoff and are recorded one by one, fenced on the claim's attempt number. A recording
 * that fails is retried on the next dispatcher tick; the outcome is never guessed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "engine/dispatch_internal.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"

static void gw_record_flush(struct gw_dispatch *d);

static void gw_record_keep(struct gw_send *s, int err)
{
    if (s->d->app->closing) {
        gw_dispatch_send_finished(s); /* forced stop: the lease decides */
        return;
    }
    s->record_tries++;
    gw_log_pkg(GW_LOG_WARN, "delivery.record_failed", s->package_id, s->document_id,
               "recording the outcome of delivery %" PRId64 " failed (try %d): %s", s->delivery_id,
               s->record_tries, gw_strerror(err));
    s->next = s->d->retry;
    s->d->retry = s;
}

static void gw_record_sent_one(struct gw_send *s, bool recorded)
{
    if (recorded) {
        s->d->app->stats.sends_ok++;
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

static void gw_record_flushed(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_dispatch *d = ud;
    struct gw_send *s = d->flushing;
    int n = err == 0 ? PQntuples(res) : 0;
    /* On a forced stop the last send finished below may free the dispatcher: touch it no more. */
    bool closing = d->app->closing;

    d->flushing = NULL;
    /* Rows come back in the order of the arrays, which is the order of the list. */
    for (int i = 0; s; i++) {
        struct gw_send *next = s->next;

        if (err != 0)
            gw_record_keep(s, err);
        else
            gw_record_sent_one(s, i < n &&
                                      gw_pgfmt_int64(PQgetvalue(res, i, 0)) == s->delivery_id &&
                                      strcmp(PQgetvalue(res, i, 1), "t") == 0);
        s = next;
    }
    if (!closing && d->batch)
        gw_record_flush(d);
}

/* Sends every waiting success in one query: ids and axis DocIds as two parallel arrays. */
static void gw_record_flush(struct gw_dispatch *d)
{
    size_t n = 0, pos;
    struct gw_send *s;
    char **docs = NULL, *ids = NULL, *doc_arr = NULL;
    const char *vals[3];
    int rc = GW_ENOMEM;

    if (d->flushing || !d->batch)
        return;
    for (s = d->batch; s; s = s->next)
        n++;
    docs = calloc(n, sizeof(*docs));
    ids = malloc(n * 21 + 3);
    if (docs && ids) {
        ids[0] = '{';
        pos = 1;
        n = 0;
        for (s = d->batch; s; s = s->next) {
            pos += (size_t)snprintf(ids + pos, 22, "%s%" PRId64, n ? "," : "", s->delivery_id);
            docs[n++] = s->axis_doc_id;
        }
        ids[pos++] = '}';
        ids[pos] = '\0';
        doc_arr = gw_pgfmt_text_array(docs, n);
    }
    d->flushing = d->batch;
    d->batch = NULL;
    if (doc_arr) {
        vals[0] = ids;
        vals[1] = d->app->owner;
        vals[2] = doc_arr;
        rc = gw_db_query(d->app->db,
                         "SELECT delivery_id::text, recorded FROM "
                         "gw_deliveries_sent($1::bigint[], $2, $3::text[])",
                         3, vals, NULL, NULL, gw_record_flushed, d);
    }
    free(docs);
    free(ids);
    free(doc_arr);
    if (rc != 0)
        gw_record_flushed(rc, NULL, "", d);
}

static void gw_record_failed_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_send *s = ud;
    struct gw_app *app = s->d->app;
    const char *v;
    bool dead;

    if (err != 0) {
        gw_record_keep(s, err);
        return;
    }
    v = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL;
    dead = v && strcmp(v, "DEAD") == 0;
    app->stats.sends_failed++;
    if (dead)
        app->stats.sends_dead++;
    gw_log_pkg(dead ? GW_LOG_ERROR : GW_LOG_WARN, "delivery.failed", s->package_id, s->document_id,
               "delivery %" PRId64 " attempt %d: %s -> %s", s->delivery_id, s->attempts, s->error,
               v ? v : "lease lost");
    gw_dispatch_send_finished(s);
}

void gw_dispatch_record(struct gw_send *s)
{
    struct gw_dispatch *d = s->d;
    const struct gw_config_delivery *cfg = &d->app->cfg->delivery;
    char id[24], attempt[24], base[24], max[24], giveup[24];
    const char *vals[7] = {id, d->app->owner, attempt, s->error, base, max, giveup};
    int rc;

    if (s->axis_doc_id) {
        s->next = d->batch;
        d->batch = s;
        gw_record_flush(d);
        return;
    }
    snprintf(id, sizeof(id), "%" PRId64, s->delivery_id);
    snprintf(attempt, sizeof(attempt), "%d", s->attempts);
    snprintf(base, sizeof(base), "%llu", (unsigned long long)cfg->backoff_base_ms);
    snprintf(max, sizeof(max), "%llu", (unsigned long long)cfg->backoff_max_ms);
    snprintf(giveup, sizeof(giveup), "%llu", (unsigned long long)cfg->give_up_after_s);
    rc = gw_db_query(d->app->db, "SELECT gw_delivery_failed($1, $2, $3, $4, $5, $6, $7)", 7, vals,
                     NULL, NULL, gw_record_failed_done, s);
    if (rc != 0)
        gw_record_failed_done(rc, NULL, "", s);
}

void gw_dispatch_record_retry(struct gw_dispatch *d)
{
    struct gw_send *s = d->retry;

    d->retry = NULL;
    while (s) {
        struct gw_send *next = s->next;
        gw_dispatch_record(s);
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
