#ifndef GW_DISPATCH_INTERNAL_H
#define GW_DISPATCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Shared by dispatch.c (claims and sends) and dispatch_record.c (recording outcomes) only. */

struct gw_app;

struct gw_send {
    struct gw_dispatch *d;
    struct gw_send *next; /* in the retry or batch list */
    int64_t delivery_id;
    int64_t package_id;
    char *document_id;
    char *axis_doc_id; /* on success */
    char *error;       /* on failure */
    uint8_t *bytes;
    size_t len;
    int attempts;
    int record_tries;
};

struct gw_dispatch {
    struct gw_app *app;
    uv_timer_t timer;
    unsigned inflight;
    uint64_t inflight_bytes; /* package bytes held by sends in flight */
    unsigned requested;      /* rows asked for by the claim in flight */
    bool claiming;
    bool saturated; /* the last claim filled all its room (or had none): more is likely due */
    bool rekick;    /* a kick arrived while a claim was in flight */
    bool stopping;
    bool closed;              /* handle closed: free once the last late callback is done */
    struct gw_send *retry;    /* outcomes whose recording failed, retried on the next tick */
    struct gw_send *batch;    /* successes waiting for the next batch record */
    struct gw_send *flushing; /* successes being recorded by the query in flight */
};

/* Frees one send (and its share of the byte budget). */
void gw_dispatch_send_free(struct gw_send *s);

/* The send's outcome is recorded (or abandoned to its lease): free it, claim more if due. */
void gw_dispatch_send_finished(struct gw_send *s);

/* Records the outcome of a send: successes are batched into one transaction, failures are
 * recorded one by one with their backoff. Failed recordings are kept for the next tick. */
void gw_dispatch_record(struct gw_send *s);

/* Records again what could not be recorded before. */
void gw_dispatch_record_retry(struct gw_dispatch *d);

/* Frees every outcome still waiting to be recorded (forced stop). */
void gw_dispatch_record_drop(struct gw_dispatch *d);

#endif
