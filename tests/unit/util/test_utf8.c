/*
 * Unit tests for gateway/util/utf8.c: validation, repair and cutting on a character boundary of
 * text that peers send (truncated sequences, overlong forms, surrogates, NUL, control bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

static void test_valid(void **state)
{
    assert_true(gw_utf8_valid("Công văn", strlen("Công văn")));
    assert_false(gw_utf8_valid("C\xc3", 2));           /* cut sequence */
    assert_false(gw_utf8_valid("\xc0\xaf", 2));        /* overlong */
    assert_false(gw_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
    assert_false(gw_utf8_valid("a\0b", 3));            /* NUL */
    assert_true(gw_utf8_valid("\xf0\x9f\x98\x80", 4)); /* 4-byte */
}

static void test_prefix(void **state)
{
    /* "vă" is v, then U+0103 as c4 83: a cut inside it falls back before it. */
    assert_int_equal(gw_utf8_prefix("vă", 2), 1);
    assert_int_equal(gw_utf8_prefix("vă", 3), 3);
    assert_int_equal(gw_utf8_prefix("abc", 10), 3);
    assert_int_equal(gw_utf8_prefix("abc", 0), 0);
}

static void test_sanitize(void **state)
{
    char *s = gw_utf8_sanitize("a\xc3"
                               "b\x01"
                               "c",
                               64);
    assert_string_equal(s, "a\xef\xbf\xbd"
                           "b c");
    free(s);
    s = gw_utf8_sanitize("văn", 2); /* never ends inside a character */
    assert_string_equal(s, "v");
    free(s);
    s = gw_utf8_sanitize(NULL, 8);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
