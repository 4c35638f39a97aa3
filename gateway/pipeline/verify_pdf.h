#ifndef GW_VERIFY_PDF_H
#define GW_VERIFY_PDF_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig/path.h"
#include "sig/pdf.h"
#include "sig/role.h"
#include "sig/trust.h"
#include "sig/verdict.h"

/*
 * The check of one signed file, in three steps: gw_vdoc_check on a thread-pool worker (the PDF's
 * signatures located, each CMS verified over its ByteRange, the signer's path built at the
 * validation time and the TSA's at the timestamp's genTime, the signer's role), then the
 * revocation questions it leaves (gw_vrev: one per certificate of each path below its anchor)
 * answered on the loop by whoever has the network, then gw_vdoc_finish (the ETSI verdicts of
 * domain.md §6 and the file's summary) and gw_vdoc_report (the rows the store keeps).
 */

struct gw_verify_env {
    const struct gw_trust *trust; /* NULL: no trust store configured (no path ends) */
    const struct gw_path_opts *path_opts;
    const struct gw_role_opts *role_opts;
    struct gw_pdf_limits pdf_limits;
    time_t now;
    time_t sha1_cutoff;
    /* Issuers fetched at the caIssuers URLs (AIA) of certificates that did not chain: more
     * intermediates for every path of the package (borrowed; NULL: none). */
    STACK_OF(X509) * issuers;
};

/* A revocation question and its answer (the answer's fields use verdict.h's GW_VIN_REV_*). */
struct gw_vrev {
    X509 *cert, *issuer; /* borrowed from the signature's chain */
    int state;           /* enum gw_vin_rev; GW_VIN_REV_NOT_CHECKED until answered */
    time_t revoked_at;   /* -1 unknown */
    bool blocked;
    time_t blocked_from;
    char code[48];
    char source[16];
    char block_reason[160];
    const struct gw_vrev *same_as; /* the same certificate asked earlier in the file: not asked
                                      again, its answer copied (gw_vdoc_link_questions) */
};

struct gw_vsig {
    unsigned idx;
    const char *format; /* "pades", "doc_timestamp", "xmldsig" */
    char *subfilter, *field, *m;
    struct gw_verdict_in in;
    struct gw_verdict v;
    enum gw_sig_role role;
    const char *role_rule;
    X509 *signer, *tsa;     /* owned references */
    STACK_OF(X509) * chain; /* signer's (TSA's for a document timestamp), leaf first */
    struct gw_vrev *revs;   /* chain[0..n_revs) against chain[i + 1] */
    unsigned n_revs;
    json_t *details; /* codes and findings of every step */
    json_t *certs;   /* inventory entries: signer and TSA (usage set) */
    char *signer_subject;
    char signer_sha256[65], tsa_sha256[65]; /* hex; "" when absent */
    char aia_url[512]; /* the signer did not chain: the caIssuers URL of the topmost certificate */
};

struct gw_vdoc {
    int attachment; /* attachment.idx; -1 the envelope */
    char *name;
    const char *error; /* the file could not be checked at all: a stable code */
    struct gw_vsig *sigs;
    unsigned n_sigs;
    bool disallowed;  /* a disallowed change after some signature */
    json_t *findings; /* file-level findings */
    struct gw_pdf_summary sum;
};

/* Starts signature idx of a file: format ("pades", "doc_timestamp", "xmldsig"), no time claimed,
 * revocation not checked yet, empty details and inventory. 0 or GW_ENOMEM. */
int gw_vsig_init(struct gw_vsig *s, unsigned idx, const char *format,
                 const struct gw_verify_env *env);

/* Worker: fills d from the PDF bytes. 0 or GW_ENOMEM. */
int gw_vdoc_check(struct gw_vdoc *d, const uint8_t *pdf, size_t len,
                  const struct gw_verify_env *env);

/* A signature's worker part once its CMS (or token) is known: the signature timestamp ts (may
 * be NULL) and its TSA's path at genTime, the signer's path at the validation time (purpose
 * GW_PATH_SIGNING; GW_PATH_TIMESTAMPING for a document timestamp, at ts_gen_time), the
 * revocation questions, the role and the inventory entries. Shared with the envelope check.
 * signer, certs and ts are borrowed. 0 or GW_ENOMEM. */
struct gw_tst_result;
int gw_vsig_paths(struct gw_vsig *s, X509 *signer, STACK_OF(X509) * certs,
                  const struct gw_tst_result *ts, enum gw_path_purpose purpose,
                  const struct gw_verify_env *env);

/* Marks the questions that repeat an earlier one of the file (the same certificate under the
 * same issuer, e.g. the subordinate CA of two signatures): callers ask only those whose same_as
 * is NULL. */
void gw_vdoc_link_questions(struct gw_vdoc *d);

/* Loop: the verdicts (after the revocation answers; repeated questions take their first's
 * answer) and the summary. */
void gw_vdoc_finish(struct gw_vdoc *d);

/* The file's rows: one entry appended to documents, one per signature to signatures, and the
 * certificates to certs. 0 or GW_ENOMEM. */
int gw_vdoc_report(const struct gw_vdoc *d, json_t *documents, json_t *signatures, json_t *certs);

void gw_vdoc_clear(struct gw_vdoc *d);

/* ISO 8601 UTC ("2026-12-02T07:00:00Z") or NULL for t < 0. */
json_t *gw_verify_time_json(time_t t);

#endif
