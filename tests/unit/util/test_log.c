/*
 * Unit tests for gateway/log.c: every line is one valid JSON object with the expected fields,
 * whatever the message contains, and lines below the level are dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Runs fn with stdout redirected to a pipe and returns what it wrote (static buffer). */
static const char *capture(void (*fn)(void))
{
    static char buf[16384];
    int fds[2], saved;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    fn();
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void emit_hostile(void)
{
    gw_log_set_level(GW_LOG_INFO);
    gw_log_pkg(GW_LOG_WARN, "test.event", 42, "000.00.12.H49,2024/05/15,1/\"STC\"",
               "quote \" backslash \\ newline \n tab \t bell \a Vietnamese Văn bản");
}

static void emit_levels(void)
{
    gw_log_set_level(GW_LOG_WARN);
    gw_log(GW_LOG_INFO, "dropped", "not shown");
    gw_log(GW_LOG_ERROR, "kept", "shown %d", 7);
    gw_log_set_level(GW_LOG_INFO);
}

static void emit_long(void)
{
    char big[7001];
    /* "ă" is two bytes: truncation must not cut a character in half (the line must stay
     * valid UTF-8, hence valid JSON); control characters expand six-fold when escaped. */
    for (int i = 0; i < 3000; i += 2)
        memcpy(big + i, "\xc4\x83", 2);
    memset(big + 3000, '\x01', 4000);
    big[7000] = '\0';
    gw_log(GW_LOG_INFO, "long", "%s", big);
    gw_log(GW_LOG_INFO, "long", "%s", big + 1); /* odd offset: starts mid-character */
}

static json_t *parse_one(const char *line)
{
    json_error_t e;
    json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, &e);
    if (!o)
        fail_msg("not JSON: %s (%s)", line, e.text);
    return o;
}

static void test_hostile_message(void **state)
{
    const char *out = capture(emit_hostile);
    json_t *o;

    (void)state;
    assert_non_null(strchr(out, '\n'));
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* exactly one line */
    o = parse_one(out);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "event")), "test.event");
    assert_int_equal(json_integer_value(json_object_get(o, "package_id")), 42);
    assert_string_equal(json_string_value(json_object_get(o, "document_id")),
                        "000.00.12.H49,2024/05/15,1/\"STC\"");
    assert_non_null(strstr(json_string_value(json_object_get(o, "msg")), "newline \n tab"));
    assert_non_null(strstr(json_string_value(json_object_get(o, "msg")), "Văn bản"));
    assert_non_null(json_object_get(o, "ts"));
    json_decref(o);
}

static void test_levels(void **state)
{
    const char *out = capture(emit_levels);
    json_t *o;

    (void)state;
    assert_null(strstr(out, "dropped"));
    o = parse_one(out);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "shown 7");
    json_decref(o);
}

static void test_long_message_stays_json(void **state)
{
    const char *out = capture(emit_long);
    json_t *o;

    (void)state;
    o = parse_one(out);
    assert_true(strlen(json_string_value(json_object_get(o, "msg"))) > 1000);
    json_decref(o);
    o = parse_one(strchr(out, '\n') + 1);
    json_decref(o);
}

static void test_parse_level(void **state)
{
    enum gw_log_level l;

    (void)state;
    assert_int_equal(gw_log_parse_level("DEBUG", &l), 0);
    assert_int_equal(l, GW_LOG_DEBUG);
    assert_int_equal(gw_log_parse_level("error", &l), 0);
    assert_int_equal(l, GW_LOG_ERROR);
    assert_int_not_equal(gw_log_parse_level("verbose", &l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_message),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_long_message_stays_json),
        cmocka_unit_test(test_parse_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
