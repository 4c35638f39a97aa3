/*
 * edXML routing extraction with a streaming libxml2 SAX2 parser: finds the package kind,
 * DocumentId, From and To organisation ids without building a tree, so multi-megabyte base64
 * attachments cost no memory. XML_PARSE_HUGE lifts libxml2's own 10 MB text limit; the gateway's
 * limits apply instead: size cap, the structural pre-scan (edxml_scan.c) before parsing, DOCTYPE
 * rejected (no entities at all), no network, nesting depth limit.
 */
#include "edxml/edxml.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "util/common.h"
#include "edxml/edxml_internal.h"
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

/* Element roles along the few paths we care about; anything else is E_OTHER. */
enum role {
    E_OTHER = 0,
    E_ROOT,
    E_ENVELOPE,
    E_HEADER,
    E_MSGHDR,
    E_TRACELIST,
    E_BUSINESS,
    E_BDOCTYPE,
    E_FROM,
    E_TO,
    E_RESPFOR,
    E_MSG_DOCID,
    E_STATUSCODE,
    E_FROM_ORGAN,
    E_TO_ORGAN,
    E_RESP_ORGAN,
    E_RESP_DOCID,
};

struct rule {
    enum role parent;
    const char *name;
    enum role role;
};

static const struct rule rules[] = {
    {E_ROOT, "edXMLEnvelope", E_ENVELOPE},
    {E_ENVELOPE, "edXMLHeader", E_HEADER},
    {E_HEADER, "MessageHeader", E_MSGHDR},
    {E_HEADER, "TraceHeaderList", E_TRACELIST},
    {E_TRACELIST, "Bussiness", E_BUSINESS},
    {E_TRACELIST, "Business", E_BUSINESS},
    {E_BUSINESS, "BussinessDocType", E_BDOCTYPE},
    {E_BUSINESS, "BusinessDocType", E_BDOCTYPE},
    {E_MSGHDR, "From", E_FROM},
    {E_MSGHDR, "To", E_TO},
    {E_MSGHDR, "DocumentId", E_MSG_DOCID},
    {E_MSGHDR, "ResponseFor", E_RESPFOR},
    {E_MSGHDR, "StatusCode", E_STATUSCODE},
    {E_FROM, "OrganId", E_FROM_ORGAN},
    {E_TO, "OrganId", E_TO_ORGAN},
    {E_RESPFOR, "OrganId", E_RESP_ORGAN},
    {E_RESPFOR, "DocumentId", E_RESP_DOCID},
};

#define TRACK_DEPTH 8    /* roles are only tracked this deep; every path of interest is shallower */
#define CAPTURE_MAX 1024 /* text kept per captured element; longer values are rejected anyway */

struct sax_state {
    xmlParserCtxtPtr ctxt;
    const struct gw_edxml_limits *lim;
    unsigned depth;
    enum role roles[TRACK_DEPTH + 1];
    int err;
    const char *code; /* stable id of err */
    char msg[160];
    /* text capture of the current leaf of interest */
    enum role cap_role;
    unsigned cap_depth;
    size_t cap_len;
    bool cap_overflow;
    char cap[CAPTURE_MAX + 1];
    /* results */
    bool seen_root, seen_msghdr, seen_status;
    unsigned n_respfor;
    char *msg_docid, *from, *status_code, *resp_organ, *resp_docid;
    int bdoctype;
    struct gw_edxml_rcpt rcpt;
};

static void fail(struct sax_state *st, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct sax_state *st, int err, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (st->err == 0) {
        st->err = err;
        st->code = code;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
        va_end(ap);
    }
    xmlStopParser(st->ctxt);
}

/*
 * Namespace rule: the QCVN 102 namespace URI decides, never the prefix. Elements with no
 * namespace at all are accepted too, because some senders omit the xmlns declaration; an element
 * in any other namespace (e.g. xmldsig) never matches.
 */
static bool in_edxml_ns(const xmlChar *uri)
{
    return uri == NULL || *uri == '\0' || strcmp((const char *)uri, GW_EDXML_NS) == 0;
}

static enum role child_role(enum role parent, const char *name)
{
    for (size_t i = 0; i < GW_ARRAY_LEN(rules); i++) {
        if (rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
            return rules[i].role;
    }
    return E_OTHER;
}

static bool is_captured(enum role r)
{
    return r >= E_BDOCTYPE && r != E_FROM && r != E_TO && r != E_RESPFOR;
}

static void on_start(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
    struct sax_state *st = ud;
    const char *name = (const char *)localname;
    enum role parent, r = E_OTHER;

    if (st->err)
        return;
    st->depth++;
    if (st->depth > st->lim->max_depth || st->depth > GW_EDXML_MAX_DEPTH) {
        fail(st, GW_EPARSE, "too_deep", "elements nested deeper than %u",
             st->lim->max_depth < GW_EDXML_MAX_DEPTH ? st->lim->max_depth : GW_EDXML_MAX_DEPTH);
        return;
    }
    /* The pre-scan refuses these before libxml2 pays for them; this is the same cap seen from
     * libxml2's side, so a way round the scan still ends in the same verdict. */
    if (nb_attr > GW_EDXML_MAX_ATTRS) {
        fail(st, GW_EPARSE, "too_many_attributes", "an element carries more than %d attributes",
             GW_EDXML_MAX_ATTRS);
        return;
    }
    if (st->depth == 1) {
        if (!in_edxml_ns(uri) || strcmp(name, "edXML") != 0) {
            fail(st, GW_ENOTEDXML, "not_edxml", "root element is not edXML");
            return;
        }
        st->seen_root = true;
        st->roles[1] = E_ROOT;
        return;
    }
    parent = st->depth - 1 <= TRACK_DEPTH ? st->roles[st->depth - 1] : E_OTHER;
    if (parent != E_OTHER && in_edxml_ns(uri))
        r = child_role(parent, name);
    if (r == E_MSGHDR) {
        if (st->seen_msghdr) {
            fail(st, GW_ENOTEDXML, "duplicate_message_header", "more than one MessageHeader");
            return;
        }
        st->seen_msghdr = true;
    } else if (r == E_RESPFOR) {
        st->n_respfor++;
    } else if (r == E_STATUSCODE) {
        st->seen_status = true;
    }
    if (st->depth <= TRACK_DEPTH)
        st->roles[st->depth] = r;
    if (is_captured(r) && st->cap_role == E_OTHER) {
        st->cap_role = r;
        st->cap_depth = st->depth;
        st->cap_len = 0;
        st->cap_overflow = false;
    }
}

static void on_chars(void *ud, const xmlChar *ch, int len)
{
    struct sax_state *st = ud;
    size_t n = (size_t)len;

    if (st->err || st->cap_role == E_OTHER || len <= 0)
        return;
    if (n > CAPTURE_MAX - st->cap_len) {
        n = CAPTURE_MAX - st->cap_len;
        st->cap_overflow = true;
    }
    memcpy(st->cap + st->cap_len, ch, n);
    st->cap_len += n;
}

/* Keeps the first non-empty value of a single-valued field. */
static void keep_first(struct sax_state *st, char **slot, const char *v)
{
    if (*slot || *v == '\0')
        return;
    *slot = strdup(v);
    if (!*slot)
        fail(st, GW_ENOMEM, "out_of_memory", "out of memory");
}

static void finish_capture(struct sax_state *st)
{
    const char *what;
    char *v;
    int rc;

    st->cap[st->cap_len] = '\0';
    if (st->cap_role == E_BDOCTYPE) {
        st->bdoctype = st->cap_overflow ? -1 : gw_edxml_parse_bdt(st->cap);
        if (st->bdoctype < 0)
            fail(st, GW_ENOTEDXML, "bad_business_doc_type", "BussinessDocType is not 0, 1, 2 or 3");
        return;
    }
    what = st->cap_role == E_STATUSCODE                                    ? "StatusCode"
           : (st->cap_role == E_MSG_DOCID || st->cap_role == E_RESP_DOCID) ? "DocumentId"
                                                                           : "OrganId";
    rc = gw_edxml_clean_id(st->cap, st->cap_overflow, &v);
    if (rc == GW_ELIMIT) {
        fail(st, GW_ENOTEDXML, "id_too_long", "%s longer than %d bytes", what, GW_EDXML_ID_MAX);
        return;
    }
    if (rc != 0) {
        fail(st, GW_ENOTEDXML, "id_control_characters", "%s contains control characters", what);
        return;
    }
    /* An OrganId written as the text null is a missing one (real traffic has both). */
    if (st->cap_role != E_MSG_DOCID && st->cap_role != E_RESP_DOCID &&
        st->cap_role != E_STATUSCODE && strcmp(v, "null") == 0)
        *v = '\0';
    switch (st->cap_role) {
    case E_MSG_DOCID:
        keep_first(st, &st->msg_docid, v);
        break;
    case E_STATUSCODE:
        keep_first(st, &st->status_code, v);
        break;
    case E_FROM_ORGAN:
        keep_first(st, &st->from, v);
        break;
    case E_RESP_ORGAN:
        if (st->n_respfor == 1)
            keep_first(st, &st->resp_organ, v);
        break;
    case E_RESP_DOCID:
        if (st->n_respfor == 1)
            keep_first(st, &st->resp_docid, v);
        break;
    case E_TO_ORGAN:
        if (*v == '\0')
            break;
        rc = gw_edxml_rcpt_add(&st->rcpt, v, st->lim->max_recipients);
        if (rc == GW_ELIMIT)
            fail(st, GW_ELIMIT, "too_many_recipients", "more than %u recipients",
                 st->lim->max_recipients);
        else if (rc != 0)
            fail(st, rc, "out_of_memory", "out of memory");
        break;
    default:
        break;
    }
}

static void on_end(void *ud, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct sax_state *st = ud;

    if (st->err)
        return;
    if (st->cap_role != E_OTHER && st->depth == st->cap_depth) {
        finish_capture(st);
        st->cap_role = E_OTHER;
    }
    st->depth--;
}

/* Any DOCTYPE is refused before its internal subset is even read: no entity can be declared. */
static void on_doctype(void *ud, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    fail(ud, GW_EPARSE, "doctype", "DOCTYPE not allowed");
}

static void on_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    fail(ud, GW_EPARSE, "doctype", "DOCTYPE not allowed");
}

/* Per-context error sink: libxml2 never prints, the first error becomes errmsg. */
static void on_error(void *ud, xmlErrorPtr e)
{
    struct sax_state *st = ud;
    char text[120];
    size_t n;

    if (!e || e->level < XML_ERR_ERROR || st->err)
        return;
    /* An undeclared prefix on an attribute (the vendor's own sample has xlink:href without
     * xmlns:xlink) is recovered; libxml2 names the element in str3 only for attributes. */
    if (e->domain == XML_FROM_NAMESPACE && e->code == XML_NS_ERR_UNDEFINED_NAMESPACE &&
        e->str3 != NULL)
        return;
    /* Recorded only: stopping the parser from inside libxml2's error path is not safe. The
     * first error ends the parse anyway: no further chunk is fed (run_parser). */
    if (e->code == XML_ERR_NO_MEMORY) {
        st->err = GW_ENOMEM;
        st->code = "out_of_memory";
        snprintf(st->msg, sizeof(st->msg), "out of memory while parsing");
        return;
    }
    snprintf(text, sizeof(text), "%s", e->message ? e->message : "error");
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    st->err = GW_EPARSE;
    st->code = "not_well_formed";
    snprintf(st->msg, sizeof(st->msg), "XML not well-formed (line %d): %s", e->line, text);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

/* Bytes handed to libxml2's push parser at a time. After an error, libxml2 parses at most the rest
 * of the chunk in progress (the pre-scan may have stopped at that error, so what follows it was
 * not checked against the structural caps). */
#define PARSE_CHUNK (64 * 1024)

/* push: the pre-scan stopped early (the package is malformed at that point): parse chunk by
 * chunk, so that nothing far beyond the first error, which the scan did not check, is parsed.
 * Otherwise the whole package is within the caps and is parsed in place (faster). */
static int run_parser(const void *buf, size_t len, struct sax_state *st, bool push)
{
    const char *p = buf;
    xmlSAXHandler sax;
    xmlSAXHandlerPtr saved = NULL;
    xmlParserCtxtPtr ctxt;
    size_t off = len < 4 ? len : 4; /* libxml2 detects the encoding from the first 4 bytes */

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_chars;
    sax.cdataBlock = on_chars;
    sax.internalSubset = on_doctype;
    sax.externalSubset = on_doctype;
    sax.entityDecl = on_entity_decl;
    sax.serror = on_error;

    if (push) {
        ctxt = xmlCreatePushParserCtxt(&sax, st, p, (int)off, NULL);
    } else {
        ctxt = xmlCreateMemoryParserCtxt(p, (int)len);
        if (ctxt) {
            saved = ctxt->sax; /* put back before the context is freed */
            ctxt->sax = &sax;
            ctxt->userData = st;
        }
    }
    if (!ctxt)
        return GW_ENOMEM;
    st->ctxt = ctxt;
    /* No NOENT, no DTDLOAD/DTDATTR/DTDVALID, no XINCLUDE: the safe defaults. HUGE lifts libxml2's
     * 10 MB cap on one text or CDATA node (a real attachment exceeds it); the package size cap,
     * the pre-scan and the depth limit bound the work instead. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_HUGE);
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    if (push) {
        while (off < len && st->err == 0) {
            size_t n = len - off < PARSE_CHUNK ? len - off : PARSE_CHUNK;
            xmlParseChunk(ctxt, p + off, (int)n, 0);
            off += n;
        }
        if (st->err == 0)
            xmlParseChunk(ctxt, NULL, 0, 1);
    } else {
        xmlParseDocument(ctxt);
    }
    if (st->err == 0 && !ctxt->wellFormed)
        fail(st, GW_EPARSE, "not_well_formed", "XML not well-formed");
    if (!push)
        ctxt->sax = saved;
    xmlFreeParserCtxt(ctxt);
    st->ctxt = NULL;
    return st->err;
}

static void state_free(struct sax_state *st)
{
    free(st->msg_docid);
    free(st->from);
    free(st->status_code);
    free(st->resp_organ);
    free(st->resp_docid);
    gw_edxml_rcpt_free(&st->rcpt);
}

/* Sets the refusal of a finished parse (build_info); returns err. */
static int refuse(struct sax_state *st, int err, const char *code, const char *msg)
{
    st->err = err;
    st->code = code;
    snprintf(st->msg, sizeof(st->msg), "%s", msg);
    return err;
}

/* The nine status codes of QĐ 28/2018, two digits; a one-digit code is read with a leading 0. */
static bool status_code_valid(char **code)
{
    static const char *const nine[] = {"01", "02", "03", "04", "05", "06", "13", "15", "16"};
    char *c = *code;

    if (c[0] >= '0' && c[0] <= '9' && c[1] == '\0') {
        char *two = malloc(3);
        if (!two)
            return false;
        two[0] = '0';
        two[1] = c[0];
        two[2] = '\0';
        free(c);
        *code = c = two;
    }
    for (size_t i = 0; i < GW_ARRAY_LEN(nine); i++) {
        if (strcmp(c, nine[i]) == 0)
            return true;
    }
    return false;
}

/* Moves the collected fields into out according to the package kind. */
static int build_info(struct sax_state *st, struct gw_edxml_info *out)
{
    if (!st->seen_root)
        return refuse(st, GW_ENOTEDXML, "not_edxml", "no edXML root element");
    if (!st->seen_msghdr)
        return refuse(st, GW_ENOTEDXML, "no_message_header",
                      "missing edXMLEnvelope/edXMLHeader/MessageHeader");
    out->business_doc_type = st->bdoctype;
    if (st->seen_status) {
        if (!st->status_code || !status_code_valid(&st->status_code))
            return refuse(st, GW_ENOTEDXML, "bad_status_code",
                          "StatusCode is not one of 01-06, 13, 15, 16");
        if (!st->resp_docid)
            return refuse(st, GW_ENOTEDXML, "no_response_for_document",
                          "status package without ResponseFor/DocumentId");
        if (!st->resp_organ)
            return refuse(st, GW_ENORCPT, "no_response_for_organ",
                          "status package without ResponseFor/OrganId");
        out->kind = GW_KIND_STATUS;
        out->to = calloc(1, sizeof(char *));
        if (!out->to)
            return refuse(st, GW_ENOMEM, "out_of_memory", "out of memory");
        out->from = st->from;
        out->to[0] = st->resp_organ;
        out->n_to = 1;
        out->document_id = st->resp_docid;
        out->status_code = st->status_code;
        st->from = st->resp_organ = st->resp_docid = st->status_code = NULL;
        return 0;
    }
    if (!st->msg_docid)
        return refuse(st, GW_ENOTEDXML, "no_document_id", "missing MessageHeader/DocumentId");
    if (!st->from)
        return refuse(st, GW_ENOTEDXML, "no_sender", "missing MessageHeader/From/OrganId");
    if (st->rcpt.n == 0)
        return refuse(st, GW_ENORCPT, "no_recipient", "no MessageHeader/To/OrganId");
    out->kind = GW_KIND_EDOC;
    out->from = st->from;
    out->document_id = st->msg_docid;
    st->from = st->msg_docid = NULL;
    out->n_to = st->rcpt.n;
    out->to = gw_edxml_rcpt_take(&st->rcpt);
    return 0;
}

bool gw_edxml_is_verdict(int err)
{
    return err == GW_EPARSE || err == GW_ENOTEDXML || err == GW_ENORCPT;
}

int gw_edxml_parse(const void *buf, size_t len, const struct gw_edxml_limits *lim,
                   struct gw_edxml_info *out, char *errmsg, size_t errmsg_len)
{
    struct gw_edxml_limits deflim;
    struct gw_edxml_scan_result scan;
    struct sax_state *st;
    xmlStructuredErrorFunc old_serror;
    void *old_sctx;
    int rc;

    memset(out, 0, sizeof(*out));
    if (errmsg && errmsg_len)
        errmsg[0] = '\0';
    if (!lim) {
        gw_edxml_limits_default(&deflim);
        lim = &deflim;
    }
    if (len > lim->max_bytes || len > INT_MAX) {
        out->error_code = "too_large";
        if (errmsg)
            snprintf(errmsg, errmsg_len, "too_large: package larger than %zu bytes",
                     lim->max_bytes);
        return GW_E2BIG;
    }
    if (!buf || len == 0) {
        out->error_code = "empty_document";
        if (errmsg)
            snprintf(errmsg, errmsg_len, "empty_document: empty document");
        return GW_EPARSE;
    }
    /* Structural caps first: libxml2 must never see a tag whose parse cost is quadratic. */
    rc = gw_edxml_scan(buf, len, &scan);
    if (rc != 0) {
        out->error_code = scan.code;
        if (errmsg)
            snprintf(errmsg, errmsg_len, "%s: %s", scan.code, scan.msg);
        return rc;
    }
    pthread_once(&xml_once, xml_init);
    st = calloc(1, sizeof(*st));
    if (!st) {
        out->error_code = "out_of_memory";
        return GW_ENOMEM;
    }
    st->lim = lim;
    /* Some libxml2 errors (encoding conversion) are raised without a parser context and would go
     * to the generic handler on stderr: route this thread's handler to us for the call. */
    old_serror = xmlStructuredError;
    old_sctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(st, on_error);
    rc = run_parser(buf, len, st, !scan.complete);
    xmlSetStructuredErrorFunc(old_sctx, old_serror);
    if (rc == 0)
        rc = build_info(st, out);
    if (rc != 0) {
        gw_edxml_info_free(out);
        out->error_code = st->code ? st->code : gw_errcode(rc);
        if (errmsg)
            snprintf(errmsg, errmsg_len, "%s: %s", out->error_code,
                     st->msg[0] ? st->msg : gw_strerror(rc));
    }
    state_free(st);
    free(st);
    return rc;
}
