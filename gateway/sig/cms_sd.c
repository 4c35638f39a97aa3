/*
 * SignedData steps shared by the PDF signature check (sig/cms) and the time-stamp token check
 * (sig/tst): one DER object with its padding, the accepted digests, in-place hashing of the
 * ByteRange pieces, signed attributes, the signer among the certificates and ESS
 * signingCertificate(V2). Everything works on the caller's objects only: no globals.
 */
#include "sig/cms_sd.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ess.h>
#include <openssl/objects.h>

#include "util/error.h"

CMS_ContentInfo *gw_cms_sd_parse(const uint8_t *der, size_t len, size_t *consumed)
{
    const unsigned char *p = der;
    CMS_ContentInfo *cms;

    *consumed = 0;
    if (!der || len == 0 || len > LONG_MAX)
        return NULL;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (!cms)
        return NULL;
    *consumed = (size_t)(p - der);
    return cms;
}

bool gw_cms_sd_zeros(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

const EVP_MD *gw_cms_sd_md(int nid)
{
    switch (nid) {
    case NID_sha1:
        return EVP_sha1();
    case NID_sha224:
        return EVP_sha224();
    case NID_sha256:
        return EVP_sha256();
    case NID_sha384:
        return EVP_sha384();
    case NID_sha512:
        return EVP_sha512();
    case NID_sha3_256:
        return EVP_sha3_256();
    case NID_sha3_384:
        return EVP_sha3_384();
    case NID_sha3_512:
        return EVP_sha3_512();
    default:
        return NULL;
    }
}

int gw_cms_sd_digest(const EVP_MD *md, const struct gw_tst_span *spans, size_t n, BIO **bio,
                     uint8_t out[EVP_MAX_MD_SIZE], unsigned *out_len)
{
    BIO *mdb = BIO_new(BIO_f_md()), *sink = BIO_new(BIO_s_null());
    EVP_MD_CTX *ctx = NULL, *copy = EVP_MD_CTX_new();
    int rc = GW_ENOMEM;

    *out_len = 0;
    if (bio)
        *bio = NULL;
    if (!mdb || !sink || !copy || !BIO_set_md(mdb, md))
        goto done;
    BIO_push(mdb, sink);
    sink = NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = spans[i].p;
        size_t left = spans[i].n;
        while (left > 0) {
            int chunk = left > (1u << 30) ? (1 << 30) : (int)left;
            if (BIO_write(mdb, p, chunk) != chunk)
                goto done;
            p += chunk;
            left -= (size_t)chunk;
        }
    }
    if (BIO_get_md_ctx(mdb, &ctx) <= 0 || !EVP_MD_CTX_copy_ex(copy, ctx) ||
        !EVP_DigestFinal_ex(copy, out, out_len))
        goto done;
    rc = 0;
    if (bio) {
        *bio = mdb;
        mdb = NULL;
    }
done:
    EVP_MD_CTX_free(copy);
    BIO_free_all(mdb);
    BIO_free(sink);
    return rc;
}

bool gw_cms_sd_ranges(const uint8_t *buf, size_t len, const uint64_t br[4],
                      struct gw_tst_span spans[2])
{
    if (!buf || !br)
        return false;
    for (int i = 0; i < 2; i++) {
        uint64_t off = br[2 * i], n = br[2 * i + 1];
        if (off > len || n > len - off)
            return false;
        spans[i].p = buf + off;
        spans[i].n = (size_t)n;
    }
    return true;
}

static X509_ATTRIBUTE *attr_get(CMS_SignerInfo *si, bool is_signed, int idx)
{
    return is_signed ? CMS_signed_get_attr(si, idx) : CMS_unsigned_get_attr(si, idx);
}

ASN1_TYPE *gw_cms_sd_attr1(CMS_SignerInfo *si, bool is_signed, int nid, int *count)
{
    int idx = -1, first = -1, n = 0;

    for (;;) {
        idx = is_signed ? CMS_signed_get_attr_by_NID(si, nid, idx)
                        : CMS_unsigned_get_attr_by_NID(si, nid, idx);
        if (idx < 0)
            break;
        if (first < 0)
            first = idx;
        n++;
    }
    *count = n;
    if (n != 1)
        return NULL;
    X509_ATTRIBUTE *a = attr_get(si, is_signed, first);
    if (!a || X509_ATTRIBUTE_count(a) != 1)
        return NULL;
    return X509_ATTRIBUTE_get0_type(a, 0);
}

bool gw_cms_sd_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;

    if (!t || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME) ||
        !ASN1_TIME_check(t) || !ASN1_TIME_to_tm(t, &tm))
        return false;
    *out = timegm(&tm);
    return true;
}

enum gw_cms_sd_attr gw_cms_sd_check_attrs(CMS_SignerInfo *si, const ASN1_OBJECT *econtent_type,
                                          const uint8_t *digest, unsigned dlen, bool *has_time,
                                          time_t *when)
{
    ASN1_TYPE *v;
    int n;

    *has_time = false;
    v = gw_cms_sd_attr1(si, true, NID_pkcs9_contentType, &n);
    if (n == 0)
        return GW_SD_ATTR_CT_MISSING;
    if (!v || v->type != V_ASN1_OBJECT)
        return GW_SD_ATTR_INVALID;
    if (!econtent_type || OBJ_cmp(v->value.object, econtent_type) != 0)
        return GW_SD_ATTR_CT_MISMATCH;
    v = gw_cms_sd_attr1(si, true, NID_pkcs9_messageDigest, &n);
    if (n == 0)
        return GW_SD_ATTR_MD_MISSING;
    if (!v || v->type != V_ASN1_OCTET_STRING)
        return GW_SD_ATTR_INVALID;
    v = gw_cms_sd_attr1(si, true, NID_pkcs9_signingTime, &n);
    if (n > 0) {
        if (!v || (v->type != V_ASN1_UTCTIME && v->type != V_ASN1_GENERALIZEDTIME))
            return GW_SD_ATTR_INVALID;
        if (!gw_cms_sd_time(v->value.utctime, when))
            return GW_SD_ATTR_TIME_BAD;
        *has_time = true;
    }
    /* Compared last so that a malformed set is reported as such, not as a mismatch. */
    v = gw_cms_sd_attr1(si, true, NID_pkcs9_messageDigest, &n);
    if ((unsigned)ASN1_STRING_length(v->value.octet_string) != dlen ||
        memcmp(ASN1_STRING_get0_data(v->value.octet_string), digest, dlen) != 0)
        return GW_SD_ATTR_MD_MISMATCH;
    return GW_SD_ATTR_OK;
}

X509 *gw_cms_sd_signer(CMS_SignerInfo *si, STACK_OF(X509) * certs)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (CMS_SignerInfo_cert_cmp(si, x) == 0)
            return x;
    }
    return NULL;
}

/*
 * OpenSSL's check wants every ESSCertID of the attribute among the chain; only the first one
 * names the signer (RFC 2634 5.4, RFC 5035), the others may name certificates not carried. So the
 * attribute is re-wrapped around its first ESSCertID(v2) alone: SEQUENCE { SEQUENCE { id } }.
 */
static unsigned char *first_id_only(const ASN1_STRING *seq, long *out_len)
{
    const unsigned char *p = seq->data, *end = seq->data + seq->length, *id;
    long l, id_len, inner;
    int tag, cls;
    unsigned char *buf, *w;

    if (ASN1_get_object(&p, &l, &tag, &cls, end - p) != 0x20 || tag != V_ASN1_SEQUENCE)
        return NULL;
    if (ASN1_get_object(&p, &l, &tag, &cls, end - p) != 0x20 || tag != V_ASN1_SEQUENCE)
        return NULL;
    id = p;
    if (ASN1_get_object(&p, &l, &tag, &cls, end - p) != 0x20 || tag != V_ASN1_SEQUENCE ||
        l > end - p)
        return NULL;
    id_len = (long)(p - id) + l;
    inner = ASN1_object_size(1, id_len, V_ASN1_SEQUENCE);
    *out_len = ASN1_object_size(1, inner, V_ASN1_SEQUENCE);
    if (inner < 0 || *out_len < 0 || !(buf = OPENSSL_malloc((size_t)*out_len)))
        return NULL;
    w = buf;
    ASN1_put_object(&w, 1, inner, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    ASN1_put_object(&w, 1, id_len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memcpy(w, id, (size_t)id_len);
    return buf;
}

/* 1 match, 0 mismatch, -1 malformed: one attribute value (v2: signingCertificateV2). */
static int ess_one(const ASN1_STRING *seq, bool v2, STACK_OF(X509) * chain)
{
    const unsigned char *p = seq->data;
    unsigned char *one;
    long one_len;
    int r = -1;
    void *full = v2 ? (void *)d2i_ESS_SIGNING_CERT_V2(NULL, &p, seq->length)
                    : (void *)d2i_ESS_SIGNING_CERT(NULL, &p, seq->length);

    if (!full || p != seq->data + seq->length)
        goto done;
    if (!(one = first_id_only(seq, &one_len)))
        goto done;
    p = one;
    if (v2) {
        ESS_SIGNING_CERT_V2 *s = d2i_ESS_SIGNING_CERT_V2(NULL, &p, one_len);
        r = s ? OSSL_ESS_check_signing_certs(NULL, s, chain, 0) : -1;
        ESS_SIGNING_CERT_V2_free(s);
    } else {
        ESS_SIGNING_CERT *s = d2i_ESS_SIGNING_CERT(NULL, &p, one_len);
        r = s ? OSSL_ESS_check_signing_certs(s, NULL, chain, 0) : -1;
        ESS_SIGNING_CERT_free(s);
    }
    OPENSSL_free(one);
    r = r == 1 ? 1 : r == 0 ? 0 : -1;
done:
    if (v2)
        ESS_SIGNING_CERT_V2_free(full);
    else
        ESS_SIGNING_CERT_free(full);
    return r;
}

enum gw_cms_sd_ess gw_cms_sd_ess(CMS_SignerInfo *si, X509 *signer, bool *v1)
{
    STACK_OF(X509) *chain = NULL;
    enum gw_cms_sd_ess res = GW_SD_ESS_INVALID;
    ASN1_TYPE *a1, *a2;
    int n1, n2, r1 = 1, r2 = 1;

    *v1 = false;
    a1 = gw_cms_sd_attr1(si, true, NID_id_smime_aa_signingCertificate, &n1);
    a2 = gw_cms_sd_attr1(si, true, NID_id_smime_aa_signingCertificateV2, &n2);
    if (n1 == 0 && n2 == 0)
        return GW_SD_ESS_ABSENT;
    if ((n1 && (!a1 || a1->type != V_ASN1_SEQUENCE)) ||
        (n2 && (!a2 || a2->type != V_ASN1_SEQUENCE)))
        return GW_SD_ESS_INVALID;
    chain = sk_X509_new_null();
    if (!chain || !sk_X509_push(chain, signer))
        goto done;
    if (a1) {
        *v1 = true;
        r1 = ess_one(a1->value.sequence, false, chain);
    }
    if (a2)
        r2 = ess_one(a2->value.sequence, true, chain);
    /* Both present: both must name the signer. */
    res = (r1 < 0 || r2 < 0)     ? GW_SD_ESS_INVALID
          : (r1 == 0 || r2 == 0) ? GW_SD_ESS_MISMATCH
                                 : GW_SD_ESS_MATCH;
done:
    sk_X509_free(chain);
    return res;
}

void gw_cms_sd_obj_name(const ASN1_OBJECT *obj, char *buf, size_t size)
{
    int nid = obj ? OBJ_obj2nid(obj) : NID_undef;
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (sn)
        snprintf(buf, size, "%s", sn);
    else if (obj && OBJ_obj2txt(buf, (int)size, obj, 1) < 0)
        buf[0] = '\0';
}
