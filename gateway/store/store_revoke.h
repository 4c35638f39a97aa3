#ifndef GW_STORE_REVOKE_H
#define GW_STORE_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db/db.h"

/*
 * The revocation cache (009_revocation.sql): OCSP responses by CertID (SHA-1 hashes of the
 * issuer's name and key, serial in upper-case hex) while their nextUpdate is ahead, CRLs by
 * distribution-point URL while theirs is. Every cached item is checked again on use
 * (sig/ocsp, sig/crl); the cache only saves the fetch.
 */

/* err 0: ocsp/crl are the cached DERs (n 0: none fresh), valid during the callback. */
typedef void (*gw_store_revoke_get_cb)(int err, const uint8_t *ocsp, size_t ocsp_n,
                                       const uint8_t *crl, size_t crl_n, void *ud);

/* crl_url "" : no CRL looked up. */
int gw_store_revoke_get(struct gw_db *db, const uint8_t name_hash[20], const uint8_t key_hash[20],
                        const char *serial, const char *crl_url, time_t now,
                        gw_store_revoke_get_cb cb, void *ud) __attribute__((warn_unused_result));

typedef void (*gw_store_revoke_put_cb)(int err, void *ud);

int gw_store_revoke_put_ocsp(struct gw_db *db, const uint8_t name_hash[20],
                             const uint8_t key_hash[20], const char *serial, const uint8_t *der,
                             size_t n, time_t this_update, time_t next_update,
                             gw_store_revoke_put_cb cb, void *ud)
    __attribute__((warn_unused_result));

int gw_store_revoke_put_crl(struct gw_db *db, const char *url, const char *issuer,
                            const uint8_t *der, size_t n, time_t this_update, time_t next_update,
                            gw_store_revoke_put_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
