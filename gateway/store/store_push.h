#ifndef GW_STORE_PUSH_H
#define GW_STORE_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/store_args.h"

/*
 * Typed calls of the push SQL functions (schemas/sql/012_push.sql): enqueue the inbox items
 * behind the push cursor, claim due pushes under a lease, record a 2xx (sent and acknowledged)
 * or a failure (backoff, give-up, held by the breaker), and read the backlog. Every argument is
 * checked against its SQL type first: GW_ERANGE or GW_EINVAL is returned at once and the
 * callback never runs.
 */

#define GW_STORE_PUSH_MAX_CLAIM 10000

/* One claimed push; strings valid only during the callback. facts is the event's JSON object
 * without event_id and content_url (gw_push_facts). */
struct gw_store_push_row {
    int64_t push_id;
    int64_t package_id;
    const char *event_id; /* uuid text, 36 characters */
    int attempt;          /* fences this claim's outcome */
    const char *facts;
    size_t facts_len;
};

/* err 0: *n set (rows made); else GW_EDB. */
typedef void (*gw_store_push_count_cb)(int err, int64_t n, void *ud);
typedef void (*gw_store_push_claim_cb)(int err, const struct gw_store_push_row *rows, size_t n,
                                       void *ud);
/* err 0: state is the new state ("sent", "queued", "dead") or NULL when fenced off. */
typedef void (*gw_store_push_state_cb)(int err, const char *state, void *ud);
/* waiting: queued or sending; oldest_s: age of the oldest waiting; dead: pushes given up. */
typedef void (*gw_store_push_stats_cb)(int err, int64_t waiting, double oldest_s, int64_t dead,
                                       void *ud);

int gw_store_push_enqueue(struct gw_db *db, const struct gw_store_scope *organs, unsigned limit,
                          gw_store_push_count_cb cb, void *ud) __attribute__((warn_unused_result));

struct gw_store_push_claim_args {
    const char *owner;
    uint64_t lease_ms;
    unsigned limit; /* 1..GW_STORE_PUSH_MAX_CLAIM */
    uint64_t give_up_s;
};

int gw_store_push_claim(struct gw_db *db, const struct gw_store_push_claim_args *a,
                        gw_store_push_claim_cb cb, void *ud) __attribute__((warn_unused_result));

/* A 2xx answer: sent, and the inbox item acknowledged with actor "push". */
int gw_store_push_sent(struct gw_db *db, int64_t push_id, const char *owner, long status,
                       gw_store_push_state_cb cb, void *ud) __attribute__((warn_unused_result));

struct gw_store_push_failed_args {
    int64_t push_id;
    const char *owner;
    int attempt;
    const char *error; /* valid UTF-8; SQL keeps 1000 bytes */
    long status;       /* HTTP status, 0 for a transport failure */
    bool held;         /* the breaker was open: requeue after retry_ms, attempt given back */
    uint64_t retry_ms;
    uint64_t base_ms, max_ms, give_up_s;
};

int gw_store_push_failed(struct gw_db *db, const struct gw_store_push_failed_args *a,
                         gw_store_push_state_cb cb, void *ud) __attribute__((warn_unused_result));

int gw_store_push_stats(struct gw_db *db, gw_store_push_stats_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
