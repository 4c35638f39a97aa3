/*
 * Where the text of each captured leaf goes in the model (edxml_model.h): trimmed, cut to its cap
 * on a character boundary (with a finding), routing ids checked as refusals, numbers read, the
 * text "null" in an OrganId read as missing, a one-digit StatusCode read with a leading zero.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxml/edxml_rd.h"
#include "util/error.h"

static bool xml_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trim(char *s)
{
    size_t n;

    while (xml_ws(*s))
        s++;
    n = strlen(s);
    while (n > 0 && xml_ws(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Sets *slot to a copy of v unless it already holds a non-empty value. */
static void set(struct rd *r, char **slot, const char *v)
{
    if (*slot && **slot)
        return;
    free(*slot);
    *slot = strdup(v);
    if (!*slot)
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
}

static void add_str(struct rd *r, char ***v, size_t *n, const char *s)
{
    char **p;

    if (*n >= RD_MAX_ITEMS) {
        rd_fail(r, GW_ELIMIT, "too_many_items", "more than %d items in one list", RD_MAX_ITEMS);
        return;
    }
    if ((*n & (*n - 1)) == 0) {
        p = realloc(*v, (*n ? *n * 2 : 2) * sizeof(char *));
        if (!p) {
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
            return;
        }
        *v = p;
    }
    (*v)[*n] = strdup(s);
    if (!(*v)[*n]) {
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
        return;
    }
    (*n)++;
}

/* -1 when not a small decimal. */
static int number(const char *s)
{
    int v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int read_number(struct rd *r, const char *v, const char *leaf)
{
    int n = number(v);

    if (n < 0 && *v)
        rd_finding(r, "unreadable_number", GW_EDXML_STRICT, NULL, "%s is not a number", leaf);
    return n;
}

/* Routing ids (From, To, ResponseFor organ ids, DocumentIds): refused when too long or dirty,
 * except a To's OrganId (drop: the To is then dropped like one without an OrganId, domain.md §2,
 * and the package is refused only when no To remains). */
static char *routing_id(struct rd *r, char *raw, bool over, const char *what, bool organ, bool drop)
{
    char *v;
    int rc = gw_edxml_clean_id(raw, over, &v);

    if (rc != 0 && drop) {
        rd_finding(r, rc == GW_ELIMIT ? "to_organ_id_too_long" : "to_organ_id_control_characters",
                   GW_EDXML_STRICT, NULL,
                   rc == GW_ELIMIT ? "a To OrganId longer than %d bytes: the To is dropped"
                                   : "a To OrganId with control characters: the To is dropped",
                   GW_EDXML_ID_MAX);
        raw[0] = '\0';
        return raw;
    }
    if (rc == GW_ELIMIT) {
        rd_fail(r, GW_ENOTEDXML, "id_too_long", "%s longer than %d bytes", what, GW_EDXML_ID_MAX);
        return NULL;
    }
    if (rc != 0) {
        rd_fail(r, GW_ENOTEDXML, "id_control_characters", "%s contains control characters", what);
        return NULL;
    }
    if (organ && strcasecmp(v, "null") == 0)
        *v = '\0'; /* "null", "NULL", "Null": missing */
    return v;
}

static void org_leaf(struct rd *r, struct gw_edxml_org *o, int role, char *v)
{
    switch (role) {
    case L_ORGANID:
        if (*v)
            set(r, &o->organ_id, v);
        break;
    case L_OIC:
        set(r, &o->organization_in_charge, v);
        break;
    case L_ORGNAME:
        set(r, &o->organ_name, v);
        break;
    case L_ORGADD:
        set(r, &o->organ_add, v);
        break;
    case L_EMAIL:
        set(r, &o->email, v);
        break;
    case L_TEL:
        set(r, &o->telephone, v);
        break;
    case L_FAX:
        set(r, &o->fax, v);
        break;
    case L_WEB:
        set(r, &o->website, v);
        break;
    default:
        break;
    }
}

static void staff_leaf(struct rd *r, struct gw_edxml_staff *s, int role, char *v)
{
    switch (role) {
    case L_DEPT:
        set(r, &s->department, v);
        break;
    case L_STAFF:
        set(r, &s->staff, v);
        break;
    case L_EMAIL:
        set(r, &s->email, v);
        break;
    case L_MOBILE:
        set(r, &s->mobile, v);
        break;
    default:
        break;
    }
}

/* The first non-empty OrganId of a To is its recipient, the one its relay span carries, so
 * doc->recipients holds exactly the ids the relay matches; a second one gets a finding. */
static void to_organ(struct rd *r, char *v)
{
    int rc;

    if (!*v)
        return;
    if (r->to_has_id) {
        rd_finding(r, "to_second_organ_id", GW_EDXML_STRICT, NULL,
                   "a To with more than one OrganId: only the first is a recipient");
        return;
    }
    r->to_has_id = true;
    rc = gw_edxml_rcpt_add(&r->rcpt, v, r->o.limits.max_recipients);
    if (rc == GW_ELIMIT)
        rd_fail(r, GW_ELIMIT, "too_many_recipients", "more than %u recipients",
                r->o.limits.max_recipients);
    else if (rc != 0)
        rd_fail(r, rc, "out_of_memory", "out of memory");
}

static void msg_leaf(struct rd *r, int role, char *v, const char *leaf)
{
    struct gw_edxml_doc *d = r->doc;

    switch (role) {
    case L_SUBJECT:
        set(r, &d->subject, v);
        break;
    case L_CONTENT:
        set(r, &d->content, v);
        break;
    case L_DUEDATE:
        set(r, &d->due_date, v);
        break;
    case L_STEERING:
        d->steering_type = read_number(r, v, leaf);
        break;
    case L_DESC:
        set(r, &d->status_description, v);
        break;
    case L_TIMESTAMP:
        set(r, &d->status_timestamp, v);
        break;
    case L_STATUS:
        if (v[0] >= '0' && v[0] <= '9' && v[1] == '\0') {
            char two[3] = {'0', v[0], '\0'};
            rd_finding(r, "status_code_one_digit", GW_EDXML_STRICT, NULL,
                       "StatusCode %s read as %s", v, two);
            set(r, &d->status_code, two);
        } else {
            set(r, &d->status_code, v);
        }
        break;
    default:
        break;
    }
}

void rd_leaf(struct rd *r, int parent, int role, char *raw, bool over)
{
    struct gw_edxml_doc *d = r->doc;
    struct gw_edxml_business *b = &d->business;
    const char *leaf = (const char *)r->st[r->depth].name;
    bool routing =
        (role == L_ORGANID && (parent == R_FROM || parent == R_TO || parent == R_RESPFOR)) ||
        (role == L_DOCID && (parent == R_MSG || parent == R_RESPFOR)) || role == L_STATUS;
    char *v;

    if (role == R_DS_SV) {
        /* a real signature value: long base64, not one character repeated */
        size_t n = 0;
        bool b64 = true, same = true;
        char first = 0;
        for (const char *p = raw; *p; p++) {
            char c = *p;
            if (xml_ws(c))
                continue;
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || c == '='))
                b64 = false;
            if (n == 0)
                first = c;
            else if (c != first && c != '=')
                same = false;
            n++;
        }
        r->sig_value_seen = true;
        r->sig_value_real = b64 && !same && n >= 32;
        return;
    }
    if (routing) {
        v = routing_id(r, raw, over,
                       role == L_STATUS  ? "StatusCode"
                       : role == L_DOCID ? "DocumentId"
                                         : "OrganId",
                       role == L_ORGANID, role == L_ORGANID && parent == R_TO);
        if (!v)
            return;
    } else {
        if (over) {
            size_t n = strlen(raw), j = n;
            while (j > 0 && ((unsigned char)raw[j - 1] & 0xC0) == 0x80)
                j--; /* j - 1: the last character's first byte */
            if (j > 0) {
                unsigned char c = (unsigned char)raw[j - 1];
                size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
                if (j - 1 + want > n)
                    raw[j - 1] = '\0'; /* cut before a partial character */
            }
            rd_finding(r, "value_truncated", GW_EDXML_STRICT, NULL,
                       "%s is longer than the gateway keeps; truncated", leaf);
        }
        v = trim(raw);
    }
    r->text_total += strlen(v);
    if (r->text_total > RD_TEXT_MAX) {
        rd_fail(r, GW_ELIMIT, "too_much_text", "the fields of the package hold more than %d bytes",
                RD_TEXT_MAX);
        return;
    }
    switch (parent) {
    case R_FROM:
        org_leaf(r, &d->sender, role, v);
        if (role == L_ORGANID && *v)
            set(r, &d->from, v);
        break;
    case R_TO:
        org_leaf(r, &d->to[d->n_to - 1], role, v);
        if (role == L_ORGANID)
            to_organ(r, v);
        break;
    case R_MSG:
        if (role == L_DOCID) {
            if (*v)
                set(r, &d->document_id, v);
        } else {
            if (role == L_STATUS && !*v) {
                r->empty_status = true; /* an empty <StatusCode/> counts as absent */
                break;
            }
            if (role == L_STATUS)
                r->seen_status = true;
            msg_leaf(r, role, v, leaf);
        }
        break;
    case R_CODE:
        set(r, role == L_CODENUM ? &d->code.number : &d->code.notation, v);
        break;
    case R_PROMUL:
        set(r, role == L_PLACE ? &d->promulgation_place : &d->promulgation_date, v);
        break;
    case R_DTYPE:
        set(r,
            role == L_TYPE         ? &d->document_type
            : role == L_TYPEDETAIL ? &d->document_type_detail
                                   : &d->document_type_name,
            v);
        break;
    case R_SIGNER:
        set(r,
            role == L_COMPETENCE ? &d->signer_competence
            : role == L_POSITION ? &d->signer_position
                                 : &d->signer_full_name,
            v);
        break;
    case R_TOPLACES:
        add_str(r, &d->to_places, &d->n_to_places, v);
        break;
    case R_APPXS:
        add_str(r, &d->appendixes, &d->n_appendixes, v);
        break;
    case R_OTHERINFO:
        switch (role) {
        case L_PRIORITY:
            d->priority = read_number(r, v, leaf);
            break;
        case L_SPHERE:
            set(r, &d->sphere_of_promulgation, v);
            break;
        case L_TYPER:
            set(r, &d->typer_notation, v);
            break;
        case L_PAMOUNT:
            set(r, &d->promulgation_amount, v);
            break;
        case L_PAGES:
            set(r, &d->page_amount, v);
            break;
        default:
            set(r, &d->direction, v);
            break;
        }
        break;
    case R_RESPFOR: {
        struct gw_edxml_response_for *f = &d->response_for[d->n_response_for - 1];
        if (role == L_ORGANID) {
            if (*v)
                set(r, &f->organ_id, v);
        } else if (role == L_DOCID) {
            if (*v)
                set(r, &f->document_id, v);
        } else {
            set(r, role == L_RCODE ? &f->code : &f->promulgation_date, v);
        }
        break;
    }
    case R_STAFF:
        staff_leaf(r, r->st[r->depth - 2].role == R_BUS ? &b->staff : &d->status_staff, role, v);
        break;
    case R_TRACE: {
        struct gw_edxml_trace *t = &d->traces[d->n_traces - 1];
        if (role == L_ORGANID) {
            if (*v && strcasecmp(v, "null") != 0)
                set(r, &t->organ_id, v);
        } else {
            set(r, &t->timestamp, v);
        }
        break;
    }
    case R_BUS:
        switch (role) {
        case L_DOCID:
            set(r, &b->document_id, v);
            break;
        case L_REASON:
            set(r, &b->reason, v);
            break;
        case L_PAPER:
            b->paper = read_number(r, v, leaf);
            break;
        case L_BDT:
            b->doc_type = over ? -1 : gw_edxml_parse_bdt(v);
            if (b->doc_type < 0)
                rd_fail(r, GW_ENOTEDXML, "bad_business_doc_type",
                        "BussinessDocType is not 0, 1, 2 or 3");
            break;
        default:
            break;
        }
        break;
    case R_BDI:
        if (role == L_DOCINFO)
            b->document_info = read_number(r, v, leaf);
        else
            b->document_receiver = read_number(r, v, leaf);
        break;
    case R_RECV: {
        struct gw_edxml_receiver *x = &b->receivers[b->n_receivers - 1];
        set(r, role == L_ORGANID ? &x->organ_id : &x->receiver_type, v);
        break;
    }
    case R_REPL:
        if (role == L_DOCID)
            set(r, &b->replacements[b->n_replacements - 1].document_id, v);
        break;
    case R_OIDL:
        if (b->n_replacements > 0) {
            struct gw_edxml_replacement *x = &b->replacements[b->n_replacements - 1];
            add_str(r, &x->organ_ids, &x->n_organ_ids, v);
        }
        break;
    case R_REF: {
        struct gw_edxml_reference *x = &d->references[d->n_references - 1];
        set(r,
            role == L_CID     ? &x->content_id
            : role == L_CTYPE ? &x->content_type
            : role == L_DESC  ? &x->description
                              : &x->attachment_name,
            v);
        break;
    }
    case R_ATT: {
        struct gw_edxml_attachment *x = &d->attachments[d->n_attachments - 1];
        set(r,
            role == L_CID     ? &x->content_id
            : role == L_CTYPE ? &x->content_type
            : role == L_DESC  ? &x->description
                              : &x->name,
            v);
        break;
    }
    default:
        break;
    }
}
