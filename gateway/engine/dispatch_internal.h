#ifndef GW_DISPATCH_INTERNAL_H
#define GW_DISPATCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine/axis.h"
#include "engine/dispatch.h"
#include "engine/peer.h"
#include "metrics/metrics.h"
#include "util/logrl.h"

/* Shared by dispatch.c (claims and sends), dispatch_record.c (recording outcomes) and
 * dispatch_lease.c (lease renewal, peer state) only. */

struct gw_dax {
    struct gw_dispatch *d;
    struct gw_dispatch_axis ax; /* name copied */
    struct gw_peer *peer;       /* NULL when disabled */
    struct gw_metric *ok, *failed, *dead, *held, *breaker;
    struct gw_metric *mismatch; /* copies found unfaithful (never sent) */
    bool peer_dirty;            /* the breaker state is still to be stored */
    /* Back-pressure (dispatch_due.c): the oldest due delivery's age as last read, -1 none. */
    int64_t due_age_ms;
    uint64_t due_read_at; /* loop time of that reading; 0 = never read */
    struct gw_metric *due_age;
    unsigned asked, got; /* rows asked for it by the claim in flight, and returned */
    bool more;           /* that claim filled its room, or it had none: claim when a send ends */
};

struct gw_send {
    struct gw_dispatch *d;
    struct gw_dax *axis;
    struct gw_send *next;                /* in the retry or batch list */
    struct gw_send *all_prev, *all_next; /* every send not yet finished, for lease renewal */
    int64_t delivery_id;
    int64_t package_id;
    enum gw_pkg_kind kind;
    char *document_id;
    char *axis_doc_id;         /* on success */
    char *error;               /* on failure (valid UTF-8) */
    struct gw_send_body *body; /* dispatch_body.c; NULL once released */
    size_t len;                /* package bytes counted in inflight_bytes while body is held */
    uint8_t copy_sha256[32];   /* the copy sent (dispatch_body.c), recorded with the success */
    uint64_t copy_len;
    int attempts;
    int record_tries;
    bool retried;       /* its recording, issued again by the tick, is not yet answered */
    uint64_t claim_no;  /* the order of its claim in this process (later claims: larger) */
    bool held;          /* a failure of the peer: requeued without spending the attempt */
    bool permanent;     /* GW_EREFUSED: the axis refused the package for good (DEAD now) */
    uint64_t lease_at;  /* loop time the lease was last taken or renewed (a lower bound) */
    bool renew_pending; /* in the renewal in flight */
    bool lease_lost;    /* a renewal found the delivery claimed again: renewed no more */
};

struct gw_dispatch {
    struct gw_dispatch_deps deps;
    const struct gw_config_delivery *cfg;
    char *owner;
    char *organ_id; /* the TraceHeader's OrganId in every copy */
    struct gw_dax *axes;
    size_t n_axes;
    uv_timer_t timer;       /* claims and recording retries, every scan_interval_ms */
    uv_timer_t lease_timer; /* lease renewal and stored breaker state, every lease_ms / 4 */
    uv_timer_t due_timer;   /* reading of the oldest due deliveries (dispatch_due.c) */
    int handles;            /* timers not yet closed */
    bool due_reading;       /* that reading is in flight */
    /* The oldest due signature check's age as last read (-1 none), its loop time (0 never). */
    int64_t check_age_ms;
    uint64_t check_read_at;
    struct gw_metric *check_age;
    unsigned inflight;
    uint64_t inflight_bytes; /* package bytes held by sends in flight */
    unsigned requested;      /* rows asked for by the claim in flight */
    bool claiming;
    bool renewing;        /* a lease renewal is in flight */
    uint64_t renew_at;    /* loop time the renewal in flight was sent */
    unsigned peer_writes; /* breaker states being stored */
    bool saturated;       /* the last claim filled all its room (or had none): more is likely due */
    bool rekick;          /* a kick arrived while a claim was in flight */
    bool stopping;
    bool freeing;             /* gw_dispatch_free ran: outcomes are no longer recorded */
    bool closed;              /* handle closed: free once the last late callback is done */
    struct gw_send *all;      /* every send not yet finished */
    struct gw_send *retry;    /* outcomes whose recording failed, retried on the next tick */
    unsigned retrying;        /* of those, issued again and not yet answered */
    bool claim_waits;         /* the tick's claim waits for those answers */
    bool retry_skipped;       /* a tick found a claim in flight: retried when it ends */
    uint64_t claims;          /* rows claimed so far (each send's claim_no) */
    struct gw_send *batch;    /* successes waiting for the next batch record */
    struct gw_send *flushing; /* successes being recorded by the query in flight */
    struct gw_logrl rl;       /* repeated identical delivery lines */
};

/* dispatch_body.c: the body a send pulls, built in one place: the per-axis copy of the package
 * (dispatch_copy.c builds its plan and checks it in one pass over the stored chunks on the thread
 * pool), read by fetching the stored chunks from PostgreSQL one at a time. open copies what it
 * needs from row and runs ready(s, err) later on the loop (err != 0: no body, nothing to send;
 * GW_ECOPY: the copy is not faithful); if it returns an error ready never runs. On ready(0)
 * s->copy_sha256/copy_len are set and gw_dispatch_body() is the body to hand to the adapter;
 * close frees it (only once the send's callback has run, or ready failed). */
struct gw_store_claimed;
struct gw_send_body;
typedef void (*gw_send_body_ready_cb)(struct gw_send *s, int err);
int gw_dispatch_body_open(struct gw_send *s, const struct gw_store_claimed *row,
                          gw_send_body_ready_cb ready);
struct gw_axis_body *gw_dispatch_body(struct gw_send *s);
/* What made the copy unfaithful (after ready(GW_ECOPY)); NULL otherwise. */
const char *gw_dispatch_body_why(const struct gw_send *s);
void gw_dispatch_body_close(struct gw_send *s);

/* The error text stored with a failed attempt: "<errcode>: <detail>", repaired to valid UTF-8
 * and cut on a character boundary to what SQL keeps. malloc'd; NULL on OOM. */
char *gw_dispatch_error_text(int err, const char *detail);

/* Frees one send (and its share of the byte budget). */
void gw_dispatch_send_free(struct gw_send *s);

/* The send's outcome is recorded (or abandoned to its lease): free it, claim more if due. */
void gw_dispatch_send_finished(struct gw_send *s);

/* After the handle closed (forced stop), the last late callback frees the dispatcher. */
bool gw_dispatch_maybe_free(struct gw_dispatch *d);

/* Tells the owner the dispatcher may be idle (while stopping). */
void gw_dispatch_notify_idle(struct gw_dispatch *d);

/* Records the outcome of a send: successes are batched into one transaction, failures are
 * recorded one by one with their backoff (or held). Failed recordings are kept for the tick. */
void gw_dispatch_record(struct gw_send *s);

/* Records again what could not be recorded before (nothing while a claim is in flight: then
 * once it has ended). An outcome of a delivery this instance has claimed again since is stale
 * and dropped. */
void gw_dispatch_record_retry(struct gw_dispatch *d);

/* The last recording issued again by the tick has its answer: the claim it held back runs. */
void gw_dispatch_retries_answered(struct gw_dispatch *d);

/* Frees every outcome still waiting to be recorded (forced stop). */
void gw_dispatch_record_drop(struct gw_dispatch *d);

/* Renews the leases of sends that have held theirs for a third of lease_ms (lease timer). */
void gw_dispatch_lease_renew(struct gw_dispatch *d);

/* dispatch_due.c: back-pressure. start begins the periodic reading of each served axis's oldest
 * due delivery (nothing when [delivery] backpressure_age_s is 0); the timer is d->due_timer. */
void gw_dispatch_due_start(struct gw_dispatch *d);

/* An open breaker's probe is due before the next scan: the timer ticks then, so the axis is
 * tried again at once whatever scan_interval_ms is (the scan stays the period afterwards). */
void gw_dispatch_wake_for_probe(struct gw_dispatch *d, const struct gw_peer *p, uint64_t now);

/* Creates the peer, metrics and stored state of each axis. */
int gw_dispatch_axes_init(struct gw_dispatch *d);
void gw_dispatch_axes_free(struct gw_dispatch *d);

#endif
