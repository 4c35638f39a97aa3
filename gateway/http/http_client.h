#ifndef GW_HTTP_CLIENT_H
#define GW_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/sections.h"

/*
 * Outbound HTTP for adapters: one long-lived libcurl multi handle driven by the libuv loop
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION with uv_poll and uv_timer, as in curl's multi-uv
 * example). Requests never block the loop. Responses are buffered up to a per-request cap, or
 * streamed to a sink; request bodies are a buffer or streamed from a source.
 */

struct gw_httpc;
struct gw_httpc_xfer; /* one transfer in flight */

/* Returned by a sink's write: "I took the bytes; give me no more until gw_httpc_resume_sink()". */
#define GW_HTTPC_PAUSE 1

/*
 * A request body produced on demand (libcurl's read callback). The length is known in advance
 * (request body_len, sent as Content-Length); the client asks for exactly that many bytes in all.
 * Callbacks run on the loop from inside libcurl: they must not call any gw_httpc function (not
 * even gw_httpc_resume_*) nor anything that might run one.
 */
struct gw_httpc_source {
    /* Copies 1..cap bytes of the body into buf and returns the count; or returns 0 when nothing
     * is ready: the transfer pauses until gw_httpc_resume_source(); or a negative GW_E* code, which
     * aborts the transfer (the callback then gets that code). */
    int64_t (*read)(void *ud, char *buf, size_t cap);
    /* Optional: start again from byte 0 (libcurl resends the request on a new connection when a
     * reused one turned out dead). Returns 0 if it could; otherwise the transfer fails GW_EHTTP. */
    int (*rewind)(void *ud);
    void *ud;
};

/*
 * A response body consumed as it arrives (libcurl's write callback), under the same callback rules
 * as the source. Bodies of every status are streamed; status tells which.
 */
struct gw_httpc_sink {
    /* Takes the next n > 0 bytes. Returns 0 to go on; GW_HTTPC_PAUSE when it took them but wants
     * no more until gw_httpc_resume_sink() (libcurl then holds at most one more buffer, 16 KiB);
     * or a negative GW_E* code to abort (the callback gets that code). */
    int (*write)(void *ud, long status, const char *data, size_t n);
    void *ud;
};

struct gw_httpc_request {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const void *body;           /* copied unless borrow_body; may be NULL */
    size_t body_len;
    /* The caller guarantees that body stays valid and unchanged until the callback has run (or
     * gw_httpc_request() has failed): libcurl then sends straight from it, without a copy. */
    bool borrow_body;
    uint64_t timeout_ms;         /* whole transfer; 0 = 30000 */
    uint64_t connect_timeout_ms; /* 0 = 5000 */
    size_t max_response_bytes;   /* 0 = 16 MiB; larger responses fail with GW_E2BIG (also when
                                    streamed to a sink: a cap on the total) */
    /* Streaming body: body must be NULL, body_len is the exact length (Content-Length). The source
     * struct is copied; its ud must stay valid until the callback has run. */
    const struct gw_httpc_source *source;
    /* Streaming response: the callback then gets an empty body (take_body: an empty buffer). A
     * sink that is paused when the transfer ends holds the callback back until it resumes (the
     * callback never runs while the sink is paused, except for GW_ECANCELED from close). */
    const struct gw_httpc_sink *sink;
    /* If not NULL, receives the transfer (for gw_httpc_resume_*), valid until the callback has
     * run. */
    struct gw_httpc_xfer **xfer;
    /* How the peer is reached over TLS (CA pinned, client certificate); NULL: libcurl's
     * defaults. Strings must stay valid until the callback has run. With tls set, an http://
     * URL without tls->insecure, an https:// one without ca_file, or client_cert without
     * client_key fails gw_httpc_request() at once with GW_EINVAL. Redirects are never followed. */
    const struct gw_tls_peer *tls;
};

/* err == 0: the peer answered with HTTP status `status` (any status, including 5xx) and body.
 * err < 0: transport failure (GW_EHTTP, GW_ETIMEDOUT, GW_E2BIG, GW_ECANCELED); status is 0.
 * body is owned by the client and valid only during the callback; it is NUL-terminated.
 * To keep it without a copy, call gw_httpc_take_body() from inside the callback. */
typedef void (*gw_httpc_cb)(int err, long status, const char *body, size_t len, void *ud);

/*
 * The client's connection pool. Connections are kept alive between requests (HTTP/1.1) and
 * reused for the next request to the same host and port. max_connections bounds both the
 * connections open to one host at once (a request beyond it waits inside the client for one to
 * become free) and the idle connections kept for reuse; 0 leaves libcurl's defaults (no limit
 * per host, a cache of four times the transfers in flight, which closes idle connections
 * whenever the transfers in flight drop and reopens them when they rise again). A connection
 * idle for longer than max_idle_ms is not reused but closed (0: 15000, below the 20 s after
 * which common Java servers close an idle keep-alive connection, so a request is never sent on
 * a connection the peer is closing).
 */
struct gw_httpc_opts {
    unsigned max_connections;
    uint64_t max_idle_ms;
};

int gw_httpc_open(uv_loop_t *loop, struct gw_httpc **out) __attribute__((warn_unused_result));

/* The same with pool options (opts may be NULL: as gw_httpc_open). */
int gw_httpc_open_opts(uv_loop_t *loop, const struct gw_httpc_opts *opts, struct gw_httpc **out)
    __attribute__((warn_unused_result));

/*
 * Only from inside a request callback with err != 0: why the transfer failed, as
 * "<code>: <libcurl's message>", the code one of tls_verify_failed (the peer's chain does not end
 * in the pinned CA, or its name does not match the URL's host), tls_handshake_failed (no common
 * protocol version, client certificate refused, ...), tls_ca_file_unusable,
 * tls_client_cert_unusable, timeout, connect_failed, protocol_refused, transport_failed. NULL
 * when the transfer was aborted by this side (cap, source or sink code, cancel). Holds no
 * secret (no header, no body).
 */
const char *gw_httpc_fail_detail(const struct gw_httpc *c);

/* Starts a request. If this returns an error the callback never runs. */
int gw_httpc_request(struct gw_httpc *c, const struct gw_httpc_request *req, gw_httpc_cb cb,
                     void *ud) __attribute__((warn_unused_result));

/*
 * Only from inside a request callback with err == 0: hands the response body over to the caller,
 * who must free() it. The buffer holds the callback's `len` bytes plus a NUL; for a non-empty body
 * it is the `body` pointer itself. Returns NULL outside a callback, after a failed transfer, when
 * the body was already taken, or on allocation failure (the body then stays the client's).
 */
char *gw_httpc_take_body(struct gw_httpc *c) __attribute__((warn_unused_result));

/*
 * Resume a transfer paused by its source (read returned 0) or by its sink (write returned
 * GW_HTTPC_PAUSE). Call from any loop callback except the source's or sink's own; only until the
 * transfer's callback has run. The transfer continues on a later loop iteration (libcurl is never
 * re-entered from here); resuming what is not paused does nothing.
 */
void gw_httpc_resume_source(struct gw_httpc_xfer *x);
void gw_httpc_resume_sink(struct gw_httpc_xfer *x);

/* The loop the client runs on (for adapters that also queue work on it). */
uv_loop_t *gw_httpc_loop(const struct gw_httpc *c);

/* Transfers in flight. */
size_t gw_httpc_inflight(const struct gw_httpc *c);

/* Cancels every transfer (callbacks run with GW_ECANCELED), closes handles and frees. */
void gw_httpc_close(struct gw_httpc *c);

#endif
