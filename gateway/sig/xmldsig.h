#ifndef GW_SIG_XMLDSIG_H
#define GW_SIG_XMLDSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/*
 * XML-DSig on the edXML package (domain.md §2, §6). The Signature block is often a placeholder
 * (QCVN namespace instead of xmldsig, repeated values, truncated certificates): that is reported
 * as PLACEHOLDER, never as a failure. A real XML-DSig is verified with xmlsec1 under fixed rules
 * (docs/internals/verdicts.md): exactly one Reference, URI "" or "#id" naming the document
 * element the gateway relays, unique IDs, only the enveloped-signature and c14n transforms, no
 * external URI, no XSLT, no network. The key is the X509 certificate of KeyInfo, taken without
 * chain verification: the caller builds the path.
 *
 * Threads: gw_xmldsig_global_init() once at start, before any other thread calls in (it sets
 * libxml2's and xmlsec's global state). After it, gw_xmldsig_check() may run on any number of
 * threads at once: the document, the keys manager and the signature context are per call.
 */

enum gw_xmldsig_status {
    GW_XMLDSIG_ABSENT = 0,  /* no Signature element at all */
    GW_XMLDSIG_PLACEHOLDER, /* a Signature block that is no usable XML-DSig (code says why) */
    GW_XMLDSIG_VALID,       /* verifies with the key of the KeyInfo certificate */
    GW_XMLDSIG_INVALID,     /* a real XML-DSig that fails or breaks the rules (code) */
};

/*
 * Codes (static strings):
 *  PLACEHOLDER: wrong_namespace (a Signature outside the xmldsig namespace), no_signed_info,
 *    no_signature_value, placeholder_value (not base64, one character repeated or too short),
 *    no_certificate (no KeyInfo/X509Data/X509Certificate), undecodable_cert (not base64 DER,
 *    truncated).
 *  INVALID: signature_count (more than one xmldsig Signature), reference_count,
 *    reference_uri (missing, external, XPointer or unknown id), wrapping (the reference names
 *    an element other than the document element), duplicate_id, transform_not_allowed,
 *    digest_mismatch, signature_invalid, verify_error (xmlsec refused it: unknown algorithm,
 *    key not usable...), doctype.
 */
struct gw_xmldsig_result {
    enum gw_xmldsig_status status;
    const char *code;          /* NULL when ABSENT or VALID */
    X509 *signer;              /* owned (free with gw_xmldsig_result_clear); the KeyInfo
                                  certificate when one decoded (VALID: the one that verified) */
    char signature_method[96]; /* Algorithm URIs, clipped; "" when unknown */
    char digest_method[96];
    bool sha1; /* SHA-1 in the signature or digest method: a policy question for the caller */
};

#define GW_XMLDSIG_MAX_BYTES ((size_t)512 * 1024 * 1024) /* libxml2 takes an int length */

/* xmlsec and its OpenSSL back end; idempotent. 0 or GW_EIO. */
int gw_xmldsig_global_init(void) __attribute__((warn_unused_result));

/* Checks the XML-DSig of the package xml[0..len). 0 with *out filled (ABSENT, PLACEHOLDER, VALID
 * or INVALID); GW_EPARSE when the bytes are not well-formed XML; GW_E2BIG beyond
 * GW_XMLDSIG_MAX_BYTES; GW_ENOMEM; GW_EIO when not initialised. The caller has already run the
 * edXML structural pre-scan (no DOCTYPE, bounded nesting); the whole package is parsed into a
 * tree, so this runs on the thread pool. */
int gw_xmldsig_check(const uint8_t *xml, size_t len, struct gw_xmldsig_result *out)
    __attribute__((warn_unused_result));

/* Frees out->signer and resets *out; accepts NULL. */
void gw_xmldsig_result_clear(struct gw_xmldsig_result *out);

/* "absent", "placeholder", "valid", "invalid". */
const char *gw_xmldsig_status_name(enum gw_xmldsig_status s);

#endif
