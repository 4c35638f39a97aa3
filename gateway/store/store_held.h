#ifndef GW_STORE_HELD_H
#define GW_STORE_HELD_H

#include <stdint.h>

#include "db/db.h"

/*
 * Deliveries held for an axis: those still to be sent (QUEUED or SENDING) to it. Start-up and
 * /readyz report this number for each disabled axis, whose deliveries wait instead of dying.
 */

/* err 0: held is the count. */
typedef void (*gw_store_held_cb)(int err, int64_t held, void *ud);

/* Counts the deliveries still to be sent to axis. GW_EINVAL/GW_ERANGE for an axis name that is
 * not valid text; any error returned here means cb never runs. */
int gw_store_held_count(struct gw_db *db, const char *axis, gw_store_held_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
