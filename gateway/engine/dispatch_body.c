/*
 * The body a send pulls (struct gw_axis_body), built in this one place: the per-axis copy of the
 * package (domain.md §2 "Relaying across two axes"). From the claim's relay landmarks, the
 * delivery's recipients and the gateway's own organ id it builds the copy's plan (edxml_relay.h;
 * a package that cannot be edited goes out as stored), makes one pass over the stored chunks on
 * the thread pool (body_source.h) that gives the copy's length and SHA-256 and reads the copy
 * back with the edXML reader, and checks that the bytes it read are the package received (their
 * SHA-256; GW_ESTORED otherwise, the package's own failure, never the axis's) and that the copy
 * is faithful: the same attachments with the same SHA-256, `To` exactly the delivery's
 * recipients, our TraceHeader last. A copy that is not is never sent (GW_ECOPY, counted and
 * logged). The send then puts the same stored bytes through
 * the same plan: those the pass kept (within body_source.h's bounds), or the chunks read again.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml_json.h"
#include "edxml/edxml_reader.h"
#include "edxml/edxml_relay.h"
#include "engine/body_source.h"
#include "engine/dispatch_internal.h"
#include "metrics/metrics.h"
#include "store/store_delivery.h"
#include "util/error.h"
#include "util/log.h"

struct gw_send_body {
    struct gw_send *s;
    gw_send_body_ready_cb ready;
    struct gw_body_source *src;
    struct gw_edxml_plan plan;
    bool edited;        /* a plan was made (false: the stored bytes as they are) */
    uint8_t stored[32]; /* the package's SHA-256 as stored */
    uint64_t stored_len;
    json_t *keep;  /* the delivery's recipients (edoc) */
    json_t *atts;  /* the attachments' SHA-256 as stored (hex or null) */
    char ts[24];   /* the TraceHeader's Timestamp */
    char why[320]; /* what made the copy unfaithful */
};

static const char *gw_body_keep_at(const struct gw_send_body *sb, size_t i)
{
    return json_string_value(json_array_get(sb->keep, i));
}

static bool gw_body_kept(const struct gw_send_body *sb, const char *id)
{
    for (size_t i = 0; id && i < json_array_size(sb->keep); i++) {
        if (strcmp(gw_body_keep_at(sb, i), id) == 0)
            return true;
    }
    return false;
}

static bool gw_body_hex_is(const char *hex, const uint8_t sha[32])
{
    char buf[65];

    for (size_t i = 0; i < 32; i++)
        snprintf(buf + 2 * i, 3, "%02x", sha[i]);
    return hex && strcmp(hex, buf) == 0;
}

/* The checks of a faithful copy; false with sb->why set. */
static bool gw_body_faithful(struct gw_send_body *sb, const struct gw_edxml_doc *doc)
{
    const char *own = sb->s->d->organ_id;
    const struct gw_edxml_trace *last;

    if (doc->kind != sb->s->kind) {
        snprintf(sb->why, sizeof(sb->why), "the copy reads as another kind of package");
        return false;
    }
    if (doc->n_attachments != json_array_size(sb->atts)) {
        snprintf(sb->why, sizeof(sb->why), "the copy has %zu attachments, the package %zu",
                 doc->n_attachments, json_array_size(sb->atts));
        return false;
    }
    for (size_t i = 0; i < doc->n_attachments; i++) {
        const char *hex = json_string_value(json_array_get(sb->atts, i));
        if (hex && !gw_body_hex_is(hex, doc->attachments[i].sha256)) {
            snprintf(sb->why, sizeof(sb->why), "attachment %zu hashes differently in the copy", i);
            return false;
        }
    }
    if (doc->kind == GW_KIND_EDOC) {
        size_t n = 0;
        for (size_t i = 0; i < doc->n_recipients; i++) {
            if (!gw_body_kept(sb, doc->recipients[i])) {
                snprintf(sb->why, sizeof(sb->why), "the copy names %.100s, not a recipient here",
                         doc->recipients[i]);
                return false;
            }
            n++;
        }
        if (n != json_array_size(sb->keep)) {
            snprintf(sb->why, sizeof(sb->why), "the copy names %zu recipients, the delivery %zu", n,
                     json_array_size(sb->keep));
            return false;
        }
    }
    last = doc->n_traces ? &doc->traces[doc->n_traces - 1] : NULL;
    if (!last || !last->organ_id || strcmp(last->organ_id, own) != 0 || !last->timestamp ||
        strcmp(last->timestamp, sb->ts) != 0) {
        snprintf(sb->why, sizeof(sb->why), "the copy's last TraceHeader is not ours");
        return false;
    }
    return true;
}

static void gw_body_mismatch(struct gw_send_body *sb)
{
    struct gw_send *s = sb->s;

    gw_metric_inc(s->axis->mismatch);
    gw_log_pkg(GW_LOG_ERROR, "delivery.copy_mismatch", s->package_id, s->document_id,
               "the copy for axis %s is not faithful, not sent: %s", s->axis->ax.name, sb->why);
}

static void gw_body_measured(int err, uint64_t len, const uint8_t sha256[32],
                             const struct gw_edxml_doc *doc, const char *why, void *ud)
{
    struct gw_send_body *sb = ud;
    struct gw_send *s = sb->s;

    if (err == GW_ECOPY)
        snprintf(sb->why, sizeof(sb->why), "the copy does not read: %s", why ? why : "");
    if (err == 0 && sb->edited && len != sb->plan.out_len) {
        err = GW_ECOPY;
        snprintf(sb->why, sizeof(sb->why), "the copy is %llu bytes, its plan %llu",
                 (unsigned long long)len, (unsigned long long)sb->plan.out_len);
    }
    if (err == 0 && sb->edited && !gw_body_faithful(sb, doc))
        err = GW_ECOPY;
    if (err == 0 && !sb->edited && (len != sb->stored_len || memcmp(sha256, sb->stored, 32) != 0))
        err = GW_ESTORED; /* the stored chunks are not the package received */
    if (err == GW_ECOPY)
        gw_body_mismatch(sb);
    if (err == 0) {
        memcpy(s->copy_sha256, sha256, 32);
        s->copy_len = len;
    }
    sb->ready(s, err);
}

/* The plan of this delivery's copy; GW_ECOPY when the landmarks and the recipients disagree. */
static int gw_body_plan(struct gw_send_body *sb, const struct gw_store_claimed *row,
                        const struct gw_edxml_relay *relay)
{
    size_t n = sb->s->kind == GW_KIND_EDOC ? json_array_size(sb->keep) : 0;
    const char **keep = calloc(n ? n : 1, sizeof(*keep));
    int rc;

    if (!keep)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        keep[i] = gw_body_keep_at(sb, i);
    gw_edxml_trace_time((int64_t)time(NULL), sb->ts, sizeof(sb->ts));
    rc = gw_edxml_plan_copy(relay, row->len, keep, n, sb->s->d->organ_id, sb->ts, &sb->plan);
    free(keep);
    if (rc == GW_EINVAL) {
        snprintf(sb->why, sizeof(sb->why), "no copy can be planned for these recipients");
        gw_body_mismatch(sb);
        rc = GW_ECOPY;
    }
    return rc;
}

/* Reads the claim's JSON; plans the copy when the package can be edited. */
static int gw_body_prepare(struct gw_send_body *sb, const struct gw_store_claimed *row)
{
    struct gw_edxml_relay relay = {0};
    json_t *rj = row->relay ? json_loads(row->relay, 0, NULL) : NULL;
    int rc = 0;

    sb->keep = json_loads(row->recipients, 0, NULL);
    sb->atts = json_loads(row->attachments, 0, NULL);
    if (!json_is_array(sb->keep) || !json_is_array(sb->atts) || (row->relay && !rj))
        rc = GW_EDB;
    for (size_t i = 0; rc == 0 && i < json_array_size(sb->keep); i++) {
        if (!gw_body_keep_at(sb, i))
            rc = GW_EDB;
    }
    if (rc == 0 && rj)
        rc = gw_edxml_relay_from_json(rj, &relay);
    json_decref(rj);
    if (rc == GW_EINVAL)
        rc = GW_EDB; /* the stored landmarks do not read */
    if (rc == 0 && relay.editable) {
        rc = gw_body_plan(sb, row, &relay);
        sb->edited = rc == 0;
    }
    gw_edxml_relay_free(&relay);
    return rc;
}

/* Once the source is gone: a measure's worker may still be reading the plan when a send is
 * freed (a forced stop). */
static void gw_body_released(void *ud)
{
    struct gw_send_body *sb = ud;

    gw_edxml_plan_free(&sb->plan);
    free(sb);
}

static void gw_body_free(struct gw_send_body *sb)
{
    json_decref(sb->keep);
    json_decref(sb->atts);
    sb->keep = sb->atts = NULL;
    gw_body_source_free_then(sb->src, gw_body_released, sb);
}

int gw_dispatch_body_open(struct gw_send *s, const struct gw_store_claimed *row,
                          gw_send_body_ready_cb ready)
{
    struct gw_send_body *sb = calloc(1, sizeof(*sb));
    struct gw_edxml_reader *reader = NULL;
    int rc;

    if (!sb)
        return GW_ENOMEM;
    sb->s = s;
    sb->ready = ready;
    memcpy(sb->stored, row->sha256, 32);
    sb->stored_len = row->len;
    rc = gw_body_prepare(sb, row);
    if (rc == 0)
        rc = gw_body_source_new(s->d->deps.loop, s->d->deps.db, s->d->deps.cache, row->body_id,
                                row->len, row->chunks, sb->edited ? &sb->plan : NULL, &sb->src);
    if (rc == 0 && sb->edited) /* the copy's own SHA-256 says nothing of its source's bytes */
        rc = gw_body_source_expect(sb->src, sb->stored);
    if (rc == 0 && sb->edited) {
        struct gw_edxml_reader_opts o;
        gw_edxml_reader_opts_default(&o);
        o.limits.max_bytes = (size_t)sb->plan.out_len + 1;
        o.max_attachment_bytes = sb->plan.out_len;
        o.no_package_sha256 = true; /* the measuring pass hashes the copy */
        if (!(reader = gw_edxml_reader_new(&o)))
            rc = GW_ENOMEM;
    }
    if (rc == 0)
        rc = gw_body_source_measure(sb->src, reader, gw_body_measured, sb);
    if (rc != 0) {
        gw_body_free(sb);
        return rc;
    }
    s->body = sb;
    return 0;
}

struct gw_axis_body *gw_dispatch_body(struct gw_send *s)
{
    return s->body ? gw_body_source_body(s->body->src) : NULL;
}

const char *gw_dispatch_body_why(const struct gw_send *s)
{
    return s->body && s->body->why[0] ? s->body->why : NULL;
}

void gw_dispatch_body_close(struct gw_send *s)
{
    if (!s->body)
        return;
    gw_body_free(s->body);
    s->body = NULL;
}
