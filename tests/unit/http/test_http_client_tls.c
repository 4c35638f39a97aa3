/*
 * Unit tests for the TLS settings of gateway/http/http_client.c that are decided before any I/O:
 * with tls set, an http:// URL (or one without a scheme) is refused unless insecure, an https://
 * one without a pinned CA file is refused, and a client certificate needs its key; the callback
 * never runs and nothing is in flight. With insecure, plain HTTP goes out, and a transport
 * failure carries its reason (gw_httpc_fail_detail) inside the callback only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "http/http_client.h"

struct result {
    int calls;
    int err;
    char why[512];
    struct gw_httpc *c;
};

static void on_resp(int err, long status, const char *body, size_t len, void *ud)
{
    struct result *r = ud;
    const char *why = gw_httpc_fail_detail(r->c);

    (void)status;
    (void)body;
    (void)len;
    r->calls++;
    r->err = err;
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static int try_request(struct gw_httpc *c, const char *url, const struct gw_tls_peer *tls,
                       struct result *r)
{
    struct gw_httpc_request req = {.method = "GET", .url = url, .tls = tls, .timeout_ms = 5000};
    return gw_httpc_request(c, &req, on_resp, r);
}

static void test_refused_before_io(void **state)
{
    uv_loop_t loop;
    struct gw_httpc *c;
    struct result r = {0};
    const struct gw_tls_peer plain = {.ca_file = "/nonexistent/ca.pem"};
    const struct gw_tls_peer no_ca = {0};
    const struct gw_tls_peer half = {.ca_file = "/x/ca.pem", .client_cert = "/x/c.pem"};
    const struct gw_tls_peer key_only = {.ca_file = "/x/ca.pem", .client_key = "/x/c.key"};

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(gw_httpc_open(&loop, &c), 0);
    r.c = c;
    assert_int_equal(try_request(c, "http://127.0.0.1:1/x", &plain, &r), GW_EINVAL);
    assert_int_equal(try_request(c, "HTTP://127.0.0.1:1/x", &no_ca, &r), GW_EINVAL);
    assert_int_equal(try_request(c, "127.0.0.1:1/x", &plain, &r), GW_EINVAL); /* no scheme */
    assert_int_equal(try_request(c, "https://127.0.0.1:1/x", &no_ca, &r), GW_EINVAL);
    assert_int_equal(try_request(c, "https://127.0.0.1:1/x", &half, &r), GW_EINVAL);
    assert_int_equal(try_request(c, "https://127.0.0.1:1/x", &key_only, &r), GW_EINVAL);
    assert_int_equal(gw_httpc_inflight(c), 0);
    /* nothing was started: the loop has nothing to do and no callback runs */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(r.calls, 0);
    assert_null(gw_httpc_fail_detail(c)); /* outside a callback */
    gw_httpc_close(c);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* insecure lets plain HTTP out; a refused connection says why inside the callback. */
static void test_insecure_allows_http(void **state)
{
    uv_loop_t loop;
    struct gw_httpc *c;
    struct result r = {0};
    const struct gw_tls_peer insecure = {.insecure = true};
    uv_tcp_t t;
    struct sockaddr_in a;
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char url[64];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(gw_httpc_open(&loop, &c), 0);
    r.c = c;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&loop, &t);
    assert_int_equal(uv_tcp_bind(&t, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &sl), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/",
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
    uv_close((uv_handle_t *)&t, NULL); /* bound, never listening: the port refuses */
    assert_int_equal(try_request(c, url, &insecure, &r), 0);
    assert_int_equal(gw_httpc_inflight(c), 1);
    while (r.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.err, GW_EHTTP);
    if (strncmp(r.why, "connect_failed: ", 16) != 0)
        fail_msg("fail detail '%s'", r.why);
    assert_null(gw_httpc_fail_detail(c));
    gw_httpc_close(c);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_io),
        cmocka_unit_test(test_insecure_allows_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
