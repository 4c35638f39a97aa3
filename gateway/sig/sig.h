#ifndef GW_SIG_H
#define GW_SIG_H

/*
 * Vocabulary shared by the signature modules: the ETSI EN 319 102-1 indications and
 * sub-indications used by this project (domain.md §6), and the role of a signer. Every module of
 * sig/ reports in these terms; sig/verdict turns the partial results into one verdict per
 * signature, one summary per PDF and one per package.
 */

enum gw_sig_indication {
    GW_SIG_TOTAL_PASSED = 0,
    GW_SIG_INDETERMINATE = 1,
    GW_SIG_TOTAL_FAILED = 2,
    GW_SIG_NO_SIGNATURE = 3, /* a summary only: a PDF or package without any signature */
};

enum gw_sig_sub {
    GW_SUB_NONE = 0,
    /* TOTAL-FAILED */
    GW_SUB_HASH_FAILURE,
    GW_SUB_SIG_CRYPTO_FAILURE,
    GW_SUB_REVOKED,
    GW_SUB_FORMAT_FAILURE,
    /* INDETERMINATE */
    GW_SUB_NO_CERTIFICATE_CHAIN_FOUND,
    GW_SUB_OUT_OF_BOUNDS_NO_POE,
    GW_SUB_NOT_YET_VALID,
    GW_SUB_REVOKED_NO_POE,
    GW_SUB_TRY_LATER,
    GW_SUB_NO_SIGNING_CERTIFICATE_FOUND,
    GW_SUB_CHAIN_CONSTRAINTS_FAILURE,
    GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    GW_SUB_SIG_CONSTRAINTS_FAILURE,
};

enum gw_sig_role {
    GW_ROLE_UNKNOWN = 0,
    GW_ROLE_PERSON,
    GW_ROLE_ORGANISATION,
};

/* "TOTAL-PASSED", "INDETERMINATE", "TOTAL-FAILED", "NO_SIGNATURE". */
const char *gw_sig_indication_name(enum gw_sig_indication i);
/* "HASH_FAILURE"... ; "" for GW_SUB_NONE. */
const char *gw_sig_sub_name(enum gw_sig_sub s);
/* "person", "organisation", "unknown". */
const char *gw_sig_role_name(enum gw_sig_role r);

#endif
