#ifndef GW_SIG_CRL_H
#define GW_SIG_CRL_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig/ocsp.h"

/*
 * CRL check (RFC 5280 §5, §6.3) for one certificate, with no I/O: a full CRL issued and signed
 * by the certificate's issuer itself (indirect and delta CRLs are refused), fresh at the given
 * time. Pure and thread-safe. docs/internals/revocation.md lists the codes.
 */

/* Largest CRL this module parses. */
#define GW_CRL_MAX_DER (64u << 20)

/* der: a DER or PEM CRL. Fills out in every case and returns 0 (GW_EINVAL for NULL arguments):
 * GOOD (not listed), REVOKED (revocationDate, reason), or UNAVAILABLE with a code
 * ("crl_stale" when nextUpdate has passed). */
int gw_crl_check(const uint8_t *der, size_t len, X509 *cert, X509 *issuer, time_t now,
                 struct gw_rev_status *out) __attribute__((warn_unused_result));

/* The CRL's thisUpdate/nextUpdate and issuer (one-line text, truncated to cap) after a
 * successful parse, without checking anything else; GW_EPARSE when it does not parse. For the
 * cache row. */
int gw_crl_info(const uint8_t *der, size_t len, time_t *this_update, time_t *next_update,
                char *issuer, size_t cap) __attribute__((warn_unused_result));

/* The first http:// CRL distribution point URL of cert ("" when none; GW_ERANGE when it does
 * not fit). */
int gw_crl_url(X509 *cert, char *url, size_t urlsz) __attribute__((warn_unused_result));

#endif
