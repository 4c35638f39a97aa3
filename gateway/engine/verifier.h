#ifndef GW_VERIFIER_H
#define GW_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config/sections.h"
#include "db/db.h"
#include "metrics/metrics.h"
#include "pipeline/verify.h"

/*
 * The signature check engine: claims packages due for a check from PostgreSQL (a lease, SKIP
 * LOCKED: several instances share the work), checks each (pipeline/verify.h) with at most
 * [verify] concurrency claimed and, of those, as many running as [verify] max_check_bytes of
 * package bytes allows (always at least one), and records the verdict with the action [policy]
 * gives it per direction and summary: deliver, deliver flagged, hold or reject. A TRY_LATER package
 * keeps its interim action and is checked again with backoff (recheck_min_ms doubling to
 * recheck_max_ms) until try_later_deadline_s, then the fallback applies and it is counted in
 * gateway_verify_deadline_passed_total (seed Art. 9.3: nothing waits without an alert). A local
 * failure (database away) leaves the package to the lease's expiry.
 */

struct gw_verifier;

struct gw_verifier_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_metrics *metrics;
    const struct gw_config_verify *cfg; /* must outlive the verifier */
    const char *owner;                  /* lease owner id; copied */
    struct gw_verify_deps verify;       /* for each package's check */
    /* An incoming package was rejected by policy: answer its sender (status 02 with reason).
     * NULL: none. */
    void (*rejected)(void *ud, const struct gw_store_check_job *job, const char *reason);
    /* A gate opened: deliveries became due, or an incoming package entered the inbox (kick the
     * dispatcher and the pusher). */
    void (*released)(void *ud);
    /* Runs when the verifier may have become idle after gw_verifier_stop. */
    void (*idle)(void *ud);
    void *ud;
};

int gw_verifier_start(const struct gw_verifier_deps *deps, struct gw_verifier **out)
    __attribute__((warn_unused_result));

/* A package was stored: claim now rather than at the next scan. */
void gw_verifier_kick(struct gw_verifier *v);

/* Checks in flight. */
size_t gw_verifier_inflight(const struct gw_verifier *v);

/* Stops claiming; checks in flight finish and are recorded. */
void gw_verifier_stop(struct gw_verifier *v);
bool gw_verifier_idle(const struct gw_verifier *v);

/* Closes the timers and frees; results still in flight are dropped (their leases expire). */
void gw_verifier_free(struct gw_verifier *v);

#endif
