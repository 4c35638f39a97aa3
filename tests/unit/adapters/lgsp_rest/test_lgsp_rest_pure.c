/*
 * Unit tests for the pure parts of adapters/lgsp_rest: the answer envelope and its error codes
 * (whose condition each is), the login's token, docIds and list items, edxml raw or base64, the
 * list windows in Vietnam time across month, year and leap-day ends (expected dates computed with
 * Python's datetime), the directory file's parsing and the acked-id set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/lgsp_rest/lgsp_rest_internal.h"
#include "util/error.h"

static int envelope(const char *body, char *d)
{
    json_t *root = NULL;
    int rc;

    d[0] = '\0';
    rc = gw_lr_parse(body, strlen(body), &root, d, GW_LR_DETAIL_LEN);
    if (rc == 0)
        rc = gw_lr_envelope(root, d, GW_LR_DETAIL_LEN);
    json_decref(root);
    return rc;
}

static void test_envelope_codes(void **state)
{
    char d[GW_LR_DETAIL_LEN], body[256];
    static const struct {
        int code, err;
    } map[] = {{15, GW_EAUTH},    {19, GW_EAUTH},    {18, GW_ERECIPIENT}, {23, GW_ERECIPIENT},
               {10, GW_EREFUSED}, {21, GW_EREFUSED}, {22, GW_EREFUSED},   {20, GW_EHTTP},
               {99, GW_EAXIS},    {1, GW_EAXIS}};

    (void)state;
    assert_int_equal(envelope("{\"success\":true,\"message\":\"ok\",\"docId\":\"7\"}", d), 0);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"success\":false,\"data\":{\"docId\":null,\"status\":\"fail\","
                 "\"errorCode\":%d,\"errorDesc\":\"why\"}}",
                 map[i].code);
        assert_int_equal(envelope(body, d), map[i].err);
        char want[64];
        snprintf(want, sizeof(want), "errorCode %d: why", map[i].code);
        assert_string_equal(d, want);
    }
    /* the code as a string, at the top level */
    assert_int_equal(envelope("{\"success\":false,\"errorCode\":\"22\",\"message\":\"bad\"}", d),
                     GW_EREFUSED);
    assert_string_equal(d, "errorCode 22: bad");
    /* no code: retried, not a success */
    assert_int_equal(envelope("{\"success\":false,\"message\":\"x\"}", d), GW_EAXIS);
    assert_int_equal(envelope("{\"success\":false,\"data\":{\"errorCode\":0}}", d), GW_EAXIS);
    /* no success member (domain.md shows it only on sendEdoc and the list): a success unless
     * something says the call failed; the caller's reading of its payload decides */
    assert_int_equal(envelope("{\"ok\":1}", d), 0);
    assert_int_equal(envelope("{\"data\":{\"errorCode\":0,\"token\":\"t\"}}", d), 0);
    assert_int_equal(envelope("{\"success\":\"TRUE\"}", d), 0);
    assert_int_equal(envelope("{\"errorCode\":22}", d), GW_EREFUSED);
    assert_int_equal(envelope("{\"data\":{\"status\":\"FAIL\",\"errorCode\":\"18\"}}", d),
                     GW_ERECIPIENT);
    assert_int_equal(envelope("{\"status\":\"fail\",\"message\":\"x\"}", d), GW_EAXIS);
    assert_string_equal(d, "refused without errorCode: x");
    assert_int_equal(envelope("{\"status\":\"fail\",\"errorCode\":0}", d), GW_EAXIS);
    assert_int_equal(envelope("{\"success\":\"false\",\"errorCode\":15}", d), GW_EAUTH);
    /* an errorCode that does not read as a number still says the call failed */
    assert_int_equal(envelope("{\"errorCode\":\"E01\",\"message\":\"busy\"}", d), GW_EAXIS);
    /* sendEdoc and the list, whose success domain.md documents, need it: a list answer without
     * it ({"message": "busy"}) is never an empty list whose window the cursor moves past */
    for (int i = 0; i < 3; i++) {
        static const char *const bodies[] = {"{\"message\":\"H\u1ec7 th\u1ed1ng b\u1eadn\"}",
                                             "{\"status\":\"error\",\"docId\":\"x\"}",
                                             "{\"success\":null,\"data\":[]}"};
        json_error_t e;
        json_t *root = json_loads(bodies[i], 0, &e);
        assert_non_null(root);
        assert_int_equal(gw_lr_envelope_strict(root, d, GW_LR_DETAIL_LEN), GW_EHTTP);
        json_decref(root);
    }
    {
        json_error_t e;
        json_t *root = json_loads("{\"success\":true,\"data\":[]}", 0, &e);
        assert_int_equal(gw_lr_envelope_strict(root, d, GW_LR_DETAIL_LEN), 0);
        json_decref(root);
        root = json_loads("{\"success\":false,\"data\":{\"errorCode\":18}}", 0, &e);
        assert_int_equal(gw_lr_envelope_strict(root, d, GW_LR_DETAIL_LEN), GW_ERECIPIENT);
        json_decref(root);
    }
    /* not the protocol */
    assert_int_equal(envelope("{\"success\":\"yes\"}", d), GW_EHTTP);
    assert_int_equal(envelope("{\"success\":1}", d), GW_EHTTP);
    assert_int_equal(envelope("<html>", d), GW_EHTTP);
    assert_int_equal(envelope("[1]", d), GW_EHTTP);
    /* a control character in the description never reaches the detail */
    assert_int_equal(
        envelope("{\"success\":false,\"data\":{\"errorCode\":18,\"errorDesc\":\"a\\nb\"}}", d),
        GW_ERECIPIENT);
    assert_string_equal(d, "errorCode 18: a b");
    assert_int_equal(gw_lr_classify_status(401), GW_EAUTH);
    assert_int_equal(gw_lr_classify_status(503), GW_EHTTP);
    assert_int_equal(gw_lr_classify_status(429), GW_EHTTP);
    assert_int_equal(gw_lr_classify_status(400), GW_EAXIS);
}

static void test_login(void **state)
{
    char d[GW_LR_DETAIL_LEN];
    char *tok = NULL;
    uint64_t exp = 0;
    const char *ok = "{\"success\":true,\"data\":{\"token\":\"abc.def\",\"expiresIn\":600}}";
    const char *noexp = "{\"success\":true,\"data\":{\"token\":\"t\"}}";
    const char *refused = "{\"success\":false,\"message\":\"wrong password\"}";
    const char *notok = "{\"success\":true,\"data\":{\"token\":\"a b\"}}";

    (void)state;
    assert_int_equal(gw_lr_parse_login(ok, strlen(ok), &tok, &exp, d, sizeof(d)), 0);
    assert_string_equal(tok, "abc.def");
    assert_int_equal(exp, 600);
    free(tok);
    assert_int_equal(gw_lr_parse_login(noexp, strlen(noexp), &tok, &exp, d, sizeof(d)), 0);
    assert_int_equal(exp, 0);
    free(tok);
    assert_int_equal(gw_lr_parse_login(refused, strlen(refused), &tok, &exp, d, sizeof(d)),
                     GW_EAUTH);
    assert_null(tok);
    assert_int_equal(gw_lr_parse_login(notok, strlen(notok), &tok, &exp, d, sizeof(d)), GW_EHTTP);
    assert_null(tok);
}

static void test_ids_items(void **state)
{
    json_error_t e;
    json_t *root;
    char id[GW_LR_MAX_ID + 1];
    struct gw_axis_item *items;
    bool *done, cut = true;
    char cut_from[GW_LR_DATE_LEN];
    size_t n;

    (void)state;
    root = json_loads("{\"success\":true,\"docId\":123}", 0, &e);
    assert_int_equal(gw_lr_doc_id(root, id), 0);
    assert_string_equal(id, "123");
    json_decref(root);
    root = json_loads("{\"success\":true,\"data\":{\"docId\":\"x-1\"}}", 0, &e);
    assert_int_equal(gw_lr_doc_id(root, id), 0);
    assert_string_equal(id, "x-1");
    json_decref(root);
    root = json_loads("{\"success\":true,\"docId\":\"\"}", 0, &e);
    assert_int_not_equal(gw_lr_doc_id(root, id), 0);
    json_decref(root);
    root = json_loads("{\"success\":true,\"count\":3,\"data\":[{\"docId\":\"a\",\"from\":\"000.00."
                      "00.H49\",\"status\":\"pending\"},{\"nodoc\":1},{\"docId\":\"b\",\"status\":"
                      "\"done\"},7]}",
                      0, &e);
    assert_int_equal(gw_lr_items(root, &items, &done, &n, &cut, cut_from), 0);
    assert_false(cut);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].doc_id, "a");
    assert_string_equal(items[0].from, "000.00.00.H49");
    assert_false(done[0]);
    assert_string_equal(items[1].doc_id, "b");
    assert_null(items[1].from);
    assert_true(done[1]);
    gw_lr_items_free(items, done, n);
    json_decref(root);
    /* over the cap: cut, and said so */
    root = json_array();
    for (int i = 0; i < GW_LR_MAX_ITEMS + 1; i++)
        json_array_append_new(root, json_pack("{s:i}", "docId", i));
    json_t *big = json_pack("{s:b, s:o}", "success", 1, "data", root);
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_true(cut);
    assert_int_equal(n, GW_LR_MAX_ITEMS);
    assert_string_equal(cut_from, ""); /* the item not kept has no created date */
    gw_lr_items_free(items, done, n);
    json_decref(big);
    /* the earliest created date among the items not kept, whatever their order */
    root = json_array();
    for (int i = 0; i < GW_LR_MAX_ITEMS; i++)
        json_array_append_new(
            root, json_pack("{s:i, s:s}", "docId", i, "createdTime", "2024/02/20 08:00:00"));
    json_array_append_new(root, json_pack("{s:i}", "nodoc", 1));
    big = json_pack("{s:b, s:o}", "success", 1, "data", root);
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_false(cut); /* only an invalid item past the cap: nothing was left out */
    gw_lr_items_free(items, done, n);
    json_array_append_new(
        root, json_pack("{s:s, s:s}", "docId", "x", "createdTime", "2024/02/27 09:00:00"));
    json_array_append_new(
        root, json_pack("{s:s, s:s}", "docId", "y", "createdTime", "2024-02-25T10:00:00"));
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_true(cut);
    assert_int_equal(n, GW_LR_MAX_ITEMS);
    assert_string_equal(cut_from, "2024/02/25");
    gw_lr_items_free(items, done, n);
    /* an item without a usable date is kept first: the next window starts at the earliest
     * date left out */
    json_array_append_new(root, json_pack("{s:s, s:s}", "docId", "z", "createdTime", "soon"));
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_true(cut);
    assert_string_equal(items[0].doc_id, "z");
    assert_string_equal(cut_from, "2024/02/20");
    gw_lr_items_free(items, done, n);
    json_decref(big);
    /* newest first, 1.5 times the cap over three days: the oldest are kept, so the next window
     * starts after them (before, the newest were kept and the window started again at its
     * first day for ever, the oldest never fetched) */
    root = json_array();
    for (int i = 0; i < GW_LR_MAX_ITEMS * 3 / 2; i++)
        json_array_append_new(root, json_pack("{s:i, s:s}", "docId", i, "createdTime",
                                              i < GW_LR_MAX_ITEMS / 2 ? "2024/03/03 10:00:00"
                                              : i < GW_LR_MAX_ITEMS   ? "2024/03/02 10:00:00"
                                                                      : "2024/03/01 10:00:00"));
    big = json_pack("{s:b, s:o}", "success", 1, "data", root);
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_true(cut);
    assert_int_equal(n, GW_LR_MAX_ITEMS);
    assert_string_equal(items[0].doc_id, "10000"); /* the first listed of the oldest day */
    assert_string_equal(cut_from, "2024/03/03");
    gw_lr_items_free(items, done, n);
    json_decref(big);
    /* more than the cap on one day, most of them done: the pending ones are kept first, so they
     * are fetched and acked and the next list's cut leaves out only done ones */
    root = json_array();
    for (int i = 0; i < GW_LR_MAX_ITEMS + 10; i++)
        json_array_append_new(root, json_pack("{s:i, s:s, s:s}", "docId", i, "createdTime",
                                              "2024/03/01 10:00:00", "status",
                                              i < GW_LR_MAX_ITEMS ? "done" : "pending"));
    big = json_pack("{s:b, s:o}", "success", 1, "data", root);
    assert_int_equal(gw_lr_items(big, &items, &done, &n, &cut, cut_from), 0);
    assert_true(cut);
    for (size_t k = 0; k < 10; k++)
        assert_false(done[k]);
    assert_string_equal(items[9].doc_id, "10009");
    assert_true(done[10]);
    gw_lr_items_free(items, done, n);
    json_decref(big);
    root = json_loads("{\"success\":true,\"data\":{}}", 0, &e);
    assert_int_equal(gw_lr_items(root, &items, &done, &n, &cut, cut_from), GW_EHTTP);
    json_decref(root);
}

static int edxml(const char *json, size_t max, uint8_t **out, size_t *n)
{
    json_error_t e;
    char d[GW_LR_DETAIL_LEN];
    json_t *root = json_loads(json, 0, &e);
    int rc;

    assert_non_null(root);
    rc = gw_lr_edxml(root, max, out, n, d, sizeof(d));
    json_decref(root);
    return rc;
}

static void test_edxml(void **state)
{
    uint8_t *out;
    size_t n;

    (void)state;
    /* raw, escaped in JSON: the unescaped bytes exactly, BOM and leading blank kept */
    assert_int_equal(
        edxml("{\"data\":{\"edxml\":\"\\ufeff \\n<a x=\\\"1\\\">\\u1ec7<\\/a>\"}}", 100, &out, &n),
        0);
    const char raw[] = "\xEF\xBB\xBF \n<a x=\"1\">\xE1\xBB\x87</a>";
    assert_int_equal(n, sizeof(raw) - 1);
    assert_memory_equal(out, raw, n);
    free(out);
    /* base64 of "<e>hi</e>\n" (python3 -c 'import base64;print(base64.b64encode(b"<e>hi</e>\n"))'),
     * with a line break */
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"PGU+aGk8\\r\\nL2U+Cg==\"}}", 100, &out, &n), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "<e>hi</e>\n", 10);
    free(out);
    /* too large, both ways */
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"PGU+aGk8L2U+Cg==\"}}", 9, &out, &n), GW_E2BIG);
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"<abcdefghij/>\"}}", 9, &out, &n), GW_E2BIG);
    /* not base64, absent */
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"PGU*\"}}", 100, &out, &n), GW_EAXIS);
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"PGU+a\"}}", 100, &out, &n), GW_EAXIS);
    assert_int_equal(edxml("{\"data\":{\"edxml\":\"PA==PA==\"}}", 100, &out, &n), GW_EAXIS);
    assert_int_equal(edxml("{\"data\":{}}", 100, &out, &n), GW_EAXIS);
    assert_int_equal(edxml("{\"data\":{\"edxml\":5}}", 100, &out, &n), GW_EAXIS);
}

static void test_windows(void **state)
{
    char f[GW_LR_DATE_LEN], t[GW_LR_DATE_LEN], x[GW_LR_DATE_LEN];

    (void)state;
    /* 2026-12-31T16:59:59Z is 2026/12/31 in Vietnam; one second later 2027/01/01 */
    gw_lr_vn_date(1798736399, t);
    assert_string_equal(t, "2026/12/31");
    gw_lr_vn_date(1798736400, t);
    assert_string_equal(t, "2027/01/01");
    /* first window: 7 days back across the year end; next starts a day back */
    gw_lr_window(1798736400, NULL, 7, 1, f, t, x);
    assert_string_equal(f, "2026/12/25");
    assert_string_equal(t, "2027/01/01");
    assert_string_equal(x, "2026/12/31");
    /* leap day: 2024-02-29T17:00:00Z is 2024/03/01 in Vietnam */
    gw_lr_window(1709226000, NULL, 7, 1, f, t, x);
    assert_string_equal(f, "2024/02/23");
    assert_string_equal(t, "2024/03/01");
    assert_string_equal(x, "2024/02/29");
    /* from the stored cursor */
    gw_lr_window(1709226000, "2024/02/28", 7, 1, f, t, x);
    assert_string_equal(f, "2024/02/28");
    assert_string_equal(x, "2024/02/29");
    /* the next window never starts before this one */
    gw_lr_window(1709226000, "2024/03/01", 7, 1, f, t, x);
    assert_string_equal(f, "2024/03/01");
    assert_string_equal(x, "2024/03/01");
    /* a cursor from the future is today; an unusable one is the first window */
    gw_lr_window(1709226000, "2030/01/01", 7, 0, f, t, x);
    assert_string_equal(f, "2024/03/01");
    gw_lr_window(1709226000, "2023/02/29", 7, 0, f, t, x);
    assert_string_equal(f, "2024/02/23");
    assert_string_equal(x, "2024/03/01");
    /* after a cut: the next window starts at the first date not fully kept, within the window */
    gw_lr_window_cut("2024/02/23", "2024/03/01", "2024/02/26", x);
    assert_string_equal(x, "2024/02/26");
    gw_lr_window_cut("2024/02/23", "2024/03/01", "2024/02/20", x);
    assert_string_equal(x, "2024/02/23");
    gw_lr_window_cut("2024/02/23", "2024/03/01", "2024/03/05", x);
    assert_string_equal(x, "2024/03/01");
    gw_lr_window_cut("2024/02/23", "2024/03/01", "", x);
    assert_string_equal(x, "2024/02/23");
    assert_int_equal(gw_lr_date_days("2026/12/05"), 20792);
    assert_int_equal(gw_lr_date_days("2026/13/01"), -1);
    assert_int_equal(gw_lr_date_days("2026-12-05"), -1);
    assert_int_equal(gw_lr_date_days("2024/02/29") + 1, gw_lr_date_days("2024/03/01"));
    gw_lr_days_date(gw_lr_date_days("2025/03/01") - 1, t);
    assert_string_equal(t, "2025/02/28");
}

static void test_directory(void **state)
{
    char d[GW_LR_DETAIL_LEN];
    char **ids;
    size_t n;
    const char *txt = "# organisations on the provincial axis\n"
                      "000.00.12.H49\r\n"
                      "\n"
                      "   000.00.00.H49   # the province\n"
                      "000.00.12.H49\n"
                      "\t# indented comment\n"
                      "G12.34"; /* no final newline */

    (void)state;
    assert_int_equal(gw_lr_dir_parse(txt, strlen(txt), &ids, &n, d, sizeof(d)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "000.00.00.H49");
    assert_string_equal(ids[1], "000.00.12.H49");
    assert_string_equal(ids[2], "G12.34");
    gw_lr_ids_free(ids, n);
    assert_int_equal(gw_lr_dir_parse("", 0, &ids, &n, d, sizeof(d)), 0);
    assert_int_equal(n, 0);
    gw_lr_ids_free(ids, n);
    const char *bad = "a\nb c\n";
    assert_int_equal(gw_lr_dir_parse(bad, strlen(bad), &ids, &n, d, sizeof(d)), GW_EPARSE);
    assert_string_equal(d, "line 2: an id with a blank or control character");
    char longid[GW_LR_MAX_ID + 3];
    memset(longid, 'x', GW_LR_MAX_ID + 1);
    longid[GW_LR_MAX_ID + 1] = '\n';
    longid[GW_LR_MAX_ID + 2] = '\0';
    assert_int_equal(gw_lr_dir_parse(longid, strlen(longid), &ids, &n, d, sizeof(d)), GW_EPARSE);
}

static void test_acked(void **state)
{
    struct gw_lr_acked *a = gw_lr_acked_new();
    char id[32];

    (void)state;
    assert_non_null(a);
    assert_false(gw_lr_acked_has(a, "x"));
    gw_lr_acked_add(a, "x");
    assert_true(gw_lr_acked_has(a, "x"));
    /* bounded: after GW_LR_ACKED_MAX more ids the first is forgotten, the last kept */
    for (int i = 0; i < GW_LR_ACKED_MAX; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        gw_lr_acked_add(a, id);
    }
    assert_false(gw_lr_acked_has(a, "x"));
    assert_true(gw_lr_acked_has(a, id));
    gw_lr_acked_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_codes), cmocka_unit_test(test_login),
        cmocka_unit_test(test_ids_items),      cmocka_unit_test(test_edxml),
        cmocka_unit_test(test_windows),        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_acked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
