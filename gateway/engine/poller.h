#ifndef GW_POLLER_H
#define GW_POLLER_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"
#include "engine/axis.h"

/*
 * Inbound side of one axis: periodically lists the packages waiting for this province, fetches
 * each as a stream into the ingest pipeline (parsed on the thread pool while its bytes are stored
 * as the chunks of a staged body), stores the package row that takes the body
 * (store/store_incoming) and only then sends the axis its transport ack (updateStatus done). Each
 * listed package is handled on its own: a verdict on the package (edxml: gw_edxml_is_verdict) is
 * recorded and answered `updateStatus fail`; a local failure (a configured limit, a store error) is
 * counted per doc id in the database, retried with backoff, logged and exposed
 * (gateway_fetch_failing), and never keeps the rest of the list from being fetched in the same
 * cycle, nor, once recorded, the list window of an axis that lists by date from moving on: such
 * a package is then fetched by id until it is stored (docs/internals/axes.md). One instance polls
 * a given axis at a time, by a lease row.
 */

struct gw_db;
struct gw_ingest_deps;
struct gw_metrics;
struct gw_poller;

struct gw_poller_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_metrics *metrics; /* families gateway_fetch_*, gateway_axis_ack_*, gateway_poll_* */
    const char *axis_name;      /* metric label and database key */
    const struct gw_axis_ops *ops;
    void *axis_state;
    const struct gw_config_axis *cfg; /* poll_interval_ms */
    const char *owner;                /* lease owner id of this process */
    /* How a fetched package is read (pipeline/ingest.h): the reader's options, conformance and
     * JSON form; copied per package with loop, db and max_bytes = cfg->axis.max_package_bytes.
     * NULL: the reader's defaults without conformance. */
    const struct gw_ingest_deps *ingest;
    /* Called when the poller becomes idle after gw_poller_stop (the cycle in progress ended). */
    void (*idle)(void *ud);
    void *idle_ud;
};

/* Starts polling; deps is copied (the pointers in it must outlive the poller). */
int gw_poller_start(const struct gw_poller_deps *deps, struct gw_poller **out)
    __attribute__((warn_unused_result));

/* Poll now instead of at the next interval (used by tests through SIGUSR1 and at start). */
void gw_poller_kick(struct gw_poller *p);

/* Stops after the item in progress; deps.idle runs once it is idle. */
void gw_poller_stop(struct gw_poller *p);

bool gw_poller_idle(const struct gw_poller *p);

/* Closes the timer and frees. Safe with NULL. */
void gw_poller_free(struct gw_poller *p);

#endif
