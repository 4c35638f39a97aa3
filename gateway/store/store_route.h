#ifndef GW_STORE_ROUTE_H
#define GW_STORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * Typed call of gw_route_package (schemas/sql/005_route.sql) for a stored outgoing package:
 * split its recipients over the axes by their agency directories (provincial first), one QUEUED
 * delivery per axis, recipients listed nowhere marked as having no electronic means once every
 * axis is synced, the default axis before that. gw_submit already does this in its transaction;
 * this call is for a store path that inserts the package itself (streamed bodies).
 */

struct gw_store_route_args {
    int64_t package_id;      /* 1..INT64_MAX */
    const char *const *axes; /* the axes routed over, in configuration order */
    const bool *provincial;  /* role of each */
    size_t n_axes;
    const char *default_axis; /* before every directory is synced; NULL: none (an error then) */
};

/* n = deliveries created. */
typedef void (*gw_store_route_cb)(int err, int64_t n, void *ud);

/* GW_EINVAL / GW_ERANGE on a bad argument (the callback never runs). */
int gw_store_route_package(struct gw_db *db, const struct gw_store_route_args *a,
                           gw_store_route_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
