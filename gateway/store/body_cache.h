#ifndef GW_BODY_CACHE_H
#define GW_BODY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"
#include "metrics/metrics.h"
#include "store/store_body.h"

/*
 * Chunks of stored bodies kept in memory after they were written, so that the readers that
 * follow (the signature check, each delivery's copy) do not read them back from PostgreSQL. A
 * chunk (body_id, seq) never changes once stored and body ids are never reused, so an entry is
 * valid for as long as it is kept: there is nothing to invalidate, only memory to bound.
 *
 * Bounds: max_bytes of chunk bytes in all, and max_age_ms since an entry was added; the oldest
 * entries go first (a FIFO: the pipeline reads a package soon after it arrives, in arrival
 * order). A chunk larger than max_bytes / 4 is not kept. A miss reads PostgreSQL as
 * gw_store_body_chunk does. Everything runs on the loop; nothing here is thread-safe.
 */

struct gw_body_cache;

/* The largest body whose chunks the writers keep: a larger one is read back from PostgreSQL, so
 * that one big package neither takes the room of many small ones nor raises memory with its
 * size. */
#define GW_BODY_CACHE_BODY_MAX ((uint64_t)4 * 1024 * 1024)

/* A cache on loop; max_bytes 0 keeps nothing (every read goes to PostgreSQL). metrics may be NULL;
 * otherwise gateway_body_cache_{hits,misses}_total and gateway_body_cache_bytes. NULL on
 * allocation failure. */
struct gw_body_cache *gw_body_cache_new(uv_loop_t *loop, uint64_t max_bytes, uint64_t max_age_ms,
                                        struct gw_metrics *metrics);

/* Keeps a copy of chunk seq of body_id (bytes[0..len)); a chunk already kept stays as it is.
 * Safe with c NULL; an allocation failure keeps nothing (the read then goes to PostgreSQL). */
void gw_body_cache_put(struct gw_body_cache *c, int64_t body_id, int64_t seq, const void *bytes,
                       size_t len);

/* Drops every kept chunk of body_id (a staged body discarded). Safe with c NULL. */
void gw_body_cache_forget(struct gw_body_cache *c, int64_t body_id);

/* Chunk seq of body_id, as gw_store_body_chunk (same arguments' checks, same callback; the bytes
 * are valid during the call): from memory when kept, the callback then running later on the loop,
 * never inside this call; else from db, and with fill the chunk read is kept for the next reader.
 * c NULL: gw_store_body_chunk. */
int gw_body_cache_read(struct gw_body_cache *c, struct gw_db *db, int64_t body_id, int64_t seq,
                       bool fill, gw_store_body_chunk_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Bytes kept now. */
uint64_t gw_body_cache_bytes(const struct gw_body_cache *c);

/* Stops keeping (the daemon's shutdown): the reads answered from memory and not yet called back
 * run now with GW_ECANCELED, every chunk is dropped, nothing more is kept and later reads go to
 * PostgreSQL; the timers are closed. Safe with NULL and more than once. */
void gw_body_cache_close(struct gw_body_cache *c);

/* Frees a closed cache once the loop has run the close callbacks and no read it made is still
 * in flight (after the loop has ended). Safe with NULL. */
void gw_body_cache_free(struct gw_body_cache *c);

#endif
