#ifndef GW_TRUST_H
#define GW_TRUST_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "util/error.h"

/*
 * An immutable, reference-counted snapshot of the trust anchors and intermediate CA certificates
 * found in one directory (docs/internals/path.md). A snapshot never changes once loaded: a reload
 * makes a new one, and workers keep verifying over the snapshot they hold (gw_trust_ref) until
 * they drop it. Every function here is safe to call from several threads on one snapshot.
 */

struct gw_trust;

/* Limits of a trust directory: it is local configuration, but a stray big file is refused. */
#define GW_TRUST_MAX_FILE  (1u << 20) /* bytes per file */
#define GW_TRUST_MAX_CERTS 4096u      /* certificates in the whole directory */

/*
 * Loads every *.pem *.crt *.cer *.der (case-insensitive; other names and subdirectories are
 * ignored) in dir. A file may be PEM (several certificates: a bundle) or DER (one certificate),
 * whatever its extension. A self-signed CA certificate is an anchor, any other CA certificate an
 * intermediate; the same certificate in two files counts once. A file that cannot be read or
 * parsed, that holds no certificate, or that holds a certificate that is not a CA, fails the whole
 * load with a message in err naming the file; a directory without any anchor fails too.
 * Returns 0 and a snapshot holding one reference, or GW_ENOENT / -errno (directory), GW_EIO,
 * GW_EPARSE, GW_ELIMIT, GW_ECONFIG (not a CA, no anchor), GW_ENOMEM.
 */
GW_MUST_CHECK int gw_trust_load(const char *dir, struct gw_trust **out, char *err, size_t errlen);

/* Another reference (returns t); NULL-safe. */
struct gw_trust *gw_trust_ref(struct gw_trust *t);
/* Drops a reference; the last one frees the snapshot. NULL-safe. */
void gw_trust_unref(struct gw_trust *t);

unsigned gw_trust_anchors(const struct gw_trust *t);
unsigned gw_trust_intermediates(const struct gw_trust *t);

/*
 * Hex SHA-256 over the sorted SHA-256 fingerprints of every certificate of the snapshot: equal
 * for two loads of the same set of certificates, different as soon as one was added or removed.
 */
const char *gw_trust_fingerprint(const struct gw_trust *t);

/* When the snapshot was loaded (wall clock). */
time_t gw_trust_loaded_at(const struct gw_trust *t);

/*
 * The certificates themselves, borrowed for as long as the caller holds a reference; never modify
 * them. Anchors first in file-name order, the same for intermediates.
 */
STACK_OF(X509) * gw_trust_anchor_certs(const struct gw_trust *t);
STACK_OF(X509) * gw_trust_intermediate_certs(const struct gw_trust *t);

#endif
