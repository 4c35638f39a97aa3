/*
 * Axis poller, the cycle: take (and during long cycles renew) the poll lease, list edoc then
 * status packages, hand each listed docId to poller_item.c, which stores it before acking it, and
 * after each list prune the failure records (the failing gauge).
 * A flavour that lists by window (lgsp_rest) gets the cursor stored for (axis, kind) before each
 * list and returns the next one, stored (store_cursor) unless a failure that is not recorded per
 * doc id happened (list, transport, an unrecorded failure): then the window is listed again. A
 * package recorded as failing does not hold the window: after the listed items, the due failing
 * doc ids of (axis, kind) the list did not name are fetched by id, and a windowed list's prune
 * drops no record (a doc id out of the window is not resolved). One timer per axis; one cycle at
 * a time.
 */
#include "engine/poller.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "engine/poller_internal.h"
#include "metrics/metrics.h"
#include "store/store_cursor.h"
#include "store/store_incoming.h"
#include "util/error.h"
#include "util/log.h"

static int gw_poller_take_lease(struct gw_poller *p);
static uint64_t gw_poller_lease_ms(const struct gw_poller *p);
static void gw_poller_list(struct gw_poller *p);

/* Local failures wait twice the poll interval first (at least 2 s), doubling up to an hour. */
uint64_t gw_poller_backoff_base_ms(const struct gw_poller *p)
{
    uint64_t ms = p->d.cfg->poll_interval_ms * 2;
    if (ms < GW_POLLER_BACKOFF_MIN_MS)
        ms = GW_POLLER_BACKOFF_MIN_MS;
    return ms > GW_POLLER_BACKOFF_MAX_MS ? GW_POLLER_BACKOFF_MAX_MS : ms;
}

static void gw_poller_clear_list(struct gw_poller *p)
{
    for (size_t i = 0; i < p->n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    p->ids = NULL;
    p->n_ids = p->n_listed = p->next = 0;
    p->merged = false;
    free(p->cursor);
    p->cursor = NULL;
}

static void gw_poller_destroy(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    free(p);
}

void gw_poller_cycle_end(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    p->busy = false;
    if (p->closed) {
        if (!p->renewing)         /* else the renewal's answer frees it */
            gw_poller_destroy(p); /* the cycle outlived a forced stop: its end frees the poller */
        return;
    }
    if (p->renewing && p->stopping)
        return; /* idle once the renewal in flight has its answer */
    if (p->stopping) {
        if (p->d.idle)
            p->d.idle(p->d.idle_ud);
    } else if (p->again) {
        p->again = false;
        gw_poller_kick(p);
    }
}

void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail)
{
    if (!p->by_id)
        p->clean = false; /* the list's cursor is not advanced */
    gw_poller_note(p, step, err, detail);
}

void gw_poller_note(struct gw_poller *p, const char *step, int err, const char *detail)
{
    gw_metric_inc(p->m.poll_errors);
    gw_log(GW_LOG_WARN, "poll.error", "axis %s: %s failed: %s%s%s", p->d.axis_name, step,
           gw_strerror(err), detail && detail[0] ? ": " : "", detail ? detail : "");
}

const char *gw_poller_current(const struct gw_poller *p)
{
    return p->ids[p->next - 1];
}

static void gw_poller_list_next(struct gw_poller *p);

static void gw_poller_cursor_stored(int err, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0)
        gw_poller_fail(p, "storing the list cursor", err, sqlstate);
    gw_poller_list_next(p);
}

/* The list of one kind is done: its cursor is stored when every item was handled. */
static void gw_poller_list_done(struct gw_poller *p)
{
    if (p->cursor && p->clean && !p->stopping) {
        gw_log(GW_LOG_DEBUG, "poll.cursor", "axis %s: %s list cursor now %s", p->d.axis_name,
               gw_pkg_kind_name(p->kind), p->cursor);
        if (gw_store_cursor_put(p->d.db, p->d.axis_name, p->kind, p->cursor,
                                gw_poller_cursor_stored, p) == 0)
            return;
        gw_poller_fail(p, "storing the list cursor", GW_EDB, NULL);
    }
    gw_poller_list_next(p);
}

/* The status list follows the edoc list, then the cycle ends. */
static void gw_poller_list_next(struct gw_poller *p)
{
    gw_poller_clear_list(p);
    if (p->kind == GW_KIND_EDOC && !p->stopping) {
        p->kind = GW_KIND_STATUS;
        gw_poller_list(p);
    } else {
        gw_poller_cycle_end(p);
    }
}

static void gw_poller_pruned(int err, int64_t failing, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0)
        gw_poller_fail(p, "counting failing packages", err, sqlstate);
    else
        gw_metric_set(p->m.failing, (double)failing);
    gw_poller_list_done(p);
}

/* The due failing doc ids the list did not name join the cycle's work, fetched by id. */
static void gw_poller_due(int err, char *const *ids, size_t n, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;
    char **more;
    size_t added = 0;

    if (err != 0) {
        /* They stay recorded and are asked for again after the next list. */
        gw_poller_note(p, "listing the failing packages due", err, sqlstate);
    } else if (n > 0 && !(more = realloc(p->ids, (p->n_ids + n) * sizeof(char *)))) {
        gw_poller_note(p, "listing the failing packages due", GW_ENOMEM, NULL);
    } else if (n > 0) {
        p->ids = more;
        for (size_t i = 0; i < n; i++)
            if ((p->ids[p->n_ids] = strdup(ids[i])) != NULL) {
                p->n_ids++;
                added++;
            }
    }
    if (added > 0)
        gw_log(GW_LOG_INFO, "poll.by_id",
               "axis %s: %zu failing %s package(s) the list no longer names, fetched by id",
               p->d.axis_name, added, gw_pkg_kind_name(p->kind));
    gw_poller_next_item(p);
}

/* After the listed items: a windowed list asks for the due failing doc ids first (once), then
 * prunes; the prune of a windowed list drops no record. */
static void gw_poller_items_done(struct gw_poller *p)
{
    bool windowed = p->cursor != NULL;

    if (windowed && !p->merged) {
        p->merged = true;
        if (gw_store_incoming_due(p->d.db, p->d.axis_name, p->kind, p->ids, p->n_listed,
                                  GW_POLLER_DUE_MAX, gw_poller_due, p) == 0)
            return;
        gw_poller_note(p, "listing the failing packages due", GW_EDB, NULL);
    }
    if (gw_store_incoming_prune(p->d.db, p->d.axis_name, p->kind, p->ids, p->n_listed, windowed,
                                gw_poller_pruned, p) != 0)
        gw_poller_list_done(p);
}

void gw_poller_next_item(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    if (p->stopping) {
        gw_poller_cycle_end(p);
        return;
    }
    if (p->lost) {
        /* The timer's renewal found another instance polling this axis: this cycle ends, its
         * cursor unstored (the other lists again). */
        p->clean = false;
        gw_log(GW_LOG_WARN, "poll.lease_lost",
               "axis %s: another instance took the poll lease during this cycle; it ends here",
               p->d.axis_name);
        gw_poller_cycle_end(p);
        return;
    }
    if (uv_now(p->d.loop) - p->lease_at > gw_poller_lease_ms(p) / 3) {
        /* A long cycle renews its lease, so no other instance starts polling this axis. */
        if (gw_poller_take_lease(p) != 0) {
            gw_poller_fail(p, "lease", GW_EDB, NULL);
            gw_poller_cycle_end(p);
        }
        return;
    }
    if (p->next >= p->n_ids) {
        gw_poller_items_done(p);
        return;
    }
    p->next++;
    gw_poller_item_start(p);
}

static void gw_poller_listed(int err, const struct gw_axis_item *items, size_t n,
                             const char *next_cursor, const char *detail, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "list", err, detail);
        gw_poller_cycle_end(p);
        return;
    }
    p->ids = calloc(n ? n : 1, sizeof(char *));
    p->cursor = next_cursor ? strdup(next_cursor) : NULL;
    if (!p->ids || (next_cursor && !p->cursor)) {
        gw_poller_cycle_end(p);
        return;
    }
    p->clean = true;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].doc_id || !items[i].doc_id[0] || strlen(items[i].doc_id) > 256)
            continue;
        p->ids[p->n_ids] = strdup(items[i].doc_id);
        if (p->ids[p->n_ids])
            p->n_ids++;
        else
            p->clean = false; /* not handled: the window is listed again */
    }
    p->n_listed = p->n_ids;
    p->next = 0;
    if (n > 0)
        gw_log(GW_LOG_DEBUG, "poll.listed", "axis %s lists %zu %s package(s)", p->d.axis_name, n,
               gw_pkg_kind_name(p->kind));
    gw_poller_next_item(p);
}

static void gw_poller_cursor_read(int err, const char *cursor, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;
    int rc;

    if (err != 0) {
        gw_poller_fail(p, "reading the list cursor", err, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    rc = p->d.ops->list_received(p->d.axis_state, p->kind, cursor, gw_poller_listed, p);
    if (rc != 0)
        gw_poller_listed(rc, NULL, 0, NULL, "could not start the list", p);
}

/* The cursor stored for (axis, kind) first, then the list from it. */
static void gw_poller_list(struct gw_poller *p)
{
    int rc = gw_store_cursor_get(p->d.db, p->d.axis_name, p->kind, gw_poller_cursor_read, p);
    if (rc != 0)
        gw_poller_cursor_read(rc, NULL, "", p);
}

/* How long a poll lease lasts: five poll intervals, at least 15 s. */
static uint64_t gw_poller_lease_ms(const struct gw_poller *p)
{
    uint64_t ms = p->d.cfg->poll_interval_ms * 5;
    return ms < 15000 ? 15000 : ms;
}

/* The lease was taken at the start of the cycle (listing) or renewed in its middle (next item). */
static void gw_poller_leased(int err, bool held, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "lease", err, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    if (!held || p->stopping) {
        gw_poller_cycle_end(p); /* another instance polls this axis */
        return;
    }
    if (!p->ids)
        p->lost = false; /* a new cycle */
    p->lease_at = uv_now(p->d.loop);
    if (p->ids) {
        gw_poller_next_item(p);
        return;
    }
    p->kind = GW_KIND_EDOC;
    gw_poller_list(p);
}

static int gw_poller_take_lease(struct gw_poller *p)
{
    return gw_store_incoming_lease(p->d.db, p->d.axis_name, p->d.owner, gw_poller_lease_ms(p),
                                   gw_poller_leased, p);
}

/* The timer's renewal during an item has its answer. */
static void gw_poller_renewed(int err, bool held, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    p->renewing = false;
    if (p->closed) {
        if (!p->busy)
            gw_poller_destroy(p);
        return;
    }
    if (err != 0)
        gw_poller_note(p, "renewing the lease", err, sqlstate); /* tried again next tick */
    else if (held)
        p->lease_at = uv_now(p->d.loop);
    else
        p->lost = true;
    if (p->stopping && !p->busy && p->d.idle)
        p->d.idle(p->d.idle_ud);
}

/* One item may outlast the lease (a slow fetch, its store, a slow ack), and the cycle renews it
 * only between items: the timer renews it meanwhile, once a third of it has gone. Before, a
 * second instance took a lease that ran out in the middle of a 30 s fetch and polled the axis
 * beside the first, fetching the same package again. */
static void gw_poller_renew_during_item(struct gw_poller *p)
{
    if (p->renewing || p->stopping || uv_now(p->d.loop) - p->lease_at <= gw_poller_lease_ms(p) / 3)
        return;
    p->renewing = true;
    if (gw_store_incoming_lease(p->d.db, p->d.axis_name, p->d.owner, gw_poller_lease_ms(p),
                                gw_poller_renewed, p) != 0)
        p->renewing = false;
}

static void gw_poller_tick(uv_timer_t *t)
{
    struct gw_poller *p = t->data;

    if (p->busy) {
        p->again = true;
        gw_poller_renew_during_item(p);
        return;
    }
    if (p->stopping || !gw_db_ready(p->d.db))
        return;
    p->busy = true;
    if (gw_poller_take_lease(p) != 0)
        p->busy = false;
}

static struct gw_metric *gw_poller_counter(struct gw_poller *p, const char *name, const char *help)
{
    return gw_metric_series(gw_metrics_counter(p->d.metrics, name, help, "axis", NULL),
                            p->d.axis_name);
}

static void gw_poller_metrics(struct gw_poller *p)
{
    struct gw_poller_metrics *m = &p->m;

    m->stored = gw_poller_counter(p, "gateway_fetch_stored_total", "packages fetched and stored");
    m->duplicate = gw_poller_counter(p, "gateway_fetch_duplicate_total", "packages listed again");
    m->invalid = gw_poller_counter(p, "gateway_fetch_invalid_total",
                                   "fetched packages refused (updateStatus fail)");
    m->oversized = gw_poller_counter(p, "gateway_fetch_oversized_total",
                                     "listed packages over max_package_bytes (left on the axis)");
    m->failed = gw_poller_counter(p, "gateway_fetch_failed_total",
                                  "local failures of a listed package (left on the axis, retried)");
    m->acks = gw_poller_counter(p, "gateway_axis_ack_total", "transport acks sent to an axis");
    m->ack_failures =
        gw_poller_counter(p, "gateway_axis_ack_failures_total", "transport acks that failed");
    m->poll_errors = gw_poller_counter(p, "gateway_poll_errors_total", "failed poll steps");
    m->failing = gw_metric_series(
        gw_metrics_gauge(p->d.metrics, "gateway_fetch_failing",
                         "listed packages that keep failing locally (left on the axis)", "axis",
                         NULL),
        p->d.axis_name);
}

int gw_poller_start(const struct gw_poller_deps *deps, struct gw_poller **out)
{
    struct gw_poller *p;

    if (!deps->loop || !deps->db || !deps->axis_name || !deps->ops || !deps->cfg || !deps->owner)
        return GW_EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return GW_ENOMEM;
    p->d = *deps;
    gw_poller_metrics(p);
    uv_timer_init(p->d.loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, gw_poller_tick, 100, p->d.cfg->poll_interval_ms);
    *out = p;
    return 0;
}

void gw_poller_kick(struct gw_poller *p)
{
    if (p && !p->stopping)
        uv_timer_start(&p->timer, gw_poller_tick, 0, p->d.cfg->poll_interval_ms);
}

void gw_poller_stop(struct gw_poller *p)
{
    if (!p)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
}

bool gw_poller_idle(const struct gw_poller *p)
{
    return !p || (!p->busy && !p->renewing);
}

static void gw_poller_closed(uv_handle_t *h)
{
    struct gw_poller *p = h->data;
    /* A cycle still busy at a forced stop has callbacks to come; its end frees the poller (or
     * the answer of a renewal in flight, the later of the two). */
    p->closed = true;
    if (!p->busy && !p->renewing)
        gw_poller_destroy(p);
}

void gw_poller_free(struct gw_poller *p)
{
    if (p)
        uv_close((uv_handle_t *)&p->timer, gw_poller_closed);
}
