/*
 * Unit tests for per-axis copies: hand-built relay landmarks over literal packages, each expected
 * copy written out in full (or computed by a Python reference that edits the bytes with regular
 * expressions and slicing), streamed in chunks of 1 byte, of random sizes and whole; the length
 * is the plan's out_len, the SHA-256 is hashlib's, and every XML copy passes xmllint --noout.
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
#include <openssl/evp.h>

#include "edxml/edxml_relay.h"
#include "util/error.h"

#define NS  "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#define TS  "2025/01/02 15:04:05"
#define OWN "000.00.00.H41"

/* ---- helpers ---- */

struct sink {
    char *buf;
    size_t len;
    EVP_MD_CTX *md;
    int fail_after; /* return an error on this call (0: never) */
    int calls;
};

static int emit(const void *p, size_t n, void *ud)
{
    struct sink *s = ud;

    assert_true(n > 0);
    if (s->fail_after && ++s->calls == s->fail_after)
        return -4242;
    s->buf = realloc(s->buf, s->len + n + 1);
    assert_non_null(s->buf);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    assert_int_equal(EVP_DigestUpdate(s->md, p, n), 1);
    return 0;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* SHA-256 of a file by Python's hashlib. */
static void hashlib_hex(const char *path, char out[65])
{
    char cmd[600], line[128];
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import hashlib,sys; "
             "print(hashlib.sha256(open(sys.argv[1],\"rb\").read()).hexdigest())' %s",
             path);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    assert_int_equal(pclose(p), 0);
    assert_int_equal(strcspn(line, "\n"), 64);
    memcpy(out, line, 64);
    out[64] = '\0';
}

static void xmllint_ok(const char *path)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "xmllint --noout %s", path);
    assert_int_equal(system(cmd), 0);
}

/* Streams in through plan in chunks of `chunk` bytes (0: random sizes; SIZE_MAX: whole). */
static char *stream(const char *in, size_t in_len, const struct gw_edxml_plan *plan, size_t chunk,
                    uint8_t sha[32], size_t *out_len)
{
    struct sink s = {.md = EVP_MD_CTX_new()};
    struct gw_edxml_apply a;
    unsigned mdlen = 0;
    size_t off = 0;

    assert_non_null(s.md);
    assert_int_equal(EVP_DigestInit_ex(s.md, EVP_sha256(), NULL), 1);
    gw_edxml_apply_init(&a, plan);
    while (off < in_len) {
        size_t n = chunk == 0 ? 1 + (size_t)(rand() % 97) : chunk;
        if (n > in_len - off)
            n = in_len - off;
        assert_int_equal(gw_edxml_apply_feed(&a, in + off, n, emit, &s), 0);
        off += n;
    }
    assert_int_equal(gw_edxml_apply_feed(&a, in, 0, emit, &s), 0);
    assert_int_equal(gw_edxml_apply_end(&a, emit, &s), 0);
    assert_int_equal(EVP_DigestFinal_ex(s.md, sha, &mdlen), 1);
    EVP_MD_CTX_free(s.md);
    if (!s.buf)
        s.buf = calloc(1, 1);
    *out_len = s.len;
    return s.buf;
}

static void hex(const uint8_t *d, char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* The copy of in under plan equals expected for every chunking, has the plan's length, hashes as
 * hashlib says, and (when xml) is well-formed for xmllint. */
static void check_copy(const char *in, size_t in_len, const struct gw_edxml_plan *plan,
                       const char *expected, size_t exp_len, bool xml)
{
    static const size_t chunks[] = {1, 0, 0, 0, 7, 4096, SIZE_MAX};
    char path[] = "/tmp/gw_relay_XXXXXX";
    char want[65], got[65];
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    write_file(path, expected, exp_len);
    hashlib_hex(path, want);
    if (xml)
        xmllint_ok(path);
    assert_int_equal(plan->in_len, in_len);
    assert_int_equal(plan->out_len, exp_len);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        uint8_t sha[32];
        size_t n;
        char *out = stream(in, in_len, plan, chunks[i], sha, &n);

        if (n != exp_len || memcmp(out, expected, n) != 0)
            fail_msg("chunk %zu: got\n%s\nexpected\n%s", chunks[i], out, expected);
        hex(sha, got);
        assert_string_equal(got, want);
        free(out);
    }
    unlink(path);
}

/* Offset of the end of the last occurrence of marker in s. */
static uint64_t after_last(const char *s, const char *marker)
{
    const char *p = NULL, *q = s;

    while ((q = strstr(q, marker)) != NULL)
        p = q++;
    assert_non_null(p);
    return (uint64_t)(p - s) + strlen(marker);
}

/* Every MessageHeader To (prefix "edXML:" or none) with the white space before it; organ id
 * from its first OrganId; a To with no OrganId has NULL. */
static size_t find_to(const char *s, struct gw_edxml_to_span *to, size_t max)
{
    size_t n = 0;
    const char *p = s;

    while (n < max) {
        const char *a = strstr(p, "<To"), *b = strstr(p, "<edXML:To");
        const char *t, *gt, *end, *id;
        bool pre;

        if (a && (a[3] != '>' && a[3] != '/' && a[3] != ' '))
            a = NULL;
        if (b && (b[9] != '>' && b[9] != '/' && b[9] != ' '))
            b = NULL;
        if (!a && !b)
            break;
        t = a && (!b || a < b) ? a : b;
        pre = t == b;
        gt = strchr(t, '>');
        if (gt[-1] == '/') {
            end = gt + 1;
        } else {
            end = strstr(t, pre ? "</edXML:To>" : "</To>");
            end += pre ? 11 : 5;
        }
        to[n].end = (uint64_t)(end - s);
        while (t > s && strchr(" \t\r\n", t[-1]))
            t--;
        to[n].start = (uint64_t)(t - s);
        to[n].organ_id = NULL;
        id = strstr(s + to[n].start, "OrganId>");
        if (id && id < end && id[-1] != '/') {
            const char *v = id + 8, *e = strchr(v, '<');
            if (e > v)
                to[n].organ_id = strndup(v, (size_t)(e - v));
        }
        n++;
        p = end;
    }
    return n;
}

static void free_to(struct gw_edxml_to_span *to, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(to[i].organ_id);
}

/* ---- literal packages ---- */

#define P1_HEAD                                                                                    \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<edXML:edXML xmlns:edXML=\"" NS "\">\n"                                                       \
    "  <edXML:edXMLEnvelope>\n"                                                                    \
    "    <edXML:edXMLHeader>\n"                                                                    \
    "      <edXML:MessageHeader>\n"                                                                \
    "        <edXML:From><edXML:OrganId>000.00.00.H41</edXML:OrganId></edXML:From>"
#define P1_TO1 "\n        <edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:To>"
#define P1_TO2                                                                                     \
    "\n        <edXML:To>\n"                                                                       \
    "          <edXML:OrganId>000.00.12.H41</edXML:OrganId>\n"                                     \
    "        </edXML:To>"
#define P1_TO3                                                                                     \
    "\n        <edXML:To><edXML:OrganId>000.00.00.H49</edXML:OrganId>"                             \
    "<edXML:OrganName>Tỉnh X &amp; Y</edXML:OrganName></edXML:To>"
#define P1_MID                                                                                     \
    "\n        <edXML:DocumentId>000.00.00.H41,2025/01/02,12/UBND-VP</edXML:DocumentId>\n"         \
    "      </edXML:MessageHeader>\n"                                                               \
    "      <edXML:TraceHeaderList>\n"                                                              \
    "        <edXML:TraceHeader><edXML:OrganId>000.00.00.H41</edXML:OrganId>"                      \
    "<edXML:Timestamp>2025/01/02 08:00:00</edXML:Timestamp></edXML:TraceHeader>"
#define P1_TAIL                                                                                    \
    "\n        <edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"                \
    "</edXML:Bussiness>\n"                                                                         \
    "      </edXML:TraceHeaderList>\n"                                                             \
    "    </edXML:edXMLHeader>\n"                                                                   \
    "    <edXML:edXMLBody><edXML:edXMLManifest/></edXML:edXMLBody>\n"                              \
    "  </edXML:edXMLEnvelope>\n"                                                                   \
    "  <edXML:AttachmentEncoded><edXML:Attachment><edXML:ContentTransferEncoded>JVBERi0="          \
    "</edXML:ContentTransferEncoded></edXML:Attachment></edXML:AttachmentEncoded>\n"               \
    "</edXML:edXML>\n"
#define P1_TRACE(organ)                                                                            \
    "\n        <edXML:TraceHeader><edXML:OrganId>" organ "</edXML:OrganId>"                        \
    "<edXML:Timestamp>" TS "</edXML:Timestamp></edXML:TraceHeader>"

static const char p1[] = P1_HEAD P1_TO1 P1_TO2 P1_TO3 P1_MID P1_TAIL;

static void relay_p1(struct gw_edxml_relay *r, struct gw_edxml_to_span *to)
{
    memset(r, 0, sizeof(*r));
    r->editable = true;
    r->n_to = find_to(p1, to, 8);
    assert_int_equal(r->n_to, 3);
    r->to = to;
    r->trace_mode = GW_EDXML_TRACE_AFTER_LAST;
    r->trace_at = after_last(p1, "</edXML:TraceHeader>");
    r->trace_prefix = "edXML";
    r->trace_indent = "\n        ";
}

static void test_after_last_trace(void **state)
{
    static const char provincial[] = P1_HEAD P1_TO2 P1_MID P1_TRACE(OWN) P1_TAIL;
    static const char national[] = P1_HEAD P1_TO1 P1_TO3 P1_MID P1_TRACE(OWN) P1_TAIL;
    static const char all[] = P1_HEAD P1_TO1 P1_TO2 P1_TO3 P1_MID P1_TRACE(OWN) P1_TAIL;
    static const char escaped[] = P1_HEAD P1_TO1 P1_MID P1_TRACE("A&amp;B&lt;C&gt;\"'") P1_TAIL;
    const char *k_prov[] = {"000.00.12.H41"};
    const char *k_nat[] = {"000.00.00.H49", "000.00.00.G22"};
    const char *k_all[] = {"000.00.00.G22", "000.00.12.H41", "000.00.00.H49"};
    struct gw_edxml_to_span to[8];
    struct gw_edxml_relay r;
    struct gw_edxml_plan plan;
    size_t len = sizeof(p1) - 1;

    relay_p1(&r, to);
    assert_int_equal(gw_edxml_plan_copy(&r, len, k_prov, 1, OWN, TS, &plan), 0);
    assert_int_equal(plan.n, 3);
    check_copy(p1, len, &plan, provincial, sizeof(provincial) - 1, true);
    gw_edxml_plan_free(&plan);

    assert_int_equal(gw_edxml_plan_copy(&r, len, k_nat, 2, OWN, TS, &plan), 0);
    check_copy(p1, len, &plan, national, sizeof(national) - 1, true);
    gw_edxml_plan_free(&plan);

    assert_int_equal(gw_edxml_plan_copy(&r, len, k_all, 3, OWN, TS, &plan), 0);
    assert_int_equal(plan.n, 1);
    check_copy(p1, len, &plan, all, sizeof(all) - 1, true);
    gw_edxml_plan_free(&plan);

    assert_int_equal(gw_edxml_plan_copy(&r, len, k_all, 1, "A&B<C>\"'", TS, &plan), 0);
    check_copy(p1, len, &plan, escaped, sizeof(escaped) - 1, true);
    gw_edxml_plan_free(&plan);
    free_to(to, r.n_to);
}

/* Unprefixed, a default namespace, unknown elements and attributes, a TraceHeaderList holding
 * only Bussiness, a To without OrganId (never kept) and a self-closing To. */
#define P2_HEAD                                                                                    \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"                                               \
    "<edXML xmlns=\"" NS "\" xmlns:x=\"urn:x\"><edXMLEnvelope><edXMLHeader>\r\n"                   \
    "\t<MessageHeader x:a=\"1\">\r\n"                                                              \
    "\t\t<From><OrganId>000.00.00.H41</OrganId></From>"
#define P2_TO1 "\r\n\t\t<To x:note=\"a&lt;b\"><OrganId> 000.00.00.G22 </OrganId><x:Extra/></To>"
#define P2_TO2 "\r\n\t\t<To><OrganName>Không có mã</OrganName></To>"
#define P2_TO3 "\r\n\t\t<To/>"
#define P2_TO4 "\t<To><OrganId>000.00.12.H41</OrganId></To>"
#define P2_MID                                                                                     \
    "\r\n\t\t<DocumentId>000.00.00.H41,2025/01/02,12/UBND-VP</DocumentId>\r\n"                     \
    "\t</MessageHeader>\r\n"                                                                       \
    "\t<TraceHeaderList>"
#define P2_TAIL                                                                                    \
    "\r\n\t\t<Bussiness><BussinessDocType>0</BussinessDocType><Paper>1</Paper></Bussiness>\r\n"    \
    "\t</TraceHeaderList>\r\n"                                                                     \
    "\t<x:Unknown>kept <![CDATA[as is]]></x:Unknown>\r\n"                                          \
    "</edXMLHeader><edXMLBody><edXMLManifest/></edXMLBody></edXMLEnvelope>"                        \
    "<AttachmentEncoded/></edXML>"
#define P2_TRACE                                                                                   \
    "\r\n\t\t<TraceHeader><OrganId>" OWN "</OrganId><Timestamp>" TS "</Timestamp></TraceHeader>"

static void test_first_in_list(void **state)
{
    static const char in[] = P2_HEAD P2_TO1 P2_TO2 P2_TO3 P2_TO4 P2_MID P2_TAIL;
    static const char nat[] = P2_HEAD P2_TO1 P2_MID P2_TRACE P2_TAIL;
    static const char prov[] = P2_HEAD P2_TO4 P2_MID P2_TRACE P2_TAIL;
    const char *k_nat[] = {"000.00.00.G22"};
    const char *k_prov[] = {"000.00.12.H41"};
    struct gw_edxml_to_span to[8];
    struct gw_edxml_relay r = {.editable = true};
    struct gw_edxml_plan plan;

    r.n_to = find_to(in, to, 8);
    assert_int_equal(r.n_to, 4);
    free(to[0].organ_id);
    to[0].organ_id = strdup("000.00.00.G22"); /* the reader's id is trimmed */
    assert_null(to[1].organ_id);
    assert_null(to[2].organ_id);
    r.to = to;
    r.trace_mode = GW_EDXML_TRACE_FIRST_IN_LIST;
    r.trace_at = after_last(in, "<TraceHeaderList>");
    r.trace_prefix = "";
    r.trace_indent = "\r\n\t\t";
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, k_nat, 1, OWN, TS, &plan), 0);
    check_copy(in, sizeof(in) - 1, &plan, nat, sizeof(nat) - 1, true);
    gw_edxml_plan_free(&plan);
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, k_prov, 1, OWN, TS, &plan), 0);
    check_copy(in, sizeof(in) - 1, &plan, prov, sizeof(prov) - 1, true);
    gw_edxml_plan_free(&plan);
    free_to(to, r.n_to);
}

/* A status package (no To at all) without TraceHeaderList: a new list after MessageHeader. */
#define P3_HEAD                                                                                    \
    "<?xml version=\"1.0\"?>\n<e:edXML xmlns:e=\"" NS "\"><e:edXMLEnvelope><e:edXMLHeader>\n"      \
    "  <e:MessageHeader><e:From><e:OrganId>000.00.12.H41</e:OrganId></e:From>"                     \
    "<e:ResponseFor><e:OrganId>000.00.00.G22</e:OrganId><e:DocumentId>000.00.00.G22,2025/01/02,"   \
    "1/VPCP</e:DocumentId></e:ResponseFor><e:StatusCode>01</e:StatusCode></e:MessageHeader>"
#define P3_TAIL "\n  <e:Signature/>\n</e:edXMLHeader><e:edXMLBody/></e:edXMLEnvelope></e:edXML>"
#define P3_TRACE                                                                                   \
    "\n  <e:TraceHeaderList><e:TraceHeader><e:OrganId>" OWN "</e:OrganId><e:Timestamp>" TS         \
    "</e:Timestamp></e:TraceHeader></e:TraceHeaderList>"

static void test_new_list_status(void **state)
{
    static const char in[] = P3_HEAD P3_TAIL;
    static const char out[] = P3_HEAD P3_TRACE P3_TAIL;
    const char *keep[] = {"000.00.00.G22"};
    struct gw_edxml_relay r = {.editable = true};
    struct gw_edxml_plan plan;

    r.trace_mode = GW_EDXML_TRACE_NEW_LIST;
    r.trace_at = after_last(in, "</e:MessageHeader>");
    r.trace_prefix = "e";
    r.trace_indent = "\n  ";
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, keep, 1, OWN, TS, &plan), 0);
    check_copy(in, sizeof(in) - 1, &plan, out, sizeof(out) - 1, true);
    gw_edxml_plan_free(&plan);
    /* No recipient list needed when there is no To. */
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, NULL, 0, OWN, TS, &plan), 0);
    check_copy(in, sizeof(in) - 1, &plan, out, sizeof(out) - 1, true);
    gw_edxml_plan_free(&plan);
}

/* A self-closing TraceHeaderList: its "/>" becomes ">" + our TraceHeader + the end tag, the
 * attributes kept; and a prefix not bound at the insertion point is declared on the element. */
static void test_empty_list_and_declare(void **state)
{
#define NSQ "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    static const char in[] = "<edXML xmlns=\"" NSQ "\"><edXMLEnvelope><edXMLHeader><MessageHeader/>"
                             "<TraceHeaderList a=\"1\" /></edXMLHeader></edXMLEnvelope></edXML>";
    static const char out[] =
        "<edXML xmlns=\"" NSQ "\"><edXMLEnvelope><edXMLHeader><MessageHeader/>"
        "<TraceHeaderList a=\"1\" ><TraceHeader><OrganId>" OWN "</OrganId><Timestamp>" TS
        "</Timestamp></TraceHeader></TraceHeaderList></edXMLHeader></edXMLEnvelope></edXML>";
    /* trace_prefix is the list's own prefix in this mode; here it is undeclared (recovered):
     * the inserted TraceHeader declares it */
    static const char in_decl[] =
        "<edXML xmlns=\"" NSQ "\"><edXMLEnvelope><edXMLHeader><MessageHeader/>"
        "<t:TraceHeaderList/></edXMLHeader></edXMLEnvelope></edXML>";
    static const char out_decl[] =
        "<edXML xmlns=\"" NSQ "\"><edXMLEnvelope><edXMLHeader><MessageHeader/>"
        "<t:TraceHeaderList><t:TraceHeader xmlns:t=\"" NSQ "\"><t:OrganId>" OWN
        "</t:OrganId><t:Timestamp>" TS "</t:Timestamp></t:TraceHeader></t:TraceHeaderList>"
        "</edXMLHeader></edXMLEnvelope></edXML>";
    struct gw_edxml_relay r = {.editable = true};
    struct gw_edxml_plan plan;

    (void)state;
    r.trace_mode = GW_EDXML_TRACE_IN_EMPTY_LIST;
    r.trace_at = after_last(in, "/></edXMLHeader>") - 16;
    r.trace_prefix = "";
    r.trace_indent = "";
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, NULL, 0, OWN, TS, &plan), 0);
    check_copy(in, sizeof(in) - 1, &plan, out, sizeof(out) - 1, true);
    gw_edxml_plan_free(&plan);
    r.trace_prefix = "t";
    r.trace_declare = true;
    r.trace_at = after_last(in_decl, "/></edXMLHeader>") - 16;
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in_decl) - 1, NULL, 0, OWN, TS, &plan), 0);
    check_copy(in_decl, sizeof(in_decl) - 1, &plan, out_decl, sizeof(out_decl) - 1, true);
    gw_edxml_plan_free(&plan);
    /* the two bytes replaced must lie inside the package */
    r.trace_at = sizeof(in) - 2;
    assert_int_equal(gw_edxml_plan_copy(&r, sizeof(in) - 1, NULL, 0, OWN, TS, &plan), GW_EINVAL);
}

/* Edits at the very end of the bytes (not XML: the arithmetic alone), and a trace placed at the
 * start of a removal, which joins it. */
static void test_edges(void **state)
{
    static const char in[] = "abcdefXYZ";
    static const char out[] =
        "abcdef<TraceHeader><OrganId>" OWN "</OrganId><Timestamp>" TS "</Timestamp></TraceHeader>";
    struct gw_edxml_to_span to[2] = {{"K", 0, 3}, {"X", 6, 9}};
    const char *keep[] = {"K"};
    struct gw_edxml_relay r = {.editable = true, .to = to, .n_to = 2, .trace_prefix = ""};
    struct gw_edxml_plan plan;

    r.trace_at = 9; /* after the removal that ends the bytes */
    assert_int_equal(gw_edxml_plan_copy(&r, 9, keep, 1, OWN, TS, &plan), 0);
    assert_int_equal(plan.n, 2);
    check_copy(in, 9, &plan, out, sizeof(out) - 1, false);
    gw_edxml_plan_free(&plan);
    r.trace_at = 6; /* at the removal's start */
    assert_int_equal(gw_edxml_plan_copy(&r, 9, keep, 1, OWN, TS, &plan), 0);
    assert_int_equal(plan.n, 1);
    check_copy(in, 9, &plan, out, sizeof(out) - 1, false);
    gw_edxml_plan_free(&plan);
    r.trace_at = 0; /* at the very start, before a kept To */
    r.trace_indent = " ";
    assert_int_equal(gw_edxml_plan_copy(&r, 9, keep, 1, OWN, TS, &plan), 0);
    {
        char want[256];
        snprintf(want, sizeof(want), " %sabcdef", out + 6);
        check_copy(in, 9, &plan, want, strlen(want), false);
    }
    gw_edxml_plan_free(&plan);
}

static void test_refusals(void **state)
{
    struct gw_edxml_to_span to[3] = {{"A", 0, 10}, {"B", 10, 20}, {NULL, 20, 25}};
    struct gw_edxml_relay r = {.editable = true, .to = to, .n_to = 3, .trace_at = 30};
    const char *a[] = {"A"}, *z[] = {"Z"}, *empty[] = {""}, *nul[] = {NULL};
    struct gw_edxml_plan plan;
    struct gw_edxml_apply ap;
    struct sink s = {.md = EVP_MD_CTX_new()};
    char buf[40] = {0};

    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), 0);
    assert_int_equal(plan.out_len,
                     40 - 15 +
                         strlen("<TraceHeader><OrganId>" OWN "</OrganId><Timestamp>" TS
                                "</Timestamp></TraceHeader>"));
    /* more bytes than planned, fewer bytes, emit errors passed through */
    assert_int_equal(EVP_DigestInit_ex(s.md, EVP_sha256(), NULL), 1);
    gw_edxml_apply_init(&ap, &plan);
    assert_int_equal(gw_edxml_apply_feed(&ap, buf, 41, emit, &s), GW_EINVAL);
    assert_int_equal(gw_edxml_apply_feed(&ap, buf, 39, emit, &s), 0);
    assert_int_equal(gw_edxml_apply_end(&ap, emit, &s), GW_EINVAL);
    s.fail_after = s.calls + 1;
    gw_edxml_apply_init(&ap, &plan);
    assert_int_equal(gw_edxml_apply_feed(&ap, buf, 40, emit, &s), -4242);
    gw_edxml_plan_free(&plan);
    r.trace_at = 40; /* the insertion comes out of apply_end */
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), 0);
    s.fail_after = 0;
    gw_edxml_apply_init(&ap, &plan);
    assert_int_equal(gw_edxml_apply_feed(&ap, buf, 40, emit, &s), 0);
    s.fail_after = 1;
    s.calls = 0;
    assert_int_equal(gw_edxml_apply_end(&ap, emit, &s), -4242);
    gw_edxml_plan_free(&plan);
    r.trace_at = 30;
    free(s.buf);
    EVP_MD_CTX_free(s.md);

    assert_int_equal(gw_edxml_plan_copy(&r, 40, z, 1, OWN, TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, empty, 1, OWN, TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, nul, 1, OWN, TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, NULL, 0, OWN, TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, "", TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, "a\nb", TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, "\xC3(", TS, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, NULL, &plan), GW_EINVAL);
    assert_int_equal(gw_edxml_plan_copy(&r, 24, a, 1, OWN, TS, &plan), GW_EINVAL);
    r.trace_at = 15; /* inside a To */
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), GW_EINVAL);
    r.trace_at = 30;
    r.trace_prefix = "a b";
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), GW_EINVAL);
    r.trace_prefix = "";
    r.trace_indent = "x";
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), GW_EINVAL);
    r.trace_indent = NULL;
    to[1].start = 5; /* overlapping spans */
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), GW_EINVAL);
    to[1].start = 10;
    r.editable = false;
    assert_int_equal(gw_edxml_plan_copy(&r, 40, a, 1, OWN, TS, &plan), GW_EINVAL);
    assert_null(plan.edits);
    gw_edxml_plan_free(&plan);
    gw_edxml_plan_free(NULL);
}

static void test_trace_time(void **state)
{
    char buf[32];

    gw_edxml_trace_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970/01/01 07:00:00");
    gw_edxml_trace_time(1735664400, buf, sizeof(buf)); /* 2024-12-31 17:00:00 UTC */
    assert_string_equal(buf, "2025/01/01 00:00:00");
    gw_edxml_trace_time(1709225999, buf, sizeof(buf)); /* 2024-02-29 16:59:59 UTC */
    assert_string_equal(buf, "2024/02/29 23:59:59");
    gw_edxml_trace_time(1709226000, buf, 20);
    assert_string_equal(buf, "2024/03/01 00:00:00");
}

/* Python's reference: drops every MessageHeader To whose first OrganId (trimmed) is not kept,
 * with the white space before it, and puts the TraceHeader after the last one, indented like it. */
static const char py_ref[] =
    "import re,sys\n"
    "d=open(sys.argv[1],'rb').read(); keep=set(sys.argv[3].split(','))\n"
    "own=sys.argv[4].encode(); ts=sys.argv[5].encode()\n"
    "def repl(m):\n"
    "    ids=re.findall(rb'<(?:\\w+:)?OrganId>(.*?)</(?:\\w+:)?OrganId>', m.group(0), re.S)\n"
    "    return m.group(0) if ids and ids[0].strip().decode() in keep else b''\n"
    "out=re.sub(rb'\\s*<((?:\\w+:)?)To(?=[\\s/>])(?:[^>]*/>|.*?</\\1To>)', repl, d, flags=re.S)\n"
    "last=list(re.finditer(rb'(\\s*)<((?:\\w+:)?)TraceHeader>.*?</\\2TraceHeader>', out, "
    "re.S))[-1]\n"
    "p=last.group(2); esc=own.replace(b'&',b'&amp;').replace(b'<',b'&lt;').replace(b'>',b'&gt;')\n"
    "t=last.group(1)+b'<'+p+b'TraceHeader><'+p+b'OrganId>'+esc+b'</'+p+b'OrganId><'+p+"
    "b'Timestamp>'+ts+b'</'+p+b'Timestamp></'+p+b'TraceHeader>'\n"
    "open(sys.argv[2],'wb').write(out[:last.end()]+t+out[last.end():])\n";

/* One To in one of three shapes. */
static int add_to(char *p, int shape, const char *id)
{
    switch (shape) {
    case 0:
        return sprintf(p, "\n      <edXML:To><edXML:OrganId>%s</edXML:OrganId></edXML:To>", id);
    case 1:
        return sprintf(
            p,
            "\n      <edXML:To>\n        <edXML:OrganId>%s</edXML:OrganId>\n"
            "        <edXML:OrganName>Sở &lt;%s&gt;</edXML:OrganName>\n      </edXML:To>",
            id, id);
    default:
        return sprintf(p,
                       "  <edXML:To a=\"x\"><edXML:OrganId>%s</edXML:OrganId>"
                       "<edXML:Email>a@b</edXML:Email></edXML:To>",
                       id);
    }
}

/* Many To elements in several shapes, random subsets kept, against the Python reference. */
static void test_python_reference(void **state)
{
    enum { N = 40 };
    char in_path[] = "/tmp/gw_relay_in_XXXXXX", out_path[] = "/tmp/gw_relay_out_XXXXXX";
    char ids[N][32], pkg[16384], *p = pkg;
    struct gw_edxml_to_span to[N];
    struct gw_edxml_relay r = {.editable = true};
    size_t n_to, len;
    int fd;

    srand(6);
    p += sprintf(p, "<?xml version=\"1.0\"?>\n<edXML:edXML xmlns:edXML=\"" NS
                    "\"><edXML:edXMLEnvelope><edXML:edXMLHeader>\n"
                    "    <edXML:MessageHeader>\n"
                    "      <edXML:From><edXML:OrganId>" OWN "</edXML:OrganId></edXML:From>");
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "000.%02d.%02d.H41", i % 7, i);
        p += add_to(p, i % 3, ids[i]);
    }
    p += sprintf(p, "\n      <edXML:ToPlaces><edXML:Place>Hà Nội</edXML:Place></edXML:ToPlaces>"
                    "\n    </edXML:MessageHeader>\n    <edXML:TraceHeaderList>"
                    "\n      <edXML:TraceHeader><edXML:OrganId>null</edXML:OrganId>"
                    "<edXML:Timestamp>2025/01/02 08:00:00</edXML:Timestamp></edXML:TraceHeader>"
                    "\n      <edXML:TraceHeader><edXML:OrganId/><edXML:Timestamp>2025/01/02 "
                    "08:00:01</edXML:Timestamp></edXML:TraceHeader>"
                    "\n    </edXML:TraceHeaderList>\n  </edXML:edXMLHeader></edXML:edXMLEnvelope>"
                    "\n</edXML:edXML>");
    len = (size_t)(p - pkg);
    n_to = find_to(pkg, to, N);
    assert_int_equal(n_to, N);
    r.to = to;
    r.n_to = n_to;
    r.trace_at = after_last(pkg, "</edXML:TraceHeader>");
    r.trace_prefix = "edXML";
    r.trace_indent = "\n      ";
    fd = mkstemp(in_path);
    assert_true(fd >= 0);
    close(fd);
    fd = mkstemp(out_path);
    assert_true(fd >= 0);
    close(fd);
    write_file(in_path, pkg, len);
    for (int round = 0; round < 12; round++) {
        const char *keep[N];
        char list[N * 32] = "", cmd[sizeof(py_ref) + sizeof(list) + 256], *q;
        size_t n_keep = 0, exp_len;
        struct gw_edxml_plan plan;
        const char *own = round % 4 == 3 ? "A&B<C>" : OWN;
        FILE *py;

        for (int i = 0; i < N; i++)
            if (rand() % (round + 2) == 0 || (round == 0 && i == N - 1))
                keep[n_keep++] = ids[i];
        if (n_keep == 0)
            keep[n_keep++] = ids[round];
        for (size_t i = 0; i < n_keep; i++) {
            strcat(list, keep[i]);
            strcat(list, i + 1 < n_keep ? "," : "");
        }
        snprintf(cmd, sizeof(cmd), "python3 - %s %s %s '%s' '%s'", in_path, out_path, list, own,
                 TS);
        py = popen(cmd, "w");
        assert_non_null(py);
        fputs(py_ref, py);
        assert_int_equal(pclose(py), 0);
        q = read_file(out_path, &exp_len);
        assert_int_equal(gw_edxml_plan_copy(&r, len, keep, n_keep, own, TS, &plan), 0);
        check_copy(pkg, len, &plan, q, exp_len, true);
        gw_edxml_plan_free(&plan);
        free(q);
    }
    unlink(in_path);
    unlink(out_path);
    free_to(to, n_to);
}

/* Random bytes, random spans and keep sets, random trace points: the streamed copy equals a
 * naive one made by copying the kept pieces, in every chunking. */
static void test_random_plans(void **state)
{
    srand(102);
    for (int iter = 0; iter < 400; iter++) {
        char in[300], want[700], ids[8][4];
        const char *keep[8];
        struct gw_edxml_to_span to[8];
        struct gw_edxml_relay r = {.editable = true, .to = to, .trace_prefix = "p"};
        struct gw_edxml_plan plan;
        size_t len = (size_t)(rand() % 300), n_keep = 0, w = 0;
        uint64_t pos = 0, trace_at;
        char text[200];
        int tl;

        for (size_t i = 0; i < len; i++)
            in[i] = (char)('a' + rand() % 26);
        for (int i = 0; i < 8 && pos < len; i++) {
            uint64_t start = pos + (uint64_t)(rand() % 20), end = start + (uint64_t)(rand() % 20);
            if (end > len)
                break;
            snprintf(ids[i], sizeof(ids[i]), "%c%d", 'A' + i, i);
            to[r.n_to] = (struct gw_edxml_to_span){ids[i], start, end};
            if (rand() % 2 || r.n_to == 0)
                keep[n_keep++] = ids[i];
            r.n_to++;
            pos = end;
        }
        /* a trace point outside every span's inside */
        do {
            trace_at = (uint64_t)(rand() % ((int)len + 1));
            bool inside = false;
            for (size_t i = 0; i < r.n_to; i++)
                inside |= trace_at > to[i].start && trace_at < to[i].end;
            if (!inside)
                break;
        } while (1);
        r.trace_at = trace_at;
        r.trace_indent = iter % 2 ? "\n  " : "";
        tl = snprintf(text, sizeof(text),
                      "%s<p:TraceHeader><p:OrganId>" OWN "</p:OrganId><p:Timestamp>" TS
                      "</p:Timestamp></p:TraceHeader>",
                      r.trace_indent);
        for (uint64_t i = 0; i <= len; i++) {
            bool removed = false;
            if (i == trace_at) {
                memcpy(want + w, text, (size_t)tl);
                w += (size_t)tl;
            }
            if (i == len)
                break;
            for (size_t k = 0; k < r.n_to; k++) {
                bool kept = false;
                for (size_t j = 0; j < n_keep; j++)
                    kept |= keep[j] == to[k].organ_id;
                removed |= !kept && i >= to[k].start && i < to[k].end;
            }
            if (!removed)
                want[w++] = in[i];
        }
        if (r.n_to == 0) {
            assert_int_equal(gw_edxml_plan_copy(&r, len, NULL, 0, OWN, TS, &plan), 0);
        } else {
            assert_int_equal(gw_edxml_plan_copy(&r, len, keep, n_keep, OWN, TS, &plan), 0);
        }
        assert_int_equal(plan.out_len, w);
        for (int c = 0; c < 3; c++) {
            uint8_t sha[32];
            size_t n;
            char *out = stream(in, len, &plan, c == 0 ? 1 : c == 1 ? 0 : SIZE_MAX, sha, &n);
            assert_int_equal(n, w);
            assert_memory_equal(out, want, w);
            free(out);
        }
        gw_edxml_plan_free(&plan);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_last_trace),
        cmocka_unit_test(test_first_in_list),
        cmocka_unit_test(test_new_list_status),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_trace_time),
        cmocka_unit_test(test_python_reference),
        cmocka_unit_test(test_random_plans),
        cmocka_unit_test(test_empty_list_and_declare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
