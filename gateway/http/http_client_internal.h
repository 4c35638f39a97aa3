#ifndef GW_HTTP_CLIENT_INTERNAL_H
#define GW_HTTP_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>

#include "http/http_client.h"

/* Shared by http_client.c (the multi handle, buffered bodies) and http_client_stream.c (sources,
 * sinks, pausing) only. */

struct gw_httpc_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct gw_httpc *c;
    struct gw_httpc_sock *prev, *next;
};

struct gw_httpc_xfer {
    struct gw_httpc *c;
    struct gw_httpc_xfer *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *req_body; /* our copy of the request body; NULL when borrowed */
    char *resp;
    size_t resp_len, resp_cap, resp_max;
    int too_big;
    int abort_err; /* GW_E* a source or sink aborted with */
    struct gw_httpc_source source;
    const struct gw_httpc_sink *sink_p;
    struct gw_httpc_sink sink;
    uint64_t up_len, up_sent; /* streamed request body */
    bool src_paused;          /* the read callback answered PAUSE */
    bool sink_paused;         /* the sink asked for a pause */
    bool finished;            /* out of the multi handle, result kept until the sink resumes */
    CURLcode finish_rc;
    bool want_cont;                      /* in the resume list */
    struct gw_httpc_xfer *rprev, *rnext; /* resume list */
    gw_httpc_cb cb;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
    char fail[CURL_ERROR_SIZE + 32]; /* "<reason>: <libcurl's message>" of a failed transfer */
};

struct gw_httpc {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_timer_t resume_timer; /* runs the resumes asked for, outside libcurl */
    struct gw_httpc_xfer *resumes;
    struct gw_httpc_xfer *xfers;
    struct gw_httpc_sock *socks;
    size_t inflight;
    struct gw_httpc_xfer *in_cb; /* transfer whose success callback is running (take_body) */
    const char *fail_detail;     /* the failed transfer's, while its callback runs */
    unsigned open_handles;       /* timer + polls not yet through their close callback */
    int closing;
    uint64_t max_idle_ms; /* CURLOPT_MAXAGE_CONN of every transfer, in ms */
};

/* http_client.c */
void gw_httpc_xfer_unlink(struct gw_httpc_xfer *x);
/* Runs the callback of a transfer out of the multi handle (and of c->xfers) and frees it. */
void gw_httpc_finish(struct gw_httpc_xfer *x, CURLcode rc);
/* Completes the finished transfers (those whose sink is paused wait). */
void gw_httpc_check_done(struct gw_httpc *c);

/* http_client_stream.c */
void gw_httpc_resume_unlink(struct gw_httpc_xfer *x);
/* The write callback's part for a sink: n bytes of the body. */
size_t gw_httpc_sink_write(struct gw_httpc_xfer *x, char *ptr, size_t n);
/* Sets the transfer up to pull its body from req->source. */
void gw_httpc_setup_source(struct gw_httpc_xfer *x, const struct gw_httpc_request *req);

#endif
