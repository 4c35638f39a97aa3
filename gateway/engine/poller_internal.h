#ifndef GW_POLLER_INTERNAL_H
#define GW_POLLER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "edxml/edxml_model.h"
#include "engine/poller.h"
#include "pipeline/ingest.h"

/* Shared by poller.c (the cycle) and poller_item.c (one listed package) only. */

#define GW_POLLER_MAX_RECIPIENTS 100000 /* a local limit: over it, a package waits on the axis */
#define GW_POLLER_BACKOFF_MIN_MS 2000   /* first retry of a failing doc id, at least */
#define GW_POLLER_BACKOFF_MAX_MS 3600000
#define GW_POLLER_DUE_MAX        100 /* failing doc ids fetched by id after one windowed list */

struct gw_metric;

struct gw_poller_metrics {
    struct gw_metric *stored, *duplicate, *invalid, *oversized, *failed;
    struct gw_metric *acks, *ack_failures, *poll_errors, *failing;
};

/* poller_sink.c: where a fetch writes the package: the front of an ingest (pipeline/ingest.h),
 * which parses the bytes on the thread pool while they are stored as the chunks of a staged
 * body. Nothing of the package is accumulated here; `pending` only holds what the ingest could
 * not take of the last write while the fetch is paused (at most one piece of the transfer). */
struct gw_poller_sink {
    struct gw_axis_sink sink;
    struct gw_ingest *in; /* NULL once its done callback ran or it was aborted */
    uint8_t *pending;
    size_t pending_len, pending_cap;
    uint64_t written; /* bytes the ingest took */
    bool paused;      /* the last write answered GW_AXIS_SINK_PAUSED; not resumed yet */
    bool cut;         /* a write answered an error because the ingest had stopped */
    bool fetched;     /* the fetch callback ran */
    int fetch_err;
    char fetch_detail[300];
    bool ended; /* the ingest's done callback ran: the outcome below is set */
    enum gw_ingest_outcome outcome;
    int err;
    char code[64];
    char msg[320];
    /* outcome OK: taken from the ingest; doc and doc_json freed, an untaken body discarded by
     * gw_poller_sink_close */
    struct gw_edxml_doc *doc;
    char *doc_json;
    int64_t body_id;
    uint64_t size;
    uint8_t sha256[32];
};

struct gw_poller {
    struct gw_poller_deps d;
    struct gw_poller_metrics m;
    uv_timer_t timer;
    bool busy;
    bool stopping;
    bool again;
    bool closed;       /* timer closed: free once the cycle in progress ends */
    uint64_t lease_at; /* uv_now() when the lease was last taken or renewed */
    bool renewing;     /* a renewal by the timer, during an item, is in flight */
    bool lost;         /* that renewal found the lease held by another instance */
    enum gw_pkg_kind kind;
    char *cursor; /* the list's next_cursor (a windowed list), stored if the list is clean */
    /* No step of the current list failed that is not recorded per doc id: a list, transport or
     * ack failure of a listed item, or a failure that could not be recorded, makes it false; a
     * local failure recorded in incoming_failure does not (its record keeps it, see by_id). */
    bool clean;
    char **ids;      /* docIds of the current list, then the failing ones due, fetched by id */
    size_t n_ids;    /* all of them */
    size_t n_listed; /* the first n_listed are the list's */
    size_t next;
    bool merged; /* the due failing doc ids were asked for (windowed lists only) */
    /* the item in progress */
    struct gw_poller_sink sink;
    int item_err; /* the local failure being recorded (GW_E2BIG counts an oversized package) */
    int64_t package_id;
    int32_t failures; /* local failures of this doc id before this attempt */
    bool refusing;    /* the ack in progress is a `fail` */
    bool by_id;       /* a failing doc id the list did not name: nothing of it touches clean */
};

/* poller.c */
void gw_poller_next_item(struct gw_poller *p);
void gw_poller_cycle_end(struct gw_poller *p);
/* A failed step of the cycle (lease, list, a listed item's transport): counted in
 * gateway_poll_errors_total and logged; the list's cursor is not stored (unless the item in
 * progress is fetched by id). gw_poller_note counts and logs only. */
void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail);
void gw_poller_note(struct gw_poller *p, const char *step, int err, const char *detail);
const char *gw_poller_current(const struct gw_poller *p);
uint64_t gw_poller_backoff_base_ms(const struct gw_poller *p);

/* poller_item.c */
/* Processes the current docId; ends by calling gw_poller_next_item or gw_poller_cycle_end. */
void gw_poller_item_start(struct gw_poller *p);
/* Frees what the item in progress holds. */
void gw_poller_clear_item(struct gw_poller *p);

/* poller_item.c: the fetch and the ingest both ended (the sink's fields say how). */
void gw_poller_received(struct gw_poller *p);

/* poller_sink.c, the one place that builds the fetch's sink: open starts an ingest (dropping any
 * earlier sink) and gives the sink for a fetch, NULL on allocation failure; fetched is the
 * fetch's callback (it finishes the ingest when every byte came, aborts it otherwise). Once both
 * the fetch and the ingest have ended, gw_poller_received runs, from a loop callback (never from
 * inside the adapter's write). close aborts an ingest still running, discards a staged body no
 * package took and frees the rest. */
struct gw_axis_sink *gw_poller_sink_open(struct gw_poller *p);
void gw_poller_sink_fetched(int err, const char *detail, void *ud);
void gw_poller_sink_close(struct gw_poller *p);

#endif
