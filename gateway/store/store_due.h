#ifndef GW_STORE_DUE_H
#define GW_STORE_DUE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * How long the oldest due delivery of each axis has waited: QUEUED with next_attempt_at passed,
 * the age counted from next_attempt_at (when it became due, not when it was submitted). One
 * statement for every axis given; per axis it reads the first entry of the claim's index of due
 * deliveries (014_claim_cost.sql delivery_queued_due_idx), so its cost does not grow with the
 * backlog. The same statement reads how long the oldest due signature check has waited (PENDING
 * with next_check_at passed, first entry of 008's package_check_due_idx): an edoc's deliveries
 * are not due until its check opens the gate, so a verifier that falls behind would otherwise
 * grow a queue no delivery age shows. Read by the dispatcher for back-pressure
 * (engine/dispatch.h gw_dispatch_behind).
 */

#define GW_STORE_DUE_MAX_AXES 256

/* err 0: age_ms[i] answers axes[i], check_age_ms the signature checks, -1 when nothing is due;
 * else GW_EDB, check_age_ms -1 and age_ms NULL. */
typedef void (*gw_store_due_cb)(int err, int64_t check_age_ms, const int64_t *age_ms, size_t n,
                                void *ud);

/* GW_EINVAL (callback never runs): no axis, more than GW_STORE_DUE_MAX_AXES, or a name that is
 * not text. */
int gw_store_due_read(struct gw_db *db, const char *const *axes, size_t n, gw_store_due_cb cb,
                      void *ud) __attribute__((warn_unused_result));

#endif
