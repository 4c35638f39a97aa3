/*
 * Prometheus text exposition (format 0.0.4) of a metric registry: HELP and TYPE lines, label
 * values escaped, histograms as cumulative _bucket series with _sum and _count.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "metrics/metrics_internal.h"

struct gw_text {
    char *data;
    size_t len, cap;
    bool failed;
};

static void gw_text_reserve(struct gw_text *t, size_t more)
{
    size_t cap;
    char *grown;

    if (t->failed || t->len + more < t->cap)
        return;
    cap = t->cap ? t->cap : 4096;
    while (cap <= t->len + more)
        cap *= 2;
    grown = realloc(t->data, cap);
    if (!grown) {
        t->failed = true;
        return;
    }
    t->data = grown;
    t->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void gw_text_printf(struct gw_text *t, const char *fmt,
                                                                 ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    gw_text_reserve(t, (size_t)n + 1);
    if (t->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Label values escape backslash, double quote and newline; HELP text escapes backslash and
 * newline only. */
static void gw_text_escaped(struct gw_text *t, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            gw_text_printf(t, "\\\\");
        else if (*s == '\n')
            gw_text_printf(t, "\\n");
        else if (*s == '"' && quote)
            gw_text_printf(t, "\\\"");
        else
            gw_text_printf(t, "%c", *s);
    }
}

static void gw_text_value(struct gw_text *t, double v)
{
    if (isnan(v))
        gw_text_printf(t, "NaN");
    else if (isinf(v))
        gw_text_printf(t, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        gw_text_printf(t, "%.0f", v);
    else
        gw_text_printf(t, "%.9g", v);
}

/* name{l1="v1",...,extra} with an optional extra label already formatted (le="..."). */
static void gw_text_series_name(struct gw_text *t, const struct gw_metric_family *f,
                                const struct gw_metric_series *s, const char *suffix,
                                const char *extra)
{
    bool any = f->n_labels > 0 || extra;

    gw_text_printf(t, "%s%s", f->name, suffix);
    if (!any)
        return;
    gw_text_printf(t, "{");
    for (size_t i = 0; i < f->n_labels; i++) {
        gw_text_printf(t, "%s%s=\"", i ? "," : "", f->label_names[i]);
        gw_text_escaped(t, s->labels[i], true);
        gw_text_printf(t, "\"");
    }
    if (extra)
        gw_text_printf(t, "%s%s", f->n_labels ? "," : "", extra);
    gw_text_printf(t, "}");
}

static void gw_text_series(struct gw_text *t, const struct gw_metric_family *f,
                           const struct gw_metric_series *s)
{
    char le[64];

    if (f->type != GW_METRIC_HISTOGRAM) {
        gw_text_series_name(t, f, s, "", NULL);
        gw_text_printf(t, " ");
        gw_text_value(t, s->m.value);
        gw_text_printf(t, "\n");
        return;
    }
    for (size_t i = 0; i < f->n_bounds; i++) {
        snprintf(le, sizeof(le), "le=\"%.9g\"", f->bounds[i]);
        gw_text_series_name(t, f, s, "_bucket", le);
        gw_text_printf(t, " %llu\n", (unsigned long long)s->m.le[i]);
    }
    gw_text_series_name(t, f, s, "_bucket", "le=\"+Inf\"");
    gw_text_printf(t, " %llu\n", (unsigned long long)s->m.count);
    gw_text_series_name(t, f, s, "_sum", NULL);
    gw_text_printf(t, " ");
    gw_text_value(t, s->m.value);
    gw_text_printf(t, "\n");
    gw_text_series_name(t, f, s, "_count", NULL);
    gw_text_printf(t, " %llu\n", (unsigned long long)s->m.count);
}

char *gw_metrics_render(const struct gw_metrics *reg, size_t *len)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    struct gw_text t = {0};

    for (const struct gw_metric_family *f = reg ? reg->head : NULL; f; f = f->next) {
        gw_text_printf(&t, "# HELP %s ", f->name);
        gw_text_escaped(&t, f->help, false);
        gw_text_printf(&t, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        /* A family without labels always shows its single series, even at zero. */
        if (f->n_labels == 0 && f->n_series == 0) {
            struct gw_metric_series zero = {0};
            uint64_t le0[GW_METRICS_MAX_BUCKETS] = {0};
            zero.m.le = le0;
            gw_text_series(&t, f, &zero);
        }
        for (size_t i = 0; i < f->n_series; i++)
            gw_text_series(&t, f, f->series[i]);
        if (f->overflow)
            gw_text_series(&t, f, f->overflow);
    }
    gw_text_reserve(&t, 1);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    t.data[t.len] = '\0';
    if (len)
        *len = t.len;
    return t.data;
}
