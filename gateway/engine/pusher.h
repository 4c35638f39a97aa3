#ifndef GW_PUSHER_H
#define GW_PUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "db/db.h"
#include "engine/peer.h"
#include "metrics/metrics.h"

/*
 * Push engine: on every scan it moves the push cursor over the new inbox items (one push row
 * each, schemas/sql/012_push.sql), claims due pushes under a lease (FOR UPDATE SKIP LOCKED, so
 * several instances share the work), sends them through the push ops (at most max_inflight at
 * once, within the webhook's circuit breaker) and records each outcome fenced on (owner,
 * attempt): a 2xx is sent + the inbox item acknowledged; a failure backs off, or is held
 * without spending the attempt while the breaker is open, or is dead after the give-up age.
 * The webhook's protocol is the ops' business (adapters/qlvbdh, wired by the daemon).
 */

struct gw_pusher;

/* One attempt to make: the push row's ids and the facts the event is built from (valid only
 * during the send call). */
struct gw_push_item {
    int64_t push_id;
    int64_t package_id;
    const char *event_id;
    const char *facts; /* JSON object (gw_push_facts) */
    size_t facts_len;
};

/* err 0: the webhook answered HTTP status (2xx: acknowledged). err < 0: not reached
 * (GW_EHTTP, GW_ETIMEDOUT, GW_E2BIG), or GW_ECANCELED when the client closed. */
typedef void (*gw_push_done_cb)(int err, long status, const char *detail, void *ud);

struct gw_push_ops {
    /* Starts one attempt. If it returns an error, done never runs (GW_EINVAL: the event cannot
     * be built from these facts; the attempt counts as failed). */
    int (*send)(void *state, const struct gw_push_item *it, gw_push_done_cb done, void *ud);
    void *state;
};

struct gw_pusher_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_metrics *metrics;       /* gateway_push_* */
    const struct gw_config_push *cfg; /* must outlive the pusher */
    struct gw_peer_config breaker;    /* the webhook's circuit breaker */
    const char *owner;                /* lease owner id; copied */
    /* Only inbox items addressed to one of these are pushed ([gateway] organ_ids); borrowed. */
    const char *const *organs;
    size_t n_organs;
    struct gw_push_ops ops;
    void (*idle)(void *ud); /* may have become idle after gw_pusher_stop */
    void *ud;
};

int gw_pusher_start(const struct gw_pusher_deps *deps, struct gw_pusher **out)
    __attribute__((warn_unused_result));

/* A new inbox item may be there: scan now rather than at the next interval. */
void gw_pusher_kick(struct gw_pusher *p);

/* The webhook's breaker for /readyz; false without a pusher. */
bool gw_pusher_peer_view(const struct gw_pusher *p, struct gw_peer_view *out);

/* Stops claiming; attempts in flight finish and are recorded. */
void gw_pusher_stop(struct gw_pusher *p);
bool gw_pusher_idle(const struct gw_pusher *p);
size_t gw_pusher_inflight(const struct gw_pusher *p);

/* Closes the timer and frees once nothing is in flight; outcomes arriving later are dropped
 * (their leases expire and another claim sends the same event_id again). Safe with NULL. */
void gw_pusher_free(struct gw_pusher *p);

#endif
