#ifndef GW_STORE_INCOMING_H
#define GW_STORE_INCOMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/pkgsql.h"
#include "util/pkgkind.h"

/*
 * The poller's state in PostgreSQL (schemas/sql 001, 003 and 016): the poll lease of an axis,
 * what is known of a listed doc id, storing a fetched package, its transport ack, local failures
 * counted per doc id with backoff, refusals, the failing doc ids due again, and the pruning of
 * failure records. One function per SQL function. Every argument is range-checked before it is
 * sent: an error is returned at once (GW_EINVAL, GW_ERANGE, or gw_db_query's error) and the
 * callback then never runs; otherwise the callback runs exactly once, with err = 0 and the typed
 * result, or a negative GW_E* (GW_EDB) and sqlstate ("" when none).
 */

/* gw_poller_lease: takes or renews the poll lease; held is false when another owner holds it. */
typedef void (*gw_store_incoming_lease_cb)(int err, bool held, const char *sqlstate, void *ud);
int gw_store_incoming_lease(struct gw_db *db, const char *axis, const char *owner,
                            uint64_t lease_ms, gw_store_incoming_lease_cb cb, void *ud)
    __attribute__((warn_unused_result));

struct gw_store_incoming_known {
    int64_t package_id; /* > 0: stored before (ack again without fetching); 0: not received */
    bool failing;       /* a failure record exists */
    int64_t wait_ms;    /* failing: how long until the next attempt is due (0: due now) */
    int32_t failures;   /* failing: local failures so far */
    bool refused;       /* refused before */
    bool fail_acked;    /* refused, and the axis took the `fail` answer */
};

/* gw_incoming_check */
typedef void (*gw_store_incoming_check_cb)(int err, const struct gw_store_incoming_known *k,
                                           const char *sqlstate, void *ud);
int gw_store_incoming_check(struct gw_db *db, const char *axis, const char *axis_doc_id,
                            gw_store_incoming_check_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* gw_incoming_store (the version of 006_body.sql): the bytes are the staged body pkg->body_id,
 * which the package takes, or which is deleted in the same transaction when the package was
 * received before (the same axis doc id, or the same DocumentId and sha256): created is then
 * false. */
typedef void (*gw_store_incoming_store_cb)(int err, int64_t package_id, bool created,
                                           const char *sqlstate, void *ud);
int gw_store_incoming_store(struct gw_db *db, const char *axis, const char *axis_doc_id,
                            const struct gw_store_package *pkg, gw_store_incoming_store_cb cb,
                            void *ud) __attribute__((warn_unused_result));

/* Completion of the calls without a result. */
typedef void (*gw_store_incoming_done_cb)(int err, const char *sqlstate, void *ud);

/* gw_incoming_acked: the axis acknowledged (updateStatus done) package_id. */
int gw_store_incoming_acked(struct gw_db *db, int64_t package_id, gw_store_incoming_done_cb cb,
                            void *ud) __attribute__((warn_unused_result));

struct gw_store_incoming_failure {
    const char *axis;
    const char *axis_doc_id;
    enum gw_pkg_kind kind;
    const char *error;        /* any bytes: made valid UTF-8 and cut to 1000 bytes here */
    uint64_t backoff_base_ms; /* first wait; doubled per failure (int4 ms) */
    uint64_t backoff_max_ms;  /* cap (int4 ms) */
};

/* gw_incoming_failed: one more local failure; failures counts them, wait_ms until the next try. */
typedef void (*gw_store_incoming_failed_cb)(int err, int32_t failures, int32_t wait_ms,
                                            const char *sqlstate, void *ud);
int gw_store_incoming_failed(struct gw_db *db, const struct gw_store_incoming_failure *f,
                             gw_store_incoming_failed_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* gw_incoming_fail_acked: the axis took the `fail` answer to a refused doc id. */
int gw_store_incoming_fail_acked(struct gw_db *db, const char *axis, const char *axis_doc_id,
                                 gw_store_incoming_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

struct gw_store_incoming_refusal {
    const char *axis;
    const char *axis_doc_id;
    enum gw_pkg_kind kind;
    const char *code;      /* stable refusal id, e.g. "too_many_attributes" */
    const char *detail;    /* any bytes: made valid UTF-8 and cut here */
    const uint8_t *sha256; /* of the fetched bytes, may be NULL */
    size_t size;           /* fetched bytes */
};

/* gw_incoming_refused */
int gw_store_incoming_refused(struct gw_db *db, const struct gw_store_incoming_refusal *r,
                              gw_store_incoming_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* gw_incoming_due: the failing doc ids of (axis, kind) due for another attempt and not among the
 * n listed ones, the longest waiting first, at most limit (1..GW_STORE_INCOMING_DUE_MAX). ids
 * (n_ids of them) are valid during the callback only. */
#define GW_STORE_INCOMING_DUE_MAX 10000
typedef void (*gw_store_incoming_due_cb)(int err, char *const *ids, size_t n_ids,
                                         const char *sqlstate, void *ud);
int gw_store_incoming_due(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                          char *const *listed, size_t n, uint32_t limit,
                          gw_store_incoming_due_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* gw_incoming_prune (016): marks the failure records of the listed doc ids as listed; unless the
 * list is windowed, drops those of doc ids of this kind it no longer names. failing is the number
 * of doc ids of the axis still failing. */
typedef void (*gw_store_incoming_prune_cb)(int err, int64_t failing, const char *sqlstate,
                                           void *ud);
int gw_store_incoming_prune(struct gw_db *db, const char *axis, enum gw_pkg_kind kind,
                            char *const *listed, size_t n, bool windowed,
                            gw_store_incoming_prune_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
