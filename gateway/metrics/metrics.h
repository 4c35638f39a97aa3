#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Process metrics with labels: counters, gauges and histograms grouped in families, rendered in
 * the Prometheus text exposition format. A registry belongs to one loop thread (no locking);
 * every layer above may count. A series is created on first use of its label values and keeps
 * its address, so a hot path looks it up once and then only adds.
 *
 *   struct gw_metric_family *f = gw_metrics_counter(reg, "gateway_send_ok_total",
 *                                                   "deliveries acknowledged", "axis", NULL);
 *   gw_metric_inc(gw_metric_series(f, "national"));
 *
 * Lookups never fail for the caller: when memory runs out, or a family has more than
 * GW_METRICS_MAX_SERIES series (label values often come from peers), the family's overflow
 * series (every label "_other") absorbs the update. Names and label values are copied.
 */

#define GW_METRICS_MAX_LABELS  3
#define GW_METRICS_MAX_SERIES  256
#define GW_METRICS_MAX_BUCKETS 16

enum gw_metric_type { GW_METRIC_COUNTER, GW_METRIC_GAUGE, GW_METRIC_HISTOGRAM };

struct gw_metrics;
struct gw_metric_family;

struct gw_metric {
    double value;   /* counter or gauge value; histogram sum */
    uint64_t count; /* histogram observations */
    uint64_t *le;   /* histogram: cumulative count per bucket bound */
};

struct gw_metrics *gw_metrics_new(void);
void gw_metrics_free(struct gw_metrics *reg);

/* Declares a family (or returns the existing one of that name and type). Label names follow
 * help, NULL-terminated, at most GW_METRICS_MAX_LABELS. Returns NULL only on allocation failure
 * or a name declared before with another type or labels; the series calls accept NULL. */
struct gw_metric_family *gw_metrics_counter(struct gw_metrics *reg, const char *name,
                                            const char *help, ...) __attribute__((sentinel));
struct gw_metric_family *gw_metrics_gauge(struct gw_metrics *reg, const char *name,
                                          const char *help, ...) __attribute__((sentinel));
/* Histogram with n ascending bucket upper bounds (+Inf is implicit), n <= GW_METRICS_MAX_BUCKETS.
 */
struct gw_metric_family *gw_metrics_histogram(struct gw_metrics *reg, const char *name,
                                              const char *help, const double *bounds, size_t n, ...)
    __attribute__((sentinel));

/* The series for these label values (one per label name of the family; none for a family
 * without labels). Never NULL when fam is not NULL; a shared scratch series when fam is NULL. */
struct gw_metric *gw_metric_series(struct gw_metric_family *fam, ...);
struct gw_metric *gw_metric_seriesv(struct gw_metric_family *fam, const char *const *labels);

void gw_metric_inc(struct gw_metric *m);
void gw_metric_add(struct gw_metric *m, double v);
void gw_metric_set(struct gw_metric *m, double v);
/* Histogram observation; the family is needed for its bounds. */
void gw_metric_observe(struct gw_metric_family *fam, struct gw_metric *m, double v);

/* Drops every series of a gauge family, for gauges rebuilt from a snapshot each time. Pointers
 * to its series are invalid afterwards: a family that is cleared is never cached by series. */
void gw_metrics_clear(struct gw_metric_family *fam);

/* Renders every family, in declaration order, into a malloc'd NUL-terminated string. Returns
 * NULL on allocation failure. */
char *gw_metrics_render(const struct gw_metrics *reg, size_t *len);

#endif
