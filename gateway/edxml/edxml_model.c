/*
 * The package model's life cycle (edxml_model.h): freeing every owned string and array, appending
 * findings, and the lenient verdict (no refusing finding).
 */
#include "edxml/edxml_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_org(struct gw_edxml_org *o)
{
    free(o->organ_id);
    free(o->organization_in_charge);
    free(o->organ_name);
    free(o->organ_add);
    free(o->email);
    free(o->telephone);
    free(o->fax);
    free(o->website);
}

static void free_staff(struct gw_edxml_staff *s)
{
    free(s->department);
    free(s->staff);
    free(s->email);
    free(s->mobile);
}

static void free_business(struct gw_edxml_business *b)
{
    free(b->document_id);
    free(b->reason);
    free_staff(&b->staff);
    for (size_t i = 0; i < b->n_receivers; i++) {
        free(b->receivers[i].organ_id);
        free(b->receivers[i].receiver_type);
    }
    free(b->receivers);
    for (size_t i = 0; i < b->n_replacements; i++) {
        free(b->replacements[i].document_id);
        free_strv(b->replacements[i].organ_ids, b->replacements[i].n_organ_ids);
    }
    free(b->replacements);
}

static void free_relay(struct gw_edxml_relay *r)
{
    for (size_t i = 0; i < r->n_to; i++)
        free(r->to[i].organ_id);
    free(r->to);
    free(r->trace_prefix);
    free(r->trace_indent);
}

void gw_edxml_doc_free(struct gw_edxml_doc *d)
{
    if (!d)
        return;
    free(d->document_id);
    free(d->document_id_norm);
    free(d->from);
    free_strv(d->recipients, d->n_recipients);
    free_org(&d->sender);
    for (size_t i = 0; i < d->n_to; i++)
        free_org(&d->to[i]);
    free(d->to);
    free(d->code.number);
    free(d->code.notation);
    free(d->promulgation_place);
    free(d->promulgation_date);
    free(d->document_type);
    free(d->document_type_detail);
    free(d->document_type_name);
    free(d->subject);
    free(d->content);
    free(d->signer_competence);
    free(d->signer_position);
    free(d->signer_full_name);
    free(d->due_date);
    free_strv(d->to_places, d->n_to_places);
    free(d->sphere_of_promulgation);
    free(d->typer_notation);
    free(d->promulgation_amount);
    free(d->page_amount);
    free(d->direction);
    free_strv(d->appendixes, d->n_appendixes);
    for (size_t i = 0; i < d->n_response_for; i++) {
        free(d->response_for[i].organ_id);
        free(d->response_for[i].code);
        free(d->response_for[i].promulgation_date);
        free(d->response_for[i].document_id);
    }
    free(d->response_for);
    free(d->status_code);
    free(d->status_description);
    free(d->status_timestamp);
    free_staff(&d->status_staff);
    for (size_t i = 0; i < d->n_traces; i++) {
        free(d->traces[i].organ_id);
        free(d->traces[i].timestamp);
    }
    free(d->traces);
    free_business(&d->business);
    for (size_t i = 0; i < d->n_references; i++) {
        free(d->references[i].content_id);
        free(d->references[i].content_type);
        free(d->references[i].description);
        free(d->references[i].attachment_name);
    }
    free(d->references);
    for (size_t i = 0; i < d->n_attachments; i++) {
        struct gw_edxml_attachment *a = &d->attachments[i];
        free(a->content_id);
        free(a->name);
        free(a->description);
        free(a->content_type);
        free(a->manifest_type);
        free(a->entry_name);
    }
    free(d->attachments);
    free(d->header_xml);
    free_strv(d->header_ns_prefixes, d->n_header_ns);
    free_strv(d->header_ns_uris, d->n_header_ns);
    free_relay(&d->relay);
    for (size_t i = 0; i < d->n_findings; i++) {
        free(d->findings[i].xpath);
        free(d->findings[i].message);
    }
    free(d->findings);
    memset(d, 0, sizeof(*d));
}

int gw_edxml_doc_finding(struct gw_edxml_doc *doc, const char *code,
                         enum gw_edxml_severity severity, const char *xpath, const char *fmt, ...)
{
    struct gw_edxml_finding *f, *v;
    char msg[512];
    va_list ap;

    /* a hostile package may repeat a fault a million times: findings are capped, and the cap says
     * so with one last finding; refusals have room of their own, so a verdict is never lost */
    if (severity != GW_EDXML_REFUSE && doc->n_findings >= GW_EDXML_MAX_FINDINGS) {
        if (doc->n_findings > GW_EDXML_MAX_FINDINGS)
            return 0;
        code = "findings_truncated";
        severity = GW_EDXML_NOTE;
        xpath = "/edXML";
        snprintf(msg, sizeof(msg), "more than %d findings: the rest are not listed",
                 GW_EDXML_MAX_FINDINGS);
    } else if (doc->n_findings >= GW_EDXML_MAX_FINDINGS + 100) {
        /* a refusal past every cap takes the last slot: the verdict must survive */
        f = &doc->findings[doc->n_findings - 1];
        if (f->severity == GW_EDXML_REFUSE)
            return 0;
        free(f->xpath);
        free(f->message);
        doc->n_findings--;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    } else {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    if ((doc->n_findings & (doc->n_findings - 1)) == 0) {
        size_t cap = doc->n_findings ? doc->n_findings * 2 : 4;
        v = realloc(doc->findings, cap * sizeof(*v));
        if (!v)
            return GW_ENOMEM;
        doc->findings = v;
    }
    f = &doc->findings[doc->n_findings];
    f->code = code;
    f->severity = severity;
    f->xpath = strdup(xpath ? xpath : "");
    f->message = strdup(msg);
    if (!f->xpath || !f->message) {
        free(f->xpath);
        free(f->message);
        return GW_ENOMEM;
    }
    doc->n_findings++;
    return 0;
}

bool gw_edxml_doc_acceptable(const struct gw_edxml_doc *doc)
{
    for (size_t i = 0; i < doc->n_findings; i++) {
        if (doc->findings[i].severity == GW_EDXML_REFUSE)
            return false;
    }
    return true;
}
