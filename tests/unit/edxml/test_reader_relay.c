/*
 * The reader's relay landmarks used end to end: for fixtures of every trace mode and prefix
 * style, the copy for the first recipient (edxml_relay.h) is read back with the reader: one
 * recipient, one more TraceHeader (the gateway's, last), every attachment hashing as before, and
 * the bytes outside the edits unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edxml/edxml_reader.h"
#include "edxml/edxml_relay.h"

#define DIR GW_SOURCE_DIR "/tests/fixtures/edxml/reader/"

struct out {
    char *p;
    size_t n;
};

static int emit(const void *buf, size_t len, void *ud)
{
    struct out *o = ud;

    o->p = realloc(o->p, o->n + len + 1);
    assert_non_null(o->p);
    memcpy(o->p + o->n, buf, len);
    o->n += len;
    return 0;
}

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof(path), DIR "%s", name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void copy_buf(const char *name, char *buf, size_t len);
static void ns_check(const char *copy, size_t n);

static void copy_one(const char *name)
{
    size_t len;
    char *buf = slurp(name, &len);

    copy_buf(name, buf, len);
}

static void copy_buf(const char *name, char *buf, size_t len)
{
    struct gw_edxml_doc *d = NULL, *c = NULL;
    struct gw_edxml_plan plan;
    struct gw_edxml_apply ap;
    struct out o = {0};
    char msg[200];
    const char *keep[1];

    if (gw_edxml_read(buf, len, NULL, &d, NULL, msg, sizeof(msg)) != 0) {
        print_error("%s: %s\n", name, msg);
        fail();
    }
    if (!d->relay.editable) {
        print_error("%s: not editable (%s)\n", name, d->relay.not_editable);
        fail();
    }
    assert_true(d->n_recipients >= 1);
    keep[0] = d->recipients[0];
    assert_int_equal(
        gw_edxml_plan_copy(&d->relay, len, keep, 1, "000.00.00.H41", "2026/01/02 03:04:05", &plan),
        0);
    gw_edxml_apply_init(&ap, &plan);
    for (size_t off = 0; off < len; off += 7)
        assert_int_equal(
            gw_edxml_apply_feed(&ap, buf + off, len - off < 7 ? len - off : 7, emit, &o), 0);
    assert_int_equal(gw_edxml_apply_end(&ap, emit, &o), 0);
    assert_int_equal(o.n, plan.out_len);
    ns_check(o.p, o.n);
    if (gw_edxml_read(o.p, o.n, NULL, &c, NULL, msg, sizeof(msg)) != 0) {
        print_error("%s: copy not readable: %s\n", name, msg);
        fail();
    }
    assert_int_equal(c->n_recipients, 1);
    assert_string_equal(c->recipients[0], keep[0]);
    assert_int_equal(c->n_traces, d->n_traces + 1);
    assert_string_equal(c->traces[c->n_traces - 1].organ_id, "000.00.00.H41");
    assert_string_equal(c->traces[c->n_traces - 1].timestamp, "2026/01/02 03:04:05");
    assert_int_equal(c->n_attachments, d->n_attachments);
    for (size_t i = 0; i < d->n_attachments; i++)
        assert_memory_equal(c->attachments[i].sha256, d->attachments[i].sha256, 32);
    assert_string_equal(c->document_id, d->document_id);
    assert_string_equal(c->subject ? c->subject : "", d->subject ? d->subject : "");
    gw_edxml_plan_free(&plan);
    gw_edxml_doc_free(d);
    free(d);
    gw_edxml_doc_free(c);
    free(c);
    free(o.p);
    free(buf);
}

/* Namespace-aware oracle (Python's ElementTree, not the reader, which matches names in no
 * namespace too, nor xmllint --noout, which exits 0 on namespace errors): the copy parses, its
 * last TraceHeader is ours, in the QCVN 102 namespace, with OrganId and Timestamp in it, and its
 * parent is a TraceHeaderList in that namespace under edXMLHeader. */
static void ns_check(const char *copy, size_t n)
{
    static const char script[] =
        "import sys,xml.etree.ElementTree as E\n"
        "N='{http://www.mic.gov.vn/TBT/QCVN_102_2016}'\n"
        "root=E.fromstring(sys.stdin.buffer.read())\n"
        "par={c:p for p in root.iter() for c in p}\n"
        "th=[e for e in root.iter() if e.tag.split('}')[-1]=='TraceHeader']\n"
        "t=th[-1]\n"
        "assert t.tag==N+'TraceHeader',t.tag\n"
        "assert t.find(N+'OrganId').text=='000.00.00.H41'\n"
        "assert t.find(N+'Timestamp').text=='2026/01/02 03:04:05'\n"
        "assert par[t].tag==N+'TraceHeaderList',par[t].tag\n"
        "assert par[par[t]].tag==N+'edXMLHeader',par[par[t]].tag\n";
    char path[] = "/tmp/gw-relay-ns-XXXXXX", cmd[700];
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(script, 1, sizeof(script) - 1, f), sizeof(script) - 1);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s", path);
    f = popen(cmd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(copy, 1, n, f), n);
    if (pclose(f) != 0) {
        print_error("copy:\n%.*s\n", (int)n, copy);
        unlink(path);
        fail();
    }
    unlink(path);
}

static void test_copies(void **state)
{
    static const char *const names[] = {
        "full_unprefixed.xml",        "full_prefixed_placeholder_sig.xml",
        "mixed_prefixes.xml",         "quirk_bussiness_first.xml",
        "quirk_to_without_organ.xml", "quirk_attachment_unprefixed.xml",
        "landmark_no_list.xml",       "landmark_empty_list.xml",
        "quirk_trace_no_organ.xml",   "zip_vendor_convention.xml",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        copy_one(names[i]);
}

/* Packages whose inserted element would land outside the QCVN 102 namespace if it only copied a
 * sibling's prefix, and self-closing lists (domain.md §2: empty self-closing elements are real
 * traffic, and only a real XML-DSig package is never altered). */
static void test_namespace_scope(void **state)
{
#define NS_ "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define MSG_                                                                                       \
    "<From><OrganId>000.00.12.H49</OrganId></From><To><OrganId>000.00.00.G22</OrganId></To>"       \
    "<To><OrganId>000.00.00.H49</OrganId></To><DocumentId>000.00.12.H49,2024/05/15,1/STC"          \
    "</DocumentId>"
#define TH_                                                                                        \
    "<TraceHeader><OrganId>000.00.12.H49</OrganId><Timestamp>2024/05/15 "                          \
    "09:30:00</Timestamp></TraceHeader>"
    static const struct {
        const char *name, *xml;
    } cases[] = {
        /* the last TraceHeader declares its own prefix: not in scope after it */
        {"local_trace_prefix",
         "<edXML xmlns=\"" NS_ "\"><edXMLEnvelope><edXMLHeader><MessageHeader>" MSG_
         "</MessageHeader><TraceHeaderList>" TH_ "<t:TraceHeader xmlns:t=\"" NS_
         "\"><t:OrganId>X</t:OrganId></t:TraceHeader></TraceHeaderList></edXMLHeader>"
         "</edXMLEnvelope></edXML>"},
        /* the prefix is bound to another namespace in the list's scope */
        {"prefix_bound_elsewhere",
         "<edXML xmlns=\"" NS_
         "\" xmlns:t=\"urn:other\"><edXMLEnvelope><edXMLHeader><MessageHeader>" MSG_
         "</MessageHeader><TraceHeaderList><t:TraceHeader xmlns:t=\"" NS_
         "\"><t:OrganId>X</t:OrganId></t:TraceHeader></TraceHeaderList></edXMLHeader>"
         "</edXMLEnvelope></edXML>"},
        /* a default namespace declared on MessageHeader only: the new list goes after it */
        {"local_default_on_message_header",
         "<edXML:edXML xmlns:edXML=\"" NS_ "\"><edXML:edXMLEnvelope><edXML:edXMLHeader>"
         "<MessageHeader xmlns=\"" NS_ "\">" MSG_ "</MessageHeader></edXML:edXMLHeader>"
         "</edXML:edXMLEnvelope></edXML:edXML>"},
        /* self-closing lists, unprefixed, prefixed, and declaring their own prefix */
        {"empty_list",
         "<edXML xmlns=\"" NS_ "\"><edXMLEnvelope><edXMLHeader><MessageHeader>" MSG_
         "</MessageHeader>\n  <TraceHeaderList/></edXMLHeader></edXMLEnvelope></edXML>"},
        {"empty_list_prefixed",
         "<edXML:edXML xmlns:edXML=\"" NS_ "\"><edXML:edXMLEnvelope><edXML:edXMLHeader>"
         "<edXML:MessageHeader>" MSG_ "</edXML:MessageHeader><edXML:TraceHeaderList />"
         "</edXML:edXMLHeader></edXML:edXMLEnvelope></edXML:edXML>"},
        {"empty_list_local_prefix",
         "<edXML xmlns=\"" NS_ "\"><edXMLEnvelope><edXMLHeader><MessageHeader>" MSG_
         "</MessageHeader><q:TraceHeaderList xmlns:q=\"" NS_ "\" x=\"1\"/></edXMLHeader>"
         "</edXMLEnvelope></edXML>"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *buf = strdup(cases[i].xml);
        assert_non_null(buf);
        copy_buf(cases[i].name, buf, strlen(buf));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies),
        cmocka_unit_test(test_namespace_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
