/*
 * gw_ingest_doc_json: the part of a package's JSON form (edxml_json.h) that the store expands into
 * rows (attachments, findings) and shows (summary), for deployments built without the full form.
 * Same member names and types as gw_edxml_doc_json, so the SQL reads either.
 */
#include "pipeline/ingest.h"

#include <jansson.h>
#include <stdlib.h>

static json_t *gw_ingest_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *gw_ingest_hex(const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char out[65];

    for (size_t i = 0; i < n && i < 32; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * (n < 32 ? n : 32)] = '\0';
    return json_string(out);
}

static json_t *gw_ingest_attachment(const struct gw_edxml_attachment *a)
{
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o,s:b,s:o,s:o,s:o,s:o,s:o}", "content_id",
        gw_ingest_str(a->content_id), "name", gw_ingest_str(a->name), "description",
        gw_ingest_str(a->description), "content_type", gw_ingest_str(a->content_type),
        "manifest_type", gw_ingest_str(a->manifest_type), "detected_type",
        gw_ingest_str(a->detected_type[0] ? a->detected_type : NULL), "b64_offset",
        (json_int_t)a->b64_offset, "b64_len", (json_int_t)a->b64_len, "size", (json_int_t)a->size,
        "sha256", gw_ingest_hex(a->sha256, 32), "unwrapped", a->unwrapped, "entry_name",
        gw_ingest_str(a->entry_name), "unwrapped_size",
        a->unwrapped ? json_integer((json_int_t)a->unwrapped_size) : json_null(),
        "unwrapped_sha256", a->unwrapped ? gw_ingest_hex(a->unwrapped_sha256, 32) : json_null(),
        "unwrapped_type",
        gw_ingest_str(a->unwrapped && a->unwrapped_type[0] ? a->unwrapped_type : NULL),
        "unwrap_error", gw_ingest_str(a->unwrap_error));
}

static const char *gw_ingest_severity(enum gw_edxml_severity s)
{
    return s == GW_EDXML_REFUSE ? "refuse" : s == GW_EDXML_STRICT ? "strict" : "note";
}

char *gw_ingest_doc_json(const struct gw_edxml_doc *doc)
{
    json_t *o = json_object(), *rc = json_array(), *at = json_array(), *fi = json_array();
    char *out = NULL;
    bool ok = o && rc && at && fi;

    for (size_t i = 0; ok && i < doc->n_recipients; i++)
        ok = json_array_append_new(rc, json_string(doc->recipients[i])) == 0;
    for (size_t i = 0; ok && i < doc->n_attachments; i++)
        ok = json_array_append_new(at, gw_ingest_attachment(&doc->attachments[i])) == 0;
    for (size_t i = 0; ok && i < doc->n_findings; i++) {
        const struct gw_edxml_finding *f = &doc->findings[i];
        ok = json_array_append_new(fi, json_pack("{s:s,s:s,s:o,s:o}", "code", f->code, "severity",
                                                 gw_ingest_severity(f->severity), "xpath",
                                                 gw_ingest_str(f->xpath), "message",
                                                 gw_ingest_str(f->message))) == 0;
    }
    if (ok)
        ok =
            json_object_set_new(
                o, "kind", json_string(doc->kind == GW_KIND_STATUS ? "status" : "edoc")) == 0 &&
            json_object_set_new(o, "document_id", gw_ingest_str(doc->document_id)) == 0 &&
            json_object_set_new(o, "document_id_norm", gw_ingest_str(doc->document_id_norm)) == 0 &&
            json_object_set_new(o, "from", gw_ingest_str(doc->from)) == 0 &&
            json_object_set(o, "recipients", rc) == 0 &&
            json_object_set(o, "attachments", at) == 0 && json_object_set(o, "findings", fi) == 0 &&
            json_object_set_new(o, "size", json_integer((json_int_t)doc->size)) == 0 &&
            json_object_set_new(o, "sha256", gw_ingest_hex(doc->sha256, 32)) == 0;
    if (ok)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(rc);
    json_decref(at);
    json_decref(fi);
    json_decref(o);
    return out;
}
