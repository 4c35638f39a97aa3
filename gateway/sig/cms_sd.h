#ifndef GW_SIG_CMS_SD_H
#define GW_SIG_CMS_SD_H

/*
 * Internal to sig/cms and sig/tst: the SignedData steps both need (one DER object and its
 * padding, the digest whitelist, in-place hashing of spans, signed attributes, the signer among
 * the certificates, ESS signingCertificate(V2)). Not for other modules.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/evp.h>

#include "sig/tst.h"

/* Parses exactly one ContentInfo from der; *consumed is its length. NULL when malformed. */
CMS_ContentInfo *gw_cms_sd_parse(const uint8_t *der, size_t len, size_t *consumed);

/* True when every one of the n bytes is zero (n == 0 included). */
bool gw_cms_sd_zeros(const uint8_t *p, size_t n);

/* The digest for an algorithm OID's nid when accepted (SHA-1, SHA-2, SHA-3), else NULL. */
const EVP_MD *gw_cms_sd_md(int nid);

/*
 * Hashes the spans in place with md through a digest BIO (returned in *bio for
 * CMS_SignerInfo_verify_content; NULL bio pointer: not kept) and writes the digest. 0, GW_ENOMEM.
 */
int gw_cms_sd_digest(const EVP_MD *md, const struct gw_tst_span *spans, size_t n, BIO **bio,
                     uint8_t out[EVP_MAX_MD_SIZE], unsigned *out_len);

/* Fills spans[0..1] from a ByteRange; false when a piece leaves the buffer or overflows. */
bool gw_cms_sd_ranges(const uint8_t *buf, size_t len, const uint64_t br[4],
                      struct gw_tst_span spans[2]);

enum gw_cms_sd_attr {
    GW_SD_ATTR_OK,
    GW_SD_ATTR_INVALID,     /* an attribute repeated or not single-valued, wrong type */
    GW_SD_ATTR_CT_MISSING,  /* contentType absent */
    GW_SD_ATTR_CT_MISMATCH, /* contentType is not the eContentType */
    GW_SD_ATTR_MD_MISSING,  /* messageDigest absent */
    GW_SD_ATTR_MD_MISMATCH, /* messageDigest is not the digest of the content */
    GW_SD_ATTR_TIME_BAD,    /* signingTime not a time */
};

/*
 * Checks the signed attributes of si: contentType equals econtent_type, messageDigest equals
 * digest, signingTime (when present, *has_time set) is a time (*when).
 */
enum gw_cms_sd_attr gw_cms_sd_check_attrs(CMS_SignerInfo *si, const ASN1_OBJECT *econtent_type,
                                          const uint8_t *digest, unsigned dlen, bool *has_time,
                                          time_t *when);

/* The single value of the signed (or unsigned) attribute nid; *count is how many there are. */
ASN1_TYPE *gw_cms_sd_attr1(CMS_SignerInfo *si, bool is_signed, int nid, int *count);

/* The certificate among certs that si names (issuerAndSerialNumber or SKID), or NULL. */
X509 *gw_cms_sd_signer(CMS_SignerInfo *si, STACK_OF(X509) * certs);

enum gw_cms_sd_ess {
    GW_SD_ESS_MATCH,
    GW_SD_ESS_ABSENT,
    GW_SD_ESS_MISMATCH,
    GW_SD_ESS_INVALID, /* malformed or repeated attribute */
};

/* Compares signingCertificate / signingCertificateV2 of si with signer; *v1 when the SHA-1 one. */
enum gw_cms_sd_ess gw_cms_sd_ess(CMS_SignerInfo *si, X509 *signer, bool *v1);

/* ASN1_TIME (UTCTime or GeneralizedTime) to time_t; false when not a valid time. */
bool gw_cms_sd_time(const ASN1_TIME *t, time_t *out);

/* OBJ short name of nid, or the dotted OID of obj when unknown. */
void gw_cms_sd_obj_name(const ASN1_OBJECT *obj, char *buf, size_t size);

#endif
