/*
 * edXML routing extraction (edxml.h), kept for the callers that need only kind, DocumentId, From,
 * To, StatusCode and BussinessDocType: a thin layer over the streaming reader (edxml_reader.h),
 * so both give the same verdicts with the same stable codes.
 */
#include "edxml/edxml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxml/edxml_reader.h"
#include "util/error.h"

void gw_edxml_limits_default(struct gw_edxml_limits *l)
{
    l->max_bytes = 64u * 1024 * 1024;
    l->max_depth = 64;
    l->max_recipients = 1000;
}

void gw_edxml_info_free(struct gw_edxml_info *info)
{
    if (!info)
        return;
    free(info->document_id);
    free(info->from);
    for (size_t i = 0; i < info->n_to; i++)
        free(info->to[i]);
    free(info->to);
    free(info->status_code);
    memset(info, 0, sizeof(*info));
}

bool gw_edxml_is_verdict(int err)
{
    return err == GW_EPARSE || err == GW_ENOTEDXML || err == GW_ENORCPT;
}

int gw_edxml_parse(const void *buf, size_t len, const struct gw_edxml_limits *lim,
                   struct gw_edxml_info *out, char *errmsg, size_t errmsg_len)
{
    struct gw_edxml_reader_opts o;
    struct gw_edxml_doc *doc = NULL;
    const char *code = NULL;
    char msg[256];
    int rc;

    memset(out, 0, sizeof(*out));
    gw_edxml_reader_opts_default(&o);
    if (lim)
        o.limits = *lim;
    if (!buf)
        len = 0;
    rc = gw_edxml_read(buf ? buf : "", len, &o, &doc, &code, msg, sizeof(msg));
    if (errmsg && errmsg_len)
        snprintf(errmsg, errmsg_len, "%s", rc ? msg : "");
    if (rc != 0) {
        out->error_code = code ? code : gw_errcode(rc);
        return rc;
    }
    out->kind = doc->kind;
    out->document_id = doc->document_id;
    out->from = doc->from;
    out->to = doc->recipients;
    out->n_to = doc->n_recipients;
    out->status_code = doc->kind == GW_KIND_STATUS ? doc->status_code : NULL;
    out->business_doc_type = doc->business.doc_type;
    doc->document_id = NULL;
    doc->from = NULL;
    doc->recipients = NULL;
    doc->n_recipients = 0;
    if (doc->kind == GW_KIND_STATUS)
        doc->status_code = NULL;
    gw_edxml_doc_free(doc);
    free(doc);
    return 0;
}
