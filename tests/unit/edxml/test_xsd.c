/*
 * Unit tests for the XSD validation of the edXMLHeader (edxml_xsd.c) against the schema of
 * schemas/edxml/: the headers of tests/fixtures/edxml_xsd (which test_edxml_xsd.py checks with
 * xmllint as well) give no finding when valid and "xsd" findings at the expected XPath when not;
 * in-scope namespace declarations are re-declared on the header; errors are capped; the schema is
 * shared by concurrent validations.
 */
#include <iconv.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "doc_stub.h"
#include "edxml/edxml.h"
#include "edxml/edxml_conform.h"

#define FIX GW_SOURCE_DIR "/tests/fixtures/edxml_xsd/"
#define MH  "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"

static struct gw_edxml_xsd *xsd;

static int setup(void **state)
{
    (void)state;
    return gw_edxml_xsd_load(GW_SOURCE_DIR "/schemas/edxml/edxml.xsd", &xsd);
}

static int teardown(void **state)
{
    (void)state;
    gw_edxml_xsd_free(xsd);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void check_text(struct gw_edxml_doc *d, char *text, size_t len)
{
    d->header_xml = text;
    d->header_xml_len = len;
    assert_int_equal(gw_edxml_xsd_check(xsd, d), 0);
}

static void test_fixtures(void **state)
{
    FILE *f = fopen(FIX "cases.txt", "r");
    char line[512];
    int n = 0;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char name[128], verdict[16], xpath[256], path[512];
        struct gw_edxml_doc d = {0};
        size_t len;
        char *text;

        if (line[0] == '#' || sscanf(line, "%127s %15s %255s", name, verdict, xpath) != 3)
            continue;
        snprintf(path, sizeof(path), FIX "%s", name);
        text = slurp(path, &len);
        check_text(&d, text, len);
        if (strcmp(verdict, "valid") == 0) {
            if (d.n_findings) {
                test_doc_print(&d);
                fail_msg("%s: %zu findings", name, d.n_findings);
            }
        } else {
            if (d.n_findings == 0 || strcmp(d.findings[0].xpath, xpath) != 0) {
                test_doc_print(&d);
                fail_msg("%s: want a first finding at %s", name, xpath);
            }
            for (size_t i = 0; i < d.n_findings; i++) {
                const char *m = d.findings[i].message;
                assert_string_equal(d.findings[i].code, "xsd");
                assert_int_equal(d.findings[i].severity, GW_EDXML_STRICT);
                assert_null(strstr(m, "{" GW_EDXML_NS "}"));
                assert_true(m[0] && m[strlen(m) - 1] != '\n' && m[strlen(m) - 1] != ' ');
            }
        }
        n++;
        test_doc_clear_findings(&d);
        free(text);
    }
    fclose(f);
    assert_true(n >= 20);
}

/* The header as it sits in a package: its namespaces declared on edXML, not on itself. */
static void test_in_scope_declarations(void **state)
{
    static char *pfx[] = {"", "edXML", "x", "ds"};
    static char *uri[] = {GW_EDXML_NS, GW_EDXML_NS, "urn:example:\"ext\"&<", "urn:other"};
    char hdr[] = "<edXML:edXMLHeader xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
                 "<MessageHeader x:a=\"1\"><edXML:From><OrganId>000.00.12.H49</OrganId>"
                 "</edXML:From><To xlink:href=\"#x\"><OrganId>000.00.00.G22</OrganId></To>"
                 "<DocumentId>000.00.12.H49,2024/05/15,1/A</DocumentId><x:Ext/>"
                 "</MessageHeader><ds:Signature/></edXML:edXMLHeader>";
    struct gw_edxml_doc d = {0};

    (void)state;
    d.header_ns_prefixes = pfx;
    d.header_ns_uris = uri;
    d.n_header_ns = 4;
    check_text(&d, hdr, strlen(hdr));
    if (d.n_findings) {
        test_doc_print(&d);
        fail_msg("in-scope declarations: %zu findings", d.n_findings);
    }

    /* Without the declarations the header is not in the QCVN namespace. */
    d.n_header_ns = 0;
    check_text(&d, hdr, strlen(hdr));
    assert_true(d.n_findings >= 1);
    test_doc_clear_findings(&d);

    /* Nothing to validate: no finding, no error. */
    d.header_xml = NULL;
    d.header_xml_len = 0;
    assert_int_equal(gw_edxml_xsd_check(xsd, &d), 0);
    assert_int_equal(d.n_findings, 0);
}

static char *convert(const char *to, const char *text, size_t n, size_t *len)
{
    size_t cap = n * 4 + 8, in_left = n, out_left = cap;
    char *out = malloc(cap), *in = (char *)text, *o = out;
    iconv_t cd = iconv_open(to, "UTF-8");

    assert_non_null(out);
    assert_true(cd != (iconv_t)-1);
    assert_true(iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1);
    iconv_close(cd);
    *len = cap - out_left;
    return out;
}

/* The header is copied in the package's own encoding: UTF-16, UCS-4 or an 8-bit one. */
static void test_encodings(void **state)
{
    static const char *const wide[] = {"UTF-16LE", "UTF-16BE", "UCS-4LE", "UCS-4BE"};
    char latin[] = "<edXMLHeader xmlns=\"" GW_EDXML_NS "\"><MessageHeader><From><OrganId>A"
                   "</OrganId><OrganName>S\xe3 T\xe0i ch\xednh</OrganName></From><To><OrganId>B"
                   "</OrganId></To><DocumentId>C</DocumentId><OtherInfo><Priority>9</Priority>"
                   "</OtherInfo></MessageHeader></edXMLHeader>";
    size_t len, wlen;
    char *text = slurp(FIX "invalid_priority.xml", &len);
    struct gw_edxml_doc d = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        char *w = convert(wide[i], text, len, &wlen);
        check_text(&d, w, wlen);
        if (d.n_findings != 1 || strcmp(d.findings[0].xpath, MH "/OtherInfo/Priority") != 0) {
            test_doc_print(&d);
            fail_msg("%s: want one finding at Priority", wide[i]);
        }
        test_doc_clear_findings(&d);
        free(w);
    }
    check_text(&d, latin, strlen(latin));
    assert_int_equal(d.n_findings, 1);
    assert_string_equal(d.findings[0].xpath, MH "/OtherInfo/Priority");
    test_doc_clear_findings(&d);
    free(text);
}

static void test_cap(void **state)
{
    size_t cap = 300 * 80 + 400, k = 0;
    char *h = malloc(cap);
    struct gw_edxml_doc d = {0};

    (void)state;
    assert_non_null(h);
    k += (size_t)snprintf(h + k, cap - k,
                          "<edXMLHeader xmlns=\"" GW_EDXML_NS "\"><MessageHeader><From><OrganId>"
                          "A</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>C"
                          "</DocumentId></MessageHeader><TraceHeaderList>");
    for (int i = 0; i < 300; i++)
        k +=
            (size_t)snprintf(h + k, cap - k, "<TraceHeader><Timestamp>x</Timestamp></TraceHeader>");
    k += (size_t)snprintf(h + k, cap - k, "</TraceHeaderList></edXMLHeader>");
    check_text(&d, h, k);
    assert_int_equal(d.n_findings, 51);
    assert_string_equal(
        d.findings[0].xpath,
        "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader[1]/Timestamp");
    assert_string_equal(
        d.findings[49].xpath,
        "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader[50]/Timestamp");
    assert_non_null(strstr(d.findings[50].message, "more than 50"));
    test_doc_clear_findings(&d);
    free(h);
}

/* 50 000 schema errors in one header (about 1 MB, under the header copy's cap): libxml2 raises
 * each of them, and with a document URL it walks back over the previous siblings for every one
 * (quadratic, minutes of CPU). Without one the check takes well under a second. */
static void test_many_errors_fast(void **state)
{
    size_t cap = 50000 * 22 + 400, k = 0;
    char *h = malloc(cap);
    struct gw_edxml_doc d = {0};
    struct timespec t0, t1;

    (void)state;
    assert_non_null(h);
    k += (size_t)snprintf(h + k, cap - k,
                          "<edXMLHeader xmlns=\"" GW_EDXML_NS "\"><MessageHeader><From><OrganId>"
                          "A</OrganId></From>");
    for (int i = 0; i < 50000; i++)
        k += (size_t)snprintf(h + k, cap - k, "<To/>");
    k += (size_t)snprintf(h + k, cap - k,
                          "<DocumentId>C</DocumentId></MessageHeader></edXMLHeader>");
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    check_text(&d, h, k);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    assert_int_equal(d.n_findings, 51);
    assert_true((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 < 1.5);
    test_doc_clear_findings(&d);
    free(h);
}

static void test_not_well_formed(void **state)
{
    char hdr[] = "<edXMLHeader xmlns=\"" GW_EDXML_NS "\"><MessageHeader></edXMLHeader>";
    char ent[] = "<edXMLHeader xmlns=\"" GW_EDXML_NS "\">&ent;</edXMLHeader>";
    struct gw_edxml_doc d = {0};

    (void)state;
    check_text(&d, hdr, strlen(hdr));
    assert_true(d.n_findings >= 1);
    assert_string_equal(d.findings[0].code, "xsd");
    test_doc_clear_findings(&d);
    check_text(&d, ent, strlen(ent));
    assert_true(d.n_findings >= 1);
    test_doc_clear_findings(&d);
}

static void test_load_errors(void **state)
{
    struct gw_edxml_xsd *x = (void *)1;

    (void)state;
    assert_int_equal(gw_edxml_xsd_load(GW_SOURCE_DIR "/schemas/edxml/none.xsd", &x), GW_ENOENT);
    assert_null(x);
    assert_int_equal(gw_edxml_xsd_load(FIX "valid_edoc_minimal.xml", &x), GW_EPARSE);
    assert_null(x);
    gw_edxml_xsd_free(NULL);
}

static void *worker(void *arg)
{
    char *text = arg;
    long bad = 0;

    for (int i = 0; i < 50; i++) {
        struct gw_edxml_doc d = {0};
        d.header_xml = text;
        d.header_xml_len = strlen(text);
        if (gw_edxml_xsd_check(xsd, &d) != 0 || d.n_findings != 1)
            bad++;
        test_doc_clear_findings(&d);
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    size_t len;
    char *text = slurp(FIX "invalid_priority.xml", &len);

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, text), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        assert_null(bad);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),        cmocka_unit_test(test_in_scope_declarations),
        cmocka_unit_test(test_encodings),       cmocka_unit_test(test_cap),
        cmocka_unit_test(test_not_well_formed), cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_threads),         cmocka_unit_test(test_many_errors_fast),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
