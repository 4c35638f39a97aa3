/*
 * RFC 3161 time-stamp tokens (signatureTimeStampToken attributes and ETSI.RFC3161 document
 * timestamps): the token is parsed, its messageImprint compared with the hash of the covered
 * bytes, the TSA certificate found among the token's certificates, the token's signed attributes
 * and ESS signingCertificate(V2) checked and the TSA signature verified with that certificate's
 * key. The chain of the TSA at genTime is left to sig/path. No globals; safe on any thread.
 */
#include "sig/tst.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "sig/cms_sd.h"
#include "util/error.h"

__attribute__((format(printf, 3, 4))) static int fail(struct gw_tst_result *r, const char *code,
                                                      const char *fmt, ...)
{
    va_list ap;

    r->valid = false;
    r->code = code;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return 0;
}

/* A whole TimeStampResp given where a token belongs: its token, when the status grants one. */
static CMS_ContentInfo *from_response(const uint8_t *der, size_t len, size_t *used,
                                      struct gw_tst_result *out)
{
    const unsigned char *p = der;
    TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)len);
    unsigned char *inner = NULL;
    CMS_ContentInfo *cms = NULL;
    size_t inner_used;
    long status;
    int n;

    if (!resp) {
        fail(out, "tst_parse", "neither a time-stamp token nor a TimeStampResp");
        return NULL;
    }
    *used = (size_t)(p - der);
    out->was_response = true;
    status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
    if (status != 0 && status != 1) {
        fail(out, "tst_not_granted", "TimeStampResp status %ld", status);
    } else if (!TS_RESP_get_token(resp) || (n = i2d_PKCS7(TS_RESP_get_token(resp), &inner)) <= 0 ||
               !(cms = gw_cms_sd_parse(inner, (size_t)n, &inner_used))) {
        fail(out, "tst_parse", "TimeStampResp without a usable token");
    }
    OPENSSL_free(inner);
    TS_RESP_free(resp);
    return cms;
}

static void fill_info(TS_TST_INFO *info, struct gw_tst_result *out)
{
    const ASN1_INTEGER *serial = TS_TST_INFO_get_serial(info);
    BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    if (OBJ_obj2txt(out->policy_oid, sizeof(out->policy_oid), TS_TST_INFO_get_policy_id(info), 1) <
        0)
        out->policy_oid[0] = '\0';
    if (hex)
        snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
}

/* RFC 3161 2.3: one extendedKeyUsage, critical, with timeStamping only. */
static bool tsa_eku_ok(X509 *tsa)
{
    int crit = 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(tsa, NID_ext_key_usage, &crit, NULL);
    bool ok = eku && crit == 1 && sk_ASN1_OBJECT_num(eku) == 1 &&
              OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;

    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

/* The TSA side: certificate, signed attributes, ESS, signature, key purpose. */
static int check_signer(CMS_ContentInfo *cms, CMS_SignerInfo *si, const ASN1_OCTET_STRING *econt,
                        struct gw_tst_result *out)
{
    struct gw_tst_span span = {ASN1_STRING_get0_data(econt), (size_t)ASN1_STRING_length(econt)};
    uint8_t dig[EVP_MAX_MD_SIZE];
    unsigned dlen;
    X509_ALGOR *dalg = NULL;
    const EVP_MD *md;
    bool has_time, v1;
    time_t when;
    X509 *tsa;
    int rc;

    out->tsa_certs = CMS_get1_certs(cms);
    tsa = gw_cms_sd_signer(si, out->tsa_certs);
    if (!tsa)
        return fail(out, "tst_no_tsa_cert", "the token does not carry the TSA certificate");
    X509_up_ref(tsa);
    out->tsa = tsa;
    if (CMS_signed_get_attr_count(si) < 0)
        return fail(out, "tst_attrs_invalid", "the token has no signed attributes");
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dalg, NULL);
    if (!(md = gw_cms_sd_md(OBJ_obj2nid(dalg->algorithm))))
        return fail(out, "tst_algorithm_unsupported", "token digest algorithm not accepted");
    if ((rc = gw_cms_sd_digest(md, &span, 1, NULL, dig, &dlen)) != 0)
        return rc;
    switch (gw_cms_sd_check_attrs(si, CMS_get0_eContentType(cms), dig, dlen, &has_time, &when)) {
    case GW_SD_ATTR_OK:
        break;
    case GW_SD_ATTR_MD_MISMATCH:
        return fail(out, "tst_message_digest_mismatch", "messageDigest is not the TSTInfo's");
    default:
        return fail(out, "tst_attrs_invalid", "contentType/messageDigest of the token invalid");
    }
    switch (gw_cms_sd_ess(si, tsa, &v1)) {
    case GW_SD_ESS_MATCH:
        break;
    case GW_SD_ESS_ABSENT:
        return fail(out, "tst_signing_cert_missing", "no ESS signingCertificate in the token");
    case GW_SD_ESS_MISMATCH:
        return fail(out, "tst_signing_cert_mismatch", "ESS signingCertificate names another cert");
    default:
        return fail(out, "tst_attrs_invalid", "malformed ESS signingCertificate in the token");
    }
    CMS_SignerInfo_set1_signer_cert(si, tsa);
    if (CMS_SignerInfo_verify(si) != 1)
        return fail(out, "tst_signature_invalid", "the TSA signature does not verify");
    if (!tsa_eku_ok(tsa))
        return fail(out, "tst_tsa_eku", "TSA certificate lacks a critical timeStamping-only EKU");
    out->valid = true;
    out->code = NULL;
    return 0;
}

static int check(CMS_ContentInfo *cms, const struct gw_tst_span *spans, size_t n,
                 struct gw_tst_result *out)
{
    ASN1_OCTET_STRING **pos;
    STACK_OF(CMS_SignerInfo) * sis;
    TS_TST_INFO *info = NULL;
    const unsigned char *p;
    const ASN1_OCTET_STRING *imprint;
    const ASN1_OBJECT *alg = NULL;
    const EVP_MD *md;
    uint8_t dig[EVP_MAX_MD_SIZE];
    unsigned dlen;
    int rc = 0;

    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        return fail(out, "tst_parse", "the token is not a SignedData");
    pos = CMS_get0_content(cms);
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo || !pos || !*pos)
        return fail(out, "tst_parse", "the token does not carry a TSTInfo");
    sis = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(sis) != 1)
        return fail(out, "tst_parse", "the token has %d SignerInfos, not 1",
                    sk_CMS_SignerInfo_num(sis));
    p = ASN1_STRING_get0_data(*pos);
    info = d2i_TS_TST_INFO(NULL, &p, ASN1_STRING_length(*pos));
    if (!info || p != ASN1_STRING_get0_data(*pos) + ASN1_STRING_length(*pos) ||
        TS_TST_INFO_get_version(info) != 1 ||
        !gw_cms_sd_time(TS_TST_INFO_get_time(info), &out->gen_time)) {
        rc = fail(out, "tst_parse", "malformed TSTInfo");
        goto done;
    }
    fill_info(info, out);
    X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info)));
    out->imprint_nid = OBJ_obj2nid(alg);
    if (!(md = gw_cms_sd_md(out->imprint_nid))) {
        rc = fail(out, "tst_algorithm_unsupported", "imprint hash algorithm not accepted");
        goto done;
    }
    if ((rc = gw_cms_sd_digest(md, spans, n, NULL, dig, &dlen)) != 0)
        goto done;
    imprint = TS_MSG_IMPRINT_get_msg(TS_TST_INFO_get_msg_imprint(info));
    if ((unsigned)ASN1_STRING_length(imprint) != dlen ||
        memcmp(ASN1_STRING_get0_data(imprint), dig, dlen) != 0) {
        rc = fail(out, "tst_imprint_mismatch", "the token's imprint is not the hash of the data");
        goto done;
    }
    rc = check_signer(cms, sk_CMS_SignerInfo_value(sis, 0), *pos, out);
done:
    TS_TST_INFO_free(info);
    return rc;
}

int gw_tst_verify_digest_src(const uint8_t *token, size_t len, const struct gw_tst_span *spans,
                             size_t n, struct gw_tst_result *out)
{
    CMS_ContentInfo *cms;
    size_t used = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->present = true;
    if (!token || len == 0)
        return fail(out, "tst_parse", "empty token");
    if (len > GW_TST_MAX_DER)
        return fail(out, "tst_too_large", "token of %zu bytes, more than %u", len, GW_TST_MAX_DER);
    cms = gw_cms_sd_parse(token, len, &used);
    if (!cms)
        cms = from_response(token, len, &used, out);
    if (used < len && !gw_cms_sd_zeros(token + used, len - used))
        out->trailing_data = true;
    if (cms)
        rc = check(cms, spans, n, out);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

int gw_tst_verify(const uint8_t *token, size_t len, const uint8_t *imprint_data, size_t data_len,
                  struct gw_tst_result *out)
{
    struct gw_tst_span span = {imprint_data, data_len};

    return gw_tst_verify_digest_src(token, len, &span, 1, out);
}

void gw_tst_result_clear(struct gw_tst_result *r)
{
    if (!r)
        return;
    X509_free(r->tsa);
    sk_X509_pop_free(r->tsa_certs, X509_free);
    memset(r, 0, sizeof(*r));
}
