/*
 * Unit tests for gateway/rules/catalog*.c: the shipped catalogue loads; every kind of bad
 * catalogue is refused with its file, line and stable code; versions of one rule id with
 * overlapping dates are refused, successive ones accepted; the digest names the exact bytes;
 * dates are real calendar dates; a 500-rule catalogue builds its index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/catalog.h"
#include "util/error.h"

static void test_shipped(void **state)
{
    (void)state;
    struct gw_catalog *c;
    struct gw_catalog_error e;
    int rc = gw_catalog_load_dir(GW_SOURCE_DIR "/schemas/rules", &c, &e);
    if (rc != 0)
        fail_msg("%s:%d: %s: %s", e.file, e.line, e.code, e.message);
    assert_true(c->n_rules >= 8);
    assert_int_equal(strlen(c->digest), 16);
    assert_non_null(strstr(c->version, "clause1_government.ini@"));
    gw_catalog_unref(c);
}

struct bad {
    const char *text;
    int line;
    const char *code;
};

static const struct bad bads[] = {
    {"[rule a]\nclause 2\n", 2, "syntax"},
    {"[rule a b]\nclause = 2\n", 1, "syntax"},
    {"[catalog]\n", 1, "syntax"},
    {"key = value\n", 1, "syntax"},
    {"[rule a]\nclause = 4\neffective_from = 2021-01-01\n", 2, "unknown_clause"},
    {"[rule a]\nclause = two\n", 2, "unknown_clause"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword = kinh phí |  | x\n", 4,
     "empty_keyword"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword =\n", 4, "empty_keyword"},
    {"[rule a]\nclause = 2\neffective_from = 2021-02-30\nkeyword = x\n", 3, "bad_date"},
    {"[rule a]\nclause = 2\neffective_from = 2022-01-01\neffective_until = 2021-01-01\n"
     "keyword = x\n",
     1, "bad_date"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeywords = x\n", 4, "unknown_key"},
    {"[catalogue]\nversion = 1\nauthor = me\n", 3, "unknown_key"},
    {"[rule a]\nclause = 2\nkeyword = x\n", 1, "missing_key"},
    {"[rule a]\neffective_from = 2021-01-01\nkeyword = x\n", 1, "missing_key"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nwith = x\n", 1, "missing_key"},
    {"[rule a]\nclause = 3\neffective_from = 2021-01-01\n", 1, "missing_key"},
    {"[catalogue]\nname = x\n", 1, "missing_key"},
    {"[rule a]\nclause = 1\neffective_from = 2021-01-01\norgan_id = G22\nkeyword = x\n", 5,
     "key_not_for_clause"},
    {"[rule a]\nclause = 3\neffective_from = 2021-01-01\nsubject = x\nfields = subject\n", 5,
     "key_not_for_clause"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword = x\nfields = title\n", 5,
     "bad_value"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword = -x\n", 4, "bad_value"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword = ab\xff\n", 4, "syntax"},
    {"[rule a]\nclause = 2\neffective_from = 2021-01-01\nkeyword = x\n"
     "[rule a]\nclause = 2\neffective_from = 2021-06-01\nkeyword = y\n",
     5, "overlapping_dates"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        const char *names[] = {"a.ini"}, *texts[] = {bads[i].text};
        struct gw_catalog *c = NULL;
        struct gw_catalog_error e;
        int rc = gw_catalog_load_texts(names, texts, 1, &c, &e);
        if (rc != GW_ECONFIG || e.line != bads[i].line || strcmp(e.code, bads[i].code) != 0)
            fail_msg("case %zu: rc %d, %s:%d %s (%s); expected line %d %s", i, rc, e.file, e.line,
                     e.code ? e.code : "-", e.message, bads[i].line, bads[i].code);
        assert_null(c);
        assert_string_equal(e.file, "a.ini");
        assert_true(e.message[0] != '\0');
    }
}

static void test_versions(void **state)
{
    (void)state;
    /* two versions of one rule, one after the other, across two files; comments and CRLF */
    const char *names[] = {"a.ini", "b.ini"};
    const char *texts[] = {
        "; first version\r\n[catalogue]\r\nversion = 7\r\n[rule c3.x]\r\nclause = 3\r\n"
        "effective_from = 2021-01-01\r\neffective_until = 2022-12-31\r\nsubject = a | b\r\n",
        "# second\n[rule c3.x]\nclause = 3\neffective_from = 2023-01-01\nsubject = c\n"
        "subject = d\nsender = 000.00.12.H49\n"};
    struct gw_catalog *c;
    struct gw_catalog_error e;
    assert_int_equal(gw_catalog_load_texts(names, texts, 2, &c, &e), 0);
    assert_int_equal(c->n_rules, 2);
    assert_int_equal(c->rules[0].n_conds, 1);
    assert_int_equal(c->rules[0].conds[0].n_alts, 2);
    assert_int_equal(c->rules[1].n_conds, 3); /* two subject lines are two conditions */
    assert_int_equal(c->rules[1].until, INT32_MAX);
    assert_string_equal(c->version, "a.ini@7, b.ini@-");
    char d1[17];
    memcpy(d1, c->digest, sizeof(d1));
    gw_catalog_unref(c);
    /* one byte more, another digest; and the same rule clause changed is refused */
    const char *texts2[] = {texts[0], "# second \n[rule c3.y]\nclause = 3\n"
                                      "effective_from = 2023-01-01\nsubject = c\n"};
    assert_int_equal(gw_catalog_load_texts(names, texts2, 2, &c, &e), 0);
    assert_string_not_equal(c->digest, d1);
    gw_catalog_unref(c);
    const char *texts3[] = {texts[0], "[rule c3.x]\nclause = 2\neffective_from = 2023-01-01\n"
                                      "keyword = c\n"};
    assert_int_equal(gw_catalog_load_texts(names, texts3, 2, &c, &e), GW_ECONFIG);
    assert_string_equal(e.file, "b.ini");
    assert_int_equal(e.line, 1);
}

static void test_days(void **state)
{
    (void)state;
    int32_t d;
    char iso[11];
    assert_true(gw_catalog_day("1970-01-01", 10, &d));
    assert_int_equal(d, 0);
    assert_true(gw_catalog_day("2024-02-29", 10, &d));
    gw_catalog_day_iso(d, iso);
    assert_string_equal(iso, "2024-02-29");
    assert_true(gw_catalog_day("2026-12-02", 10, &d));
    assert_int_equal(d, 20789); /* python3: (date(2026,12,2) - date(1970,1,1)).days */
    assert_false(gw_catalog_day("2023-02-29", 10, &d));
    assert_false(gw_catalog_day("2023-13-01", 10, &d));
    assert_false(gw_catalog_day("2023-1-01", 9, &d));
    assert_false(gw_catalog_day("2023/01/01", 10, &d));
    /* Vietnam date of a Unix time: 2026-12-01T17:00:00Z is already 2 December there */
    assert_int_equal(gw_catalog_day_vn(1796144400), 20789);
    assert_int_equal(gw_catalog_day_vn(1796144399), 20788);
}

static void test_many_rules(void **state)
{
    (void)state;
    size_t cap = 500 * 160, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "[rule c3.r%d]\nclause = 3\neffective_from = 2021-01-01\n"
                              "subject = cụm từ số %d | phrase %d\n",
                              i, i, i);
    const char *names[] = {"big.ini"}, *texts[] = {text};
    struct gw_catalog *c;
    struct gw_catalog_error e;
    assert_int_equal(gw_catalog_load_texts(names, texts, 1, &c, &e), 0);
    assert_int_equal(c->n_rules, 500);
    assert_int_equal(c->n_phrases, 1000);
    size_t k;
    const struct gw_rindex_pair *p = gw_rindex_find(&c->words_norm, "phrase", 6, &k);
    assert_non_null(p);
    assert_int_equal(k, 500); /* every "phrase N" shares its first word */
    gw_catalog_unref(c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),    cmocka_unit_test(test_bad),
        cmocka_unit_test(test_versions),   cmocka_unit_test(test_days),
        cmocka_unit_test(test_many_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
