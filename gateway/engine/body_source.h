#ifndef GW_BODY_SOURCE_H
#define GW_BODY_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"
#include "store/body_cache.h"
#include "edxml/edxml_model.h"
#include "edxml/edxml_reader.h"
#include "edxml/edxml_relay.h"
#include "engine/axis.h"

/*
 * A package copy read from the stored chunks (store_body.h), as a struct gw_axis_body: the
 * chunks are fetched from PostgreSQL one at a time, on demand, and go through a relay plan
 * (edxml_relay.h; none: the bytes as stored), so a send that kept nothing (below) holds one
 * chunk and its edited form whatever the package size. rewind starts again from chunk 0.
 *
 * measure makes one pass over the chunks on the thread pool (fetch on the loop, then plan, SHA-256
 * and optionally a gw_edxml_reader on a worker, then the next fetch) and gives the copy's exact
 * length and SHA-256, which it stores in the body (len, sha256) for the adapter. Reads and a
 * measure never overlap. Not thread-safe: everything but the workers runs on the loop.
 *
 * Kept chunks: a measure over a body of at most the per-send bound keeps the stored bytes it
 * fetched, when the process-wide budget of kept bytes has room for the whole body (charged when
 * the pass starts); the reads that follow (and those after a rewind) then go through the plan
 * from memory and make no chunk query. A body above the bound, a budget without room or a pass
 * that fails keeps nothing: the reads fetch the chunks again. The kept bytes and their share of
 * the budget are given back when the source is freed (or measures again).
 */

/* The per-send bound and the process-wide budget of kept bytes (gw_body_source_keep_limits). */
#define GW_BODY_SOURCE_KEEP_MAX    ((uint64_t)4 * 1024 * 1024)
#define GW_BODY_SOURCE_KEEP_BUDGET ((uint64_t)64 * 1024 * 1024)

struct gw_body_source;

/* err 0: len and sha256 describe the copy; doc (may be NULL when no reader was given) is what
 * the reader made of the copy, owned by the source (valid until it is freed). err != 0: a chunk
 * could not be fetched (GW_EDB; GW_ESTORED: the chunks do not add up to the body's size, or the
 * stored bytes are not those gw_body_source_expect named), the plan did not fit, or the reader
 * refused the copy (GW_ECOPY, with *why the reader's message). */
typedef void (*gw_body_source_measured_cb)(int err, uint64_t len, const uint8_t sha256[32],
                                           const struct gw_edxml_doc *doc, const char *why,
                                           void *ud);

/* A source over body_id (in_len bytes in chunks chunks), its chunks read through cache (may be
 * NULL; store/body_cache.h) without filling it: a copy is the last reader. plan may be NULL (the
 * bytes as stored); otherwise it must describe in_len bytes and outlive the source (free it from
 * gw_body_source_free_then's callback). */
int gw_body_source_new(uv_loop_t *loop, struct gw_db *db, struct gw_body_cache *cache,
                       int64_t body_id, uint64_t in_len, int64_t chunks,
                       const struct gw_edxml_plan *plan, struct gw_body_source **out)
    __attribute__((warn_unused_result));

/* The SHA-256 of the stored bytes (the package as received): the measures from now on hash the
 * bytes they take from the chunks too and fail with GW_ESTORED when they differ. For a copy
 * through a plan, whose own SHA-256 says nothing of the bytes it came from. */
int gw_body_source_expect(struct gw_body_source *src, const uint8_t sha256[32])
    __attribute__((warn_unused_result));

/* The body for the adapter: len and sha256 are set by a successful measure. */
struct gw_axis_body *gw_body_source_body(struct gw_body_source *src);

/* One pass over the copy; reader (may be NULL) is fed the copy and finished by the source, which
 * frees it. cb runs later on the loop unless an error is returned. */
int gw_body_source_measure(struct gw_body_source *src, struct gw_edxml_reader *reader,
                           gw_body_source_measured_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Replaces the two bounds of kept bytes for the sources measured from now on (tests; the defaults
 * are the constants above); 0 keeps nothing. */
void gw_body_source_keep_limits(uint64_t per_send, uint64_t budget);

/* Bytes kept by all sources now. */
uint64_t gw_body_source_kept_bytes(void);

/* Frees now, or once the chunk query or worker in flight has come back (no callback runs after
 * this). Safe with NULL. */
void gw_body_source_free(struct gw_body_source *src);

/* gw_body_source_free, then released(ud) once the source is gone: what it uses but does not own
 * (the plan) may be freed there, never before — a worker in flight still reads it. With NULL,
 * released runs at once. */
void gw_body_source_free_then(struct gw_body_source *src, void (*released)(void *ud), void *ud);

#endif
