/*
 * CRL check for one certificate without I/O: the CRL must name and be signed by the
 * certificate's issuer (no indirect CRLs, no delta CRLs, no partitioned reasons), be fresh
 * (thisUpdate not in the future beyond the skew, nextUpdate not passed); the serial's entry, if
 * any, gives the revocation time and reason. Every failure is UNAVAILABLE with a code.
 */
#include "sig/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static X509_CRL *gw_crl_parse(const uint8_t *der, size_t len)
{
    static const char pem[] = "-----BEGIN";
    X509_CRL *crl = NULL;

    if (!der || len == 0 || len > GW_CRL_MAX_DER)
        return NULL;
    if (len >= sizeof(pem) - 1 && memcmp(der, pem, sizeof(pem) - 1) == 0) {
        BIO *b = BIO_new_mem_buf(der, (int)len);
        if (b)
            crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        BIO_free(b);
    } else {
        const unsigned char *p = der;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl && p != der + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    return crl;
}

int gw_crl_info(const uint8_t *der, size_t len, time_t *this_update, time_t *next_update,
                char *issuer, size_t cap)
{
    X509_CRL *crl = gw_crl_parse(der, len);

    if (!crl)
        return GW_EPARSE;
    if (this_update)
        *this_update = gw_rev_asn1_time(X509_CRL_get0_lastUpdate(crl));
    if (next_update)
        *next_update =
            X509_CRL_get0_nextUpdate(crl) ? gw_rev_asn1_time(X509_CRL_get0_nextUpdate(crl)) : 0;
    if (issuer && cap) {
        issuer[0] = '\0';
        X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, (int)(cap > 4096 ? 4096 : cap));
    }
    X509_CRL_free(crl);
    return 0;
}

int gw_crl_url(X509 *cert, char *url, size_t urlsz)
{
    STACK_OF(DIST_POINT) * dps;
    int rc = 0;

    if (!cert || !url || urlsz == 0)
        return GW_EINVAL;
    url[0] = '\0';
    dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    for (int i = 0; dps && i < sk_DIST_POINT_num(dps) && !url[0] && rc == 0; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (!dp->distpoint || dp->distpoint->type != 0)
            continue;
        for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            const char *u;
            size_t n;
            if (g->type != GEN_URI)
                continue;
            u = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
            n = (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier);
            if (n < 8 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
                memchr(u, '\0', n))
                continue;
            if (n >= urlsz) {
                rc = GW_ERANGE;
                break;
            }
            memcpy(url, u, n);
            url[n] = '\0';
            break;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    ERR_clear_error();
    return rc;
}

/* NULL when the CRL's extensions allow a full, direct check of cert; else a code. */
static const char *gw_crl_scope(X509_CRL *crl, X509 *cert)
{
    ISSUING_DIST_POINT *idp;
    const char *code = NULL;
    int crit = -1;

    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (nid == NID_delta_crl)
            return "crl_delta";
        if (X509_EXTENSION_get_critical(e) && nid != NID_crl_number &&
            nid != NID_authority_key_identifier && nid != NID_issuing_distribution_point)
            return "crl_unknown_critical_ext";
    }
    idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
    if (!idp)
        return crit == -2 ? "crl_malformed" : NULL; /* -2: several; -1: none */
    if (idp->indirectCRL)
        code = "crl_indirect";
    else if (idp->onlysomereasons)
        code = "crl_partial";
    else if (idp->onlyattr)
        code = "crl_scope";
    else if (idp->onlyuser && X509_check_ca(cert))
        code = "crl_scope";
    else if (idp->onlyCA && !X509_check_ca(cert))
        code = "crl_scope";
    ISSUING_DIST_POINT_free(idp);
    return code;
}

static void gw_crl_judge(X509_CRL *crl, X509 *cert, X509 *issuer, time_t now,
                         struct gw_rev_status *out)
{
    X509_REVOKED *rev = NULL;
    EVP_PKEY *ik = X509_get0_pubkey(issuer);
    const char *code;
    int found;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return gw_rev_unavailable(out, "crl", "crl_wrong_issuer", "the CRL names another issuer");
    if (X509_check_issued(issuer, cert) != X509_V_OK || !ik || X509_verify(cert, ik) != 1)
        return gw_rev_unavailable(out, "crl", "crl_cert_issuer_mismatch",
                                  "the certificate is not the issuer's");
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(issuer) & KU_CRL_SIGN))
        return gw_rev_unavailable(out, "crl", "crl_issuer_not_crl_signer",
                                  "the issuer's key usage lacks cRLSign");
    if (!ik || X509_CRL_verify(crl, ik) != 1)
        return gw_rev_unavailable(out, "crl", "crl_bad_signature",
                                  "the CRL's signature does not verify with the issuer's key");
    if ((code = gw_crl_scope(crl, cert)) != NULL)
        return gw_rev_unavailable(out, "crl", code, "the CRL does not cover this certificate");
    out->this_update = gw_rev_asn1_time(X509_CRL_get0_lastUpdate(crl));
    if (!X509_CRL_get0_nextUpdate(crl))
        return gw_rev_unavailable(out, "crl", "crl_no_next_update", "the CRL has no nextUpdate");
    out->next_update = gw_rev_asn1_time(X509_CRL_get0_nextUpdate(crl));
    if (out->this_update == (time_t)-1 || out->next_update == (time_t)-1)
        return gw_rev_unavailable(out, "crl", "crl_malformed", "unreadable thisUpdate/nextUpdate");
    if (out->this_update > now + GW_REV_SKEW_S)
        return gw_rev_unavailable(out, "crl", "crl_not_yet_valid", "thisUpdate in the future");
    if (out->next_update < now)
        return gw_rev_unavailable(out, "crl", "crl_stale", "nextUpdate has passed");
    found = X509_CRL_get0_by_cert(crl, &rev, cert);
    out->source = "crl";
    out->finding = NULL;
    out->reason = -1;
    out->revoked_at = 0;
    if (found == 1 && rev) {
        ASN1_ENUMERATED *r;
        int crit = -1;
        for (int i = 0; i < X509_REVOKED_get_ext_count(rev); i++) {
            X509_EXTENSION *e = X509_REVOKED_get_ext(rev, i);
            int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
            if (nid == NID_certificate_issuer)
                return gw_rev_unavailable(out, "crl", "crl_indirect", "an indirect CRL entry");
            if (X509_EXTENSION_get_critical(e) && nid != NID_crl_reason &&
                nid != NID_invalidity_date)
                return gw_rev_unavailable(out, "crl", "crl_unknown_critical_ext",
                                          "a critical entry extension");
        }
        out->state = GW_REV_REVOKED;
        out->code = "revoked";
        out->revoked_at = gw_rev_asn1_time(X509_REVOKED_get0_revocationDate(rev));
        if ((r = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL)) != NULL) {
            long v = ASN1_ENUMERATED_get(r);
            out->reason = v >= 0 && v <= 10 ? (int)v : -1;
            ASN1_ENUMERATED_free(r);
        }
        if (out->revoked_at == (time_t)-1)
            return gw_rev_unavailable(out, "crl", "crl_malformed", "unreadable revocationDate");
    } else {
        /* Not listed, or listed as removeFromCRL (found == 2): not revoked. */
        out->state = GW_REV_GOOD;
        out->code = "good";
    }
    snprintf(out->detail, sizeof(out->detail), "CRL says %s", out->code);
}

int gw_crl_check(const uint8_t *der, size_t len, X509 *cert, X509 *issuer, time_t now,
                 struct gw_rev_status *out)
{
    X509_CRL *crl;

    if (!out)
        return GW_EINVAL;
    memset(out, 0, sizeof(*out));
    out->reason = -1;
    if (!cert || !issuer) {
        gw_rev_unavailable(out, "crl", "crl_internal", "missing argument");
        return GW_EINVAL;
    }
    if (!(crl = gw_crl_parse(der, len))) {
        gw_rev_unavailable(out, "crl", "crl_malformed", "not a DER or PEM CRL");
        return 0;
    }
    gw_crl_judge(crl, cert, issuer, now, out);
    X509_CRL_free(crl);
    ERR_clear_error();
    return 0;
}
