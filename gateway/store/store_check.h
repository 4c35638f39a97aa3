#ifndef GW_STORE_CHECK_H
#define GW_STORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * The signature check's state (008_signature.sql): claiming packages due for a check under a
 * lease, recording a result with the policy's action, an operator's release or rejection, and
 * the layout of a stored body (to read an attachment's slice without the chunks before it).
 */

/* One package leased for a check. attachments_json is the claim's JSON array of PDF attachments
 * ([{idx, name, b64_offset, b64_len, size, unwrapped, unwrapped_size}]). Strings malloc'd. */
struct gw_store_check_job {
    int64_t package_id;
    bool incoming;
    char *sender;
    char *document_id;
    int attempts;
    int64_t deadline_at; /* Unix seconds; 0 none yet */
    int64_t body_id;     /* 0: no stored body */
    int64_t size;
    int chunks;
    bool xmldsig;
    char *attachments_json;
    char *first_recipient; /* the package's first To/OrganId (NULL: none) */
    /* The largest PDF a ZIP-wrapped attachment inflates to: 0 none unwrapped, -1 one whose
     * inflated size is not known (or 0). */
    int64_t max_unwrapped;
};

void gw_store_check_job_clear(struct gw_store_check_job *j);

/* err 0: jobs[0..n) (the callee frees them after cb returns; take what you keep). */
typedef void (*gw_store_check_claim_cb)(int err, struct gw_store_check_job *jobs, size_t n,
                                        void *ud);

int gw_store_check_claim(struct gw_db *db, const char *owner, uint64_t lease_ms, unsigned limit,
                         gw_store_check_claim_cb cb, void *ud) __attribute__((warn_unused_result));

struct gw_store_check_done_args {
    int64_t package_id;
    const char *owner;
    const char *summary; /* TOTAL-PASSED ... */
    const char *sub;     /* may be "" */
    const char *reason_vi, *reason_en;
    const char *action;     /* deliver, deliver_flagged, hold, reject */
    const char *decided_by; /* policy, fallback */
    int64_t retry_ms;       /* < 0: final; else re-check after this */
    int64_t deadline_s;
    const char *report_json; /* {"documents": [...], "signatures": [...], "certificates": [...]} */
};

/* err 0: the package's To/OrganIds ids[0..n) in order (valid while cb runs). */
typedef void (*gw_store_check_recipients_cb)(int err, const char *const *ids, size_t n, void *ud);

/* The recipients of package_id, read when a rejected package is answered (not with every claim:
 * most checks never need them). */
int gw_store_check_recipients(struct gw_db *db, int64_t package_id, gw_store_check_recipients_cb cb,
                              void *ud) __attribute__((warn_unused_result));

/* err 0: recorded false when the lease was lost (nothing changed). */
typedef void (*gw_store_check_done_cb)(int err, bool recorded, void *ud);

int gw_store_check_done(struct gw_db *db, const struct gw_store_check_done_args *a,
                        gw_store_check_done_cb cb, void *ud) __attribute__((warn_unused_result));

/* Extends the leases of checks still running; gone[] lists those no longer owner's. */
typedef void (*gw_store_check_renew_cb)(int err, const int64_t *gone, size_t n, void *ud);

int gw_store_check_renew(struct gw_db *db, const char *owner, const int64_t *ids, size_t n,
                         uint64_t lease_ms, gw_store_check_renew_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* err 0: ok false when the package is not held. */
typedef void (*gw_store_check_decide_cb)(int err, bool ok, void *ud);

int gw_store_check_decide(struct gw_db *db, int64_t package_id, const char *actor, bool release,
                          const char *reason, gw_store_check_decide_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* err 0: lens[0..n) the byte length of each chunk of the body, in order. */
typedef void (*gw_store_check_layout_cb)(int err, const int64_t *lens, size_t n, void *ud);

int gw_store_check_layout(struct gw_db *db, int64_t body_id, gw_store_check_layout_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
