/*
 * Metric registry: families of labelled series kept in declaration order, looked up by label
 * values, rendered as Prometheus text. Series live in their own allocations so that pointers
 * handed out stay valid for the registry's lifetime; the number of series per family is capped
 * because label values may come from peers.
 */
#include "metrics/metrics.h"
#include "metrics/metrics_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t gw_metric_scratch_le[GW_METRICS_MAX_BUCKETS];
static struct gw_metric gw_metric_scratch = {.le = gw_metric_scratch_le};

struct gw_metrics *gw_metrics_new(void)
{
    struct gw_metrics *reg = calloc(1, sizeof(*reg));
    if (reg)
        reg->tail = &reg->head;
    return reg;
}

static void gw_metric_series_free(struct gw_metric_series *s, size_t n_labels)
{
    if (!s)
        return;
    for (size_t i = 0; i < n_labels; i++)
        free(s->labels[i]);
    free(s->m.le);
    free(s);
}

void gw_metrics_clear(struct gw_metric_family *fam)
{
    if (!fam)
        return;
    for (size_t i = 0; i < fam->n_series; i++)
        gw_metric_series_free(fam->series[i], fam->n_labels);
    fam->n_series = 0;
    gw_metric_series_free(fam->overflow, fam->n_labels);
    fam->overflow = NULL;
}

void gw_metrics_free(struct gw_metrics *reg)
{
    struct gw_metric_family *f, *next;

    if (!reg)
        return;
    for (f = reg->head; f; f = next) {
        next = f->next;
        gw_metrics_clear(f);
        free(f->series);
        for (size_t i = 0; i < f->n_labels; i++)
            free(f->label_names[i]);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(reg);
}

static struct gw_metric_family *gw_metrics_declare(struct gw_metrics *reg, const char *name,
                                                   const char *help, enum gw_metric_type type,
                                                   const double *bounds, size_t n_bounds,
                                                   va_list ap)
{
    const char *labels[GW_METRICS_MAX_LABELS];
    size_t n = 0;
    const char *l;
    struct gw_metric_family *f;

    while ((l = va_arg(ap, const char *)) != NULL) {
        if (n == GW_METRICS_MAX_LABELS)
            return NULL;
        labels[n++] = l;
    }
    if (!reg || n_bounds > GW_METRICS_MAX_BUCKETS)
        return NULL;
    for (f = reg->head; f; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->type != type || f->n_labels != n)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(f->label_names[i], labels[i]) != 0)
                return NULL;
        }
        return f;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->type = type;
    f->n_bounds = n_bounds;
    if (n_bounds)
        memcpy(f->bounds, bounds, n_bounds * sizeof(*bounds));
    for (size_t i = 0; i < n; i++) {
        f->label_names[i] = strdup(labels[i]);
        if (f->label_names[i])
            f->n_labels++;
    }
    if (!f->name || !f->help || f->n_labels != n) {
        for (size_t i = 0; i < f->n_labels; i++)
            free(f->label_names[i]);
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    *reg->tail = f;
    reg->tail = &f->next;
    return f;
}

#define GW_METRICS_DECLARE(type, bounds, nb, last)                                                 \
    do {                                                                                           \
        va_list ap;                                                                                \
        struct gw_metric_family *f;                                                                \
        va_start(ap, last);                                                                        \
        f = gw_metrics_declare(reg, name, help, type, bounds, nb, ap);                             \
        va_end(ap);                                                                                \
        return f;                                                                                  \
    } while (0)

struct gw_metric_family *gw_metrics_counter(struct gw_metrics *reg, const char *name,
                                            const char *help, ...)
{
    GW_METRICS_DECLARE(GW_METRIC_COUNTER, NULL, 0, help);
}

struct gw_metric_family *gw_metrics_gauge(struct gw_metrics *reg, const char *name,
                                          const char *help, ...)
{
    GW_METRICS_DECLARE(GW_METRIC_GAUGE, NULL, 0, help);
}

struct gw_metric_family *gw_metrics_histogram(struct gw_metrics *reg, const char *name,
                                              const char *help, const double *bounds, size_t n, ...)
{
    GW_METRICS_DECLARE(GW_METRIC_HISTOGRAM, bounds, n, n);
}

static struct gw_metric_series *gw_metric_series_new(struct gw_metric_family *fam,
                                                     const char *const *labels)
{
    struct gw_metric_series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (fam->type == GW_METRIC_HISTOGRAM) {
        s->m.le = calloc(fam->n_bounds ? fam->n_bounds : 1, sizeof(uint64_t));
        if (!s->m.le) {
            free(s);
            return NULL;
        }
    }
    for (size_t i = 0; i < fam->n_labels; i++) {
        s->labels[i] = strdup(labels[i] ? labels[i] : "");
        if (!s->labels[i]) {
            gw_metric_series_free(s, i);
            return NULL;
        }
    }
    return s;
}

static struct gw_metric *gw_metric_overflow(struct gw_metric_family *fam)
{
    static const char *const other[GW_METRICS_MAX_LABELS] = {"_other", "_other", "_other"};
    if (!fam->overflow)
        fam->overflow = gw_metric_series_new(fam, other);
    return fam->overflow ? &fam->overflow->m : &gw_metric_scratch;
}

struct gw_metric *gw_metric_seriesv(struct gw_metric_family *fam, const char *const *labels)
{
    struct gw_metric_series *s, **grown;

    if (!fam)
        return &gw_metric_scratch;
    for (size_t i = 0; i < fam->n_series; i++) {
        bool same = true;
        for (size_t j = 0; j < fam->n_labels && same; j++)
            same = strcmp(fam->series[i]->labels[j], labels[j] ? labels[j] : "") == 0;
        if (same)
            return &fam->series[i]->m;
    }
    if (fam->n_series >= GW_METRICS_MAX_SERIES)
        return gw_metric_overflow(fam);
    grown = realloc(fam->series, (fam->n_series + 1) * sizeof(*grown));
    if (!grown)
        return gw_metric_overflow(fam);
    fam->series = grown;
    s = gw_metric_series_new(fam, labels);
    if (!s)
        return gw_metric_overflow(fam);
    fam->series[fam->n_series++] = s;
    return &s->m;
}

struct gw_metric *gw_metric_series(struct gw_metric_family *fam, ...)
{
    const char *labels[GW_METRICS_MAX_LABELS] = {NULL, NULL, NULL};
    va_list ap;

    if (!fam)
        return &gw_metric_scratch;
    va_start(ap, fam);
    for (size_t i = 0; i < fam->n_labels; i++)
        labels[i] = va_arg(ap, const char *);
    va_end(ap);
    return gw_metric_seriesv(fam, labels);
}

void gw_metric_inc(struct gw_metric *m)
{
    m->value += 1;
}

void gw_metric_add(struct gw_metric *m, double v)
{
    m->value += v;
}

void gw_metric_set(struct gw_metric *m, double v)
{
    m->value = v;
}

void gw_metric_observe(struct gw_metric_family *fam, struct gw_metric *m, double v)
{
    m->value += v;
    m->count++;
    if (!fam || !m->le || m == &gw_metric_scratch)
        return;
    for (size_t i = 0; i < fam->n_bounds; i++) {
        if (v <= fam->bounds[i])
            m->le[i]++;
    }
}
