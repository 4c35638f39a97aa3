#ifndef GW_VERIFY_H
#define GW_VERIFY_H

#include <stdbool.h>
#include <uv.h>

#include "config/sections.h"
#include "db/db.h"
#include "store/body_cache.h"
#include "pipeline/verify_pdf.h"
#include "sig/sig.h"
#include "store/store_check.h"

/*
 * The signature check of one stored package (design.md §5 VERIFIED): every PDF attachment read
 * back from the store and checked on the thread pool, one at a time (memory: one PDF per
 * package in flight); the edXML envelope's XML-DSig when the reader saw a real one (a
 * placeholder is recorded as "no usable XML signature" and never fails the package); every
 * revocation question asked on the loop; then the package's summary (domain.md §6: the worst of
 * its signed files; NO_SIGNATURE without any) and its report for the store.
 */

/* Answers q (on the loop) and runs done(done_ud) once q is filled; non-zero when it cannot ask
 * at all (q then stays NOT_CHECKED: TRY_LATER). */
typedef int (*gw_verify_revoke_fn)(void *ud, struct gw_vrev *q, time_t now,
                                   void (*done)(void *done_ud), void *done_ud);

struct gw_verify_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_body_cache *cache; /* the stored chunks kept in memory (NULL: none) */
    const struct gw_config_verify *cfg;
    /* The trust snapshot in force (a new reference, or NULL when none is configured). */
    struct gw_trust *(*trust)(void *ud);
    void *trust_ud;
    gw_verify_revoke_fn revoke; /* NULL: revocation is not checked (TRY_LATER) */
    void *revoke_ud;
    const struct gw_path_opts *path_opts;
    const struct gw_role_opts *role_opts;
    /* Fetches the certificate at a caIssuers URL (on the loop, cached by the daemon); done runs
     * later with a new reference, or NULL when there is none. Non-zero: not asked. NULL: missing
     * issuers are not fetched. */
    int (*issuer)(void *ud, const char *url, void (*done)(void *done_ud, X509 *cert),
                  void *done_ud);
    void *issuer_ud;
};

#define GW_VERIFY_MAX_AIA 4 /* caIssuers URLs fetched per package at most */

struct gw_verify_result {
    struct gw_pdf_summary sum; /* the package's */
    bool try_later;            /* waiting for revocation data: check again later */
    unsigned n_documents, n_signatures;
    char *report_json; /* {"documents", "signatures", "certificates", "findings"}; malloc'd */
};

/* err 0: r is the result (the callee frees report_json after cb returns unless taken). err != 0:
 * a local failure (database, memory): nothing was decided, check again later. */
typedef void (*gw_verify_done_cb)(int err, struct gw_verify_result *r, void *ud);

/* job is copied. cb runs later on the loop unless an error is returned. */
int gw_verify_package(const struct gw_verify_deps *deps, const struct gw_store_check_job *job,
                      gw_verify_done_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
