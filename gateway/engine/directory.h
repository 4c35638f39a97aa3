#ifndef GW_DIRECTORY_H
#define GW_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "engine/axis.h"

/*
 * Agency directories of the axes (domain.md §2 "Relaying across two axes", §5): registers the
 * axes routed over with their role (store_agency), then for every enabled axis whose adapter has
 * a directory call, fetches getAgenciesList and getAgenciesListQD20 and replaces that axis's
 * directory in PostgreSQL in one transaction — at start, then every interval_ms; a failed sync
 * is retried after retry_ms, doubled after each failure up to interval_ms (the directory in place
 * stays and keeps routing). A failed QĐ 20 list alone does not fail the sync: the QCVN 102 list
 * is replaced and the QĐ 20 one kept; an empty QCVN 102 list is a failure. One log line per sync.
 * Gauges, refreshed from the database every 15 s (so every instance reports the shared state):
 * gateway_directory_age_seconds{axis} (since the last success; absent before one),
 * gateway_directory_synced{axis}, gateway_directory_agencies{axis} (QCVN 102 rows),
 * gateway_directory_pairs{axis}; counter gateway_directory_sync_total{axis,result}.
 */

struct gw_db;
struct gw_metrics;
struct gw_directory;

struct gw_directory_axis {
    const char *name;
    const struct gw_axis_ops *ops;
    void *state;
    bool provincial;
    bool enabled; /* a disabled axis is routed over with the directory last stored (its
                     deliveries wait), never synced */
};

struct gw_directory_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_metrics *metrics;
    const struct gw_directory_axis *axes; /* configuration order; copied */
    size_t n_axes;
    uint64_t interval_ms;
    uint64_t retry_ms;
    void (*idle)(void *ud); /* after gw_directory_stop, once nothing is in flight */
    void *ud;
};

int gw_directory_start(const struct gw_directory_deps *deps, struct gw_directory **out)
    __attribute__((warn_unused_result));

/* Syncs every axis now (SIGUSR1, tests). */
void gw_directory_kick(struct gw_directory *d);

/* Stops the timers; calls in flight complete, then deps.idle runs. */
void gw_directory_stop(struct gw_directory *d);

bool gw_directory_idle(const struct gw_directory *d);

/* Closes the timers and frees (deferred while a call is in flight). Safe with NULL. */
void gw_directory_free(struct gw_directory *d);

#endif
