#ifndef GW_AXIS_H
#define GW_AXIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/http_client.h"
#include "util/pkgkind.h"
#include "config/sections.h"

/*
 * The core's only view of an exchange axis: one struct gw_axis_ops per protocol flavour
 * (adapters/vxp, adapters/lgsp_rest, ...). The core never includes adapter headers; adapters are
 * found by name with gw_axis_find().
 *
 * All operations are asynchronous on the loop. If an operation returns an error, its callback
 * never runs. Every callback runs exactly once otherwise.
 */

struct gw_axis_item {
    char *doc_id; /* axis-assigned id */
    char *from;   /* sender organ id as listed, may be NULL */
};

/* err == 0 on success; on GW_EAXIS, detail holds the axis's error text (may be NULL). */
typedef void (*gw_axis_send_cb)(int err, const char *axis_doc_id, const char *detail, void *ud);
/* next_cursor: where the next list starts (stored by the poller once every item listed was
 * stored, refused or recorded as failing; see list_received), or NULL for a flavour without a
 * cursor. */
typedef void (*gw_axis_list_cb)(int err, const struct gw_axis_item *items, size_t n,
                                const char *next_cursor, const char *detail, void *ud);
/* The outcome of a fetch; the bytes went to the sink (see struct gw_axis_sink). */
typedef void (*gw_axis_fetch_cb)(int err, const char *detail, void *ud);
typedef void (*gw_axis_ack_cb)(int err, const char *detail, void *ud);

/*
 * The package an adapter sends, pulled on demand (bounded memory however large the package).
 *
 * The owner fills len, sha256, read and ud before send; len and sha256 are the exact length and
 * the SHA-256 of the bytes read will produce (the owner computed them in an earlier pass: the
 * adapter never hashes). The adapter calls read(body, cap, done, done_ud) with cap > 0, one call
 * at a time (the next only after done ran), in order from byte 0, and possibly from byte 0 again
 * after gw_axis_body's rewind (below).
 *   - read returns 0: done runs exactly once, either before read returns (bytes at hand) or later
 *     on the loop, with err == 0 and 1..cap bytes, or n == 0 at the end (after exactly len bytes),
 *     or err != 0 (a GW_E* code: the body cannot be read; the send fails with that code). data is
 *     valid only during done; the adapter copies what it keeps.
 *   - read returns an error: done never runs; the send fails with that error.
 * rewind (optional, may be NULL): the next read starts again from byte 0; returns 0 or an error
 * (the adapter then fails the send as a transport error). Never called while a read is pending.
 * The body (and what ud points to) stays valid until the send's callback has run; the adapter
 * calls neither read nor rewind after that, and none while calling the send's callback.
 * read, rewind and a done that runs before read returns may run inside the transport's own
 * callbacks (libcurl's): they must not call any axis operation nor the HTTP client; a source that
 * must do such work answers later, from its own loop callback.
 */
typedef void (*gw_axis_body_done_cb)(int err, const uint8_t *data, size_t n, void *done_ud);
struct gw_axis_body {
    uint64_t len;
    uint8_t sha256[32];
    int (*read)(struct gw_axis_body *body, size_t cap, gw_axis_body_done_cb done, void *done_ud);
    int (*rewind)(struct gw_axis_body *body);
    void *ud; /* the owner's */
};

/*
 * A body as the HTTP client's request body, for an adapter's send (engine/axis_upload.c): pre,
 * the body's bytes (read ahead into one bounded buffer, backpressure by pausing the transfer),
 * then post; gw_axis_upload_len bytes in all (the request's body_len). pre and post are copied.
 * attach once the request is issued (reading ahead begins); busy once the transfer is over: true
 * when a body read is still pending, and idle(ud) runs when it ends (from the body's done); false
 * when nothing is pending. restart starts again from byte 0 for a new request (from the buffer
 * when it still holds the start, else by the body's rewind): 0, or GW_EHTTP when the body cannot
 * rewind. Everything on the loop.
 */
struct gw_axis_upload;
int gw_axis_upload_new(struct gw_axis_body *body, const char *pre, size_t pre_len, const char *post,
                       size_t post_len, struct gw_axis_upload **out);
void gw_axis_upload_free(struct gw_axis_upload *up);
uint64_t gw_axis_upload_len(const struct gw_axis_upload *up);
void gw_axis_upload_source(struct gw_axis_upload *up, struct gw_httpc_source *src);
void gw_axis_upload_attach(struct gw_axis_upload *up, struct gw_httpc_xfer *xfer);
bool gw_axis_upload_busy(struct gw_axis_upload *up, void (*idle)(void *ud), void *ud);
int gw_axis_upload_restart(struct gw_axis_upload *up);

/* What a sink's write answers besides 0 ("go on") and a negative GW_E* code ("abort"). */
#define GW_AXIS_SINK_PAUSED 1

/*
 * Where fetch puts the package's decoded bytes, with backpressure.
 *
 * The owner fills write and ud before fetch; fetch fills resume_fn/resume_ctx before it returns 0.
 * The adapter calls write(sink, data, n) on the loop, n > 0, in order, never two at once:
 *   - 0: the sink took the n bytes (copied what it keeps: data is valid only during write) and
 *     wants more;
 *   - GW_AXIS_SINK_PAUSED: it took the n bytes but wants no more for now; it promises to call
 *     gw_axis_sink_resume(sink) later, from a loop callback, never from inside write. Until then
 *     the adapter writes nothing and does not run the fetch callback (it reads no further from
 *     the peer, holding at most a few buffers);
 *   - a negative GW_E* code: abort; the fetch callback then gets that code.
 * The fetch callback runs once the sink is not paused (after its last write answered 0, or after
 * the resume that followed the last pause): with err == 0 the sink has had every byte of the
 * package, exactly; with err != 0 whatever the sink received is NOT the package (a FAIL status
 * can come after the data, the transfer can break off) and must be discarded. A sink that is
 * paused when the fetch fails still gets its callback only after it resumes. write is never
 * called after the callback, nor is resume to be called after it. The sink stays valid until
 * the callback has run. write runs inside the transport's own callbacks (libcurl's): it must not
 * call any axis operation nor the HTTP client (pause, and do that from a loop callback).
 */
struct gw_axis_sink {
    int (*write)(struct gw_axis_sink *sink, const uint8_t *data, size_t n);
    void *ud; /* the owner's */
    /* the adapter's, set by fetch */
    void (*resume_fn)(void *resume_ctx);
    void *resume_ctx;
};

static inline void gw_axis_sink_resume(struct gw_axis_sink *sink)
{
    sink->resume_fn(sink->resume_ctx);
}

/*
 * The shared half of an adapter's streamed fetch into a sink (engine/axis_download.c), embedded
 * in the adapter's own decoder state; everything on the loop. init sets the sink's
 * resume_fn/resume_ctx. In the HTTP client's sink write: error_piece first (true: a piece of a
 * non-2xx answer, its first 64 KiB kept for errbody, NUL-terminated), then the adapter decodes the
 * piece and put hands the decoded bytes to the sink (0; GW_HTTPC_PAUSE when the sink paused; or
 * the sink's negative code). attach once the request is issued; paused once the transfer is over:
 * true when the sink is paused, and resumed(ud) runs from its resume; false when it is not.
 */
struct gw_axis_download {
    struct gw_axis_sink *sink;
    char *errbody;
    size_t errlen;
    bool paused;
    struct gw_httpc_xfer *xfer;
    void (*resumed)(void *ud); /* the transfer is over and waits for the sink */
    void *resumed_ud;
};
void gw_axis_download_init(struct gw_axis_download *d, struct gw_axis_sink *sink);
void gw_axis_download_free(struct gw_axis_download *d);
bool gw_axis_download_error_piece(struct gw_axis_download *d, long status, const char *data,
                                  size_t n);
int gw_axis_download_put(struct gw_axis_download *d, const uint8_t *data, size_t n);
void gw_axis_download_attach(struct gw_axis_download *d, struct gw_httpc_xfer *xfer);
const char *gw_axis_download_errbody(const struct gw_axis_download *d, size_t *len);
bool gw_axis_download_paused(struct gw_axis_download *d, void (*resumed)(void *ud), void *ud);

/* One agency of an axis's directory (getAgenciesList / getAgenciesListQD20). Strings may be
 * NULL. In a QĐ 20 list `code` is the QĐ 20 form and `code102` the QCVN 102 form. */
struct gw_axis_agency {
    char *code;
    char *code102;
    char *name;
    char *parent; /* pid */
    char *mail;
    char *old_code;
};

/* On success the callback sees the whole list (valid during the call). */
typedef void (*gw_axis_agencies_cb)(int err, const struct gw_axis_agency *a, size_t n,
                                    const char *detail, void *ud);

struct gw_axis_ops {
    const char *name; /* adapter name used in configuration: "vxp" */
    int (*create)(struct gw_httpc *http, const struct gw_axis_config *cfg, void **state);
    void (*destroy)(void *state);
    /* Sends one edXML package, pulled from body (streamed, bounded memory); the axis routes it
     * to every To/OrganId. body->len > 0. */
    int (*send)(void *state, enum gw_pkg_kind kind, struct gw_axis_body *body, gw_axis_send_cb cb,
                void *ud);
    /* Lists packages waiting for this system. cursor is the next_cursor of the last list of this
     * kind whose items were all stored, refused or recorded as failing (persisted by the poller,
     * table axis_cursor; failing items are then fetched by id), NULL the first time; a flavour that
     * lists by pending state (vxp) ignores it and answers NULL. Items may repeat across lists (the
     * poller deduplicates by axis doc id). */
    int (*list_received)(void *state, enum gw_pkg_kind kind, const char *cursor, gw_axis_list_cb cb,
                         void *ud);
    /* Fetches one package's exact bytes into sink (streamed, decoded on the way), at most the
     * axis's max_package_bytes (more: GW_E2BIG). */
    int (*fetch)(void *state, const char *doc_id, struct gw_axis_sink *sink, gw_axis_fetch_cb cb,
                 void *ud);
    /* Transport ack: done (stored durably) or fail. */
    int (*ack)(void *state, const char *doc_id, bool done, gw_axis_ack_cb cb, void *ud);
    /* The axis's agency directory: the QCVN 102 list (qd20 false) or the QĐ 20 list with both
     * forms (qd20 true). NULL when the flavour has no directory call. */
    int (*list_agencies)(void *state, bool qd20, gw_axis_agencies_cb cb, void *ud);
};

/* Registry of built-in adapters; NULL if unknown. */
const struct gw_axis_ops *gw_axis_find(const char *adapter_name);

#endif
