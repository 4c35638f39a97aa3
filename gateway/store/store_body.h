#ifndef GW_STORE_BODY_H
#define GW_STORE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * Typed calls over the staged bodies of schemas/sql/006_body.sql: the bytes of a package are
 * stored once, as chunks INSERTed one statement each while the package arrives; the package row
 * that references the body (gw_store_submit_body, gw_store_incoming_body) is the commit marker.
 * Every value is checked against its SQL type before it is sent (GW_ERANGE / GW_EINVAL, the
 * callback then never runs).
 */

/* Largest chunk the store accepts (a chunk is one bytea parameter and one row). */
#define GW_STORE_BODY_CHUNK_MAX ((size_t)4 * 1024 * 1024)

/* err 0: body_id is the new staged body. */
typedef void (*gw_store_body_begin_cb)(int err, int64_t body_id, void *ud);
/* err 0: the chunk is stored (staged == true) or the body is no longer staged (false: it was
 * taken by a package or deleted; the caller stops). */
typedef void (*gw_store_body_put_cb)(int err, bool staged, void *ud);
/* err 0: bytes/len is chunk seq (valid during the call); GW_ENOENT: no such chunk (seq is past
 * the end, or no such package or body). */
typedef void (*gw_store_body_chunk_cb)(int err, const uint8_t *bytes, size_t len, void *ud);
/* err 0: n rows affected (discard: 1 or 0; janitor: bodies deleted). */
typedef void (*gw_store_body_count_cb)(int err, int64_t n, void *ud);

/* Stages a body with its first chunk (seq 0) in one statement; len 1..CHUNK_MAX. The bytes are
 * not copied: they must stay valid and unchanged until cb has run (gw_db_query_borrow). */
int gw_store_body_start(struct gw_db *db, const void *bytes, size_t len, gw_store_body_begin_cb cb,
                        void *ud) __attribute__((warn_unused_result));

/* Stores chunk seq (0, 1, ...) of a staged body; idempotent on (body, seq). len 1..CHUNK_MAX.
 * The bytes are not copied: they must stay valid and unchanged until cb has run. */
int gw_store_body_put(struct gw_db *db, int64_t body_id, int64_t seq, const void *bytes, size_t len,
                      gw_store_body_put_cb cb, void *ud) __attribute__((warn_unused_result));

/* Chunk seq of a body (in binary: no decoding on the loop). */
int gw_store_body_chunk(struct gw_db *db, int64_t body_id, int64_t seq, gw_store_body_chunk_cb cb,
                        void *ud) __attribute__((warn_unused_result));

/* Deletes a staged body and its chunks (a complete body is never deleted). cb may be NULL. */
int gw_store_body_discard(struct gw_db *db, int64_t body_id, gw_store_body_count_cb cb, void *ud)
    __attribute__((warn_unused_result));

struct gw_body_cache;

/* A staged body no package will take: its chunks kept in memory are dropped (cache may be NULL)
 * and it is discarded (gw_store_body_discard, no callback). */
int gw_store_body_drop(struct gw_db *db, struct gw_body_cache *cache, int64_t body_id)
    __attribute__((warn_unused_result));

/* Deletes at most limit staged bodies older than age_ms that no package took. */
int gw_store_body_janitor(struct gw_db *db, uint64_t age_ms, int64_t limit,
                          gw_store_body_count_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
