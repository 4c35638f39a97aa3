/*
 * Suppression of repeated identical log lines (a refused credential must not write one line per
 * package per retry): keys are hashed (FNV-1a) into a small table of recently written lines.
 */
#include "util/logrl.h"

#include <string.h>

void gw_logrl_init(struct gw_logrl *rl, uint64_t interval_ms)
{
    memset(rl, 0, sizeof(*rl));
    rl->interval_ms = interval_ms;
}

static uint64_t gw_logrl_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

bool gw_logrl_allow(struct gw_logrl *rl, const char *key, uint64_t now_ms, unsigned *suppressed)
{
    uint64_t h = gw_logrl_hash(key ? key : "");
    struct gw_logrl_slot *s = NULL, *oldest = &rl->slot[0];

    for (size_t i = 0; i < GW_LOGRL_SLOTS; i++) {
        struct gw_logrl_slot *c = &rl->slot[i];
        if (c->used && c->hash == h) {
            s = c;
            break;
        }
        if (!c->used || (oldest->used && c->last_ms < oldest->last_ms))
            oldest = c;
    }
    if (s && now_ms - s->last_ms < rl->interval_ms) {
        s->suppressed++;
        return false;
    }
    if (!s) {
        s = oldest;
        s->hash = h;
        s->used = true;
        s->suppressed = 0;
    }
    if (suppressed)
        *suppressed = s->suppressed;
    s->suppressed = 0;
    s->last_ms = now_ms;
    return true;
}
