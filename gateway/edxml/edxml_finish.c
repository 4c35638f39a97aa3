/*
 * End of the stream for the reader: the last parse, the verdicts of domain.md §2 "Refuse or
 * accept" that need the whole package, the routing summary, the relay landmarks (To spans,
 * where the gateway's TraceHeader goes, editable or not and why), and the whole-buffer
 * convenience gw_edxml_read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxml/edxml_rd.h"
#include "util/error.h"

static bool status_known(const char *c)
{
    static const char *const nine[] = {"01", "02", "03", "04", "05", "06", "13", "15", "16"};

    for (size_t i = 0; i < sizeof(nine) / sizeof(nine[0]); i++) {
        if (strcmp(c, nine[i]) == 0)
            return true;
    }
    return false;
}

static int refuse(struct rd *r, int err, const char *code, const char *msg)
{
    rd_fail(r, err, code, "%s", msg);
    return err;
}

static int verdicts(struct rd *r)
{
    struct gw_edxml_doc *d = r->doc;

    if (r->soap)
        return refuse(r, GW_ENOTEDXML, "not_edxml", "a SOAP envelope is not an edXML package");
    if (!r->seen_root)
        return refuse(r, GW_ENOTEDXML, "not_edxml", "no edXML root element");
    if (!r->seen_msghdr)
        return refuse(r, GW_ENOTEDXML, "no_message_header",
                      "missing edXMLEnvelope/edXMLHeader/MessageHeader");
    if (r->seen_status) {
        struct gw_edxml_response_for *f = d->n_response_for ? &d->response_for[0] : NULL;
        if (!d->status_code || !status_known(d->status_code))
            return refuse(r, GW_ENOTEDXML, "bad_status_code",
                          "StatusCode is not one of 01-06, 13, 15, 16");
        if (!f || !f->document_id)
            return refuse(r, GW_ENOTEDXML, "no_response_for_document",
                          "status package without ResponseFor/DocumentId");
        if (!f->organ_id)
            return refuse(r, GW_ENORCPT, "no_response_for_organ",
                          "status package without ResponseFor/OrganId");
        d->kind = GW_KIND_STATUS;
        d->document_id = strdup(f->document_id);
        d->recipients = calloc(1, sizeof(char *));
        if (!d->document_id || !d->recipients || !(d->recipients[0] = strdup(f->organ_id)))
            return refuse(r, GW_ENOMEM, "out_of_memory", "out of memory");
        d->n_recipients = 1;
        return 0;
    }
    if (r->empty_status && d->n_response_for > 0 && d->n_to == 0)
        return refuse(r, GW_ENOTEDXML, "bad_status_code",
                      "a status package (ResponseFor, no To) with an empty StatusCode");
    if (!d->document_id)
        return refuse(r, GW_ENOTEDXML, "no_document_id", "missing MessageHeader/DocumentId");
    if (!d->from)
        return refuse(r, GW_ENOTEDXML, "no_sender", "missing MessageHeader/From/OrganId");
    if (r->rcpt.n == 0)
        return refuse(r, GW_ENORCPT, "no_recipient", "no MessageHeader/To/OrganId");
    d->kind = GW_KIND_EDOC;
    d->n_recipients = r->rcpt.n;
    d->recipients = gw_edxml_rcpt_take(&r->rcpt);
    return 0;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static bool utf8_encoding(const struct rd *r)
{
    const char *e = r->scan.encoding;

    if (r->scan.w != 1)
        return false;
    return !*e || !strcasecmp(e, "UTF-8") || !strcasecmp(e, "UTF8") || !strcasecmp(e, "US-ASCII") ||
           !strcasecmp(e, "ASCII");
}

static int relay(struct rd *r)
{
    struct gw_edxml_doc *d = r->doc;
    struct gw_edxml_relay *x = &d->relay;
    const char *prefix, *indent;

    x->editable = true;
    if (r->have_trace) {
        x->trace_mode = GW_EDXML_TRACE_AFTER_LAST;
        x->trace_at = r->last_trace_end;
        prefix = r->trace_prefix;
        indent = r->ind_trace;
        x->trace_declare = !r->trace_bound;
    } else if (r->have_list) {
        x->trace_mode = GW_EDXML_TRACE_FIRST_IN_LIST;
        x->trace_at = r->list_gt;
        prefix = r->list_prefix;
        indent = r->list_child_seen ? r->ind_child : r->ind_list;
        x->trace_declare = !r->list_bound;
        if (r->list_empty_tag && r->list_gt >= 2) {
            x->trace_mode = GW_EDXML_TRACE_IN_EMPTY_LIST; /* its "/>" becomes an open/close pair */
            x->trace_at = r->list_gt - 2;
        }
    } else {
        x->trace_mode = GW_EDXML_TRACE_NEW_LIST;
        x->trace_at = r->msg_end;
        prefix = r->msg_prefix;
        indent = r->ind_msg;
        x->trace_declare = !r->msg_bound;
    }
    x->trace_prefix = dup_or_empty(prefix);
    x->trace_indent = dup_or_empty(indent);
    if (!x->trace_prefix || !x->trace_indent)
        return GW_ENOMEM;
    if (r->sig_dsig && r->sig_signed_info && r->sig_value_real) {
        x->xmldsig = true;
        x->editable = false;
        x->not_editable = "xmldsig";
    } else if (r->sig_dsig || r->sig_other) {
        if (gw_edxml_doc_finding(d, "xmldsig_placeholder", GW_EDXML_NOTE,
                                 "/edXML/edXMLEnvelope/edXMLHeader/Signature",
                                 "the Signature block is not a real XML-DSig") != 0)
            return GW_ENOMEM;
    }
    if (!utf8_encoding(r)) {
        x->editable = false;
        x->not_editable = "encoding";
        for (size_t i = 0; i < d->n_attachments; i++)
            d->attachments[i].b64_plain = false; /* offsets are not those of the text */
    } else if (r->tags_lost || (!r->have_trace && !r->have_list && r->msg_end == 0)) {
        x->editable = false;
        if (!x->not_editable)
            x->not_editable = "no_landmarks";
    }
    return 0;
}

static int header_ns(struct rd *r)
{
    struct gw_edxml_doc *d = r->doc;

    d->header_ns_prefixes = r->nsp;
    d->header_ns_uris = r->nsu;
    d->n_header_ns = r->nns;
    for (size_t i = 0; i < r->nns; i++) {
        if (!r->nsp[i] || !r->nsu[i])
            return GW_ENOMEM;
    }
    r->nsp = r->nsu = NULL;
    r->nns = 0;
    return 0;
}

static int fail_out(struct rd *r, const char **code, char *errmsg, size_t n)
{
    if (code)
        *code = r->code ? r->code : gw_errcode(r->err);
    if (errmsg && n)
        snprintf(errmsg, n, "%s: %s", r->code ? r->code : gw_errcode(r->err),
                 r->msg[0] ? r->msg : gw_strerror(r->err));
    return r->err;
}

int gw_edxml_reader_finish(struct gw_edxml_reader *rr, struct gw_edxml_doc **out, const char **code,
                           char *errmsg, size_t errmsg_len)
{
    struct rd *r = (struct rd *)rr;
    struct rd_saved saved;
    unsigned len = 32;
    int rc;

    *out = NULL;
    if (code)
        *code = NULL;
    if (errmsg && errmsg_len)
        errmsg[0] = '\0';
    if (r->finished && !r->err)
        rd_fail(r, GW_EINVAL, "finished", "reader already finished");
    r->finished = true;
    if (!r->err && r->off == 0)
        rd_fail(r, GW_EPARSE, "empty_document", "empty document");
    rd_errors_to(r, &saved);
    if (!r->err && !r->begun)
        rd_begin(r);
    if (!r->err)
        rd_flush(r);
    if (!r->err && r->ctxt) {
        rd_parse_chunk(r, NULL, 0, true);
        if (!r->err && !r->ctxt->wellFormed)
            rd_fail(r, GW_EPARSE, "not_well_formed", "XML not well-formed");
    }
    rd_errors_back(&saved);
    if (!r->err && r->scan.stopped)
        rd_fail(r, GW_EPARSE, "not_well_formed", "XML not well-formed");
    if (!r->err)
        verdicts(r);
    if (!r->err && (rc = rd_att_finish(r)) != 0)
        rd_fail(r, rc, rc == GW_ENOMEM ? "out_of_memory" : "io_error", "%s", gw_strerror(rc));
    if (!r->err && (relay(r) != 0 || header_ns(r) != 0))
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
    if (r->err)
        return fail_out(r, code, errmsg, errmsg_len);
    r->doc->size = r->off;
    if (!r->o.no_package_sha256)
        EVP_DigestFinal_ex(r->sha, r->doc->sha256, &len);
    *out = r->doc;
    r->doc = NULL;
    return 0;
}

int gw_edxml_read(const void *buf, size_t len, const struct gw_edxml_reader_opts *opts,
                  struct gw_edxml_doc **out, const char **code, char *errmsg, size_t errmsg_len)
{
    struct gw_edxml_reader *r = gw_edxml_reader_new(opts);
    int rc;

    *out = NULL;
    if (!r) {
        if (code)
            *code = "out_of_memory";
        if (errmsg && errmsg_len)
            snprintf(errmsg, errmsg_len, "out_of_memory: out of memory");
        return GW_ENOMEM;
    }
    rc = gw_edxml_reader_feed(r, buf, len);
    (void)rc; /* the same error comes back from finish */
    rc = gw_edxml_reader_finish(r, out, code, errmsg, errmsg_len);
    gw_edxml_reader_free(r);
    return rc;
}
