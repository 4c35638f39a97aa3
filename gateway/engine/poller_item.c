/*
 * One listed package: skip the fetch if (axis, docId) is already received (ack again), refused
 * (answer fail again) or failing and not yet due; else fetch it as a stream into the ingest
 * (poller_sink.c: parsed and hashed on the thread pool while its bytes are staged in chunks),
 * store the package row that takes the staged body in one transaction, and only then send the
 * axis its transport ack and record it. Only a verdict on the package itself is recorded and
 * answered "fail"; a local failure is counted per docId with backoff and leaves it on the axis.
 * Either way the cycle goes on to the next. A failing docId the (windowed) list no longer names
 * is handled the same way by id; any failure of its fetch, transport included, is counted in its
 * record, since the list will not bring it back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "engine/poller_internal.h"
#include "metrics/metrics.h"
#include "store/pkgsql.h"
#include "store/store_incoming.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

void gw_poller_clear_item(struct gw_poller *p)
{
    gw_poller_sink_close(p);
    p->package_id = 0;
    p->item_err = 0;
    p->failures = 0;
    p->refusing = false;
    p->by_id = false;
}

/* After a failed database call: with no connection left the cycle ends (nothing can be stored
 * or recorded until the database is back); otherwise the next package is handled. */
static void gw_poller_after_db_error(struct gw_poller *p)
{
    if (gw_db_ready(p->d.db))
        gw_poller_next_item(p);
    else
        gw_poller_cycle_end(p);
}

static void gw_poller_failure_recorded(int err, int32_t failures, int32_t wait_ms,
                                       const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "recording a local failure", err, sqlstate);
        gw_poller_after_db_error(p);
        return;
    }
    if (p->item_err == GW_E2BIG && failures == 1)
        gw_metric_inc(p->m.oversized); /* counts packages, not attempts */
    gw_log(GW_LOG_WARN, "poll.failing",
           "axis %s package %s failed locally %" PRId32 " time(s); left on the axis%s, next try "
           "in %" PRId32 " s",
           p->d.axis_name, gw_poller_current(p), failures,
           p->by_id ? " (no longer listed: fetched by id)" : "", (wait_ms + 999) / 1000);
    gw_poller_next_item(p);
}

static void gw_poller_record(struct gw_poller *p, const char *step, int err, const char *detail);

/* A local failure of the current package: logged, counted, recorded with backoff; never acked.
 * Once recorded it does not hold the list's cursor: the record keeps the doc id (by_id). */
static void gw_poller_local_failure(struct gw_poller *p, const char *step, int err,
                                    const char *detail)
{
    gw_metric_inc(p->m.failed);
    gw_log(GW_LOG_ERROR, "poll.local_failure",
           "axis %s package %s not stored (%s: %s%s%s); left on the axis", p->d.axis_name,
           gw_poller_current(p), step, gw_errcode(err), detail && detail[0] ? ": " : "",
           detail ? detail : "");
    gw_poller_record(p, step, err, detail);
}

/* The current package's failure recorded with backoff (incoming_failure): the record keeps the
 * doc id, retried by id once due. */
static void gw_poller_record(struct gw_poller *p, const char *step, int err, const char *detail)
{
    char text[300];
    struct gw_store_incoming_failure f = {
        .axis = p->d.axis_name,
        .axis_doc_id = gw_poller_current(p),
        .kind = p->kind,
        .error = text,
        .backoff_base_ms = gw_poller_backoff_base_ms(p),
        .backoff_max_ms = GW_POLLER_BACKOFF_MAX_MS,
    };

    snprintf(text, sizeof(text), "%s: %s%s%s", step, gw_errcode(err),
             detail && detail[0] ? ": " : "", detail ? detail : "");
    if (gw_store_incoming_failed(p->d.db, &f, gw_poller_failure_recorded, p) != 0)
        gw_poller_failure_recorded(GW_EDB, 0, 0, "", p);
}

static void gw_poller_ack_recorded(int err, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;
    if (err != 0)
        gw_poller_fail(p, "recording the ack", err, sqlstate);
    gw_poller_next_item(p);
}

static void gw_poller_acked(int err, const char *detail, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0 && (p->cursor || p->by_id)) {
        /* Stored (or refused), not acked, on an axis that lists by window: recorded, so the
         * cursor moves on and the fetch by id acks it again (021 keeps the record of a package
         * not acked yet); before, one ack that kept failing held the cursor for ever, and a
         * package fetched by id was never acked again. */
        gw_metric_inc(p->m.ack_failures);
        gw_poller_note(p, "ack", err, detail);
        gw_poller_record(p, "ack", err, detail);
        return;
    }
    if (err != 0) {
        /* Still listed on the axis: the next poll recognises it as stored (or refused) and
         * acks again. */
        gw_metric_inc(p->m.ack_failures);
        gw_poller_fail(p, "ack", err, detail);
        gw_poller_next_item(p);
        return;
    }
    gw_metric_inc(p->m.acks);
    if (p->refusing) {
        if (gw_store_incoming_fail_acked(p->d.db, p->d.axis_name, gw_poller_current(p),
                                         gw_poller_ack_recorded, p) != 0)
            gw_poller_next_item(p);
        return;
    }
    if (p->package_id <= 0 ||
        gw_store_incoming_acked(p->d.db, p->package_id, gw_poller_ack_recorded, p) != 0)
        gw_poller_next_item(p);
}

static void gw_poller_ack(struct gw_poller *p, bool done)
{
    p->refusing = !done;
    int rc = p->d.ops->ack(p->d.axis_state, gw_poller_current(p), done, gw_poller_acked, p);
    if (rc != 0)
        gw_poller_acked(rc, "could not start the ack", p);
}

static void gw_poller_stored(int err, int64_t package_id, bool created, const char *sqlstate,
                             void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        /* Not stored, so not acked: the axis keeps it listed. */
        if (!gw_db_ready(p->d.db)) {
            gw_poller_fail(p, "storing", err, sqlstate);
            gw_poller_cycle_end(p);
            return;
        }
        gw_poller_local_failure(p, "storing", err, sqlstate);
        return;
    }
    p->package_id = package_id;
    p->sink.body_id = 0; /* taken by the package, or deleted with the duplicate */
    if (created) {
        gw_metric_inc(p->m.stored);
        gw_log_pkg(GW_LOG_INFO, "poll.stored", p->package_id, p->sink.doc->document_id,
                   "stored %s %s from axis %s (%llu bytes, %zu attachment(s))",
                   gw_pkg_kind_name(p->sink.doc->kind), gw_poller_current(p), p->d.axis_name,
                   (unsigned long long)p->sink.size, p->sink.doc->n_attachments);
    } else {
        gw_metric_inc(p->m.duplicate);
    }
    gw_poller_ack(p, true);
}

static void gw_poller_refusal_recorded(int err, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        /* Not answered fail without a record of why: tried again later. */
        gw_poller_local_failure(p, "recording a refusal", err, sqlstate);
        return;
    }
    gw_poller_ack(p, false);
}

/* A verdict of domain.md §2 on the package itself: recorded with its code, then `fail`. The size
 * recorded is what was read (less than the package when the verdict came in the middle of the
 * stream), without a hash: the ingest gives none for a refused package. */
static void gw_poller_refuse(struct gw_poller *p)
{
    const struct gw_poller_sink *s = &p->sink;
    struct gw_store_incoming_refusal r = {
        .axis = p->d.axis_name,
        .axis_doc_id = gw_poller_current(p),
        .kind = p->kind,
        .code = s->code[0] ? s->code : gw_errcode(s->err),
        .detail = s->msg,
        .sha256 = NULL,
        .size = s->written,
    };

    gw_metric_inc(p->m.invalid);
    gw_log(GW_LOG_WARN, "poll.invalid", "axis %s package %s refused after %llu byte(s)%s: %s",
           p->d.axis_name, gw_poller_current(p), (unsigned long long)s->written,
           s->cut ? " (transfer stopped)" : "", s->msg);
    if (gw_store_incoming_refused(p->d.db, &r, gw_poller_refusal_recorded, p) != 0)
        gw_poller_refusal_recorded(GW_EDB, "", p);
}

/* Parsed and staged: the package row that takes the body, in one transaction. */
static void gw_poller_store(struct gw_poller *p)
{
    const struct gw_poller_sink *s = &p->sink;
    const struct gw_edxml_doc *doc = s->doc;
    struct gw_store_package pkg = {
        .kind = doc->kind,
        .document_id = doc->document_id,
        .sender = doc->from,
        .recipients = doc->recipients,
        .n_recipients = doc->n_recipients,
        .status_code = doc->kind == GW_KIND_STATUS ? doc->status_code : NULL,
        .business_doc_type = doc->business.doc_type,
        .sha256 = s->sha256,
        .body_id = s->body_id,
        .size = s->size,
        .doc_json = s->doc_json,
    };
    int rc = gw_store_incoming_store(p->d.db, p->d.axis_name, gw_poller_current(p), &pkg,
                                     gw_poller_stored, p);
    if (rc != 0)
        gw_poller_stored(rc, 0, false, "", p);
}

/* The fetch has ended and so has the ingest (poller_sink.c). A verdict or a local failure of the
 * ingest counts when the transfer went through, or was cut because of it; when the transfer
 * failed on its own, what was read is not the package and the fetch's error decides. */
void gw_poller_received(struct gw_poller *p)
{
    struct gw_poller_sink *s = &p->sink;
    int err = s->fetch_err;

    if (s->ended && s->outcome != GW_INGEST_OK && (err == 0 || s->cut)) {
        if (s->outcome == GW_INGEST_REFUSED) {
            gw_poller_refuse(p);
            return;
        }
        /* A local limit or failure (size, recipient cap, database, memory): says nothing of
         * the package. */
        p->item_err = s->err;
        gw_poller_local_failure(p, "ingest", s->err, s->msg);
        return;
    }
    if (err == GW_E2BIG) {
        /* Left on the axis for an operator (raise max_package_bytes, or refuse it there). */
        p->item_err = GW_E2BIG;
        gw_poller_local_failure(p, "fetch", err, "larger than max_package_bytes");
        return;
    }
    if (err == GW_EAXIS) {
        /* The axis refuses this one package: its failure, counted and retried with backoff. */
        gw_poller_local_failure(p, "fetch", err, s->fetch_detail);
        return;
    }
    if (err == GW_ENOMEM || (err == 0 && !s->ended)) {
        gw_poller_local_failure(p, "fetch", GW_ENOMEM, NULL);
        return;
    }
    if (err != 0 && p->by_id) {
        /* No list brings it back: counted in its record ("HTTP 404 ..." when the axis no
         * longer has it), retried with backoff, visible until it is stored or an operator
         * removes the record. */
        gw_poller_local_failure(p, "fetch by id", err, s->fetch_detail);
        return;
    }
    if (err != 0 && p->cursor) {
        /* Transport, on an axis that lists by window: the list answered, this package's fetch
         * did not (an HTTP 5xx or a timeout of its own, say). Recorded with backoff, so the
         * cursor moves on and the record brings it back by id; before, the cursor stayed for
         * ever and the window grew each day while the package was fetched again every poll. */
        gw_poller_local_failure(p, "fetch", err, s->fetch_detail);
        return;
    }
    if (err != 0) {
        /* Transport: a condition of the peer, not of the package; the next poll tries again. */
        gw_poller_fail(p, "fetch", err, s->fetch_detail);
        gw_poller_next_item(p);
        return;
    }
    gw_poller_store(p);
}

static void gw_poller_known(int err, const struct gw_store_incoming_known *k, const char *sqlstate,
                            void *ud)
{
    struct gw_poller *p = ud;
    struct gw_axis_sink *sink;
    int rc;

    if (err != 0) {
        gw_poller_fail(p, "lookup", err, sqlstate);
        gw_poller_after_db_error(p);
        return;
    }
    if (k->package_id > 0) {
        /* Stored before, ack lost or listed twice: ack again without fetching. */
        gw_metric_inc(p->m.duplicate);
        p->package_id = k->package_id;
        gw_poller_ack(p, true);
        return;
    }
    if (k->fail_acked) {
        gw_poller_next_item(p); /* refused, and the axis has the answer: still listed there */
        return;
    }
    if (k->refused) {
        gw_poller_ack(p, false); /* refused before; its fail did not reach the axis */
        return;
    }
    if (k->failing && k->wait_ms > 0) {
        gw_poller_next_item(p); /* failing: not due yet (its record keeps it) */
        return;
    }
    if (p->by_id && !k->failing) {
        gw_poller_next_item(p); /* its record went meanwhile (an operator): nothing to retry */
        return;
    }
    p->failures = k->failures;
    if (!(sink = gw_poller_sink_open(p))) {
        gw_poller_local_failure(p, "fetch", GW_ENOMEM, "no memory for the ingest");
        return;
    }
    rc = p->d.ops->fetch(p->d.axis_state, gw_poller_current(p), sink, gw_poller_sink_fetched, p);
    if (rc != 0)
        gw_poller_sink_fetched(rc, "could not start the fetch", p);
}

void gw_poller_item_start(struct gw_poller *p)
{
    int rc;

    p->by_id = p->next > p->n_listed;
    rc = gw_store_incoming_check(p->d.db, p->d.axis_name, gw_poller_current(p), gw_poller_known, p);
    if (rc != 0)
        gw_poller_known(rc, NULL, "", p);
}
