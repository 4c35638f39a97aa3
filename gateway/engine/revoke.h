#ifndef GW_REVOKE_H
#define GW_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "pipeline/verify_pdf.h"

/*
 * The revocation status of one certificate of a signer's path (a gw_vrev question): from CRLs
 * the caller holds, then OCSP at the certificate's AIA responder (POST, nonce checked), then the
 * CRL at its distribution point. Answers are checked by sig/ocsp and sig/crl; the comparison
 * with the time of the signature is the verdict's (sig/verdict.h).
 */

struct gw_revoke_blob {
    uint8_t *p;
    size_t n;
};

struct gw_revoke_opts {
    bool offline; /* only the CRLs below */
    struct gw_revoke_blob *crls;
    size_t n_crls;
    long timeout_ms; /* per fetch */
};

/* The cache's part of one question (the daemon keeps answers in PostgreSQL until their
 * nextUpdate, 009_revocation.sql): what it had, tried first (a cached OCSP response is checked
 * without a nonce), and what was fetched and used, for the caller to store. */
struct gw_revoke_io {
    struct gw_revoke_blob cached_ocsp, cached_crl;   /* borrowed; empty: none */
    struct gw_revoke_blob fetched_ocsp, fetched_crl; /* malloc'd by the call; the caller frees */
    char crl_url[1024];                              /* of fetched_crl */
    time_t this_update, next_update;                 /* of the fetched answer used */
};

/* Blocks: for gatewayctl, or a thread-pool worker. io may be NULL. */
void gw_revoke_blocking(const struct gw_revoke_opts *o, struct gw_vrev *q, time_t now,
                        struct gw_revoke_io *io);

struct gw_httpc;

/* The same for the daemon: the checks on the thread pool, the fetches on the loop through httpc
 * (NULL: gw_revoke_blocking on the pool); done(ud) on the loop once q (and io, may be NULL) is
 * answered. o must outlive the call. 0, or -1 when it could not be queued. */
int gw_revoker_check(uv_loop_t *loop, struct gw_httpc *httpc, const struct gw_revoke_opts *o,
                     struct gw_vrev *q, struct gw_revoke_io *io, time_t now, void (*done)(void *ud),
                     void *ud);

#endif
