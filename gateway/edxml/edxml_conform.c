/*
 * Conformance checks an XSD cannot express (domain.md §2–4), run after the reader: dates in form
 * and real, promulgation dates after today in Vietnam, Priority / SteeringType / Paper /
 * StatusCode ranges, DocumentId shape and its parts against the header, organisation ids in strict
 * form, missing names; the manifest and attachments are in edxml_conform_att.c. Only STRICT and
 * NOTE findings: conformance never refuses a package.
 */
#include "edxml/edxml_conform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxml/edxml_conform_date.h"
#include "edxml/edxml_conform_internal.h"
#include "edxml/edxml_orgid.h"
#include "util/error.h"
#include "util/utf8.h"

int gw_conform_add(struct gw_edxml_doc *doc, const char *code, enum gw_edxml_severity sev,
                   const char *xpath, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    msg[gw_utf8_prefix(msg, sizeof(msg) - 1)] = '\0';
    return gw_edxml_doc_finding(doc, code, sev, xpath, "%s", msg);
}

const char *gw_conform_quote(const char *s, char *out, size_t n)
{
    size_t k;

    if (!s) {
        snprintf(out, n, "(absent)");
        return out;
    }
    k = gw_utf8_prefix(s, n - 1 < 80 ? n - 1 : 80);
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[k] = '\0';
    return out;
}

static bool blank(const char *s)
{
    return !s || !s[0];
}

/* A date (or timestamp) element: nothing when absent or empty, else form and reality. */
static int check_date(struct gw_edxml_doc *doc, const char *v, bool with_time, const char *xp,
                      const char *what, int *ymd)
{
    char q[96];
    enum gw_date_check c;

    if (ymd)
        *ymd = 0;
    if (blank(v))
        return 0;
    c = gw_date_parse(v, strlen(v), with_time, ymd);
    if (c == GW_DATE_BAD_FORMAT)
        return gw_conform_add(
            doc, "bad_date_format", GW_EDXML_STRICT, xp, "%s '%s' is not in the form %s", what,
            gw_conform_quote(v, q, sizeof(q)), with_time ? "yyyy/MM/dd HH:mm:ss" : "yyyy/MM/dd");
    if (c == GW_DATE_IMPOSSIBLE)
        return gw_conform_add(doc, "impossible_date", GW_EDXML_STRICT, xp,
                              "%s '%s' is not a real date", what,
                              gw_conform_quote(v, q, sizeof(q)));
    return 0;
}

static int check_future(struct gw_edxml_doc *doc, const char *v, const char *xp, int64_t now)
{
    int ymd, today = gw_date_vn_today(now);
    char q[96];
    int rc = check_date(doc, v, false, xp, "PromulgationDate", &ymd);

    if (rc == 0 && ymd && today && ymd > today)
        rc = gw_conform_add(doc, "future_promulgation_date", GW_EDXML_STRICT, xp,
                            "PromulgationDate '%s' is after today (%04d/%02d/%02d, Vietnam time)",
                            gw_conform_quote(v, q, sizeof(q)), today / 10000, today / 100 % 100,
                            today % 100);
    return rc;
}

/* An organisation id: the strict result reported, the lenient form named as the routing one. */
static int check_orgid(struct gw_edxml_doc *doc, const char *id, const char *xp)
{
    char lenient[300], q[96], ql[96];

    if (blank(id) || gw_orgid_form(id) != GW_ORGID_INVALID)
        return 0;
    if (!gw_orgid_lenient(id, lenient, sizeof(lenient)))
        snprintf(lenient, sizeof(lenient), "(none)");
    return gw_conform_add(doc, "nonconforming_organ_id", GW_EDXML_STRICT, xp,
                          "OrganId '%s' is neither a QCVN 102 nor a QĐ 20 id; routed as '%s'",
                          gw_conform_quote(id, q, sizeof(q)),
                          gw_conform_quote(lenient, ql, sizeof(ql)));
}

/* From or To: the id in strict form and the name present. */
static int check_org(struct gw_edxml_doc *doc, const struct gw_edxml_org *o, const char *base)
{
    char xp[160];
    int rc;

    snprintf(xp, sizeof(xp), "%s/OrganId", base);
    rc = check_orgid(doc, o->organ_id, xp);
    if (rc == 0 && blank(o->organ_name)) {
        snprintf(xp, sizeof(xp), "%s/OrganName", base);
        rc = gw_conform_add(doc, "missing_organ_name", GW_EDXML_STRICT, xp,
                            "organisation %s without an OrganName",
                            o->organ_id ? o->organ_id : "(no OrganId)");
    }
    return rc;
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' : !hex)
            return false;
    }
    return true;
}

static bool same_orgid(const char *a, size_t alen, const char *b)
{
    char raw[300], x[300], y[300];

    if (alen >= sizeof(raw))
        return false;
    memcpy(raw, a, alen);
    raw[alen] = '\0';
    return gw_orgid_lenient(raw, x, sizeof(x)) && gw_orgid_lenient(b, y, sizeof(y)) &&
           strcmp(x, y) == 0;
}

struct docid_ctx {
    const char *sender;               /* who should be its first part (NULL: not checked) */
    const struct gw_edxml_code *code; /* NULL: not checked */
    const char *date;                 /* PromulgationDate (NULL: not checked) */
};

/* <senderOrganId>,<yyyy/MM/dd>,<CodeNumber>/<CodeNotation>, or a bare UUID. */
static int check_docid(struct gw_edxml_doc *doc, const char *id, const char *xp,
                       const struct docid_ctx *k)
{
    const char *c1, *c2, *slash;
    char q[96], q2[96], want[300];
    int rc = 0, ymd = 0, pymd = 0;

    if (blank(id) || is_uuid(id))
        return 0;
    c1 = strchr(id, ',');
    c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    slash = c2 ? strchr(c2 + 1, '/') : NULL;
    if (!c2 || c1 == id || memchr(id, ' ', (size_t)(c1 - id)) || !slash || slash == c2 + 1 ||
        !slash[1])
        return gw_conform_add(doc, "document_id_shape", GW_EDXML_STRICT, xp,
                              "DocumentId '%s' is neither <senderOrganId>,<yyyy/MM/dd>,"
                              "<CodeNumber>/<CodeNotation> nor a UUID",
                              gw_conform_quote(id, q, sizeof(q)));
    {
        char date[16];
        size_t n = (size_t)(c2 - c1 - 1);
        snprintf(date, sizeof(date), "%.*s", (int)(n < 15 ? n : 15), c1 + 1);
        if (n >= 15 || gw_date_parse(date, n, false, &ymd) == GW_DATE_BAD_FORMAT)
            rc = gw_conform_add(doc, "bad_date_format", GW_EDXML_STRICT, xp,
                                "the date inside DocumentId '%s' is not in the form yyyy/MM/dd",
                                gw_conform_quote(id, q, sizeof(q)));
        else if (gw_date_parse(date, n, false, &ymd) == GW_DATE_IMPOSSIBLE)
            rc = gw_conform_add(doc, "impossible_date", GW_EDXML_STRICT, xp,
                                "the date inside DocumentId '%s' is not a real date",
                                gw_conform_quote(id, q, sizeof(q)));
    }
    if (rc == 0 && !blank(k->sender) && !same_orgid(id, (size_t)(c1 - id), k->sender))
        rc = gw_conform_add(doc, "document_id_sender_mismatch", GW_EDXML_STRICT, xp,
                            "DocumentId '%s' does not begin with the sender's OrganId '%s'",
                            gw_conform_quote(id, q, sizeof(q)),
                            gw_conform_quote(k->sender, q2, sizeof(q2)));
    if (rc == 0 && k->code && !blank(k->code->number) && !blank(k->code->notation)) {
        snprintf(want, sizeof(want), "%s/%s", k->code->number, k->code->notation);
        if (strcmp(c2 + 1, want) != 0)
            rc = gw_conform_add(doc, "document_id_code_mismatch", GW_EDXML_STRICT, xp,
                                "DocumentId '%s' does not end with Code '%s'",
                                gw_conform_quote(id, q, sizeof(q)),
                                gw_conform_quote(want, q2, sizeof(q2)));
    }
    if (rc == 0 && ymd && !blank(k->date) &&
        gw_date_parse(k->date, strlen(k->date), false, &pymd) == GW_DATE_OK && pymd != ymd)
        rc = gw_conform_add(doc, "document_id_date_mismatch", GW_EDXML_STRICT, xp,
                            "the date inside DocumentId '%s' differs from PromulgationDate '%s'",
                            gw_conform_quote(id, q, sizeof(q)),
                            gw_conform_quote(k->date, q2, sizeof(q2)));
    return rc;
}

static int check_range(struct gw_edxml_doc *doc, int v, int max, const char *code, const char *xp,
                       const char *what)
{
    if (v >= -1 && v <= max)
        return 0;
    return gw_conform_add(doc, code, GW_EDXML_STRICT, xp, "%s %d is outside 0..%d", what, v, max);
}

static int check_edoc(struct gw_edxml_doc *doc, int64_t now)
{
    struct docid_ctx k = {doc->sender.organ_id, &doc->code, doc->promulgation_date};
    char xp[160], base[128];
    int rc = check_org(doc, &doc->sender, GW_XP_MH "/From");

    for (size_t i = 0; i < doc->n_to && rc == 0; i++) {
        snprintf(base, sizeof(base), GW_XP_MH "/To[%zu]", i + 1);
        rc = check_org(doc, &doc->to[i], base);
    }
    if (rc == 0)
        rc = check_docid(doc, doc->document_id, GW_XP_MH "/DocumentId", &k);
    if (rc == 0)
        rc = check_future(doc, doc->promulgation_date,
                          GW_XP_MH "/PromulgationInfo/PromulgationDate", now);
    if (rc == 0)
        rc = check_date(doc, doc->due_date, false, GW_XP_MH "/DueDate", "DueDate", NULL);
    if (rc == 0 && blank(doc->subject))
        rc = gw_conform_add(doc, "missing_subject", GW_EDXML_STRICT, GW_XP_MH "/Subject",
                            "document without a Subject (trích yếu)");
    if (rc == 0)
        rc = check_range(doc, doc->priority, 4, "priority_out_of_range",
                         GW_XP_MH "/OtherInfo/Priority", "Priority");
    if (rc == 0)
        rc = check_range(doc, doc->steering_type, 2, "steering_type_out_of_range",
                         GW_XP_MH "/SteeringType", "SteeringType");
    for (size_t i = 0; i < doc->n_response_for && rc == 0; i++) {
        const struct gw_edxml_response_for *r = &doc->response_for[i];
        struct docid_ctx rk = {r->organ_id, NULL, r->promulgation_date};
        snprintf(xp, sizeof(xp), GW_XP_MH "/ResponseFor[%zu]/OrganId", i + 1);
        rc = check_orgid(doc, r->organ_id, xp);
        snprintf(xp, sizeof(xp), GW_XP_MH "/ResponseFor[%zu]/PromulgationDate", i + 1);
        if (rc == 0)
            rc = check_date(doc, r->promulgation_date, false, xp, "PromulgationDate", NULL);
        snprintf(xp, sizeof(xp), GW_XP_MH "/ResponseFor[%zu]/DocumentId", i + 1);
        if (rc == 0)
            rc = check_docid(doc, r->document_id, xp, &rk);
    }
    return rc;
}

static bool known_status(const char *c)
{
    static const char *const codes[] = {"01", "02", "03", "04", "05", "06", "13", "15", "16"};

    for (size_t i = 0; c && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(c, codes[i]) == 0)
            return true;
    return false;
}

static int check_status(struct gw_edxml_doc *doc)
{
    const struct gw_edxml_response_for *r = doc->n_response_for ? &doc->response_for[0] : NULL;
    char q[96];
    int rc = check_orgid(doc, doc->sender.organ_id, GW_XP_MH "/From/OrganId");

    if (rc == 0 && !known_status(doc->status_code))
        rc = gw_conform_add(doc, "bad_status_code", GW_EDXML_STRICT, GW_XP_MH "/StatusCode",
                            "StatusCode '%s' is not one of 01-06, 13, 15, 16",
                            gw_conform_quote(doc->status_code, q, sizeof(q)));
    if (rc == 0)
        rc = check_date(doc, doc->status_timestamp, true, GW_XP_MH "/Timestamp", "Timestamp", NULL);
    if (rc == 0 && r) {
        /* The original document was sent by ResponseFor/OrganId, except for 13 (a recall asked
         * by its own sender, From). */
        bool recall = doc->status_code && strcmp(doc->status_code, "13") == 0;
        struct docid_ctx k = {recall ? doc->sender.organ_id : r->organ_id, NULL,
                              r->promulgation_date};
        rc = check_orgid(doc, r->organ_id, GW_XP_MH "/ResponseFor/OrganId");
        if (rc == 0)
            rc = check_date(doc, r->promulgation_date, false,
                            GW_XP_MH "/ResponseFor/PromulgationDate", "PromulgationDate", NULL);
        if (rc == 0)
            rc = check_docid(doc, r->document_id, GW_XP_MH "/ResponseFor/DocumentId", &k);
    }
    return rc;
}

static int check_traces(struct gw_edxml_doc *doc)
{
    const struct gw_edxml_business *b = &doc->business;
    char xp[160];
    int rc = 0;

    for (size_t i = 0; i < doc->n_traces && rc == 0; i++) {
        snprintf(xp, sizeof(xp), GW_XP_TRACE "/TraceHeader[%zu]/OrganId", i + 1);
        if (blank(doc->traces[i].organ_id))
            rc = gw_conform_add(doc, "trace_without_organ_id", GW_EDXML_NOTE, xp,
                                "TraceHeader without an OrganId (appended in transit)");
        else
            rc = check_orgid(doc, doc->traces[i].organ_id, xp);
        snprintf(xp, sizeof(xp), GW_XP_TRACE "/TraceHeader[%zu]/Timestamp", i + 1);
        if (rc == 0)
            rc = check_date(doc, doc->traces[i].timestamp, true, xp, "Timestamp", NULL);
    }
    if (rc == 0 && b->present)
        rc = check_range(doc, b->paper, 1, "paper_out_of_range", GW_XP_TRACE "/Bussiness/Paper",
                         "Paper");
    for (size_t i = 0; i < b->n_receivers && rc == 0; i++) {
        snprintf(xp, sizeof(xp),
                 GW_XP_TRACE "/Bussiness/BussinessDocumentInfo/ReceiverList/Receiver[%zu]/OrganId",
                 i + 1);
        rc = check_orgid(doc, b->receivers[i].organ_id, xp);
    }
    for (size_t i = 0; i < b->n_replacements && rc == 0; i++) {
        const struct gw_edxml_replacement *r = &b->replacements[i];
        struct docid_ctx k = {NULL, NULL, NULL};
        snprintf(xp, sizeof(xp),
                 GW_XP_TRACE "/Bussiness/ReplacementInfoList/ReplacementInfo[%zu]/DocumentId",
                 i + 1);
        rc = check_docid(doc, r->document_id, xp, &k);
        for (size_t j = 0; j < r->n_organ_ids && rc == 0; j++) {
            snprintf(xp, sizeof(xp),
                     GW_XP_TRACE "/Bussiness/ReplacementInfoList/ReplacementInfo[%zu]/OrganIdList/"
                                 "OrganId[%zu]",
                     i + 1, j + 1);
            rc = check_orgid(doc, r->organ_ids[j], xp);
        }
    }
    if (rc == 0 && b->present && !blank(b->document_id)) {
        struct docid_ctx k = {NULL, NULL, NULL};
        rc = check_docid(doc, b->document_id, GW_XP_TRACE "/Bussiness/DocumentId", &k);
    }
    return rc;
}

int gw_edxml_conform(struct gw_edxml_doc *doc, int64_t now)
{
    int rc = doc->kind == GW_KIND_STATUS ? check_status(doc) : check_edoc(doc, now);

    if (rc == 0)
        rc = check_traces(doc);
    if (rc == 0)
        rc = gw_conform_attachments(doc);
    return rc;
}

int gw_edxml_check(struct gw_edxml_doc *doc, const struct gw_edxml_xsd *xsd, int64_t now)
{
    int rc = 0;

    if (doc->document_id && !doc->document_id_norm) {
        doc->document_id_norm = gw_edxml_norm_document_id(doc->document_id);
        if (!doc->document_id_norm)
            return GW_ENOMEM;
    }
    if (xsd)
        rc = gw_edxml_xsd_check(xsd, doc);
    if (rc == 0)
        rc = gw_edxml_conform(doc, now);
    return rc;
}
