/*
 * Unit tests for the dispatcher's error text (gateway/engine/dispatch.c): an axis error cut in the
 * middle of a character, or carrying an invalid byte, is repaired to valid UTF-8 and cut on a
 * character boundary before it is stored (PostgreSQL refuses invalid text, and a refused record
 * would be retried for ever).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/dispatch_internal.h"
#include "store/store_delivery.h"
#include "util/error.h"
#include "util/utf8.h"

static void test_error_text_repaired(void **st)
{
    (void)st;
    char detail[3000];
    char *s;
    size_t n = 0;

    /* Vietnamese text whose cut (by the axis, or by a length limit here) falls inside a
     * character; and a stray invalid byte. */
    while (n + 3 < sizeof(detail) - 8) {
        memcpy(detail + n, "\xe1\xba\xa1", 3); /* ạ */
        n += 3;
    }
    detail[n++] = '\xe1';
    detail[n++] = '\xba';
    detail[n] = '\0';
    s = gw_dispatch_error_text(GW_EAXIS, detail);
    assert_non_null(s);
    assert_true(strlen(s) <= GW_STORE_ERROR_MAX);
    assert_true(gw_utf8_valid(s, strlen(s)));
    free(s);
    s = gw_dispatch_error_text(GW_EAXIS, "22: Kh\xc3\xb4ng h\xe1\xba");
    assert_non_null(s);
    assert_true(gw_utf8_valid(s, strlen(s)));
    assert_non_null(strstr(s, "Kh\xc3\xb4ng"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_text_repaired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
