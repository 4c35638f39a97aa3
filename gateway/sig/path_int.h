#ifndef GW_PATH_INT_H
#define GW_PATH_INT_H

#include <openssl/x509.h>

#include "sig/path.h"

/* Internal to sig/path*.c: how the pieces of a path check hand results to each other. */

/* Sets status, code, failed depth and a detail naming the certificate at depth (if any). */
void gw_path_fail(struct gw_path_result *r, enum gw_path_status s, const char *code, int depth,
                  const char *what);

/* The project's own checks over a chain that OpenSSL accepted (apart from times). 0 or failed. */
int gw_path_check_cas(struct gw_path_result *r);
int gw_path_check_leaf(struct gw_path_result *r, enum gw_path_purpose p);
int gw_path_check_policy(struct gw_path_result *r, const struct gw_path_opts *o);
int gw_path_check_algorithms(struct gw_path_result *r, const struct gw_path_opts *o);
/* The first certificate (from the leaf) out of its validity at `at`: EXPIRED / NOT_YET_VALID. */
int gw_path_check_dates(struct gw_path_result *r, time_t at);
/* Latest notBefore and earliest notAfter of the chain into r (0 when there is no chain). */
void gw_path_bounds(struct gw_path_result *r);

/* The subject in RFC 2253 with UTF-8 kept as is, into buf (always terminated). */
void gw_path_name(const X509_NAME *n, char *buf, size_t len);

/* First URI of the given access method in the AIA extension (NID_ad_ca_issuers, NID_ad_OCSP);
 * http_only keeps only http:// and https://. Malloc'd, NULL when none. */
char *gw_path_aia_uri(X509 *x, int method, bool http_only);

#endif
