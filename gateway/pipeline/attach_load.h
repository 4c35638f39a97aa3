#ifndef GW_ATTACH_LOAD_H
#define GW_ATTACH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"
#include "store/body_cache.h"

/*
 * One attachment's bytes, read back from the stored package for a check that needs random
 * access (a PDF's xref is at its end): only the chunks that hold the attachment's base64 slice
 * are fetched, one at a time on the loop, and decoded on the thread pool into one buffer; a
 * ZIP-wrapped attachment is decoded into an unlinked temporary file and its one entry inflated
 * into the buffer (edxml_zip.h, same limits). The buffer never exceeds max_bytes.
 */

struct gw_attach_load_req {
    uv_loop_t *loop;
    struct gw_db *db;
    struct gw_body_cache *cache; /* chunks kept since they were stored (NULL: none); a chunk
                                    read from db is kept there for the copies that follow when
                                    body_size is at most GW_BODY_CACHE_BODY_MAX */
    int64_t body_id;
    uint64_t b64_offset, b64_len; /* the slice of the stored bytes (attachment row) */
    uint64_t size;                /* decoded size as sent */
    bool unwrapped;               /* the bytes are a one-entry ZIP to inflate */
    bool raw;                     /* the slice as stored, not base64 (the whole envelope) */
    uint64_t max_bytes;           /* the result's limit */
    /* The body's size and chunk count when known (the check's claim gives them), else 0: a body
     * of one chunk is then read without asking for its layout first. */
    uint64_t body_size;
    int64_t body_chunks;
    unsigned max_zip_ratio;
};

/* err 0: bytes[0..n) (the callee owns them: free()). Otherwise code says why: "pdf_too_large",
 * "bad_base64", "body_layout", a zip_* code of edxml_zip.h, or "database"/"memory". */
typedef void (*gw_attach_load_cb)(int err, const char *code, uint8_t *bytes, size_t n, void *ud);

/* cb runs later on the loop unless an error is returned. Not cancellable: the caller waits. */
int gw_attach_load(const struct gw_attach_load_req *req, gw_attach_load_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* The same decoding of a whole base64 text in memory, on the caller's thread (gatewayctl):
 * *out malloc'd (n bytes) on 0; otherwise *code says why, as above. */
int gw_attach_decode(const char *b64, size_t len, bool unwrapped, uint64_t max_bytes,
                     unsigned max_zip_ratio, uint8_t **out, size_t *n, const char **code)
    __attribute__((warn_unused_result));

#endif
