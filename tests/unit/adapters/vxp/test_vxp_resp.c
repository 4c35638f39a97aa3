/*
 * Unit tests for adapters/vxp/vxp_resp.c: the lenient {status, ErrorCode, ErrorDesc} envelope,
 * identifiers as strings or numbers, the received list (bad items skipped, peer ids checked) and
 * the classification of refusals: credentials (GW_EAUTH), package (GW_EAXIS), transport (GW_EHTTP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "adapters/vxp/vxp_internal.h"
#include "util/error.h"

static int parse(const char *body, char *detail)
{
    json_t *root = NULL;
    detail[0] = '\0';
    int rc = gw_vxp_resp_parse(body, strlen(body), &root, detail, GW_VXP_DETAIL_LEN);
    json_decref(root);
    return rc;
}

static void test_envelope(void **state)
{
    char d[GW_VXP_DETAIL_LEN];

    (void)state;
    assert_int_equal(parse("{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\"}", d), 0);
    assert_int_equal(parse("{\"ErrorCode\":0}", d), 0);
    assert_int_equal(parse("{\"status\":\"ok\"}", d), 0);
    assert_int_equal(parse("{\"status\":\"FAIL\",\"ErrorCode\":15,\"ErrorDesc\":\"bad\"}", d),
                     GW_EAXIS);
    assert_string_equal(d, "15: bad");
    assert_int_equal(parse("{\"status\":\"OK\",\"ErrorCode\":\"18\",\"ErrorDesc\":\"x\"}", d),
                     GW_EAXIS);
    assert_string_equal(d, "18: x");
    assert_int_equal(parse("{\"status\":\"FAIL\"}", d), GW_EAXIS);
    assert_string_equal(d, "-: ");
    /* not the protocol's envelope: the peer (or a proxy in front of it), not the package */
    assert_int_equal(parse("{}", d), GW_EHTTP);
    assert_string_equal(d, "-: response has neither status nor ErrorCode");
    assert_int_equal(parse("<html>", d), GW_EHTTP);
    assert_true(strncmp(d, "unparsable response: ", 21) == 0);
    assert_int_equal(parse("[1]", d), GW_EHTTP);
    assert_string_equal(d, "unparsable response: not a JSON object");
}

/* HTTP 200 with status FAIL: a refused credential is GW_EAUTH, anything else the package's. */
static void test_fail_classes(void **state)
{
    static const struct {
        const char *body;
        int err;
        const char *detail;
    } cases[] = {
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"401\",\"ErrorDesc\":\"hash-header does not match\"}",
         GW_EAUTH, "401: hash-header does not match"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"-1\",\"ErrorDesc\":\"Don vi gui 000.00.00.H49 khong "
         "dung voi ma da dang ky: vxp.saas.07\"}",
         GW_EAUTH, "-1: Don vi gui 000.00.00.H49 khong dung voi ma da dang ky: vxp.saas.07"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"1\",\"ErrorDesc\":\"Đơn vị gửi không đúng với mã đã "
         "đăng ký\"}",
         GW_EAUTH, "1: Đơn vị gửi không đúng với mã đã đăng ký"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"404\",\"ErrorDesc\":\"SystemId is not registered\"}",
         GW_EAUTH, "404: SystemId is not registered"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"402\",\"ErrorDesc\":\"Sign-Header invalid\"}",
         GW_EAUTH, "402: Sign-Header invalid"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"9\",\"ErrorDesc\":\"missing XroadVnpt-docId\"}",
         GW_EAUTH, "9: missing XroadVnpt-docId"},
        {"{\"status\":\"FAIL\",\"ErrorDesc\":\"Unauthorized\"}", GW_EAUTH, "-: Unauthorized"},
        /* the package itself */
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"22\",\"ErrorDesc\":\"no recipient\"}", GW_EAXIS,
         "22: no recipient"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"23\",\"ErrorDesc\":\"hash-file does not match the "
         "file\"}",
         GW_EAXIS, "23: hash-file does not match the file"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"7\",\"ErrorDesc\":\"Signature of the edXML is "
         "invalid\"}",
         GW_EAXIS, "7: Signature of the edXML is invalid"},
        {"{\"status\":\"FAIL\",\"ErrorCode\":\"18\",\"ErrorDesc\":\"Don vi nhan khong ton tai\"}",
         GW_EAXIS, "18: Don vi nhan khong ton tai"},
    };
    char d[GW_VXP_DETAIL_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].body, d), cases[i].err);
        assert_string_equal(d, cases[i].detail);
    }
    assert_int_equal(gw_vxp_classify(NULL, NULL), GW_EAXIS);

    /* HTTP statuses outside 2xx */
    assert_int_equal(gw_vxp_classify_status(401), GW_EAUTH);
    assert_int_equal(gw_vxp_classify_status(403), GW_EAUTH);
    assert_int_equal(gw_vxp_classify_status(500), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(502), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(503), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(404), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(429), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(302), GW_EHTTP);
    assert_int_equal(gw_vxp_classify_status(413), GW_EAXIS);
    assert_int_equal(gw_vxp_classify_status(400), GW_EAXIS);
}

static void test_ids_and_items(void **state)
{
    static const char *const names[] = {"DocId", "docId", NULL};
    char id[GW_VXP_MAX_ID + 1];
    struct gw_axis_item *items;
    size_t n;
    json_error_t e;
    json_t *root =
        json_loads("{\"DocId\":42,\"data\":[{\"docId\":\"a\",\"from\":\"000.00.12.H49\"},"
                   "{\"from\":\"x\"},{\"docId\":\"bad\\r\\nid\"},7,{\"docId\":9}]}",
                   0, &e);

    (void)state;
    assert_non_null(root);
    assert_int_equal(gw_vxp_resp_id(root, names, id), 0);
    assert_string_equal(id, "42");
    assert_int_equal(gw_vxp_resp_items(root, &items, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].doc_id, "a");
    assert_string_equal(items[0].from, "000.00.12.H49");
    assert_string_equal(items[1].doc_id, "9");
    assert_null(items[1].from);
    gw_vxp_items_free(items, n);
    json_decref(root);

    root = json_loads("{\"status\":\"OK\"}", 0, &e);
    assert_int_equal(gw_vxp_resp_id(root, names, id), GW_ENOENT);
    assert_int_equal(gw_vxp_resp_items(root, &items, &n), 0);
    assert_int_equal(n, 0);
    gw_vxp_items_free(items, n);
    json_decref(root);
    root = json_loads("{\"data\":\"nope\"}", 0, &e);
    assert_int_equal(gw_vxp_resp_items(root, &items, &n), GW_EAXIS);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_fail_classes),
        cmocka_unit_test(test_ids_and_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
