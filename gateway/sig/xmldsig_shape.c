/*
 * The rules an edXML XML-DSig must meet before xmlsec verifies it (domain.md §6): is it a real
 * signature or a placeholder (wrong namespace, missing parts, "AAAA" values, truncated
 * certificates), one Signature, one Reference naming the document element, unique IDs, only the
 * enveloped-signature and c14n transforms. Codes are those of xmldsig.h.
 */
#include "sig/xmldsig_internal.h"

#include <libxml/hash.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "util/error.h"

#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

static const char *const c14n_algs[] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
};

#define MAX_CERTS 8

static bool is_ds(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, GW_DSIG_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr child_ds(const xmlNode *n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (is_ds(c, name))
            return c;
    return NULL;
}

static unsigned count_ds(const xmlNode *n, const char *name)
{
    unsigned k = 0;
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        k += is_ds(c, name);
    return k;
}

static bool c14n_alg(const char *a)
{
    for (size_t i = 0; a && i < sizeof(c14n_algs) / sizeof(c14n_algs[0]); i++)
        if (strcmp(a, c14n_algs[i]) == 0)
            return true;
    return false;
}

/* A value that a signer produced: base64, not one character repeated, at least min characters
 * (the edXML reader's rule for SignatureValue). */
static bool real_value(const xmlNode *n, size_t min)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    size_t k = 0;
    bool b64 = t != NULL, same = true;
    char first = 0;
    for (const xmlChar *p = t; p && *p; p++) {
        char c = (char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            b64 = false;
        if (k == 0)
            first = c;
        else if (c != first && c != '=')
            same = false;
        k++;
    }
    xmlFree(t);
    return b64 && !same && k >= min;
}

/* DER of one X509Certificate element, exactly one certificate. NULL when it does not decode. */
static X509 *decode_cert(const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    if (!t)
        return NULL;
    size_t len = strlen((const char *)t);
    unsigned char *der = OPENSSL_malloc(len / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    X509 *c = NULL;
    int a = 0, b = 0;
    if (der && ctx && len > 0 && len < INT32_MAX) {
        EVP_DecodeInit(ctx);
        if (EVP_DecodeUpdate(ctx, der, &a, t, (int)len) >= 0 &&
            EVP_DecodeFinal(ctx, der + a, &b) >= 0) {
            const unsigned char *p = der;
            c = d2i_X509(NULL, &p, a + b);
            if (c && p != der + a + b) {
                X509_free(c);
                c = NULL;
            }
        }
    }
    EVP_ENCODE_CTX_free(ctx);
    OPENSSL_free(der);
    xmlFree(t);
    return c;
}

/* The KeyInfo certificates: the leaf (issuer of none of the others) or "no_certificate" /
 * "undecodable_cert". */
static const char *key_cert(const xmlNode *sig, X509 **leaf)
{
    X509 *certs[MAX_CERTS];
    unsigned n = 0;
    const char *code = NULL;
    xmlNodePtr ki = child_ds(sig, "KeyInfo");
    for (xmlNodePtr xd = ki ? ki->children : NULL; xd && !code; xd = xd->next) {
        if (!is_ds(xd, "X509Data"))
            continue;
        for (xmlNodePtr c = xd->children; c && !code; c = c->next) {
            if (!is_ds(c, "X509Certificate") || n == MAX_CERTS)
                continue;
            if (!(certs[n] = decode_cert(c)))
                code = "undecodable_cert";
            else
                n++;
        }
    }
    if (!code && n == 0)
        code = "no_certificate";
    for (unsigned i = 0; !code && i < n && !*leaf; i++) {
        bool issuer = false;
        for (unsigned j = 0; j < n && !issuer; j++)
            issuer = j != i && X509_check_issued(certs[i], certs[j]) == X509_V_OK &&
                     X509_NAME_cmp(X509_get_subject_name(certs[i]),
                                   X509_get_subject_name(certs[j])) != 0;
        if (!issuer)
            *leaf = X509_dup(certs[i]);
    }
    if (!code && !*leaf)
        *leaf = X509_dup(certs[0]);
    for (unsigned i = 0; i < n; i++)
        X509_free(certs[i]);
    return code;
}

static void copy_alg(const xmlNode *n, char *dst, size_t cap, bool *sha1)
{
    xmlChar *a = n ? xmlGetNoNsProp(n, BAD_CAST "Algorithm") : NULL;
    snprintf(dst, cap, "%s", a ? (const char *)a : "");
    if (a && strstr((const char *)a, "sha1"))
        *sha1 = true;
    xmlFree(a);
}

struct walk {
    xmlHashTablePtr ids; /* value -> element */
    unsigned n_dsig, n_other;
    xmlNodePtr sig;
    bool dup, oom;
};

static void visit(struct walk *w, xmlNodePtr n)
{
    if (strcmp((const char *)n->name, "Signature") == 0) {
        if (n->ns && n->ns->href && strcmp((const char *)n->ns->href, GW_DSIG_NS) == 0) {
            if (w->n_dsig++ == 0)
                w->sig = n;
        } else {
            w->n_other++;
        }
    }
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        bool id = (!a->ns && (strcmp(name, "Id") == 0 || strcmp(name, "ID") == 0 ||
                              strcmp(name, "id") == 0)) ||
                  (a->ns && a->ns->href &&
                   strcmp((const char *)a->ns->href, (const char *)XML_XML_NAMESPACE) == 0 &&
                   strcmp(name, "id") == 0);
        if (!id)
            continue;
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        if (!v) {
            w->oom = true;
            continue;
        }
        if (xmlHashLookup(w->ids, v))
            w->dup = true;
        else if (xmlHashAddEntry(w->ids, v, n) != 0)
            w->oom = true;
        xmlFree(v);
    }
}

/* Every element once, without recursion. */
static void walk_tree(struct walk *w, xmlNodePtr root)
{
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_ELEMENT_NODE)
            visit(w, n);
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
}

/* Reference URI "" or "#id" naming the root: NULL, or the INVALID code. */
static const char *check_reference(const xmlNode *ref, struct walk *w, xmlNodePtr root)
{
    xmlChar *uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
    const char *code = NULL;
    if (!uri) {
        code = "reference_uri";
    } else if (uri[0] == '\0') {
        code = NULL;
    } else if (uri[0] != '#' || uri[1] == '\0' || strchr((const char *)uri, '(')) {
        code = "reference_uri"; /* external, or an XPointer expression */
    } else {
        xmlNodePtr target = xmlHashLookup(w->ids, uri + 1);
        code = !target ? "reference_uri" : target != root ? "wrapping" : NULL;
    }
    xmlFree(uri);
    if (code)
        return code;
    xmlNodePtr tr = child_ds(ref, "Transforms");
    for (xmlNodePtr t = tr ? tr->children : NULL; t; t = t->next) {
        if (t->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *a = is_ds(t, "Transform") ? xmlGetNoNsProp(t, BAD_CAST "Algorithm") : NULL;
        bool ok = a && (strcmp((const char *)a, ALG_ENVELOPED) == 0 || c14n_alg((const char *)a));
        xmlFree(a);
        if (!ok)
            return "transform_not_allowed";
    }
    return NULL;
}

static int finish(struct gw_xmldsig_result *out, enum gw_xmldsig_status st, const char *code)
{
    out->status = st;
    out->code = code;
    return 0;
}

int gw_xmldsig_shape(xmlDocPtr doc, struct gw_xmldsig_result *out, struct gw_xmldsig_shape *s)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    struct walk w = {.ids = xmlHashCreate(64)};
    if (!w.ids)
        return GW_ENOMEM;
    if (root)
        walk_tree(&w, root);
    int rc = 0;
    xmlNodePtr sig = w.sig, si = child_ds(sig, "SignedInfo");
    if (w.oom) {
        rc = GW_ENOMEM;
        goto done;
    }
    if (w.n_dsig == 0) {
        rc = finish(out, w.n_other ? GW_XMLDSIG_PLACEHOLDER : GW_XMLDSIG_ABSENT,
                    w.n_other ? "wrong_namespace" : NULL);
        goto done;
    }
    s->sig = sig;
    if (w.n_dsig > 1) {
        rc = finish(out, GW_XMLDSIG_INVALID, "signature_count");
        goto done;
    }
    copy_alg(child_ds(si, "SignatureMethod"), out->signature_method, sizeof(out->signature_method),
             &out->sha1);
    xmlNodePtr ref = child_ds(si, "Reference");
    copy_alg(child_ds(ref, "DigestMethod"), out->digest_method, sizeof(out->digest_method),
             &out->sha1);

    /* Placeholders first: such a block is never a failure. */
    const char *ph = NULL;
    if (!si)
        ph = "no_signed_info";
    else if (!child_ds(sig, "SignatureValue"))
        ph = "no_signature_value";
    else if (!real_value(child_ds(sig, "SignatureValue"), 32))
        ph = "placeholder_value";
    for (xmlNodePtr r = si ? si->children : NULL; r && !ph; r = r->next)
        if (is_ds(r, "Reference") && !real_value(child_ds(r, "DigestValue"), 16))
            ph = "placeholder_value";
    if (!ph)
        ph = key_cert(sig, &s->cert);
    if (ph) {
        rc = finish(out, GW_XMLDSIG_PLACEHOLDER, ph);
        goto done;
    }

    const char *bad = NULL;
    xmlNodePtr cm = child_ds(si, "CanonicalizationMethod");
    xmlChar *cma = cm ? xmlGetNoNsProp(cm, BAD_CAST "Algorithm") : NULL;
    if (w.dup)
        bad = "duplicate_id";
    else if (count_ds(si, "Reference") != 1)
        bad = "reference_count";
    else if (!c14n_alg((const char *)cma))
        bad = "transform_not_allowed";
    else
        bad = check_reference(ref, &w, root);
    xmlFree(cma);
    rc = finish(out, bad ? GW_XMLDSIG_INVALID : GW_XMLDSIG_VALID, bad);
done:
    xmlHashFree(w.ids, NULL);
    return rc;
}
