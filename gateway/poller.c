/*
 * Axis poller: lease -> list (edoc, then status) -> per item: skip the fetch if already stored,
 * else fetch, parse and hash on the thread pool, store in one transaction; then ack the axis and
 * record the ack. A package is never acked before its bytes are committed; one listed again after
 * a lost ack is recognised by (axis, axis doc id) and only acked again.
 */
#include "poller.h"

#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "common.h"
#include "edxml.h"
#include "error.h"
#include "log.h"
#include "pgfmt.h"
#include "pkgsql.h"

#define GW_POLLER_MAX_RECIPIENTS 100000
#define GW_POLLER_SKIP           64 /* oversized docIds remembered, oldest forgotten first */

struct gw_poller {
    struct gw_app *app;
    struct gw_axis_inst *axis;
    uv_timer_t timer;
    bool busy;
    bool stopping;
    bool again;
    uint64_t lease_at;          /* uv_now() when the lease was last taken or renewed */
    char *skip[GW_POLLER_SKIP]; /* docIds not to fetch again (too large) */
    unsigned skip_next;
    enum gw_pkg_kind kind;
    char **ids; /* docIds of the current list */
    size_t n_ids;
    size_t next;
    /* the item in progress */
    uv_work_t work;
    uint8_t *bytes;
    size_t len;
    int parse_err;
    char errmsg[200];
    struct gw_edxml_info info;
    uint8_t sha[32];
    int64_t package_id;
};

static void gw_poller_next_item(struct gw_poller *p);
static int gw_poller_take_lease(struct gw_poller *p);
static uint64_t gw_poller_lease_ms(const struct gw_poller *p);
static void gw_poller_list(struct gw_poller *p);

static const char *gw_poller_kind_name(enum gw_pkg_kind k)
{
    return k == GW_KIND_STATUS ? "status" : "edoc";
}

static void gw_poller_clear_item(struct gw_poller *p)
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

static void gw_poller_skip_add(struct gw_poller *p, const char *doc_id)
{
    char *copy = strdup(doc_id);
    if (!copy)
        return;
    free(p->skip[p->skip_next]);
    p->skip[p->skip_next] = copy;
    p->skip_next = (p->skip_next + 1) % GW_POLLER_SKIP;
}

static bool gw_poller_skipped(const struct gw_poller *p, const char *doc_id)
{
    for (unsigned i = 0; i < GW_POLLER_SKIP; i++) {
        if (p->skip[i] && strcmp(p->skip[i], doc_id) == 0)
            return true;
    }
    return false;
}

static void gw_poller_clear_list(struct gw_poller *p)
{
    for (size_t i = 0; i < p->n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    p->ids = NULL;
    p->n_ids = p->next = 0;
}

static void gw_poller_cycle_end(struct gw_poller *p)
{
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    p->busy = false;
    if (p->stopping) {
        gw_app_maybe_finish(p->app);
    } else if (p->again) {
        p->again = false;
        gw_poller_kick(p);
    }
}

static void gw_poller_fail(struct gw_poller *p, const char *step, int err, const char *detail)
{
    p->app->stats.poll_errors++;
    gw_log(GW_LOG_WARN, "poll.error", "axis %s: %s failed: %s%s%s", p->axis->name, step,
           gw_strerror(err), detail ? ": " : "", detail ? detail : "");
}

static const char *gw_poller_current(const struct gw_poller *p)
{
    return p->ids[p->next - 1];
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

static void gw_poller_fetched(int err, const unsigned char *bytes, size_t len, const char *detail,
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
    p->bytes = malloc(len ? len : 1);
    if (!p->bytes) {
        gw_poller_fail(p, "fetch", GW_ENOMEM, NULL);
        gw_poller_cycle_end(p);
        return;
    }
    memcpy(p->bytes, bytes, len);
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

static void gw_poller_next_item(struct gw_poller *p)
{
    const char *vals[2];

    gw_poller_clear_item(p);
    if (p->stopping) {
        gw_poller_cycle_end(p);
        return;
    }
    if (uv_now(p->app->loop) - p->lease_at > gw_poller_lease_ms(p) / 3) {
        /* A long cycle renews its lease, so no other instance starts polling this axis. */
        if (gw_poller_take_lease(p) != 0) {
            gw_poller_fail(p, "lease", GW_EDB, NULL);
            gw_poller_cycle_end(p);
        }
        return;
    }
    if (p->next >= p->n_ids) {
        gw_poller_clear_list(p);
        if (p->kind == GW_KIND_EDOC) {
            p->kind = GW_KIND_STATUS;
            gw_poller_list(p);
        } else {
            gw_poller_cycle_end(p);
        }
        return;
    }
    p->next++;
    vals[0] = p->axis->name;
    vals[1] = gw_poller_current(p);
    if (gw_db_query(p->app->db,
                    "SELECT package_id FROM axis_receipt WHERE axis = $1 AND axis_doc_id = $2", 2,
                    vals, NULL, NULL, gw_poller_known, p) != 0) {
        gw_poller_fail(p, "lookup", GW_EDB, NULL);
        gw_poller_cycle_end(p);
    }
}

static void gw_poller_listed(int err, const struct gw_axis_item *items, size_t n,
                             const char *detail, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "list", err, detail);
        gw_poller_cycle_end(p);
        return;
    }
    p->ids = calloc(n ? n : 1, sizeof(char *));
    if (!p->ids) {
        gw_poller_cycle_end(p);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!items[i].doc_id || !items[i].doc_id[0] || strlen(items[i].doc_id) > 256 ||
            gw_poller_skipped(p, items[i].doc_id))
            continue;
        p->ids[p->n_ids] = strdup(items[i].doc_id);
        if (p->ids[p->n_ids])
            p->n_ids++;
    }
    p->next = 0;
    if (n > 0)
        gw_log(GW_LOG_DEBUG, "poll.listed", "axis %s lists %zu %s package(s)", p->axis->name, n,
               gw_poller_kind_name(p->kind));
    gw_poller_next_item(p);
}

static void gw_poller_list(struct gw_poller *p)
{
    int rc = p->axis->ops->list_received(p->axis->state, p->kind, gw_poller_listed, p);
    if (rc != 0)
        gw_poller_listed(rc, NULL, 0, "could not start the list", p);
}

/* How long a poll lease lasts: five poll intervals, at least 15 s. */
static uint64_t gw_poller_lease_ms(const struct gw_poller *p)
{
    uint64_t ms = p->axis->cfg->poll_interval_ms * 5;
    return ms < 15000 ? 15000 : ms;
}

/* The lease was taken at the start of the cycle (listing) or renewed in its middle (next item). */
static void gw_poller_leased(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_poller *p = ud;

    if (err != 0) {
        gw_poller_fail(p, "lease", err, sqlstate);
        gw_poller_cycle_end(p);
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || p->stopping) {
        gw_poller_cycle_end(p); /* another instance polls this axis */
        return;
    }
    p->lease_at = uv_now(p->app->loop);
    if (p->ids) {
        gw_poller_next_item(p);
        return;
    }
    p->kind = GW_KIND_EDOC;
    gw_poller_list(p);
}

static int gw_poller_take_lease(struct gw_poller *p)
{
    char lease[24];
    const char *vals[3] = {p->axis->name, p->app->owner, lease};

    snprintf(lease, sizeof(lease), "%llu", (unsigned long long)gw_poller_lease_ms(p));
    return gw_db_query(p->app->db, "SELECT gw_poller_lease($1, $2, $3)", 3, vals, NULL, NULL,
                       gw_poller_leased, p);
}

static void gw_poller_tick(uv_timer_t *t)
{
    struct gw_poller *p = t->data;

    if (p->busy) {
        p->again = true;
        return;
    }
    if (p->stopping || !gw_db_ready(p->app->db))
        return;
    p->busy = true;
    if (gw_poller_take_lease(p) != 0)
        p->busy = false;
}

int gw_poller_start(struct gw_app *app, struct gw_axis_inst *axis, struct gw_poller **out)
{
    struct gw_poller *p = calloc(1, sizeof(*p));
    if (!p)
        return GW_ENOMEM;
    p->app = app;
    p->axis = axis;
    uv_timer_init(app->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, gw_poller_tick, 100, axis->cfg->poll_interval_ms);
    *out = p;
    return 0;
}

void gw_poller_kick(struct gw_poller *p)
{
    if (p && !p->stopping)
        uv_timer_start(&p->timer, gw_poller_tick, 0, p->axis->cfg->poll_interval_ms);
}

void gw_poller_stop(struct gw_poller *p)
{
    if (!p)
        return;
    p->stopping = true;
    uv_timer_stop(&p->timer);
}

bool gw_poller_idle(const struct gw_poller *p)
{
    return !p || !p->busy;
}

static void gw_poller_closed(uv_handle_t *h)
{
    struct gw_poller *p = h->data;
    /* A cycle still busy at a forced stop has callbacks to come: leave its memory to exit. */
    if (p->busy)
        return;
    gw_poller_clear_item(p);
    gw_poller_clear_list(p);
    for (unsigned i = 0; i < GW_POLLER_SKIP; i++)
        free(p->skip[i]);
    free(p);
}

void gw_poller_free(struct gw_poller *p)
{
    if (p)
        uv_close((uv_handle_t *)&p->timer, gw_poller_closed);
}
