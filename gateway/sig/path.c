/*
 * Path building: OpenSSL finds and verifies the chain from a certificate to an anchor of a trust
 * snapshot at a given time, with every policy decision left to this project (security level 0, no
 * purpose check, time errors passed over so that the whole chain comes back); then path_check.c
 * applies our rules for CA certificates, the leaf's purpose, policies, algorithms and dates.
 */
#include "sig/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sig/path_int.h"

#define GW_PATH_MAX_DEPTH 8 /* certificates between leaf and anchor */

void gw_path_fail(struct gw_path_result *r, enum gw_path_status s, const char *code, int depth,
                  const char *what)
{
    char name[160] = "";
    r->status = s;
    r->code = code;
    r->failed_depth = depth;
    X509 *x = depth >= 0 && r->chain && depth < sk_X509_num(r->chain)
                  ? sk_X509_value(r->chain, depth)
                  : NULL;
    if (x)
        gw_path_name(X509_get_subject_name(x), name, sizeof name);
    if (x)
        snprintf(r->detail, sizeof r->detail, "%s (depth %d: %s)", what, depth, name);
    else
        snprintf(r->detail, sizeof r->detail, "%s", what);
}

/* Time errors are judged per certificate afterwards; anything else stops the verification. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    int e = X509_STORE_CTX_get_error(ctx);
    return e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID;
}

static void map_error(struct gw_path_result *r, int e, int depth)
{
    enum gw_path_status s = GW_PATH_CONSTRAINTS;
    const char *code = "invalid_cert";
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        s = GW_PATH_NO_CHAIN, code = "no_issuer";
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        s = GW_PATH_NO_CHAIN, code = "untrusted_root";
        break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        s = GW_PATH_CRYPTO, code = "bad_cert_signature";
        break;
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
        s = GW_PATH_CRYPTO, code = "weak_algorithm";
        break;
    case X509_V_ERR_INVALID_CA:
        code = "not_a_ca";
        break;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        code = "path_length";
        break;
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_PURPOSE:
        code = "key_usage";
        break;
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
        code = "critical_extension";
        break;
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
        code = "name_constraints";
        break;
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
    case X509_V_ERR_NO_EXPLICIT_POLICY:
        code = "policy";
        break;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
        code = "malformed_cert";
        break;
    default:
        break;
    }
    gw_path_fail(r, s, code, depth, X509_verify_cert_error_string(e));
}

/* The caIssuers URL of the topmost certificate, when it is not self-signed. */
static void note_aia(struct gw_path_result *r)
{
    int n = r->chain ? sk_X509_num(r->chain) : 0;
    if (n == 0)
        return;
    X509 *top = sk_X509_value(r->chain, n - 1);
    if (X509_self_signed(top, 0) == 1)
        return;
    char *u = gw_path_aia_uri(top, NID_ad_ca_issuers, true);
    if (u && strlen(u) < sizeof r->aia_url)
        memcpy(r->aia_url, u, strlen(u) + 1);
    free(u);
}

int gw_path_build(const struct gw_trust *t, X509 *leaf, STACK_OF(X509) * untrusted, time_t at,
                  enum gw_path_purpose p, const struct gw_path_opts *o, struct gw_path_result *out)
{
    const struct gw_path_opts dflt = GW_PATH_OPTS_DEFAULT;
    memset(out, 0, sizeof *out);
    out->failed_depth = -1;
    out->code = "";
    if (!o)
        o = &dflt;
    if (!t || !leaf) {
        gw_path_fail(out, GW_PATH_NO_CHAIN, "internal", -1, "no trust snapshot or certificate");
        return GW_EINVAL;
    }
    int rc = GW_ENOMEM;
    STACK_OF(X509) *pool = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!pool || !ctx)
        goto oom;
    /* Shallow copies: the caller's certificates and the snapshot's outlive this call. */
    for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++)
        if (!sk_X509_push(pool, sk_X509_value(untrusted, i)))
            goto oom;
    STACK_OF(X509) *inter = gw_trust_intermediate_certs(t);
    for (int i = 0; i < sk_X509_num(inter); i++)
        if (!sk_X509_push(pool, sk_X509_value(inter, i)))
            goto oom;
    if (!X509_STORE_CTX_init(ctx, NULL, leaf, pool))
        goto oom;
    /* The anchors as a plain stack: no shared X509_STORE, nothing mutable between threads. */
    X509_STORE_CTX_set0_trusted_stack(ctx, gw_trust_anchor_certs(t));
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, at); /* sets X509_V_FLAG_USE_CHECK_TIME */
    X509_VERIFY_PARAM_set_auth_level(vp, 0);
    X509_VERIFY_PARAM_set_depth(vp, GW_PATH_MAX_DEPTH);
    X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_ANY);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);

    ERR_clear_error();
    int ok = X509_verify_cert(ctx);
    out->chain = X509_STORE_CTX_get1_chain(ctx);
    if (ok > 0 && !out->chain)
        goto oom;
    if (ok > 0) {
        /* Our own rules, most fundamental first; dates last, so that EXPIRED and NOT_YET_VALID
         * mean "everything else holds". */
        if (gw_path_check_cas(out) == 0 && gw_path_check_leaf(out, p) == 0 &&
            gw_path_check_policy(out, o) == 0 && gw_path_check_algorithms(out, o) == 0)
            (void)gw_path_check_dates(out, at);
    } else {
        int e = X509_STORE_CTX_get_error(ctx);
        map_error(out, e == X509_V_OK ? X509_V_ERR_UNSPECIFIED : e,
                  X509_STORE_CTX_get_error_depth(ctx));
        if (out->status == GW_PATH_NO_CHAIN)
            note_aia(out);
    }
    gw_path_bounds(out);
    rc = 0;
    goto done;
oom:
    gw_path_fail(out, GW_PATH_NO_CHAIN, "internal", -1, "out of memory");
done:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_free(pool);
    return rc;
}

void gw_path_result_clear(struct gw_path_result *r)
{
    if (!r)
        return;
    sk_X509_pop_free(r->chain, X509_free);
    r->chain = NULL;
}

const char *gw_path_status_name(enum gw_path_status s)
{
    switch (s) {
    case GW_PATH_OK:
        return "ok";
    case GW_PATH_NO_CHAIN:
        return "no_chain";
    case GW_PATH_EXPIRED:
        return "expired";
    case GW_PATH_NOT_YET_VALID:
        return "not_yet_valid";
    case GW_PATH_CONSTRAINTS:
        return "constraints";
    case GW_PATH_CRYPTO:
        return "crypto";
    }
    return "no_chain";
}

const char *gw_path_findings_str(unsigned findings, char *buf, size_t len)
{
    static const char *const names[] = {"no_key_usage", "tsa_eku_not_critical", "tsa_eku_extra",
                                        "sha1_cert"};
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(findings & (1u << i)))
            continue;
        int n =
            snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? " " : "", names[i]);
        if (n < 0 || used + (size_t)n >= len)
            break;
        used += (size_t)n;
    }
    return buf;
}
