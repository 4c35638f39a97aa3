/*
 * Unit tests for the edXML routing extractor: namespace handling (prefixes, default namespace,
 * missing namespace), status packages, recipient rules, and hostile input (entity bombs, deep
 * nesting, size cap, oversized or dirty identifiers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edxml/edxml.h"
#include "edxml/edxml_internal.h"
#include "util/error.h"

#define NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"

/* Wraps MessageHeader content (and optional extra edXMLHeader content) in an unprefixed package. */
static char *pkg(const char *msghdr, const char *extra_header)
{
    static const char fmt[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader>"
                              "<MessageHeader>%s</MessageHeader>%s"
                              "</edXMLHeader><edXMLBody/></edXMLEnvelope>"
                              "<AttachmentEncoded/></edXML>";
    size_t n = sizeof(fmt) + strlen(msghdr) + strlen(extra_header);
    char *s = malloc(n);

    assert_non_null(s);
    snprintf(s, n, fmt, msghdr, extra_header);
    return s;
}

static int parse_str(const char *xml, struct gw_edxml_info *info, char *msg, size_t msglen)
{
    struct gw_edxml_limits lim;

    gw_edxml_limits_default(&lim);
    return gw_edxml_parse(xml, strlen(xml), &lim, info, msg, msglen);
}

static void assert_zeroed(const struct gw_edxml_info *info)
{
    assert_null(info->document_id);
    assert_null(info->from);
    assert_null(info->to);
    assert_int_equal(info->n_to, 0);
    assert_null(info->status_code);
}

static char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof(path), "%s/tests/fixtures/edxml/%s", GW_SOURCE_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void test_unprefixed(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>000.00.00.G22</OrganId></From>"
                  "<To><OrganId>000.00.00.H49</OrganId></To>"
                  "<DocumentId>000.00.00.G22,2015/09/30,7816/VPCP</DocumentId>",
                  "");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.kind, GW_KIND_EDOC);
    assert_string_equal(info.document_id, "000.00.00.G22,2015/09/30,7816/VPCP");
    assert_string_equal(info.from, "000.00.00.G22");
    assert_int_equal(info.n_to, 1);
    assert_string_equal(info.to[0], "000.00.00.H49");
    assert_null(info.status_code);
    assert_int_equal(info.business_doc_type, 0);
    gw_edxml_info_free(&info);
    free(x);
}

static void test_prefixed_fixture_vietnamese(void **state)
{
    struct gw_edxml_info info;
    size_t len;
    char msg[200];
    char *x = read_fixture("unit_full_prefixed.xml", &len);

    assert_int_equal(gw_edxml_parse(x, len, NULL, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.kind, GW_KIND_EDOC);
    /* Vietnamese UTF-8 bytes (Đ = C4 90) come through unchanged */
    assert_string_equal(info.document_id, "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT");
    assert_string_equal(info.from, "000.00.00.G22");
    assert_int_equal(info.n_to, 2);
    assert_string_equal(info.to[0], "000.00.00.H49");
    assert_string_equal(info.to[1], "H37.DN.001");
    assert_int_equal(info.business_doc_type, 2);
    gw_edxml_info_free(&info);
    free(x);
}

static void test_mixed_prefixes(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    const char *x = "<edXML:edXML xmlns:edXML=\"" NS "\" xmlns:q=\"" NS "\" xmlns=\"" NS "\">"
                    "<edXMLEnvelope><q:edXMLHeader><edXML:MessageHeader>"
                    "<From><q:OrganId>A.1</q:OrganId></From>"
                    "<edXML:To><OrganId>B.1</OrganId></edXML:To>"
                    "<q:To><edXML:OrganId>C.1</edXML:OrganId></q:To>"
                    "<DocumentId>A.1,2024/01/02,1/UBND</DocumentId>"
                    "</edXML:MessageHeader></q:edXMLHeader></edXMLEnvelope></edXML:edXML>";

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.from, "A.1");
    assert_int_equal(info.n_to, 2);
    assert_string_equal(info.to[0], "B.1");
    assert_string_equal(info.to[1], "C.1");
    gw_edxml_info_free(&info);
}

/* The default namespace is the QCVN one, while the "edXML" prefix is redeclared to something
 * else: only URIs count, so edXML:To is ignored and x:To is used. */
static void test_redeclared_prefix(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    const char *x = "<edXML xmlns=\"" NS "\" xmlns:edXML=\"urn:other\" xmlns:x=\"" NS "\">"
                    "<edXMLEnvelope><edXMLHeader><x:MessageHeader>"
                    "<From><OrganId>S</OrganId></From><edXML:To><OrganId>WRONG</OrganId></edXML:To>"
                    "<x:To><x:OrganId>RIGHT</x:OrganId></x:To>"
                    "<edXML:DocumentId>WRONG-ID</edXML:DocumentId>"
                    "<DocumentId>doc-1</DocumentId>"
                    "</x:MessageHeader></edXMLHeader></edXMLEnvelope></edXML>";

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.document_id, "doc-1");
    assert_int_equal(info.n_to, 1);
    assert_string_equal(info.to[0], "RIGHT");
    gw_edxml_info_free(&info);
}

static void test_wrong_namespace_root(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    const char *x = "<edXML xmlns=\"urn:not-qcvn\"><edXMLEnvelope/></edXML>";

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    assert_zeroed(&info);
    assert_int_equal(parse_str("<html><body/></html>", &info, msg, sizeof(msg)), GW_ENOTEDXML);
    assert_non_null(strstr(msg, "root"));
}

/* Lenient: no namespace declaration at all is accepted. */
static void test_no_namespace(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    const char *x = "<edXML><edXMLEnvelope><edXMLHeader><MessageHeader>"
                    "<From><OrganId>S</OrganId></From>"
                    "<To><OrganId>B.1</OrganId></To><DocumentId>d</DocumentId>"
                    "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>";

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.document_id, "d");
    assert_string_equal(info.from, "S");
    assert_string_equal(info.to[0], "B.1");
    gw_edxml_info_free(&info);
}

static void test_status(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>000.00.00.H49</OrganId></From>"
                  "<ResponseFor><OrganId> 000.00.00.G22 </OrganId><Code>7816/VPCP</Code>"
                  "<DocumentId>000.00.00.G22,2015/09/30,7816/VPCP</DocumentId></ResponseFor>"
                  "<ResponseFor><OrganId>IGNORED</OrganId><DocumentId>IGNORED</DocumentId>"
                  "</ResponseFor>"
                  "<StaffInfo><Staff>Văn thư</Staff></StaffInfo>"
                  "<StatusCode>\n  03\n</StatusCode><Description>Đã tiếp nhận</Description>",
                  "");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.kind, GW_KIND_STATUS);
    assert_string_equal(info.document_id, "000.00.00.G22,2015/09/30,7816/VPCP");
    assert_string_equal(info.from, "000.00.00.H49");
    assert_int_equal(info.n_to, 1);
    assert_string_equal(info.to[0], "000.00.00.G22");
    assert_string_equal(info.status_code, "03");
    gw_edxml_info_free(&info);
    free(x);

    x = pkg("<From><OrganId>A</OrganId></From><StatusCode>01</StatusCode>", "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    assert_non_null(strstr(msg, "ResponseFor"));
    free(x);
    x = pkg("<ResponseFor><DocumentId>d</DocumentId></ResponseFor><StatusCode>01</StatusCode>", "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENORCPT);
    free(x);
}

static void test_missing_document_id(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>   "
                  "</DocumentId>",
                  "");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    assert_non_null(strstr(msg, "DocumentId"));
    assert_zeroed(&info);
    free(x);
    assert_int_equal(
        parse_str("<edXML xmlns=\"" NS "\"><edXMLEnvelope/></edXML>", &info, msg, sizeof(msg)),
        GW_ENOTEDXML);
    assert_non_null(strstr(msg, "MessageHeader"));
}

static void test_no_recipient(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>A</OrganId></From><To><OrganId> </OrganId></To><To/>"
                  "<DocumentId>d</DocumentId>",
                  "");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENORCPT);
    assert_zeroed(&info);
    free(x);
}

static void test_duplicate_to(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>S</OrganId></From>"
                  "<To><OrganId>B</OrganId></To><To><OrganId>\tC </OrganId></To>"
                  "<To><OrganId></OrganId></To><To><OrganId> B</OrganId></To>"
                  "<To><OrganId>A</OrganId></To><To><OrganId>C</OrganId></To>"
                  "<DocumentId>d</DocumentId>",
                  "");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.n_to, 3);
    assert_string_equal(info.to[0], "B");
    assert_string_equal(info.to[1], "C");
    assert_string_equal(info.to[2], "A");
    gw_edxml_info_free(&info);
    free(x);
}

static void test_recipient_limit(void **state)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg("<From><OrganId>S</OrganId></From>"
                  "<To><OrganId>A</OrganId></To><To><OrganId>B</OrganId></To>"
                  "<To><OrganId>A</OrganId></To><To><OrganId>C</OrganId></To>"
                  "<DocumentId>d</DocumentId>",
                  "");

    gw_edxml_limits_default(&lim);
    lim.max_recipients = 3;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), 0);
    gw_edxml_info_free(&info);
    lim.max_recipients = 2;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), GW_ELIMIT);
    assert_zeroed(&info);
    free(x);
}

static void test_many_duplicates_linear(void **state)
{
    const char to[] = "<To><OrganId>000.00.00.H49</OrganId></To>";
    size_t n = 200000, len = n * (sizeof(to) - 1);
    char *body = malloc(len + 64), *x;
    struct gw_edxml_info info;
    char msg[200];

    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        memcpy(body + i * (sizeof(to) - 1), to, sizeof(to) - 1);
    strcpy(body + len, "<DocumentId>d</DocumentId><From><OrganId>S</OrganId></From>");
    x = pkg(body, "");
    /* every To block is kept for the relay landmarks, so their number is a local limit */
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ELIMIT);
    assert_string_equal(info.error_code, "too_many_items");
    free(x);
    /* 2 000 repeats (the cap on To elements) are one recipient */
    strcpy(body + 2000 * (sizeof(to) - 1),
           "<DocumentId>d</DocumentId><From><OrganId>S</OrganId></From>");
    x = pkg(body, "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.n_to, 1);
    gw_edxml_info_free(&info);
    free(x);
    free(body);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "<edXML xmlns=\"" NS "\"><edXMLEnvelope></edXML>",
        "<edXML xmlns=\"" NS "\">",
        "<edXML xmlns=\"" NS "\"/><extra/>",
        "not xml at all",
        "<edXML a='1' a='2'/>",
        "<edXML>&undefined;</edXML>",
    };
    struct gw_edxml_info info;
    char msg[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse_str(bad[i], &info, msg, sizeof(msg)), GW_EPARSE);
        assert_true(msg[0] != '\0');
        assert_null(strchr(msg, '\n'));
        assert_zeroed(&info);
    }
    assert_int_equal(gw_edxml_parse("", 0, NULL, &info, NULL, 0), GW_EPARSE);
    /* an undeclared element prefix is recovered (matched by local name): not edXML here */
    assert_int_equal(parse_str("<p:edXML/>", &info, msg, sizeof(msg)), GW_ENOTEDXML);
}

static void test_doctype_attacks(void **state)
{
    static const char *const attacks[] = {
        /* billion laughs */
        "<?xml version=\"1.0\"?><!DOCTYPE edXML [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
        "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e "
        "\"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g "
        "\"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">"
        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i "
        "\"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">"
        "]><edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader><MessageHeader>"
        "<To><OrganId>&i;</OrganId></To><DocumentId>&i;</DocumentId>"
        "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>",
        /* external entity (XXE) */
        "<!DOCTYPE edXML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<edXML><edXMLEnvelope><edXMLHeader><MessageHeader><To><OrganId>&x;</OrganId></To>"
        "<DocumentId>d</DocumentId></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>",
        /* external DTD */
        "<!DOCTYPE edXML SYSTEM \"http://127.0.0.1:1/evil.dtd\"><edXML/>",
    };
    struct gw_edxml_info info;
    char msg[200];
    clock_t t0 = clock();

    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        assert_int_equal(parse_str(attacks[i], &info, msg, sizeof(msg)), GW_EPARSE);
        assert_string_equal(msg, "doctype: DOCTYPE not allowed");
        assert_zeroed(&info);
    }
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
}

static void test_deep_nesting(void **state)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    char msg[200];
    size_t depth = 100000, pos = 0;
    char *x = malloc(depth * 7 + 64);

    assert_non_null(x);
    pos += (size_t)sprintf(x, "<edXML>");
    for (size_t i = 0; i < depth; i++) {
        memcpy(x + pos, "<a>", 3);
        pos += 3;
    }
    for (size_t i = 0; i < depth; i++) {
        memcpy(x + pos, "</a>", 4);
        pos += 4;
    }
    pos += (size_t)sprintf(x + pos, "</edXML>");
    gw_edxml_limits_default(&lim);
    assert_int_equal(gw_edxml_parse(x, pos, &lim, &info, msg, sizeof(msg)), GW_EPARSE);
    assert_non_null(strstr(msg, "deeper"));
    assert_zeroed(&info);
    free(x);

    /* a custom lower limit is honoured on an otherwise valid package */
    x = pkg(
        "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</DocumentId>",
        "");
    lim.max_depth = 6;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), 0);
    gw_edxml_info_free(&info);
    lim.max_depth = 5;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), GW_EPARSE);
    free(x);
}

static void test_size_cap(void **state)
{
    struct gw_edxml_limits lim;
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg(
        "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</DocumentId>",
        "");

    gw_edxml_limits_default(&lim);
    lim.max_bytes = strlen(x);
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), 0);
    gw_edxml_info_free(&info);
    lim.max_bytes = strlen(x) - 1;
    assert_int_equal(gw_edxml_parse(x, strlen(x), &lim, &info, msg, sizeof(msg)), GW_E2BIG);
    assert_zeroed(&info);
    free(x);
}

/* A 12 MB base64 attachment: beyond libxml2's 10 MB text-node limit, which SAX never hits. */
static void test_large_attachment(void **state)
{
    size_t big = 12u * 1024 * 1024;
    const char *head =
        "<edXML xmlns=\"" NS "\"><edXMLEnvelope><edXMLHeader><MessageHeader>"
        "<From><OrganId>S</OrganId></From>"
        "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</DocumentId>"
        "</MessageHeader></edXMLHeader></edXMLEnvelope><AttachmentEncoded>"
        "<Attachment><ContentTransferEncoded>";
    const char *tail = "</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>";
    size_t hl = strlen(head), tl = strlen(tail);
    char *x = malloc(hl + big + tl);
    struct gw_edxml_info info;
    char msg[200];

    assert_non_null(x);
    memcpy(x, head, hl);
    memset(x + hl, 'Q', big);
    memcpy(x + hl + big, tail, tl);
    assert_int_equal(gw_edxml_parse(x, hl + big + tl, NULL, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.to[0], "B");
    gw_edxml_info_free(&info);
    free(x);
}

static void test_bom_and_declaration(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *inner = pkg("<From><OrganId>S</OrganId></From><To><OrganId>Sở Nội "
                      "vụ</OrganId></To><DocumentId>d-ý</DocumentId>",
                      "");
    size_t n = strlen(inner) + 4;
    char *x = malloc(n);

    assert_non_null(x);
    memcpy(x, "\xEF\xBB\xBF", 3);
    memcpy(x + 3, inner, strlen(inner) + 1);
    assert_int_equal(gw_edxml_parse(x, n - 1, NULL, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.to[0], "Sở Nội vụ");
    assert_string_equal(info.document_id, "d-ý");
    gw_edxml_info_free(&info);
    free(x);
    free(inner);

    /* ISO-8859-1 declared: text is converted to UTF-8 */
    const char latin1[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><edXML><edXMLEnvelope>"
        "<edXMLHeader><MessageHeader><From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To>"
        "<DocumentId>caf\xE9</DocumentId></MessageHeader></edXMLHeader>"
        "</edXMLEnvelope></edXML>";
    assert_int_equal(parse_str(latin1, &info, msg, sizeof(msg)), 0);
    assert_string_equal(info.document_id, "caf\xC3\xA9");
    gw_edxml_info_free(&info);
}

static void test_bad_ids(void **state)
{
    struct gw_edxml_info info;
    char msg[200], long_id[400];
    char *x;

    memset(long_id, 'x', 257);
    long_id[257] = '\0';
    {
        char body[600];
        snprintf(body, sizeof(body),
                 "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>%s</"
                 "DocumentId>",
                 long_id);
        x = pkg(body, "");
        assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
        assert_non_null(strstr(msg, "longer"));
        free(x);
        long_id[256] = '\0'; /* exactly 256 is fine */
        snprintf(body, sizeof(body),
                 "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>%s</"
                 "DocumentId>",
                 long_id);
        x = pkg(body, "");
        assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
        gw_edxml_info_free(&info);
        free(x);
    }
    /* a To whose OrganId is dirty is dropped (domain.md §2); it was the only one here */
    x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B&#9;C</OrganId></To><DocumentId>d</"
            "DocumentId>",
            "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENORCPT);
    assert_string_equal(info.error_code, "no_recipient");
    free(x);
    x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B&#9;C</OrganId></To><To><OrganId>D"
            "</OrganId></To><DocumentId>d</DocumentId>",
            "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
    assert_int_equal(info.n_to, 1);
    gw_edxml_info_free(&info);
    free(x);
    x = pkg("<From><OrganId>S&#9;T</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</"
            "DocumentId>",
            "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    assert_non_null(strstr(msg, "control"));
    free(x);
    x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d&#x85;</"
            "DocumentId>",
            "");
    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    free(x);
}

/* BussinessDocType is 0..3 (0 new, 1 revoke, 2 update, 3 replace): anything else, 32768..100000
 * included (which once passed the parser and then failed SQL smallint), is refused at parse. */
static void test_business_doc_type(void **state)
{
    static const struct {
        const char *bdt;
        int want; /* -1: refused */
    } cases[] = {
        {" 3 ", 3},    {"0", 0},      {"2", 2},       {"", 0},
        {"  ", 0},     {"x1", -1},    {"4", -1},      {"-1", -1},
        {"40000", -1}, {"32768", -1}, {"100000", -1}, {"99999999999999999999", -1},
        {"1 2", -1},
    };
    struct gw_edxml_info info;
    char msg[200], trace[200];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(trace, sizeof(trace),
                 "<TraceHeaderList><Bussiness><BussinessDocType>%s</BussinessDocType></Bussiness>"
                 "</TraceHeaderList>",
                 cases[i].bdt);
        char *x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></"
                      "To><DocumentId>d</DocumentId>",
                      trace);
        if (cases[i].want < 0) {
            assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
            assert_string_equal(info.error_code, "bad_business_doc_type");
            assert_true(gw_edxml_is_verdict(GW_ENOTEDXML));
            assert_zeroed(&info);
        } else {
            assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
            assert_int_equal(info.business_doc_type, cases[i].want);
            assert_null(info.error_code);
            gw_edxml_info_free(&info);
        }
        free(x);
    }
    static const char *const other[] = {
        "<TraceHeaderList><Bussiness><Paper>1</Paper></Bussiness></TraceHeaderList>",
        "<TraceHeaderList><Bussiness><BussinessDocType/></Bussiness></TraceHeaderList>",
        "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><MessageHeader/></Signature>",
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        char *x = pkg("<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></"
                      "To><DocumentId>d</DocumentId>",
                      other[i]);
        assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), 0);
        assert_int_equal(info.business_doc_type, 0);
        gw_edxml_info_free(&info);
        free(x);
    }
}

static void test_two_message_headers(void **state)
{
    struct gw_edxml_info info;
    char msg[200];
    char *x = pkg(
        "<From><OrganId>S</OrganId></From><To><OrganId>B</OrganId></To><DocumentId>d</DocumentId>",
        "<MessageHeader><To><OrganId>EVIL</OrganId></To></MessageHeader>");

    assert_int_equal(parse_str(x, &info, msg, sizeof(msg)), GW_ENOTEDXML);
    free(x);
}

/* libxml2 must never print: encoding errors are raised without a parser context. */
static void test_stderr_silent(void **state)
{
    static const char *const inputs[] = {"<\0\0\0",
                                         "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
                                         "<edXML><a></b></edXML>", "<?xml encoding=\"nope\"?><a/>"};
    static const size_t lens[] = {4, 43, 22, 27};
    struct gw_edxml_info info;
    char msg[200];
    FILE *tmp = tmpfile();
    int saved = dup(2);

    assert_non_null(tmp);
    assert_true(saved >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        assert_int_not_equal(gw_edxml_parse(inputs[i], lens[i], NULL, &info, msg, sizeof(msg)), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    assert_int_equal(ftell(tmp), 0);
    fclose(tmp);
}

static void test_helpers(void **state)
{
    char s1[] = "  abc \r\n", s2[] = "a\x7f", *out;

    assert_int_equal(gw_edxml_clean_id(s1, false, &out), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(gw_edxml_clean_id(s2, false, &out), GW_EINVAL);
    assert_int_equal(gw_edxml_parse_small_int(" 12 "), 12);
    assert_int_equal(gw_edxml_parse_small_int("-1"), 0);
    assert_int_equal(gw_edxml_parse_small_int("99999999999999999999"), 0);
    assert_int_equal(gw_edxml_parse_small_int(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unprefixed),
        cmocka_unit_test(test_prefixed_fixture_vietnamese),
        cmocka_unit_test(test_mixed_prefixes),
        cmocka_unit_test(test_redeclared_prefix),
        cmocka_unit_test(test_wrong_namespace_root),
        cmocka_unit_test(test_no_namespace),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_missing_document_id),
        cmocka_unit_test(test_no_recipient),
        cmocka_unit_test(test_duplicate_to),
        cmocka_unit_test(test_recipient_limit),
        cmocka_unit_test(test_many_duplicates_linear),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_doctype_attacks),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_large_attachment),
        cmocka_unit_test(test_bom_and_declaration),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_business_doc_type),
        cmocka_unit_test(test_two_message_headers),
        cmocka_unit_test(test_stderr_silent),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
