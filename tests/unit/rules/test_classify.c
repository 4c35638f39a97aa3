/*
 * Unit tests for gateway/rules/classify.c on hand-built documents against the shipped
 * catalogue and small inline ones: each clause's logic (domain.md §7), the evidence quoted as
 * written, near misses that must not fire (a name that only contains "Chính phủ", "phí" without
 * "kinh", "dự án" without an approval word, a keyword inside a longer word, "để ăn" for "đề
 * án"), diacritic-insensitive matching only for a field without diacritics, effective dates,
 * the Paper declaration, clause 4 and the mismatch. The corpus of whole packages is
 * tests/integration/test_rules_corpus.py.
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
#include "rules/classify.h"

static struct gw_catalog *shipped;
static int32_t today;

static int setup(void **state)
{
    (void)state;
    struct gw_catalog_error e;
    assert_true(gw_catalog_day("2026-12-01", 10, &today));
    return gw_catalog_load_dir(GW_SOURCE_DIR "/schemas/rules", &shipped, &e);
}

static int teardown(void **state)
{
    (void)state;
    gw_catalog_unref(shipped);
    return 0;
}

struct to {
    const char *id, *name;
};

static void doc_init(struct gw_edxml_doc *d, struct gw_edxml_org *to, const struct to *tos,
                     size_t n, const char *subject, int paper)
{
    memset(d, 0, sizeof(*d));
    d->kind = GW_KIND_EDOC;
    d->from = "000.00.12.H49";
    d->subject = (char *)subject;
    d->business.paper = paper;
    for (size_t i = 0; i < n; i++) {
        memset(&to[i], 0, sizeof(to[i]));
        to[i].organ_id = (char *)tos[i].id;
        to[i].organ_name = (char *)tos[i].name;
    }
    d->to = to;
    d->n_to = n;
}

static const struct gw_classify_hit *hit(const struct gw_classify_result *r, const char *rule)
{
    for (size_t i = 0; i < r->n_hits; i++)
        if (strcmp(r->hits[i].rule, rule) == 0)
            return &r->hits[i];
    return NULL;
}

static bool near(const struct gw_classify_result *r, const char *why)
{
    for (size_t i = 0; i < r->n_near; i++)
        if (strcmp(r->near[i].why, why) == 0)
            return true;
    return false;
}

static void classify(const struct gw_edxml_doc *d, struct gw_classify_result *r)
{
    assert_int_equal(gw_classify(shipped, d, today, true, r), 0);
}

static void test_clause1(void **state)
{
    (void)state;
    struct gw_edxml_doc d;
    struct gw_edxml_org to[3];
    struct gw_classify_result r;
    const struct to gov[] = {{"000.00.00.H44", "UBND tỉnh Bình Dương"},
                             {"000.00.00.G22", "Văn phòng Chính phủ"}};
    doc_init(&d, to, gov, 2, "Báo cáo tình hình kinh tế - xã hội", -1);
    classify(&d, &r);
    assert_true(r.required);
    assert_int_equal(r.clauses, 1u << 1);
    /* both the id and the name of To[2] are evidence */
    assert_int_equal(r.n_hits, 2);
    assert_string_equal(r.hits[0].field, "To[2]/OrganId");
    assert_string_equal(r.hits[0].text, "000.00.00.G22");
    assert_string_equal(r.hits[0].organ_id, "000.00.00.G22");
    assert_string_equal(r.hits[1].field, "To[2]/OrganName");
    assert_int_equal(r.declared, -1); /* absent is "not declared", never 0 */
    assert_false(r.mismatch);
    gw_classify_result_free(&r);

    /* names equal as a whole after normalisation (NFD, upper case, extra white space) */
    const struct to named[] = {{"000.00.99.X01", "  THU\xcc\x89 TU\xcc\x9bO\xcc\x9b\xcc\x81NG  "
                                                 "CHI\xcc\x81NH PHU\xcc\x89 "}};
    doc_init(&d, to, named, 1, "Báo cáo", -1);
    classify(&d, &r);
    assert_int_equal(r.clauses, 1u << 1);
    gw_classify_result_free(&r);

    /* names that merely contain "Chính phủ" */
    const struct to near_names[] = {{"000.00.00.G02", "Ban Cơ yếu Chính phủ"},
                                    {"000.00.00.G03", "Thanh tra Chính phủ"},
                                    {"000.00.88.H49", "Tổ chức phi chính phủ ABC"}};
    doc_init(&d, to, near_names, 3, "Báo cáo", -1);
    classify(&d, &r);
    assert_false(r.required);
    assert_true(near(&r, "name_contains"));
    gw_classify_result_free(&r);
}

static void test_clause2(void **state)
{
    (void)state;
    struct gw_edxml_doc d;
    struct gw_edxml_org to[1];
    struct gw_classify_result r;
    const struct to one[] = {{"000.00.00.H44", "Sở Tài chính"}};

    doc_init(&d, to, one, 1, "V/v đề nghị bổ sung KINH\nPHÍ sự nghiệp năm 2026", 0);
    classify(&d, &r);
    assert_int_equal(r.clauses, 1u << 2);
    const struct gw_classify_hit *h = hit(&r, "c2.funding");
    assert_non_null(h);
    assert_string_equal(h->field, "Subject");
    assert_string_equal(h->text, "KINH\nPHÍ"); /* as written */
    assert_string_equal(h->keyword, "kinh phí");
    assert_true(r.mismatch); /* a clause fired, the sender said Paper = 0 */
    gw_classify_result_free(&r);

    /* scheme: only with an approval word in the same field */
    doc_init(&d, to, one, 1, "Tờ trình đề nghị phê duyệt Đề án phát triển du lịch", -1);
    classify(&d, &r);
    h = hit(&r, "c2.scheme_project");
    assert_non_null(h);
    assert_string_equal(h->text, "Đề án");
    assert_string_equal(h->with, "phê duyệt");
    gw_classify_result_free(&r);
    doc_init(&d, to, one, 1, "Kế hoạch triển khai dự án nâng cấp đường", -1);
    classify(&d, &r);
    assert_false(r.required);
    assert_true(near(&r, "no_approval_word"));
    gw_classify_result_free(&r);
    /* the approval word in another field does not count */
    doc_init(&d, to, one, 1, "Về dự án nâng cấp đường", -1);
    d.content = "Đề nghị thẩm định";
    classify(&d, &r);
    assert_false(r.required);
    gw_classify_result_free(&r);

    /* fees are not funding; a keyword inside a longer word does not fire */
    doc_init(&d, to, one, 1, "Thông báo mức thu lệ phí, phí trước bạ", -1);
    classify(&d, &r);
    assert_false(r.required);
    gw_classify_result_free(&r);
    doc_init(&d, to, one, 1, "Mã kinh phíxyz", -1);
    classify(&d, &r);
    assert_false(r.required);
    assert_true(near(&r, "inside_word"));
    gw_classify_result_free(&r);

    /* without any diacritic, matched without them; with diacritics, as written */
    doc_init(&d, to, one, 1, "De nghi phe duyet de an xay dung nong thon moi", -1);
    classify(&d, &r);
    assert_non_null(hit(&r, "c2.scheme_project"));
    gw_classify_result_free(&r);
    doc_init(&d, to, one, 1, "Mời đi thăm Dinh Độc Lập, để ăn trưa", -1);
    classify(&d, &r);
    assert_false(r.required);
    gw_classify_result_free(&r);

    /* TypeName and Content are read too, each on its own */
    doc_init(&d, to, one, 1, "Ban hành quy định", -1);
    d.document_type_name = "Văn bản quy phạm pháp luật";
    classify(&d, &r);
    h = hit(&r, "c2.legal_normative");
    assert_non_null(h);
    assert_string_equal(h->field, "DocumentType/TypeName");
    gw_classify_result_free(&r);
}

static void test_clause3_dates(void **state)
{
    (void)state;
    const char *names[] = {"p.ini"};
    const char *texts[] = {"[rule c3.land]\nclause = 3\neffective_from = 2022-01-01\n"
                           "effective_until = 2022-12-31\ntype_name = Tờ trình\n"
                           "subject = thu hồi đất | giao đất\nrecipient = 000.00.00.H49\n"};
    struct gw_catalog *c;
    struct gw_catalog_error e;
    assert_int_equal(gw_catalog_load_texts(names, texts, 1, &c, &e), 0);
    struct gw_edxml_doc d;
    struct gw_edxml_org to[2];
    struct gw_classify_result r;
    const struct to tos[] = {{"000.00.00.H44", "Sở"}, {"000.00.00.H49", "UBND tỉnh"}};
    doc_init(&d, to, tos, 2, "Đề nghị thu hồi đất tại xã An Bình", -1);
    d.document_type_name = "TỜ TRÌNH";
    int32_t in, out;
    assert_true(gw_catalog_day("2022-12-31", 10, &in));
    assert_true(gw_catalog_day("2023-01-01", 10, &out));
    assert_int_equal(gw_classify(c, &d, in, true, &r), 0);
    assert_int_equal(r.clauses, 1u << 3);
    assert_int_equal(r.n_hits, 3); /* one per condition */
    assert_string_equal(r.hits[2].field, "To[2]/OrganId");
    gw_classify_result_free(&r);
    assert_int_equal(gw_classify(c, &d, out, true, &r), 0);
    assert_false(r.required);
    assert_true(near(&r, "outside_dates"));
    gw_classify_result_free(&r);
    /* one condition missing: partial, not fired */
    d.document_type_name = "Công văn";
    assert_int_equal(gw_classify(c, &d, in, true, &r), 0);
    assert_false(r.required);
    assert_true(near(&r, "partial"));
    gw_classify_result_free(&r);
    gw_catalog_unref(c);
}

static void test_clause4(void **state)
{
    (void)state;
    struct gw_edxml_doc d;
    struct gw_edxml_org to[2];
    struct gw_classify_result r;
    const struct to units[] = {{"000.01.12.H49", "Phòng A"}, {"000.02.12.H49", "Phòng B"}};
    doc_init(&d, to, units, 2, "Thông báo lịch họp", 1);
    classify(&d, &r);
    assert_int_equal(r.clauses, 1u << 4);
    assert_true(r.internal);
    assert_false(r.declaration);
    assert_string_equal(r.hits[0].field, "Bussiness/Paper");
    gw_classify_result_free(&r);
    /* between agencies: a declaration, tracked, not clause 4 */
    const struct to other[] = {{"000.01.12.H49", "Phòng A"}, {"000.00.14.H49", "Sở khác"}};
    doc_init(&d, to, other, 2, "Thông báo lịch họp", 1);
    classify(&d, &r);
    assert_false(r.required);
    assert_true(r.declaration);
    assert_true(r.tracked);
    gw_classify_result_free(&r);
    /* a level-2 code of zero is the whole province, not one agency */
    assert_false(gw_classify_same_agency("000.00.00.H49", "000.01.00.H49"));
    assert_true(gw_classify_same_agency("000.00.12.H49", "000.07.12.H49"));
    assert_false(gw_classify_same_agency("000.00.12.H49", "000.00.12.H44"));
    assert_false(gw_classify_same_agency("H49.12", "H49.12"));
}

static void test_alias(void **state)
{
    (void)state;
    struct gw_edxml_doc d;
    struct gw_edxml_org to[2];
    struct gw_classify_result r;
    const struct to qd[] = {{"000.00.00.H44", "Sở"}, {"g22.vpcp", "VPCP"}};
    const struct gw_classify_alias al[] = {{"G22.VPCP", "000.00.00.G22"}};
    doc_init(&d, to, qd, 2, "Báo cáo", -1);
    assert_int_equal(gw_classify(shipped, &d, today, false, &r), 0);
    assert_false(r.required); /* without the directory the QĐ 20 form is unknown */
    gw_classify_result_free(&r);
    assert_int_equal(gw_classify_ex(shipped, al, 1, &d, today, false, &r), 0);
    assert_int_equal(r.clauses, 1u << 1);
    assert_string_equal(r.hits[0].field, "To[2]/OrganId");
    assert_string_equal(r.hits[0].text, "g22.vpcp");
    assert_string_equal(r.hits[0].alias_of, "000.00.00.G22");
    gw_classify_result_free(&r);
    size_t n;
    const char **ids = gw_classify_government_ids(shipped, today, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "000.00.00.G22");
    free(ids);
}

static void test_no_catalogue(void **state)
{
    (void)state;
    struct gw_edxml_doc d;
    struct gw_edxml_org to[1];
    struct gw_classify_result r;
    const struct to gov[] = {{"000.00.00.G22", "Văn phòng Chính phủ"}};
    doc_init(&d, to, gov, 1, "Kinh phí", -1);
    assert_int_equal(gw_classify(NULL, &d, today, false, &r), 0);
    assert_false(r.required);
    gw_classify_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clause1),       cmocka_unit_test(test_clause2),
        cmocka_unit_test(test_clause3_dates), cmocka_unit_test(test_clause4),
        cmocka_unit_test(test_alias),         cmocka_unit_test(test_no_catalogue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
