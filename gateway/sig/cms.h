#ifndef GW_SIG_CMS_H
#define GW_SIG_CMS_H

/*
 * CMS / PAdES signature verification of one PDF signature: the /Contents DER against the bytes of
 * the two ByteRange pieces, for /SubFilter adbe.pkcs7.detached, ETSI.CAdES.detached and the legacy
 * adbe.pkcs7.sha1; ETSI.RFC3161 document timestamps through gw_cms_doc_timestamp(). Only the
 * cryptography with the signer certificate's own key is checked here: no path, no trust, no
 * revocation (sig/path, sig/ocsp, sig/crl). Pure functions, safe on any thread.
 * docs/internals/cms.md lists the rules and codes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "sig/tst.h"

/* Largest /Contents DER accepted. */
#define GW_CMS_MAX_DER (4u << 20)

enum gw_cms_status {
    GW_CMS_OK,             /* signature and digest verify with the signer certificate's key */
    GW_CMS_FORMAT,         /* malformed, wrong shape or not allowed: FORMAT_FAILURE */
    GW_CMS_HASH,           /* the signed digest is not the digest of the ByteRange: HASH_FAILURE */
    GW_CMS_SIG,            /* the signature value does not verify: SIG_CRYPTO_FAILURE */
    GW_CMS_NO_SIGNER_CERT, /* the signer certificate is absent or not the one signed for */
};

struct gw_cms_finding {
    const char *code; /* signing_certificate_absent, sha1_digest, trailing_padding, ... */
    char message[200];
};

#define GW_CMS_MAX_FINDINGS 8

struct gw_cms_result {
    enum gw_cms_status status;
    /*
     * Stable code when status != GW_CMS_OK (NULL when OK). FORMAT: subfilter_unknown,
     * byte_range_invalid, cms_too_large, cms_parse, not_signed_data, cms_signer_count,
     * cms_has_content, content_type_not_data, sha1_content_missing, algorithm_unsupported,
     * signed_attr_invalid, content_type_missing, content_type_mismatch, message_digest_missing,
     * signing_time_invalid, signing_cert_invalid. HASH: message_digest_mismatch,
     * sha1_content_mismatch. SIG: signature_invalid. NO_SIGNER_CERT: signer_cert_missing,
     * signing_cert_mismatch.
     */
    const char *code;
    char detail[256];
    X509 *signer;           /* owned: the signer certificate, once identified */
    STACK_OF(X509) * certs; /* owned: every certificate of the SignedData, or NULL */
    int digest_nid, sig_nid;
    char digest_name[32], sig_name[64];
    bool has_signed_attrs, has_signing_time;
    time_t signing_time;    /* claimed, never a proof of time */
    bool signing_cert_attr; /* signingCertificate(V2) present and matched */
    bool weak_digest;       /* SHA-1 somewhere the signature relies on */
    struct gw_cms_finding findings[GW_CMS_MAX_FINDINGS];
    unsigned n_findings;
    /* signatureTimeStampToken (1.2.840.113549.1.9.16.2.14) over the signature value octets */
    struct gw_tst_result ts;
};

/*
 * Verifies der (the /Contents bytes, zero padding allowed after the one DER object) as the
 * signature over pdf[br[0], br[0]+br[1]) and pdf[br[2], br[2]+br[3]) with the given /SubFilter.
 * The pieces are hashed in place. Returns 0 or GW_ENOMEM; the verdict is in *out, which the caller
 * releases with gw_cms_result_clear() in both cases.
 */
int gw_cms_verify(const uint8_t *pdf, size_t pdf_len, const uint64_t byte_range[4],
                  const uint8_t *der, size_t der_len, const char *subfilter,
                  struct gw_cms_result *out);

/*
 * /SubFilter ETSI.RFC3161: der is a time-stamp token whose imprint covers the ByteRange pieces.
 * Returns 0 or GW_ENOMEM; a ByteRange outside the buffer gives code byte_range_invalid.
 */
int gw_cms_doc_timestamp(const uint8_t *pdf, size_t pdf_len, const uint64_t byte_range[4],
                         const uint8_t *der, size_t der_len, struct gw_tst_result *out);

/* Frees what *r owns and zeroes it. NULL is accepted. */
void gw_cms_result_clear(struct gw_cms_result *r);

#endif
