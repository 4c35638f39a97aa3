#ifndef GW_STORE_BLOCK_H
#define GW_STORE_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

/*
 * The local block list (009_revocation.sql cert_block, seed regulation Art. 15.4): a certificate
 * blocked from a given time before its CA revokes it (a lost key device), matched by the
 * certificate's SHA-256 or by its issuer (SHA-256 of the DER issuer name) and serial.
 */

/* err 0: found tells whether a block matches; then blocked_from (Unix seconds) is the earliest
 * and reason its text (valid during the callback). */
typedef void (*gw_store_block_cb)(int err, bool found, int64_t blocked_from, const char *reason,
                                  void *ud);

/* serial: upper-case hex. */
int gw_store_block_find(struct gw_db *db, const uint8_t cert_sha256[32],
                        const uint8_t issuer_hash[32], const char *serial, gw_store_block_cb cb,
                        void *ud) __attribute__((warn_unused_result));

#endif
