/*
 * The project's own rules over a chain OpenSSL has verified (docs/internals/path.md): CA
 * certificates carry basicConstraints CA:TRUE and keyCertSign, the leaf's key usage and extended
 * key usage fit its purpose, the leaf carries a configured policy, no weak signature algorithm or
 * key below the anchor, and every certificate is within its validity at the validation time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "sig/path_int.h"

int gw_path_check_cas(struct gw_path_result *r)
{
    int n = sk_X509_num(r->chain);
    for (int i = 1; i < n; i++) {
        X509 *x = sk_X509_value(r->chain, i);
        uint32_t f = X509_get_extension_flags(x);
        bool v1_root = i == n - 1 && X509_check_ca(x) == 3;
        if (!((f & EXFLAG_BCONS) && (f & EXFLAG_CA)) && !v1_root) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "not_a_ca", i,
                         "issuer without basicConstraints CA:TRUE");
            return -1;
        }
        if ((f & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN)) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "key_usage", i, "issuer without keyCertSign");
            return -1;
        }
    }
    return 0;
}

/* Purposes that clearly name another use than signing documents. */
static bool eku_not_for_documents(int nid)
{
    return nid == NID_server_auth || nid == NID_OCSP_sign || nid == NID_time_stamp ||
           nid == NID_ns_sgc || nid == NID_ms_sgc;
}

/* Checks of the leaf's extendedKeyUsage; eku NULL when the extension is absent. */
static int check_eku(struct gw_path_result *r, enum gw_path_purpose p, EXTENDED_KEY_USAGE *eku,
                     int crit)
{
    int n = eku ? sk_ASN1_OBJECT_num(eku) : 0;
    bool any_doc = false, tsa = false, ocsp = false;
    for (int i = 0; i < n; i++) {
        int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
        any_doc |= !eku_not_for_documents(nid);
        tsa |= nid == NID_time_stamp;
        ocsp |= nid == NID_OCSP_sign;
    }
    switch (p) {
    case GW_PATH_SIGNING:
        if (eku && !any_doc) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "eku_signing", 0,
                         "extendedKeyUsage excludes document signing");
            return -1;
        }
        return 0;
    case GW_PATH_TIMESTAMPING:
        if (!tsa) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "eku_timestamping", 0,
                         "timestamping certificate without extendedKeyUsage timeStamping");
            return -1;
        }
        if (!crit)
            r->findings |= GW_PATH_FIND_TSA_EKU_NONCRIT;
        if (n > 1)
            r->findings |= GW_PATH_FIND_TSA_EKU_EXTRA;
        return 0;
    case GW_PATH_OCSP:
        if (!ocsp) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "eku_ocsp", 0,
                         "OCSP responder certificate without extendedKeyUsage OCSPSigning");
            return -1;
        }
        return 0;
    }
    return 0;
}

int gw_path_check_leaf(struct gw_path_result *r, enum gw_path_purpose p)
{
    X509 *leaf = sk_X509_value(r->chain, 0);
    uint32_t f = X509_get_extension_flags(leaf);
    if (!(f & EXFLAG_KUSAGE))
        r->findings |= GW_PATH_FIND_NO_KEY_USAGE;
    else if (!(X509_get_key_usage(leaf) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
        gw_path_fail(r, GW_PATH_CONSTRAINTS, "key_usage", 0,
                     "keyUsage has neither digitalSignature nor nonRepudiation");
        return -1;
    }
    int crit = 0;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
    if (!eku && crit != -1) { /* -1: absent; anything else without a value: unreadable */
        gw_path_fail(r, GW_PATH_CONSTRAINTS, "malformed_cert", 0, "unreadable extendedKeyUsage");
        return -1;
    }
    int rc = check_eku(r, p, eku, crit == 1);
    EXTENDED_KEY_USAGE_free(eku);
    return rc;
}

int gw_path_check_policy(struct gw_path_result *r, const struct gw_path_opts *o)
{
    if (o->n_policy_oids == 0)
        return 0;
    X509 *leaf = sk_X509_value(r->chain, 0);
    CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(leaf, NID_certificate_policies, NULL, NULL);
    bool found = false;
    for (int i = 0; cp && !found && i < sk_POLICYINFO_num(cp); i++) {
        char oid[128];
        const POLICYINFO *pi = sk_POLICYINFO_value(cp, i);
        if (OBJ_obj2txt(oid, sizeof oid, pi->policyid, 1) <= 0)
            continue;
        for (size_t k = 0; !found && k < o->n_policy_oids; k++)
            found = strcmp(oid, o->policy_oids[k]) == 0;
    }
    CERTIFICATEPOLICIES_free(cp);
    if (!found) {
        gw_path_fail(r, GW_PATH_CONSTRAINTS, "policy", 0,
                     "certificate carries none of the configured policies");
        return -1;
    }
    return 0;
}

/* Smallest accepted RSA / DSA key, any certificate of the chain. */
#define GW_PATH_MIN_RSA_BITS 1024

int gw_path_check_algorithms(struct gw_path_result *r, const struct gw_path_opts *o)
{
    int n = sk_X509_num(r->chain);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(r->chain, i);
        EVP_PKEY *k = X509_get0_pubkey(x);
        if (k && (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "DSA")) &&
            EVP_PKEY_get_bits(k) < GW_PATH_MIN_RSA_BITS) {
            gw_path_fail(r, GW_PATH_CRYPTO, "weak_algorithm", i, "key shorter than 1024 bits");
            return -1;
        }
        if (i == n - 1)
            break; /* the anchor's self-signature proves nothing; it is trusted as configured */
        int md = NID_undef;
        if (!X509_get_signature_info(x, &md, NULL, NULL, NULL))
            md = NID_undef;
        if (md == NID_md5 || md == NID_md4 || md == NID_md2) {
            gw_path_fail(r, GW_PATH_CRYPTO, "weak_algorithm", i, "certificate signed with MD5");
            return -1;
        }
        if (md == NID_sha1) {
            r->findings |= GW_PATH_FIND_SHA1_CERT;
            if (!o->allow_sha1_certs) {
                gw_path_fail(r, GW_PATH_CRYPTO, "weak_algorithm", i,
                             "certificate signed with SHA-1");
                return -1;
            }
        }
    }
    return 0;
}

int gw_path_check_dates(struct gw_path_result *r, time_t at)
{
    int n = sk_X509_num(r->chain);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(r->chain, i);
        time_t nb, na;
        if (gw_cert_time(X509_get0_notBefore(x), &nb) != 0 ||
            gw_cert_time(X509_get0_notAfter(x), &na) != 0) {
            gw_path_fail(r, GW_PATH_CONSTRAINTS, "malformed_cert", i, "unreadable validity");
            return -1;
        }
        if (at < nb || at > na) {
            char what[96], when[24];
            struct tm tm;
            time_t edge = at < nb ? nb : na;
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&edge, &tm));
            if (at < nb)
                snprintf(what, sizeof what, "certificate valid only from %s", when);
            else
                snprintf(what, sizeof what, "certificate expired at %s", when);
            gw_path_fail(r, at < nb ? GW_PATH_NOT_YET_VALID : GW_PATH_EXPIRED,
                         at < nb ? "cert_not_yet_valid" : "cert_expired", i, what);
            return -1;
        }
    }
    return 0;
}

void gw_path_bounds(struct gw_path_result *r)
{
    int n = r->chain ? sk_X509_num(r->chain) : 0;
    bool first = true;
    r->not_before = r->not_after = 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(r->chain, i);
        time_t nb, na;
        if (gw_cert_time(X509_get0_notBefore(x), &nb) != 0 ||
            gw_cert_time(X509_get0_notAfter(x), &na) != 0)
            continue;
        if (first || nb > r->not_before)
            r->not_before = nb;
        if (first || na < r->not_after)
            r->not_after = na;
        first = false;
    }
}
