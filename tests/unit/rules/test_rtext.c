/*
 * Unit tests for gateway/rules/rtext.c: NFC and NFD input give the same normalised text (the
 * expected strings were written out by Python's unicodedata.normalize('NFC', s).casefold()),
 * white space runs (line breaks, tabs, no-break space) collapse, every byte maps back to the
 * span of the source it came from, the diacritic flag, stripping, word boundaries, and a run of
 * stacked marks cut into short segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rules/rtext.h"

static void test_nfc_nfd_same(void **state)
{
    (void)state;
    /* "Kinh phí" in NFC and in NFD (i + U+0301) */
    char *a = gw_rtext_norm("Kinh ph\xc3\xad", false);
    char *b = gw_rtext_norm("KINH PHI\xcc\x81", false);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, "kinh ph\xc3\xad");
    assert_string_equal(b, "kinh ph\xc3\xad");
    free(a);
    free(b);
    /* "ĐỀ ÁN" upper case, NFD: casefold then compose gives "đề án" */
    char *c = gw_rtext_norm("\xc4\x90\x45\xcc\x82\xcc\x80 A\xcc\x81N", false);
    assert_string_equal(c, "\xc4\x91\xe1\xbb\x81 \xc3\xa1n");
    free(c);
}

static void test_space_collapse(void **state)
{
    (void)state;
    /* line break, tab, no-break space (U+00A0), ideographic space (U+3000), leading/trailing */
    char *a = gw_rtext_norm("  kinh\r\n\tph\xc3\xad\xc2\xa0 d\xe1\xbb\xb1\xe3\x80\x80\xc3\xa1n \n",
                            false);
    assert_string_equal(a, "kinh ph\xc3\xad d\xe1\xbb\xb1 \xc3\xa1n");
    free(a);
    char *e = gw_rtext_norm(" \n\t ", false);
    assert_string_equal(e, "");
    free(e);
    char *n = gw_rtext_norm(NULL, false);
    assert_string_equal(n, "");
    free(n);
}

static void test_spans(void **state)
{
    (void)state;
    struct gw_rtext t;
    const char *src = "V/v KINH\nPHI\xcc\x81 2025";
    assert_int_equal(gw_rtext_init(&t, src, false), 0);
    assert_string_equal(t.s, "v/v kinh ph\xc3\xad 2025");
    assert_true(t.marks);
    const char *at = strstr(t.s, "kinh ph\xc3\xad");
    size_t i = (size_t)(at - t.s), len = strlen("kinh ph\xc3\xad");
    size_t from = t.from[i], to = t.to[i + len - 1];
    /* the span quotes the source: upper case, the line break, the combining accent */
    assert_int_equal(to - from, strlen("KINH\nPHI\xcc\x81"));
    assert_memory_equal(src + from, "KINH\nPHI\xcc\x81", to - from);
    gw_rtext_free(&t);
}

static void test_marks_and_strip(void **state)
{
    (void)state;
    struct gw_rtext t;
    assert_int_equal(gw_rtext_init(&t, "de nghi phe duyet de an", false), 0);
    assert_false(t.marks);
    gw_rtext_free(&t);
    assert_int_equal(gw_rtext_init(&t, "d\xc4\x91", false), 0); /* đ alone is a diacritic */
    assert_true(t.marks);
    gw_rtext_free(&t);
    char *s = gw_rtext_norm("\xc4\x90\xe1\xbb\x81 \xc3\xa1n Th\xe1\xba\xa9m \xc4\x91\xe1\xbb\x8bnh",
                            true);
    assert_string_equal(s, "de an tham dinh");
    free(s);
    /* "để ăn" strips to the same letters as "đề án": only matching with diacritics tells them apart
     */
    char *x = gw_rtext_norm("\xc4\x91\xe1\xbb\x83 \xc4\x83n", true);
    assert_string_equal(x, "de an");
    free(x);
}

static void test_word_boundaries(void **state)
{
    (void)state;
    assert_true(gw_rtext_word_at("ph\xc3\xad"));
    assert_true(gw_rtext_word_at("\xc3\xad"));
    assert_true(gw_rtext_word_at("7"));
    assert_false(gw_rtext_word_at(" x"));
    assert_false(gw_rtext_word_at(","));
    assert_false(gw_rtext_word_at(""));
    const char *s = "kinh ph\xc3\xad";
    assert_true(gw_rtext_word_before(s, strlen(s))); /* í */
    assert_false(gw_rtext_word_before(s, 5));        /* the space */
    assert_true(gw_rtext_word_before(s, 4));         /* h */
}

static void test_stacked_marks(void **state)
{
    (void)state;
    /* 'a' followed by 5000 combining acute accents: bounded work, valid UTF-8 out */
    size_t n = 5000;
    char *src = malloc(1 + 2 * n + 1);
    src[0] = 'a';
    for (size_t i = 0; i < n; i++)
        memcpy(src + 1 + 2 * i, "\xcc\x81", 2);
    src[1 + 2 * n] = '\0';
    struct gw_rtext t;
    assert_int_equal(gw_rtext_init(&t, src, false), 0);
    assert_true(t.marks);
    assert_true(t.n > 2 * n / 2);
    assert_int_equal(t.to[t.n - 1], 1 + 2 * n);
    gw_rtext_free(&t);
    free(src);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    char *s = gw_rtext_norm("ab\xff\xfe"
                            "cd",
                            false);
    assert_non_null(s);
    assert_string_equal(s, "ab\xef\xbf\xbd\xef\xbf\xbd"
                           "cd");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nfc_nfd_same),    cmocka_unit_test(test_space_collapse),
        cmocka_unit_test(test_spans),           cmocka_unit_test(test_marks_and_strip),
        cmocka_unit_test(test_word_boundaries), cmocka_unit_test(test_stacked_marks),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
