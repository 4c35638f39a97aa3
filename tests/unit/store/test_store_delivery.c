/*
 * Unit tests for gateway/store/store_delivery.c and store_audit.c argument checks: a value its
 * SQL type cannot hold (a 30-day backoff in an integer of ms, a lease beyond int4, text that is
 * not UTF-8) is refused before anything is sent, and the callback never runs. No database is
 * needed: the checks come first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "store/store_audit.h"
#include "store/store_delivery.h"
#include "util/error.h"

static int called;

static void outcome_cb(int err, enum gw_store_outcome st, void *ud)
{
    (void)err;
    (void)st;
    (void)ud;
    called++;
}

static void claim_cb(int err, const struct gw_store_claimed *rows, size_t n, void *ud)
{
    (void)err;
    (void)rows;
    (void)n;
    (void)ud;
    called++;
}

static void renew_cb(int err, const int64_t *ids, size_t n, void *ud)
{
    (void)err;
    (void)ids;
    (void)n;
    (void)ud;
    called++;
}

static void seal_cb(int err, int64_t n, void *ud)
{
    (void)err;
    (void)n;
    (void)ud;
    called++;
}

static void test_failed_ranges(void **st)
{
    (void)st;
    struct gw_store_failed_args a = {.delivery_id = 1,
                                     .owner = "gw1:1:00",
                                     .attempt = 1,
                                     .error = "axis_error: x",
                                     .base_ms = 1000,
                                     .max_ms = 30ull * 86400 * 1000, /* 30 days: over int4 */
                                     .give_up_s = 86400};
    called = 0;
    assert_int_equal(gw_store_delivery_failed(NULL, &a, outcome_cb, NULL), GW_ERANGE);
    a.max_ms = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_delivery_failed(NULL, &a, outcome_cb, NULL), GW_ERANGE);
    a.max_ms = 300000;
    a.give_up_s = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_delivery_failed(NULL, &a, outcome_cb, NULL), GW_ERANGE);
    a.give_up_s = 86400;
    a.error = "cut \xe1\xba"; /* the first two bytes of a three-byte character */
    assert_int_equal(gw_store_delivery_failed(NULL, &a, outcome_cb, NULL), GW_EINVAL);
    a.error = NULL;
    assert_int_equal(gw_store_delivery_failed(NULL, &a, outcome_cb, NULL), GW_EINVAL);
    assert_int_equal(
        gw_store_delivery_held(NULL, 1, "o", 1, "x", (uint64_t)INT32_MAX + 1, outcome_cb, NULL),
        GW_ERANGE);
    assert_int_equal(gw_store_delivery_held(NULL, 1, "o", 1, "\xff", 1000, outcome_cb, NULL),
                     GW_EINVAL);
    assert_int_equal(called, 0);
}

static void test_claim_and_renew_ranges(void **st)
{
    (void)st;
    const char *axes[1] = {"national"};
    unsigned limits[1] = {4};
    struct gw_store_claim_args a = {.owner = "o",
                                    .lease_ms = (uint64_t)INT32_MAX + 1,
                                    .limit = 4,
                                    .max_bytes = 1 << 20,
                                    .give_up_s = 3600,
                                    .axes = axes,
                                    .limits = limits,
                                    .n_axes = 1};
    struct gw_store_lease l[1] = {{1, 1}};

    called = 0;
    assert_int_equal(gw_store_delivery_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a.lease_ms = 60000;
    a.give_up_s = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_delivery_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a.give_up_s = 3600;
    a.n_axes = 0; /* no axis served: nothing may be claimed */
    assert_int_equal(gw_store_delivery_claim(NULL, &a, claim_cb, NULL), GW_EINVAL);
    a.n_axes = 1;
    limits[0] = (unsigned)INT32_MAX + 1;
    assert_int_equal(gw_store_delivery_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    assert_int_equal(
        gw_store_delivery_renew(NULL, "o", l, 1, (uint64_t)INT32_MAX + 1, renew_cb, NULL),
        GW_ERANGE);
    assert_int_equal(gw_store_delivery_renew(NULL, "o", l, 0, 1000, renew_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_audit_seal(NULL, 0, seal_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_audit_seal(NULL, (int64_t)INT32_MAX + 1, seal_cb, NULL), GW_ERANGE);
    assert_int_equal(called, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_ranges),
        cmocka_unit_test(test_claim_and_renew_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
