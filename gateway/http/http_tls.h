#ifndef GW_HTTP_TLS_H
#define GW_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/sections.h"
#include "util/error.h"

/*
 * Server-side TLS over memory buffers, without sockets: the connection hands in the ciphertext it
 * read (gw_http_tls_feed), takes plaintext out (gw_http_tls_read, which also drives the
 * handshake), encrypts what it wants to send (gw_http_tls_write) and sends whatever ciphertext
 * is pending (gw_http_tls_take_output). Nothing here blocks or touches a socket, so the HTTP
 * connection decides when to read and write and how much is buffered.
 *
 * A context (gw_http_tls_ctx) holds the certificate chain, key and client CA bundle of one load:
 * TLS 1.2 minimum, no compression, no renegotiation, no session resumption. Connections keep the
 * context they were made with (OpenSSL's reference count) after it is replaced and freed.
 */

struct gw_http_tls_ctx;
struct gw_http_tls;

/* Loads the files named by cfg (safe on a pool thread: no loop, no globals). On error returns
 * GW_ECONFIG with a message naming the setting and file in err, never file contents. */
int gw_http_tls_ctx_new(const struct gw_tls_listener *cfg, struct gw_http_tls_ctx **out, char *err,
                        size_t errlen) GW_MUST_CHECK;
void gw_http_tls_ctx_free(struct gw_http_tls_ctx *ctx);

/* SHA-256 of the server certificate's DER as 64 lowercase hex characters. */
const char *gw_http_tls_ctx_fingerprint(const struct gw_http_tls_ctx *ctx);

/* A server-side session for one connection; GW_ENOMEM. */
int gw_http_tls_new(struct gw_http_tls_ctx *ctx, struct gw_http_tls **out) GW_MUST_CHECK;
void gw_http_tls_free(struct gw_http_tls *t);

/* Ciphertext read from the peer. The caller bounds it: see gw_http_tls_pending_in. */
int gw_http_tls_feed(struct gw_http_tls *t, const void *data, size_t len) GW_MUST_CHECK;

/* Ciphertext fed but not yet decrypted. */
size_t gw_http_tls_pending_in(const struct gw_http_tls *t);

/* Outcome of gw_http_tls_read besides 0 (bytes, possibly none) and GW_EIO (failed: see
 * gw_http_tls_reason). */
#define GW_HTTP_TLS_CLOSED 1 /* the peer sent close_notify; nothing more follows */

/* Runs the handshake while it is not complete, then decrypts up to cap bytes into buf (*got).
 * Returns 0, GW_HTTP_TLS_CLOSED (only once the plaintext before the close_notify has been
 * returned) or GW_EIO. Output may be pending afterwards (handshake messages, alerts). */
int gw_http_tls_read(struct gw_http_tls *t, char *buf, size_t cap, size_t *got) GW_MUST_CHECK;

/* Encrypts len bytes; the records are then pending output. GW_EIO once the session failed. */
int gw_http_tls_write(struct gw_http_tls *t, const void *data, size_t len) GW_MUST_CHECK;

/* Queues close_notify (once; nothing after it is sent). */
void gw_http_tls_shutdown(struct gw_http_tls *t);

/* Ciphertext waiting to be sent. */
size_t gw_http_tls_pending_out(const struct gw_http_tls *t);

/* Moves all pending ciphertext into a malloc'd buffer (*out NULL and *len 0 when there is none);
 * GW_ENOMEM. */
int gw_http_tls_take_output(struct gw_http_tls *t, char **out, size_t *len) GW_MUST_CHECK;

bool gw_http_tls_established(const struct gw_http_tls *t);

/* SHA-256 of the peer's certificate DER once the handshake is complete and OpenSSL verified it
 * against the client CA bundle; NULL otherwise. Valid while t lives. */
const uint8_t *gw_http_tls_peer_sha256(const struct gw_http_tls *t);

/* Why the session failed, a stable label for metrics: "not_tls", "protocol_version",
 * "no_client_cert", "bad_client_cert", "no_shared_cipher", "protocol"; NULL while it has not. */
const char *gw_http_tls_reason(const struct gw_http_tls *t);

/* OpenSSL's text for the failure (no peer data), for a debug line; "" when none. */
const char *gw_http_tls_detail(const struct gw_http_tls *t);

#endif
