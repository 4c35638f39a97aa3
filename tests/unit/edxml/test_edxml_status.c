/*
 * Unit tests for status packages: the nine codes and their meanings, whose timeline a status is
 * on, and the built package for every code, checked with xmllint (well-formed, and against
 * schemas/edxml/edxml.xsd on the edXMLHeader when the schema is there) and read back field by
 * field with Python's xml.etree, independent of the gateway's own parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "edxml/edxml_status.h"
#include "util/error.h"

static const char *const nine[] = {"01", "02", "03", "04", "05", "06", "13", "15", "16"};

static void test_codes(void **state)
{
    static const char *const unknown[] = {"1", "00", "07", "12", "14", "17", "001", "", "1 ", "ab"};

    for (size_t i = 0; i < 9; i++) {
        assert_true(gw_edxml_status_known(nine[i]));
        assert_non_null(gw_edxml_status_meaning(nine[i]));
    }
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_false(gw_edxml_status_known(unknown[i]));
        assert_null(gw_edxml_status_meaning(unknown[i]));
    }
    assert_false(gw_edxml_status_known(NULL));
    assert_string_equal(gw_edxml_status_meaning("01"), "Đã đến");
    assert_string_equal(gw_edxml_status_meaning("02"), "Từ chối tiếp nhận");
    assert_string_equal(gw_edxml_status_meaning("03"), "Đã tiếp nhận");
    assert_string_equal(gw_edxml_status_meaning("06"), "Hoàn thành");
    assert_string_equal(gw_edxml_status_meaning("13"), "Lấy lại");
}

static void test_timeline_recipient(void **state)
{
    struct gw_edxml_response_for rf = {.organ_id = "000.00.12.H41",
                                       .document_id = "000.00.00.G22,2025/01/02,1/VPCP"};
    struct gw_edxml_doc d;

    memset(&d, 0, sizeof(d));
    d.from = "000.00.00.G22";
    d.response_for = &rf;
    d.n_response_for = 1;
    for (size_t i = 0; i < 9; i++) {
        d.status_code = (char *)nine[i];
        /* 13: the recipient asked to give the document back; otherwise the one answering. */
        assert_string_equal(gw_edxml_status_timeline_recipient(&d),
                            strcmp(nine[i], "13") == 0 ? "000.00.12.H41" : "000.00.00.G22");
    }
    d.status_code = "07";
    assert_null(gw_edxml_status_timeline_recipient(&d));
    d.status_code = NULL;
    assert_null(gw_edxml_status_timeline_recipient(&d));
    d.status_code = "13";
    d.n_response_for = 0;
    assert_null(gw_edxml_status_timeline_recipient(&d));
    assert_null(gw_edxml_status_timeline_recipient(NULL));
}

/* Reads the package back with xml.etree and compares with the expected fields (a JSON file). */
static const char py_check[] =
    "import json,sys,xml.etree.ElementTree as ET\n"
    "raw=open(sys.argv[1],'rb').read(); exp=json.load(open(sys.argv[2]))\n"
    "assert raw.startswith(b'<?xml version=\"1.0\" encoding=\"UTF-8\"?>'), raw[:60]\n"
    "assert b'xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"' in raw.split(b'>')[1]\n"
    "raw.decode('utf-8')\n"
    "N='{http://www.mic.gov.vn/TBT/QCVN_102_2016}'\n"
    "root=ET.fromstring(raw)\n"
    "assert root.tag==N+'edXML', root.tag\n"
    "assert [c.tag for c in root]==[N+'edXMLEnvelope']\n"
    "env=root[0]; assert [c.tag for c in env]==[N+'edXMLHeader',N+'edXMLBody']\n"
    "hdr=env[0]; assert [c.tag for c in hdr]==[N+'MessageHeader',N+'TraceHeaderList']\n"
    "assert len(hdr[1])==0 and not (hdr[1].text or '').strip()\n"
    "body=env[1]; assert [c.tag for c in body]==[N+'edXMLManifest'] and len(body[0])==0\n"
    "mh=hdr[0]\n"
    "order=['From','ResponseFor']+(['StaffInfo'] if exp.get('staff') else [])+['StatusCode']"
    "+(['Description'] if exp.get('description') else [])+['Timestamp']\n"
    "assert [c.tag for c in mh]==[N+t for t in order], [c.tag for c in mh]\n"
    "def t(path):\n"
    "    e=mh.find('/'.join(N+p for p in path.split('/')))\n"
    "    return None if e is None else (e.text or '')\n"
    "got={'from_organ_id':t('From/OrganId'),'from_organ_name':t('From/OrganName'),"
    "'response_organ_id':t('ResponseFor/OrganId'),'response_code':t('ResponseFor/Code'),"
    "'response_promulgation_date':t('ResponseFor/PromulgationDate'),"
    "'response_document_id':t('ResponseFor/DocumentId'),'staff':t('StaffInfo/Staff'),"
    "'status_code':t('StatusCode'),'description':t('Description'),'timestamp':t('Timestamp')}\n"
    "for k in got:\n"
    "    assert got[k]==exp.get(k), (k,got[k],exp.get(k))\n";

static char xsd[512];

static int setup(void **state)
{
    const char *env = getenv("GW_EDXML_XSD");
    struct stat st;

    snprintf(xsd, sizeof(xsd), "%s", env ? env : GW_SOURCE_DIR "/schemas/edxml/edxml.xsd");
    if (stat(xsd, &st) != 0)
        xsd[0] = '\0';
    return 0;
}

static void write_all(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Builds s and checks the output independently; expected values (NULL: absent) in exp. */
static void build_and_check(const struct gw_edxml_status_spec *s, json_t *exp)
{
    char xml[] = "/tmp/gw_status_XXXXXX", js[] = "/tmp/gw_status_js_XXXXXX";
    char py[] = "/tmp/gw_status_py_XXXXXX", cmd[1024];
    char *out = NULL;
    size_t len = 0;
    int fd;

    assert_int_equal(gw_edxml_status_build(s, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    fd = mkstemp(xml);
    close(fd);
    fd = mkstemp(js);
    close(fd);
    fd = mkstemp(py);
    close(fd);
    write_all(xml, out, len);
    write_all(py, py_check, sizeof(py_check) - 1);
    assert_int_equal(json_dump_file(exp, js, JSON_ENSURE_ASCII), 0);
    snprintf(cmd, sizeof(cmd), "xmllint --noout %s", xml);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "python3 %s %s %s", py, xml, js);
    if (system(cmd) != 0)
        fail_msg("python check failed on:\n%s", out);
    if (xsd[0]) {
        /* The schema's root is edXMLHeader: validate that element, taken out with xmllint. */
        snprintf(cmd, sizeof(cmd),
                 "xmllint --xpath '//*[local-name()=\"edXMLHeader\"]' %s | sed "
                 "'1s/<edXML:edXMLHeader/<edXML:edXMLHeader "
                 "xmlns:edXML=\"http:\\/\\/www.mic.gov.vn\\/TBT\\/QCVN_102_2016\"/' > %s.h && "
                 "xmllint --noout --schema %s %s.h 2>/dev/null",
                 xml, xml, xsd, xml);
        if (system(cmd) != 0)
            fail_msg("not valid against %s:\n%s", xsd, out);
        snprintf(cmd, sizeof(cmd), "%s.h", xml);
        unlink(cmd);
    }
    unlink(xml);
    unlink(js);
    unlink(py);
    free(out);
}

static json_t *expected(const struct gw_edxml_status_spec *s, const char *date)
{
    json_t *o = json_object();
#define SET(k, v)                                                                                  \
    do {                                                                                           \
        if (v)                                                                                     \
            json_object_set_new(o, k, json_string(v));                                             \
    } while (0)
    SET("from_organ_id", s->from_organ_id);
    SET("from_organ_name", s->from_organ_name);
    SET("response_organ_id", s->response_organ_id);
    SET("response_code", s->response_code);
    SET("response_promulgation_date", date);
    SET("response_document_id", s->response_document_id);
    SET("staff", s->staff);
    SET("status_code", s->status_code);
    SET("description", s->description);
    SET("timestamp", s->timestamp);
#undef SET
    return o;
}

static void test_build_every_code(void **state)
{
    if (!xsd[0])
        print_message("schemas/edxml/edxml.xsd not found: XSD check skipped\n");
    for (size_t i = 0; i < 9; i++) {
        struct gw_edxml_status_spec s = {
            .from_organ_id = "000.00.12.H41",
            .from_organ_name = "Sở Tài chính tỉnh X",
            .response_organ_id = "000.00.00.G22",
            .response_code = "7816/VPCP-TTĐT",
            .response_promulgation_date = "2015/09/30",
            .response_document_id = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            .status_code = nine[i],
            .description = gw_edxml_status_meaning(nine[i]),
            .timestamp = "2025/01/02 15:04:05",
            .staff = "Nguyễn Văn A",
        };
        json_t *e = expected(&s, s.response_promulgation_date);

        build_and_check(&s, e);
        json_decref(e);
    }
}

/* Optional fields absent; values that need escaping; a dashed date normalised, another form
 * left out; CR kept through a parser's line-end normalisation. */
static void test_build_values(void **state)
{
    struct gw_edxml_status_spec s = {
        .from_organ_id = "000.00.12.H41",
        .response_organ_id = "000.00.00.G22",
        .response_document_id = "A&B<C>,\"q\" 'a' ]]>",
        .status_code = "01",
        .timestamp = "2025/01/02 15:04:05",
    };
    json_t *e = expected(&s, NULL);

    build_and_check(&s, e);
    json_decref(e);

    s.status_code = "02";
    s.description = "Sai nơi nhận & <không> thuộc thẩm quyền\r\ndòng 2\tTab";
    s.response_promulgation_date = "2015-09-30";
    s.from_organ_name = "";   /* empty: left out */
    s.response_code = " \n "; /* blank: left out */
    e = expected(&s, "2015/09/30");
    json_object_del(e, "from_organ_name");
    json_object_del(e, "response_code");
    build_and_check(&s, e);
    json_decref(e);

    s.response_promulgation_date = "30/09/2015";
    e = expected(&s, NULL);
    json_object_del(e, "from_organ_name");
    json_object_del(e, "response_code");
    build_and_check(&s, e);
    json_decref(e);
}

static void test_build_refusals(void **state)
{
    const struct gw_edxml_status_spec good = {
        .from_organ_id = "000.00.12.H41",
        .response_organ_id = "000.00.00.G22",
        .response_document_id = "000.00.00.G22,2015/09/30,7816/VPCP",
        .status_code = "03",
        .timestamp = "2025/01/02 15:04:05",
    };
    struct gw_edxml_status_spec s;
    char *out = (char *)1;
    size_t len = 1;

    s = good;
    assert_int_equal(gw_edxml_status_build(&s, &out, &len), 0);
    free(out);
#define REFUSED(field, value)                                                                      \
    do {                                                                                           \
        s = good;                                                                                  \
        s.field = value;                                                                           \
        assert_int_equal(gw_edxml_status_build(&s, &out, &len), GW_EINVAL);                        \
        assert_null(out);                                                                          \
        assert_int_equal(len, 0);                                                                  \
    } while (0)
    REFUSED(status_code, "1");
    REFUSED(status_code, "07");
    REFUSED(status_code, NULL);
    REFUSED(from_organ_id, NULL);
    REFUSED(from_organ_id, " ");
    REFUSED(response_organ_id, "");
    REFUSED(response_document_id, NULL);
    REFUSED(timestamp, NULL);
    REFUSED(timestamp, "2025-01-02T15:04:05");
    REFUSED(timestamp, "2025/01/02 15:04");
    REFUSED(from_organ_name, "\xC3\x28");   /* not UTF-8 */
    REFUSED(description, "a\x01z");         /* not an XML character */
    REFUSED(staff, "\xEF\xBF\xBE");         /* U+FFFE */
    REFUSED(response_code, "\xED\xA0\x80"); /* a surrogate */
    REFUSED(status_code, "02");             /* a refusal without its reason */
    REFUSED(status_code, "13");             /* a recall request without its reason */
#undef REFUSED
    assert_int_equal(gw_edxml_status_build(NULL, &out, &len), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_timeline_recipient),
        cmocka_unit_test(test_build_every_code),
        cmocka_unit_test(test_build_values),
        cmocka_unit_test(test_build_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
