#ifndef GW_SIG_OCSP_H
#define GW_SIG_OCSP_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * OCSP (RFC 6960) without I/O: build a request for one certificate, check a response against
 * that certificate, its issuer and the time. Pure and thread-safe (the engine runs it on pool
 * workers). docs/internals/revocation.md gives every rule and code.
 *
 * The same status struct is filled by sig/crl and by the engine's block list.
 */

enum gw_rev_state {
    GW_REV_GOOD,
    GW_REV_REVOKED,
    GW_REV_UNKNOWN,     /* the responder does not know the certificate */
    GW_REV_UNAVAILABLE, /* no usable answer: the caller's TRY_LATER */
};

struct gw_rev_status {
    enum gw_rev_state state;
    time_t revoked_at; /* REVOKED: revocationTime (block list: blocked_from) */
    int reason;        /* CRLReason 0..10, -1 when none was given */
    time_t this_update, next_update, produced_at; /* 0 when absent */
    const char *source;                           /* "ocsp", "crl", "block" */
    const char *code;    /* stable: "good", "revoked", "unknown" or why UNAVAILABLE */
    const char *finding; /* NULL, or a remark on a usable answer ("ocsp_no_nonce") */
    char detail[256];    /* human text */
};

#define GW_OCSP_NONCE_LEN 16
/* Clock skew allowed on thisUpdate/producedAt in the future. */
#define GW_REV_SKEW_S 300
/* A response without nextUpdate is taken as valid this long after thisUpdate. */
#define GW_OCSP_NO_NEXT_S 3600
/* A response that lacks the nonce of its request is accepted only when thisUpdate is at most
 * this old (responders that pre-produce answers, RFC 5019). */
#define GW_OCSP_NONCELESS_MAX_AGE_S 3600
/* Largest request or response this module handles. */
#define GW_OCSP_MAX_DER (1u << 20)

/* "good", "revoked", "unknown", "unavailable". */
const char *gw_rev_state_name(enum gw_rev_state s);

/* The SHA-1 CertID of (cert, issuer): the OCSP cache key. serial is upper-case hex. */
struct gw_ocsp_certid {
    uint8_t name_hash[20];
    uint8_t key_hash[20];
    char serial[2 * 64 + 1];
};
int gw_ocsp_certid(X509 *cert, X509 *issuer, struct gw_ocsp_certid *out)
    __attribute__((warn_unused_result));

/* A DER OCSPRequest for cert with a fresh random nonce (out) and its SHA-1 CertID; *der is
 * malloc'd. url receives the first http(s) OCSP URL of the cert's AIA ("" when none; GW_ERANGE
 * when it does not fit urlsz). */
int gw_ocsp_request_new(X509 *cert, X509 *issuer, uint8_t nonce[GW_OCSP_NONCE_LEN], uint8_t **der,
                        size_t *len, char *url, size_t urlsz) __attribute__((warn_unused_result));

/* Checks a DER OCSPResponse. nonce: the one sent, or NULL for a cached response (no nonce check).
 * Fills out in every case (UNAVAILABLE with a code for anything unusable) and returns 0; GW_EINVAL
 * only for NULL arguments. */
int gw_ocsp_response_check(const uint8_t *der, size_t len, X509 *cert, X509 *issuer,
                           const uint8_t nonce[GW_OCSP_NONCE_LEN], time_t now,
                           struct gw_rev_status *out) __attribute__((warn_unused_result));

/* Helpers shared with sig/crl. */
/* An ASN1_TIME as seconds since the epoch; -1 when it cannot be read. */
time_t gw_rev_asn1_time(const ASN1_TIME *t);
/* Sets out to UNAVAILABLE with code and a printf detail. */
void gw_rev_unavailable(struct gw_rev_status *out, const char *source, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
