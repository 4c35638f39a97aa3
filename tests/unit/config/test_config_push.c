/*
 * Unit tests for the [push] section: absent means no push, defaults, every key read, the
 * environment override of the secret, cross-key refusals with their line, and that the secret
 * never reaches a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/error.h"

#include "config_test.h"

#define PUSH_SECRET "webhook-Bí-mật-7f3a"
/* A [push] that loads: plain HTTP to loopback, allowed. */
#define PUSH_LOOPBACK                                                                              \
    MINIMAL "[push]\nurl = http://127.0.0.1:9/e\ninsecure = 1\nsecret = " PUSH_SECRET "\n"

static struct gw_config *load_ok(const char *text)
{
    struct gw_config *cfg = NULL;
    char err[256] = "";
    int rc = gw_config_parse_string(text, &cfg, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error: %s", err);
    return cfg;
}

static void load_err(const char *text, const char *expect)
{
    struct gw_config *cfg = NULL;
    char err[256] = "";

    assert_int_equal(gw_config_parse_string(text, &cfg, err, sizeof(err)), GW_ECONFIG);
    assert_null(cfg);
    if (!strstr(err, expect))
        fail_msg("error '%s' does not contain '%s'", err, expect);
    assert_null(strstr(err, PUSH_SECRET));
}

static void test_absent(void **state)
{
    struct gw_config *cfg = load_ok(MINIMAL);
    assert_false(cfg->push.enabled);
    assert_null(cfg->push.url);
    gw_config_free(cfg);
}

/* The numeric keys of [push], in the order of the section's table. */
struct push_numbers {
    uint64_t timeout_ms;
    unsigned max_inflight, batch;
    uint64_t scan_interval_ms, lease_ms, backoff_base_ms, backoff_max_ms, give_up_after_s;
};

static void assert_numbers(const struct gw_config_push *p, const struct push_numbers *w)
{
    assert_int_equal(p->timeout_ms, w->timeout_ms);
    assert_int_equal(p->max_inflight, w->max_inflight);
    assert_int_equal(p->batch, w->batch);
    assert_int_equal(p->scan_interval_ms, w->scan_interval_ms);
    assert_int_equal(p->lease_ms, w->lease_ms);
    assert_int_equal(p->backoff_base_ms, w->backoff_base_ms);
    assert_int_equal(p->backoff_max_ms, w->backoff_max_ms);
    assert_int_equal(p->give_up_after_s, w->give_up_after_s);
}

static void test_defaults_and_keys(void **state)
{
    struct gw_config *cfg = load_ok(MINIMAL "[push]\n"
                                            "url = https://qlvbdh.example.vn/events\n"
                                            "secret = " PUSH_SECRET "\n"
                                            "ca_file = " TLS_FIXTURES "/ca.pem\n");
    const struct gw_config_push *p = &cfg->push;

    assert_true(p->enabled);
    assert_string_equal(p->url, "https://qlvbdh.example.vn/events");
    assert_string_equal(p->secret, PUSH_SECRET);
    assert_null(p->content_base_url);
    assert_numbers(p, &(struct push_numbers){10000, 8, 16, 1000, 60000, 1000, 300000, 86400});
    assert_string_equal(p->tls.ca_file, TLS_FIXTURES "/ca.pem");
    assert_false(p->tls.insecure);
    gw_config_free(cfg);

    cfg = load_ok(MINIMAL "[push]\n"
                          "url = http://127.0.0.1:9/events\n"
                          "secret = s\n"
                          "insecure = true\n"
                          "content_base_url = https://gw.example.vn\n"
                          "timeout_ms = 500\n"
                          "max_inflight = 3\n"
                          "batch = 5\n"
                          "scan_interval_ms = 50\n"
                          "lease_ms = 2000\n"
                          "backoff_base_ms = 10\n"
                          "backoff_max_ms = 20\n"
                          "give_up_after_s = 7\n"
                          "client_cert = " TLS_FIXTURES "/client.pem\n"
                          "client_key = " TLS_FIXTURES "/client.key\n");
    p = &cfg->push;
    assert_true(p->tls.insecure);
    assert_string_equal(p->content_base_url, "https://gw.example.vn");
    assert_numbers(p, &(struct push_numbers){500, 3, 5, 50, 2000, 10, 20, 7});
    assert_string_equal(p->tls.client_cert, TLS_FIXTURES "/client.pem");
    assert_string_equal(p->tls.client_key, TLS_FIXTURES "/client.key");
    gw_config_free(cfg);
}

static void test_env_secret(void **state)
{
    struct gw_config *cfg;

    setenv("GATEWAYD_PUSH_SECRET", "from-the-environment", 1);
    cfg = load_ok(MINIMAL "[push]\nurl = http://127.0.0.1:9/e\ninsecure = yes\nsecret = file\n");
    assert_string_equal(cfg->push.secret, "from-the-environment");
    gw_config_free(cfg);
    /* it satisfies "required" too */
    cfg = load_ok(MINIMAL "[push]\nurl = http://127.0.0.1:9/e\ninsecure = yes\n");
    assert_string_equal(cfg->push.secret, "from-the-environment");
    gw_config_free(cfg);
    unsetenv("GATEWAYD_PUSH_SECRET");
}

static void test_refusals(void **state)
{
    load_err(MINIMAL "[push]\nsecret = " PUSH_SECRET "\n", ":7: [push] url is required");
    load_err(MINIMAL "[push]\nurl = http://127.0.0.1:9/e\ninsecure = 1\n", "secret is required");
    load_err(MINIMAL "[push]\nurl = http://127.0.0.1:9/e\nsecret = " PUSH_SECRET "\n",
             ":8: [push] url is plain http://");
    load_err(MINIMAL "[push]\nurl = https://q.example.vn/e\nsecret = " PUSH_SECRET "\n",
             "[push] ca_file is required");
    load_err(MINIMAL "[push]\nurl = https://q.example.vn/e\ninsecure = true\nsecret = " PUSH_SECRET
                     "\n",
             "[push] ca_file is required");
    load_err(PUSH_LOOPBACK "backoff_base_ms = 30\nbackoff_max_ms = 20\n",
             ":11: [push] backoff_base_ms is above backoff_max_ms");
    load_err(PUSH_LOOPBACK "timeout_ms = 5000\nlease_ms = 5000\n",
             ":12: [push] lease_ms must exceed timeout_ms by 1 s");
    load_err(PUSH_LOOPBACK "client_cert = /c.pem\n",
             "[push] client_cert and client_key go together");
    /* the files are read at load, as an axis's are */
    load_err(MINIMAL "[push]\nurl = https://q.example.vn/e\nsecret = " PUSH_SECRET
                     "\nca_file = /nonexistent/ca.pem\n",
             ":10: [push] ca_file: CA file /nonexistent/ca.pem cannot be opened");
    load_err(MINIMAL "[push]\nurl = https://q.example.vn/e\nsecret = " PUSH_SECRET
                     "\nca_file = " TLS_FIXTURES "/ca.pem\nclient_cert = " TLS_FIXTURES
                     "/client.key\nclient_key = " TLS_FIXTURES "/client.key\n",
             ":11: [push] client_cert: " TLS_FIXTURES "/client.key holds no PEM certificate");
    load_err(MINIMAL "[push]\nurl = https://q.example.vn/e\nsecret = " PUSH_SECRET
                     "\nca_file = " TLS_FIXTURES "/ca.pem\nclient_cert = " TLS_FIXTURES
                     "/client.pem\nclient_key = " TLS_FIXTURES "/other.key\n",
             ":12: [push] client_key: " TLS_FIXTURES "/other.key is not the private key of");
    load_err(MINIMAL "[push]\nurl = ftp://x/e\nsecret = " PUSH_SECRET "\n", "url");
    load_err(PUSH_LOOPBACK "max_inflight = 0\n", "out of range");
    load_err(PUSH_LOOPBACK "backoff_max_ms = 2147483648\n", "out of range");
    load_err(PUSH_LOOPBACK "nope = 1\n", "nope");
    load_err(PUSH_LOOPBACK "[push]\n", "[push]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_defaults_and_keys),
        cmocka_unit_test(test_env_secret),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
