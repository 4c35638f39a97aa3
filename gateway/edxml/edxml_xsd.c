/*
 * XSD validation of the edXMLHeader (schemas/edxml/edxml.xsd): the header bytes the reader copied
 * become a standalone document (the namespace declarations in scope re-declared on its start tag),
 * parsed without network, DTD or entity substitution, and validated with a per-call context on the
 * shared compiled schema; each error becomes one "xsd" finding with the node's path.
 */
#include <iconv.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edxml/edxml.h"
#include "edxml/edxml_conform.h"
#include "util/error.h"
#include "util/utf8.h"

#define XSD_MAX_FINDINGS 50

struct gw_edxml_xsd {
    xmlSchemaPtr schema;
};

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

int gw_edxml_xsd_load(const char *path, struct gw_edxml_xsd **out)
{
    xmlStructuredErrorFunc old = xmlStructuredError;
    void *old_ctx = xmlStructuredErrorContext;
    xmlSchemaParserCtxtPtr pc;
    struct gw_edxml_xsd *x;
    struct stat st;

    *out = NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return GW_ENOENT;
    gw_edxml_xml_init();
    x = calloc(1, sizeof(*x));
    if (!x)
        return GW_ENOMEM;
    xmlSetStructuredErrorFunc(NULL, quiet);
    pc = xmlSchemaNewParserCtxt(path);
    if (pc) {
        xmlSchemaSetParserStructuredErrors(pc, quiet, NULL);
        x->schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    xmlSetStructuredErrorFunc(old_ctx, old);
    if (!x->schema) {
        free(x);
        return pc ? GW_EPARSE : GW_ENOMEM;
    }
    *out = x;
    return 0;
}

void gw_edxml_xsd_free(struct gw_edxml_xsd *x)
{
    if (!x)
        return;
    xmlSchemaFree(x->schema);
    free(x);
}

struct buf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static bool name_char(char c)
{
    return c && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '/' && c != '>' && c != '=';
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether the start tag at s (len bytes) declares the prefix itself ("" = xmlns). */
static bool declares(const char *s, size_t len, const char *prefix)
{
    size_t i = 1;

    while (i < len && name_char(s[i]))
        i++;
    for (;;) {
        size_t a;
        char q;
        while (i < len && space(s[i]))
            i++;
        if (i >= len || s[i] == '>' || s[i] == '/')
            return false;
        a = i;
        while (i < len && name_char(s[i]))
            i++;
        if (prefix[0] ? (i - a == 6 + strlen(prefix) && strncmp(s + a, "xmlns:", 6) == 0 &&
                         strncmp(s + a + 6, prefix, i - a - 6) == 0)
                      : (i - a == 5 && strncmp(s + a, "xmlns", 5) == 0))
            return true;
        while (i < len && space(s[i]))
            i++;
        if (i >= len || s[i] != '=')
            return false;
        i++;
        while (i < len && space(s[i]))
            i++;
        if (i >= len || (s[i] != '"' && s[i] != '\''))
            return false;
        q = s[i++];
        while (i < len && s[i] != q)
            i++;
        i++;
    }
}

static void put_attr_value(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '&')
            puts_(b, "&amp;");
        else if (*v == '<')
            puts_(b, "&lt;");
        else if (*v == '"')
            puts_(b, "&quot;");
        else
            put(b, v, 1);
    }
}

/* The encoding of the header's bytes as copied from the package (they carry no declaration):
 * UTF-16 or UCS-4 from the width of the first '<'; UTF-8 when they are valid UTF-8; otherwise one
 * of the 8-bit encodings the reader accepts, read as ISO-8859-1 (every byte maps, and the schema
 * constrains only ASCII values, so the verdict is the same; quoted text may be misspelt). */
static const char *header_encoding(const unsigned char *h, size_t n)
{
    if (n >= 4 && h[0] == '<' && !h[1] && !h[2] && !h[3])
        return "UCS-4LE";
    if (n >= 4 && !h[0] && !h[1] && !h[2] && h[3] == '<')
        return "UCS-4BE";
    if (n >= 2 && h[0] == '<' && !h[1])
        return "UTF-16LE";
    if (n >= 2 && !h[0] && h[1] == '<')
        return "UTF-16BE";
    return gw_utf8_valid((const char *)h, n) ? NULL : "ISO-8859-1";
}

/* A malloc'd UTF-8 copy of the header. */
static char *to_utf8(const char *h, size_t n, size_t *len)
{
    const char *enc = header_encoding((const unsigned char *)h, n);
    size_t cap = n * 2 + 4, in_left = n, out_left = cap;
    char *out = malloc(cap + 1), *in = (char *)h, *o = out;
    iconv_t cd;

    if (!out)
        return NULL;
    if (!enc) {
        memcpy(out, h, n);
        out[n] = '\0';
        *len = n;
        return out;
    }
    cd = iconv_open("UTF-8", enc);
    if (cd == (iconv_t)-1) {
        free(out);
        return NULL;
    }
    /* UTF-8 takes at most 2 bytes per byte of ISO-8859-1 or UTF-16 and 4 per UCS-4 unit: cap
     * always suffices; a malformed unit stops the conversion, and what came before is kept. */
    (void)iconv(cd, &in, &in_left, &o, &out_left);
    iconv_close(cd);
    *len = cap - out_left;
    out[*len] = '\0';
    return out;
}

/* The header in UTF-8 with the in-scope declarations it does not make itself added to its start
 * tag. */
static char *standalone(const struct gw_edxml_doc *doc, size_t *len)
{
    size_t n, name_end = 1;
    char *h = to_utf8(doc->header_xml, doc->header_xml_len, &n);
    struct buf b = {0};

    if (!h)
        return NULL;

    while (name_end < n && name_char(h[name_end]))
        name_end++;
    put(&b, h, name_end);
    for (size_t i = 0; i < doc->n_header_ns; i++) {
        const char *p = doc->header_ns_prefixes[i] ? doc->header_ns_prefixes[i] : "";
        const char *u = doc->header_ns_uris[i] ? doc->header_ns_uris[i] : "";
        if (declares(h, n, p))
            continue;
        puts_(&b, p[0] ? " xmlns:" : " xmlns");
        puts_(&b, p);
        puts_(&b, "=\"");
        put_attr_value(&b, u);
        puts_(&b, "\"");
    }
    put(&b, h + name_end, n - name_end);
    free(h);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}

/* Path of node as the findings write it: from /edXML/edXMLEnvelope, local names, [n] among
 * same-named siblings when there are several. */
static void node_path(xmlNodePtr node, char *out, size_t n)
{
    const char *steps[GW_EDXML_MAX_DEPTH + 2];
    int idx[GW_EDXML_MAX_DEPTH + 2], depth = 0;
    size_t k;

    for (xmlNodePtr c = node && node->type == XML_ATTRIBUTE_NODE ? node->parent : node;
         c && c->type == XML_ELEMENT_NODE && depth < GW_EDXML_MAX_DEPTH + 2; c = c->parent) {
        int pos = 0, same = 0;
        for (xmlNodePtr s = c->parent ? c->parent->children : c; s; s = s->next) {
            if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, c->name))
                continue;
            same++;
            if (s == c)
                pos = same;
        }
        /* An element whose prefix was never declared keeps it in its name: drop it. */
        steps[depth] = strchr((const char *)c->name, ':') ? strchr((const char *)c->name, ':') + 1
                                                          : (const char *)c->name;
        idx[depth++] = same > 1 ? pos : 0;
    }
    k = (size_t)snprintf(out, n, "/edXML/edXMLEnvelope");
    for (int i = depth - 1; i >= 0 && k < n; i--) {
        if (idx[i])
            k += (size_t)snprintf(out + k, n - k, "/%s[%d]", steps[i], idx[i]);
        else
            k += (size_t)snprintf(out + k, n - k, "/%s", steps[i]);
    }
    if (node && node->type == XML_ATTRIBUTE_NODE && k < n)
        snprintf(out + k, n - k, "/@%s", (const char *)node->name);
}

struct vstate {
    struct gw_edxml_doc *doc;
    int rc;
    unsigned count;
};

/* libxml2's text, trimmed, without the namespace in braces that it puts before every name. */
static void clean_message(const char *m, char *out, size_t n)
{
    static const char ns[] = "{" GW_EDXML_NS "}";
    size_t k = 0;

    while (*m && space(*m))
        m++;
    while (*m && k + 1 < n) {
        if (strncmp(m, ns, sizeof(ns) - 1) == 0) {
            m += sizeof(ns) - 1;
            continue;
        }
        out[k++] = *m == '\n' || *m == '\t' || *m == '\r' ? ' ' : *m;
        m++;
    }
    while (k > 0 && space(out[k - 1]))
        k--;
    out[gw_utf8_prefix(out, k)] = '\0';
}

static void on_error(void *ctx, xmlErrorPtr err)
{
    struct vstate *st = ctx;
    char xp[512], msg[400];

    if (st->rc || !err || err->level == XML_ERR_WARNING)
        return;
    if (err->domain == XML_FROM_NAMESPACE)
        return; /* an undeclared attribute prefix: recovered, reported by the reader */
    if (++st->count > XSD_MAX_FINDINGS) {
        if (st->count == XSD_MAX_FINDINGS + 1)
            st->rc = gw_edxml_doc_finding(
                st->doc, "xsd", GW_EDXML_STRICT, "/edXML/edXMLEnvelope/edXMLHeader",
                "more than %d schema errors; the rest are not listed", XSD_MAX_FINDINGS);
        return;
    }
    if (err->node)
        node_path(err->node, xp, sizeof(xp));
    else
        snprintf(xp, sizeof(xp), "/edXML/edXMLEnvelope/edXMLHeader");
    clean_message(err->message ? err->message : "schema error", msg, sizeof(msg));
    st->rc = gw_edxml_doc_finding(st->doc, "xsd", GW_EDXML_STRICT, xp, "%s", msg);
}

int gw_edxml_xsd_check(const struct gw_edxml_xsd *x, struct gw_edxml_doc *doc)
{
    xmlStructuredErrorFunc old = xmlStructuredError;
    void *old_ctx = xmlStructuredErrorContext;
    struct vstate st = {.doc = doc};
    xmlSchemaValidCtxtPtr vc = NULL;
    xmlParserCtxtPtr pc = NULL;
    xmlDocPtr xd = NULL;
    size_t len = 0;
    char *text;

    if (!x || !doc->header_xml || doc->header_xml_len < 2)
        return 0;
    gw_edxml_xml_init();
    text = standalone(doc, &len);
    if (!text || len > INT32_MAX) {
        free(text);
        return GW_ENOMEM;
    }
    xmlSetStructuredErrorFunc(&st, on_error);
    pc = xmlNewParserCtxt();
    if (pc)
        xd = xmlCtxtReadMemory(pc, text, (int)len, NULL, "UTF-8",
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (pc && (!xd || xd->intSubset || !xmlDocGetRootElement(xd))) {
        if (st.rc == 0 && st.count == 0)
            st.rc = gw_edxml_doc_finding(doc, "xsd", GW_EDXML_STRICT,
                                         "/edXML/edXMLEnvelope/edXMLHeader",
                                         "the header cannot be read as a standalone document");
    } else if (pc && st.rc == 0) {
        st.count = 0;
        vc = xmlSchemaNewValidCtxt(x->schema);
        if (vc) {
            xmlSchemaSetValidStructuredErrors(vc, on_error, &st);
            if (xmlSchemaValidateDoc(vc, xd) < 0 && st.rc == 0 && st.count == 0)
                st.rc = GW_ENOMEM;
        } else {
            st.rc = GW_ENOMEM;
        }
    } else if (!pc) {
        st.rc = GW_ENOMEM;
    }
    xmlSetStructuredErrorFunc(old_ctx, old);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(xd);
    xmlFreeParserCtxt(pc);
    free(text);
    return st.rc;
}
