/* Names of the ETSI indications, sub-indications and signer roles of sig.h, as stored and sent. */
#include "sig/sig.h"

const char *gw_sig_indication_name(enum gw_sig_indication i)
{
    switch (i) {
    case GW_SIG_TOTAL_PASSED:
        return "TOTAL-PASSED";
    case GW_SIG_INDETERMINATE:
        return "INDETERMINATE";
    case GW_SIG_TOTAL_FAILED:
        return "TOTAL-FAILED";
    case GW_SIG_NO_SIGNATURE:
        return "NO_SIGNATURE";
    }
    return "INDETERMINATE";
}

const char *gw_sig_sub_name(enum gw_sig_sub s)
{
    static const char *const names[] = {
        [GW_SUB_NONE] = "",
        [GW_SUB_HASH_FAILURE] = "HASH_FAILURE",
        [GW_SUB_SIG_CRYPTO_FAILURE] = "SIG_CRYPTO_FAILURE",
        [GW_SUB_REVOKED] = "REVOKED",
        [GW_SUB_FORMAT_FAILURE] = "FORMAT_FAILURE",
        [GW_SUB_NO_CERTIFICATE_CHAIN_FOUND] = "NO_CERTIFICATE_CHAIN_FOUND",
        [GW_SUB_OUT_OF_BOUNDS_NO_POE] = "OUT_OF_BOUNDS_NO_POE",
        [GW_SUB_NOT_YET_VALID] = "NOT_YET_VALID",
        [GW_SUB_REVOKED_NO_POE] = "REVOKED_NO_POE",
        [GW_SUB_TRY_LATER] = "TRY_LATER",
        [GW_SUB_NO_SIGNING_CERTIFICATE_FOUND] = "NO_SIGNING_CERTIFICATE_FOUND",
        [GW_SUB_CHAIN_CONSTRAINTS_FAILURE] = "CHAIN_CONSTRAINTS_FAILURE",
        [GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE] = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
        [GW_SUB_SIG_CONSTRAINTS_FAILURE] = "SIG_CONSTRAINTS_FAILURE",
    };
    if ((unsigned)s >= sizeof names / sizeof names[0])
        return "";
    return names[s];
}

const char *gw_sig_role_name(enum gw_sig_role r)
{
    switch (r) {
    case GW_ROLE_PERSON:
        return "person";
    case GW_ROLE_ORGANISATION:
        return "organisation";
    case GW_ROLE_UNKNOWN:
        break;
    }
    return "unknown";
}
