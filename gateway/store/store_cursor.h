#ifndef GW_STORE_CURSOR_H
#define GW_STORE_CURSOR_H

#include "db/db.h"
#include "util/pkgkind.h"

/*
 * Typed calls of the axis list cursors (schemas/sql/011_cursor.sql): read the cursor stored for
 * (axis, kind), and store one. Texts are checked (UTF-8, no NUL, at most GW_STORE_CURSOR_MAX
 * bytes) before anything is sent.
 */

#define GW_STORE_CURSOR_MAX 256

/* cursor NULL when none is stored; valid during the callback only. */
typedef void (*gw_store_cursor_get_cb)(int err, const char *cursor, const char *sqlstate, void *ud);
typedef void (*gw_store_cursor_put_cb)(int err, const char *sqlstate, void *ud);

int gw_store_cursor_get(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                        gw_store_cursor_get_cb cb, void *ud) __attribute__((warn_unused_result));
int gw_store_cursor_put(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                        const char *cursor, gw_store_cursor_put_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
