#ifndef GW_SIG_TST_H
#define GW_SIG_TST_H

/*
 * RFC 3161 time-stamp tokens: a CMS SignedData whose content is a TSTInfo. Verifies that the token
 * is well formed, that its messageImprint is the hash (with the token's own algorithm) of the data
 * it is said to cover, and that the TSA's signature verifies with the TSA certificate carried in
 * the token (the ESS signingCertificate(V2) attribute of the token names that certificate). The
 * TSA's chain at genTime is for the caller (sig/path). Pure functions, safe on any thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

/* Largest token accepted (as an attribute or a document timestamp /Contents). */
#define GW_TST_MAX_DER (1u << 20)

/* A piece of the data a timestamp or signature covers, read in place (never copied). */
struct gw_tst_span {
    const uint8_t *p;
    size_t n;
};

struct gw_tst_result {
    bool present; /* a token was given (or found in the CMS) */
    bool valid;   /* well formed, imprint matches, TSA signature verifies with the TSA cert */
    /*
     * Stable code when not valid: tst_parse, tst_too_large, tst_not_granted,
     * tst_algorithm_unsupported, tst_imprint_mismatch, tst_no_tsa_cert, tst_attrs_invalid,
     * tst_message_digest_mismatch, tst_signing_cert_missing, tst_signing_cert_mismatch,
     * tst_tsa_eku, tst_signature_invalid. NULL when valid.
     */
    const char *code;
    char detail[256];
    time_t gen_time;     /* TSTInfo genTime (valid when the TSTInfo parsed) */
    int imprint_nid;     /* hash algorithm of the messageImprint */
    char policy_oid[64]; /* TSA policy, dotted */
    char serial_hex[80]; /* TSTInfo serialNumber, upper-case hex */
    bool was_response;   /* a whole TimeStampResp was given instead of the token */
    bool trailing_data;  /* non-zero bytes after the token (document timestamps: /Contents) */
    X509 *tsa;           /* owned: the certificate that signed the token, or NULL */
    STACK_OF(X509) * tsa_certs; /* owned: every certificate carried in the token, or NULL */
};

/*
 * Verifies token (len bytes, DER; trailing zero bytes are ignored) against imprint_data: the
 * token's messageImprint must be the hash of those bytes. Returns 0 or GW_ENOMEM; the verdict is
 * in *out, which the caller releases with gw_tst_result_clear().
 */
int gw_tst_verify(const uint8_t *token, size_t len, const uint8_t *imprint_data, size_t data_len,
                  struct gw_tst_result *out);

/* Same, the imprinted data being the concatenation of n spans (a PDF's ByteRange pieces). */
int gw_tst_verify_digest_src(const uint8_t *token, size_t len, const struct gw_tst_span *spans,
                             size_t n, struct gw_tst_result *out);

/* Frees what *r owns and zeroes it. NULL is accepted. */
void gw_tst_result_clear(struct gw_tst_result *r);

#endif
