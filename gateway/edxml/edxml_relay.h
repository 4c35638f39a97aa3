#ifndef GW_EDXML_RELAY_H
#define GW_EDXML_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml_model.h"

/*
 * Faithful relay (domain.md §2 "Relaying across two axes"): the copy of a package sent to one
 * axis is the bytes as received with the To elements of other axes' recipients removed (each
 * with the white space before it) and one TraceHeader inserted. A copy is described by a sorted
 * list of edits, so it can be produced while streaming the stored bytes, chunk by chunk, with
 * no copy of the package in memory.
 */

struct gw_edxml_edit {
    uint64_t at;  /* offset in the original bytes */
    uint64_t del; /* bytes removed from there */
    char *insert; /* text inserted at `at` (after the removal), may be NULL */
    size_t insert_len;
};

struct gw_edxml_plan {
    struct gw_edxml_edit *edits; /* sorted by at, non-overlapping */
    size_t n;
    uint64_t in_len;  /* length of the original */
    uint64_t out_len; /* length of the copy */
};

/* Builds the plan of the copy for the recipients in keep (organ ids; a To is kept when its
 * organ id is in keep), with a TraceHeader {OrganId = own_organ_id, Timestamp = ts
 * ("yyyy/MM/dd HH:mm:ss", Vietnam time)} placed by relay->trace_mode. relay->editable must be
 * true. GW_EINVAL (not editable, a To kept with no id), GW_ENOMEM. */
int gw_edxml_plan_copy(const struct gw_edxml_relay *relay, uint64_t in_len, const char *const *keep,
                       size_t n_keep, const char *own_organ_id, const char *ts,
                       struct gw_edxml_plan *plan) __attribute__((warn_unused_result));

/* The TraceHeader timestamp for unix time t (seconds) in Vietnam time (UTC+7), into buf
 * (>= 20 bytes). */
void gw_edxml_trace_time(int64_t t, char *buf, size_t n);

void gw_edxml_plan_free(struct gw_edxml_plan *plan);

/* Streaming application of a plan: feed the original bytes in order (any chunking) and get the
 * copy's bytes through emit. */
typedef int (*gw_edxml_emit_fn)(const void *buf, size_t len, void *ud);

struct gw_edxml_apply {
    const struct gw_edxml_plan *plan;
    uint64_t pos;  /* offset in the original of the next byte fed */
    size_t next;   /* next edit */
    uint64_t skip; /* bytes still to drop from the current removal */
};

void gw_edxml_apply_init(struct gw_edxml_apply *a, const struct gw_edxml_plan *plan);

/* Passes emit's non-zero return through. */
int gw_edxml_apply_feed(struct gw_edxml_apply *a, const void *buf, size_t len,
                        gw_edxml_emit_fn emit, void *ud) __attribute__((warn_unused_result));

/* Emits an insertion that sits at the very end of the original. */
int gw_edxml_apply_end(struct gw_edxml_apply *a, gw_edxml_emit_fn emit, void *ud)
    __attribute__((warn_unused_result));

#endif
