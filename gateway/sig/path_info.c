/*
 * Facts about one certificate for the certificate inventory and the reports: fingerprint, names
 * in RFC 2253 with UTF-8 kept, the subject attributes the role rules read (CN, O, OU, UID,
 * serialNumber), validity, key usage and the URLs of its issuer, OCSP responder and CRL; and the
 * small decoding helpers the path checks share.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sig/path_int.h"

int gw_cert_time(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;
    if (!a || !ASN1_TIME_to_tm(a, &tm))
        return GW_EPARSE;
    *out = timegm(&tm);
    return 0;
}

static char *name_dup(const X509_NAME *n)
{
    /* RFC 2253 escaping, but bytes above 0x7f stay UTF-8 instead of \XX escapes. */
    unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL, *p;
    if (!b)
        return NULL;
    if (X509_NAME_print_ex(b, n, 0, flags) >= 0) {
        long len = BIO_get_mem_data(b, &p);
        if (len >= 0 && (s = malloc((size_t)len + 1)) != NULL) {
            memcpy(s, p, (size_t)len);
            s[len] = '\0';
        }
    }
    BIO_free(b);
    return s;
}

void gw_path_name(const X509_NAME *n, char *buf, size_t len)
{
    char *s = name_dup(n);
    snprintf(buf, len, "%s", s ? s : "?");
    free(s);
}

/* First value of the attribute nid as UTF-8, malloc'd; NULL when absent or undecodable. */
static char *attr_dup(const X509_NAME *n, int nid)
{
    int i = X509_NAME_get_index_by_NID(n, nid, -1);
    if (i < 0)
        return NULL;
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    if (len < 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (s) {
        memcpy(s, u, (size_t)len);
        s[len] = '\0';
    }
    OPENSSL_free(u);
    return s;
}

static bool is_http(const char *u)
{
    return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

/* From a list of general names: the first http(s) URI, else (unless http_only) the first URI. */
static char *pick_uri(const GENERAL_NAMES *gns, bool http_only, char **fallback)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(gns); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);
        if (g->type != GEN_URI)
            continue;
        const char *u = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
        if (len <= 0 || memchr(u, '\0', (size_t)len))
            continue;
        if (is_http(u))
            return strndup(u, (size_t)len);
        if (!http_only && !*fallback)
            *fallback = strndup(u, (size_t)len);
    }
    return NULL;
}

char *gw_path_aia_uri(X509 *x, int method, bool http_only)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    char *found = NULL, *fallback = NULL;
    GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();
    for (int i = 0; one && !found && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) != method)
            continue;
        sk_GENERAL_NAME_zero(one);
        if (sk_GENERAL_NAME_push(one, ad->location))
            found = pick_uri(one, http_only, &fallback);
    }
    sk_GENERAL_NAME_free(one);
    AUTHORITY_INFO_ACCESS_free(aia);
    if (found) {
        free(fallback);
        return found;
    }
    return fallback;
}

static char *crl_uri(X509 *x)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    char *found = NULL, *fallback = NULL;
    for (int i = 0; !found && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint && dp->distpoint->type == 0)
            found = pick_uri(dp->distpoint->name.fullname, false, &fallback);
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    if (found) {
        free(fallback);
        return found;
    }
    return fallback;
}

static void key_usage_str(X509 *x, char *buf, size_t len)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } ku[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
              {KU_NON_REPUDIATION, "nonRepudiation"},
              {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
              {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
              {KU_KEY_AGREEMENT, "keyAgreement"},
              {KU_KEY_CERT_SIGN, "keyCertSign"},
              {KU_CRL_SIGN, "cRLSign"},
              {KU_ENCIPHER_ONLY, "encipherOnly"},
              {KU_DECIPHER_ONLY, "decipherOnly"}};
    size_t used = 0;
    buf[0] = '\0';
    if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE))
        return;
    uint32_t bits = X509_get_key_usage(x);
    for (size_t i = 0; i < sizeof ku / sizeof ku[0]; i++) {
        if (!(bits & ku[i].bit))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", ku[i].name);
        if (n < 0 || used + (size_t)n >= len)
            break;
        used += (size_t)n;
    }
}

static void serial_str(X509 *x, char out[80])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, 80, "%s", hex ? hex : "");
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    OPENSSL_free(hex);
    BN_free(bn);
}

int gw_cert_info_get(X509 *c, struct gw_cert_info *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    memset(out, 0, sizeof *out);
    if (!c)
        return GW_EINVAL;
    X509_check_purpose(c, -1, 0);
    if (!X509_digest(c, EVP_sha256(), md, &mdlen) || mdlen != 32)
        return GW_ENOMEM;
    for (unsigned i = 0; i < 32; i++) {
        out->sha256[2 * i] = hex[md[i] >> 4];
        out->sha256[2 * i + 1] = hex[md[i] & 15];
    }
    if (gw_cert_time(X509_get0_notBefore(c), &out->not_before) != 0 ||
        gw_cert_time(X509_get0_notAfter(c), &out->not_after) != 0)
        return GW_EPARSE;
    const X509_NAME *s = X509_get_subject_name(c);
    out->subject = name_dup(s);
    out->issuer = name_dup(X509_get_issuer_name(c));
    if (!out->subject || !out->issuer) {
        gw_cert_info_clear(out);
        return GW_ENOMEM;
    }
    serial_str(c, out->serial);
    out->cn = attr_dup(s, NID_commonName);
    out->o = attr_dup(s, NID_organizationName);
    out->ou = attr_dup(s, NID_organizationalUnitName);
    out->uid = attr_dup(s, NID_userId);
    out->serial_number_attr = attr_dup(s, NID_serialNumber);
    key_usage_str(c, out->key_usage, sizeof out->key_usage);
    out->aia_ca_issuers = gw_path_aia_uri(c, NID_ad_ca_issuers, false);
    out->aia_ocsp = gw_path_aia_uri(c, NID_ad_OCSP, false);
    out->crl_dp = crl_uri(c);
    out->self_signed = X509_self_signed(c, 1) == 1;
    out->is_ca = (X509_get_extension_flags(c) & EXFLAG_CA) != 0;
    ERR_clear_error();
    return 0;
}

void gw_cert_info_clear(struct gw_cert_info *i)
{
    if (!i)
        return;
    char **ptrs[] = {
        &i->subject,        &i->issuer,   &i->cn,    &i->o, &i->ou, &i->uid, &i->serial_number_attr,
        &i->aia_ca_issuers, &i->aia_ocsp, &i->crl_dp};
    for (size_t k = 0; k < sizeof ptrs / sizeof ptrs[0]; k++) {
        free(*ptrs[k]);
        *ptrs[k] = NULL;
    }
}

X509 *gw_cert_from_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    if (!der || len == 0 || len > 1u << 24)
        return NULL;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    ERR_clear_error();
    return x;
}

X509 *gw_cert_from_pem(const char *pem, size_t len)
{
    if (!pem || len == 0 || len > 1u << 24)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}
