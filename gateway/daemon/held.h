#ifndef GW_DAEMON_HELD_H
#define GW_DAEMON_HELD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Disabled axes hold their deliveries (they wait, unclaimed, until the axis is enabled): this
 * counts them once the engine runs and every GW_HELD_INTERVAL_MS after, logs
 * "axis X disabled: N deliveries held" at start and whenever N changes, and keeps the numbers for
 * /readyz.
 */

#define GW_HELD_INTERVAL_MS 10000

struct gw_app;
struct gw_held;

struct gw_held_axis {
    const char *name; /* configuration name */
    int64_t held;     /* deliveries QUEUED or SENDING for it; -1 until first counted */
};

/* *out is NULL when no axis is disabled. */
int gw_held_start(struct gw_app *app, struct gw_held **out) __attribute__((warn_unused_result));
void gw_held_stop(struct gw_held *h);
void gw_held_close(struct gw_held *h);
void gw_held_free(struct gw_held *h);

/* The disabled axes, in configuration order; their count is returned (0 for a NULL h). */
size_t gw_held_axes(const struct gw_held *h, const struct gw_held_axis **out);

#endif
