#ifndef GW_STORE_INBOX_H
#define GW_STORE_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/store_args.h"

/*
 * Typed calls of the QLVBĐH inbox, scoped to the organisations a client acts for: a page of the
 * packages received from the axes that wait for it (cursor over the commit-ordered inbox_seq),
 * and the acknowledgement of one (gw_inbox_ack_for, schemas/sql/004_scope.sql). Only packages
 * with a recipient in the scope are listed or acknowledged.
 */

#define GW_STORE_INBOX_MAX_LIMIT 500

struct gw_store_inbox_args {
    int64_t after; /* cursor: 0..INT64_MAX */
    int64_t limit; /* 1..GW_STORE_INBOX_MAX_LIMIT */
    struct gw_store_scope scope;
};

struct gw_store_inbox_page {
    const char *items_json; /* JSON array, NUL-terminated */
    size_t items_len;
    int64_t next_cursor; /* the last seq listed, or args.after when the page is empty */
};

/* err 0: page set (valid during the call); else GW_EDB. */
typedef void (*gw_store_inbox_cb)(int err, const struct gw_store_inbox_page *page, void *ud);

/* GW_ERANGE for after/limit out of range, GW_EINVAL for a bad scope; callback never runs. */
int gw_store_inbox_list(struct gw_db *db, const struct gw_store_inbox_args *a, gw_store_inbox_cb cb,
                        void *ud) __attribute__((warn_unused_result));

struct gw_store_inbox_ack_args {
    int64_t package_id; /* 1..INT64_MAX */
    const char *client; /* audit actor */
    struct gw_store_scope scope;
};

/* err 0: acknowledged now or before; GW_ENOENT: no inbox package of that id in the scope;
 * GW_EDB. */
typedef void (*gw_store_inbox_ack_cb)(int err, void *ud);

int gw_store_inbox_ack(struct gw_db *db, const struct gw_store_inbox_ack_args *a,
                       gw_store_inbox_ack_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
