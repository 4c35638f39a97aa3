/*
 * Wiring of the push to QLVBĐH ([push], docs/internals/push.md): the webhook adapter
 * (adapters/qlvbdh) behind the pusher's ops, the pusher's dependencies, its part of the drain,
 * and the webhook's breaker in /readyz while it is not closed. Nothing runs without [push].
 */
#include <stdlib.h>
#include <string.h>

#include "adapters/qlvbdh/qlvbdh.h"
#include "daemon/app.h"
#include "engine/pusher.h"
#include "util/error.h"
#include "util/log.h"

struct gw_app_push {
    struct gw_qlvbdh *hook;
    struct gw_pusher *pusher;
};

static int gw_app_push_send(void *state, const struct gw_push_item *it, gw_push_done_cb done,
                            void *ud)
{
    struct gw_qlvbdh_event ev = {.event_id = it->event_id,
                                 .package_id = it->package_id,
                                 .facts = it->facts,
                                 .facts_len = it->facts_len};
    return gw_qlvbdh_send(state, &ev, done, ud);
}

static void gw_app_push_idle_cb(void *ud)
{
    gw_app_maybe_finish(ud);
}

int gw_app_push_start(struct gw_app *app)
{
    const struct gw_config *cfg = app->cfg;
    const struct gw_config_push *pc = &cfg->push;
    struct gw_app_push *ap;
    int rc;

    if (!pc->enabled)
        return 0;
    if (!(ap = calloc(1, sizeof(*ap))))
        return GW_ENOMEM;
    struct gw_qlvbdh_config hc = {.url = pc->url,
                                  .secret = pc->secret,
                                  .content_base_url = pc->content_base_url,
                                  .timeout_ms = pc->timeout_ms,
                                  .tls = &pc->tls};
    if ((rc = gw_qlvbdh_new(app->httpc, &hc, &ap->hook)) != 0) {
        free(ap);
        return rc;
    }
    struct gw_pusher_deps deps = {
        .loop = app->loop,
        .db = app->db,
        .metrics = app->metrics,
        .cfg = pc,
        .breaker = {.failures = cfg->delivery.breaker_failures,
                    .backoff_ms = cfg->delivery.breaker_backoff_ms,
                    .backoff_max_ms = cfg->delivery.breaker_backoff_max_ms,
                    .max_concurrency = pc->max_inflight},
        .owner = app->owner,
        .organs = (const char *const *)cfg->organ_ids,
        .n_organs = cfg->n_organ_ids,
        .ops = {.send = gw_app_push_send, .state = ap->hook},
        .idle = gw_app_push_idle_cb,
        .ud = app,
    };
    if ((rc = gw_pusher_start(&deps, &ap->pusher)) != 0) {
        gw_qlvbdh_free(ap->hook);
        free(ap);
        return rc;
    }
    app->push = ap;
    return 0;
}

void gw_app_push_kick(struct gw_app *app)
{
    if (app->push)
        gw_pusher_kick(app->push->pusher);
}

void gw_app_push_stop(struct gw_app *app)
{
    if (app->push)
        gw_pusher_stop(app->push->pusher);
}

bool gw_app_push_idle(const struct gw_app *app)
{
    return !app->push || gw_pusher_idle(app->push->pusher);
}

void gw_app_push_ready(struct gw_app *app, const char **state, int64_t *retry_in_ms)
{
    struct gw_peer_view v;

    *state = NULL;
    *retry_in_ms = -1;
    if (!app->push || !gw_pusher_peer_view(app->push->pusher, &v) || v.state == GW_PEER_CLOSED)
        return;
    *state = gw_peer_state_name(v.state);
    if (v.state == GW_PEER_OPEN)
        *retry_in_ms = (int64_t)v.retry_in_ms;
}

void gw_app_push_free(struct gw_app *app)
{
    if (!app->push)
        return;
    gw_pusher_free(app->push->pusher); /* outcomes still in flight are dropped */
    gw_qlvbdh_free(app->push->hook);   /* attempts in flight do not refer to it */
    free(app->push);
    app->push = NULL;
}
