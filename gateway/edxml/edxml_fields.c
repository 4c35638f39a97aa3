/*
 * SAX2 callbacks of the streaming reader: which element is which (by namespace URI and local
 * name, never by prefix), the text of every MessageHeader, TraceHeaderList, manifest and
 * attachment field captured with a cap, list items appended to the model, the scanner's tags
 * paired with elements for the relay landmarks, and the XML-DSig test.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxml/edxml.h"
#include "edxml/edxml_rd.h"
#include "util/common.h"
#include "util/error.h"

#define NS_DSIG      "http://www.w3.org/2000/09/xmldsig#"
#define NS_INETCLOUD "http://www.inetcloud.vn/ns/edxml"

static void *push(struct rd *r, void **v, size_t *n, size_t size)
{
    char *p;

    if (*n >= RD_MAX_ITEMS) {
        rd_fail(r, GW_ELIMIT, "too_many_items", "more than %d items in one list", RD_MAX_ITEMS);
        return NULL;
    }
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n ? *n * 2 : 2;
        p = realloc(*v, cap * size);
        if (!p) {
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
            return NULL;
        }
        *v = p;
    }
    p = (char *)*v + *n * size;
    memset(p, 0, size);
    (*n)++;
    return p;
}
#define PUSH(r, arr, n) ((__typeof__(arr))push((r), (void **)&(arr), &(n), sizeof(*(arr))))

static char *dup_str(struct rd *r, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
    return d;
}

/* Pairs the element with the scanner's next tag. */
static bool pop_tag(struct rd *r, bool end, struct gw_edxml_tag *t)
{
    if (r->qn == 0 || r->q[r->qh].end != end) {
        r->tags_lost = true;
        return false;
    }
    *t = r->q[r->qh];
    r->qh = (r->qh + 1) % r->qcap;
    r->qn--;
    return true;
}

static unsigned list_index(struct rd *r, int role)
{
    struct gw_edxml_doc *d = r->doc;

    switch (role) {
    case R_TO:
        return (unsigned)d->n_to;
    case R_RESPFOR:
        return (unsigned)d->n_response_for;
    case R_TRACE:
        return (unsigned)d->n_traces;
    case R_REF:
        return (unsigned)d->n_references;
    case R_ATT:
        return (unsigned)d->n_attachments;
    case R_RECV:
        return (unsigned)d->business.n_receivers;
    case R_REPL:
        return (unsigned)d->business.n_replacements;
    default:
        return 0;
    }
}

static void start_list_item(struct rd *r, int role)
{
    struct gw_edxml_doc *d = r->doc;
    struct gw_edxml_attachment *a;

    switch (role) {
    case R_TO:
        PUSH(r, d->to, d->n_to);
        r->to_has_id = false;
        break;
    case R_RESPFOR:
        PUSH(r, d->response_for, d->n_response_for);
        break;
    case R_TRACE:
        PUSH(r, d->traces, d->n_traces);
        break;
    case R_REF:
        PUSH(r, d->references, d->n_references);
        break;
    case R_RECV:
        PUSH(r, d->business.receivers, d->business.n_receivers);
        break;
    case R_REPL:
        PUSH(r, d->business.replacements, d->business.n_replacements);
        break;
    case R_ATT: {
        size_t n = d->n_attachments;
        struct rd_att *pa;
        a = PUSH(r, d->attachments, d->n_attachments);
        if (!a)
            break;
        if ((n & (n - 1)) == 0) {
            pa = realloc(r->att, (n ? n * 2 : 2) * sizeof(*pa));
            if (!pa) {
                rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
                break;
            }
            r->att = pa;
        }
        rd_att_begin(r, a, &r->att[n]);
        r->natt = n + 1;
        break;
    }
    default:
        break;
    }
}

static void copy_ws(char *dst, const struct rd *r)
{
    memcpy(dst, r->ws, r->nws);
    dst[r->nws] = '\0';
}

static void on_root(struct rd *r, const char *name, const xmlChar *uri, int nb_ns,
                    const xmlChar **ns)
{
    for (int i = 0; i < nb_ns; i++) {
        if (ns[2 * i + 1] && strcmp((const char *)ns[2 * i + 1], NS_INETCLOUD) == 0) {
            rd_fail(r, GW_ENOTEDXML, "inetcloud_format",
                    "the older inetcloud edXML format is not supported");
            return;
        }
    }
    if (uri && strcmp((const char *)uri, NS_INETCLOUD) == 0) {
        rd_fail(r, GW_ENOTEDXML, "inetcloud_format",
                "the older inetcloud edXML format is not supported");
        return;
    }
    if (strcmp(name, "Envelope") == 0 && uri && strstr((const char *)uri, "soap")) {
        r->soap = true; /* looked through for the inetcloud namespace, refused at the end */
        return;
    }
    if (!rd_in_edxml_ns(uri) || strcmp(name, "edXML") != 0) {
        rd_fail(r, GW_ENOTEDXML, "not_edxml", "root element is not edXML");
        return;
    }
    r->seen_root = true;
    if (!uri || !*uri) /* accepted (lenient: real senders omit it), matched by local name */
        rd_finding(r, "no_namespace", GW_EDXML_STRICT, NULL,
                   "the edXML root is in no namespace (expected " GW_EDXML_NS ")");
}

static void keep_ns(struct rd *r, int nb_ns, const xmlChar **ns)
{
    for (int i = 0; i < nb_ns && r->nns < 64; i++) {
        char **p = realloc(r->nsp, (r->nns + 1) * sizeof(char *));
        char **u = p ? realloc(r->nsu, (r->nns + 1) * sizeof(char *)) : NULL;
        if (p)
            r->nsp = p;
        if (!p || !u) {
            rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
            return;
        }
        r->nsu = u;
        r->nsp[r->nns] = dup_str(r, (const char *)ns[2 * i]);
        r->nsu[r->nns] = dup_str(r, (const char *)ns[2 * i + 1]);
        r->nns++;
    }
}

static void check_prefixes(struct rd *r, const xmlChar *prefix, const xmlChar *uri, int nb_attr,
                           const xmlChar **attrs)
{
    if (prefix && !uri)
        rd_finding(r, "undeclared_prefix", GW_EDXML_STRICT, NULL,
                   "namespace prefix %s is not declared (matched by local name)", prefix);
    for (int i = 0; i < nb_attr; i++) {
        if (attrs[5 * i + 1] && !attrs[5 * i + 2])
            rd_finding(r, "undeclared_prefix", GW_EDXML_STRICT, NULL,
                       "namespace prefix %s of attribute %s is not declared", attrs[5 * i + 1],
                       attrs[5 * i]);
    }
}

static void push_ns(struct rd *r, struct rd_frame *f, int nb_ns, const xmlChar **ns)
{
    for (int i = 0; i < nb_ns; i++) {
        if (r->nss >= RD_NS_STACK) {
            r->nss_over = true;
            return;
        }
        r->nss_p[r->nss] = ns[2 * i];
        r->nss_u[r->nss] = ns[2 * i + 1];
        r->nss++;
        f->nsn++;
    }
}

/* Is prefix (NULL: the default namespace) bound to the QCVN 102 namespace in scope, the top skip
 * declarations (the current element's own) left out? */
static bool bound_to_edxml(const struct rd *r, const xmlChar *prefix, unsigned skip)
{
    if (r->nss_over)
        return false; /* unknown: the inserted element declares it */
    for (unsigned i = r->nss - skip; i-- > 0;) {
        const xmlChar *p = r->nss_p[i];
        if ((!p && !prefix) || (p && prefix && strcmp((const char *)p, (const char *)prefix) == 0))
            return r->nss_u[i] && strcmp((const char *)r->nss_u[i], GW_EDXML_NS) == 0;
    }
    return false;
}

static void on_start(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
    struct rd *r = ud;
    const char *name = (const char *)localname;
    struct rd_frame *f;
    int parent, role = R_OTHER;

    if (r->err)
        return;
    if (r->depth >= r->o.limits.max_depth || r->depth >= GW_EDXML_MAX_DEPTH) {
        rd_fail(r, GW_EPARSE, "too_deep", "elements nested deeper than %u",
                r->o.limits.max_depth < GW_EDXML_MAX_DEPTH ? r->o.limits.max_depth
                                                           : GW_EDXML_MAX_DEPTH);
        return;
    }
    if (nb_attr > GW_EDXML_MAX_ATTRS) {
        rd_fail(r, GW_EPARSE, "too_many_attributes", "an element carries more than %d attributes",
                GW_EDXML_MAX_ATTRS);
        return;
    }
    r->depth++;
    f = &r->st[r->depth];
    memset(f, 0, sizeof(*f));
    f->name = localname;
    f->prefix = prefix;
    f->tagged = pop_tag(r, false, &f->start);
    push_ns(r, f, nb_ns, ns);
    parent = r->st[r->depth - 1].role;
    if (r->depth == 1) {
        on_root(r, name, uri, nb_ns, ns);
        role = r->seen_root ? R_ROOT : R_OTHER;
    } else if (r->soap) {
        if ((uri && strcmp((const char *)uri, NS_INETCLOUD) == 0))
            rd_fail(r, GW_ENOTEDXML, "inetcloud_format",
                    "the older inetcloud edXML format is not supported");
        for (int i = 0; i < nb_ns; i++)
            if (ns[2 * i + 1] && strcmp((const char *)ns[2 * i + 1], NS_INETCLOUD) == 0)
                rd_fail(r, GW_ENOTEDXML, "inetcloud_format",
                        "the older inetcloud edXML format is not supported");
    } else if (parent == R_SIG || parent == R_OTHER) {
        if (parent == R_SIG && uri && strcmp((const char *)uri, NS_DSIG) == 0) {
            if (strcmp(name, "SignedInfo") == 0)
                role = R_DS_SI;
            else if (strcmp(name, "SignatureValue") == 0)
                role = R_DS_SV;
        }
    } else if (strcmp(name, "Signature") == 0 && uri && strcmp((const char *)uri, NS_DSIG) == 0) {
        role = R_SIG; /* wherever it is (edXMLHeader in QCVN 102) */
        r->sig_dsig = true;
    } else if (parent < L_FIRST && rd_in_edxml_ns(uri)) {
        role = rd_child_role(parent, name);
    }
    f->role = role;
    if (parent == R_CTE) {
        /* the recipient's text content and the gateway's decoded bytes would differ */
        rd_fail(r, GW_ENOTEDXML, "bad_base64",
                "an element inside ContentTransferEncoded: the attachment is ambiguous");
        return;
    }
    if (role != R_OTHER) {
        bool local;
        unsigned cap = rd_elem_cap(parent, role, &local);
        if (cap > 0 && ++r->nelem[role] > cap) {
            if (local)
                rd_fail(r, GW_ELIMIT, "too_many_items", "more than %u %s elements", cap, name);
            else
                rd_fail(r, GW_EPARSE, "too_many_elements", "more than %u %s elements", cap, name);
            return;
        }
    }
    check_prefixes(r, prefix, uri, nb_attr, attrs);
    if (r->depth <= 2 && !r->soap && r->doc->header_end == 0)
        keep_ns(r, nb_ns, ns); /* in scope at edXMLHeader's start */
    if (role == R_ATTENC && parent == R_ENV)
        rd_finding(r, "attachments_in_envelope", GW_EDXML_STRICT, NULL,
                   "AttachmentEncoded inside edXMLEnvelope (QCVN 102: a sibling of the envelope)");
    else if (role == R_OTHER && (parent == R_ROOT || parent == R_ENV) &&
             strcmp(name, "Attachment") == 0 && rd_in_edxml_ns(uri))
        rd_finding(r, "attachment_outside_attachment_encoded", GW_EDXML_STRICT, NULL,
                   "an Attachment outside AttachmentEncoded is not read");
    switch (role) {
    case R_MSG:
        if (r->seen_msghdr) {
            rd_fail(r, GW_ENOTEDXML, "duplicate_message_header", "more than one MessageHeader");
            return;
        }
        r->seen_msghdr = true;
        copy_ws(r->ind_msg, r);
        free(r->msg_prefix);
        r->msg_prefix = dup_str(r, (const char *)prefix);
        r->msg_bound = bound_to_edxml(r, prefix, f->nsn); /* edXMLHeader's scope */
        break;
    case R_HDR:
        if (f->tagged)
            r->doc->header_start = f->start.lt;
        break;
    case R_SIG:
        if (!r->sig_dsig)
            r->sig_other = true;
        break;
    case R_TLIST:
        if (r->have_list)
            break;
        r->have_list = true;
        r->list_empty_tag = f->tagged && f->start.empty;
        r->list_gt = f->start.gt;
        copy_ws(r->ind_list, r);
        r->list_prefix = dup_str(r, (const char *)prefix);
        r->list_bound = bound_to_edxml(r, prefix, 0); /* inside the list */
        break;
    case R_TRACE:
    case R_BUS:
        if (parent == R_TLIST && !r->list_child_seen) {
            r->list_child_seen = true;
            copy_ws(r->ind_child, r);
        }
        if (role == R_TRACE) {
            copy_ws(r->ind_trace, r);
            free(r->trace_prefix);
            r->trace_prefix = dup_str(r, (const char *)prefix);
            r->trace_bound = bound_to_edxml(r, prefix, f->nsn); /* the list's scope */
        } else {
            r->doc->business.present = true;
        }
        break;
    case R_BDI:
        r->doc->business.has_document_info = true;
        break;
    case R_CTE:
        rd_att_text(r, NULL, 0); /* opens the decoder */
        break;
    default:
        break;
    }
    if (role == R_TO || role == R_RESPFOR || role == R_TRACE || role == R_REF || role == R_ATT ||
        role == R_RECV || role == R_REPL) {
        start_list_item(r, role);
        f->idx = list_index(r, role);
    }
    if (role >= L_FIRST || role == R_DS_SV) {
        r->cap_role = role;
        r->cap_depth = r->depth;
        r->cap_len = 0;
        r->cap_over = false;
        r->cap_max = role == R_DS_SV ? 64 * 1024 : rd_cap_of(role);
    }
    r->nws = 0;
    r->ws_broken = false;
}

static bool xml_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void on_chars(void *ud, const xmlChar *ch, int len)
{
    struct rd *r = ud;
    const char *s = (const char *)ch;
    size_t n = (size_t)len, k;

    if (r->err || len <= 0)
        return;
    if (r->st[r->depth].role == R_CTE) {
        rd_att_text(r, s, n);
        return;
    }
    if (r->cap_role) {
        k = n;
        if (k > r->cap_max - r->cap_len) {
            k = r->cap_max - r->cap_len;
            r->cap_over = true;
        }
        memcpy(r->cap + r->cap_len, s, k);
        r->cap_len += k;
    }
    /* trailing white space run (the indentation before the next tag) */
    k = n;
    while (k > 0 && xml_ws(s[k - 1]))
        k--;
    if (k > 0)
        r->nws = 0;
    for (size_t i = k; i < n && r->nws < RD_WS_MAX; i++)
        r->ws[r->nws++] = s[i];
}

static void on_end(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct rd *r = ud;
    struct rd_frame *f = &r->st[r->depth];
    struct gw_edxml_tag t = {0};
    uint64_t end = 0;
    bool have_end = false;

    if (r->err || r->depth == 0)
        return;
    if (f->tagged && f->start.empty) {
        end = f->start.gt;
        have_end = true;
    } else if (pop_tag(r, true, &t)) {
        end = t.gt;
        have_end = true;
    }
    r->end_ok = have_end && !(f->tagged && f->start.empty);
    r->end_lt = r->end_ok ? t.lt : 0;
    r->end_marks = t.marks;
    if (r->cap_role && r->depth == r->cap_depth) {
        int role = r->cap_role;
        r->cap[r->cap_len] = '\0';
        r->cap_role = 0;
        rd_leaf(r, r->st[r->depth - 1].role, role, r->cap, r->cap_over);
    }
    switch (f->role) {
    case R_TO: {
        struct gw_edxml_to_span *sp = PUSH(r, r->doc->relay.to, r->doc->relay.n_to);
        struct gw_edxml_org *o = &r->doc->to[r->doc->n_to - 1];
        if (!sp)
            break;
        sp->start = f->start.ws;
        sp->end = end;
        if (!f->tagged || !have_end)
            r->tags_lost = true;
        if (o->organ_id)
            sp->organ_id = dup_str(r, o->organ_id);
        else
            rd_finding(r, "to_without_organ_id", GW_EDXML_STRICT, NULL,
                       "a To without OrganId is dropped");
        break;
    }
    case R_TRACE:
        r->have_trace = true;
        r->last_trace_end = end;
        break;
    case R_MSG:
        r->msg_end = end;
        break;
    case R_HDR:
        r->doc->header_end = end;
        if (r->keeping && end <= r->nkeep && end >= r->doc->header_start &&
            end - r->doc->header_start <= RD_HEADER_MAX) {
            size_t n = (size_t)(end - r->doc->header_start);
            r->doc->header_xml = malloc(n + 1);
            if (!r->doc->header_xml) {
                rd_fail(r, GW_ENOMEM, "out_of_memory", "out of memory");
                break;
            }
            memcpy(r->doc->header_xml, r->keep + r->doc->header_start, n);
            r->doc->header_xml[n] = '\0';
            r->doc->header_xml_len = n;
        } else {
            rd_finding(r, "header_too_large", GW_EDXML_STRICT, NULL,
                       "edXMLHeader is larger than %d bytes: not validated", RD_HEADER_MAX);
        }
        r->keeping = false;
        free(r->keep);
        r->keep = NULL;
        r->nkeep = 0;
        break;
    case R_SIG:
        break;
    case R_DS_SI:
        r->sig_signed_info = true;
        break;
    case R_CTE:
        rd_att_cte_end(r);
        break;
    case R_ATT:
        rd_att_end(r);
        break;
    default:
        break;
    }
    r->nss -= f->nsn;
    r->depth--;
    r->nws = 0;
}

/* Any DOCTYPE is refused before its internal subset is even read: no entity can be declared. */
static void on_doctype(void *ud, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    rd_fail(ud, GW_EPARSE, "doctype", "DOCTYPE not allowed");
}

static void on_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    rd_fail(ud, GW_EPARSE, "doctype", "DOCTYPE not allowed");
}

void rd_sax_init(xmlSAXHandler *sax)
{
    memset(sax, 0, sizeof(*sax));
    sax->initialized = XML_SAX2_MAGIC;
    sax->startElementNs = on_start;
    sax->endElementNs = on_end;
    sax->characters = on_chars;
    sax->ignorableWhitespace = on_chars;
    sax->cdataBlock = on_chars;
    sax->internalSubset = on_doctype;
    sax->externalSubset = on_doctype;
    sax->entityDecl = on_entity_decl;
}

/* Names of the frames for XPaths. */
void rd_xpath(const struct rd *r, const char *leaf, char *buf, size_t n)
{
    size_t k = 0;

    buf[0] = '\0';
    for (unsigned i = 1; i <= r->depth && k + 1 < n; i++) {
        const struct rd_frame *f = &r->st[i];
        int w = f->idx ? snprintf(buf + k, n - k, "/%s[%u]", f->name, f->idx)
                       : snprintf(buf + k, n - k, "/%s", f->name);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    if (leaf && k + 1 < n)
        snprintf(buf + k, n - k, "/%s", leaf);
}
