#ifndef GW_SIG_ROLE_H
#define GW_SIG_ROLE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "sig/sig.h"

/*
 * Person or organisation, from a signer certificate's subject (domain.md §6): a personal
 * identifier (UID or serialNumber carrying CMND, CCCD or HC and a number) makes a person
 * ("personal_id"); else a CN equal to O or an OU ("cn_is_o") or beginning with an agency word
 * ("cn_agency_prefix") makes an organisation; anything else is a person ("default"). Text is
 * compared after normalisation: NFC, marks stripped, case folded, đ → d, white space collapsed.
 * Pure and thread-safe; the rule is in docs/internals/verdicts.md.
 */

/* Configurable agency words; n_prefixes == 0 (or opts NULL) means the defaults: Sở, UBND,
 * Ủy ban, Văn phòng, Bộ, Ban, Cục, Chi cục, Trung tâm, Phòng, Tổng cục, Hội đồng. A word matches
 * the start of the CN as whole words, diacritics and case aside. */
struct gw_role_opts {
    const char *const *prefixes;
    size_t n_prefixes;
};

#define GW_ROLE_SUBJECT_MAX 4 /* values kept of each attribute; more are ignored */

/* A subject as plain UTF-8 strings (unused slots NULL). */
struct gw_role_subject {
    const char *cn;
    const char *o[GW_ROLE_SUBJECT_MAX];
    const char *ou[GW_ROLE_SUBJECT_MAX];
    const char *ids[GW_ROLE_SUBJECT_MAX]; /* UID and serialNumber values */
};

/* The role and, when rule is not NULL, the static code of the rule that decided. A NULL
 * certificate is GW_ROLE_UNKNOWN with rule "no_certificate". */
enum gw_sig_role gw_role_of(X509 *c, const struct gw_role_opts *o, const char **rule);
enum gw_sig_role gw_role_of_subject(const struct gw_role_subject *s, const struct gw_role_opts *o,
                                    const char **rule);

/* True when an organisation signature precedes a person's (seed Art. 16.5) in
 * roles_in_signing_order[0..n); then *org_idx is the first organisation signature and
 * *person_idx the first person signature after it (either pointer may be NULL). */
bool gw_role_order_violation(const enum gw_sig_role *roles_in_signing_order, unsigned n,
                             unsigned *org_idx, unsigned *person_idx);

/* The comparison form of s (malloc'd): NFC, marks stripped, case folded, đ → d, white space
 * runs as one space, trimmed. NULL on allocation failure; invalid UTF-8 is repaired first. */
char *gw_role_normalise(const char *s);

#endif
