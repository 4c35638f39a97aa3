#ifndef GW_METRICS_INTERNAL_H
#define GW_METRICS_INTERNAL_H

#include "metrics/metrics.h"

/* The registry's layout, shared by the registry (metrics.c) and its text form (metrics_text.c). */

struct gw_metric_series {
    struct gw_metric m;
    char *labels[GW_METRICS_MAX_LABELS];
};

struct gw_metric_family {
    char *name;
    char *help;
    enum gw_metric_type type;
    size_t n_labels;
    char *label_names[GW_METRICS_MAX_LABELS];
    double bounds[GW_METRICS_MAX_BUCKETS];
    size_t n_bounds;
    struct gw_metric_series **series;
    size_t n_series;
    struct gw_metric_series *overflow;
    struct gw_metric_family *next;
};

struct gw_metrics {
    struct gw_metric_family *head;
    struct gw_metric_family **tail;
};

#endif
