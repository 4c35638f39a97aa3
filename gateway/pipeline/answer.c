/*
 * A status package the gateway sends in an agency's name: built, then read by the same ingest
 * as every package (so its header JSON and routing are the usual ones), then stored.
 */
#include "pipeline/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxml/edxml_relay.h"
#include "edxml/edxml_status.h"
#include "store/store_submit.h"
#include "util/error.h"

struct gw_answer {
    gw_answer_cb cb;
    void *ud;
    struct gw_db *db;
    char *axis;
    char *bytes;
    size_t len, off;
    struct gw_ingest *in;
    char *doc_json;
    struct gw_edxml_doc *doc;
};

static void gw_answer_free(struct gw_answer *a)
{
    free(a->axis);
    free(a->bytes);
    free(a->doc_json);
    gw_edxml_doc_free(a->doc);
    free(a->doc);
    free(a);
}

static void gw_answer_stored(int err, const struct gw_store_submit_result *r, const char *sqlstate,
                             void *ud)
{
    struct gw_answer *a = ud;

    (void)sqlstate;
    a->cb(err, err == 0 && r ? r->package_id : 0, a->ud);
    gw_answer_free(a);
}

static void gw_answer_ingested(struct gw_ingest_result *r, void *ud)
{
    struct gw_answer *a = ud;
    struct gw_store_submit_args s;
    const struct gw_edxml_doc *doc = r->doc;
    int rc;

    a->in = NULL;
    if (r->outcome != GW_INGEST_OK) {
        a->cb(r->err ? r->err : GW_EPARSE, 0, a->ud);
        return gw_answer_free(a);
    }
    a->doc = r->doc;
    a->doc_json = r->doc_json;
    r->doc = NULL;
    r->doc_json = NULL;
    s = (struct gw_store_submit_args){
        .source = "gateway",
        .kind = doc->kind,
        .document_id = doc->document_id,
        .sender = doc->from,
        .recipients = (const char *const *)doc->recipients,
        .n_recipients = doc->n_recipients,
        .status_code = doc->status_code,
        .business_doc_type = 0,
        .sha256 = r->sha256,
        .body_id = r->body_id,
        .size = r->size,
        .doc_json = a->doc_json,
        .axis = a->axis,
    };
    rc = gw_store_submit(a->db, &s, gw_answer_stored, a);
    if (rc != 0) {
        a->cb(rc, 0, a->ud);
        gw_answer_free(a);
    }
}

static void gw_answer_pump(void *ud)
{
    struct gw_answer *a = ud;

    while (a->off < a->len) {
        size_t n = gw_ingest_write(a->in, a->bytes + a->off, a->len - a->off);
        if (n == 0)
            return; /* ready runs when there is room (or done when it stopped) */
        a->off += n;
    }
    gw_ingest_finish(a->in);
}

int gw_answer_status(const struct gw_ingest_deps *deps, const struct gw_answer_spec *spec,
                     gw_answer_cb cb, void *ud)
{
    struct gw_edxml_status_spec st;
    struct gw_answer *a;
    char ts[32];
    int rc;

    if (!deps || !deps->loop || !deps->db || !spec || !cb || !spec->axis)
        return GW_EINVAL;
    gw_edxml_trace_time(time(NULL), ts, sizeof(ts)); /* yyyy/MM/dd HH:mm:ss, Vietnam time */
    st = (struct gw_edxml_status_spec){
        .from_organ_id = spec->from,
        .response_organ_id = spec->to,
        .response_document_id = spec->document_id,
        .status_code = spec->status_code,
        .description = spec->description,
        .timestamp = ts,
    };
    if (!(a = calloc(1, sizeof(*a))))
        return GW_ENOMEM;
    a->cb = cb;
    a->ud = ud;
    a->db = deps->db;
    if (!(a->axis = strdup(spec->axis)) ||
        (rc = gw_edxml_status_build(&st, &a->bytes, &a->len)) != 0) {
        rc = a->axis ? rc : GW_ENOMEM;
        gw_answer_free(a);
        return rc;
    }
    if (!(a->in = gw_ingest_new(deps, gw_answer_pump, gw_answer_ingested, a))) {
        gw_answer_free(a);
        return GW_ENOMEM;
    }
    gw_answer_pump(a);
    return 0;
}
