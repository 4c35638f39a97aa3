#ifndef GW_DAEMON_STARTUP_H
#define GW_DAEMON_STARTUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/held.h"

/*
 * Start-up that does not depend on PostgreSQL being up: the schema migrations run as a
 * thread-pool job, retried with backoff while the server is unavailable or restarting, and only
 * once they succeeded is the database pool released and the engine (dispatcher, pollers, audit)
 * started. The HTTP server answers meanwhile: /healthz 200, /readyz 503, submits 503 with
 * Retry-After (the held pool refuses every query).
 */

struct gw_app;
struct gw_startup;

enum gw_startup_state {
    GW_STARTUP_MIGRATING, /* a migration attempt is running */
    GW_STARTUP_WAITING,   /* the database was unavailable; the next attempt is scheduled */
    GW_STARTUP_READY,     /* schema up to date, pool released, engine started */
    GW_STARTUP_FAILED,    /* a failure retrying cannot fix: the daemon is stopping */
    GW_STARTUP_STOPPED,   /* a drain began before the schema was ready */
};

/* Begins start-up. With migrate, the migrations run first (the pool must have been opened with
 * gw_db_open_held); without, the engine starts at once. ready(app) runs on the loop once the
 * schema is up to date (after the pool is released); it returns 0, or an error that stops the
 * daemon. On an allocation error *out is NULL and nothing was started; if ready fails at once
 * the error is returned and *out must still be freed (gw_startup_close/free). */
int gw_startup_begin(struct gw_app *app, bool migrate, int (*ready)(struct gw_app *app),
                     struct gw_startup **out) __attribute__((warn_unused_result));

/* No further attempt (a drain began). A job already running finishes; its result is ignored. */
void gw_startup_stop(struct gw_startup *s);

/* Closes the retry timer (on the loop's last turns). */
void gw_startup_close(struct gw_startup *s);

/* Frees it, once the loop has ended. */
void gw_startup_free(struct gw_startup *s);

/* Where start-up is, for /readyz and logs; a NULL s (no migration at start) is READY. */
enum gw_startup_state gw_startup_state(const struct gw_startup *s);
const char *gw_startup_state_name(enum gw_startup_state st);

/* Migration attempts made so far. */
unsigned gw_startup_attempts(const struct gw_startup *s);

/* The disabled axes and the deliveries each holds (daemon/held.h), for /readyz: "axis X
 * disabled: N deliveries held". Returns their number; 0 before the engine started. */
size_t gw_startup_held(const struct gw_startup *s, const struct gw_held_axis **out);

#endif
