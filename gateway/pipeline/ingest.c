/*
 * The shared ingest pipeline (ingest.h): bytes in -> a filling buffer of GW_INGEST_CHUNK bytes ->
 * when full, the buffer goes in flight: fed to the streaming reader on the thread pool and, at
 * the same time, INSERTed as the next chunk of the staged body. The next buffer goes only when
 * both are done, so a package costs two buffers whatever its size (the database pool reads the
 * chunk from the buffer in flight, which stays untouched until its INSERT is acknowledged), and a
 * slow database or parser slows the writer down (gw_ingest_write takes less, ready says when to go
 * on) instead of growing memory.
 */
#include "pipeline/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxml/edxml.h"
#include "store/store_body.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

struct gw_ingest {
    struct gw_ingest_deps deps;
    gw_ingest_ready_fn ready;
    gw_ingest_done_fn done;
    void *ud;
    uv_timer_t kick; /* runs step() outside the caller's call */
    uv_work_t work;
    struct gw_edxml_reader *reader;

    uint8_t *fill, *flight;
    size_t fill_len, flight_len;
    int64_t body_id;
    bool inline_body; /* inline_single: the one buffer is kept for the caller, not staged */
    int64_t seq;      /* next chunk number */
    uint64_t stored;  /* bytes whose chunk is committed */

    bool feeding;     /* feed or finish work on the thread pool */
    bool putting;     /* begin or put in flight */
    bool finishing;   /* gw_ingest_finish called */
    bool finish_sent; /* the finish work was queued */
    bool finish_done; /* ... and completed */
    bool stopped;     /* refused or failed: no more bytes */
    bool aborted;     /* the caller left */
    bool want_ready;  /* a write was short */
    bool ended;       /* done called or freeing */

    /* outcome */
    enum gw_ingest_outcome outcome;
    int err;
    const char *code;
    char msg[320];
    struct gw_edxml_doc *doc;
    char *json;
    int work_err; /* set by the worker */
    const char *work_code;
    char work_msg[320];
};

static void gw_ingest_step(struct gw_ingest *in);

static void gw_ingest_closed(uv_handle_t *h)
{
    struct gw_ingest *in = h->data;

    gw_edxml_reader_free(in->reader);
    if (in->doc) {
        gw_edxml_doc_free(in->doc);
        free(in->doc);
    }
    free(in->json);
    free(in->fill);
    free(in->flight);
    free(in);
}

static void gw_ingest_free(struct gw_ingest *in)
{
    in->ended = true;
    uv_close((uv_handle_t *)&in->kick, gw_ingest_closed);
}

static void gw_ingest_on_kick(uv_timer_t *t)
{
    gw_ingest_step(t->data);
}

static void gw_ingest_kick(struct gw_ingest *in)
{
    if (!in->ended)
        uv_timer_start(&in->kick, gw_ingest_on_kick, 0, 0);
}

/* Records the first failure (FAILED) or refusal (REFUSED) and stops taking bytes. */
static void gw_ingest_stop(struct gw_ingest *in, enum gw_ingest_outcome o, int err,
                           const char *code, const char *msg)
{
    if (in->stopped)
        return;
    in->stopped = true;
    in->outcome = o;
    in->err = err;
    in->code = code ? code : gw_errcode(err);
    if (msg && msg[0])
        snprintf(in->msg, sizeof(in->msg), "%s", msg);
    else
        snprintf(in->msg, sizeof(in->msg), "%s: %s", in->code, gw_strerror(err));
}

/* The reader's error as a refusal (a verdict on the package) or a local failure. */
static void gw_ingest_reader_error(struct gw_ingest *in)
{
    gw_ingest_stop(in, gw_edxml_is_verdict(in->work_err) ? GW_INGEST_REFUSED : GW_INGEST_FAILED,
                   in->work_err, in->work_code, in->work_msg);
}

/* ---- thread pool ---- */

static void gw_ingest_feed_work(uv_work_t *w)
{
    struct gw_ingest *in = gw_container_of(w, struct gw_ingest, work);
    struct gw_edxml_doc *doc = NULL;

    in->work_err = gw_edxml_reader_feed(in->reader, in->flight, in->flight_len);
    if (in->work_err == 0)
        return;
    /* Stopped for good: finish gives the stable code and the explanation. */
    in->work_code = NULL;
    if (gw_edxml_reader_finish(in->reader, &doc, &in->work_code, in->work_msg,
                               sizeof(in->work_msg)) == 0)
        in->work_err = GW_EIO; /* a reader that fails a feed and then succeeds: a fault */
    if (doc) {                 /* cannot happen after a failed feed */
        gw_edxml_doc_free(doc);
        free(doc);
    }
}

static void gw_ingest_finish_work(uv_work_t *w)
{
    struct gw_ingest *in = gw_container_of(w, struct gw_ingest, work);
    int rc;

    in->work_code = NULL;
    in->work_err = gw_edxml_reader_finish(in->reader, &in->doc, &in->work_code, in->work_msg,
                                          sizeof(in->work_msg));
    if (in->work_err != 0)
        return;
    if (in->deps.check && (rc = in->deps.check(in->doc, in->deps.check_ud)) != 0) {
        in->work_err = rc;
        in->work_code = "conformance";
        snprintf(in->work_msg, sizeof(in->work_msg), "conformance: %s", gw_strerror(rc));
        return;
    }
    if (in->deps.to_json)
        rc = (in->json = in->deps.to_json(in->doc)) ? 0 : GW_ENOMEM;
    else
        in->json = gw_ingest_doc_json_annotated(in->doc, &in->deps, &rc);
    if (!in->json) {
        in->work_err = rc;
        in->work_code = rc == GW_ENOMEM ? "out_of_memory" : "annotate";
        snprintf(in->work_msg, sizeof(in->work_msg), "%s: package JSON", in->work_code);
    }
}

static void gw_ingest_work_done(uv_work_t *w, int status)
{
    struct gw_ingest *in = gw_container_of(w, struct gw_ingest, work);

    in->feeding = false;
    if (status != 0)
        gw_ingest_stop(in, GW_INGEST_FAILED, GW_ECANCELED, "cancelled", NULL);
    else if (in->work_err != 0)
        gw_ingest_reader_error(in);
    if (in->finish_sent)
        in->finish_done = true;
    gw_ingest_step(in);
}

/* ---- database ---- */

static void gw_ingest_db_failed(struct gw_ingest *in, int err, const char *what)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "database: %s (%s)", what, gw_strerror(err));
    gw_ingest_stop(in, GW_INGEST_FAILED, err ? err : GW_EDB, "database", msg);
}

/* The chunk in flight is committed: kept for the readers that follow while the body is small
 * enough (body_cache.h), every kept chunk dropped once it is not. */
static void gw_ingest_stored(struct gw_ingest *in)
{
    bool was_kept = in->stored <= GW_BODY_CACHE_BODY_MAX;

    in->stored += in->flight_len;
    if (in->stored <= GW_BODY_CACHE_BODY_MAX)
        gw_body_cache_put(in->deps.cache, in->body_id, in->seq - 1, in->flight, in->flight_len);
    else if (was_kept)
        gw_body_cache_forget(in->deps.cache, in->body_id);
}

static void gw_ingest_put_done(int err, bool staged, void *ud)
{
    struct gw_ingest *in = ud;

    in->putting = false;
    if (err != 0)
        gw_ingest_db_failed(in, err, "storing a chunk failed");
    else if (!staged)
        gw_ingest_db_failed(in, GW_EDB, "the staged body is gone");
    else
        gw_ingest_stored(in);
    gw_ingest_step(in);
}

static void gw_ingest_put(struct gw_ingest *in)
{
    int rc = gw_store_body_put(in->deps.db, in->body_id, in->seq, in->flight, in->flight_len,
                               gw_ingest_put_done, in);
    if (rc != 0) {
        gw_ingest_db_failed(in, rc, "a chunk could not be queued");
        return;
    }
    in->seq++;
    in->putting = true;
}

/* The body is staged with the first chunk in it. */
static void gw_ingest_begun(int err, int64_t body_id, void *ud)
{
    struct gw_ingest *in = ud;

    in->putting = false;
    if (err != 0) {
        gw_ingest_db_failed(in, err, "staging a body failed");
    } else {
        in->body_id = body_id;
        gw_ingest_stored(in);
    }
    gw_ingest_step(in);
}

/* ---- the buffers ---- */

/* Sends the filling buffer in flight (both ways). Only when nothing is in flight. */
static void gw_ingest_launch(struct gw_ingest *in)
{
    uint8_t *t = in->flight;
    int rc;

    in->flight = in->fill;
    in->flight_len = in->fill_len;
    in->fill = t;
    in->fill_len = 0;
    in->work_err = 0;
    if (uv_queue_work(in->deps.loop, &in->work, gw_ingest_feed_work, gw_ingest_work_done) != 0) {
        gw_ingest_stop(in, GW_INGEST_FAILED, GW_EAGAIN, "thread_pool", NULL);
        return;
    }
    in->feeding = true;
    if (in->body_id) {
        gw_ingest_put(in);
        return;
    }
    if (in->finishing && in->deps.inline_single) { /* the whole package is this buffer */
        in->inline_body = true;
        in->stored += in->flight_len;
        return;
    }
    rc = gw_store_body_start(in->deps.db, in->flight, in->flight_len, gw_ingest_begun, in);
    if (rc != 0) {
        gw_ingest_db_failed(in, rc, "a body could not be staged");
    } else {
        in->seq = 1;
        in->putting = true;
    }
}

static bool gw_ingest_idle(const struct gw_ingest *in)
{
    return !in->feeding && !in->putting;
}

static void gw_ingest_discard(struct gw_ingest *in)
{
    if (in->body_id && gw_store_body_drop(in->deps.db, in->deps.cache, in->body_id) != 0)
        gw_warn("ingest.discard", "staged body %lld left to the janitor", (long long)in->body_id);
    in->body_id = 0;
}

static void gw_ingest_end(struct gw_ingest *in)
{
    struct gw_ingest_result r = {
        .outcome = in->outcome, .err = in->err, .code = in->code, .message = in->msg};

    if (in->outcome == GW_INGEST_OK) {
        r.code = NULL;
        r.message = NULL;
        r.doc = in->doc;
        r.doc_json = in->json;
        r.body_id = in->body_id;
        if (in->inline_body) {
            r.bytes = in->flight;
            in->flight = NULL;
        }
        r.size = in->doc->size;
        memcpy(r.sha256, in->doc->sha256, 32);
        in->doc = NULL;
        in->json = NULL;
    } else {
        gw_ingest_discard(in);
    }
    in->ended = true;
    in->done(&r, in->ud);
    if (r.doc) {
        gw_edxml_doc_free(r.doc);
        free(r.doc);
    }
    free(r.doc_json);
    free(r.bytes);
    gw_ingest_free(in);
}

static void gw_ingest_step(struct gw_ingest *in)
{
    if (in->ended)
        return;
    if (in->aborted) {
        if (gw_ingest_idle(in)) {
            gw_ingest_discard(in);
            gw_ingest_free(in);
        }
        return;
    }
    if (in->stopped) {
        if (gw_ingest_idle(in))
            gw_ingest_end(in);
        return;
    }
    if (in->finish_done) {
        in->outcome = GW_INGEST_OK;
        if (in->stored != in->doc->size) /* cannot happen: every chunk was acknowledged */
            gw_ingest_stop(in, GW_INGEST_FAILED, GW_EIO, "io_error", "stored size differs");
        gw_ingest_end(in);
        return;
    }
    if (!gw_ingest_idle(in))
        return;
    if (in->fill_len == GW_INGEST_CHUNK || (in->finishing && in->fill_len > 0)) {
        gw_ingest_launch(in);
        if (in->stopped && gw_ingest_idle(in))
            gw_ingest_kick(in);
    } else if (in->finishing && !in->finish_sent) {
        in->work_err = 0;
        if (uv_queue_work(in->deps.loop, &in->work, gw_ingest_finish_work, gw_ingest_work_done) !=
            0) {
            gw_ingest_stop(in, GW_INGEST_FAILED, GW_EAGAIN, "thread_pool", NULL);
            gw_ingest_kick(in);
            return;
        }
        in->finish_sent = true;
        in->feeding = true;
    }
    if (in->want_ready && !in->finishing && !in->stopped && in->fill_len < GW_INGEST_CHUNK) {
        in->want_ready = false;
        in->ready(in->ud);
    }
}

struct gw_ingest *gw_ingest_new(const struct gw_ingest_deps *deps, gw_ingest_ready_fn ready,
                                gw_ingest_done_fn done, void *ud)
{
    struct gw_ingest *in = calloc(1, sizeof(*in));

    if (!in)
        return NULL;
    in->deps = *deps;
    in->ready = ready;
    in->done = done;
    in->ud = ud;
    in->fill = malloc(GW_INGEST_CHUNK);
    in->flight = malloc(GW_INGEST_CHUNK);
    in->reader = gw_edxml_reader_new(&deps->reader);
    if (!in->fill || !in->flight || !in->reader) {
        gw_edxml_reader_free(in->reader);
        free(in->fill);
        free(in->flight);
        free(in);
        return NULL;
    }
    uv_timer_init(deps->loop, &in->kick);
    in->kick.data = in;
    return in;
}

size_t gw_ingest_write(struct gw_ingest *in, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t taken = 0;

    if (in->stopped || in->aborted || in->finishing || in->ended)
        return 0;
    while (taken < len) {
        size_t n = GW_INGEST_CHUNK - in->fill_len;
        if (n == 0) {
            if (!gw_ingest_idle(in))
                break;
            gw_ingest_launch(in);
            if (in->stopped) {
                gw_ingest_kick(in);
                return taken;
            }
            continue;
        }
        if (n > len - taken)
            n = len - taken;
        memcpy(in->fill + in->fill_len, p + taken, n);
        in->fill_len += n;
        taken += n;
    }
    if (in->fill_len == GW_INGEST_CHUNK && gw_ingest_idle(in)) {
        gw_ingest_launch(in);
        if (in->stopped)
            gw_ingest_kick(in);
    }
    if (taken < len)
        in->want_ready = true;
    return taken;
}

void gw_ingest_finish(struct gw_ingest *in)
{
    if (in->finishing || in->ended)
        return;
    in->finishing = true;
    gw_ingest_kick(in);
}

void gw_ingest_abort(struct gw_ingest *in)
{
    if (in->ended)
        return;
    in->aborted = true;
    gw_ingest_kick(in);
}

bool gw_ingest_stopped(const struct gw_ingest *in)
{
    return in->stopped;
}
