#ifndef GW_PATH_H
#define GW_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "sig/trust.h"
#include "util/error.h"

/*
 * Certification paths (docs/internals/path.md): from a signer, timestamping or OCSP responder
 * certificate up to an anchor of a trust snapshot, checked at a given time, with the key usage,
 * extended key usage, CA constraints, policies and signature algorithms this project accepts.
 * Revocation is not checked here (sig/ocsp, sig/crl). gw_path_build is safe to call from many
 * threads at once over one snapshot; it does no I/O.
 */

enum gw_path_purpose {
    GW_PATH_SIGNING,      /* a document signature (person or organisation) */
    GW_PATH_TIMESTAMPING, /* an RFC 3161 timestamping unit */
    GW_PATH_OCSP,         /* an OCSP responder */
};

struct gw_path_opts {
    const char *const *policy_oids; /* dotted OIDs; the leaf must carry one of them */
    size_t n_policy_oids;           /* 0: any policy, or none */
    bool allow_sha1_certs;          /* certificates below the anchor signed with SHA-1 */
};

/* Default options: any policy, SHA-1 certificates allowed (real chains still contain them). */
#define GW_PATH_OPTS_DEFAULT ((struct gw_path_opts){.allow_sha1_certs = true})

enum gw_path_status {
    GW_PATH_OK,
    GW_PATH_NO_CHAIN,      /* no path to an anchor of the snapshot */
    GW_PATH_EXPIRED,       /* a certificate of the path had expired at `at` */
    GW_PATH_NOT_YET_VALID, /* a certificate of the path was not yet valid at `at` */
    GW_PATH_CONSTRAINTS,   /* key usage, EKU, CA flag, path length, policy */
    GW_PATH_CRYPTO,        /* a certificate signature that does not verify, a weak algorithm */
};

/* Facts noted on a path that do not fail it (bits of gw_path_result.findings). */
enum {
    GW_PATH_FIND_NO_KEY_USAGE = 1u << 0,    /* leaf without keyUsage: any use allowed */
    GW_PATH_FIND_TSA_EKU_NONCRIT = 1u << 1, /* TSA extendedKeyUsage not critical (RFC 3161) */
    GW_PATH_FIND_TSA_EKU_EXTRA = 1u << 2,   /* TSA extendedKeyUsage with more than timeStamping */
    GW_PATH_FIND_SHA1_CERT = 1u << 3,       /* a certificate below the anchor signed with SHA-1 */
};

struct gw_path_result {
    enum gw_path_status status;
    const char *code;       /* stable snake_case: "" when OK, else no_issuer, untrusted_root,
                               cert_expired, cert_not_yet_valid, key_usage, eku_signing,
                               eku_timestamping, eku_ocsp, not_a_ca, path_length, policy,
                               name_constraints, critical_extension, bad_cert_signature,
                               weak_algorithm, malformed_cert, invalid_cert */
    char detail[256];       /* human text, naming the certificate's subject */
    STACK_OF(X509) * chain; /* owned: leaf first, anchor last (as far as it got) */
    int failed_depth;       /* index in chain of the certificate that failed, -1 none */
    time_t not_before;      /* latest notBefore of the chain */
    time_t not_after;       /* earliest notAfter of the chain */
    unsigned findings;      /* GW_PATH_FIND_* */
    char aia_url[512];      /* NO_CHAIN: caIssuers http(s) URL of the topmost certificate */
};

/*
 * Builds and checks the path of leaf at time `at` (the genTime of a timestamp, or now), taking
 * intermediates from untrusted (may be NULL; the certificates a signature carries) and from the
 * snapshot. Always fills *out (clear it with gw_path_result_clear, also before reusing it);
 * EXPIRED and NOT_YET_VALID come with the full chain and its validity bounds so that the caller
 * can reason about other times. o NULL means GW_PATH_OPTS_DEFAULT. Returns 0 when a result was
 * produced (whatever its status), GW_EINVAL or GW_ENOMEM otherwise (status then NO_CHAIN with
 * code "internal").
 */
int gw_path_build(const struct gw_trust *t, X509 *leaf, STACK_OF(X509) * untrusted, time_t at,
                  enum gw_path_purpose p, const struct gw_path_opts *o, struct gw_path_result *out);
void gw_path_result_clear(struct gw_path_result *r);

/* "ok", "no_chain", "expired", "not_yet_valid", "constraints", "crypto". */
const char *gw_path_status_name(enum gw_path_status s);
/* Space-separated names of the finding bits ("tsa_eku_not_critical sha1_cert"), into buf. */
const char *gw_path_findings_str(unsigned findings, char *buf, size_t len);

/* Facts of one certificate for the certificate inventory and the report. */
struct gw_cert_info {
    char sha256[65];        /* of the DER encoding, lowercase hex */
    char *subject, *issuer; /* RFC 2253, UTF-8 */
    char serial[80];        /* lowercase hex, '-' first when negative, cut if absurdly long */
    time_t not_before, not_after;
    char *cn, *o, *ou, *uid, *serial_number_attr; /* first of each in the subject, UTF-8; NULL */
    char key_usage[128]; /* "digitalSignature,nonRepudiation"; "" without the extension */
    char *aia_ca_issuers, *aia_ocsp, *crl_dp; /* first URI of each; NULL when absent */
    bool self_signed, is_ca;
};

/* 0, GW_ENOMEM or GW_EPARSE (a time or name OpenSSL cannot decode). */
GW_MUST_CHECK int gw_cert_info_get(X509 *c, struct gw_cert_info *out);
void gw_cert_info_clear(struct gw_cert_info *i);

/* A certificate from exactly len bytes of DER / from the first PEM certificate; NULL if bad. */
X509 *gw_cert_from_der(const uint8_t *der, size_t len);
X509 *gw_cert_from_pem(const char *pem, size_t len);

/* An ASN.1 time as time_t (UTC). 0 on success, GW_EPARSE otherwise. */
GW_MUST_CHECK int gw_cert_time(const ASN1_TIME *a, time_t *out);

#endif
