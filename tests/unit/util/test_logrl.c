/*
 * Unit tests for gateway/util/logrl.c: an identical line is written once per interval and the
 * next one written carries the count of those dropped; different lines do not suppress each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "util/logrl.h"

static void test_identical_lines_counted(void **st)
{
    (void)st;
    struct gw_logrl rl;
    unsigned dropped = 99;

    gw_logrl_init(&rl, 1000);
    assert_true(gw_logrl_allow(&rl, "delivery.failed|401", 0, &dropped));
    assert_int_equal(dropped, 0);
    for (int i = 1; i <= 200; i++)
        assert_false(gw_logrl_allow(&rl, "delivery.failed|401", (uint64_t)i, &dropped));
    assert_true(gw_logrl_allow(&rl, "delivery.other", 300, &dropped));
    assert_int_equal(dropped, 0);
    assert_true(gw_logrl_allow(&rl, "delivery.failed|401", 1000, &dropped));
    assert_int_equal(dropped, 200);
    assert_false(gw_logrl_allow(&rl, "delivery.failed|401", 1999, NULL));
    assert_true(gw_logrl_allow(&rl, "delivery.failed|401", 2000, &dropped));
    assert_int_equal(dropped, 1);
}

static void test_many_keys(void **st)
{
    (void)st;
    struct gw_logrl rl;
    char key[32];

    gw_logrl_init(&rl, 1000);
    /* More keys than slots: every new key is written, the oldest one forgotten. */
    for (int i = 0; i < 3 * GW_LOGRL_SLOTS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(gw_logrl_allow(&rl, key, (uint64_t)i, NULL));
    }
    snprintf(key, sizeof(key), "k%d", 3 * GW_LOGRL_SLOTS - 1);
    assert_false(gw_logrl_allow(&rl, key, 100, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_lines_counted),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
