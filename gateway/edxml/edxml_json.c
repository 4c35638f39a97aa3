/*
 * JSON form of a parsed package (edxml_json.h): the one shape the store expands into rows, the API
 * returns and `gatewayctl edxml check --json` prints; and the relay landmarks read back from it at
 * send time. Absent strings are null, hashes lowercase hex.
 */
#include "edxml/edxml_json.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/utf8.h"

static json_t *str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A JSON string of a C string that may not be valid UTF-8 (jansson refuses those): invalid
 * sequences become U+FFFD. */
static json_t *text(const char *s)
{
    json_t *j;
    char *clean;

    if (!s)
        return json_null();
    j = json_string(s);
    if (j)
        return j;
    clean = gw_utf8_sanitize(s, strlen(s) * 3);
    j = clean ? json_string(clean) : NULL;
    free(clean);
    return j;
}

static json_t *hex(const uint8_t h[32])
{
    static const char d[] = "0123456789abcdef";
    char out[65];

    for (int i = 0; i < 32; i++) {
        out[2 * i] = d[h[i] >> 4];
        out[2 * i + 1] = d[h[i] & 15];
    }
    out[64] = '\0';
    return json_string(out);
}

static bool zero32(const uint8_t h[32])
{
    for (int i = 0; i < 32; i++)
        if (h[i])
            return false;
    return true;
}

static json_t *opt_int(int v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *strv(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, text(v[i]));
    return a;
}

static json_t *org(const struct gw_edxml_org *o)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "organ_id", text(o->organ_id),
                     "organization_in_charge", text(o->organization_in_charge), "organ_name",
                     text(o->organ_name), "organ_add", text(o->organ_add), "email", text(o->email),
                     "telephone", text(o->telephone), "fax", text(o->fax), "website",
                     text(o->website));
}

static json_t *staff(const struct gw_edxml_staff *s)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "department", text(s->department), "staff",
                     text(s->staff), "email", text(s->email), "mobile", text(s->mobile));
}

static json_t *header(const struct gw_edxml_doc *d)
{
    json_t *h = json_object(), *to = json_array(), *rf = json_array();

    if (!h || !to || !rf) {
        json_decref(h);
        json_decref(to);
        json_decref(rf);
        return NULL;
    }
    for (size_t i = 0; i < d->n_to; i++)
        json_array_append_new(to, org(&d->to[i]));
    for (size_t i = 0; i < d->n_response_for; i++) {
        const struct gw_edxml_response_for *r = &d->response_for[i];
        json_array_append_new(rf, json_pack("{s:o,s:o,s:o,s:o}", "organ_id", text(r->organ_id),
                                            "code", text(r->code), "promulgation_date",
                                            text(r->promulgation_date), "document_id",
                                            text(r->document_id)));
    }
    json_object_set_new(h, "from", org(&d->sender));
    json_object_set_new(h, "to", to);
    json_object_set_new(
        h, "code",
        json_pack("{s:o,s:o}", "number", text(d->code.number), "notation", text(d->code.notation)));
    json_object_set_new(h, "promulgation_place", text(d->promulgation_place));
    json_object_set_new(h, "promulgation_date", text(d->promulgation_date));
    json_object_set_new(h, "document_type", text(d->document_type));
    json_object_set_new(h, "document_type_detail", text(d->document_type_detail));
    json_object_set_new(h, "document_type_name", text(d->document_type_name));
    json_object_set_new(h, "subject", text(d->subject));
    json_object_set_new(h, "content", text(d->content));
    json_object_set_new(h, "signer_competence", text(d->signer_competence));
    json_object_set_new(h, "signer_position", text(d->signer_position));
    json_object_set_new(h, "signer_full_name", text(d->signer_full_name));
    json_object_set_new(h, "due_date", text(d->due_date));
    json_object_set_new(h, "to_places", strv(d->to_places, d->n_to_places));
    json_object_set_new(h, "priority", opt_int(d->priority));
    json_object_set_new(h, "sphere_of_promulgation", text(d->sphere_of_promulgation));
    json_object_set_new(h, "typer_notation", text(d->typer_notation));
    json_object_set_new(h, "promulgation_amount", text(d->promulgation_amount));
    json_object_set_new(h, "page_amount", text(d->page_amount));
    json_object_set_new(h, "direction", text(d->direction));
    json_object_set_new(h, "appendixes", strv(d->appendixes, d->n_appendixes));
    json_object_set_new(h, "response_for", rf);
    json_object_set_new(h, "steering_type", opt_int(d->steering_type));
    json_object_set_new(h, "status_code", text(d->status_code));
    json_object_set_new(h, "status_description", text(d->status_description));
    json_object_set_new(h, "status_timestamp", text(d->status_timestamp));
    json_object_set_new(h, "status_staff", staff(&d->status_staff));
    return h;
}

static json_t *business(const struct gw_edxml_business *b)
{
    json_t *j, *rc = json_array(), *rp = json_array();

    if (!rc || !rp) {
        json_decref(rc);
        json_decref(rp);
        return NULL;
    }
    for (size_t i = 0; i < b->n_receivers; i++)
        json_array_append_new(rc, json_pack("{s:o,s:o}", "organ_id", text(b->receivers[i].organ_id),
                                            "receiver_type", text(b->receivers[i].receiver_type)));
    for (size_t i = 0; i < b->n_replacements; i++)
        json_array_append_new(
            rp,
            json_pack("{s:o,s:o}", "document_id", text(b->replacements[i].document_id), "organ_ids",
                      strv(b->replacements[i].organ_ids, b->replacements[i].n_organ_ids)));
    j = json_pack("{s:b,s:o,s:i,s:o,s:o,s:o,s:b,s:o,s:o}", "present", b->present, "document_id",
                  text(b->document_id), "doc_type", b->doc_type, "reason", text(b->reason), "paper",
                  opt_int(b->paper), "staff", staff(&b->staff), "has_document_info",
                  b->has_document_info, "document_info", opt_int(b->document_info),
                  "document_receiver", opt_int(b->document_receiver));
    if (j) {
        json_object_set_new(j, "receivers", rc);
        json_object_set_new(j, "replacements", rp);
    } else {
        json_decref(rc);
        json_decref(rp);
    }
    return j;
}

static json_t *attachment(const struct gw_edxml_attachment *a)
{
    json_t *j = json_object();

    if (!j)
        return NULL;
    json_object_set_new(j, "content_id", text(a->content_id));
    json_object_set_new(j, "name", text(a->name));
    json_object_set_new(j, "description", text(a->description));
    json_object_set_new(j, "content_type", text(a->content_type));
    json_object_set_new(j, "manifest_type", text(a->manifest_type));
    json_object_set_new(j, "detected_type",
                        a->detected_type[0] ? text(a->detected_type) : json_null());
    json_object_set_new(j, "b64_offset", json_integer((json_int_t)a->b64_offset));
    json_object_set_new(j, "b64_len", json_integer((json_int_t)a->b64_len));
    json_object_set_new(j, "b64_plain", json_boolean(a->b64_plain));
    json_object_set_new(j, "size", json_integer((json_int_t)a->size));
    json_object_set_new(j, "sha256", hex(a->sha256));
    json_object_set_new(j, "unwrap_tried", json_boolean(a->unwrap_tried));
    json_object_set_new(j, "unwrapped", json_boolean(a->unwrapped));
    json_object_set_new(j, "entry_name", text(a->entry_name));
    json_object_set_new(j, "unwrapped_size",
                        a->unwrapped ? json_integer((json_int_t)a->unwrapped_size) : json_null());
    json_object_set_new(j, "unwrapped_sha256",
                        a->unwrapped && !zero32(a->unwrapped_sha256) ? hex(a->unwrapped_sha256)
                                                                     : json_null());
    json_object_set_new(j, "unwrapped_type",
                        a->unwrapped && a->unwrapped_type[0] ? text(a->unwrapped_type)
                                                             : json_null());
    json_object_set_new(j, "unwrap_error", str(a->unwrap_error));
    return j;
}

static const char *const severity_names[] = {"note", "strict", "refuse"};
static const char *const trace_modes[] = {"after_last", "first_in_list", "new_list",
                                          "in_empty_list"};

static json_t *relay(const struct gw_edxml_relay *r)
{
    json_t *j, *to = json_array();
    unsigned m = (unsigned)r->trace_mode;

    if (!to)
        return NULL;
    for (size_t i = 0; i < r->n_to; i++)
        json_array_append_new(to, json_pack("{s:o,s:I,s:I}", "organ_id", text(r->to[i].organ_id),
                                            "start", (json_int_t)r->to[i].start, "end",
                                            (json_int_t)r->to[i].end));
    j = json_pack("{s:b,s:o,s:b,s:s,s:I,s:o,s:o,s:b,s:o}", "editable", r->editable, "not_editable",
                  str(r->not_editable), "xmldsig", r->xmldsig, "trace_mode",
                  m < 4 ? trace_modes[m] : "after_last", "trace_at", (json_int_t)r->trace_at,
                  "trace_prefix", text(r->trace_prefix), "trace_indent", text(r->trace_indent),
                  "trace_declare", r->trace_declare, "to", to);
    return j;
}

json_t *gw_edxml_doc_json(const struct gw_edxml_doc *d)
{
    json_t *j = json_object(), *a;

    if (!j)
        return NULL;
    json_object_set_new(j, "kind", json_string(d->kind == GW_KIND_STATUS ? "status" : "edoc"));
    json_object_set_new(j, "document_id", text(d->document_id));
    json_object_set_new(j, "document_id_norm", text(d->document_id_norm));
    json_object_set_new(j, "from", text(d->from));
    json_object_set_new(j, "recipients", strv(d->recipients, d->n_recipients));
    json_object_set_new(j, "header", header(d));
    a = json_array();
    for (size_t i = 0; a && i < d->n_traces; i++)
        json_array_append_new(a, json_pack("{s:o,s:o}", "organ_id", text(d->traces[i].organ_id),
                                           "timestamp", text(d->traces[i].timestamp)));
    json_object_set_new(j, "traces", a);
    json_object_set_new(j, "business", business(&d->business));
    a = json_array();
    for (size_t i = 0; a && i < d->n_references; i++) {
        const struct gw_edxml_reference *r = &d->references[i];
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "content_id", text(r->content_id),
                                           "content_type", text(r->content_type), "description",
                                           text(r->description), "attachment_name",
                                           text(r->attachment_name)));
    }
    json_object_set_new(j, "references", a);
    a = json_array();
    for (size_t i = 0; a && i < d->n_attachments; i++)
        json_array_append_new(a, attachment(&d->attachments[i]));
    json_object_set_new(j, "attachments", a);
    a = json_array();
    for (size_t i = 0; a && i < d->n_findings; i++) {
        const struct gw_edxml_finding *f = &d->findings[i];
        unsigned s = (unsigned)f->severity;
        json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o}", "code", f->code, "severity",
                                           s < 3 ? severity_names[s] : "strict", "xpath",
                                           text(f->xpath), "message", text(f->message)));
    }
    json_object_set_new(j, "findings", a);
    json_object_set_new(j, "relay", relay(&d->relay));
    json_object_set_new(j, "size", json_integer((json_int_t)d->size));
    json_object_set_new(j, "sha256", hex(d->sha256));
    /* A failed allocation anywhere above leaves a member missing: check the ones always set. */
    if (json_object_size(j) != 14 || !json_is_object(json_object_get(j, "header")) ||
        !json_is_object(json_object_get(j, "relay")) ||
        !json_is_object(json_object_get(j, "business"))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A stable static reason for a stored one (the model keeps a static string). */
static const char *reason(const char *s)
{
    static const char *const known[] = {"xmldsig",  "encoding",  "no_landmarks",
                                        "not_utf8", "signature", "unsupported"};

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(s, known[i]) == 0)
            return known[i];
    return "other";
}

static int dup_opt(const json_t *v, char **out)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return GW_EINVAL;
    *out = strndup(json_string_value(v), json_string_length(v));
    return *out ? 0 : GW_ENOMEM;
}

static int u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return GW_EINVAL;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int gw_edxml_relay_from_json(const json_t *j, struct gw_edxml_relay *out)
{
    const json_t *to, *ne, *mode;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return GW_EINVAL;
    to = json_object_get(j, "to");
    ne = json_object_get(j, "not_editable");
    mode = json_object_get(j, "trace_mode");
    if (!json_is_boolean(json_object_get(j, "editable")) || !json_is_array(to) ||
        !json_is_string(mode) || (ne && !json_is_null(ne) && !json_is_string(ne)))
        return GW_EINVAL;
    out->editable = json_is_true(json_object_get(j, "editable"));
    out->xmldsig = json_is_true(json_object_get(j, "xmldsig"));
    out->not_editable = ne && json_is_string(ne) ? reason(json_string_value(ne)) : NULL;
    rc = GW_EINVAL;
    out->trace_declare = json_is_true(json_object_get(j, "trace_declare")); /* absent: false */
    for (unsigned m = 0; m < 4; m++)
        if (strcmp(json_string_value(mode), trace_modes[m]) == 0) {
            out->trace_mode = (enum gw_edxml_trace_mode)m;
            rc = 0;
        }
    if (rc == 0)
        rc = u64(json_object_get(j, "trace_at"), &out->trace_at);
    if (rc == 0)
        rc = dup_opt(json_object_get(j, "trace_prefix"), &out->trace_prefix);
    if (rc == 0)
        rc = dup_opt(json_object_get(j, "trace_indent"), &out->trace_indent);
    if (rc == 0 && json_array_size(to) > 0) {
        out->to = calloc(json_array_size(to), sizeof(*out->to));
        if (!out->to)
            rc = GW_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(to); i++) {
        const json_t *t = json_array_get(to, i);
        struct gw_edxml_to_span *s = &out->to[i];
        out->n_to = i + 1;
        if (!json_is_object(t)) {
            rc = GW_EINVAL;
            break;
        }
        rc = dup_opt(json_object_get(t, "organ_id"), &s->organ_id);
        if (rc == 0)
            rc = u64(json_object_get(t, "start"), &s->start);
        if (rc == 0)
            rc = u64(json_object_get(t, "end"), &s->end);
        if (rc == 0 && s->end < s->start)
            rc = GW_EINVAL;
    }
    if (rc)
        gw_edxml_relay_free(out);
    return rc;
}

void gw_edxml_relay_free(struct gw_edxml_relay *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_to; i++)
        free(r->to[i].organ_id);
    free(r->to);
    free(r->trace_prefix);
    free(r->trace_indent);
    memset(r, 0, sizeof(*r));
}
