/*
 * OCSP request and response check (RFC 6960) for one certificate, with no I/O and no global
 * trust store: a response counts only when the issuer signed it, or a responder certificate the
 * issuer signed with the OCSPSigning extended key usage, valid at the given time. Every failure
 * is a GW_REV_UNAVAILABLE status with a stable code (docs/internals/revocation.md).
 */
#include "sig/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

const char *gw_rev_state_name(enum gw_rev_state s)
{
    switch (s) {
    case GW_REV_GOOD:
        return "good";
    case GW_REV_REVOKED:
        return "revoked";
    case GW_REV_UNKNOWN:
        return "unknown";
    case GW_REV_UNAVAILABLE:
        break;
    }
    return "unavailable";
}

time_t gw_rev_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return (time_t)-1;
    return timegm(&tm);
}

void gw_rev_unavailable(struct gw_rev_status *out, const char *source, const char *code,
                        const char *fmt, ...)
{
    va_list ap;

    out->state = GW_REV_UNAVAILABLE;
    out->source = source;
    out->code = code;
    out->finding = NULL;
    out->revoked_at = 0;
    out->reason = -1;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

static void gw_ocsp_hex(const unsigned char *p, size_t n, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        out[o++] = hx[p[i] >> 4];
        out[o++] = hx[p[i] & 15];
    }
    out[o] = '\0';
}

int gw_ocsp_certid(X509 *cert, X509 *issuer, struct gw_ocsp_certid *out)
{
    ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
    ASN1_INTEGER *serial = NULL;
    OCSP_CERTID *id;
    int rc = GW_EPARSE;

    if (!cert || !issuer || !out)
        return GW_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!(id = OCSP_cert_to_id(EVP_sha1(), cert, issuer)))
        return GW_EPARSE;
    if (OCSP_id_get0_info(&nh, NULL, &kh, &serial, id) == 1 && nh && kh && serial &&
        ASN1_STRING_length(nh) == 20 && ASN1_STRING_length(kh) == 20 &&
        ASN1_STRING_length(serial) > 0 && ASN1_STRING_length(serial) <= 64) {
        memcpy(out->name_hash, ASN1_STRING_get0_data(nh), 20);
        memcpy(out->key_hash, ASN1_STRING_get0_data(kh), 20);
        gw_ocsp_hex(ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial), out->serial,
                    sizeof(out->serial));
        rc = 0;
    }
    OCSP_CERTID_free(id);
    return rc;
}

/* The first http:// or https:// OCSP URL of the AIA; "" when none. */
static int gw_ocsp_aia_url(X509 *cert, char *url, size_t urlsz)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    int rc = 0;

    url[0] = '\0';
    for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls); i++) {
        const char *u = sk_OPENSSL_STRING_value(urls, i);
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            continue;
        if (strlen(u) >= urlsz)
            rc = GW_ERANGE;
        else
            memcpy(url, u, strlen(u) + 1);
        break;
    }
    X509_email_free(urls);
    return rc;
}

int gw_ocsp_request_new(X509 *cert, X509 *issuer, uint8_t nonce[GW_OCSP_NONCE_LEN], uint8_t **der,
                        size_t *len, char *url, size_t urlsz)
{
    OCSP_REQUEST *req = NULL;
    OCSP_CERTID *id = NULL;
    unsigned char *buf = NULL;
    int n, rc;

    if (!cert || !issuer || !nonce || !der || !len || !url || urlsz == 0)
        return GW_EINVAL;
    *der = NULL;
    *len = 0;
    if ((rc = gw_ocsp_aia_url(cert, url, urlsz)) != 0)
        return rc;
    if (RAND_bytes(nonce, GW_OCSP_NONCE_LEN) != 1)
        return GW_EIO;
    rc = GW_ENOMEM;
    if (!(req = OCSP_REQUEST_new()))
        goto out;
    if (!(id = OCSP_cert_to_id(EVP_sha1(), cert, issuer))) {
        rc = GW_EPARSE;
        goto out;
    }
    if (!OCSP_request_add0_id(req, id))
        goto out;
    id = NULL; /* owned by req */
    if (!OCSP_request_add1_nonce(req, nonce, GW_OCSP_NONCE_LEN))
        goto out;
    if ((n = i2d_OCSP_REQUEST(req, &buf)) <= 0)
        goto out;
    *der = malloc((size_t)n);
    if (!*der)
        goto out;
    memcpy(*der, buf, (size_t)n);
    *len = (size_t)n;
    rc = 0;
out:
    OPENSSL_free(buf);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    return rc;
}

static const char *gw_ocsp_status_code(int st)
{
    switch (st) {
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
        return "ocsp_malformed_request";
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
        return "ocsp_internal_error";
    case OCSP_RESPONSE_STATUS_TRYLATER:
        return "ocsp_try_later";
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
        return "ocsp_sig_required";
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
        return "ocsp_unauthorized";
    default:
        return "ocsp_bad_status";
    }
}

static bool gw_ocsp_valid_at(X509 *x, time_t now)
{
    time_t nb = gw_rev_asn1_time(X509_get0_notBefore(x));
    time_t na = gw_rev_asn1_time(X509_get0_notAfter(x));
    return nb != (time_t)-1 && na != (time_t)-1 && nb <= now && now <= na;
}

/* The signer is the issuer, or a responder the issuer certified for OCSPSigning, valid now;
 * then the signature verifies with the signer's key. NULL on success, else a code. */
static const char *gw_ocsp_check_signer(OCSP_BASICRESP *bs, X509 *issuer, time_t now)
{
    STACK_OF(X509) *extra = sk_X509_new_null(), *one = NULL;
    X509 *signer = NULL;
    const char *code = NULL;

    if (!extra || !sk_X509_push(extra, issuer)) {
        code = "ocsp_internal";
        goto out;
    }
    if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || !signer) {
        code = "ocsp_signer_not_found";
        goto out;
    }
    if (X509_cmp(signer, issuer) != 0) {
        EVP_PKEY *ik = X509_get0_pubkey(issuer);
        if (X509_check_issued(issuer, signer) != X509_V_OK || !ik || X509_verify(signer, ik) != 1) {
            code = "ocsp_signer_unauthorised";
            goto out;
        }
        if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
            !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)) {
            code = "ocsp_signer_unauthorised";
            goto out;
        }
        if (!gw_ocsp_valid_at(signer, now)) {
            code = "ocsp_signer_expired";
            goto out;
        }
    }
    if (!(one = sk_X509_new_null()) || !sk_X509_push(one, signer)) {
        code = "ocsp_internal";
        goto out;
    }
    if (OCSP_basic_verify(bs, one, NULL, OCSP_NOINTERN | OCSP_NOVERIFY) != 1)
        code = "ocsp_bad_signature";
out:
    sk_X509_free(one);
    sk_X509_free(extra);
    ERR_clear_error();
    return code;
}

/* 1: the response carries this nonce; 0: it carries none; -1: another one. */
static int gw_ocsp_nonce(OCSP_BASICRESP *bs, const uint8_t nonce[GW_OCSP_NONCE_LEN])
{
    int idx = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
    const ASN1_OCTET_STRING *d;
    const unsigned char *p;
    int n;

    if (idx < 0)
        return 0;
    d = X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(bs, idx));
    if (!d)
        return -1;
    p = ASN1_STRING_get0_data(d);
    n = ASN1_STRING_length(d);
    /* The extension value is an OCTET STRING holding the nonce (RFC 6960 4.4.1); some responders
     * put the raw bytes instead. */
    if (n == GW_OCSP_NONCE_LEN + 2 && p[0] == 0x04 && p[1] == GW_OCSP_NONCE_LEN &&
        memcmp(p + 2, nonce, GW_OCSP_NONCE_LEN) == 0)
        return 1;
    if (n == GW_OCSP_NONCE_LEN && memcmp(p, nonce, GW_OCSP_NONCE_LEN) == 0)
        return 1;
    return -1;
}

static bool gw_ocsp_unknown_critical(OCSP_BASICRESP *bs, OCSP_SINGLERESP *single)
{
    for (int i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++) {
        X509_EXTENSION *e = OCSP_BASICRESP_get_ext(bs, i);
        if (X509_EXTENSION_get_critical(e) &&
            OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_id_pkix_OCSP_Nonce)
            return true;
    }
    for (int i = 0; i < OCSP_SINGLERESP_get_ext_count(single); i++) {
        if (X509_EXTENSION_get_critical(OCSP_SINGLERESP_get_ext(single, i)))
            return true;
    }
    return false;
}

/* The SingleResponse for exactly (cert, issuer), whatever hash its CertID uses. */
static OCSP_SINGLERESP *gw_ocsp_find(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer)
{
    for (int i = 0; i < OCSP_resp_count(bs); i++) {
        OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
        const OCSP_CERTID *rid = s ? OCSP_SINGLERESP_get0_id(s) : NULL;
        ASN1_OBJECT *alg = NULL;
        const EVP_MD *md;
        OCSP_CERTID *mine;
        int same;

        if (!rid || OCSP_id_get0_info(NULL, &alg, NULL, NULL, (OCSP_CERTID *)rid) != 1 || !alg)
            continue;
        if (!(md = EVP_get_digestbyobj(alg)))
            continue;
        if (!(mine = OCSP_cert_to_id(md, cert, issuer)))
            continue;
        same = OCSP_id_cmp(mine, rid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return s;
    }
    return NULL;
}

static void gw_ocsp_judge(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer,
                          const uint8_t nonce[GW_OCSP_NONCE_LEN], time_t now,
                          struct gw_rev_status *out)
{
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    OCSP_SINGLERESP *single;
    const char *code;
    int st, reason = -1, nn = 0;

    if ((code = gw_ocsp_check_signer(bs, issuer, now)) != NULL)
        return gw_rev_unavailable(out, "ocsp", code, "the response's signer is not accepted");
    if (!(single = gw_ocsp_find(bs, cert, issuer)))
        return gw_rev_unavailable(out, "ocsp", "ocsp_no_single_response",
                                  "no SingleResponse for this certificate");
    if (gw_ocsp_unknown_critical(bs, single))
        return gw_rev_unavailable(out, "ocsp", "ocsp_unknown_critical_ext",
                                  "a critical extension this checker does not know");
    st = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
    out->produced_at = gw_rev_asn1_time(OCSP_resp_get0_produced_at(bs));
    out->this_update = gw_rev_asn1_time(thisupd);
    out->next_update = nextupd ? gw_rev_asn1_time(nextupd) : 0;
    if (st < 0 || out->this_update == (time_t)-1 || out->produced_at == (time_t)-1 ||
        out->next_update == (time_t)-1)
        return gw_rev_unavailable(out, "ocsp", "ocsp_malformed", "unreadable status or times");
    if (!nextupd)
        out->next_update = out->this_update + GW_OCSP_NO_NEXT_S;
    if (out->this_update > now + GW_REV_SKEW_S || out->produced_at > now + GW_REV_SKEW_S)
        return gw_rev_unavailable(out, "ocsp", "ocsp_not_yet_valid",
                                  "thisUpdate or producedAt in the future");
    if (out->next_update < now)
        return gw_rev_unavailable(out, "ocsp", "ocsp_expired", "nextUpdate has passed");
    if (nonce && (nn = gw_ocsp_nonce(bs, nonce)) < 0)
        return gw_rev_unavailable(out, "ocsp", "ocsp_nonce_mismatch",
                                  "the response answers another request");
    if (nonce && nn == 0 && now - out->this_update > GW_OCSP_NONCELESS_MAX_AGE_S)
        return gw_rev_unavailable(out, "ocsp", "ocsp_no_nonce_stale",
                                  "no nonce and thisUpdate older than %d s",
                                  GW_OCSP_NONCELESS_MAX_AGE_S);
    out->source = "ocsp";
    out->finding = nonce && nn == 0 ? "ocsp_no_nonce" : NULL;
    out->reason = -1;
    out->revoked_at = 0;
    switch (st) {
    case V_OCSP_CERTSTATUS_GOOD:
        out->state = GW_REV_GOOD;
        out->code = "good";
        break;
    case V_OCSP_CERTSTATUS_REVOKED:
        out->state = GW_REV_REVOKED;
        out->code = "revoked";
        out->revoked_at = gw_rev_asn1_time(rev);
        out->reason = reason >= 0 && reason <= 10 ? reason : -1;
        if (out->revoked_at == (time_t)-1)
            return gw_rev_unavailable(out, "ocsp", "ocsp_malformed", "unreadable revocationTime");
        break;
    default:
        out->state = GW_REV_UNKNOWN;
        out->code = "unknown";
        break;
    }
    snprintf(out->detail, sizeof(out->detail), "OCSP says %s", out->code);
}

int gw_ocsp_response_check(const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
                           const uint8_t nonce[GW_OCSP_NONCE_LEN], time_t now,
                           struct gw_rev_status *out)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    int st;

    if (!out)
        return GW_EINVAL;
    memset(out, 0, sizeof(*out));
    out->reason = -1;
    if ((!der && len) || !cert || !issuer) {
        gw_rev_unavailable(out, "ocsp", "ocsp_internal", "missing argument");
        return GW_EINVAL;
    }
    if (len == 0 || len > GW_OCSP_MAX_DER || !(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) ||
        p != der + len) {
        gw_rev_unavailable(out, "ocsp", "ocsp_malformed", "not a DER OCSPResponse");
        goto out;
    }
    if ((st = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        gw_rev_unavailable(out, "ocsp", gw_ocsp_status_code(st), "responseStatus %d", st);
        goto out;
    }
    if (!(bs = OCSP_response_get1_basic(resp))) {
        gw_rev_unavailable(out, "ocsp", "ocsp_malformed", "no BasicOCSPResponse");
        goto out;
    }
    gw_ocsp_judge(bs, cert, issuer, nonce, now, out);
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return 0;
}
