/*
 * Unit tests for the fixed structural caps and the refusal verdicts of the edXML extractor: each
 * cap refused with its stable code (also in UTF-16), the pre-scan's work bounded by the input,
 * a CDATA section beyond libxml2's default 10 MB node limit accepted, and which errors are
 * verdicts on the package (domain.md §2) and which are local limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edxml/edxml.h"
#include "edxml/edxml_internal.h"
#include "edxml/edxml_model.h"
#include "util/error.h"

#define NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define MSG_OK                                                                                     \
    "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</DocumentId>"

/* A valid package whose MessageHeader start tag carries attrs (may be "") and whose header ends
 * with extra (may be ""). */
static char *pkg_with(const char *attrs, const char *extra)
{
    static const char fmt[] = "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader>"
                              "<MessageHeader%s>" MSG_OK "</MessageHeader>%s"
                              "</edXMLHeader></edXMLEnvelope></edXML>";
    size_t n = sizeof(fmt) + strlen(attrs) + strlen(extra);
    char *s = malloc(n);

    assert_non_null(s);
    snprintf(s, n, fmt, attrs, extra);
    return s;
}

/* " a0=\"1\" a1=\"1\" ..." with n attributes. */
static char *attrs(size_t n)
{
    char *s = malloc(n * 16 + 1), *p = s;

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, " a%zu=\"1\"", i);
    *p = '\0';
    return s;
}

static int parse(const char *x, size_t len, struct gw_edxml_info *info, char *msg, size_t n)
{
    return gw_edxml_parse(x, len, NULL, info, msg, n);
}

static void expect_refused(const char *x, size_t len, int err, const char *code)
{
    struct gw_edxml_info info;
    char msg[200];

    assert_int_equal(parse(x, len, &info, msg, sizeof(msg)), err);
    assert_non_null(info.error_code);
    assert_string_equal(info.error_code, code);
    assert_true(strncmp(msg, code, strlen(code)) == 0);
    assert_null(info.document_id);
    assert_true(gw_edxml_is_verdict(err));
}

static void expect_ok(const char *x, size_t len)
{
    struct gw_edxml_info info;
    char msg[200];

    assert_int_equal(parse(x, len, &info, msg, sizeof(msg)), 0);
    assert_null(info.error_code);
    assert_string_equal(info.document_id, "d");
    gw_edxml_info_free(&info);
}

static void test_attribute_count(void **state)
{
    char *a = attrs(GW_EDXML_MAX_ATTRS), *x = pkg_with(a, "");
    expect_ok(x, strlen(x));
    free(a);
    free(x);
    a = attrs(GW_EDXML_MAX_ATTRS + 1);
    x = pkg_with(a, "");
    expect_refused(x, strlen(x), GW_EPARSE, "too_many_attributes");
    free(a);
    free(x);
}

/* The finding: 300 000 attributes on one element, 3.4 MB. Refused by the pre-scan, which stops at
 * the cap: its work is bounded by where the cap is crossed, not by the square of the count. */
static void test_hostile_attribute_flood(void **state)
{
    char *a = attrs(300000), *x = pkg_with(a, "");
    struct gw_edxml_scan_result res;
    size_t cut;

    assert_true(strlen(x) > 3000000);
    expect_refused(x, strlen(x), GW_EPARSE, "too_many_attributes");
    assert_int_equal(gw_edxml_scan(x, strlen(x), &res), GW_EPARSE);
    assert_string_equal(res.code, "too_many_attributes");
    cut = (size_t)(strstr(x, " a129=") - x);
    assert_true(res.scanned <= cut);
    free(a);
    free(x);
}

static void test_attribute_value_and_name_length(void **state)
{
    size_t n = GW_EDXML_MAX_ATTR_VALUE + 1;
    char *a = malloc(n + 16), *x;

    assert_non_null(a);
    memcpy(a, " v=\"", 4);
    memset(a + 4, 'x', n);
    strcpy(a + 4 + n, "\"");
    x = pkg_with(a, "");
    expect_refused(x, strlen(x), GW_EPARSE, "attribute_too_long");
    free(x);
    a[4 + n - 1] = '"'; /* exactly the cap */
    a[4 + n] = '\0';
    x = pkg_with(a, "");
    expect_ok(x, strlen(x));
    free(x);
    free(a);

    n = GW_EDXML_MAX_NAME + 1;
    a = malloc(2 * n + 64);
    assert_non_null(a);
    a[0] = '<';
    memset(a + 1, 'e', n);
    strcpy(a + 1 + n, "/>");
    x = pkg_with("", a);
    expect_refused(x, strlen(x), GW_EPARSE, "name_too_long");
    free(x);
    a[0] = ' ';
    memset(a + 1, 'n', n);
    strcpy(a + 1 + n, "=\"1\"");
    x = pkg_with(a, "");
    expect_refused(x, strlen(x), GW_EPARSE, "name_too_long");
    free(x);
    free(a);
}

static void test_namespaces_in_scope(void **state)
{
    char decl[64], *a = malloc((GW_EDXML_MAX_NS + 1) * 40 + 1), *x;

    assert_non_null(a);
    a[0] = '\0';
    for (int i = 0; i <= GW_EDXML_MAX_NS; i++) {
        snprintf(decl, sizeof(decl), " xmlns:p%d=\"urn:x:%d\"", i, i);
        strcat(a, decl);
    }
    x = pkg_with(a, "");
    expect_refused(x, strlen(x), GW_EPARSE, "too_many_namespaces");
    free(x);
    free(a);
}

static void test_depth_and_doctype(void **state)
{
    char *inner = malloc((GW_EDXML_MAX_DEPTH + 2) * 8 + 1), *x;

    assert_non_null(inner);
    inner[0] = '\0';
    for (int i = 0; i < GW_EDXML_MAX_DEPTH; i++)
        strcat(inner, "<a>");
    for (int i = 0; i < GW_EDXML_MAX_DEPTH; i++)
        strcat(inner, "</a>");
    x = pkg_with("", inner);
    expect_refused(x, strlen(x), GW_EPARSE, "too_deep");
    free(x);
    free(inner);
    x = pkg_with("", "");
    {
        char *d = malloc(strlen(x) + 40);
        assert_non_null(d);
        sprintf(d, "<!DOCTYPE edXML []>%s", x);
        expect_refused(d, strlen(d), GW_EPARSE, "doctype");
        free(d);
    }
    free(x);
}

/* UTF-16 markup is scanned in 16-bit units: the caps cannot be dodged by the encoding. */
static void test_utf16(void **state)
{
    char *a = attrs(1000), *x = pkg_with(a, ""), *u;
    size_t n = strlen(x);

    u = malloc(2 * n + 2);
    assert_non_null(u);
    u[0] = (char)0xFF;
    u[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++) {
        u[2 + 2 * i] = x[i];
        u[3 + 2 * i] = 0;
    }
    expect_refused(u, 2 * n + 2, GW_EPARSE, "too_many_attributes");
    free(x);
    x = pkg_with("", "");
    n = strlen(x);
    for (size_t i = 0; i < n; i++) {
        u[2 + 2 * i] = x[i];
        u[3 + 2 * i] = 0;
    }
    expect_ok(u, 2 * n + 2);
    free(u);
    free(x);
    free(a);
}

static void test_encodings(void **state)
{
    const char *decl[] = {"UTF-7", "IBM037", "ISO-2022-JP"};
    char buf[600];

    for (size_t i = 0; i < sizeof(decl) / sizeof(decl[0]); i++) {
        char *x = pkg_with("", "");
        snprintf(buf, sizeof(buf), "<?xml version=\"1.0\" encoding=\"%s\"?>%s", decl[i], x);
        expect_refused(buf, strlen(buf), GW_EPARSE, "unsupported_encoding");
        free(x);
    }
    {
        char *x = pkg_with("", "");
        snprintf(buf, sizeof(buf), "<?xml version=\"1.0\" encoding=\"windows-1258\"?>%s", x);
        expect_ok(buf, strlen(buf));
        free(x);
    }
}

/* The declaration is read to its end, in every width: padding it, or starting in UTF-16 and
 * declaring another encoding, must not put the document out of the scan's sight. */
static void test_declaration_tricks(void **state)
{
    char *x = pkg_with("", ""), *buf, *u;
    size_t n, m;

    buf = malloc(strlen(x) + 2048);
    assert_non_null(buf);
    /* UTF-7 named after 250 blanks: refused like a short declaration. */
    n = (size_t)sprintf(buf, "<?xml version=\"1.0\"%250s encoding=\"UTF-7\"?>%s", "", x);
    expect_refused(buf, n, GW_EPARSE, "unsupported_encoding");
    /* A declaration that never ends within the cap is refused. */
    n = (size_t)sprintf(buf, "<?xml version=\"1.0\"%1100s?>%s", "", x);
    expect_refused(buf, n, GW_EPARSE, "unsupported_encoding");
    /* UTF-16 that declares UTF-7. */
    n = (size_t)sprintf(buf, "<?xml version=\"1.0\" encoding=\"UTF-7\"?>%s", x);
    u = malloc(2 * (strlen(x) + 2048) + 2); /* room for either declaration */
    assert_non_null(u);
    u[0] = (char)0xFF;
    u[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++) {
        u[2 + 2 * i] = buf[i];
        u[3 + 2 * i] = 0;
    }
    expect_refused(u, 2 * n + 2, GW_EPARSE, "unsupported_encoding");
    /* UTF-16 that declares UTF-16 is fine. */
    m = (size_t)sprintf(buf, "<?xml version=\"1.0\" encoding=\"UTF-16\"?>%s", x);
    for (size_t i = 0; i < m; i++) {
        u[2 + 2 * i] = buf[i];
        u[3 + 2 * i] = 0;
    }
    expect_ok(u, 2 * m + 2);
    free(u);
    free(buf);
    free(x);
}

/* Beyond libxml2's default 10 MB node limit (XML_PARSE_HUGE), under the gateway's own size cap. */
static void test_huge_cdata(void **state)
{
    size_t big = 11u * 1024 * 1024;
    const char *head = "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader><MessageHeader>" MSG_OK
                       "</MessageHeader></edXMLHeader></edXMLEnvelope><AttachmentEncoded>"
                       "<Attachment><ContentTransferEncoded><![CDATA[";
    const char *tail = "]]></ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>";
    size_t hl = strlen(head), tl = strlen(tail);
    char *x = malloc(hl + big + tl);

    assert_non_null(x);
    memcpy(x, head, hl);
    memset(x + hl, 'Q', big);
    memcpy(x + hl + big, tail, tl);
    expect_ok(x, hl + big + tl);
    free(x);
}

static void test_verdicts(void **state)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    char msg[200];
    char *x;

    /* edoc without From/OrganId, or with the text null */
    x = pkg_with("", "");
    {
        char *p = strstr(x, "<From>");
        memcpy(p, "<Frox>", 6);
        memcpy(strstr(p, "</From>"), "</Frox>", 7);
    }
    expect_refused(x, strlen(x), GW_ENOTEDXML, "no_sender");
    free(x);
    {
        const char *n = "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader><MessageHeader>"
                        "<From><OrganId>null</OrganId></From><To><OrganId>B</OrganId></To>"
                        "<To><OrganId>null</OrganId></To><DocumentId>d</DocumentId>"
                        "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>";
        expect_refused(n, strlen(n), GW_ENOTEDXML, "no_sender");
    }
    /* status codes: the nine, "1" read as "01" */
    {
#define STATUS_FMT                                                                                 \
    "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader><MessageHeader>"                          \
    "<From><OrganId>A</OrganId></From><ResponseFor><OrganId>B</OrganId>"                           \
    "<DocumentId>d</DocumentId></ResponseFor><StatusCode>%s</StatusCode>"                          \
    "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"
        char s[600];
        snprintf(s, sizeof(s), STATUS_FMT, "1");
        assert_int_equal(parse(s, strlen(s), &info, msg, sizeof(msg)), 0);
        assert_string_equal(info.status_code, "01");
        gw_edxml_info_free(&info);
        snprintf(s, sizeof(s), STATUS_FMT, "16");
        expect_ok(s, strlen(s));
        snprintf(s, sizeof(s), STATUS_FMT, "07");
        expect_refused(s, strlen(s), GW_ENOTEDXML, "bad_status_code");
        snprintf(s, sizeof(s), STATUS_FMT, "");
        expect_refused(s, strlen(s), GW_ENOTEDXML, "bad_status_code");
    }
    /* the vendor's own sample: an undeclared prefix on an attribute is recovered */
    x = pkg_with(" xlink:href=\"#x\"", "");
    expect_ok(x, strlen(x));
    free(x);
    /* local limits are not verdicts */
    x = pkg_with("", "");
    gw_edxml_limits_default(&lim);
    lim.max_bytes = 10;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), GW_E2BIG);
    assert_string_equal(info.error_code, "too_large");
    assert_false(gw_edxml_is_verdict(GW_E2BIG));
    assert_false(gw_edxml_is_verdict(GW_ELIMIT));
    assert_false(gw_edxml_is_verdict(GW_ENOMEM));
    assert_false(gw_edxml_is_verdict(GW_ERANGE));
    free(x);
}

/* A million repeated faults keep 1 000 findings and say so; a refusal after them still counts. */
static void test_findings_cap(void **state)
{
    struct gw_edxml_doc d;

    (void)state;
    memset(&d, 0, sizeof(d));
    for (int i = 0; i < 5000; i++)
        assert_int_equal(gw_edxml_doc_finding(&d, "x", GW_EDXML_STRICT, "/p", "n %d", i), 0);
    assert_int_equal(d.n_findings, GW_EDXML_MAX_FINDINGS + 1);
    assert_string_equal(d.findings[GW_EDXML_MAX_FINDINGS].code, "findings_truncated");
    assert_true(gw_edxml_doc_acceptable(&d));
    for (int i = 0; i < 300; i++)
        assert_int_equal(gw_edxml_doc_finding(&d, "r", GW_EDXML_REFUSE, "/p", "r %d", i), 0);
    assert_false(gw_edxml_doc_acceptable(&d));
    assert_int_equal(d.n_findings, GW_EDXML_MAX_FINDINGS + 100);
    gw_edxml_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribute_count),
        cmocka_unit_test(test_hostile_attribute_flood),
        cmocka_unit_test(test_attribute_value_and_name_length),
        cmocka_unit_test(test_namespaces_in_scope),
        cmocka_unit_test(test_depth_and_doctype),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_declaration_tricks),
        cmocka_unit_test(test_huge_cdata),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_findings_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
