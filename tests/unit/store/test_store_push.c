/*
 * Unit tests for gateway/store/store_push.c argument checks: a value its SQL type cannot hold (a
 * claim above GW_STORE_PUSH_MAX_CLAIM, a lease or a backoff beyond an int4 of ms, a give-up age
 * of 0, an HTTP status of four digits, text that is not UTF-8, an empty organisation scope) is
 * refused before anything is sent, and the callback never runs. No database is needed: the
 * checks come first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "store/store_push.h"
#include "util/error.h"

static int called;

static void count_cb(int err, int64_t n, void *ud)
{
    (void)err;
    (void)n;
    (void)ud;
    called++;
}

static void claim_cb(int err, const struct gw_store_push_row *rows, size_t n, void *ud)
{
    (void)err;
    (void)rows;
    (void)n;
    (void)ud;
    called++;
}

static void state_cb(int err, const char *state, void *ud)
{
    (void)err;
    (void)state;
    (void)ud;
    called++;
}

static void test_enqueue_ranges(void **st)
{
    (void)st;
    const char *organs[] = {"000.00.00.H49"};
    struct gw_store_scope scope = {.organs = organs, .n_organs = 1};
    struct gw_store_scope none = {.organs = organs, .n_organs = 0};
    const char *bad_organs[] = {"\xc3\x28"};
    struct gw_store_scope bad = {.organs = bad_organs, .n_organs = 1};

    called = 0;
    assert_int_equal(gw_store_push_enqueue(NULL, &scope, 0, count_cb, NULL), GW_ERANGE);
    assert_int_equal(
        gw_store_push_enqueue(NULL, &scope, GW_STORE_PUSH_MAX_CLAIM + 1, count_cb, NULL),
        GW_ERANGE);
    assert_int_equal(gw_store_push_enqueue(NULL, &none, 1, count_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_push_enqueue(NULL, NULL, 1, count_cb, NULL), GW_EINVAL);
    assert_int_not_equal(gw_store_push_enqueue(NULL, &bad, 1, count_cb, NULL), 0);
    assert_int_equal(called, 0);
}

static void test_claim_ranges(void **st)
{
    (void)st;
    struct gw_store_push_claim_args ok = {
        .owner = "gw1:1:00", .lease_ms = 60000, .limit = 8, .give_up_s = 86400};
    struct gw_store_push_claim_args a;

    called = 0;
    a = ok;
    a.limit = 0;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a.limit = GW_STORE_PUSH_MAX_CLAIM + 1;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a = ok;
    a.lease_ms = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a = ok;
    a.give_up_s = 0;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a.give_up_s = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_ERANGE);
    a = ok;
    a.owner = NULL;
    assert_int_equal(gw_store_push_claim(NULL, &a, claim_cb, NULL), GW_EINVAL);
    assert_int_equal(called, 0);
}

static void test_sent_ranges(void **st)
{
    (void)st;
    called = 0;
    assert_int_equal(gw_store_push_sent(NULL, 0, "gw1:1:00", 200, state_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_push_sent(NULL, 1, "gw1:1:00", 1000, state_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_push_sent(NULL, 1, "gw1:1:00", -1, state_cb, NULL), GW_ERANGE);
    assert_int_equal(gw_store_push_sent(NULL, 1, NULL, 200, state_cb, NULL), GW_EINVAL);
    assert_int_equal(called, 0);
}

static void test_failed_ranges(void **st)
{
    (void)st;
    struct gw_store_push_failed_args ok = {.push_id = 1,
                                           .owner = "gw1:1:00",
                                           .attempt = 1,
                                           .error = "webhook answered HTTP 500",
                                           .status = 500,
                                           .retry_ms = 0,
                                           .base_ms = 1000,
                                           .max_ms = 300000,
                                           .give_up_s = 86400};
    struct gw_store_push_failed_args a;

    called = 0;
    a = ok;
    a.push_id = 0;
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_ERANGE);
    a = ok;
    a.status = 1000;
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_ERANGE);
    a = ok;
    a.error = "\xc3\x28";
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_EINVAL);
    a = ok;
    a.held = true;
    a.retry_ms = (uint64_t)INT32_MAX + 1;
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_ERANGE);
    a = ok;
    a.max_ms = 30ULL * 24 * 3600 * 1000; /* 30 days of ms: beyond an int4 */
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_ERANGE);
    a = ok;
    a.give_up_s = 0;
    assert_int_equal(gw_store_push_failed(NULL, &a, state_cb, NULL), GW_ERANGE);
    assert_int_equal(called, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enqueue_ranges),
        cmocka_unit_test(test_claim_ranges),
        cmocka_unit_test(test_sent_ranges),
        cmocka_unit_test(test_failed_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
