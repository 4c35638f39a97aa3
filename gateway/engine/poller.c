/*
 * Axis poller, the cycle: take (and during long cycles renew) the poll lease, list edoc then
 * status packages, and hand each listed docId to poller_item.c, which stores it before acking it.
 * One timer per axis; one cycle at a time.
 */
#include "engine/poller.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "engine/poller_internal.h"
#include "edxml/edxml.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"

static int gw_poller_take_lease(struct gw_poller *p);
static uint64_t gw_poller_lease_ms(const struct gw_poller *p);
static void gw_poller_list(struct gw_poller *p);

const char *gw_poller_kind_name(enum gw_pkg_kind k)
{
    return k == GW_KIND_STATUS ? "status" : "edoc";
}

void gw_poller_skip_add(struct gw_poller *p, const char *doc_id)
{
    char *copy = strdup(doc_id);
    if (!copy)
        return;
    free(p->skip[p->skip_next]);
    p->skip[p->skip_next] = copy;
    p->skip_next = (p->skip_next + 1) % GW_POLLER_SKIP;
}

static bool gw_poller_skipped(const struct gw_poller *p, const char *doc_id)
{
    for (unsigned i = 0; i < GW_POLLER_SKIP; i++) {
        if (p->skip[i] && strcmp(p->skip[i], doc_id) == 0)
            return true;
    }
    return false;
}

static void gw_poller_clear_list(struct gw_poller *p)
{
    for (size_t i = 0; i < p->n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    p->ids = NULL;
    p->n_ids = p->next = 0;
}

static void gw_poller_destroy(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    for (unsigned i = 0; i < GW_POLLER_SKIP; i++)
        free(p->skip[i]);
    free(p);
}

void gw_poller_cycle_end(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    p->busy = false;
    if (p->closed) {
        gw_poller_destroy(p); /* the cycle outlived a forced stop: its end frees the poller */
        return;
    }
    if (p->stopping) {
        gw_app_maybe_finish(p->app);
    } else if (p->again) {
        p->again = false;
        gw_poller_kick(p);
    }
}

void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail)
{
    p->app->stats.poll_errors++;
    gw_log(GW_LOG_WARN, "poll.error", "axis %s: %s failed: %s%s%s", p->axis->name, step,
           gw_strerror(err), detail ? ": " : "", detail ? detail : "");
}

const char *gw_poller_current(const struct gw_poller *p)
{
    return p->ids[p->next - 1];
}

void gw_poller_next_item(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    if (p->stopping) {
        gw_poller_cycle_end(p);
        return;
    }
    if (uv_now(p->app->loop) - p->lease_at > gw_poller_lease_ms(p) / 3) {
        /* A long cycle renews its lease, so no other instance starts polling this axis. */
        if (gw_poller_take_lease(p) != 0) {
            gw_poller_fail(p, "lease", GW_EDB, NULL);
            gw_poller_cycle_end(p);
        }
        return;
    }
    if (p->next >= p->n_ids) {
        gw_poller_clear_list(p);
        if (p->kind == GW_KIND_EDOC) {
            p->kind = GW_KIND_STATUS;
            gw_poller_list(p);
        } else {
            gw_poller_cycle_end(p);
        }
        return;
    }
    p->next++;
    gw_poller_item_start(p);
}

static void gw_poller_listed(int err, const struct gw_axis_item *items, size_t n,
                             const char *detail, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "list", err, detail);
        gw_poller_cycle_end(p);
        return;
    }
    p->ids = calloc(n ? n : 1, sizeof(char *));
    if (!p->ids) {
        gw_poller_cycle_end(p);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!items[i].doc_id || !items[i].doc_id[0] || strlen(items[i].doc_id) > 256 ||
            gw_poller_skipped(p, items[i].doc_id))
            continue;
        p->ids[p->n_ids] = strdup(items[i].doc_id);
        if (p->ids[p->n_ids])
            p->n_ids++;
    }
    p->next = 0;
    if (n > 0)
        gw_log(GW_LOG_DEBUG, "poll.listed", "axis %s lists %zu %s package(s)", p->axis->name, n,
               gw_poller_kind_name(p->kind));
    gw_poller_next_item(p);
}

static void gw_poller_list(struct gw_poller *p)
{
    int rc = p->axis->ops->list_received(p->axis->state, p->kind, gw_poller_listed, p);
    if (rc != 0)
        gw_poller_listed(rc, NULL, 0, "could not start the list", p);
}

/* How long a poll lease lasts: five poll intervals, at least 15 s. */
static uint64_t gw_poller_lease_ms(const struct gw_poller *p)
{
    uint64_t ms = p->axis->cfg->poll_interval_ms * 5;
    return ms < 15000 ? 15000 : ms;
}

/* The lease was taken at the start of the cycle (listing) or renewed in its middle (next item). */
static void gw_poller_leased(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "lease", err, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || p->stopping) {
        gw_poller_cycle_end(p); /* another instance polls this axis */
        return;
    }
    p->lease_at = uv_now(p->app->loop);
    if (p->ids) {
        gw_poller_next_item(p);
        return;
    }
    p->kind = GW_KIND_EDOC;
    gw_poller_list(p);
}

static int gw_poller_take_lease(struct gw_poller *p)
{
    char lease[24];
    const char *vals[3] = {p->axis->name, p->app->owner, lease};

    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)gw_poller_lease_ms(p));
    return gw_db_query(p->app->db, "SELECT gw_poller_lease($1, $2, $3)", 3, vals, NULL, NULL,
                       gw_poller_leased, p);
}

static void gw_poller_tick(uv_timer_t *t)
{
    struct gw_poller *p = t->data;

    if (p->busy) {
        p->again = true;
        return;
    }
    if (p->stopping || !gw_db_ready(p->app->db))
        return;
    p->busy = true;
    if (gw_poller_take_lease(p) != 0)
        p->busy = false;
}

int gw_poller_start(struct gw_app *app, struct gw_axis_inst *axis, struct gw_poller **out)
{
    struct gw_poller *p = calloc(1, sizeof(*p));
    if (!p)
        return GW_ENOMEM;
    p->app = app;
    p->axis = axis;
    uv_timer_init(app->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, gw_poller_tick, 100, axis->cfg->poll_interval_ms);
    *out = p;
    return 0;
}

void gw_poller_kick(struct gw_poller *p)
{
    if (p && !p->stopping)
        uv_timer_start(&p->timer, gw_poller_tick, 0, p->axis->cfg->poll_interval_ms);
}

void gw_poller_stop(struct gw_poller *p)
{
    if (!p)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
}

bool gw_poller_idle(const struct gw_poller *p)
{
    return !p || !p->busy;
}

static void gw_poller_closed(uv_handle_t *h)
{
    struct gw_poller *p = h->data;
    /* A cycle still busy at a forced stop has callbacks to come; its end frees the poller. */
    p->closed = true;
    if (!p->busy)
        gw_poller_destroy(p);
}

void gw_poller_free(struct gw_poller *p)
{
    if (p)
        uv_close((uv_handle_t *)&p->timer, gw_poller_closed);
}
