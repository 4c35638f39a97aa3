/*
 * Deliveries held by disabled axes: a timer counts, per disabled axis, the deliveries still to be
 * sent to it (store/store_held.h), logs the number at start and on every change, and keeps it for
 * /readyz ("axis X disabled: N deliveries held"). One count per axis in flight at most.
 */
#include "daemon/held.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemon/app.h"
#include "store/store_held.h"
#include "util/error.h"
#include "util/log.h"

struct gw_held_slot {
    struct gw_held *h;
    bool busy;
};

struct gw_held {
    struct gw_app *app;
    uv_timer_t timer;
    bool stopped, closed;
    size_t n;
    struct gw_held_axis *axes;
    struct gw_held_slot *slots;
};

static void gw_held_counted(int err, int64_t n, void *ud)
{
    struct gw_held_slot *slot = ud;
    struct gw_held *h = slot->h;
    struct gw_held_axis *a = &h->axes[slot - h->slots];

    slot->busy = false;
    if (err != 0 || h->stopped || n == a->held)
        return;
    gw_log(n > 0 ? GW_LOG_WARN : GW_LOG_INFO, "axis.disabled",
           "axis %s disabled: %" PRId64 " deliveries held", a->name, n);
    a->held = n;
}

static void gw_held_tick(uv_timer_t *t)
{
    struct gw_held *h = t->data;

    if (h->stopped)
        return;
    if (!gw_db_ready(h->app->db)) {
        if (h->axes[0].held < 0) /* not counted yet: try again soon, not in 10 s */
            uv_timer_start(&h->timer, gw_held_tick, 200, GW_HELD_INTERVAL_MS);
        return;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (h->slots[i].busy)
            continue;
        if (gw_store_held_count(h->app->db, h->axes[i].name, gw_held_counted, &h->slots[i]) == 0)
            h->slots[i].busy = true;
    }
}

int gw_held_start(struct gw_app *app, struct gw_held **out)
{
    const struct gw_config *cfg = app->cfg;
    struct gw_held *h;
    size_t n = 0;

    *out = NULL;
    for (size_t i = 0; i < cfg->n_axes; i++)
        n += !cfg->axes[i].enabled;
    if (n == 0)
        return 0;
    h = calloc(1, sizeof(*h));
    if (!h)
        return GW_ENOMEM;
    h->axes = calloc(n, sizeof(*h->axes));
    h->slots = calloc(n, sizeof(*h->slots));
    if (!h->axes || !h->slots) {
        gw_held_free(h);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_axes; i++) {
        if (cfg->axes[i].enabled)
            continue;
        h->axes[h->n].name = cfg->axes[i].name;
        h->axes[h->n].held = -1;
        h->slots[h->n].h = h;
        h->n++;
    }
    h->app = app;
    uv_timer_init(app->loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, gw_held_tick, 0, GW_HELD_INTERVAL_MS);
    *out = h;
    return 0;
}

void gw_held_stop(struct gw_held *h)
{
    if (!h || h->stopped)
        return;
    h->stopped = true;
    uv_timer_stop(&h->timer);
}

void gw_held_close(struct gw_held *h)
{
    if (!h || h->closed)
        return;
    gw_held_stop(h);
    h->closed = true;
    uv_close((uv_handle_t *)&h->timer, NULL);
}

/* Once the loop has ended: no count is in flight any more (the pool failed or finished them). */
void gw_held_free(struct gw_held *h)
{
    if (!h)
        return;
    free(h->axes);
    free(h->slots);
    free(h);
}

size_t gw_held_axes(const struct gw_held *h, const struct gw_held_axis **out)
{
    *out = h ? h->axes : NULL;
    return h ? h->n : 0;
}
