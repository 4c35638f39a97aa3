/*
 * Unit tests for the [axis.NAME] keys of adapter lgsp_rest: defaults, values, bounds, the keys
 * required when such an axis is enabled (not when it is disabled), and that the password never
 * reaches a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/error.h"

#define HEAD                                                                                       \
    "[gateway]\n"                                                                                  \
    "organ_ids = 000.00.00.H49\n"                                                                  \
    "[database]\n"                                                                                 \
    "conninfo = dbname=gw\n"                                                                       \
    "[client.qlvbdh]\n"                                                                            \
    "token_sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"            \
    "[routing]\n"                                                                                  \
    "default_axis = prov\n"                                                                        \
    "[axis.prov]\n"                                                                                \
    "adapter = lgsp_rest\n"                                                                        \
    "base_url = http://127.0.0.1:9000\n"                                                           \
    "insecure = true\n"                                                                            \
    "systemid = sys\n"                                                                             \
    "secret = s3cr3t\n"

static int parse(const char *text, struct gw_config **c, char *err, size_t len)
{
    int rc = gw_config_parse_string(text, c, err, len);
    if (rc != 0)
        fprintf(stderr, "config: %s\n", err);
    return rc;
}

static void test_defaults_and_values(void **state)
{
    struct gw_config *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = pw-SECRET\n"
                                "directory_file = /etc/gatewayd/prov.txt\n",
                           &c, err, sizeof(err)),
                     0);
    const struct gw_axis_config *a = &c->axes[0].axis;
    assert_string_equal(a->username, "gw");
    assert_string_equal(a->password, "pw-SECRET");
    assert_string_equal(a->directory_file, "/etc/gatewayd/prov.txt");
    assert_null(a->application_code);
    assert_int_equal(a->token_lifetime_s, 1800);
    assert_int_equal(a->first_window_days, 7);
    assert_int_equal(a->window_overlap_days, 1);
    gw_config_free(c);
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = pw\n"
                                "application_code = QLVB\n"
                                "directory_file = d.txt\n"
                                "token_lifetime_s = 600\n"
                                "first_window_days = 30\n"
                                "window_overlap_days = 0\n",
                           &c, err, sizeof(err)),
                     0);
    a = &c->axes[0].axis;
    assert_string_equal(a->application_code, "QLVB");
    assert_int_equal(a->token_lifetime_s, 600);
    assert_int_equal(a->first_window_days, 30);
    assert_int_equal(a->window_overlap_days, 0);
    gw_config_free(c);
}

static void test_required_and_bounds(void **state)
{
    struct gw_config *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(HEAD "password = pw-SECRET\n"
                                "directory_file = d.txt\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_non_null(strstr(err, "[axis.prov] username is required with adapter = lgsp_rest"));
    assert_null(strstr(err, "pw-SECRET"));
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = pw\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_non_null(strstr(err, "directory_file is required"));
    assert_int_equal(parse(HEAD "username = gw\n"
                                "directory_file = d.txt\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_non_null(strstr(err, "password is required"));
    /* disabled: prepared without them */
    assert_int_equal(parse(HEAD "enabled = false\n", &c, err, sizeof(err)), 0);
    gw_config_free(c);
    /* bounds */
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = pw\n"
                                "directory_file = d.txt\n"
                                "token_lifetime_s = 5\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = pw\n"
                                "directory_file = d.txt\n"
                                "first_window_days = 367\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    /* a bad password value is refused without being echoed */
    assert_int_equal(parse(HEAD "username = gw\n"
                                "password = \"pw-SECRET\x01\"\n"
                                "directory_file = d.txt\n",
                           &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_null(strstr(err, "pw-SECRET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_required_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
