/*
 * PAdES / CMS check of one PDF signature: the /Contents DER (one object, zero padding allowed) is
 * parsed, its shape checked against the /SubFilter (detached content only, one SignerInfo), the
 * two ByteRange pieces hashed in place with the SignerInfo's digest, the signed attributes and
 * ESS signingCertificate(V2) compared, and the signature verified with the signer certificate's
 * key; the signatureTimeStampToken goes to sig/tst. docs/internals/cms.md has the rules.
 */
#include "sig/cms.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "sig/cms_sd.h"
#include "util/error.h"

enum subfilter { SF_DETACHED, SF_CADES, SF_SHA1 };

/* What one verification holds while it runs; freed by the caller of run(). */
struct run {
    const uint8_t *pdf;
    size_t pdf_len;
    const uint64_t *br;
    const uint8_t *der;
    size_t der_len;
    const char *subfilter;
    CMS_ContentInfo *cms;
    CMS_SignerInfo *si;
    BIO *md_bio;
};

__attribute__((format(printf, 4, 5))) static int
fail(struct gw_cms_result *r, enum gw_cms_status st, const char *code, const char *fmt, ...)
{
    va_list ap;

    r->status = st;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return 0;
}

__attribute__((format(printf, 3, 4))) static void finding(struct gw_cms_result *r, const char *code,
                                                          const char *fmt, ...)
{
    struct gw_cms_finding *f;
    va_list ap;

    for (unsigned i = 0; i < r->n_findings; i++)
        if (strcmp(r->findings[i].code, code) == 0)
            return;
    if (r->n_findings >= GW_CMS_MAX_FINDINGS)
        return;
    f = &r->findings[r->n_findings++];
    f->code = code;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

static bool subfilter_of(const char *s, enum subfilter *sf)
{
    if (s && strcmp(s, "adbe.pkcs7.detached") == 0)
        *sf = SF_DETACHED;
    else if (s && strcmp(s, "ETSI.CAdES.detached") == 0)
        *sf = SF_CADES;
    else if (s && strcmp(s, "adbe.pkcs7.sha1") == 0)
        *sf = SF_SHA1;
    else
        return false;
    return true;
}

static bool sig_alg_sha1(int nid)
{
    return nid == NID_sha1WithRSAEncryption || nid == NID_ecdsa_with_SHA1 ||
           nid == NID_dsaWithSHA1 || nid == NID_sha1WithRSA;
}

/* eContent rules; for adbe.pkcs7.sha1 the content is the SHA-1 of the ByteRange pieces. */
static int check_content(struct run *ru, enum subfilter sf, const struct gw_tst_span br[2],
                         struct gw_tst_span *signed_span, struct gw_cms_result *out)
{
    ASN1_OCTET_STRING **pos = CMS_get0_content(ru->cms);
    bool has = pos && *pos;
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl;
    int rc;

    if (OBJ_obj2nid(CMS_get0_eContentType(ru->cms)) != NID_pkcs7_data)
        return fail(out, GW_CMS_FORMAT, "content_type_not_data", "eContentType is not id-data");
    if (sf != SF_SHA1) {
        *signed_span = br[0]; /* the caller hashes both pieces */
        if (has)
            return fail(out, GW_CMS_FORMAT, "cms_has_content",
                        "the SignedData carries its own content (%d bytes); %s is detached",
                        ASN1_STRING_length(*pos), ru->subfilter);
        return 0;
    }
    if (!has)
        return fail(out, GW_CMS_FORMAT, "sha1_content_missing",
                    "adbe.pkcs7.sha1 without the SHA-1 digest as content");
    out->weak_digest = true;
    finding(out, "sha1_digest", "adbe.pkcs7.sha1: the document is hashed with SHA-1");
    if ((rc = gw_cms_sd_digest(EVP_sha1(), br, 2, NULL, d, &dl)) != 0)
        return rc;
    signed_span->p = ASN1_STRING_get0_data(*pos);
    signed_span->n = (size_t)ASN1_STRING_length(*pos);
    if (signed_span->n != dl || memcmp(signed_span->p, d, dl) != 0)
        return fail(out, GW_CMS_HASH, "sha1_content_mismatch",
                    "the content is not the SHA-1 of the ByteRange");
    return 0;
}

static int check_attrs(struct run *ru, const uint8_t *dig, unsigned dl, struct gw_cms_result *out)
{
    switch (gw_cms_sd_check_attrs(ru->si, CMS_get0_eContentType(ru->cms), dig, dl,
                                  &out->has_signing_time, &out->signing_time)) {
    case GW_SD_ATTR_OK:
        return 0;
    case GW_SD_ATTR_INVALID:
        return fail(out, GW_CMS_FORMAT, "signed_attr_invalid",
                    "a signed attribute is repeated, multi-valued or of the wrong type");
    case GW_SD_ATTR_CT_MISSING:
        return fail(out, GW_CMS_FORMAT, "content_type_missing", "no contentType attribute");
    case GW_SD_ATTR_CT_MISMATCH:
        return fail(out, GW_CMS_FORMAT, "content_type_mismatch",
                    "contentType attribute differs from eContentType");
    case GW_SD_ATTR_MD_MISSING:
        return fail(out, GW_CMS_FORMAT, "message_digest_missing", "no messageDigest attribute");
    case GW_SD_ATTR_MD_MISMATCH:
        return fail(out, GW_CMS_HASH, "message_digest_mismatch",
                    "messageDigest is not the %s of the signed bytes", out->digest_name);
    case GW_SD_ATTR_TIME_BAD:
        return fail(out, GW_CMS_FORMAT, "signing_time_invalid", "signingTime is not a time");
    }
    return 0;
}

/* Signer certificate, its key type, ESS signingCertificate(V2), then the signature. */
static int check_signer(struct run *ru, struct gw_cms_result *out)
{
    X509 *signer = gw_cms_sd_signer(ru->si, out->certs);
    EVP_PKEY *pk;
    bool v1;
    int id, ok;

    if (!signer)
        return fail(out, GW_CMS_NO_SIGNER_CERT, "signer_cert_missing",
                    "the SignedData does not carry the certificate the SignerInfo names");
    X509_up_ref(signer);
    out->signer = signer;
    pk = X509_get0_pubkey(signer);
    id = pk ? EVP_PKEY_get_base_id(pk) : NID_undef;
    if (id != EVP_PKEY_RSA && id != EVP_PKEY_RSA_PSS && id != EVP_PKEY_EC)
        return fail(out, GW_CMS_FORMAT, "algorithm_unsupported",
                    "signer key is neither RSA nor EC");
    if (!out->has_signed_attrs) {
        finding(out, "signing_certificate_absent",
                "no signed attributes, hence no signingCertificate");
    } else {
        switch (gw_cms_sd_ess(ru->si, signer, &v1)) {
        case GW_SD_ESS_MATCH:
            out->signing_cert_attr = true;
            if (v1)
                finding(out, "signing_certificate_sha1",
                        "signingCertificate (v1) binds the certificate by SHA-1");
            break;
        case GW_SD_ESS_ABSENT:
            finding(out, "signing_certificate_absent",
                    "neither signingCertificate nor signingCertificateV2 is signed");
            break;
        case GW_SD_ESS_MISMATCH:
            return fail(out, GW_CMS_NO_SIGNER_CERT, "signing_cert_mismatch",
                        "signingCertificate(V2) names another certificate than the signer's");
        case GW_SD_ESS_INVALID:
            return fail(out, GW_CMS_FORMAT, "signing_cert_invalid",
                        "malformed or repeated signingCertificate(V2)");
        }
    }
    CMS_SignerInfo_set1_signer_cert(ru->si, signer);
    /* With signed attributes the signature covers their DER; without, the content digest. */
    ok = out->has_signed_attrs ? CMS_SignerInfo_verify(ru->si)
                               : CMS_SignerInfo_verify_content(ru->si, ru->md_bio);
    if (ok != 1)
        return fail(out, GW_CMS_SIG, "signature_invalid",
                    "the signature value does not verify with the signer certificate's key");
    out->status = GW_CMS_OK;
    out->code = NULL;
    out->detail[0] = '\0';
    return 0;
}

static int run(struct run *ru, struct gw_cms_result *out)
{
    struct gw_tst_span br[2], signed_span;
    STACK_OF(CMS_SignerInfo) * sis;
    X509_ALGOR *dalg = NULL, *salg = NULL;
    uint8_t dig[EVP_MAX_MD_SIZE];
    unsigned dl;
    enum subfilter sf;
    const EVP_MD *md;
    size_t used;
    int rc;

    if (!subfilter_of(ru->subfilter, &sf))
        return fail(out, GW_CMS_FORMAT, "subfilter_unknown",
                    "/SubFilter %.64s is not verified here",
                    ru->subfilter ? ru->subfilter : "(none)");
    if (!gw_cms_sd_ranges(ru->pdf, ru->pdf_len, ru->br, br))
        return fail(out, GW_CMS_FORMAT, "byte_range_invalid", "a ByteRange piece leaves the file");
    if (ru->der_len > GW_CMS_MAX_DER)
        return fail(out, GW_CMS_FORMAT, "cms_too_large", "/Contents of %zu bytes, more than %u",
                    ru->der_len, GW_CMS_MAX_DER);
    if (!(ru->cms = gw_cms_sd_parse(ru->der, ru->der_len, &used)))
        return fail(out, GW_CMS_FORMAT, "cms_parse", "/Contents is not a DER ContentInfo");
    if (!gw_cms_sd_zeros(ru->der + used, ru->der_len - used))
        finding(out, "trailing_padding", "non-zero bytes after the CMS object in /Contents");
    if (OBJ_obj2nid(CMS_get0_type(ru->cms)) != NID_pkcs7_signed)
        return fail(out, GW_CMS_FORMAT, "not_signed_data", "the ContentInfo is not a SignedData");
    sis = CMS_get0_SignerInfos(ru->cms);
    if (sk_CMS_SignerInfo_num(sis) != 1)
        return fail(out, GW_CMS_FORMAT, "cms_signer_count", "%d SignerInfos, exactly 1 expected",
                    sk_CMS_SignerInfo_num(sis));
    ru->si = sk_CMS_SignerInfo_value(sis, 0);
    CMS_SignerInfo_get0_algs(ru->si, NULL, NULL, &dalg, &salg);
    out->digest_nid = OBJ_obj2nid(dalg->algorithm);
    out->sig_nid = OBJ_obj2nid(salg->algorithm);
    gw_cms_sd_obj_name(dalg->algorithm, out->digest_name, sizeof(out->digest_name));
    gw_cms_sd_obj_name(salg->algorithm, out->sig_name, sizeof(out->sig_name));
    if ((rc = check_content(ru, sf, br, &signed_span, out)) != 0 || out->code)
        return rc;
    if (!(md = gw_cms_sd_md(out->digest_nid)))
        return fail(out, GW_CMS_FORMAT, "algorithm_unsupported", "digest algorithm %s",
                    out->digest_name);
    if (out->digest_nid == NID_sha1 || sig_alg_sha1(out->sig_nid)) {
        out->weak_digest = true;
        finding(out, "sha1_digest", "the signature relies on SHA-1");
    }
    rc = sf == SF_SHA1 ? gw_cms_sd_digest(md, &signed_span, 1, &ru->md_bio, dig, &dl)
                       : gw_cms_sd_digest(md, br, 2, &ru->md_bio, dig, &dl);
    if (rc)
        return rc;
    out->certs = CMS_get1_certs(ru->cms);
    out->has_signed_attrs = CMS_signed_get_attr_count(ru->si) >= 0;
    if (out->has_signed_attrs && ((rc = check_attrs(ru, dig, dl, out)) != 0 || out->code))
        return rc;
    return check_signer(ru, out);
}

/* The signatureTimeStampToken, over the octets of the SignerInfo's signature value. */
static int check_timestamp(CMS_SignerInfo *si, struct gw_cms_result *out)
{
    int idx = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
    X509_ATTRIBUTE *a = idx >= 0 ? CMS_unsigned_get_attr(si, idx) : NULL;
    ASN1_TYPE *v = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);

    if (idx < 0)
        return 0;
    if (CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, idx) >= 0 ||
        X509_ATTRIBUTE_count(a) > 1)
        finding(out, "timestamp_multiple", "more than one signature timestamp; the first is used");
    if (!v || v->type != V_ASN1_SEQUENCE || !sv) {
        out->ts.present = true;
        out->ts.code = "tst_parse";
        snprintf(out->ts.detail, sizeof(out->ts.detail), "timestamp attribute not a token");
        return 0;
    }
    return gw_tst_verify(ASN1_STRING_get0_data(v->value.sequence),
                         (size_t)ASN1_STRING_length(v->value.sequence), ASN1_STRING_get0_data(sv),
                         (size_t)ASN1_STRING_length(sv), &out->ts);
}

int gw_cms_verify(const uint8_t *pdf, size_t pdf_len, const uint64_t byte_range[4],
                  const uint8_t *der, size_t der_len, const char *subfilter,
                  struct gw_cms_result *out)
{
    struct run ru = {pdf, pdf_len, byte_range, der, der_len, subfilter, NULL, NULL, NULL};
    int rc;

    memset(out, 0, sizeof(*out));
    out->status = GW_CMS_FORMAT;
    out->digest_nid = out->sig_nid = NID_undef;
    rc = run(&ru, out);
    if (rc == 0 && ru.si)
        rc = check_timestamp(ru.si, out);
    BIO_free_all(ru.md_bio);
    CMS_ContentInfo_free(ru.cms);
    ERR_clear_error();
    return rc;
}

int gw_cms_doc_timestamp(const uint8_t *pdf, size_t pdf_len, const uint64_t byte_range[4],
                         const uint8_t *der, size_t der_len, struct gw_tst_result *out)
{
    struct gw_tst_span br[2];

    if (!gw_cms_sd_ranges(pdf, pdf_len, byte_range, br)) {
        memset(out, 0, sizeof(*out));
        out->present = true;
        out->code = "byte_range_invalid";
        snprintf(out->detail, sizeof(out->detail), "a ByteRange piece leaves the file");
        return 0;
    }
    return gw_tst_verify_digest_src(der, der_len, br, 2, out);
}

void gw_cms_result_clear(struct gw_cms_result *r)
{
    if (!r)
        return;
    X509_free(r->signer);
    sk_X509_pop_free(r->certs, X509_free);
    gw_tst_result_clear(&r->ts);
    memset(r, 0, sizeof(*r));
}
