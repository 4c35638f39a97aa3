/*
 * Unit tests for organisation identifiers (domain.md §4): strict QCVN 102 and QĐ 20 forms, the
 * lenient routing form and the QCVN 102 parent, table-driven over the ids of the domain text and
 * the non-conforming ids of real traffic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edxml/edxml_orgid.h"

static const struct {
    const char *id;
    enum gw_orgid_form form;
} forms[] = {
    {"000.00.00.G22", GW_ORGID_QCVN102},
    {"000.46.24.H44", GW_ORGID_QCVN102},
    {"000.00.00.H49", GW_ORGID_QCVN102},
    {"000.00.12.H49", GW_ORGID_QCVN102},
    {"H37.DN.001", GW_ORGID_QD20},
    {"H37", GW_ORGID_QD20},
    {"G01.05", GW_ORGID_QD20},
    {"H37.DN.001.02.03.04.05.06.07.08.090", GW_ORGID_QD20},     /* 35 characters */
    {"H37.DN.001.02.03.04.05.06.07.08.0900", GW_ORGID_INVALID}, /* 36 */
    {"01.02.G22", GW_ORGID_INVALID},
    {"vxp.saas.03", GW_ORGID_INVALID},
    {"VXP.SAAS.03", GW_ORGID_INVALID},
    {"28.22.H17", GW_ORGID_INVALID},
    {"000.00.00.g22", GW_ORGID_INVALID},
    {"h37.dn.001", GW_ORGID_INVALID},
    {" 000.00.00.G22", GW_ORGID_INVALID},
    {"000.00.00.G22 ", GW_ORGID_INVALID},
    {"000.00 .00.G22", GW_ORGID_INVALID},
    {"000.00.00.G2", GW_ORGID_INVALID},
    {"000.00.00.G222", GW_ORGID_INVALID},
    {"0000.0.00.G22", GW_ORGID_INVALID},
    {"000.00.00.222", GW_ORGID_INVALID},
    {"000-00-00-G22", GW_ORGID_INVALID},
    {"H37..DN", GW_ORGID_INVALID},
    {"H37.DN.", GW_ORGID_INVALID},
    {".H37", GW_ORGID_INVALID},
    {"H3", GW_ORGID_INVALID},
    {"H37DN", GW_ORGID_INVALID},
    {"H37.Dn", GW_ORGID_INVALID},
    {"H37.Đ", GW_ORGID_INVALID},
    {"", GW_ORGID_INVALID},
    {"null", GW_ORGID_INVALID},
};

static void test_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        enum gw_orgid_form f = gw_orgid_form(forms[i].id);
        if (f != forms[i].form)
            fail_msg("%s: form %d, want %d", forms[i].id, (int)f, (int)forms[i].form);
        assert_int_equal(gw_orgid_is_qcvn102(forms[i].id), forms[i].form == GW_ORGID_QCVN102);
        if (forms[i].form == GW_ORGID_QD20)
            assert_true(gw_orgid_is_qd20(forms[i].id));
    }
    assert_int_equal(gw_orgid_form(NULL), GW_ORGID_INVALID);
    assert_false(gw_orgid_is_qd20("000.00.00.G22")); /* the two forms never overlap */
    assert_false(gw_orgid_is_qcvn102("H37.DN.001"));
}

static const struct {
    const char *id;
    const char *want; /* NULL: false */
} lenient[] = {
    {"000.00.00.G22", "000.00.00.G22"},
    {"  000.00.00.g22\n", "000.00.00.G22"},
    {"\t01.02.G22 ", "01.02.G22"},
    {"vxp.saas.03", "VXP.SAAS.03"},
    {"28.22.H17", "28.22.H17"},
    {"h37.dn.001", "H37.DN.001"},
    {"Sở", "Sở"}, /* non-ASCII kept as is */
    {"", NULL},
    {"   ", NULL},
    {"null", NULL},
    {" NULL ", NULL},
    {"000.00 .00.G22", NULL},
    {"000.00\t00.G22", NULL},
    {"000.00.00.G22\x01", NULL},
    {"a\x7f", NULL},
    {"a\xc2\x85", NULL},
};

static void test_lenient(void **state)
{
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(lenient) / sizeof(lenient[0]); i++) {
        bool ok = gw_orgid_lenient(lenient[i].id, out, sizeof(out));
        if (ok != (lenient[i].want != NULL))
            fail_msg("[%s]: lenient %d", lenient[i].id, ok);
        if (ok)
            assert_string_equal(out, lenient[i].want);
    }
    assert_false(gw_orgid_lenient("000.00.00.G22", out, 13)); /* no room for the NUL */
    assert_true(gw_orgid_lenient("000.00.00.G22", out, 14));
    assert_false(gw_orgid_lenient(NULL, out, sizeof(out)));
}

static void test_parent(void **state)
{
    static const struct {
        const char *id, *want;
    } t[] = {
        {"000.46.24.H44", "000.00.24.H44"},
        {"000.00.24.H44", "000.00.00.H44"},
        {"000.00.00.H44", NULL},
        {"001.46.24.H44", "000.46.24.H44"},
        {"012.00.00.G22", "000.00.00.G22"},
        {"000.46.00.H44", "000.00.00.H44"},
        {"28.22.H17", NULL},
        {"H37.DN.001", NULL},
        {"000.46.24.h44", NULL},
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        bool ok = gw_orgid_parent(t[i].id, out, sizeof(out));
        if (ok != (t[i].want != NULL))
            fail_msg("%s: parent %d", t[i].id, ok);
        if (ok)
            assert_string_equal(out, t[i].want);
    }
    assert_false(gw_orgid_parent("000.46.24.H44", out, 13));
}

/* The province an id belongs to (domain.md §4): QCVN 102's level 1 on the right, QD 20's on the
 * left; ids of different forms, or of neither, only when they are the same id. */
static void test_same_level1(void **state)
{
    (void)state;
    assert_true(gw_orgid_same_level1("000.00.12.H49", "000.00.00.H49"));
    assert_true(gw_orgid_same_level1(" 000.46.24.h49", "000.00.00.H49")); /* lenient */
    assert_false(gw_orgid_same_level1("000.00.00.H44", "000.00.00.H49"));
    assert_false(gw_orgid_same_level1("000.00.00.G22", "000.00.00.H49"));
    assert_true(gw_orgid_same_level1("H37.DN.001", "H37.SO.002"));
    assert_false(gw_orgid_same_level1("H37.DN.001", "H371.DN.001"));
    assert_false(gw_orgid_same_level1("H37.DN.001", "000.00.00.H37")); /* forms differ */
    assert_true(gw_orgid_same_level1("vxp.saas.03", "VXP.SAAS.03"));
    assert_false(gw_orgid_same_level1("vxp.saas.03", "vxp.saas.04"));
    assert_false(gw_orgid_same_level1("null", "000.00.00.H49"));
    assert_false(gw_orgid_same_level1(NULL, "000.00.00.H49"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_same_level1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
