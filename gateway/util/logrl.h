#ifndef GW_LOGRL_H
#define GW_LOGRL_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Rate limit for repeated identical log lines: a line whose key (event and text without the
 * package-specific parts) was written less than interval_ms ago is counted instead of written;
 * the next one that is written carries the count of those suppressed in between. A few keys
 * are tracked at once; the least recently written one is forgotten first. One per loop thread.
 */

#define GW_LOGRL_SLOTS 16

struct gw_logrl_slot {
    uint64_t hash;
    uint64_t last_ms;
    unsigned suppressed;
    bool used;
};

struct gw_logrl {
    uint64_t interval_ms;
    struct gw_logrl_slot slot[GW_LOGRL_SLOTS];
};

void gw_logrl_init(struct gw_logrl *rl, uint64_t interval_ms);

/* True when the line keyed by key is to be written now; *suppressed (may be NULL) then holds how
 * many identical lines were dropped since the last one written. */
bool gw_logrl_allow(struct gw_logrl *rl, const char *key, uint64_t now_ms, unsigned *suppressed);

#endif
