/*
 * The backlog statement behind the database gauges of /metrics: one row with, per open delivery
 * state, the count and the age of the oldest, then the inbox count and its oldest age, the
 * recipients routed nowhere, and the audit events no seal covers yet, read back as integers.
 */
#include "store/store_backlog.h"

#include <stdbool.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "util/error.h"

const char *const gw_store_backlog_states[GW_STORE_BACKLOG_N] = {"queued", "sending", "dead"};

static const char gw_sql_backlog[] =
    "SELECT d.*, a.events, a.oldest_s FROM ("
    "SELECT count(*) FILTER (WHERE state = 'QUEUED'), count(*) FILTER (WHERE state = 'SENDING'),"
    " count(*) FILTER (WHERE state = 'DEAD'),"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'QUEUED'))),"
    "  0)::bigint,"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'SENDING'))),"
    "  0)::bigint,"
    " coalesce(floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'DEAD'))),"
    "  0)::bigint,"
    " (SELECT count(*) FROM package WHERE direction = 'in' AND state = 'AVAILABLE'),"
    " (SELECT coalesce(floor(extract(epoch FROM now() - min(created_at))), 0)::bigint"
    "  FROM package WHERE direction = 'in' AND state = 'AVAILABLE'),"
    " (SELECT count(*) FROM package_route WHERE state = 'NO_ELECTRONIC_MEANS')"
    " FROM delivery WHERE state <> 'SENT') d, gw_event_unsealed_stats() a";

struct gw_store_backlog_call {
    gw_store_backlog_cb cb;
    void *ud;
};

static int64_t gw_store_backlog_col(const PGresult *res, int col, bool *ok)
{
    int64_t v = gw_pgfmt_int64(PQgetvalue(res, 0, col));
    if (v < 0)
        *ok = false;
    return v;
}

static void gw_store_backlog_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_backlog_call *call = ud;
    struct gw_store_backlog b = {0};
    bool ok = err == 0 && PQntuples(res) == 1 && PQnfields(res) == 2 * GW_STORE_BACKLOG_N + 5;

    if (ok) {
        for (int i = 0; i < GW_STORE_BACKLOG_N; i++) {
            b.deliveries[i] = gw_store_backlog_col(res, i, &ok);
            b.oldest_s[i] = gw_store_backlog_col(res, GW_STORE_BACKLOG_N + i, &ok);
        }
        b.inbox_waiting = gw_store_backlog_col(res, 2 * GW_STORE_BACKLOG_N, &ok);
        b.inbox_oldest_s = gw_store_backlog_col(res, 2 * GW_STORE_BACKLOG_N + 1, &ok);
        b.no_electronic_means = gw_store_backlog_col(res, 2 * GW_STORE_BACKLOG_N + 2, &ok);
        b.unsealed = gw_store_backlog_col(res, 2 * GW_STORE_BACKLOG_N + 3, &ok);
        b.unsealed_oldest_s = gw_store_backlog_col(res, 2 * GW_STORE_BACKLOG_N + 4, &ok);
    }
    call->cb(ok ? 0 : GW_EDB, ok ? &b : NULL, call->ud);
    free(call);
}

int gw_store_backlog_read(struct gw_db *db, gw_store_backlog_cb cb, void *ud)
{
    struct gw_store_backlog_call *call = malloc(sizeof(*call));
    int rc;

    if (!call)
        return GW_ENOMEM;
    call->cb = cb;
    call->ud = ud;
    rc = gw_db_query(db, gw_sql_backlog, 0, NULL, NULL, NULL, gw_store_backlog_done, call);
    if (rc != 0)
        free(call);
    return rc;
}
