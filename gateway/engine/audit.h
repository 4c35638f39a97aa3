#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"

/*
 * Audit-chain sealer: every second, seals newly committed audit events into the SHA-256 chain
 * (SQL gw_event_seal: one appended seal row per batch, no event row rewritten). Writers only
 * insert events, so the hash chain never serialises the hot path; one sealer at a time across
 * instances (transaction advisory lock).
 *
 * The same timer sweeps staged package bodies no package took (an upload refused, aborted or
 * crashed before its package row committed; schemas/sql/006_body.sql) once a minute: those older
 * than staged_body_age_ms are deleted (gw_body_janitor), GW_AUDIT_SWEEP_BATCH at a time.
 */

struct gw_audit;

struct gw_audit_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    /* Runs when a seal in flight completes after gw_audit_stop (the drain can go on). */
    void (*idle)(void *ud);
    void *ud;
    uint64_t staged_body_age_ms; /* 0: one hour (well above any body or fetch timeout) */
};

#define GW_AUDIT_SWEEP_BATCH 1000

int gw_audit_start(const struct gw_audit_deps *deps, struct gw_audit **out)
    __attribute__((warn_unused_result));

/* Stops the timer; a seal in flight completes. */
void gw_audit_stop(struct gw_audit *a);

bool gw_audit_idle(const struct gw_audit *a);

/* Closes the timer and frees. Safe with NULL. */
void gw_audit_free(struct gw_audit *a);

#endif
