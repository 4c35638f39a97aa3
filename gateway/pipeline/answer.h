#ifndef GW_ANSWER_H
#define GW_ANSWER_H

#include <stdint.h>

#include "pipeline/ingest.h"

/*
 * The gateway's answer for one of the province's agencies (design.md §5): a status package built
 * by edxml_status (e.g. 02 "refused" with the reason for an incoming document the policy
 * rejected), read and stored like any outgoing package (the same ingest, then gw_submit_staged
 * with source "gateway"), so it is routed back to the original sender and delivered with the
 * same leases and retries. Idempotent: the same answer again is a duplicate of the first.
 */

struct gw_answer_spec {
    const char *from;        /* the intended recipient in the province */
    const char *to;          /* the original sender (ResponseFor/OrganId) */
    const char *document_id; /* the original DocumentId */
    const char *status_code; /* "02" */
    const char *description; /* the reason */
    const char *axis;        /* default axis for routing */
};

/* err 0: the answer is stored (package_id; a duplicate gives the first one's id). */
typedef void (*gw_answer_cb)(int err, int64_t package_id, void *ud);

/* deps: the ingest's (loop and db set, reader limits, checks). cb runs later unless an error is
 * returned. */
int gw_answer_status(const struct gw_ingest_deps *deps, const struct gw_answer_spec *spec,
                     gw_answer_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
