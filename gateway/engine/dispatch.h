#ifndef GW_DISPATCH_H
#define GW_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config/config.h"
#include "db/db.h"
#include "store/body_cache.h"
#include "engine/axis.h"
#include "engine/peer.h"
#include "metrics/metrics.h"

/*
 * Outgoing delivery engine: claims due deliveries from PostgreSQL (FOR UPDATE SKIP LOCKED plus a
 * lease, so several instances share the work), sends each through its axis adapter and records
 * the outcome (SENT with the axis DocId, or a retry with exponential backoff and jitter, or DEAD
 * after the give-up age). Only the enabled axes it was given are claimed, each within its peer
 * health (engine/peer.h): an axis whose breaker is open is not sent to, and its failures cost no
 * attempt. Leases of sends in flight or being recorded are renewed. Recording is retried while
 * the database is away.
 */

struct gw_dispatch;

struct gw_dispatch_axis {
    const char *name;
    const struct gw_axis_ops *ops;
    void *state; /* the adapter's, for ops */
    bool enabled;
    unsigned max_concurrency; /* sends in flight to this axis at once; 0 = max_inflight only */
};

struct gw_dispatch_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_body_cache *cache; /* stored chunks kept in memory, read by the copies (or NULL) */
    const struct gw_dispatch_axis *axes; /* copied */
    size_t n_axes;
    struct gw_metrics *metrics; /* gateway_send_*_total{axis}, gateway_axis_breaker_state{axis} */
    const struct gw_config_delivery *cfg; /* must outlive the dispatcher */
    const char *owner;                    /* lease owner id; copied */
    /* The gateway's own organisation id ([gateway] organ_ids[0]): the OrganId of the TraceHeader
     * each per-axis copy gets; copied. */
    const char *organ_id;
    /* Runs when the dispatcher may have become idle after gw_dispatch_stop. */
    void (*idle)(void *ud);
    void *ud;
};

int gw_dispatch_start(const struct gw_dispatch_deps *deps, struct gw_dispatch **out)
    __attribute__((warn_unused_result));

/* Something became due (a submission committed): claim now rather than at the next scan. */
void gw_dispatch_kick(struct gw_dispatch *d);

/* Sends started and not yet recorded. */
size_t gw_dispatch_inflight(const struct gw_dispatch *d);

/* Peer health of every axis the dispatcher was given, in their order, for /readyz: fills at most
 * max views and returns the number of axes. Strings stay valid until the dispatcher next runs on
 * the loop. enabled[i] (may be NULL) tells a disabled axis, whose deliveries are held. */
size_t gw_dispatch_peer_snapshot(const struct gw_dispatch *d, struct gw_peer_view *out,
                                 bool *enabled, size_t max);

/* Back-pressure ([delivery] backpressure_age_s, docs/internals/delivery.md): true while the
 * oldest due delivery of an axis whose breaker is closed, or the oldest due signature check, has
 * waited longer than the bound, as read at most about a second ago; *axis (may be NULL) then
 * names that axis (valid until the dispatcher is freed), or is NULL for the checks. An axis whose
 * breaker is open or half-open never counts (its queue may grow while the peer is away), nor the
 * time before its breaker last closed; a reading that is not recent (database away) counts as not
 * behind. False when the bound is 0 or d is NULL. */
bool gw_dispatch_behind(const struct gw_dispatch *d, const char **axis);

/* Stops claiming; in-flight sends finish and are recorded. */
void gw_dispatch_stop(struct gw_dispatch *d);

/* True when stopped and nothing is in flight. */
bool gw_dispatch_idle(const struct gw_dispatch *d);

/* Closes the timer and frees; pending records are dropped (their leases expire and another claim
 * resends). Callbacks of sends still in flight only free them. Safe with NULL. */
void gw_dispatch_free(struct gw_dispatch *d);

#endif
