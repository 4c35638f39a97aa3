#ifndef GW_POLLER_INTERNAL_H
#define GW_POLLER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "edxml/edxml.h"
#include "engine/poller.h"

/* Shared by poller.c (the cycle) and poller_item.c (one listed package) only. */

#define GW_POLLER_MAX_RECIPIENTS 100000 /* a local limit: over it, a package waits on the axis */
#define GW_POLLER_BACKOFF_MIN_MS 2000   /* first retry of a failing doc id, at least */
#define GW_POLLER_BACKOFF_MAX_MS 3600000

struct gw_metric;

struct gw_poller_metrics {
    struct gw_metric *stored, *duplicate, *invalid, *oversized, *failed;
    struct gw_metric *acks, *ack_failures, *poll_errors, *failing;
};

/* poller_sink.c: where a fetch writes the package (today: one growing buffer). */
struct gw_poller_sink {
    struct gw_axis_sink sink;
    uint8_t *buf;
    size_t len, cap;
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
    enum gw_pkg_kind kind;
    char **ids; /* docIds of the current list */
    size_t n_ids;
    size_t next;
    /* the item in progress */
    uv_work_t work;
    struct gw_poller_sink sink;
    uint8_t *bytes;
    size_t len;
    int parse_err;
    char errmsg[200];
    struct gw_edxml_info info;
    uint8_t sha[32];
    int64_t package_id;
    int32_t failures; /* local failures of this doc id before this attempt */
    bool refusing;    /* the ack in progress is a `fail` */
};

/* poller.c */
void gw_poller_next_item(struct gw_poller *p);
void gw_poller_cycle_end(struct gw_poller *p);
/* A failed step of the cycle (lease, list): counted in gateway_poll_errors_total and logged. */
void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail);
const char *gw_poller_current(const struct gw_poller *p);
const char *gw_poller_kind_name(enum gw_pkg_kind k);
uint64_t gw_poller_backoff_base_ms(const struct gw_poller *p);

/* poller_item.c */
/* Processes the current docId; ends by calling gw_poller_next_item or gw_poller_cycle_end. */
void gw_poller_item_start(struct gw_poller *p);
/* Frees what the item in progress holds. */
void gw_poller_clear_item(struct gw_poller *p);

/* poller_sink.c, the one place that builds the fetch's sink: open gives the sink for a fetch
 * (dropping any earlier one); after a successful fetch, take hands over the package bytes
 * (malloc'd, also when empty; free() them; 0 or GW_ENOMEM); close discards what the sink holds (a
 * failed fetch). */
struct gw_axis_sink *gw_poller_sink_open(struct gw_poller *p);
int gw_poller_sink_take(struct gw_poller *p, uint8_t **bytes, size_t *len);
void gw_poller_sink_close(struct gw_poller *p);

#endif
