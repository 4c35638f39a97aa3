#ifndef GW_POLLER_H
#define GW_POLLER_H

#include <stdbool.h>

/*
 * Inbound side of one axis: periodically lists the packages waiting for this province, fetches
 * each, stores it durably (gw_store_incoming) and only then sends the axis its transport ack
 * (updateStatus done). One instance polls a given axis at a time, by a lease row in PostgreSQL.
 */

struct gw_app;
struct gw_axis_inst;
struct gw_poller;

int gw_poller_start(struct gw_app *app, struct gw_axis_inst *axis, struct gw_poller **out)
    __attribute__((warn_unused_result));

/* Poll now instead of at the next interval (used by tests through SIGUSR1 and at start). */
void gw_poller_kick(struct gw_poller *p);

/* Stops after the item in progress. */
void gw_poller_stop(struct gw_poller *p);

bool gw_poller_idle(const struct gw_poller *p);

/* Closes the timer and frees. Safe with NULL. */
void gw_poller_free(struct gw_poller *p);

#endif
