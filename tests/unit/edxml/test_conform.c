/*
 * Unit tests for the conformance checks (edxml_conform.c, edxml_conform_att.c) on hand-built
 * documents: a conforming edoc and status package produce no finding, and each mutation taken from
 * domain.md §2–4 (real-traffic quirks included) produces exactly its expected code at its XPath,
 * never a refusal. Also DocumentId normalisation and gw_edxml_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doc_stub.h"
#include "edxml/edxml_conform.h"
#include "util/utf8.h"

#define MH  "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
#define TL  "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList"
#define REF "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"
#define ATT "/edXML/AttachmentEncoded/Attachment"

/* 2024-05-20 00:00:00 in Vietnam (UTC+7). */
#define NOW_VN_MIDNIGHT 1716138000

#define S(x) ((char *)(x))

static struct gw_edxml_org to[2];
static struct gw_edxml_trace traces[2];
static struct gw_edxml_reference refs[2];
static struct gw_edxml_attachment atts[2];
static struct gw_edxml_response_for rf[1];

static void base_edoc(struct gw_edxml_doc *d)
{
    memset(d, 0, sizeof(*d));
    memset(to, 0, sizeof(to));
    memset(traces, 0, sizeof(traces));
    memset(refs, 0, sizeof(refs));
    memset(atts, 0, sizeof(atts));
    d->kind = GW_KIND_EDOC;
    d->document_id = S("000.00.12.H49,2024/05/15,1234/STC-NS");
    d->from = S("000.00.12.H49");
    d->sender.organ_id = S("000.00.12.H49");
    d->sender.organ_name = S("Sở Tài chính");
    to[0].organ_id = S("000.00.00.G22");
    to[0].organ_name = S("Văn phòng Chính phủ");
    to[1].organ_id = S("H37.DN.001");
    to[1].organ_name = S("Ủy ban nhân dân tỉnh");
    d->to = to;
    d->n_to = 2;
    d->code.number = S("1234");
    d->code.notation = S("STC-NS");
    d->promulgation_date = S("2024/05/15");
    d->subject = S("V/v bổ sung kinh phí");
    d->due_date = S("2024/06/15");
    d->priority = 1;
    d->steering_type = 0;
    traces[0].organ_id = S("000.00.12.H49");
    traces[0].timestamp = S("2024/05/15 09:30:00");
    d->traces = traces;
    d->n_traces = 1;
    d->business.present = true;
    d->business.paper = 0;
    d->business.document_info = -1;
    d->business.document_receiver = -1;
    refs[0].content_id = S("cid:att1");
    refs[0].content_type = S("application/pdf");
    refs[0].attachment_name = S("1234_STC-NS.pdf");
    d->references = refs;
    d->n_references = 1;
    atts[0].content_id = S("att1");
    atts[0].name = S("1234_STC-NS.pdf");
    atts[0].content_type = S("application/pdf");
    atts[0].manifest_type = S("application/pdf");
    strcpy(atts[0].detected_type, "application/pdf");
    atts[0].size = 1000;
    d->attachments = atts;
    d->n_attachments = 1;
}

static void base_status(struct gw_edxml_doc *d)
{
    memset(d, 0, sizeof(*d));
    memset(rf, 0, sizeof(rf));
    d->kind = GW_KIND_STATUS;
    d->sender.organ_id = S("000.00.00.G22");
    d->from = d->sender.organ_id;
    rf[0].organ_id = S("000.00.12.H49");
    rf[0].document_id = S("000.00.12.H49,2024/05/15,1234/STC-NS");
    rf[0].promulgation_date = S("2024/05/15");
    d->response_for = rf;
    d->n_response_for = 1;
    d->document_id = rf[0].document_id;
    d->status_code = S("03");
    d->status_timestamp = S("2024/05/16 08:00:00");
    d->priority = -1;
    d->steering_type = -1;
    d->business.paper = -1;
}

struct mcase {
    const char *name;
    void (*base)(struct gw_edxml_doc *);
    void (*mutate)(struct gw_edxml_doc *);
    const char *code; /* NULL: no finding at all */
    const char *xpath;
    enum gw_edxml_severity sev;
    int64_t now; /* 0: NOW_VN_MIDNIGHT */
};

static void m_none(struct gw_edxml_doc *d)
{
    (void)d;
}
static void m_docid_impossible(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2014/02/30,1234/STC-NS");
}
static void m_docid_dash(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024-05-15,1234/STC-NS");
}
static void m_docid_sender(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.13.H49,2024/05/15,1234/STC-NS");
}
static void m_docid_lower(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.h49,2024/05/15,1234/STC-NS");
}
static void m_docid_uuid(struct gw_edxml_doc *d)
{
    d->document_id = S("6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b");
}
static void m_docid_shape(struct gw_edxml_doc *d)
{
    d->document_id = S("1234/STC-NS");
}
static void m_docid_noslash(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024/05/15,1234");
}
static void m_docid_code(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024/05/15,1235/STC-NS");
}
static void m_docid_date(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024/05/14,1234/STC-NS");
}
static void m_prom_future(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024/05/21,1234/STC-NS");
    d->promulgation_date = S("2024/05/21");
}
static void m_prom_today(struct gw_edxml_doc *d)
{
    d->document_id = S("000.00.12.H49,2024/05/20,1234/STC-NS");
    d->promulgation_date = S("2024/05/20");
}
static void m_prom_format(struct gw_edxml_doc *d)
{
    d->promulgation_date = S("15/05/2024");
}
static void m_prom_empty(struct gw_edxml_doc *d)
{
    d->promulgation_date = S("");
}
static void m_due_impossible(struct gw_edxml_doc *d)
{
    d->due_date = S("2024/13/01");
}
static void m_due_leap(struct gw_edxml_doc *d)
{
    d->due_date = S("2024/02/29");
}
static void m_due_noleap(struct gw_edxml_doc *d)
{
    d->due_date = S("2023/02/29");
}
static void m_priority(struct gw_edxml_doc *d)
{
    d->priority = 5;
}
static void m_priority_absent(struct gw_edxml_doc *d)
{
    d->priority = -1;
    d->steering_type = -1;
    d->business.paper = -1;
}
static void m_priority4(struct gw_edxml_doc *d)
{
    d->priority = 4;
    d->steering_type = 2;
    d->business.paper = 1;
}
static void m_steering(struct gw_edxml_doc *d)
{
    d->steering_type = 3;
}
static void m_paper(struct gw_edxml_doc *d)
{
    d->business.paper = 2;
}
static void m_no_business(struct gw_edxml_doc *d)
{
    memset(&d->business, 0, sizeof(d->business));
    d->business.paper = -1;
}
static void m_from_id(struct gw_edxml_doc *d)
{
    d->sender.organ_id = S("01.02.G22");
    d->from = d->sender.organ_id;
    d->document_id = S("01.02.G22,2024/05/15,1234/STC-NS");
}
static void m_to_saas(struct gw_edxml_doc *d)
{
    to[1].organ_id = S("vxp.saas.03");
}
static void m_to_three(struct gw_edxml_doc *d)
{
    to[0].organ_id = S("28.22.H17");
}
static void m_trace_null(struct gw_edxml_doc *d)
{
    traces[1].organ_id = NULL;
    traces[1].timestamp = S("2024/05/15 10:00:00");
    d->n_traces = 2;
}
static void m_trace_ts(struct gw_edxml_doc *d)
{
    traces[0].timestamp = S("2024/05/15");
}
static void m_trace_hour(struct gw_edxml_doc *d)
{
    traces[0].timestamp = S("2024/05/15 24:00:00");
}
static void m_to_name(struct gw_edxml_doc *d)
{
    to[0].organ_name = S("");
}
static void m_subject(struct gw_edxml_doc *d)
{
    d->subject = NULL;
}
static void m_ref_orphan(struct gw_edxml_doc *d)
{
    refs[1] = refs[0];
    refs[1].content_id = S("cid:att2");
    d->n_references = 2;
}
static void m_att_orphan(struct gw_edxml_doc *d)
{
    atts[1] = atts[0];
    atts[1].content_id = S("cid:att9");
    atts[1].manifest_type = NULL;
    d->n_attachments = 2;
}
static void m_dup_cid(struct gw_edxml_doc *d)
{
    atts[1] = atts[0];
    atts[1].content_id = S(" cid:att1 ");
    d->n_attachments = 2;
}
static void m_no_cid(struct gw_edxml_doc *d)
{
    refs[0].content_id = NULL;
    atts[0].content_id = S("");
}
static void m_manifest_type(struct gw_edxml_doc *d)
{
    atts[0].manifest_type = S("application/msword");
}
static void m_manifest_type_case(struct gw_edxml_doc *d)
{
    atts[0].manifest_type = S("Application/PDF; name=x.pdf");
}
static void m_detected(struct gw_edxml_doc *d)
{
    strcpy(atts[0].detected_type, "application/msword");
}
static void m_zip_pdf(struct gw_edxml_doc *d)
{
    strcpy(atts[0].detected_type, "application/zip");
    atts[0].unwrap_tried = atts[0].unwrapped = true;
    atts[0].entry_name = S("6f1c2a3b.pdf");
    strcpy(atts[0].unwrapped_type, "application/pdf");
    atts[0].unwrapped_size = 900;
}
static void m_zip_doc(struct gw_edxml_doc *d)
{
    m_zip_pdf(d);
    atts[0].content_type = atts[0].manifest_type = S("application/zip");
    atts[0].name = refs[0].attachment_name = S("to_trinh.doc");
    atts[0].entry_name = S("to_trinh.doc");
    strcpy(atts[0].unwrapped_type, "application/msword");
}
static void m_zip_wrong(struct gw_edxml_doc *d)
{
    m_zip_pdf(d);
    strcpy(atts[0].unwrapped_type, "image/png");
}
static void m_docx(struct gw_edxml_doc *d)
{
    atts[0].content_type = atts[0].manifest_type =
        S("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    strcpy(atts[0].detected_type, "application/zip");
}
static void m_unknown_bytes(struct gw_edxml_doc *d)
{
    atts[0].detected_type[0] = '\0';
}
static void m_att_name(struct gw_edxml_doc *d)
{
    atts[0].name = NULL;
}
static void m_ref_name(struct gw_edxml_doc *d)
{
    refs[0].attachment_name = S("");
}
static void m_no_type(struct gw_edxml_doc *d)
{
    atts[0].content_type = NULL;
}
static void m_unwrap_failed(struct gw_edxml_doc *d)
{
    strcpy(atts[0].detected_type, "application/zip");
    atts[0].unwrap_tried = true;
    atts[0].unwrap_error = "zip_ratio";
    atts[0].content_type = atts[0].manifest_type = S("application/zip");
    atts[0].name = refs[0].attachment_name = S("x.doc");
}
static void m_st_code(struct gw_edxml_doc *d)
{
    d->status_code = S("07");
}
static void m_st_sender(struct gw_edxml_doc *d)
{
    rf[0].organ_id = S("000.00.13.H49");
}
static void m_st_recall(struct gw_edxml_doc *d)
{
    /* 13: From is the original sender, ResponseFor/OrganId the recipient asked. */
    d->status_code = S("13");
    d->sender.organ_id = S("000.00.12.H49");
    rf[0].organ_id = S("000.00.00.G22");
}
static void m_st_recall_bad(struct gw_edxml_doc *d)
{
    d->status_code = S("13");
}
static void m_st_ts(struct gw_edxml_doc *d)
{
    d->status_timestamp = S("16/05/2024 08:00");
}
static void m_st_docid(struct gw_edxml_doc *d)
{
    rf[0].document_id = S("000.00.12.H49,2014/02/30,1234/STC-NS");
}
static void m_st_orgid(struct gw_edxml_doc *d)
{
    rf[0].organ_id = S("000.00.12.h49");
}

static const struct mcase cases[] = {
    {"conforming edoc", base_edoc, m_none, NULL, NULL, 0, 0},
    {"impossible date in DocumentId", base_edoc, m_docid_impossible, "impossible_date",
     MH "/DocumentId", GW_EDXML_STRICT, 0},
    {"DocumentId date with dashes", base_edoc, m_docid_dash, "bad_date_format", MH "/DocumentId",
     GW_EDXML_STRICT, 0},
    {"DocumentId of another sender", base_edoc, m_docid_sender, "document_id_sender_mismatch",
     MH "/DocumentId", GW_EDXML_STRICT, 0},
    {"DocumentId sender in lower case", base_edoc, m_docid_lower, NULL, NULL, 0, 0},
    {"DocumentId a UUID", base_edoc, m_docid_uuid, NULL, NULL, 0, 0},
    {"DocumentId shape", base_edoc, m_docid_shape, "document_id_shape", MH "/DocumentId",
     GW_EDXML_STRICT, 0},
    {"DocumentId without notation", base_edoc, m_docid_noslash, "document_id_shape",
     MH "/DocumentId", GW_EDXML_STRICT, 0},
    {"DocumentId vs Code", base_edoc, m_docid_code, "document_id_code_mismatch", MH "/DocumentId",
     GW_EDXML_STRICT, 0},
    {"DocumentId vs PromulgationDate", base_edoc, m_docid_date, "document_id_date_mismatch",
     MH "/DocumentId", GW_EDXML_STRICT, 0},
    {"promulgated tomorrow", base_edoc, m_prom_future, "future_promulgation_date",
     MH "/PromulgationInfo/PromulgationDate", GW_EDXML_STRICT, 0},
    {"promulgated today in Vietnam", base_edoc, m_prom_today, NULL, NULL, 0, 0},
    {"promulgated today in Vietnam, yesterday there a second before midnight", base_edoc,
     m_prom_today, "future_promulgation_date", MH "/PromulgationInfo/PromulgationDate",
     GW_EDXML_STRICT, NOW_VN_MIDNIGHT - 1},
    {"PromulgationDate dd/MM/yyyy", base_edoc, m_prom_format, "bad_date_format",
     MH "/PromulgationInfo/PromulgationDate", GW_EDXML_STRICT, 0},
    {"PromulgationDate empty", base_edoc, m_prom_empty, NULL, NULL, 0, 0},
    {"DueDate month 13", base_edoc, m_due_impossible, "impossible_date", MH "/DueDate",
     GW_EDXML_STRICT, 0},
    {"DueDate 29 February of a leap year", base_edoc, m_due_leap, NULL, NULL, 0, 0},
    {"DueDate 29 February of another year", base_edoc, m_due_noleap, "impossible_date",
     MH "/DueDate", GW_EDXML_STRICT, 0},
    {"Priority 5", base_edoc, m_priority, "priority_out_of_range", MH "/OtherInfo/Priority",
     GW_EDXML_STRICT, 0},
    {"Priority, SteeringType, Paper absent", base_edoc, m_priority_absent, NULL, NULL, 0, 0},
    {"Priority 4, SteeringType 2, Paper 1", base_edoc, m_priority4, NULL, NULL, 0, 0},
    {"SteeringType 3", base_edoc, m_steering, "steering_type_out_of_range", MH "/SteeringType",
     GW_EDXML_STRICT, 0},
    {"Paper 2", base_edoc, m_paper, "paper_out_of_range", TL "/Bussiness/Paper", GW_EDXML_STRICT,
     0},
    {"no Bussiness at all", base_edoc, m_no_business, NULL, NULL, 0, 0},
    {"From 01.02.G22", base_edoc, m_from_id, "nonconforming_organ_id", MH "/From/OrganId",
     GW_EDXML_STRICT, 0},
    {"To vxp.saas.03", base_edoc, m_to_saas, "nonconforming_organ_id", MH "/To[2]/OrganId",
     GW_EDXML_STRICT, 0},
    {"To 28.22.H17", base_edoc, m_to_three, "nonconforming_organ_id", MH "/To[1]/OrganId",
     GW_EDXML_STRICT, 0},
    {"TraceHeader without OrganId", base_edoc, m_trace_null, "trace_without_organ_id",
     TL "/TraceHeader[2]/OrganId", GW_EDXML_NOTE, 0},
    {"TraceHeader date only", base_edoc, m_trace_ts, "bad_date_format",
     TL "/TraceHeader[1]/Timestamp", GW_EDXML_STRICT, 0},
    {"TraceHeader hour 24", base_edoc, m_trace_hour, "impossible_date",
     TL "/TraceHeader[1]/Timestamp", GW_EDXML_STRICT, 0},
    {"To without OrganName", base_edoc, m_to_name, "missing_organ_name", MH "/To[1]/OrganName",
     GW_EDXML_STRICT, 0},
    {"no Subject", base_edoc, m_subject, "missing_subject", MH "/Subject", GW_EDXML_STRICT, 0},
    {"Reference without Attachment", base_edoc, m_ref_orphan, "reference_without_attachment",
     REF "[2]/ContentId", GW_EDXML_STRICT, 0},
    {"Attachment without Reference", base_edoc, m_att_orphan, "attachment_without_reference",
     ATT "[2]/ContentId", GW_EDXML_STRICT, 0},
    {"two Attachments with one ContentId", base_edoc, m_dup_cid, "duplicate_content_id",
     ATT "[2]/ContentId", GW_EDXML_STRICT, 0},
    {"manifest type vs Attachment type", base_edoc, m_manifest_type, "manifest_type_mismatch",
     ATT "[1]/ContentType", GW_EDXML_STRICT, 0},
    {"types differ only in case and parameters", base_edoc, m_manifest_type_case, NULL, NULL, 0, 0},
    {"declared PDF, bytes a Word file", base_edoc, m_detected, "content_type_mismatch",
     ATT "[1]/ContentType", GW_EDXML_STRICT, 0},
    {"application/pdf on a ZIP holding the PDF", base_edoc, m_zip_pdf, NULL, NULL, 0, 0},
    {"application/zip over a .doc (vendor convention)", base_edoc, m_zip_doc, NULL, NULL, 0, 0},
    {"docx is a zip by nature", base_edoc, m_docx, NULL, NULL, 0, 0},
    {"bytes of no known type", base_edoc, m_unknown_bytes, NULL, NULL, 0, 0},
    {"Attachment without a name", base_edoc, m_att_name, "missing_attachment_name",
     ATT "[1]/AttachmentName", GW_EDXML_STRICT, 0},
    {"Reference without a name", base_edoc, m_ref_name, "missing_attachment_name",
     REF "[1]/AttachmentName", GW_EDXML_STRICT, 0},
    {"Attachment without a type", base_edoc, m_no_type, "missing_content_type",
     ATT "[1]/ContentType", GW_EDXML_STRICT, 0},
    /* The reader reports the failure itself (its code is unwrap_error); the zip declared type
     * matches the zip bytes. */
    {"zip rule applied, unwrapping failed", base_edoc, m_unwrap_failed, NULL, NULL, 0, 0},
    {"conforming status 03", base_status, m_none, NULL, NULL, 0, 0},
    {"StatusCode 07", base_status, m_st_code, "bad_status_code", MH "/StatusCode", GW_EDXML_STRICT,
     0},
    {"status for a document of another sender", base_status, m_st_sender,
     "document_id_sender_mismatch", MH "/ResponseFor/DocumentId", GW_EDXML_STRICT, 0},
    {"recall 13 from the original sender", base_status, m_st_recall, NULL, NULL, 0, 0},
    {"recall 13 from someone else", base_status, m_st_recall_bad, "document_id_sender_mismatch",
     MH "/ResponseFor/DocumentId", GW_EDXML_STRICT, 0},
    {"status Timestamp", base_status, m_st_ts, "bad_date_format", MH "/Timestamp", GW_EDXML_STRICT,
     0},
    {"status for 2014/02/30", base_status, m_st_docid, "impossible_date",
     MH "/ResponseFor/DocumentId", GW_EDXML_STRICT, 0},
    {"ResponseFor OrganId in lower case", base_status, m_st_orgid, "nonconforming_organ_id",
     MH "/ResponseFor/OrganId", GW_EDXML_STRICT, 0},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct mcase *c = &cases[i];
        struct gw_edxml_doc d;
        size_t want = c->code ? 1 : 0;

        c->base(&d);
        c->mutate(&d);
        assert_int_equal(gw_edxml_conform(&d, c->now ? c->now : NOW_VN_MIDNIGHT), 0);
        if (d.n_findings != want || (c->code && test_doc_count(&d, c->code, c->xpath) != 1) ||
            (c->code && d.findings[0].severity != c->sev)) {
            test_doc_print(&d);
            fail_msg("case '%s': %zu findings, want %zu x %s at %s", c->name, d.n_findings, want,
                     c->code ? c->code : "-", c->xpath ? c->xpath : "-");
        }
        for (size_t k = 0; k < d.n_findings; k++) {
            assert_true(d.findings[k].severity != GW_EDXML_REFUSE);
            assert_true(d.findings[k].message[0] != '\0');
        }
        test_doc_clear_findings(&d);
    }
}

/* Several problems at once: every one is reported, in a stable order. */
static void test_many(void **state)
{
    struct gw_edxml_doc d;

    (void)state;
    base_edoc(&d);
    m_from_id(&d);
    m_to_saas(&d);
    m_trace_null(&d);
    m_ref_orphan(&d);
    m_detected(&d);
    d.priority = 9;
    assert_int_equal(gw_edxml_conform(&d, NOW_VN_MIDNIGHT), 0);
    assert_int_equal(test_doc_count(&d, "nonconforming_organ_id", NULL), 2); /* From, To */
    assert_int_equal(test_doc_count(&d, "trace_without_organ_id", NULL), 1);
    assert_int_equal(test_doc_count(&d, "reference_without_attachment", NULL), 1);
    assert_int_equal(test_doc_count(&d, "content_type_mismatch", NULL), 1);
    assert_int_equal(test_doc_count(&d, "priority_out_of_range", NULL), 1);
    test_doc_clear_findings(&d);
}

/* Findings that come in pairs. */
static void test_pairs(void **state)
{
    struct gw_edxml_doc d;

    (void)state;
    base_edoc(&d);
    m_no_cid(&d);
    assert_int_equal(gw_edxml_conform(&d, NOW_VN_MIDNIGHT), 0);
    assert_int_equal(d.n_findings, 2);
    assert_int_equal(test_doc_count(&d, "missing_content_id", REF "[1]"), 1);
    assert_int_equal(test_doc_count(&d, "missing_content_id", ATT "[1]"), 1);
    test_doc_clear_findings(&d);

    base_edoc(&d);
    m_zip_wrong(&d); /* a ZIP holding a PNG under application/pdf */
    assert_int_equal(gw_edxml_conform(&d, NOW_VN_MIDNIGHT), 0);
    assert_int_equal(d.n_findings, 1);
    assert_int_equal(test_doc_count(&d, "content_type_mismatch", ATT "[1]/ContentType"), 1);
    assert_non_null(strstr(d.findings[0].message, "image/png"));
    assert_non_null(strstr(d.findings[0].message, "6f1c2a3b.pdf"));
    test_doc_clear_findings(&d);
}

/* Hostile values: messages stay short, on a character boundary and without control bytes. */
static void test_hostile_values(void **state)
{
    size_t n = 100000;
    char *big = malloc(n + 1);
    struct gw_edxml_doc d;

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < n; i += 3)
        memcpy(big + i, i + 3 <= n ? "\xe1\xbb\x9f" : "xxx", i + 3 <= n ? 3 : n - i);
    big[n] = '\0';
    base_edoc(&d);
    to[0].organ_id = big;
    d.document_id = S("\x1b[31m000.00.12.H49,2024/02/30,1234/STC-NS");
    d.promulgation_date = S("2024/0\n/15");
    assert_int_equal(gw_edxml_conform(&d, NOW_VN_MIDNIGHT), 0);
    assert_true(d.n_findings >= 3);
    for (size_t i = 0; i < d.n_findings; i++) {
        const char *m = d.findings[i].message;
        assert_true(strlen(m) < 512);
        for (const char *p = m; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
        assert_true(gw_utf8_valid(m, strlen(m)));
    }
    test_doc_clear_findings(&d);
    free(big);
}

/* Thousands of attachments are matched by sorting, not pairwise. */
static void test_many_attachments(void **state)
{
    enum { N = 20000 };
    struct gw_edxml_reference *r = calloc(N, sizeof(*r));
    struct gw_edxml_attachment *a = calloc(N, sizeof(*a));
    char(*ids)[24] = calloc(N, 24);
    struct gw_edxml_doc d;

    (void)state;
    assert_non_null(r);
    assert_non_null(a);
    assert_non_null(ids);
    base_edoc(&d);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 24, "cid:x%d", i);
        r[i].content_id = ids[i];
        r[i].attachment_name = S("a.pdf");
        a[N - 1 - i].content_id = ids[i] + 4;
        a[N - 1 - i].name = S("a.pdf");
        a[N - 1 - i].content_type = S("application/pdf");
    }
    a[7].content_id = S("cid:other");
    d.references = r;
    d.n_references = N;
    d.attachments = a;
    d.n_attachments = N;
    assert_int_equal(gw_edxml_conform(&d, NOW_VN_MIDNIGHT), 0);
    assert_int_equal(d.n_findings, 2);
    assert_int_equal(test_doc_count(&d, "reference_without_attachment", NULL), 1);
    assert_int_equal(test_doc_count(&d, "attachment_without_reference", ATT "[8]/ContentId"), 1);
    test_doc_clear_findings(&d);
    free(r);
    free(a);
    free(ids);
}

static void test_norm_document_id(void **state)
{
    static const char *const t[][2] = {
        {"000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"},
        {"000.00.00.G22,2015-09-30,7816/VPCP-TTĐT", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"},
        {"000.00.00.G22,2015.09.30,7816/VPCP", "000.00.00.G22,2015/09/30,7816/VPCP"},
        {"000.00.00.G22,2015/9/3,7816/VPCP", "000.00.00.G22,2015/09/03,7816/VPCP"},
        {"000.00.00.G22,2015-9-30,7816/VPCP", "000.00.00.G22,2015/09/30,7816/VPCP"},
        {"  000.00.00.G22,2014/02/30,1/A \n", "000.00.00.G22,2014/02/30,1/A"},
        {"000.00.00.G22,2015-09/30,7816/VPCP", "000.00.00.G22,2015-09/30,7816/VPCP"},
        {"000.00.00.G22,30/09/2015,7816/VPCP", "000.00.00.G22,30/09/2015,7816/VPCP"},
        {"6F1C2A3B-4D5E-4F60-8A9B-0C1D2E3F4A5B", "6F1C2A3B-4D5E-4F60-8A9B-0C1D2E3F4A5B"},
        {"a,b", "a,b"},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *n = gw_edxml_norm_document_id(t[i][0]);
        assert_non_null(n);
        assert_string_equal(n, t[i][1]);
        free(n);
    }
    assert_null(gw_edxml_norm_document_id(NULL));
}

static void test_check(void **state)
{
    struct gw_edxml_doc d;

    (void)state;
    base_edoc(&d);
    d.document_id = S("000.00.12.H49,2024-5-15,1234/STC-NS");
    assert_int_equal(gw_edxml_check(&d, NULL, NOW_VN_MIDNIGHT), 0);
    assert_string_equal(d.document_id_norm, "000.00.12.H49,2024/05/15,1234/STC-NS");
    assert_int_equal(test_doc_count(&d, "bad_date_format", MH "/DocumentId"), 1);
    test_doc_clear_findings(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_many_attachments),
        cmocka_unit_test(test_norm_document_id),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
