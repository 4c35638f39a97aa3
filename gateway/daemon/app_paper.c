/*
 * The daemon's paper-copy side (Art. 10.3): the catalogue in force, loaded at start (a bad one
 * stops the start with its file and line) and on SIGHUP on the thread pool (a bad one is
 * refused and the previous one stays in force); the ingest's annotate hook that classifies
 * every edoc against it; and the pending and overdue copies counted for /metrics.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/app.h"
#include "metrics/metrics.h"
#include "pipeline/paper.h"
#include "rules/catalog.h"
#include "rules/classify.h"
#include "store/store_paper.h"
#include "util/error.h"
#include "util/log.h"

struct gw_app_paper {
    struct gw_app *app;
    pthread_mutex_t mu; /* guards catalogue: workers take references while the loop swaps */
    struct gw_catalog *catalogue;
    struct gw_paper_aliases *aliases; /* the directories' QĐ 20 forms of clause-1 ids */
    struct gw_paper_deps deps;
    char dir[PATH_MAX];
    uv_timer_t timer;
    bool timer_on;
    bool counting, aliasing;
    struct gw_metric *pending, *overdue, *rules, *reload_ok, *reload_refused;
};

static struct gw_catalog *gw_app_paper_current(void *ud)
{
    struct gw_app_paper *p = ud;
    pthread_mutex_lock(&p->mu);
    struct gw_catalog *c = gw_catalog_ref(p->catalogue);
    pthread_mutex_unlock(&p->mu);
    return c;
}

static struct gw_paper_aliases *gw_app_paper_aliases(void *ud)
{
    struct gw_app_paper *p = ud;
    pthread_mutex_lock(&p->mu);
    struct gw_paper_aliases *a = gw_paper_aliases_ref(p->aliases);
    pthread_mutex_unlock(&p->mu);
    return a;
}

/* Configured; else rules/ beside the migrations directory; else the source tree's. */
static int gw_app_paper_dir(const struct gw_config *cfg, char *buf, size_t n)
{
    int w = cfg->paper.rules_dir && cfg->paper.rules_dir[0]
                ? snprintf(buf, n, "%s", cfg->paper.rules_dir)
                : snprintf(buf, n, "%s/../rules", cfg->migrations_dir);
    if (w < 0 || (size_t)w >= n)
        return GW_ERANGE;
#ifdef GW_SOURCE_DIR
    if (!(cfg->paper.rules_dir && cfg->paper.rules_dir[0]) && access(buf, R_OK) != 0) {
        w = snprintf(buf, n, "%s/schemas/rules", GW_SOURCE_DIR);
        if (w < 0 || (size_t)w >= n)
            return GW_ERANGE;
    }
#endif
    return 0;
}

static void gw_app_paper_log_error(const char *event, const char *dir,
                                   const struct gw_catalog_error *e, const char *tail)
{
    gw_log(GW_LOG_ERROR, event, "paper-copy catalogue %s/%s:%d: %s: %s%s", dir, e->file, e->line,
           e->code ? e->code : "error", e->message, tail);
}

static void gw_app_paper_metrics(struct gw_app_paper *p)
{
    struct gw_metrics *m = p->app->metrics;
    p->pending = gw_metric_series(gw_metrics_gauge(
        m, "gateway_paper_copies_pending", "paper copies not yet recorded as dispatched", NULL));
    p->overdue = gw_metric_series(gw_metrics_gauge(m, "gateway_paper_copies_overdue",
                                                   "paper copies past their due date", NULL));
    p->rules = gw_metric_series(gw_metrics_gauge(
        m, "gateway_paper_rules", "rules in the paper-copy catalogue in force", NULL));
    struct gw_metric_family *r =
        gw_metrics_counter(m, "gateway_paper_catalogue_reloads_total",
                           "paper-copy catalogue reloads (SIGHUP), by result", "result", NULL);
    p->reload_ok = gw_metric_series(r, "ok");
    p->reload_refused = gw_metric_series(r, "refused");
}

int gw_app_paper_init(struct gw_app *app)
{
    struct gw_catalog_error e;
    struct gw_app_paper *p = calloc(1, sizeof(*p));
    int rc;

    if (!p)
        return GW_ENOMEM;
    p->app = app;
    pthread_mutex_init(&p->mu, NULL);
    app->paper = p;
    if ((rc = gw_app_paper_dir(app->cfg, p->dir, sizeof(p->dir))) != 0) {
        gw_log(GW_LOG_ERROR, "paper.catalogue", "the paper-copy catalogue path is too long");
        return rc;
    }
    rc = gw_catalog_load_dir(p->dir, &p->catalogue, &e);
    if (rc == GW_ECONFIG) {
        gw_app_paper_log_error("paper.catalogue_refused", p->dir, &e, "");
        return rc;
    }
    if (rc != 0)
        return rc;
    gw_log(GW_LOG_INFO, "paper.catalogue_loaded",
           "paper-copy catalogue %s: %zu rule(s) in %zu file(s), digest %s", p->dir,
           p->catalogue->n_rules, p->catalogue->n_files, p->catalogue->digest);
    gw_app_paper_metrics(p);
    gw_metric_set(p->rules, (double)p->catalogue->n_rules);
    p->deps = (struct gw_paper_deps){.catalogue = gw_app_paper_current,
                                     .aliases = gw_app_paper_aliases,
                                     .ud = p,
                                     .cfg = &app->cfg->paper,
                                     .organ_ids = app->cfg->organ_ids,
                                     .n_organ_ids = app->cfg->n_organ_ids};
    app->ingest.annotate = gw_paper_annotate;
    app->ingest.annotate_ud = &p->deps;
    uv_timer_init(app->loop, &p->timer);
    p->timer.data = p;
    p->timer_on = true;
    return 0;
}

static void gw_app_paper_counted(int err, int64_t pending, int64_t overdue, void *ud)
{
    struct gw_app_paper *p = ud;
    p->counting = false;
    if (err == 0) {
        gw_metric_set(p->pending, (double)pending);
        gw_metric_set(p->overdue, (double)overdue);
    }
    gw_app_work_end(p->app);
}

static void gw_app_paper_aliased(int err, const char *const *alias, const char *const *id, size_t n,
                                 void *ud)
{
    struct gw_app_paper *p = ud;
    struct gw_paper_aliases *a = err == 0 ? gw_paper_aliases_new(alias, id, n) : NULL;
    p->aliasing = false;
    if (a) {
        pthread_mutex_lock(&p->mu);
        struct gw_paper_aliases *old = p->aliases;
        p->aliases = a;
        pthread_mutex_unlock(&p->mu);
        if ((old ? old->n : 0) != n)
            gw_log(GW_LOG_INFO, "paper.aliases",
                   "%zu QD 20 form(s) of the clause-1 organisation ids known from the directories",
                   n);
        gw_paper_aliases_unref(old);
    }
    gw_app_work_end(p->app);
}

/* The other forms of the ids clause-1 rules name, from the agency directories (synced apart). */
static void gw_app_paper_refresh_aliases(struct gw_app_paper *p)
{
    size_t n = 0;
    struct gw_catalog *cat = gw_app_paper_current(p);
    const char **ids = gw_classify_government_ids(cat, gw_catalog_day_vn((int64_t)time(NULL)), &n);
    if (n > 0 && !p->aliasing) {
        p->aliasing = true;
        gw_app_work_begin(p->app);
        if (gw_store_paper_aliases(p->app->db, ids, n, gw_app_paper_aliased, p) != 0) {
            p->aliasing = false;
            gw_app_work_end(p->app);
        }
    }
    free(ids);
    gw_catalog_unref(cat);
}

static void gw_app_paper_tick(uv_timer_t *t)
{
    struct gw_app_paper *p = t->data;
    if (p->app->draining)
        return;
    gw_app_paper_refresh_aliases(p);
    if (p->counting)
        return;
    p->counting = true;
    gw_app_work_begin(p->app);
    if (gw_store_paper_counts(p->app->db, gw_app_paper_counted, p) != 0) {
        p->counting = false;
        gw_app_work_end(p->app);
    }
}

void gw_app_paper_start(struct gw_app *app)
{
    struct gw_app_paper *p = app->paper;
    if (p && p->timer_on)
        uv_timer_start(&p->timer, gw_app_paper_tick, 0, app->cfg->paper.metrics_interval_ms);
}

void gw_app_paper_stop(struct gw_app *app)
{
    struct gw_app_paper *p = app->paper;
    if (p && p->timer_on) {
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, NULL);
        p->timer_on = false;
    }
}

struct gw_paper_reload {
    uv_work_t work;
    struct gw_app_paper *p;
    struct gw_catalog *catalogue;
    struct gw_catalog_error err;
    int rc;
};

static void gw_paper_reload_work(uv_work_t *w)
{
    struct gw_paper_reload *r = w->data;
    r->rc = gw_catalog_load_dir(r->p->dir, &r->catalogue, &r->err);
}

static void gw_paper_reload_done(uv_work_t *w, int status)
{
    struct gw_paper_reload *r = w->data;
    struct gw_app_paper *p = r->p;

    if (status == 0 && r->rc == 0) {
        pthread_mutex_lock(&p->mu);
        struct gw_catalog *old = p->catalogue;
        p->catalogue = r->catalogue;
        pthread_mutex_unlock(&p->mu);
        gw_log(GW_LOG_INFO, "paper.catalogue_reloaded",
               "paper-copy catalogue %s: %zu rule(s) in %zu file(s), digest %s%s", p->dir,
               r->catalogue->n_rules, r->catalogue->n_files, r->catalogue->digest,
               old && strcmp(old->digest, r->catalogue->digest) == 0 ? ", unchanged" : "");
        gw_metric_set(p->rules, (double)r->catalogue->n_rules);
        gw_metric_inc(p->reload_ok);
        gw_catalog_unref(old); /* packages classifying against it keep their reference */
    } else if (status == 0) {
        gw_metric_inc(p->reload_refused);
        if (r->rc == GW_ECONFIG)
            gw_app_paper_log_error("paper.catalogue_refused", p->dir, &r->err,
                                   "; the previous catalogue stays in force");
        else
            gw_log(GW_LOG_ERROR, "paper.catalogue_refused",
                   "paper-copy catalogue %s: %s; the previous catalogue stays in force", p->dir,
                   gw_strerror(r->rc));
    }
    struct gw_app *app = p->app;
    free(r);
    gw_app_work_end(app);
}

void gw_app_paper_reload(struct gw_app *app)
{
    struct gw_app_paper *p = app->paper;
    struct gw_paper_reload *r;

    if (!p || app->draining || !(r = calloc(1, sizeof(*r))))
        return;
    r->p = p;
    r->work.data = r;
    gw_app_work_begin(app);
    if (uv_queue_work(app->loop, &r->work, gw_paper_reload_work, gw_paper_reload_done) != 0) {
        free(r);
        gw_app_work_end(app);
    }
}

void gw_app_paper_free(struct gw_app *app)
{
    struct gw_app_paper *p = app->paper;
    if (!p)
        return;
    gw_catalog_unref(p->catalogue);
    gw_paper_aliases_unref(p->aliases);
    pthread_mutex_destroy(&p->mu);
    free(p);
    app->paper = NULL;
}
