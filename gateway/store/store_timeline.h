#ifndef GW_STORE_TIMELINE_H
#define GW_STORE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * Status timelines (schemas/sql/005_route.sql): one per (original DocumentId, recipient), the
 * route chosen then the statuses 01..16 and recall/update/replace events. Reading a package's
 * timelines and routes as JSON built by PostgreSQL; noting a stored package on its original's
 * timelines (gw_submit and gw_incoming_store already do it in their transaction).
 */

/* err 0: json (len bytes, NUL-terminated) is {"routes": [...], "no_electronic_means": [...],
 * "timelines": [...]} (docs/internals/api.md); GW_ENOENT: no such package. Valid during the
 * call. */
typedef void (*gw_store_timeline_json_cb)(int err, const char *json, size_t len, void *ud);
typedef void (*gw_store_timeline_note_cb)(int err, int64_t events, void *ud);

/* package_id 1..INT64_MAX, else GW_ERANGE (the callback never runs). Not scoped: the caller
 * has already decided the package is visible. */
int gw_store_timeline_read(struct gw_db *db, int64_t package_id, gw_store_timeline_json_cb cb,
                           void *ud) __attribute__((warn_unused_result));

/* gw_timeline_note: events = how many were added (0 when already noted). */
int gw_store_timeline_note(struct gw_db *db, int64_t package_id, gw_store_timeline_note_cb cb,
                           void *ud) __attribute__((warn_unused_result));

#endif
