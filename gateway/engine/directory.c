/*
 * Directory sync per axis: register the routed axes, then per axis a small cycle on its own timer
 * (QCVN 102 list -> QĐ 20 list -> replace in PostgreSQL), with backoff on failure, a log line per
 * sync and gauges read back from v_directory. The QCVN 102 rows are copied between the two calls
 * (the adapter's rows live only during its callback); the QĐ 20 rows go straight to the store,
 * which serialises them before it returns.
 */
#include "engine/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "store/store_agency.h"
#include "util/error.h"
#include "util/log.h"

#define GW_DIR_GAUGE_MS 15000

struct gw_dir_axis {
    struct gw_directory *d;
    struct gw_directory_axis a;
    uv_timer_t timer;
    bool busy;
    unsigned failures;
    uint64_t started_ms;
    struct gw_store_agency *rows; /* the QCVN 102 list between the two calls */
    size_t n_rows;
};

struct gw_directory {
    struct gw_directory_deps deps;
    struct gw_dir_axis *axes;
    size_t n_axes;
    uv_timer_t gauge_timer;
    unsigned busy; /* calls in flight (adapter or store) */
    unsigned open; /* timers not yet closed */
    bool registered;
    bool stopping;
    bool freeing;
    struct gw_metric_family *age, *synced, *agencies, *pairs, *syncs;
};

static void gw_dir_maybe_destroy(struct gw_directory *d)
{
    if (!d->freeing || d->busy || d->open)
        return;
    for (size_t i = 0; i < d->n_axes; i++)
        free(d->axes[i].rows);
    free(d->axes);
    free(d);
}

static void gw_dir_end(struct gw_directory *d)
{
    d->busy--;
    if (d->stopping && d->busy == 0 && !d->freeing && d->deps.idle)
        d->deps.idle(d->deps.ud);
    gw_dir_maybe_destroy(d);
}

static void gw_dir_rows_free(struct gw_dir_axis *x)
{
    for (size_t i = 0; i < x->n_rows; i++) {
        free((char *)x->rows[i].code);
        free((char *)x->rows[i].name);
        free((char *)x->rows[i].parent);
        free((char *)x->rows[i].mail);
        free((char *)x->rows[i].old_code);
    }
    free(x->rows);
    x->rows = NULL;
    x->n_rows = 0;
}

static void gw_dir_tick(uv_timer_t *t);

/* The adapter can list agencies (only an enabled axis is synced; a disabled one keeps routing
 * with the directory last stored). */
static bool gw_dir_has_directory(const struct gw_dir_axis *x)
{
    return x->a.ops && x->a.ops->list_agencies;
}

static void gw_dir_schedule(struct gw_dir_axis *x, bool ok)
{
    struct gw_directory *d = x->d;
    uint64_t wait = d->deps.interval_ms;

    if (!ok) {
        wait = d->deps.retry_ms;
        for (unsigned i = 1; i < x->failures && wait < d->deps.interval_ms; i++)
            wait *= 2;
        if (wait > d->deps.interval_ms)
            wait = d->deps.interval_ms;
    }
    if (!d->stopping && !d->freeing)
        uv_timer_start(&x->timer, gw_dir_tick, wait, 0);
}

static void gw_dir_failed_recorded(int err, int64_t n, void *ud)
{
    struct gw_dir_axis *x = ud;
    (void)err;
    (void)n;
    x->busy = false;
    gw_dir_end(x->d);
}

/* A sync cut short by a stop: nothing more is called, nothing recorded. */
static void gw_dir_quiet_end(struct gw_dir_axis *x)
{
    gw_dir_rows_free(x);
    x->busy = false;
    gw_dir_end(x->d);
}

/* A failed sync: logged, counted, recorded (best effort) and retried with backoff. */
static void gw_dir_fail(struct gw_dir_axis *x, int err, const char *what, const char *detail)
{
    struct gw_directory *d = x->d;
    char msg[600];

    if (d->freeing || (d->stopping && err == GW_ECANCELED)) {
        gw_dir_quiet_end(x);
        return;
    }
    gw_dir_rows_free(x);
    x->failures++;
    snprintf(msg, sizeof(msg), "%s: %s%s%s", what, gw_strerror(err), detail ? ": " : "",
             detail ? detail : "");
    gw_metric_inc(gw_metric_series(d->syncs, x->a.name, "fail"));
    gw_log(GW_LOG_WARN, "directory.sync_failed", "axis %s: directory sync failed (%u in a row): %s",
           x->a.name, x->failures, msg);
    gw_dir_schedule(x, false);
    if (!d->freeing &&
        gw_store_directory_failed(d->deps.db, x->a.name, msg, gw_dir_failed_recorded, x) == 0)
        return; /* busy stays until it is recorded */
    x->busy = false;
    gw_dir_end(d);
}

static void gw_dir_stored(int err, const struct gw_store_directory_counts *c, void *ud)
{
    struct gw_dir_axis *x = ud;
    struct gw_directory *d = x->d;

    if (err != 0) {
        gw_dir_fail(x, err, "store", NULL);
        return;
    }
    x->failures = 0;
    gw_metric_inc(gw_metric_series(d->syncs, x->a.name, "ok"));
    gw_metric_set(gw_metric_series(d->age, x->a.name), 0);
    gw_metric_set(gw_metric_series(d->synced, x->a.name), 1);
    gw_metric_set(gw_metric_series(d->agencies, x->a.name), (double)c->agencies);
    gw_metric_set(gw_metric_series(d->pairs, x->a.name), (double)c->pairs);
    gw_log(GW_LOG_INFO, "directory.synced",
           "axis %s: directory synced: %lld QCVN 102 agencies, %lld QĐ 20 agencies, %lld pairs "
           "in %llu ms",
           x->a.name, (long long)c->agencies, (long long)c->agencies_qd20, (long long)c->pairs,
           (unsigned long long)(uv_now(d->deps.loop) - x->started_ms));
    gw_dir_schedule(x, true);
    x->busy = false;
    gw_dir_end(d);
}

static void gw_dir_got_qd20(int err, const struct gw_axis_agency *a, size_t n, const char *detail,
                            void *ud)
{
    struct gw_dir_axis *x = ud;
    struct gw_directory *d = x->d;
    struct gw_store_agency *q = NULL;
    char why[400] = "";
    int rc;

    if (d->freeing) {
        gw_dir_quiet_end(x);
        return;
    }
    if (err != 0)
        snprintf(why, sizeof(why), "%s%s%s", gw_strerror(err), detail ? ": " : "",
                 detail ? detail : "");
    else if (n && !(q = calloc(n, sizeof(*q))))
        err = GW_ENOMEM, snprintf(why, sizeof(why), "%s", gw_strerror(GW_ENOMEM));
    for (size_t i = 0; err == 0 && i < n; i++)
        q[i] = (struct gw_store_agency){
            .code = a[i].code, .code102 = a[i].code102, .name = a[i].name, .mail = a[i].mail};
    struct gw_store_directory_args args = {
        .axis = x->a.name,
        .qcvn102 = x->rows,
        .n_qcvn102 = x->n_rows,
        .has_qd20 = err == 0,
        .qd20 = q,
        .n_qd20 = err == 0 ? n : 0,
        .qd20_error = err == 0 ? NULL : why,
    };
    if (err != 0)
        gw_log(GW_LOG_WARN, "directory.qd20_failed",
               "axis %s: QĐ 20 list failed (%s); the QCVN 102 list is replaced, the QĐ 20 one "
               "kept",
               x->a.name, why);
    rc = gw_store_directory_replace(d->deps.db, &args, gw_dir_stored, x);
    free(q);
    gw_dir_rows_free(x); /* serialised by the store call */
    if (rc != 0)
        gw_dir_fail(x, rc, "store", NULL);
}

static int gw_dir_copy_rows(struct gw_dir_axis *x, const struct gw_axis_agency *a, size_t n)
{
    if (n && !(x->rows = calloc(n, sizeof(*x->rows))))
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++, x->n_rows++) {
        struct gw_store_agency *r = &x->rows[i];
#define GW_DIR_DUP(dst, src) (!(src) || ((dst) = strdup(src)) != NULL)
        if (!GW_DIR_DUP(r->code, a[i].code) || !GW_DIR_DUP(r->name, a[i].name) ||
            !GW_DIR_DUP(r->parent, a[i].parent) || !GW_DIR_DUP(r->mail, a[i].mail) ||
            !GW_DIR_DUP(r->old_code, a[i].old_code)) {
            x->n_rows++;
            return GW_ENOMEM;
        }
#undef GW_DIR_DUP
    }
    return 0;
}

static void gw_dir_got_qcvn102(int err, const struct gw_axis_agency *a, size_t n,
                               const char *detail, void *ud)
{
    struct gw_dir_axis *x = ud;
    int rc;

    if (err != 0) {
        gw_dir_fail(x, err, "getAgenciesList", detail);
        return;
    }
    if (x->d->freeing || x->d->stopping) {
        gw_dir_quiet_end(x);
        return;
    }
    if (n == 0) {
        /* A real directory is never empty: storing one would judge every recipient of this axis
         * without electronic means. Kept as it was, retried. */
        gw_dir_fail(x, GW_EAXIS, "getAgenciesList", "empty list");
        return;
    }
    if ((rc = gw_dir_copy_rows(x, a, n)) != 0) {
        gw_dir_fail(x, rc, "copy", NULL);
        return;
    }
    rc = x->a.ops->list_agencies(x->a.state, true, gw_dir_got_qd20, x);
    if (rc != 0)
        gw_dir_got_qd20(rc, NULL, 0, "not started", x);
}

static void gw_dir_sync(struct gw_dir_axis *x)
{
    struct gw_directory *d = x->d;
    int rc;

    if (x->busy || d->stopping || d->freeing || !d->registered || !gw_db_ready(d->deps.db))
        return;
    x->busy = true;
    d->busy++;
    x->started_ms = uv_now(d->deps.loop);
    rc = x->a.ops->list_agencies(x->a.state, false, gw_dir_got_qcvn102, x);
    if (rc != 0)
        gw_dir_fail(x, rc, "getAgenciesList", "not started");
}

static void gw_dir_tick(uv_timer_t *t)
{
    struct gw_dir_axis *x = t->data;

    if (!x->d->registered || !gw_db_ready(x->d->deps.db) || x->busy) {
        /* not yet (or the last failure is still being recorded): try again shortly */
        uv_timer_start(&x->timer, gw_dir_tick, 1000, 0);
        return;
    }
    gw_dir_sync(x);
}

static void gw_dir_gauges_read(int err, const struct gw_store_directory_state *s, size_t n,
                               void *ud)
{
    struct gw_directory *d = ud;

    for (size_t i = 0; err == 0 && i < n; i++) {
        if (!s[i].configured)
            continue;
        gw_metric_set(gw_metric_series(d->synced, s[i].axis), s[i].synced);
        if (s[i].synced)
            gw_metric_set(gw_metric_series(d->age, s[i].axis), (double)s[i].age_s);
        gw_metric_set(gw_metric_series(d->agencies, s[i].axis), (double)s[i].agencies);
        gw_metric_set(gw_metric_series(d->pairs, s[i].axis), (double)s[i].pairs);
    }
    gw_dir_end(d);
}

static void gw_dir_registered(int err, int64_t n, void *ud);

static void gw_dir_register(struct gw_directory *d)
{
    const char *names[64];
    bool prov[64], has_dir[64], enabled[64];
    size_t k = 0;

    for (size_t i = 0; i < d->n_axes && k < 64; i++, k++) {
        names[k] = d->axes[i].a.name;
        prov[k] = d->axes[i].a.provincial;
        has_dir[k] = gw_dir_has_directory(&d->axes[i]);
        enabled[k] = d->axes[i].a.enabled;
    }
    d->busy++;
    if (gw_store_directory_register(d->deps.db, names, prov, has_dir, enabled, k, gw_dir_registered,
                                    d) != 0)
        gw_dir_registered(GW_EDB, 0, d);
}

static void gw_dir_gauge_tick(uv_timer_t *t)
{
    struct gw_directory *d = t->data;

    if (d->stopping || d->freeing || !gw_db_ready(d->deps.db))
        return;
    if (!d->registered) {
        gw_dir_register(d);
        return;
    }
    d->busy++;
    if (gw_store_directory_read(d->deps.db, gw_dir_gauges_read, d) != 0)
        gw_dir_end(d);
}

static void gw_dir_registered(int err, int64_t n, void *ud)
{
    struct gw_directory *d = ud;

    (void)n;
    if (err != 0) {
        gw_log(GW_LOG_WARN, "directory.register_failed",
               "registering the routed axes failed: %s (retried)", gw_strerror(err));
    } else {
        d->registered = true;
        for (size_t i = 0; i < d->n_axes && !d->stopping; i++) {
            struct gw_dir_axis *x = &d->axes[i];
            if (x->a.enabled && gw_dir_has_directory(x))
                gw_dir_sync(x);
        }
    }
    gw_dir_end(d);
}

int gw_directory_start(const struct gw_directory_deps *deps, struct gw_directory **out)
{
    struct gw_directory *d = calloc(1, sizeof(*d));
    size_t k = 0;

    if (!d)
        return GW_ENOMEM;
    d->deps = *deps;
    d->axes = calloc(deps->n_axes ? deps->n_axes : 1, sizeof(*d->axes));
    if (!d->axes) {
        free(d);
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < deps->n_axes; i++) {
        struct gw_dir_axis *x = &d->axes[k++];
        x->d = d;
        x->a = deps->axes[i];
        uv_timer_init(deps->loop, &x->timer);
        x->timer.data = x;
        d->open++;
    }
    d->n_axes = k;
    d->deps.axes = NULL; /* copied */
    d->age =
        gw_metrics_gauge(deps->metrics, "gateway_directory_age_seconds",
                         "Seconds since the axis's agency directory was last synced", "axis", NULL);
    d->synced =
        gw_metrics_gauge(deps->metrics, "gateway_directory_synced",
                         "1 once the axis's agency directory has been synced", "axis", NULL);
    d->agencies = gw_metrics_gauge(deps->metrics, "gateway_directory_agencies",
                                   "Agencies in the axis's QCVN 102 directory", "axis", NULL);
    d->pairs = gw_metrics_gauge(deps->metrics, "gateway_directory_pairs",
                                "QĐ 20 codes paired with a QCVN 102 code", "axis", NULL);
    d->syncs = gw_metrics_counter(deps->metrics, "gateway_directory_sync_total",
                                  "Directory syncs by result", "axis", "result", NULL);
    for (size_t i = 0; i < d->n_axes; i++) {
        if (d->axes[i].a.enabled)
            gw_metric_set(gw_metric_series(d->synced, d->axes[i].a.name), 0);
    }
    uv_timer_init(deps->loop, &d->gauge_timer);
    d->gauge_timer.data = d;
    d->open++;
    uv_timer_start(&d->gauge_timer, gw_dir_gauge_tick, GW_DIR_GAUGE_MS, GW_DIR_GAUGE_MS);
    if (gw_db_ready(deps->db))
        gw_dir_register(d);
    else
        uv_timer_start(&d->gauge_timer, gw_dir_gauge_tick, 1000, GW_DIR_GAUGE_MS);
    *out = d;
    return 0;
}

void gw_directory_kick(struct gw_directory *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_axes; i++) {
        if (d->axes[i].a.enabled && gw_dir_has_directory(&d->axes[i]))
            gw_dir_sync(&d->axes[i]);
    }
}

void gw_directory_stop(struct gw_directory *d)
{
    if (!d)
        return;
    d->stopping = true;
    uv_timer_stop(&d->gauge_timer);
    for (size_t i = 0; i < d->n_axes; i++)
        uv_timer_stop(&d->axes[i].timer);
}

bool gw_directory_idle(const struct gw_directory *d)
{
    return !d || d->busy == 0;
}

static void gw_dir_closed(struct gw_directory *d)
{
    d->open--;
    gw_dir_maybe_destroy(d);
}

static void gw_dir_gauge_closed(uv_handle_t *h)
{
    gw_dir_closed(h->data);
}

static void gw_dir_axis_closed(uv_handle_t *h)
{
    gw_dir_closed(((struct gw_dir_axis *)h->data)->d);
}

void gw_directory_free(struct gw_directory *d)
{
    if (!d)
        return;
    gw_directory_stop(d);
    d->freeing = true;
    uv_close((uv_handle_t *)&d->gauge_timer, gw_dir_gauge_closed);
    for (size_t i = 0; i < d->n_axes; i++)
        uv_close((uv_handle_t *)&d->axes[i].timer, gw_dir_axis_closed);
}
