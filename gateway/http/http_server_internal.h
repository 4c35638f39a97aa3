#ifndef GW_HTTP_SERVER_INTERNAL_H
#define GW_HTTP_SERVER_INTERNAL_H

/*
 * Internals of the HTTP server shared by http_parse.c + http_req.c (request parser, no I/O),
 * http_parse_sim.c (socket-free read loop), http_response.c (response formatting), http_conn.c
 * (one client connection), http_conn_tls.c (its TLS layer), http_admit.c (connection limits)
 * and http_server.c (listener). Not for use outside those files, except by the fuzz harness and
 * the unit tests.
 */

#include "util/common.h"
#include "util/error.h"
#include "http/http_server.h"
#include "http/http_tls.h"
#include "util/logrl.h"

#include <http_parser.h>
#include <stddef.h>

#define GW_HTTP_INBUF_SIZE    16384 /* per-connection read buffer */
#define GW_HTTP_LINGER_MS     2000  /* drain input this long after a final response */
#define GW_HTTP_LINGER_MAX    (256 * 1024)
#define GW_HTTP_MAX_REJECTING 64   /* 503 answers in flight at once */
#define GW_HTTP_EXTRA_HDR_MAX 4096 /* bytes of gw_http_add_header() data per request */
#define GW_HTTP_MAX_URL       65535
#define GW_HTTP_BODY_MIN      4096 /* first body buffer (unless the announced body is smaller) */
#define GW_HTTP_RETRY_AFTER   "Retry-After: 5\r\n"
#define GW_HTTP_TLS_IN_MAX    (64 * 1024)  /* ciphertext read but not yet decrypted */
#define GW_HTTP_TLS_WQ_MAX    (256 * 1024) /* TLS's own records (handshake, alerts) unsent */

/* ---- request parser (http_parse.c) ---- */

enum gw_http_phase {
    GW_HTTP_PHASE_HEAD, /* first byte of a request seen */
    GW_HTTP_PHASE_BODY, /* head complete and accepted; body (if any) follows */
};

struct gw_http_field {
    size_t name_off, name_len, value_off, value_len;
};

/* Bytes of request body buffers (capacity, NUL included) alive across all connections. */
struct gw_http_budget {
    size_t limit; /* 0 = unlimited */
    size_t used;
};

struct gw_http_pctx {
    http_parser parser;
    struct gw_http_limits limits;
    struct gw_http_budget *budget; /* may be NULL (no global budget) */
    const uint8_t *peer_cert;      /* TLS: verified client certificate's SHA-256, or NULL */
    /* Both may be NULL. on_head sees the built request head before any body byte; non-zero
     * stops the request (it records the error with gw_http_pctx_fail). on_phase only observes. */
    int (*on_head)(struct gw_http_pctx *pc, const struct gw_http_req *req);
    void (*on_phase)(struct gw_http_pctx *pc, enum gw_http_phase ph);

    /* request head under construction: URL then header names/values, no separators */
    char *head;
    size_t head_len, head_cap, url_len;
    struct gw_http_field *fields;
    size_t n_fields, fields_cap;
    bool in_value;
    bool headers_done;
    bool expect_continue; /* client waits for 100 Continue */
    size_t head_raw;      /* raw bytes of the current head fed so far */
    size_t trailer_bytes;

    struct gw_http_req *building; /* head built when the headers were complete; body follows */
    uint8_t *body;                /* grown as bytes arrive, charged to *budget */
    size_t body_len, body_cap;
    uint64_t body_announced; /* Content-Length, or UINT64_MAX if none */
    /* Streaming body (set by on_head): the request is handed out (ready) at the end of the head;
     * body is then a fixed buffer of body_cap bytes the connection empties into the handler, and
     * feed parses only as many raw bytes as there is room left in it. */
    bool streaming;
    bool stream_done;    /* the streamed message is complete */
    uint64_t body_total; /* streamed bytes so far */

    /* outcome of gw_http_pctx_feed */
    struct gw_http_req *ready; /* complete request, take with gw_http_pctx_take */
    bool closed;               /* a non-keep-alive request was seen: nothing follows */
    int err_status;            /* != 0: stop, answer with this status and close */
    const char *err_code;
    const char *err_msg;
    const char *err_extra; /* static "Name: value\r\n" lines for the error response, or NULL */
};

/* Private part of a request; the public struct is the first member. */
struct gw_http_req_priv {
    struct gw_http_req pub;
    bool head_only; /* HEAD request: response carries no body */
    bool body_owned;
    char *extra; /* "Name: value\r\n"... from gw_http_add_header */
    size_t extra_len;
    struct gw_http_budget *budget; /* the owned body's capacity is charged here */
    size_t charged;
    uint8_t empty_body[1]; /* req->body when there is none */
};

void gw_http_pctx_init(struct gw_http_pctx *pc, const struct gw_http_limits *limits);
void gw_http_pctx_free(struct gw_http_pctx *pc);

/* Parses until one request is complete (pc->ready), an error (pc->err_status) or the data runs
 * out. Returns the number of bytes consumed; the rest must be fed again later. */
size_t gw_http_pctx_feed(struct gw_http_pctx *pc, const char *data, size_t len);

/* Takes the completed request out of the parser; NULL if none. */
struct gw_http_req *gw_http_pctx_take(struct gw_http_pctx *pc);

/* Records the first error of the current request; returns -1 for http-parser callbacks. */
int gw_http_pctx_fail(struct gw_http_pctx *pc, int status, const char *code, const char *msg);

/* Records a 503 server_busy (body budget exhausted, with Retry-After); returns -1. */
int gw_http_pctx_busy(struct gw_http_pctx *pc);

/* Frees the body buffer (a finished stream's) and returns its charge to the budget. */
void gw_http_pctx_drop_body(struct gw_http_pctx *pc);

/* http_req.c */
const char *gw_http_trim(const char *s, size_t len, size_t *out_len);
/* Builds the request from the complete head; req->body is NULL until gw_http_req_take_body. */
struct gw_http_req *gw_http_req_build(struct gw_http_pctx *pc, http_parser *p);
/* Moves the parser's body buffer (and its budget charge) into req; empty body if none. */
void gw_http_req_take_body(struct gw_http_req *req, struct gw_http_pctx *pc);
void gw_http_req_free(struct gw_http_req *req);

/* Like gw_http_parse_for_test, but feeds the input in reads of `step` bytes (0 = all at once). */
int gw_http_parse_split_for_test(const uint8_t *data, size_t len,
                                 const struct gw_http_limits *limits, size_t step);

/* ---- responses (http_response.c) ---- */

/* Builds a complete response (status line, headers, body) in one malloc'd buffer. */
int gw_http_format_response(int status, const char *content_type, const void *body, size_t len,
                            bool keep_alive, bool head_only, const char *extra, size_t extra_len,
                            char **out, size_t *out_len) GW_MUST_CHECK;

/* {"error":{"code":...,"message":...}} in a malloc'd NUL-terminated buffer; NULL on ENOMEM. */
char *gw_http_json_error(const char *code, const char *message, size_t *len);

/* ---- connections (http_conn.c) ---- */

enum gw_http_cstate {
    GW_HTTP_C_IDLE,    /* keep-alive, waiting for the next request */
    GW_HTTP_C_HEAD,    /* receiving a request head */
    GW_HTTP_C_BODY,    /* receiving a request body */
    GW_HTTP_C_STREAM,  /* request with the handler, its body streamed to it (body timer runs) */
    GW_HTTP_C_BUSY,    /* request handed to the handler */
    GW_HTTP_C_WRITING, /* response being written */
    GW_HTTP_C_LINGER,  /* final response sent, draining input before close */
    GW_HTTP_C_CLOSING, /* uv_close issued */
};

/* A streamed request body (gw_http_body_start). */
struct gw_http_instream {
    struct gw_http_body_ops ops;
    void *ud;
    bool active;       /* dispatched streaming, body not finished, not answered */
    bool started;      /* the handler called gw_http_body_start */
    bool held;         /* data delivered, waiting for gw_http_body_resume */
    int failed;        /* the upload failed before the handler started it (end told at start) */
    bool continue_due; /* Expect: 100-continue: the interim answer waits for the start */
};

/* A streamed response body (gw_http_respond_stream). */
struct gw_http_outstream {
    struct gw_http_stream_ops ops;
    void *ud;
    bool active;
    bool pulling; /* pull called, its write not yet given */
    uint64_t remaining;
};

/* Admission (http_admit.c). A connection that has not sent a complete request head for its
 * current request is on one eviction list, in the order it joined it; the lists are taken in
 * this order when a limit is reached. A head complete (request with the handler, body arriving,
 * response being written) takes it off: such a connection is never evicted. */
enum gw_http_evclass {
    GW_HTTP_EV_NEW,    /* no head completed yet: new, partial head, TLS handshake */
    GW_HTTP_EV_LINGER, /* answered with close, draining input before the close */
    GW_HTTP_EV_ANON,   /* only anonymous requests: between them, or writing an answer */
    GW_HTTP_EV_KEPT,   /* a known client's keep-alive: between requests, or its next head */
    GW_HTTP_EV_N,
    GW_HTTP_EV_NONE = GW_HTTP_EV_N, /* not evictable */
};

enum gw_http_limit_kind { GW_HTTP_LIM_SERVER, GW_HTTP_LIM_ADDRESS, GW_HTTP_LIM_N };

struct gw_http_conn;
struct gw_http_clist {
    struct gw_http_conn *head, *tail; /* oldest first */
};
struct gw_http_clink {
    struct gw_http_conn *prev, *next;
};

/* One client address (IPv4 address or IPv6 /64) with connections open. */
struct gw_http_addr {
    struct gw_http_addr *next; /* hash chain */
    uint64_t key;
    uint8_t family; /* 4, 6, or 0 (address unknown) */
    unsigned n;     /* admitted connections open */
    struct gw_http_clist ev[GW_HTTP_EV_N];
};

struct gw_http_addrs {
    struct gw_http_addr **buckets;
    size_t n_buckets; /* power of two */
    size_t n;         /* entries */
    uint64_t seed;
};

struct gw_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    struct gw_http_server *srv;
    struct gw_http_conn *prev, *next;
    enum gw_http_cstate state;
    struct gw_http_pctx pc;
    struct gw_http_req *inflight; /* handed to the handler, not yet answered */
    int handles_open;             /* tcp + timer not yet closed */
    bool reading;
    bool close_after;          /* close once the current response is written */
    bool rejecting;            /* refused: a limit reached and nothing evictable, gets 503 */
    bool served;               /* a request head completed on this connection */
    bool known;                /* one of them from a known client (GW_HTTP_HEAD_KNOWN) */
    struct gw_http_addr *addr; /* admitted: its client address; NULL otherwise */
    enum gw_http_evclass ev;   /* eviction list it is on */
    struct gw_http_clink ev_all, ev_addr; /* links in srv->ev[ev] and addr->ev[ev] */
    bool processing;                      /* inside gw_http_conn_process (no recursion) */
    struct gw_http_instream ins;
    struct gw_http_outstream outs;
    size_t linger_bytes;
    size_t in_len, in_pos;
    struct gw_http_tls *tls; /* NULL: plain HTTP */
    size_t tls_queued;       /* bytes of TLS's own records in the write queue */
    char peer[64];
    char in[GW_HTTP_INBUF_SIZE]; /* plaintext */
};

struct gw_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct gw_http_limits limits;
    struct gw_http_budget bodies; /* max_inflight_body_bytes */
    gw_http_handler_fn handler;
    gw_http_head_fn head_check;     /* may be NULL */
    gw_http_stream_fn stream_check; /* may be NULL */
    void *ud;
    struct gw_http_conn *conns;
    unsigned n_active;                     /* admitted connections open (not yet closing) */
    unsigned n_rejecting;                  /* refused connections being answered with 503 */
    struct gw_http_addrs addrs;            /* admitted connections by client address */
    struct gw_http_clist ev[GW_HTTP_EV_N]; /* evictable connections, all addresses */
    /* gw_http_server_set_metrics: evictions by limit and class, refusals by limit */
    struct gw_metric *m_evicted[GW_HTTP_LIM_N][GW_HTTP_EV_N];
    struct gw_metric *m_refused[GW_HTTP_LIM_N];
    struct gw_metric *m_refused_memory; /* gateway_http_refused_total{limit="memory"} */
    struct gw_metric *m_open, *m_addrs; /* gauges */
    struct gw_logrl admit_rl;           /* debug lines about evictions and refusals */
    size_t n_conns; /* connection structs alive (incl. closed with a detached request) */
    size_t n_inflight;
    int port;
    bool shutting_down;
    bool listener_closed;
    void (*drained_cb)(void *ud);
    void *drained_ud;
    /* TLS (gw_http_server_set_tls): the context for new connections, or NULL for plain HTTP */
    struct gw_http_tls_ctx *tls;
    struct gw_metric_family *tls_failures; /* gateway_tls_handshake_failures_total{reason} */
    struct gw_logrl tls_rl;                /* debug lines about failed handshakes */
    char *tls_in;                          /* read buffer shared by TLS connections (ciphertext) */
    /* A connection whose state cannot be allocated is accepted here and closed at once
     * (gw_http_server_refuse_pending); spare_waiting: one more waits for the spare's close. */
    uv_tcp_t spare;
    bool spare_busy;
    bool spare_waiting;
    unsigned fail_accepts; /* gw_http_server_inject_accept_failures */
};

/* Accepts one pending connection on srv's listener (see http_admit.c for the limits). */
void gw_http_conn_accept(struct gw_http_server *srv);
/* The pending connection cannot be given a connection of its own (no memory): it is accepted on
 * the spare handle and closed, so that the listener keeps accepting. */
void gw_http_server_refuse_pending(struct gw_http_server *srv);
void gw_http_conn_close(struct gw_http_conn *c);

/* Writes the interim "100 Continue"; closes the connection when the write cannot be queued. */
void gw_http_conn_send_continue(struct gw_http_conn *c);
/* An idle keep-alive connection ends: closed, or with TLS close_notify first (then lingers). */
void gw_http_conn_close_idle(struct gw_http_conn *c);

/* Called by gw_http_respond: resp (malloc'd; NULL if it could not be built) is written, the
 * request freed. For a detached request resp is simply freed. */
void gw_http_conn_req_done(struct gw_http_conn *c, struct gw_http_req *req, char *resp,
                           size_t resp_len, bool close_after);
bool gw_http_conn_keep_alive_ok(const struct gw_http_conn *c);
/* gw_http_respond_stream on a connection: head (malloc'd) is written, then the body is pulled. */
int gw_http_conn_stream_begin(struct gw_http_conn *c, struct gw_http_req *req, char *head,
                              size_t head_len, bool close_after, uint64_t length,
                              const struct gw_http_stream_ops *ops, void *ud);

/* Shared by http_conn.c and http_stream.c. */
enum gw_http_wkind {
    GW_HTTP_W_CONTINUE, /* static 100 Continue */
    GW_HTTP_W_RESPONSE, /* a whole response */
    GW_HTTP_W_STREAM,   /* head or piece of a streamed response */
    GW_HTTP_W_TLS,      /* TLS's own records: handshake, alerts, close_notify */
};
void gw_http_conn_set_state(struct gw_http_conn *c, enum gw_http_cstate st);
void gw_http_conn_process(struct gw_http_conn *c);
void gw_http_conn_update_reading(struct gw_http_conn *c);
/* Queues buf (freed after the write unless kind is CONTINUE). */
int gw_http_conn_write(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind);
void gw_http_conn_fail(struct gw_http_conn *c, int status, const char *code, const char *msg,
                       const char *extra);
/* A response has been written completely: linger or go on with the next request. */
void gw_http_conn_written(struct gw_http_conn *c);
void gw_http_conn_free(struct gw_http_conn *c);

/* http_stream.c: one step of a streamed request body; false when nothing more can be done now. */
bool gw_http_instream_step(struct gw_http_conn *c);
/* The streamed body failed (err: GW_ETIMEDOUT, GW_E2BIG, GW_EPARSE, GW_EIO); the server's own
 * answer, if any, has been queued. Tells the handler (now or at its gw_http_body_start). */
void gw_http_instream_abort(struct gw_http_conn *c, int err);
/* The server's own answer to a limit hit while a body streams in (408, 413, 400), then abort. */
void gw_http_instream_fail(struct gw_http_conn *c, int status, const char *code, const char *msg,
                           const char *extra);
/* One parse step of a streamed body (room in the chunk buffer); false when nothing moved. */
bool gw_http_instream_feed(struct gw_http_conn *c);
/* The handler answered (or the request ended): no stream callback follows. */
void gw_http_instream_clear(struct gw_http_conn *c);
/* A streamed response's write completed (status < 0: failed or cancelled). */
void gw_http_outstream_written(struct gw_http_conn *c, int status);

/* http_conn_tls.c: the connection's TLS layer (c->tls set). */
/* Ciphertext read from the socket: decrypted into c->in as far as there is room. */
void gw_http_conn_tls_input(struct gw_http_conn *c, const char *data, size_t len);
/* Decrypts what is buffered into the room left in c->in; false if the connection was closed. */
bool gw_http_conn_tls_pull(struct gw_http_conn *c);
/* Whether reading more ciphertext is useful now (room for plaintext, bounded buffers). */
bool gw_http_conn_tls_want_read(const struct gw_http_conn *c);
/* Encrypts buf (freed unless kind is CONTINUE) and queues the records. */
int gw_http_conn_tls_write(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind);
/* Queues close_notify before the connection is shut down. */
void gw_http_conn_tls_goodbye(struct gw_http_conn *c);
/* The handshake did not complete (reason: a label of gw_http_tls_reason, "timeout", "eof"). */
void gw_http_conn_tls_failed(struct gw_http_conn *c, const char *reason);
/* http_conn.c: queues bytes as they are on the socket (buf freed afterwards if owned; also on
 * error). */
int gw_http_conn_send(struct gw_http_conn *c, char *buf, size_t len, enum gw_http_wkind kind,
                      bool owned);

/* ---- listener bookkeeping (http_server.c) ---- */

int gw_http_limits_check(const struct gw_http_limits *l);
/* c is on the server's list of connection structs (not yet admitted). */
void gw_http_server_conn_added(struct gw_http_server *srv, struct gw_http_conn *c);
/* c is about to be freed; may finish the drain and free srv. */
void gw_http_server_conn_gone(struct gw_http_server *srv, struct gw_http_conn *c);

/* ---- admission (http_admit.c) ---- */

int gw_http_admit_init(struct gw_http_server *srv) GW_MUST_CHECK;
/* Frees the address table (every connection has been released). */
void gw_http_admit_free(struct gw_http_server *srv);
/* Counts accepted c (peer address sa, NULL if unknown) against both limits, evicting the oldest
 * evictable connection of the full scope first. GW_ELIMIT: a limit is reached and nothing in its
 * scope is evictable (counted as a refusal); GW_ENOMEM. Either way c is not admitted. */
int gw_http_admit(struct gw_http_server *srv, struct gw_http_conn *c,
                  const struct sockaddr *sa) GW_MUST_CHECK;
/* The key c is counted under: IPv4 (also IPv4-mapped IPv6) by address, IPv6 by its /64;
 * family 4 or 6, or 0 for an unknown address (sa NULL or another family). */
void gw_http_admit_key(const struct sockaddr *sa, uint64_t *key, uint8_t *family);
/* c's state changed: moves it onto the eviction list of its state, or off them. */
void gw_http_admit_track(struct gw_http_conn *c);
/* c is closing: its slot and its address's are free now (the struct may live on a while). */
void gw_http_admit_release(struct gw_http_conn *c);

#endif
