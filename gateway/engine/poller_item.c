/*
 * One listed package: skip the fetch if (axis, docId) is already received, else fetch it, parse
 * and hash it on the thread pool, store it in one transaction (gw_store_incoming), and only then
 * send the axis its transport ack and record it. Only a verdict on the package itself is answered
 * "fail"; local failures leave it listed for the next cycle.
 */
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app.h"
#include "util/common.h"
#include "util/error.h"
#include "util/log.h"
#include "store/pgfmt.h"
#include "store/pkgsql.h"
#include "engine/poller_internal.h"

void gw_poller_clear_item(struct gw_poller *p)
{
    free(p->bytes);
    p->bytes = NULL;
    p->len = 0;
    gw_edxml_info_free(&p->info);
    memset(&p->info, 0, sizeof(p->info));
    p->package_id = 0;
    p->parse_err = 0;
    p->errmsg[0] = '\0';
}

static void gw_poller_ack_recorded(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;
    if (err != 0)
        gw_poller_fail(p, "recording the ack", err, NULL);
    gw_poller_next_item(p);
}

static void gw_poller_acked(int err, const char *detail, void *ud)
{
    struct gw_poller *p = ud;
    char id[24];
    const char *vals[1] = {id};

    if (err != 0) {
        /* Still listed on the axis: the next poll recognises it as stored and acks again. */
        p->app->stats.axis_ack_failures++;
        gw_poller_fail(p, "ack", err, detail);
        gw_poller_next_item(p);
        return;
    }
    p->app->stats.axis_acks++;
    if (p->package_id <= 0) {
        gw_poller_next_item(p);
        return;
    }
    snprintf(id, sizeof(id), "%" PRId64, p->package_id);
    if (gw_db_query(p->app->db, "SELECT gw_incoming_acked($1)", 1, vals, NULL, NULL,
                    gw_poller_ack_recorded, p) != 0)
        gw_poller_next_item(p);
}

static void gw_poller_ack(struct gw_poller *p, bool done)
{
    int rc = p->axis->ops->ack(p->axis->state, gw_poller_current(p), done, gw_poller_acked, p);
    if (rc != 0)
        gw_poller_acked(rc, "could not start the ack", p);
}

static void gw_poller_stored(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0 || PQntuples(res) != 1) {
        /* Not stored, so not acked: the axis keeps it listed. Stop this cycle. */
        gw_poller_fail(p, "storing", err ? err : GW_EDB, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    p->package_id = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        p->app->stats.fetched++;
        gw_log_pkg(GW_LOG_INFO, "poll.stored", p->package_id, p->info.document_id,
                   "stored %s %s from axis %s (%zu bytes)", gw_poller_kind_name(p->info.kind),
                   gw_poller_current(p), p->axis->name, p->len);
    } else {
        p->app->stats.fetch_duplicates++;
    }
    gw_poller_ack(p, true);
}

/* Only a verdict on the package itself justifies telling the axis we refuse it. */
static bool gw_poller_refusable(int parse_err)
{
    return parse_err == GW_EPARSE || parse_err == GW_ENOTEDXML || parse_err == GW_ENORCPT;
}

static void gw_poller_parse_work(uv_work_t *w)
{
    struct gw_poller *p = gw_container_of(w, struct gw_poller, work);
    struct gw_edxml_limits lim;

    gw_edxml_limits_default(&lim);
    lim.max_bytes = p->len + 1;
    /* Be lenient with what the axis delivers: national circulars list many recipients. */
    lim.max_recipients = GW_POLLER_MAX_RECIPIENTS;
    p->parse_err = gw_edxml_parse(p->bytes, p->len, &lim, &p->info, p->errmsg, sizeof(p->errmsg));
    if (p->parse_err == 0)
        SHA256(p->bytes, p->len, p->sha);
}

static void gw_poller_parsed(uv_work_t *w, int status)
{
    struct gw_poller *p = gw_container_of(w, struct gw_poller, work);
    struct gw_pkgsql q = {.n = 0};
    int rc;

    if (status == 0 && gw_poller_refusable(p->parse_err)) {
        /* Not an edXML package: refuse it on the axis, keep polling the rest. */
        p->app->stats.fetch_invalid++;
        gw_log(GW_LOG_WARN, "poll.invalid", "axis %s package %s refused: %s: %s", p->axis->name,
               gw_poller_current(p), gw_errcode(p->parse_err), p->errmsg);
        gw_poller_ack(p, false);
        return;
    }
    if (status != 0 || p->parse_err != 0) {
        /* A local failure (memory, cancelled work) says nothing about the package: leave it
         * listed on the axis for the next cycle. */
        gw_poller_fail(p, "parse", status != 0 ? GW_ECANCELED : p->parse_err, p->errmsg);
        gw_poller_cycle_end(p);
        return;
    }
    gw_pkgsql_text(&q, p->axis->name);
    gw_pkgsql_text(&q, gw_poller_current(p));
    rc = gw_pkgsql_package(&q, &p->info, p->sha, p->bytes, p->len);
    if (rc == 0)
        rc = gw_db_query(p->app->db,
                         "SELECT package_id, created FROM gw_store_incoming($1, $2, $3, $4, $5, "
                         "$6::text[], $7, $8::smallint, $9::bytea, $10::bytea)",
                         q.n, q.values, q.lengths, q.formats, gw_poller_stored, p);
    gw_pkgsql_free(&q);
    if (rc != 0)
        gw_poller_stored(rc, NULL, "", p);
}

static void gw_poller_fetched(int err, unsigned char *bytes, size_t len, const char *detail,
                              void *ud)
{
    struct gw_poller *p = ud;

    if (err == GW_E2BIG) {
        /* Left on the axis for an operator (raise max_package_bytes, or refuse it there); not
         * fetched again by this process. */
        p->app->stats.fetch_oversized++;
        gw_log(GW_LOG_ERROR, "poll.oversized",
               "axis %s package %s is larger than max_package_bytes; left on the axis",
               p->axis->name, gw_poller_current(p));
        gw_poller_skip_add(p, gw_poller_current(p));
    }
    if (err != 0) {
        gw_poller_fail(p, "fetch", err, detail);
        gw_poller_next_item(p);
        return;
    }
    p->bytes = bytes; /* handed over by the adapter, not copied */
    p->len = len;
    if (uv_queue_work(p->app->loop, &p->work, gw_poller_parse_work, gw_poller_parsed) != 0) {
        gw_poller_fail(p, "parse", GW_EAGAIN, NULL);
        gw_poller_cycle_end(p);
    }
}

static void gw_poller_known(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;
    int rc;

    if (err != 0) {
        gw_poller_fail(p, "lookup", err, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    if (PQntuples(res) == 1) {
        /* Stored before, ack lost or listed twice: ack again without fetching. */
        p->app->stats.fetch_duplicates++;
        p->package_id = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        gw_poller_ack(p, true);
        return;
    }
    rc = p->axis->ops->fetch(p->axis->state, gw_poller_current(p), gw_poller_fetched, p);
    if (rc != 0)
        gw_poller_fetched(rc, NULL, 0, "could not start the fetch", p);
}

void gw_poller_item_start(struct gw_poller *p)
{
    const char *vals[2] = {p->axis->name, gw_poller_current(p)};

    if (gw_db_query(p->app->db,
                    "SELECT package_id FROM axis_receipt WHERE axis = $1 AND axis_doc_id = $2", 2,
                    vals, NULL, NULL, gw_poller_known, p) != 0) {
        gw_poller_fail(p, "lookup", GW_EDB, NULL);
        gw_poller_cycle_end(p);
    }
}
