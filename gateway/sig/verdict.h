#ifndef GW_SIG_VERDICT_H
#define GW_SIG_VERDICT_H

#include <stdbool.h>
#include <time.h>

#include "sig/sig.h"

/*
 * One ETSI EN 319 102-1 verdict per signature from the partial results of the other sig/
 * modules, one summary per PDF and one per package (domain.md §6). Pure functions: no I/O, no
 * global state; safe from any thread. The precedence and the time rule are
 * written down in docs/internals/verdicts.md.
 *
 * The input holds plain fields so that this module depends on no other module's header. Codes
 * (format_code, ts_code, path_code, rev_code) are the stable codes of the module that found the
 * problem; they are copied, clipped, into the reasons and may be NULL.
 */

enum gw_vin_path {
    GW_VIN_PATH_OK,          /* a path to a configured anchor was built */
    GW_VIN_PATH_NO_CHAIN,    /* no path (unknown issuer, a certificate's signature fails...) */
    GW_VIN_PATH_CONSTRAINTS, /* key usage, extended key usage or policy not fit for signing */
    GW_VIN_PATH_CRYPTO,      /* an algorithm or key size in the path the policy refuses */
};

enum gw_vin_rev {
    GW_VIN_REV_GOOD,
    GW_VIN_REV_REVOKED,     /* revoked_at is the revocation time; -1 when not known */
    GW_VIN_REV_UNKNOWN,     /* the responder does not know the certificate */
    GW_VIN_REV_UNAVAILABLE, /* no OCSP answer nor usable CRL now */
    GW_VIN_REV_NOT_CHECKED, /* the caller did not check (counts as not proven) */
};

struct gw_verdict_in {
    /* ByteRange of the wrong shape, malformed CMS, a SignedData carrying content, a disallowed
     * change after signing. */
    bool format_ok;
    const char *format_code;
    bool hash_ok; /* digest over the signed bytes matches messageDigest */
    bool sig_ok;  /* signature value verifies with the signer certificate's key */
    /* Signer certificate present, and signingCertificate(V2) matches it when present. */
    bool signer_cert_found;
    bool ts_present, ts_valid; /* RFC 3161 signature timestamp */
    time_t ts_gen_time;
    const char *ts_code;
    time_t claimed_time; /* signingTime or /M; -1 none; reported, never proof */
    time_t now;          /* time of validation */
    enum gw_vin_path path;
    const char *path_code;
    time_t chain_not_before, chain_not_after; /* intersection of the path's validity periods */
    enum gw_vin_rev rev; /* worst status over the path, the signer certificate's included */
    time_t revoked_at;
    const char *rev_code;
    /* With rev REVOKED: the worst status of the path's other certificates (GOOD when all are),
     * which decides once the revocation is placed after the validation time. */
    enum gw_vin_rev rev_rest;
    const char *rev_rest_code;
    bool blocked; /* local block list (seed Art. 15.4); blocked_from -1 = always */
    time_t blocked_from;
    const char *block_reason;
    /* SHA-1 (or another digest past its cut-off) is accepted only with a valid timestamp whose
     * genTime is before weak_cutoff. */
    bool weak_digest;
    time_t weak_cutoff;
};

#define GW_VERDICT_REASON_MAX 320

struct gw_verdict {
    enum gw_sig_indication ind;
    enum gw_sig_sub sub;
    time_t validation_time; /* genTime of a valid timestamp, else in->now */
    bool time_from_ts;
    const char *rule; /* static stable code of the rule that decided, e.g. "revoked" */
    char reason_vi[GW_VERDICT_REASON_MAX], reason_en[GW_VERDICT_REASON_MAX]; /* NFC UTF-8 */
    bool weak_accepted; /* a weak digest accepted thanks to a timestamp: reported as such */
};

/* One signature's verdict. Never fails; out is always filled. */
void gw_verdict_decide(const struct gw_verdict_in *in, struct gw_verdict *out);

struct gw_pdf_summary {
    enum gw_sig_indication ind;
    enum gw_sig_sub sub;
    char reason_vi[GW_VERDICT_REASON_MAX], reason_en[GW_VERDICT_REASON_MAX];
};

/* A PDF's summary from its n signatures' verdicts v[0..n) and their roles (both in signing
 * order; roles may be NULL). n == 0 gives NO_SIGNATURE. An order violation (an organisation
 * signature before a person's, seed Art. 16.5) is order_violation or read off roles. */
void gw_verdict_pdf(const struct gw_verdict *v, const enum gw_sig_role *roles, unsigned n,
                    bool disallowed_change, bool order_violation, struct gw_pdf_summary *out);

/* A signature of the file outside the PDF's signing order (a document timestamp, the envelope's
 * XML-DSig) into its summary out: out takes v (signature idx + 1 of n) when v is worse, or when
 * out is NO_SIGNATURE and counts is set (a signature that makes the file signed: the XML-DSig,
 * not a document timestamp, which alone signs nothing). */
void gw_verdict_fold(struct gw_pdf_summary *out, const struct gw_verdict *v, unsigned idx,
                     unsigned n, bool counts);

/* A package's summary: the worst of its signed PDFs' summaries (TOTAL-FAILED < INDETERMINATE <
 * TOTAL-PASSED); NO_SIGNATURE when none is signed (n == 0 included). */
void gw_verdict_package(const struct gw_pdf_summary *pdfs, unsigned n, struct gw_pdf_summary *out);

#endif
