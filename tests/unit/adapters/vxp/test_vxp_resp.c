/*
 * Unit tests for adapters/vxp/vxp_resp.c: the lenient {status, ErrorCode, ErrorDesc} envelope,
 * identifiers as strings or numbers, and the received list (bad items skipped, peer ids checked).
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
    assert_int_equal(parse("{}", d), GW_EAXIS);
    assert_string_equal(d, "-: response has neither status nor ErrorCode");
    assert_int_equal(parse("<html>", d), GW_EAXIS);
    assert_true(strncmp(d, "unparsable response: ", 21) == 0);
    assert_int_equal(parse("[1]", d), GW_EAXIS);
    assert_string_equal(d, "unparsable response: not a JSON object");
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
        cmocka_unit_test(test_ids_and_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
