/*
 * The sink a fetch writes the package into (struct gw_axis_sink), built in this one place: the
 * front of an ingest (pipeline/ingest.h). Each write of decoded getEdoc bytes goes straight into
 * the ingest, which parses them on the thread pool while storing them as the chunks of a staged
 * body; when it cannot take a whole write (a chunk in flight) the rest is kept here and the fetch
 * pauses until the ingest's ready callback. A refusal or a local failure seen in the middle of
 * the stream stops the transfer at the next write (the write answers an error) instead of
 * downloading the rest. The fetch's outcome finishes the ingest (every byte came) or aborts it
 * (the staged chunks go); once both the fetch and the ingest have ended, poller_item.c decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/poller_internal.h"
#include "store/store_body.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"

/* The fetch and the ingest have both ended. */
static void gw_poller_sink_settle(struct gw_poller *p)
{
    struct gw_poller_sink *s = &p->sink;

    if (s->fetched && !s->in)
        gw_poller_received(p);
}

static int gw_poller_sink_keep(struct gw_poller_sink *s, const uint8_t *data, size_t n)
{
    if (n > s->pending_cap) {
        uint8_t *b = realloc(s->pending, n);
        if (!b)
            return GW_ENOMEM;
        s->pending = b;
        s->pending_cap = n;
    }
    memcpy(s->pending, data, n);
    s->pending_len = n;
    return 0;
}

/* Inside the transport's callbacks: no axis or HTTP client call here. */
static int gw_poller_sink_write(struct gw_axis_sink *sink, const uint8_t *data, size_t n)
{
    struct gw_poller_sink *s = gw_container_of(sink, struct gw_poller_sink, sink);
    size_t taken;
    int rc;

    if (!s->in || gw_ingest_stopped(s->in)) {
        s->cut = true; /* refused or failed already: the rest is not wanted */
        return GW_ECANCELED;
    }
    taken = gw_ingest_write(s->in, data, n);
    s->written += taken;
    if (taken == n)
        return 0;
    if (gw_ingest_stopped(s->in)) {
        s->cut = true;
        return GW_ECANCELED;
    }
    if ((rc = gw_poller_sink_keep(s, data + taken, n - taken)) != 0)
        return rc; /* the fetch fails with it and aborts the ingest */
    s->paused = true;
    return GW_AXIS_SINK_PAUSED;
}

/* The ingest has room again (a loop callback, outside every write). */
static void gw_poller_sink_ready(void *ud)
{
    struct gw_poller *p = ud;
    struct gw_poller_sink *s = &p->sink;
    size_t taken;

    if (!s->paused || !s->in)
        return;
    taken = gw_ingest_write(s->in, s->pending, s->pending_len);
    s->written += taken;
    if (taken < s->pending_len) {
        if (!gw_ingest_stopped(s->in)) {
            memmove(s->pending, s->pending + taken, s->pending_len - taken);
            s->pending_len -= taken;
        }
        return; /* ready again, or done (which resumes) */
    }
    s->pending_len = 0;
    s->paused = false;
    gw_axis_sink_resume(&s->sink);
}

static void gw_poller_sink_done(struct gw_ingest_result *r, void *ud)
{
    struct gw_poller *p = ud;
    struct gw_poller_sink *s = &p->sink;

    s->in = NULL; /* freed by the pipeline when this returns */
    s->ended = true;
    s->outcome = r->outcome;
    s->err = r->err;
    snprintf(s->code, sizeof(s->code), "%s", r->code ? r->code : gw_errcode(r->err));
    snprintf(s->msg, sizeof(s->msg), "%s", r->message ? r->message : "");
    if (r->outcome == GW_INGEST_OK) {
        s->doc = r->doc;
        s->doc_json = r->doc_json;
        s->body_id = r->body_id;
        s->size = r->size;
        memcpy(s->sha256, r->sha256, 32);
        r->doc = NULL;
        r->doc_json = NULL;
    }
    if (s->paused) {
        /* Stopped while the fetch waits: let it go on, to the error its next write gets (or to
         * its end, if every byte was already read). */
        s->paused = false;
        s->pending_len = 0;
        gw_axis_sink_resume(&s->sink);
    }
    gw_poller_sink_settle(p);
}

struct gw_axis_sink *gw_poller_sink_open(struct gw_poller *p)
{
    struct gw_poller_sink *s = &p->sink;
    struct gw_ingest_deps deps = {0};

    gw_poller_sink_close(p);
    if (p->d.ingest)
        deps = *p->d.ingest;
    else
        gw_edxml_reader_opts_default(&deps.reader);
    deps.loop = p->d.loop;
    deps.db = p->d.db;
    /* The adapter stops at max_package_bytes too; the reader's limit says the same locally. */
    deps.reader.limits.max_bytes = p->d.cfg->axis.max_package_bytes;
    deps.reader.limits.max_recipients = GW_POLLER_MAX_RECIPIENTS;
    s->in = gw_ingest_new(&deps, gw_poller_sink_ready, gw_poller_sink_done, p);
    if (!s->in)
        return NULL;
    s->sink = (struct gw_axis_sink){.write = gw_poller_sink_write, .ud = p};
    return &s->sink;
}

void gw_poller_sink_fetched(int err, const char *detail, void *ud)
{
    struct gw_poller *p = ud;
    struct gw_poller_sink *s = &p->sink;

    s->fetched = true;
    s->fetch_err = err;
    snprintf(s->fetch_detail, sizeof(s->fetch_detail), "%s", detail ? detail : "");
    if (s->in && !gw_ingest_stopped(s->in)) {
        if (err == 0) {
            gw_ingest_finish(s->in); /* done follows */
            return;
        }
        gw_ingest_abort(s->in); /* what came is not the package: its chunks go */
        s->in = NULL;
    }
    /* A stopped ingest still runs its done callback, which settles. */
    gw_poller_sink_settle(p);
}

void gw_poller_sink_close(struct gw_poller *p)
{
    struct gw_poller_sink *s = &p->sink;

    if (s->in)
        gw_ingest_abort(s->in);
    if (s->body_id &&
        gw_store_body_drop(p->d.db, p->d.ingest ? p->d.ingest->cache : NULL, s->body_id) != 0)
        gw_warn("poll.discard", "staged body %lld left to the janitor", (long long)s->body_id);
    if (s->doc) {
        gw_edxml_doc_free(s->doc);
        free(s->doc);
    }
    free(s->doc_json);
    free(s->pending);
    memset(s, 0, sizeof(*s));
}
