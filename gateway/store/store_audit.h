#ifndef GW_STORE_AUDIT_H
#define GW_STORE_AUDIT_H

#include <stdint.h>

#include "db/db.h"

/*
 * Typed call of the audit-chain sealer's SQL function (gw_event_seal): seals at most limit
 * committed events into one seal row of the hash chain and answers how many it sealed.
 */

typedef void (*gw_store_audit_seal_cb)(int err, int64_t sealed, void *ud);

/* GW_ERANGE when limit is outside 1..INT32_MAX (the callback then never runs). */
int gw_store_audit_seal(struct gw_db *db, int64_t limit, gw_store_audit_seal_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* The trail's head (event_head): its position and its chained hash in lowercase hex (64 digits),
 * the values to keep outside the database as its anchor. */
typedef void (*gw_store_audit_head_cb)(int err, int64_t seq, const char *hash_hex, void *ud);

int gw_store_audit_head(struct gw_db *db, gw_store_audit_head_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
