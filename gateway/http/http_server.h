#ifndef GW_HTTP_SERVER_H
#define GW_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/sections.h"

/*
 * HTTP/1.1 server on libuv + http-parser. Keep-alive, pipelined requests (answered strictly in
 * order, one at a time per connection), chunked request bodies, and limits on header bytes, body
 * bytes, header/body arrival time (slow clients), idle keep-alive time and connection count (in
 * all and per client address, evicting connections that have not sent a request head first).
 * Limit violations and malformed requests are answered by the server itself with a JSON error
 * {"error":{"code":"...","message":"..."}} and the connection is closed.
 *
 * Handlers may answer asynchronously: the request stays valid until gw_http_respond() is called
 * exactly once. If the client goes away first, the request is marked detached (req->detached)
 * and gw_http_respond() only frees it.
 *
 * Request bodies are buffered as they arrive (never pre-allocated from Content-Length); an
 * optional head check (gw_http_server_set_head_check) can refuse a request, e.g. an
 * unauthenticated one, before any body byte is read.
 */

struct gw_http_server;

struct gw_http_header {
    char *name; /* lower-cased */
    char *value;
};

struct gw_http_req {
    const char *method; /* "GET", "POST", ... */
    char *path;         /* decoded path without query, e.g. "/v1/packages/12" */
    char *query;        /* raw query string without '?', or NULL */
    struct gw_http_header *headers;
    size_t n_headers;
    uint8_t *body; /* NUL-terminated for convenience; body_len excludes the NUL */
    size_t body_len;
    bool keep_alive;
    bool has_body;  /* the head announces a body (Content-Length > 0 or chunked) */
    bool streaming; /* the body is streamed (gw_http_body_start), body is NULL */
    bool detached;  /* client went away; respond only frees */
    char peer[64];  /* "ip:port" */
    /* TLS: SHA-256 of the DER of the client certificate OpenSSL verified on this connection */
    bool client_cert;
    uint8_t client_cert_sha256[32];
    uint64_t received_at_ms; /* uv_now() when the request was complete */
    void *user;              /* free for the handler */
    /* private */
    void *conn_;
};

typedef void (*gw_http_handler_fn)(struct gw_http_req *req, void *ud);

/*
 * Head check: runs once a request head is complete, before any body byte is accepted and before
 * "100 Continue" is sent, and before any body byte is charged to max_inflight_body_bytes.
 * method, path, query, headers and has_body are filled in; body is NULL. ud is the
 * handler's ud. Returns 0 to go on, GW_HTTP_HEAD_KNOWN to go on with a request of a known
 * (authenticated) client, or an HTTP error status (400..599; other values become 500)
 * with *code and *message set (string literals, or strings that outlive the server; NULL gives
 * defaults): the server then answers {"error":{"code":...,"message":...}} without reading the
 * body and closes the connection (a 401 carries "WWW-Authenticate: Bearer"). Must be cheap and
 * synchronous and must not keep req.
 */
typedef int (*gw_http_head_fn)(const struct gw_http_req *req, void *ud, const char **code,
                               const char **message);

/* A connection that has carried a request of a known client is kept, when a connection limit
 * is reached, after every connection that has carried only anonymous requests (0 from the head
 * check) and those are evictable even while their answer is being written. Without a head check
 * every request counts as known. */
#define GW_HTTP_HEAD_KNOWN 1

/*
 * Streaming request bodies. A stream check (gw_http_server_set_stream_check) runs right after the
 * head check; when it returns true the request is handed to the handler as soon as its head is
 * complete, with req->streaming set and no body. The handler calls gw_http_body_start() (now or
 * later) and then receives the body piecewise:
 *  - data(req, bytes, len, ud): the next decoded bytes (Content-Length or chunked), at most
 *    GW_HTTP_STREAM_CHUNK, valid until gw_http_body_resume(req). Until that call nothing more is
 *    parsed and the connection stops reading the socket (uv_read_stop): backpressure. resume may
 *    be called inside data or later from any loop callback.
 *  - end(req, err, ud): err 0, the body is complete. Otherwise the upload failed and the server
 *    has already answered (and closes the connection): GW_ETIMEDOUT (408, body_timeout_ms after
 *    the head), GW_E2BIG (413, over max_body_bytes), GW_EPARSE (400 bad chunked framing, 431
 *    trailers), or GW_EIO (the client went away); the request is then detached.
 * Either way the handler calls gw_http_respond() exactly once, as for any request (after a failed
 * end it only frees). It may answer before the body is complete (a refusal): no data or end
 * callback follows, the response carries "Connection: close" and the connection closes after it
 * (the lingering close drains what the client still sends). max_body_bytes and body_timeout_ms
 * apply as for buffered bodies; only the fixed chunk buffer is charged to the body budget.
 */
#define GW_HTTP_STREAM_CHUNK 65536

typedef bool (*gw_http_stream_fn)(const struct gw_http_req *req, void *ud);

struct gw_http_body_ops {
    void (*data)(struct gw_http_req *req, const uint8_t *bytes, size_t len, void *ud);
    void (*end)(struct gw_http_req *req, int err, void *ud);
};

/* Installs (fn) or removes (NULL) the stream check for heads completing from now on. */
void gw_http_server_set_stream_check(struct gw_http_server *srv, gw_http_stream_fn fn);

/* Starts delivering a streaming request's body; once per request. If the upload already failed
 * (client gone, timeout), end runs inside this call. */
void gw_http_body_start(struct gw_http_req *req, const struct gw_http_body_ops *ops, void *ud);

/* The handler has taken the bytes of the last data callback: parsing and reading go on. */
void gw_http_body_resume(struct gw_http_req *req);

/*
 * Streaming responses: a body of known length produced piecewise. gw_http_respond_stream()
 * sends the head (status, Content-Type, Content-Length: length, the added headers); then the
 * server calls pull(req, ud) whenever nothing of the body is waiting in the write queue and bytes
 * remain; the producer answers each pull, now or later, with exactly one gw_http_stream_write()
 * (copied; 1..GW_HTTP_STREAM_WRITE_MAX bytes, at most what remains) or gw_http_stream_abort().
 * When the last byte is written, done(req, 0, ud) runs; when the client goes away or a write
 * fails, done(req, GW_EIO, ud) runs (from the write's completion). The request is freed when
 * done returns. gw_http_stream_write returns non-zero when the request is detached or the write
 * could not be queued: the producer then calls gw_http_stream_abort (no done follows), which
 * closes the connection and frees the request. A HEAD request gets the head only (done runs
 * with 0 once it is written, pull never).
 */
#define GW_HTTP_STREAM_WRITE_MAX (4u * 1024 * 1024)

struct gw_http_stream_ops {
    void (*pull)(struct gw_http_req *req, void *ud);
    void (*done)(struct gw_http_req *req, int err, void *ud);
};

/* Instead of gw_http_respond. Non-zero (GW_ENOMEM, GW_EINVAL): nothing was sent, the request is
 * still the handler's (answer it with gw_http_respond_error). */
int gw_http_respond_stream(struct gw_http_req *req, int status, const char *content_type,
                           uint64_t length, const struct gw_http_stream_ops *ops, void *ud)
    __attribute__((warn_unused_result));
int gw_http_stream_write(struct gw_http_req *req, const void *data, size_t len)
    __attribute__((warn_unused_result));
void gw_http_stream_abort(struct gw_http_req *req);

void gw_http_limits_default(struct gw_http_limits *l);

/* Binds and listens on host:port (port 0 = ephemeral). */
int gw_http_server_start(uv_loop_t *loop, const char *host, int port,
                         const struct gw_http_limits *limits, gw_http_handler_fn handler, void *ud,
                         struct gw_http_server **out) __attribute__((warn_unused_result));

/*
 * TLS (gateway/http/http_tls.h): from now on new connections speak only TLS, with ctx, which
 * the server owns (the previous one is freed; connections made with it keep it). ctx NULL does
 * nothing. metrics (may be NULL) gets gateway_tls_handshake_failures_total{reason}: reasons of
 * gw_http_tls_reason, "timeout" (not complete header_timeout_ms after the connect) and "eof"
 * (the client closed during the handshake).
 */
struct gw_http_tls_ctx;
struct gw_metrics;
void gw_http_server_set_tls(struct gw_http_server *srv, struct gw_http_tls_ctx *ctx,
                            struct gw_metrics *metrics);

/*
 * Connection limits (docs/internals/http.md "Connections"): beyond max_connections, or beyond
 * max_connections_per_address from one client address (IPv4 address, IPv6 /64), the oldest
 * connection of that scope that has not sent a complete request head is closed to admit the new
 * one; only when there is none is the new one refused (503 too_many_connections, or closed at
 * once for TLS). metrics (NULL: none) gets gateway_http_evictions_total{limit,victim},
 * gateway_http_refused_total{limit} and the gauges gateway_http_connections and
 * gateway_http_client_addresses.
 */
void gw_http_server_set_metrics(struct gw_http_server *srv, struct gw_metrics *metrics);

/* The port actually bound (useful with port 0). */
int gw_http_server_port(const struct gw_http_server *srv);

/* Number of requests handed to the handler and not yet answered. */
size_t gw_http_server_inflight(const struct gw_http_server *srv);

/* Installs (fn) or removes (NULL) the head check for requests whose head completes from now on. */
void gw_http_server_set_head_check(struct gw_http_server *srv, gw_http_head_fn fn);

/* Fault injection for tests: the next n accepted connections are handled as when allocating
 * their state fails (closed at once, counted in gateway_http_refused_total{limit="memory"}). */
void gw_http_server_inject_accept_failures(struct gw_http_server *srv, unsigned n);

/* Stops accepting; idle connections are closed, busy ones close after their current response.
 * drained_cb runs once no connection remains; the server is freed after it returns. */
void gw_http_server_shutdown(struct gw_http_server *srv, void (*drained_cb)(void *ud), void *ud);

/* Drain timeout: closes every connection now, busy ones included. Their requests become
 * detached (gw_http_respond then only frees them); the drained_cb of the earlier shutdown runs
 * once the last of them is answered. Only valid after gw_http_server_shutdown() and before its
 * drained_cb has run (srv is freed then); without a prior shutdown it does nothing. */
void gw_http_server_close_all(struct gw_http_server *srv);

/* Header lookup, case-insensitive; NULL if absent. */
const char *gw_http_req_header(const struct gw_http_req *req, const char *name);

/* Sends the response (adds Content-Length, Date, Connection) and frees the request.
 * Takes no ownership of body. Call exactly once per request. */
void gw_http_respond(struct gw_http_req *req, int status, const char *content_type,
                     const void *body, size_t len);

/* Convenience: JSON error body {"error":{"code":code,"message":message}}. */
void gw_http_respond_error(struct gw_http_req *req, int status, const char *code,
                           const char *message);

/* Response header to add to the next gw_http_respond on this request (e.g. "Retry-After: 5"). */
int gw_http_add_header(struct gw_http_req *req, const char *name, const char *value);

/*
 * Feeds raw bytes to a fresh parser configured like the server, without sockets, and reports what
 * the server would do: used by the fuzz harness. Returns the number of complete requests parsed
 * or a negative GW_E* error.
 */
int gw_http_parse_for_test(const uint8_t *data, size_t len, const struct gw_http_limits *limits);

#endif
