/*
 * Unit tests for the argument checks of gateway/store/store_agency.c, store_route.c and
 * store_timeline.c: a value its SQL type or the store's limits cannot hold (a package id outside
 * 1..INT64_MAX, text that is not UTF-8, a directory row without a code or with an over-long
 * field, too many rows) is refused before anything is sent, and the callback never runs. No
 * database is needed: the checks come first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store_agency.h"
#include "store/store_route.h"
#include "store/store_timeline.h"
#include "util/error.h"

static int called;

static void counts_cb(int err, const struct gw_store_directory_counts *c, void *ud)
{
    (void)err;
    (void)c;
    (void)ud;
    called++;
}

static void n_cb(int err, int64_t n, void *ud)
{
    (void)err;
    (void)n;
    (void)ud;
    called++;
}

static void json_cb(int err, const char *json, size_t len, void *ud)
{
    (void)err;
    (void)json;
    (void)len;
    (void)ud;
    called++;
}

static void test_directory_checks(void **st)
{
    struct gw_store_agency rows[2] = {{.code = "000.00.01.H49", .name = "Sở"}, {.code = "H49.1"}};
    struct gw_store_directory_args a = {.axis = "national", .qcvn102 = rows, .n_qcvn102 = 2};
    char *longcode = malloc(GW_STORE_AGENCY_CODE_MAX + 2);

    (void)st;
    called = 0;
    assert_int_equal(gw_store_directory_check(&a), 0);
    rows[1].code = NULL;
    assert_int_equal(gw_store_directory_replace(NULL, &a, counts_cb, NULL), GW_EINVAL);
    rows[1].code = "cut \xe1\xba";
    assert_int_equal(gw_store_directory_replace(NULL, &a, counts_cb, NULL), GW_EINVAL);
    memset(longcode, 'A', GW_STORE_AGENCY_CODE_MAX + 1);
    longcode[GW_STORE_AGENCY_CODE_MAX + 1] = '\0';
    rows[1].code = longcode;
    assert_int_equal(gw_store_directory_replace(NULL, &a, counts_cb, NULL), GW_ERANGE);
    rows[1].code = "H49.1";
    a.n_qcvn102 = GW_STORE_AGENCY_ROWS_MAX + 1;
    assert_int_equal(gw_store_directory_replace(NULL, &a, counts_cb, NULL), GW_ERANGE);
    a.n_qcvn102 = 2;
    a.has_qd20 = true;
    a.n_qd20 = 1; /* rows announced, none given */
    assert_int_equal(gw_store_directory_replace(NULL, &a, counts_cb, NULL), GW_EINVAL);
    a.axis = NULL;
    assert_int_equal(gw_store_directory_check(&a), GW_EINVAL);
    assert_int_equal(gw_store_directory_failed(NULL, "national", "\xff", n_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_directory_failed(NULL, NULL, "x", n_cb, NULL), GW_EINVAL);
    assert_int_equal(called, 0);
    free(longcode);
}

static void test_route_and_timeline_checks(void **st)
{
    const char *axes[2] = {"prov", "national"};
    bool prov[2] = {true, false};
    struct gw_store_route_args a = {
        .package_id = 0, .axes = axes, .provincial = prov, .n_axes = 2, .default_axis = "national"};

    (void)st;
    called = 0;
    assert_int_equal(gw_store_route_package(NULL, &a, n_cb, NULL), GW_ERANGE);
    a.package_id = 1;
    axes[1] = "bad \xc3";
    assert_int_equal(gw_store_route_package(NULL, &a, n_cb, NULL), GW_EINVAL);
    axes[1] = "national";
    a.default_axis = "\x80";
    assert_int_equal(gw_store_route_package(NULL, &a, n_cb, NULL), GW_EINVAL);
    a.axes = NULL;
    assert_int_equal(gw_store_route_package(NULL, &a, n_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_timeline_read(NULL, 0, json_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_timeline_read(NULL, -5, json_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_timeline_note(NULL, 0, n_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_timeline_note(NULL, 1, NULL, NULL), GW_EINVAL);
    assert_int_equal(gw_store_directory_register(NULL, axes, prov, prov, NULL, 2, n_cb, NULL),
                     GW_EINVAL);
    assert_int_equal(called, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_checks),
        cmocka_unit_test(test_route_and_timeline_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
