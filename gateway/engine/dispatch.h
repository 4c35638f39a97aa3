#ifndef GW_DISPATCH_H
#define GW_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Outgoing delivery engine: claims due deliveries from PostgreSQL (FOR UPDATE SKIP LOCKED plus a
 * lease, so several instances share the work), sends each through its axis adapter and records
 * the outcome (SENT with the axis DocId, or a retry with exponential backoff and jitter, or DEAD
 * after the give-up age). Recording is retried while the database is away.
 */

struct gw_app;
struct gw_dispatch;

int gw_dispatch_start(struct gw_app *app, struct gw_dispatch **out)
    __attribute__((warn_unused_result));

/* Something became due (a submission committed): claim now rather than at the next scan. */
void gw_dispatch_kick(struct gw_dispatch *d);

/* Sends started and not yet recorded. */
size_t gw_dispatch_inflight(const struct gw_dispatch *d);

/* Stops claiming; in-flight sends finish and are recorded. */
void gw_dispatch_stop(struct gw_dispatch *d);

/* True when stopped and nothing is in flight. */
bool gw_dispatch_idle(const struct gw_dispatch *d);

/* Closes the timer and frees; pending records are dropped (their leases expire and another claim
 * resends). Safe with NULL. */
void gw_dispatch_free(struct gw_dispatch *d);

#endif
