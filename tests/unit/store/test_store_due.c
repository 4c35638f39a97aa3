/*
 * Unit tests for gateway/store/store_due.c argument checks: no axis, more axes than one
 * statement takes, or a name that is not text is refused before anything is sent, and the
 * callback never runs. No database is needed: the checks come first (the statement itself runs
 * in tests/integration/test_send_flow.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store_due.h"
#include "util/error.h"

static int called;

static void due_cb(int err, int64_t check_age_ms, const int64_t *age_ms, size_t n, void *ud)
{
    (void)err;
    (void)check_age_ms;
    (void)age_ms;
    (void)n;
    (void)ud;
    called++;
}

static void test_due_arguments(void **st)
{
    static const char *many[GW_STORE_DUE_MAX_AXES + 1];
    const char *bad[2] = {"national", "\xff\xfe"};
    const char *none[1] = {NULL};

    (void)st;
    for (size_t i = 0; i < GW_STORE_DUE_MAX_AXES + 1; i++)
        many[i] = "national";
    called = 0;
    assert_int_equal(gw_store_due_read(NULL, many, 0, due_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_due_read(NULL, many, GW_STORE_DUE_MAX_AXES + 1, due_cb, NULL),
                     GW_EINVAL);
    assert_int_equal(gw_store_due_read(NULL, bad, 2, due_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_due_read(NULL, none, 1, due_cb, NULL), GW_EINVAL);
    assert_int_equal(gw_store_due_read(NULL, many, 1, NULL, NULL), GW_EINVAL);
    assert_int_equal(called, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
