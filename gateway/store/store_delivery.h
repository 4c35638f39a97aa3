#ifndef GW_STORE_DELIVERY_H
#define GW_STORE_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/pkgkind.h"

/*
 * Typed calls of the delivery SQL functions (schemas/sql 001 and 002): claim, record a success
 * batch, a failure, a peer hold, renew leases, and record a breaker state. Every argument is
 * checked against its SQL type before anything is sent: GW_ERANGE (a number the SQL type cannot
 * hold) or GW_EINVAL (text that is not UTF-8, a NULL where a value is required) is returned at
 * once and the callback never runs. Durations are sent as int4 milliseconds or seconds, so a
 * configuration must keep lease_ms, backoff_*_ms, retry_ms <= GW_STORE_MS_MAX and give_up_s <=
 * GW_STORE_S_MAX.
 */

#define GW_STORE_MS_MAX         INT32_MAX
#define GW_STORE_S_MAX          INT32_MAX
#define GW_STORE_ERROR_MAX      1000 /* bytes of an error text that SQL keeps */
#define GW_STORE_MAX_CLAIM      100000
#define GW_STORE_MAX_CLAIM_AXES 256

struct gw_store_claim_args {
    const char *owner;
    uint64_t lease_ms;
    unsigned limit;     /* rows in all */
    uint64_t max_bytes; /* package bytes beyond the first row */
    uint64_t give_up_s;
    const char *const *axes; /* only these axes are claimed ... */
    const unsigned *limits;  /* ... at most limits[i] rows of axes[i] */
    size_t n_axes;
};

/* One claimed delivery (gw_claim_copies, 007_copy.sql); valid only during the callback (strings
 * point into the result). The bytes are not in the claim: the body is read chunk by chunk
 * (store_body.h). relay, recipients and attachments are JSON texts: the relay landmarks stored
 * with the package (package.header->'relay', NULL when the package has none), the delivery's
 * recipients (an array of strings) and the attachments' SHA-256 (an array of hex or null). */
struct gw_store_claimed {
    int64_t delivery_id;
    int64_t package_id;
    const char *axis;
    enum gw_pkg_kind kind;
    const char *document_id;
    int attempt; /* fences this claim's outcome */
    int64_t body_id;
    uint64_t len;   /* package bytes (the body's size) */
    int64_t chunks; /* the body's chunk count */
    uint8_t sha256[32];
    const char *relay;
    const char *recipients;
    const char *attachments;
};

typedef void (*gw_store_claim_cb)(int err, const struct gw_store_claimed *rows, size_t n, void *ud);
typedef void (*gw_store_done_cb)(int err, void *ud);

int gw_store_delivery_claim(struct gw_db *db, const struct gw_store_claim_args *a,
                            gw_store_claim_cb cb, void *ud) __attribute__((warn_unused_result));

struct gw_store_sent_item {
    int64_t delivery_id;
    const char *axis_doc_id;
    uint8_t copy_sha256[32]; /* SHA-256 and length of the copy sent (delivery.copy_sha256) */
    uint64_t copy_len;
};

/* recorded[i] answers items[i]: false only when the delivery was already SENT under another
 * axis DocId. */
typedef void (*gw_store_sent_cb)(int err, const bool *recorded, size_t n, void *ud);

/* Records a batch of successes in one transaction with the copies' hashes
 * (gw_deliveries_sent_copy). */
int gw_store_delivery_sent(struct gw_db *db, const char *owner,
                           const struct gw_store_sent_item *items, size_t n, gw_store_sent_cb cb,
                           void *ud) __attribute__((warn_unused_result));

enum gw_store_outcome { GW_STORE_FENCED = 0, GW_STORE_QUEUED, GW_STORE_DEAD };
typedef void (*gw_store_outcome_cb)(int err, enum gw_store_outcome st, void *ud);

struct gw_store_failed_args {
    int64_t delivery_id;
    const char *owner;
    int attempt;
    const char *error; /* valid UTF-8; cut to GW_STORE_ERROR_MAX by SQL */
    uint64_t base_ms;
    uint64_t max_ms;
    uint64_t give_up_s;
};

/* A failure of the package's send: backoff or DEAD past the give-up age (gw_delivery_failed). */
int gw_store_delivery_failed(struct gw_db *db, const struct gw_store_failed_args *a,
                             gw_store_outcome_cb cb, void *ud) __attribute__((warn_unused_result));

/* A failure caused by the peer: QUEUED again after retry_ms, attempt given back, never DEAD
 * (gw_delivery_held). */
int gw_store_delivery_held(struct gw_db *db, int64_t delivery_id, const char *owner, int attempt,
                           const char *error, uint64_t retry_ms, gw_store_outcome_cb cb, void *ud)
    __attribute__((warn_unused_result));

struct gw_store_lease {
    int64_t delivery_id;
    int attempt;
};

/* renewed: the ids whose lease was extended (fenced on owner and attempt). */
typedef void (*gw_store_renew_cb)(int err, const int64_t *renewed, size_t n, void *ud);

int gw_store_delivery_renew(struct gw_db *db, const char *owner, const struct gw_store_lease *l,
                            size_t n, uint64_t lease_ms, gw_store_renew_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Records an axis's breaker state ("closed", "open", "half_open"); cb may be NULL. */
int gw_store_delivery_peer_set(struct gw_db *db, const char *axis, const char *state,
                               const char *reason, unsigned failures, const char *owner,
                               gw_store_done_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
