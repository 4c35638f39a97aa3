#ifndef GW_PEER_H
#define GW_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Peer health of one axis: a circuit breaker and a concurrency limit for the sends to it.
 *
 *   closed ──(refused credential, or `failures` transport failures in a row, or the same FAIL
 *             answer for `failures` different packages in a row)──▶ open
 *   open ──(backoff elapsed)──▶ half_open: one probe send
 *   half_open ──(probe delivered, or refused for a reason of its own)──▶ closed
 *   half_open ──(probe failed like the peer)──▶ open, backoff doubled up to backoff_max_ms
 *
 * While the breaker is not closed, nothing but the probe is sent and every failure that comes
 * back is the peer's (GW_PEER_HELD): the delivery waits without spending an attempt. Pure logic
 * on a clock passed in (no I/O but one log line per state change), so it is unit-tested alone;
 * the dispatcher stores each change (on_change) and exposes it.
 */

enum gw_peer_state { GW_PEER_CLOSED = 0, GW_PEER_OPEN = 1, GW_PEER_HALF_OPEN = 2 };

/* How a send's outcome is to be recorded. */
enum gw_peer_verdict {
    GW_PEER_DELIVERED = 0, /* the axis took it */
    GW_PEER_PACKAGE,       /* a failure of this package: spend the attempt, back off */
    GW_PEER_HELD,          /* a failure of the peer: requeue, attempt given back, never DEAD */
};

struct gw_peer_config {
    unsigned failures;        /* run length that opens the breaker; >= 1 */
    uint64_t backoff_ms;      /* first open period */
    uint64_t backoff_max_ms;  /* cap of the doubling */
    unsigned max_concurrency; /* sends in flight to this axis at once; 0 = no own limit */
};

struct gw_peer;

/* Called after every state change (the change is already logged). */
typedef void (*gw_peer_change_cb)(const struct gw_peer *p, void *ud);

/* What /readyz and /metrics show of one axis. Strings are valid until the next call on p. */
struct gw_peer_view {
    const char *axis;
    enum gw_peer_state state;
    const char *reason;   /* what opened it ("" when closed) */
    uint64_t since_ms;    /* clock value of the last state change */
    uint64_t retry_in_ms; /* open: time until the next probe; else 0 */
    unsigned failures;    /* current run */
    unsigned inflight;
};

int gw_peer_new(const char *axis, const struct gw_peer_config *cfg, uint64_t now_ms,
                gw_peer_change_cb on_change, void *ud, struct gw_peer **out)
    __attribute__((warn_unused_result));
void gw_peer_free(struct gw_peer *p);

/* How many sends may start now (0 while open; 1 probe when half-open and none in flight;
 * otherwise what the concurrency limit leaves, UINT32_MAX without one). Moves open to half-open
 * once the backoff has elapsed. */
unsigned gw_peer_room(struct gw_peer *p, uint64_t now_ms);

/* A send to this axis started / ended. err and detail as the adapter reported them
 * (GW_EAUTH: credentials refused; GW_EHTTP, GW_ETIMEDOUT, GW_EIO: transport; GW_EAXIS: a FAIL
 * answer with its text in detail). package_id tells different packages apart. */
void gw_peer_started(struct gw_peer *p);
enum gw_peer_verdict gw_peer_done(struct gw_peer *p, int err, const char *detail,
                                  int64_t package_id, uint64_t now_ms);

/* For a held delivery: how long until it is worth trying again. */
uint64_t gw_peer_retry_ms(const struct gw_peer *p, uint64_t now_ms);

void gw_peer_view(const struct gw_peer *p, uint64_t now_ms, struct gw_peer_view *out);

/* "closed", "open", "half_open". */
const char *gw_peer_state_name(enum gw_peer_state s);

#endif
