/*
 * Table-driven tests of the streaming edXML reader over the fixture corpus of
 * tests/fixtures/edxml/reader (built from domain.md by make.py, which also computes every
 * expected value, byte offset and hash in Python, independently of this code): each fixture is
 * read whole and in 1-byte, 7-byte and 64 KiB chunks, and every expected field must match in each
 * chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "edxml/edxml_reader.h"
#include "util/error.h"

#define DIR GW_SOURCE_DIR "/tests/fixtures/edxml/reader/"

struct row {
    char *file, *field, *value;
};

static struct row *rows;
static size_t n_rows;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

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

static void load_rows(void)
{
    size_t len;
    char *text = slurp(DIR "expected.tsv", &len), *line, *save = NULL;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *a = line, *b, *c;
        if (*line == '#')
            continue;
        b = strchr(a, '\t');
        assert_non_null(b);
        *b++ = '\0';
        c = strchr(b, '\t');
        assert_non_null(c);
        *c++ = '\0';
        rows = realloc(rows, (n_rows + 1) * sizeof(*rows));
        assert_non_null(rows);
        rows[n_rows].file = strdup(a);
        rows[n_rows].field = strdup(b);
        rows[n_rows].value = strdup(c);
        n_rows++;
    }
    free(text);
}

static const char *s(const char *v)
{
    return v ? v : "(null)";
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void join(char **v, size_t n, char sep, char *out, size_t cap)
{
    size_t k = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? (char[]){sep, 0} : "", v[i]);
}

static const char *org_field(const struct gw_edxml_org *o, const char *f)
{
    if (!strcmp(f, "organ_id"))
        return s(o->organ_id);
    if (!strcmp(f, "organ_name"))
        return s(o->organ_name);
    if (!strcmp(f, "organization_in_charge"))
        return s(o->organization_in_charge);
    if (!strcmp(f, "organ_add"))
        return s(o->organ_add);
    if (!strcmp(f, "email"))
        return s(o->email);
    if (!strcmp(f, "telephone"))
        return s(o->telephone);
    if (!strcmp(f, "fax"))
        return s(o->fax);
    if (!strcmp(f, "website"))
        return s(o->website);
    return "?";
}

/* The value of one expected.tsv field in doc, as text. */
static const char *get(const struct gw_edxml_doc *d, const char *f, char *b, size_t n)
{
    unsigned i;
    char sub[64];

#define STR(name, expr)                                                                            \
    if (!strcmp(f, name))                                                                          \
        return s(expr);
#define NUM(name, expr)                                                                            \
    if (!strcmp(f, name)) {                                                                        \
        snprintf(b, n, "%lld", (long long)(expr));                                                 \
        return b;                                                                                  \
    }
    STR("kind", d->kind == GW_KIND_STATUS ? "status" : "edoc");
    STR("document_id", d->document_id);
    STR("from", d->from);
    if (!strcmp(f, "recipients")) {
        join(d->recipients, d->n_recipients, ',', b, n);
        return b;
    }
    if (!strcmp(f, "to_places")) {
        join(d->to_places, d->n_to_places, '|', b, n);
        return b;
    }
    if (!strcmp(f, "appendixes")) {
        join(d->appendixes, d->n_appendixes, '|', b, n);
        return b;
    }
    if (!strncmp(f, "sender.", 7))
        return org_field(&d->sender, f + 7);
    if (sscanf(f, "to[%u].%63s", &i, sub) == 2)
        return i < d->n_to ? org_field(&d->to[i], sub) : "?";
    NUM("n_to", d->n_to);
    STR("code.number", d->code.number);
    STR("code.notation", d->code.notation);
    STR("promulgation_place", d->promulgation_place);
    STR("promulgation_date", d->promulgation_date);
    STR("document_type", d->document_type);
    STR("document_type_detail", d->document_type_detail);
    STR("document_type_name", d->document_type_name);
    STR("subject", d->subject);
    STR("content", d->content);
    NUM("subject_len", d->subject ? strlen(d->subject) : 0);
    STR("signer_competence", d->signer_competence);
    STR("signer_position", d->signer_position);
    STR("signer_full_name", d->signer_full_name);
    STR("due_date", d->due_date);
    NUM("priority", d->priority);
    STR("sphere_of_promulgation", d->sphere_of_promulgation);
    STR("typer_notation", d->typer_notation);
    STR("promulgation_amount", d->promulgation_amount);
    STR("page_amount", d->page_amount);
    STR("direction", d->direction);
    NUM("steering_type", d->steering_type);
    NUM("n_response_for", d->n_response_for);
    if (sscanf(f, "response_for[%u].%63s", &i, sub) == 2 && i < d->n_response_for) {
        const struct gw_edxml_response_for *r = &d->response_for[i];
        return s(!strcmp(sub, "organ_id")            ? r->organ_id
                 : !strcmp(sub, "code")              ? r->code
                 : !strcmp(sub, "promulgation_date") ? r->promulgation_date
                                                     : r->document_id);
    }
    STR("status_code", d->status_code);
    STR("status_description", d->status_description);
    STR("status_timestamp", d->status_timestamp);
    STR("status_staff.staff", d->status_staff.staff);
    STR("status_staff.mobile", d->status_staff.mobile);
    NUM("n_traces", d->n_traces);
    if (sscanf(f, "traces[%u].%63s", &i, sub) == 2 && i < d->n_traces)
        return s(!strcmp(sub, "organ_id") ? d->traces[i].organ_id : d->traces[i].timestamp);
    NUM("business.present", d->business.present);
    NUM("business.doc_type", d->business.doc_type);
    NUM("business.paper", d->business.paper);
    STR("business.reason", d->business.reason);
    STR("business.document_id", d->business.document_id);
    STR("business.staff.department", d->business.staff.department);
    STR("business.staff.staff", d->business.staff.staff);
    STR("business.staff.email", d->business.staff.email);
    STR("business.staff.mobile", d->business.staff.mobile);
    NUM("business.has_document_info", d->business.has_document_info);
    NUM("business.document_info", d->business.document_info);
    NUM("business.document_receiver", d->business.document_receiver);
    NUM("business.n_receivers", d->business.n_receivers);
    NUM("business.n_replacements", d->business.n_replacements);
    if (sscanf(f, "business.receivers[%u].%63s", &i, sub) == 2 && i < d->business.n_receivers)
        return s(!strcmp(sub, "organ_id") ? d->business.receivers[i].organ_id
                                          : d->business.receivers[i].receiver_type);
    if (sscanf(f, "business.replacements[%u].%63s", &i, sub) == 2 &&
        i < d->business.n_replacements) {
        if (!strcmp(sub, "document_id"))
            return s(d->business.replacements[i].document_id);
        join(d->business.replacements[i].organ_ids, d->business.replacements[i].n_organ_ids, '|', b,
             n);
        return b;
    }
    NUM("n_references", d->n_references);
    if (sscanf(f, "references[%u].%63s", &i, sub) == 2 && i < d->n_references)
        return s(!strcmp(sub, "content_id") ? d->references[i].content_id
                                            : d->references[i].content_type);
    NUM("n_attachments", d->n_attachments);
    if (sscanf(f, "att[%u].%63s", &i, sub) == 2 && i < d->n_attachments) {
        const struct gw_edxml_attachment *a = &d->attachments[i];
        if (!strcmp(sub, "sha256") || !strcmp(sub, "unwrapped_sha256")) {
            hex(!strcmp(sub, "sha256") ? a->sha256 : a->unwrapped_sha256, 32, b);
            return b;
        }
        if (!strcmp(sub, "b64_offset") || !strcmp(sub, "b64_len") || !strcmp(sub, "size") ||
            !strcmp(sub, "unwrapped") || !strcmp(sub, "unwrapped_size")) {
            snprintf(b, n, "%llu",
                     (unsigned long long)(!strcmp(sub, "b64_offset")  ? a->b64_offset
                                          : !strcmp(sub, "b64_len")   ? a->b64_len
                                          : !strcmp(sub, "size")      ? a->size
                                          : !strcmp(sub, "unwrapped") ? (uint64_t)a->unwrapped
                                                                      : a->unwrapped_size));
            return b;
        }
        return s(!strcmp(sub, "content_type")    ? a->content_type
                 : !strcmp(sub, "name")          ? a->name
                 : !strcmp(sub, "manifest_type") ? a->manifest_type
                 : !strcmp(sub, "entry_name")    ? a->entry_name
                                                 : a->detected_type);
    }
    NUM("size", d->size);
    if (!strcmp(f, "sha256")) {
        hex(d->sha256, 32, b);
        return b;
    }
    NUM("header_start", d->header_start);
    NUM("header_end", d->header_end);
    if (!strcmp(f, "header_xml_sha256")) {
        uint8_t md[32];
        unsigned ml = 32;
        if (!d->header_xml)
            return "(null)";
        EVP_Digest(d->header_xml, d->header_xml_len, md, &ml, EVP_sha256(), NULL);
        hex(md, 32, b);
        return b;
    }
    NUM("relay.editable", d->relay.editable);
    NUM("relay.xmldsig", d->relay.xmldsig);
    STR("relay.not_editable", d->relay.not_editable);
    NUM("relay.n_to", d->relay.n_to);
    NUM("relay.trace_mode", d->relay.trace_mode);
    NUM("relay.trace_at", d->relay.trace_at);
    STR("relay.trace_prefix", d->relay.trace_prefix);
    if (!strcmp(f, "relay.trace_indent_hex")) {
        hex((const uint8_t *)d->relay.trace_indent, strlen(d->relay.trace_indent), b);
        return b;
    }
    if (sscanf(f, "relay.to[%u].%63s", &i, sub) == 2 && i < d->relay.n_to) {
        snprintf(b, n, "%llu",
                 (unsigned long long)(!strcmp(sub, "start") ? d->relay.to[i].start
                                                            : d->relay.to[i].end));
        return b;
    }
    return "?unknown field";
#undef STR
#undef NUM
}

static const char *err_name(int rc)
{
    switch (rc) {
    case GW_EPARSE:
        return "GW_EPARSE";
    case GW_ENOTEDXML:
        return "GW_ENOTEDXML";
    case GW_ENORCPT:
        return "GW_ENORCPT";
    case GW_E2BIG:
        return "GW_E2BIG";
    case GW_ELIMIT:
        return "GW_ELIMIT";
    default:
        return "other";
    }
}

/* Reads buf in chunks of chunk bytes (0 = whole). */
static int read_chunked(const char *buf, size_t len, size_t chunk, struct gw_edxml_doc **doc,
                        const char **code, char *msg, size_t msglen)
{
    struct gw_edxml_reader *r = gw_edxml_reader_new(NULL);
    int rc = 0;

    assert_non_null(r);
    for (size_t off = 0; off < len && rc == 0;) {
        size_t k = chunk == 0 || len - off < chunk ? len - off : chunk;
        rc = gw_edxml_reader_feed(r, buf + off, k);
        off += k;
    }
    rc = gw_edxml_reader_finish(r, doc, code, msg, msglen);
    gw_edxml_reader_free(r);
    return rc;
}

static void check_fixture(const char *file, size_t first, size_t last)
{
    static const size_t chunks[] = {0, 1, 7, 65536};
    char path[512], msg[256], got[4096], b[8192];
    size_t len;
    char *buf;
    int bad = 0;

    snprintf(path, sizeof(path), DIR "%s", file);
    buf = slurp(path, &len);
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        struct gw_edxml_doc *doc = NULL;
        const char *code = NULL;
        int rc = read_chunked(buf, len, chunks[c], &doc, &code, msg, sizeof(msg));

        if (rc == 0)
            snprintf(got, sizeof(got), "ok");
        else
            snprintf(got, sizeof(got), "%s:%s", err_name(rc), code ? code : "");
        for (size_t i = first; i < last; i++) {
            const char *want = rows[i].value, *have;
            if (!strcmp(rows[i].field, "rc")) {
                have = got;
            } else if (!doc) {
                continue;
            } else if (!strcmp(rows[i].field, "finding_at")) {
                have = "(absent)";
                for (size_t k = 0; k < doc->n_findings; k++) {
                    snprintf(b, sizeof(b), "%s@%s", doc->findings[k].code, doc->findings[k].xpath);
                    if (!strcmp(b, want))
                        have = want;
                }
            } else if (!strcmp(rows[i].field, "finding")) {
                have = "(absent)";
                for (size_t k = 0; k < doc->n_findings; k++) {
                    if (!strcmp(doc->findings[k].code, want))
                        have = want;
                }
            } else {
                have = get(doc, rows[i].field, b, sizeof(b));
            }
            if (strcmp(have, want) != 0) {
                print_error("%s (chunk %zu): %s = \"%s\", expected \"%s\" [%s]\n", file, chunks[c],
                            rows[i].field, have, want, rc ? msg : "");
                bad++;
            }
        }
        if (doc) {
            gw_edxml_doc_free(doc);
            free(doc);
        }
    }
    free(buf);
    assert_int_equal(bad, 0);
}

static void test_corpus(void **state)
{
    size_t i = 0, fixtures = 0;

    load_rows();
    assert_true(n_rows > 300);
    while (i < n_rows) {
        size_t j = i;
        while (j < n_rows && !strcmp(rows[j].file, rows[i].file))
            j++;
        check_fixture(rows[i].file, i, j);
        fixtures++;
        i = j;
    }
    assert_true(fixtures >= 50);
    for (i = 0; i < n_rows; i++) {
        free(rows[i].file);
        free(rows[i].field);
        free(rows[i].value);
    }
    free(rows);
}

/* 300 000 attributes on one element, fed 7 bytes at a time: the resumable pre-scan refuses at the
 * cap, and the refusal is sticky for later feeds. */
static void test_attribute_flood_chunked(void **state)
{
    static const char head[] = "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"";
    size_t n = 300000, len = 0;
    char *x = malloc(n * 16 + 64), msg[200];
    struct gw_edxml_reader *r = gw_edxml_reader_new(NULL);
    struct gw_edxml_doc *doc = NULL;
    const char *code = NULL;
    int rc = 0;
    size_t off;

    assert_non_null(x);
    assert_non_null(r);
    len = (size_t)sprintf(x, "%s", head);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(x + len, " a%zu=\"1\"", i);
    len += (size_t)sprintf(x + len, "/>");
    for (off = 0; off < len && rc == 0; off += 7)
        rc = gw_edxml_reader_feed(r, x + off, len - off < 7 ? len - off : 7);
    assert_int_equal(rc, GW_EPARSE);
    assert_true(off < 64 * 1024); /* stopped at the cap, not at the end */
    assert_int_equal(gw_edxml_reader_feed(r, "<a/>", 4), GW_EPARSE);
    assert_int_equal(gw_edxml_reader_finish(r, &doc, &code, msg, sizeof(msg)), GW_EPARSE);
    assert_null(doc);
    assert_string_equal(code, "too_many_attributes");
    assert_true(strncmp(msg, "too_many_attributes: ", 21) == 0);
    gw_edxml_reader_free(r);
    free(x);
}

/* A 2 MB package read in one piece still yields the header copy (the prefix kept for it is cut
 * at its cap, not dropped). */
static void test_header_copy_whole_buffer(void **state)
{
    static const char head[] =
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader>"
        "<MessageHeader><From><OrganId>A</OrganId></From><To><OrganId>B</OrganId></To>"
        "<DocumentId>d</DocumentId></MessageHeader></edXMLHeader></edXMLEnvelope>"
        "<AttachmentEncoded><Attachment><ContentTransferEncoded>";
    static const char tail[] = "</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>";
    size_t big = 2u * 1024 * 1024, hl = strlen(head), len = hl + big + strlen(tail);
    char *x = malloc(len + 1), msg[200];
    struct gw_edxml_doc *doc = NULL;
    const char *h0 = strstr(head, "<edXMLHeader>"), *h1 = strstr(head, "</edXMLHeader>");

    assert_non_null(x);
    memcpy(x, head, hl);
    memset(x + hl, 'A', big);
    strcpy(x + hl + big, tail);
    assert_int_equal(gw_edxml_read(x, len, NULL, &doc, NULL, msg, sizeof(msg)), 0);
    assert_non_null(doc->header_xml);
    assert_int_equal(doc->header_xml_len, (size_t)(h1 + strlen("</edXMLHeader>") - h0));
    assert_memory_equal(doc->header_xml, h0, doc->header_xml_len);
    assert_int_equal(doc->attachments[0].size, big / 4 * 3);
    gw_edxml_doc_free(doc);
    free(doc);
    free(x);
}

/* Field text is bounded in total: 150 appendixes of 64 KiB are a local limit, not a verdict. */
static void test_text_budget(void **state)
{
    static const char head[] = "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"
                               "<edXMLEnvelope><edXMLHeader><MessageHeader><OtherInfo><Appendixes>";
    size_t cap = 150 * (65536 + 32) + 256, len;
    char *x = malloc(cap), msg[200];
    struct gw_edxml_doc *doc = NULL;
    const char *code = NULL;

    assert_non_null(x);
    len = (size_t)sprintf(x, "%s", head);
    for (int i = 0; i < 150; i++) {
        len += (size_t)sprintf(x + len, "<Appendix>");
        memset(x + len, 'a', 65536);
        len += 65536;
        len += (size_t)sprintf(x + len, "</Appendix>");
    }
    len += (size_t)sprintf(x + len, "</Appendixes></OtherInfo></MessageHeader></edXMLHeader>"
                                    "</edXMLEnvelope></edXML>");
    assert_int_equal(gw_edxml_read(x, len, NULL, &doc, &code, msg, sizeof(msg)), GW_ELIMIT);
    assert_string_equal(code, "too_much_text");
    free(x);
}

/* no_package_sha256 (a caller that hashes the same bytes itself, as the copy's check does):
 * the package's hash is left zero, everything else read as with the default, the attachments'
 * hashes included (the values of expected.tsv, computed by make.py). */
static void test_no_package_sha256(void **state)
{
    static const uint8_t zero[32];
    struct gw_edxml_reader_opts o;
    struct gw_edxml_doc *with = NULL, *without = NULL;
    char msg[200], h[65];
    size_t len;
    char *buf = slurp(DIR "full_unprefixed.xml", &len);

    (void)state;
    assert_non_null(buf);
    gw_edxml_reader_opts_default(&o);
    assert_int_equal(gw_edxml_read(buf, len, &o, &with, NULL, msg, sizeof(msg)), 0);
    o.no_package_sha256 = true;
    assert_int_equal(gw_edxml_read(buf, len, &o, &without, NULL, msg, sizeof(msg)), 0);
    hex(with->sha256, 32, h);
    assert_string_equal(h, "7ba73a03934b566a0906ab2acd485574d0ce78786f3a33eddb3aacc613bb20f8");
    assert_memory_equal(without->sha256, zero, 32);
    assert_int_equal(without->size, len);
    assert_int_equal(without->n_attachments, 2);
    hex(without->attachments[0].sha256, 32, h);
    assert_string_equal(h, "69fb19cf2897314352b389e1b0641b720a32955e407bd4056ee160c824527a8d");
    hex(without->attachments[1].sha256, 32, h);
    assert_string_equal(h, "5f650323ee667875f9facb3a8ceb32791dcbda7a55c1a07fd7a2fea13cdf2cea");
    assert_int_equal(without->n_recipients, with->n_recipients);
    gw_edxml_doc_free(with);
    gw_edxml_doc_free(without);
    free(with);
    free(without);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_attribute_flood_chunked),
        cmocka_unit_test(test_text_budget),
        cmocka_unit_test(test_header_copy_whole_buffer),
        cmocka_unit_test(test_no_package_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
