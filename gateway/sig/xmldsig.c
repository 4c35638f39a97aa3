/*
 * XML-DSig of an edXML package with xmlsec1 (OpenSSL back end): parse without network or DTD,
 * apply the shape rules (xmldsig_shape.c), then verify with a per-call keys manager and context
 * restricted to same-document references, the enveloped-signature, c14n, digest and signature
 * transforms, and the KeyInfo X509 certificate taken without chain verification. Success is
 * read off the context and reference statuses, not only the return code.
 */
#include "sig/xmldsig.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "edxml/edxml.h"
#include "sig/xmldsig_internal.h"
#include "util/error.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = GW_EIO;

static void quiet_errors(const char *file, int line, const char *func, const char *obj,
                         const char *subj, int reason, const char *msg)
{
    /* xmlsec's reasons reach the caller as result codes; nothing is printed. */
}

static void init(void)
{
    gw_edxml_xml_init();
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
        return;
    xmlSecErrorsSetCallback(quiet_errors);
    /* No file, HTTP or FTP retrieval by xmlsec, whatever a document asks. */
    xmlSecIOCleanupCallbacks();
    init_rc = 0;
}

int gw_xmldsig_global_init(void)
{
    pthread_once(&init_once, init);
    return init_rc;
}

const char *gw_xmldsig_status_name(enum gw_xmldsig_status s)
{
    switch (s) {
    case GW_XMLDSIG_ABSENT:
        return "absent";
    case GW_XMLDSIG_PLACEHOLDER:
        return "placeholder";
    case GW_XMLDSIG_VALID:
        return "valid";
    case GW_XMLDSIG_INVALID:
        return "invalid";
    }
    return "invalid";
}

void gw_xmldsig_result_clear(struct gw_xmldsig_result *out)
{
    if (!out)
        return;
    X509_free(out->signer);
    memset(out, 0, sizeof(*out));
}

/* Transforms a Reference may use: enveloped-signature, c14n and the digests. */
static int enable_reference(xmlSecDSigCtxPtr ctx)
{
    const xmlSecTransformId ids[] = {
        xmlSecTransformEnvelopedId,
        xmlSecTransformInclC14NId,
        xmlSecTransformInclC14NWithCommentsId,
        xmlSecTransformInclC14N11Id,
        xmlSecTransformInclC14N11WithCommentsId,
        xmlSecTransformExclC14NId,
        xmlSecTransformExclC14NWithCommentsId,
        xmlSecTransformSha1Id,
        xmlSecTransformSha224Id,
        xmlSecTransformSha256Id,
        xmlSecTransformSha384Id,
        xmlSecTransformSha512Id,
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, ids[i]) < 0)
            return -1;
    return 0;
}

/* SignedInfo: c14n and public-key signature methods (no HMAC). */
static int enable_signature(xmlSecDSigCtxPtr ctx)
{
    const xmlSecTransformId ids[] = {
        xmlSecTransformInclC14NId,    xmlSecTransformInclC14NWithCommentsId,
        xmlSecTransformInclC14N11Id,  xmlSecTransformInclC14N11WithCommentsId,
        xmlSecTransformExclC14NId,    xmlSecTransformExclC14NWithCommentsId,
        xmlSecTransformRsaSha1Id,     xmlSecTransformRsaSha224Id,
        xmlSecTransformRsaSha256Id,   xmlSecTransformRsaSha384Id,
        xmlSecTransformRsaSha512Id,   xmlSecTransformEcdsaSha1Id,
        xmlSecTransformEcdsaSha224Id, xmlSecTransformEcdsaSha256Id,
        xmlSecTransformEcdsaSha384Id, xmlSecTransformEcdsaSha512Id,
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, ids[i]) < 0)
            return -1;
    return 0;
}

/* The certificate whose key verified, up-referenced; NULL when xmlsec kept none. */
static X509 *key_cert(xmlSecKeyPtr key)
{
    xmlSecKeyDataPtr d = key ? xmlSecKeyGetData(key, xmlSecOpenSSLKeyDataX509Id) : NULL;
    X509 *c = d ? xmlSecOpenSSLKeyDataX509GetKeyCert(d) : NULL;
    if (c && X509_up_ref(c) != 1)
        c = NULL;
    return c;
}

static int verify(xmlDocPtr doc, struct gw_xmldsig_shape *s, struct gw_xmldsig_result *out)
{
    static const xmlChar *id_attrs[] = {BAD_CAST "Id", BAD_CAST "ID", BAD_CAST "id", NULL};
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    xmlSecDSigCtxPtr ctx = NULL;
    int rc = GW_ENOMEM;
    if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0)
        goto done;
    ctx = xmlSecDSigCtxCreate(mngr);
    if (!ctx || enable_reference(ctx) < 0 || enable_signature(ctx) < 0 ||
        xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData,
                         (xmlSecPtr)xmlSecOpenSSLKeyDataX509Id) < 0)
        goto done;
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
    ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_DONT_VERIFY_CERTS;
    ctx->keyInfoReadCtx.maxRetrievalMethodLevel = 0;
    /* Same-document references resolve through the ID attributes, unique by the shape rules. */
    xmlSecAddIDs(doc, xmlDocGetRootElement(doc), id_attrs);

    rc = 0;
    out->status = GW_XMLDSIG_INVALID;
    if (xmlSecDSigCtxVerify(ctx, s->sig) < 0) {
        out->code = "verify_error";
        goto done;
    }
    xmlSecDSigReferenceCtxPtr ref =
        xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1
            ? (xmlSecDSigReferenceCtxPtr)xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0)
            : NULL;
    if (!ref) {
        out->code = "reference_count";
    } else if (ref->status != xmlSecDSigStatusSucceeded) {
        out->code = "digest_mismatch";
    } else if (ctx->status != xmlSecDSigStatusSucceeded) {
        out->code = "signature_invalid";
    } else {
        out->status = GW_XMLDSIG_VALID;
        out->code = NULL;
        X509 *c = key_cert(ctx->signKey);
        if (c) {
            X509_free(out->signer);
            out->signer = c;
        }
    }
done:
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    if (mngr)
        xmlSecKeysMngrDestroy(mngr);
    return rc;
}

int gw_xmldsig_check(const uint8_t *xml, size_t len, struct gw_xmldsig_result *out)
{
    memset(out, 0, sizeof(*out));
    if (init_rc != 0)
        return GW_EIO;
    if (len > GW_XMLDSIG_MAX_BYTES)
        return GW_E2BIG;
    /* No network, no DTD loading, no entity substitution; big base64 text nodes allowed (the
     * structural caps were applied by the edXML pre-scan). */
    xmlDocPtr doc =
        xmlReadMemory((const char *)xml, (int)len, NULL, NULL,
                      XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return GW_EPARSE;
    int rc = 0;
    struct gw_xmldsig_shape s = {0};
    if (doc->intSubset || doc->extSubset) {
        out->status = GW_XMLDSIG_INVALID;
        out->code = "doctype";
        goto done;
    }
    rc = gw_xmldsig_shape(doc, out, &s);
    if (rc != 0)
        goto done;
    out->signer = s.cert;
    s.cert = NULL;
    if (out->status == GW_XMLDSIG_VALID)
        rc = verify(doc, &s, out);
done:
    X509_free(s.cert);
    xmlFreeDoc(doc);
    if (rc != 0)
        gw_xmldsig_result_clear(out);
    return rc;
}
