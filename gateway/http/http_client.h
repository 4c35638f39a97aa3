#ifndef GW_HTTP_CLIENT_H
#define GW_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/*
 * Outbound HTTP for adapters: one long-lived libcurl multi handle driven by the libuv loop
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION with uv_poll and uv_timer, as in curl's multi-uv
 * example). Requests never block the loop. Responses are buffered up to a per-request cap.
 */

struct gw_httpc;

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
    size_t max_response_bytes;   /* 0 = 16 MiB; larger responses fail with GW_E2BIG */
};

/* err == 0: the peer answered with HTTP status `status` (any status, including 5xx) and body.
 * err < 0: transport failure (GW_EHTTP, GW_ETIMEDOUT, GW_E2BIG, GW_ECANCELED); status is 0.
 * body is owned by the client and valid only during the callback; it is NUL-terminated.
 * To keep it without a copy, call gw_httpc_take_body() from inside the callback. */
typedef void (*gw_httpc_cb)(int err, long status, const char *body, size_t len, void *ud);

int gw_httpc_open(uv_loop_t *loop, struct gw_httpc **out) __attribute__((warn_unused_result));

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

/* The loop the client runs on (for adapters that also queue work on it). */
uv_loop_t *gw_httpc_loop(const struct gw_httpc *c);

/* Transfers in flight. */
size_t gw_httpc_inflight(const struct gw_httpc *c);

/* Cancels every transfer (callbacks run with GW_ECANCELED), closes handles and frees. */
void gw_httpc_close(struct gw_httpc *c);

#endif
