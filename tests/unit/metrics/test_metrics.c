/*
 * Unit tests for gateway/metrics: series identity and caps, label escaping, histogram buckets,
 * and the rendered exposition checked by Prometheus' own parser (promtool check metrics) when it
 * is installed, so the text format is judged by an independent implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/metrics.h"

static void test_series_identity(void **state)
{
    struct gw_metrics *reg = gw_metrics_new();
    struct gw_metric_family *f =
        gw_metrics_counter(reg, "gateway_send_ok_total", "deliveries acknowledged", "axis", NULL);
    struct gw_metric *a = gw_metric_series(f, "national");
    struct gw_metric *b = gw_metric_series(f, "provincial");

    assert_non_null(f);
    assert_ptr_equal(a, gw_metric_series(f, "national"));
    assert_ptr_not_equal(a, b);
    gw_metric_inc(a);
    gw_metric_add(a, 2);
    assert_true(a->value == 3);
    /* Redeclaring returns the same family; another type or other labels is refused. */
    assert_ptr_equal(f, gw_metrics_counter(reg, "gateway_send_ok_total", "x", "axis", NULL));
    assert_null(gw_metrics_gauge(reg, "gateway_send_ok_total", "x", "axis", NULL));
    assert_null(gw_metrics_counter(reg, "gateway_send_ok_total", "x", "peer", NULL));
    /* A NULL family still gives a usable (scratch) series. */
    gw_metric_inc(gw_metric_series(NULL, "x"));
    gw_metrics_free(reg);
}

static void test_series_cap(void **state)
{
    struct gw_metrics *reg = gw_metrics_new();
    struct gw_metric_family *f = gw_metrics_counter(reg, "c_total", "capped", "peer", NULL);
    char name[32], *text;
    struct gw_metric *first = NULL;

    for (int i = 0; i < GW_METRICS_MAX_SERIES + 50; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        struct gw_metric *m = gw_metric_series(f, name);
        gw_metric_inc(m);
        if (i == GW_METRICS_MAX_SERIES)
            first = m;
    }
    /* Every series past the cap shares the overflow series. */
    assert_non_null(first);
    assert_true(first->value == 50);
    text = gw_metrics_render(reg, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "c_total{peer=\"_other\"} 50\n"));
    assert_null(strstr(text, "peer=\"p300\""));
    free(text);
    gw_metrics_free(reg);
}

static void test_render_escaping(void **state)
{
    struct gw_metrics *reg = gw_metrics_new();
    struct gw_metric_family *f =
        gw_metrics_gauge(reg, "g", "help with \\ and\nnewline", "a", "b", NULL);
    struct gw_metric_family *plain = gw_metrics_counter(reg, "plain_total", "no labels", NULL);
    char *text;

    gw_metric_set(gw_metric_series(f, "q\"uote", "back\\slash\nnl"), 1.5);
    text = gw_metrics_render(reg, NULL);
    assert_non_null(plain);
    assert_string_equal(text, "# HELP g help with \\\\ and\\nnewline\n"
                              "# TYPE g gauge\n"
                              "g{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 1.5\n"
                              "# HELP plain_total no labels\n"
                              "# TYPE plain_total counter\n"
                              "plain_total 0\n");
    free(text);
    gw_metrics_clear(f);
    text = gw_metrics_render(reg, NULL);
    assert_null(strstr(text, "g{"));
    free(text);
    gw_metrics_free(reg);
}

static void test_histogram(void **state)
{
    static const double bounds[] = {0.01, 0.1, 1};
    struct gw_metrics *reg = gw_metrics_new();
    struct gw_metric_family *f =
        gw_metrics_histogram(reg, "lat_seconds", "latency", bounds, 3, "axis", NULL);
    struct gw_metric *m = gw_metric_series(f, "national");
    char *text;

    gw_metric_observe(f, m, 0.005);
    gw_metric_observe(f, m, 0.05);
    gw_metric_observe(f, m, 5);
    text = gw_metrics_render(reg, NULL);
    assert_non_null(strstr(text, "lat_seconds_bucket{axis=\"national\",le=\"0.01\"} 1\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{axis=\"national\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{axis=\"national\",le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{axis=\"national\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_count{axis=\"national\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_sum{axis=\"national\"} 5.055\n"));
    free(text);
    gw_metrics_free(reg);
}

/* promtool parses the exposition with Prometheus' own parser and lints it. */
static void test_promtool_accepts(void **state)
{
    static const double bounds[] = {0.5, 2};
    struct gw_metrics *reg = gw_metrics_new();
    char *text;
    char path[] = "/tmp/gw-metrics-XXXXXX";
    char cmd[256];
    int fd, rc;

    if (system("command -v promtool >/dev/null 2>&1") != 0)
        skip();
    gw_metric_inc(gw_metric_series(
        gw_metrics_counter(reg, "gateway_x_total", "a \"quoted\" help", "axis", NULL),
        "nat\"ional"));
    gw_metric_set(gw_metric_series(gw_metrics_gauge(reg, "gateway_y", "a gauge", NULL)), -3);
    gw_metric_observe(NULL, gw_metric_series(NULL), 1);
    struct gw_metric_family *h =
        gw_metrics_histogram(reg, "gateway_z_seconds", "a histogram", bounds, 2, "axis", NULL);
    gw_metric_observe(h, gw_metric_series(h, "a"), 1);
    text = gw_metrics_render(reg, NULL);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    rc = system(cmd);
    unlink(path);
    free(text);
    gw_metrics_free(reg);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_identity),  cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_render_escaping),  cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_promtool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
