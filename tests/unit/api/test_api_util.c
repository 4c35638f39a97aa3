/*
 * Unit tests for the small pure pieces of the API and its SQL glue: bearer-token checking,
 * id and query-string parsing, PostgreSQL array literals, the package parameter list, the
 * stability of the error-code table, the head check (no body outside /v1/, token on /v1/) and
 * who may send as which organisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/auth.h"
#include "util/error.h"
#include "store/pgfmt.h"
#include "store/pkgsql.h"
#include "metrics/metrics.h"

static void client(struct gw_auth_client *c, const char *name, const char *token)
{
    memset(c, 0, sizeof(*c));
    c->name = name;
    SHA256((const unsigned char *)token, strlen(token), c->token_sha256);
}

/* A verified certificate pinned by a client is that client; a token alongside must agree. */
static void test_auth_cert(void **state)
{
    struct gw_auth_client clients[3];
    uint8_t cert_b[32], cert_c[32], other[32];

    (void)state;
    memset(cert_b, 0xb0, sizeof(cert_b));
    memset(cert_c, 0xc0, sizeof(cert_c));
    memset(other, 0x11, sizeof(other));
    client(&clients[0], "a", "token-a");
    client(&clients[1], "b", "token-b");
    clients[1].has_cert = true;
    memcpy(clients[1].cert_sha256, cert_b, 32);
    client(&clients[2], "c", "unused");
    clients[2].cert_only = true;
    clients[2].has_cert = true;
    memcpy(clients[2].cert_sha256, cert_c, 32);
    assert_int_equal(gw_auth_identify(clients, 3, cert_b, NULL), 1);
    assert_int_equal(gw_auth_identify(clients, 3, cert_c, NULL), 2);
    assert_int_equal(gw_auth_identify(clients, 3, cert_b, "Bearer token-b"), 1);
    assert_int_equal(gw_auth_identify(clients, 3, cert_b, "Bearer token-a"), -1);
    assert_int_equal(gw_auth_identify(clients, 3, cert_c, "Bearer token-x"), -1);
    /* an unpinned certificate: the token decides */
    assert_int_equal(gw_auth_identify(clients, 3, other, "Bearer token-a"), 0);
    assert_int_equal(gw_auth_identify(clients, 3, other, NULL), -1);
    assert_int_equal(gw_auth_identify(clients, 3, NULL, "Bearer token-b"), 1);
    assert_int_equal(gw_auth_identify(clients, 3, NULL, NULL), -1);
    /* a client without a token is never reached by one */
    assert_int_equal(gw_auth_identify(clients, 3, NULL, "Bearer unused"), -1);
    assert_int_equal(gw_auth_check(clients, 3, "Bearer unused"), -1);
}

static void test_auth(void **state)
{
    struct gw_auth_client clients[2];
    char hex[65];

    (void)state;
    client(&clients[0], "a", "token-a");
    client(&clients[1], "b", "token-b");
    assert_int_equal(gw_auth_check(clients, 2, "Bearer token-a"), 0);
    assert_int_equal(gw_auth_check(clients, 2, "bearer   token-b  "), 1);
    assert_int_equal(gw_auth_check(clients, 2, "Bearer token-c"), -1);
    assert_int_equal(gw_auth_check(clients, 2, "Bearer "), -1);
    assert_int_equal(gw_auth_check(clients, 2, "Basic dG9rZW4tYQ=="), -1);
    assert_int_equal(gw_auth_check(clients, 2, NULL), -1);
    assert_int_equal(gw_auth_check(clients, 2, "Bearer token-a\x01"), -1);
    gw_auth_hash_hex("token-a", hex);
    assert_int_equal(strlen(hex), 64);
    /* printf 'token-a' | sha256sum */
    assert_string_equal(hex, "a70bf50e531ce1a817561f2f5d5b6645d4e806becf58ccc5e8cf6b8045a090a8");
}

static void test_parse_id(void **state)
{
    (void)state;
    assert_int_equal(gw_api_parse_id("42", 2), 42);
    assert_int_equal(gw_api_parse_id("0", 1), -1);
    assert_int_equal(gw_api_parse_id("", 0), -1);
    assert_int_equal(gw_api_parse_id("4x", 2), -1);
    assert_int_equal(gw_api_parse_id("-1", 2), -1);
    assert_int_equal(gw_api_parse_id("1234567890123456789", 19), -1); /* over 18 digits */
}

static void test_query_param(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(gw_api_query_param("after=12&limit=5", "limit", out, sizeof(out)), 0);
    assert_string_equal(out, "5");
    assert_int_equal(gw_api_query_param("after=12&limit=5", "after", out, sizeof(out)), 0);
    assert_string_equal(out, "12");
    assert_int_equal(gw_api_query_param("x=a%2Cb+c", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "a,b c");
    assert_int_equal(gw_api_query_param("x=%4", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "%4");
    assert_int_equal(gw_api_query_param("limitx=1", "limit", out, sizeof(out)), GW_ENOENT);
    assert_int_equal(gw_api_query_param("", "limit", out, sizeof(out)), GW_ENOENT);
    assert_int_equal(gw_api_query_param("x=0123456789abcdefXYZ", "x", out, sizeof(out)), GW_E2BIG);
    assert_string_equal(out, "");
}

static void test_pgfmt(void **state)
{
    char *items[] = {"000.00.00.G22", "a\"b\\c", ""};
    char *arr;

    (void)state;
    arr = gw_pgfmt_text_array(items, 3);
    assert_string_equal(arr, "{\"000.00.00.G22\",\"a\\\"b\\\\c\",\"\"}");
    free(arr);
    arr = gw_pgfmt_text_array(items, 0);
    assert_string_equal(arr, "{}");
    free(arr);
    assert_int_equal(gw_pgfmt_int64("9223372036854775799"), INT64_C(9223372036854775799));
    assert_int_equal(gw_pgfmt_int64("99999999999999999999"), -1);
    assert_int_equal(gw_pgfmt_int64("12a"), -1);
    assert_int_equal(gw_pgfmt_int64(""), -1);
    assert_int_equal(gw_pgfmt_int64(NULL), -1);
}

static void test_pkgsql(void **state)
{
    char *to[] = {"000.00.00.G22", "000.00.00.H44"};
    uint8_t sha[32] = {1};
    struct gw_store_package pkg = {.kind = GW_KIND_STATUS,
                                   .document_id = "D1",
                                   .sender = "000.00.12.H49",
                                   .recipients = to,
                                   .n_recipients = 2,
                                   .status_code = "03",
                                   .business_doc_type = 2,
                                   .sha256 = sha,
                                   .body_id = 42,
                                   .size = 8,
                                   .doc_json = NULL};
    struct gw_pkgsql q = {.n = 0};

    (void)state;
    gw_pkgsql_text(&q, "source");
    assert_int_equal(gw_pkgsql_package(&q, &pkg), 0);
    assert_int_equal(q.n, 11);
    assert_string_equal(q.values[1], "status");
    assert_string_equal(q.values[2], "D1");
    assert_string_equal(q.values[4], "{\"000.00.00.G22\",\"000.00.00.H44\"}");
    assert_string_equal(q.values[5], "03");
    assert_string_equal(q.values[6], "2");
    assert_int_equal(q.formats[7], 1);
    assert_int_equal(q.lengths[7], 32);
    assert_string_equal(q.values[8], "42");
    assert_string_equal(q.values[9], "8");
    assert_null(q.values[10]);
    gw_pkgsql_free(&q);
}

static void test_error_codes(void **state)
{
    static const int codes[] = {GW_OK,        GW_ENOMEM,  GW_EINVAL,    GW_ENOENT,    GW_EIO,
                                GW_ETIMEDOUT, GW_EAGAIN,  GW_ECANCELED, GW_E2BIG,     GW_EPARSE,
                                GW_ECONFIG,   GW_EDB,     GW_ECONFLICT, GW_EAUTH,     GW_EAXIS,
                                GW_EHTTP,     GW_ENORCPT, GW_ENOTEDXML, GW_ESHUTDOWN, GW_ELIMIT};
    size_t n = sizeof(codes) / sizeof(codes[0]);

    (void)state;
    /* Every code has its own stable id and a message; API statuses follow the code. */
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(gw_errcode(codes[i]), "internal_error");
        assert_non_null(gw_strerror(codes[i]));
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(gw_errcode(codes[i]), gw_errcode(codes[j]));
    }
    assert_string_equal(gw_errcode(GW_EDB), "database_unavailable");
    assert_string_equal(gw_errcode(-99999), "internal_error");
    assert_int_equal(gw_api_status_for(GW_ECONFLICT), 409);
    assert_int_equal(gw_api_status_for(GW_ENOTEDXML), 422);
    assert_int_equal(gw_api_status_for(GW_EDB), 503);
    assert_int_equal(gw_api_status_for(GW_EAUTH), 401);
    assert_int_equal(gw_api_status_for(GW_ERANGE), 422);
    assert_string_equal(gw_errcode(GW_ERANGE), "out_of_range");
}

static void dep_ready(void *ud, struct gw_api_ready *r)
{
    r->database = true;
}

static void dep_work(void *ud)
{
}

struct api_fixture {
    uv_loop_t loop;
    struct gw_metrics *reg;
    struct gw_config_client clients[2];
    const char *organs[2];
    struct gw_api *api;
};

static void api_fixture_init(struct api_fixture *f)
{
    static int not_a_pool; /* gw_api_new only keeps the pointer */
    struct gw_api_deps deps = {0};

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->reg = gw_metrics_new();
    assert_non_null(f->reg);
    f->clients[0].name = "province";
    SHA256((const unsigned char *)"tok-p", 5, f->clients[0].token_sha256);
    f->clients[0].has_token = true;
    f->clients[1].name = "agency";
    f->clients[1].organ_id = "000.00.12.H49";
    SHA256((const unsigned char *)"tok-a", 5, f->clients[1].token_sha256);
    f->clients[1].has_token = true;
    f->organs[0] = "000.00.00.H49";
    f->organs[1] = "000.00.12.H49";
    deps.loop = &f->loop;
    deps.db = (struct gw_db *)&not_a_pool;
    deps.metrics = f->reg;
    deps.clients = f->clients;
    deps.n_clients = 2;
    deps.organ_ids = f->organs;
    deps.n_organ_ids = 2;
    deps.default_axis = "national";
    deps.ready = dep_ready;
    deps.work_begin = dep_work;
    deps.work_end = dep_work;
    assert_int_equal(gw_api_new(&deps, &f->api), 0);
    deps.ready = NULL;
    struct gw_api *other = NULL;
    assert_int_equal(gw_api_new(&deps, &other), GW_EINVAL);
    assert_null(other);
}

static void api_fixture_free(struct api_fixture *f)
{
    gw_api_free(f->api);
    gw_metrics_free(f->reg);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int head(struct gw_api *api, const char *path, bool has_body, const char *auth,
                const char **code)
{
    struct gw_http_header h = {"authorization", (char *)auth};
    struct gw_http_req req = {.method = "POST", .path = (char *)path, .has_body = has_body};
    const char *msg = NULL;

    if (auth) {
        req.headers = &h;
        req.n_headers = 1;
    }
    *code = NULL;
    return gw_api_head_check(&req, api, code, &msg);
}

static void test_head_check(void **state)
{
    struct api_fixture f;
    const char *code;

    (void)state;
    api_fixture_init(&f);
    assert_int_equal(head(f.api, "/healthz", false, NULL, &code), 0);
    assert_int_equal(head(f.api, "/healthz", true, NULL, &code), 413);
    assert_string_equal(code, "body_not_allowed");
    assert_int_equal(head(f.api, "/metrics", true, "Bearer tok-p", &code), 413);
    assert_int_equal(head(f.api, "/nowhere", true, NULL, &code), 413);
    assert_int_equal(head(f.api, "/v1/packages", true, NULL, &code), 401);
    assert_string_equal(code, "unauthorized");
    assert_int_equal(head(f.api, "/v1/packages", true, "Bearer nope", &code), 401);
    /* authenticated: a known client (its connection is kept under a flood) */
    assert_int_equal(head(f.api, "/v1/packages", true, "Bearer tok-a", &code), GW_HTTP_HEAD_KNOWN);
    assert_int_equal(head(f.api, "/v1/inbox", false, "Bearer tok-p", &code), GW_HTTP_HEAD_KNOWN);
    api_fixture_free(&f);
}

static void test_may_send(void **state)
{
    struct api_fixture f;
    const struct gw_api_client *province, *agency;

    (void)state;
    api_fixture_init(&f);
    province = &f.api->clients[0];
    agency = &f.api->clients[1];
    /* Without organ_id: any of [gateway] organ_ids, nothing else. */
    assert_true(gw_api_may_send(f.api, province, "000.00.00.H49"));
    assert_true(gw_api_may_send(f.api, province, "000.00.12.H49"));
    assert_false(gw_api_may_send(f.api, province, "000.00.99.H49"));
    assert_false(gw_api_may_send(f.api, province, NULL));
    assert_false(gw_api_may_send(f.api, province, ""));
    /* With organ_id: that one only. */
    assert_true(gw_api_may_send(f.api, agency, "000.00.12.H49"));
    assert_false(gw_api_may_send(f.api, agency, "000.00.00.H49"));
    assert_int_equal(province->scope.n_organs, 2);
    assert_int_equal(agency->scope.n_organs, 1);
    assert_string_equal(agency->scope.organs[0], "000.00.12.H49");
    api_fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),        cmocka_unit_test(test_auth_cert),
        cmocka_unit_test(test_parse_id),    cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_pgfmt),       cmocka_unit_test(test_pkgsql),
        cmocka_unit_test(test_error_codes), cmocka_unit_test(test_head_check),
        cmocka_unit_test(test_may_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
