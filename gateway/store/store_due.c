/*
 * The age of the oldest due delivery per axis and of the oldest due signature check
 * (store_due.h): one statement, the checks' row first, then the axes given in their order, each
 * age in milliseconds or NULL when nothing is due.
 */
#include "store/store_due.h"

#include <stdbool.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

/* Per axis the first row of the index of due deliveries, delivery_queued_due_idx (axis,
 * next_attempt_at) WHERE state = 'QUEUED' (014_claim_cost.sql), the one the dispatcher's claim
 * walks. The axis is bounded by a range, not an equality, so that only that index gives the order
 * and the plan never depends on the statistics (with equality, statistics taken when one axis
 * held every row could make the planner read the axis's whole backlog). The checks' row reads the
 * first entry of package_check_due_idx (next_check_at) WHERE state = 'PENDING' (008). */
static const char gw_sql_due[] =
    "SELECT x.age FROM ("
    "  SELECT 0::bigint AS i,"
    "         (SELECT floor(extract(epoch FROM now() - c.next_check_at) * 1000)::bigint"
    "            FROM package_check c"
    "           WHERE c.state = 'PENDING' AND c.next_check_at <= now()"
    "           ORDER BY c.next_check_at LIMIT 1) AS age"
    "  UNION ALL"
    "  SELECT a.i,"
    "         (SELECT floor(extract(epoch FROM now() - d.next_attempt_at) * 1000)::bigint"
    "            FROM delivery d"
    "           WHERE d.axis >= a.axis AND d.axis <= a.axis AND d.state = 'QUEUED'"
    "             AND d.next_attempt_at <= now()"
    "           ORDER BY d.axis, d.next_attempt_at LIMIT 1)"
    "    FROM unnest($1::text[]) WITH ORDINALITY AS a(axis, i)) x"
    " ORDER BY x.i";

struct gw_store_due_call {
    gw_store_due_cb cb;
    void *ud;
    size_t n;
};

static void gw_store_due_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_due_call *call = ud;
    size_t n = call->n;
    int64_t *age = NULL; /* [0] the checks, [1 + i] axes[i] */
    bool ok = err == 0 && (size_t)PQntuples(res) == n + 1 && PQnfields(res) == 1;

    (void)sqlstate;
    if (ok && !(age = calloc(n + 1, sizeof(*age))))
        ok = false;
    for (size_t i = 0; ok && i <= n; i++) {
        age[i] = PQgetisnull(res, (int)i, 0) ? -1 : gw_pgfmt_int64(PQgetvalue(res, (int)i, 0));
        if (age[i] < -1)
            ok = false;
    }
    call->cb(ok ? 0 : GW_EDB, ok ? age[0] : -1, ok ? age + 1 : NULL, ok ? n : 0, call->ud);
    free(age);
    free(call);
}

int gw_store_due_read(struct gw_db *db, const char *const *axes, size_t n, gw_store_due_cb cb,
                      void *ud)
{
    struct gw_store_due_call *call;
    char *arr;
    int rc = n == 0 || n > GW_STORE_DUE_MAX_AXES || !cb ? GW_EINVAL : 0;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = gw_pgtype_text(axes[i], false, 0);
    if (rc != 0)
        return GW_EINVAL;
    call = malloc(sizeof(*call));
    arr = gw_pgfmt_text_array((char *const *)axes, n);
    rc = call && arr ? 0 : GW_ENOMEM;
    if (rc == 0) {
        call->cb = cb;
        call->ud = ud;
        call->n = n;
        const char *vals[1] = {arr};
        rc = gw_db_query(db, gw_sql_due, 1, vals, NULL, NULL, gw_store_due_done, call);
    }
    if (rc != 0)
        free(call);
    free(arr);
    return rc;
}
