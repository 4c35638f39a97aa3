#ifndef GW_STORE_BACKLOG_H
#define GW_STORE_BACKLOG_H

#include <stdint.h>

#include "db/db.h"

/*
 * The backlog gauges of /metrics, read from PostgreSQL so that they hold across instances and
 * restarts: count and age of the oldest delivery per open state, and the inbox waiting for
 * QLVBĐH, recipients routed nowhere, and the audit trail's unsealed events. One statement, one
 * row.
 */

enum {
    GW_STORE_BACKLOG_QUEUED,
    GW_STORE_BACKLOG_SENDING,
    GW_STORE_BACKLOG_DEAD,
    GW_STORE_BACKLOG_N
};

/* "queued", "sending", "dead", in the order above (the label values of /metrics). */
extern const char *const gw_store_backlog_states[GW_STORE_BACKLOG_N];

struct gw_store_backlog {
    int64_t deliveries[GW_STORE_BACKLOG_N];
    int64_t oldest_s[GW_STORE_BACKLOG_N]; /* 0 when there is none */
    int64_t inbox_waiting;
    int64_t inbox_oldest_s;
    int64_t no_electronic_means; /* recipients routed nowhere (005_route.sql package_route) */
    int64_t unsealed;            /* audit events no seal covers yet (020 gw_event_unsealed_stats) */
    int64_t unsealed_oldest_s;   /* the oldest of them's age, 0 when there is none */
};

/* err 0: b set (valid during the call); else GW_EDB and b NULL. */
typedef void (*gw_store_backlog_cb)(int err, const struct gw_store_backlog *b, void *ud);

int gw_store_backlog_read(struct gw_db *db, gw_store_backlog_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
