/*
 * Staged package bodies (schemas/sql/006_body.sql): begin, put one chunk, read one chunk, find a
 * package's body, discard, janitor. One statement each; chunk bytes go out and come back as
 * binary values, so a chunk costs its own size on the loop, never a text encoding of it. A chunk
 * being stored is not copied by the pool either (gw_db_query_borrow): libpq reads it from the
 * caller's buffer, which stays untouched until the callback.
 */
#include "store/store_body.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/body_cache.h"
#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_body_call {
    union {
        gw_store_body_begin_cb begin;
        gw_store_body_put_cb put;
        gw_store_body_chunk_cb chunk;
        gw_store_body_count_cb count;
    } cb;
    void *ud;
};

static struct gw_store_body_call *gw_store_body_call(void *ud)
{
    struct gw_store_body_call *call = calloc(1, sizeof(*call));
    if (call)
        call->ud = ud;
    return call;
}

/* One-row, one-column result as int64 (text format); -1 when absent or not a number. */
static int64_t gw_store_body_int(const PGresult *res, int col)
{
    if (PQntuples(res) != 1 || PQnfields(res) <= col || PQgetisnull(res, 0, col))
        return -1;
    return gw_pgfmt_int64(PQgetvalue(res, 0, col));
}

enum gw_store_body_mode {
    GW_BODY_TEXT,   /* text results, parameters copied */
    GW_BODY_BINARY, /* binary results (a chunk's bytes) */
    GW_BODY_BORROW, /* text results, the chunk's bytes read from the caller's buffer; the
                       package is new work (GW_DB_INTAKE: after the work in hand) */
};

static int gw_store_body_send(struct gw_db *db, const char *sql, int n, const char *const *vals,
                              const int *lens, const int *fmts, enum gw_store_body_mode mode,
                              gw_db_cb done, struct gw_store_body_call *call)
{
    int rc;

    if (!call)
        return GW_ENOMEM;
    rc = mode == GW_BODY_BINARY ? gw_db_query_binary(db, sql, n, vals, lens, fmts, done, call)
         : mode == GW_BODY_BORROW
             ? gw_db_query_ex(db, GW_DB_BORROW | GW_DB_INTAKE, sql, n, vals, lens, fmts, done, call)
             : gw_db_query(db, sql, n, vals, lens, fmts, done, call);
    if (rc != 0)
        free(call);
    return rc;
}

static void gw_store_body_begun(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_body_call *call = ud;
    int64_t id = err == 0 ? gw_store_body_int(res, 0) : -1;

    (void)sqlstate;
    if (err == 0 && id < 1)
        err = GW_EDB;
    call->cb.begin(err, err == 0 ? id : 0, call->ud);
    free(call);
}

int gw_store_body_start(struct gw_db *db, const void *bytes, size_t len, gw_store_body_begin_cb cb,
                        void *ud)
{
    struct gw_store_body_call *call;
    const char *vals[1] = {bytes};
    int lens[1] = {(int)len}, fmts[1] = {1};

    if (!bytes || len == 0)
        return GW_EINVAL;
    if (len > GW_STORE_BODY_CHUNK_MAX)
        return GW_ERANGE;
    call = gw_store_body_call(ud);
    if (call)
        call->cb.begin = cb;
    return gw_store_body_send(db, "SELECT gw_body_start($1::bytea)", 1, vals, lens, fmts,
                              GW_BODY_BORROW, gw_store_body_begun, call);
}

static void gw_store_body_put_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_body_call *call = ud;
    bool staged = false;

    (void)sqlstate;
    if (err == 0) {
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
            err = GW_EDB;
        else
            staged = PQgetvalue(res, 0, 0)[0] == 't';
    }
    call->cb.put(err, staged, call->ud);
    free(call);
}

static int gw_store_body_id_check(int64_t id)
{
    return gw_pgtype_range(id, 1, INT64_MAX);
}

int gw_store_body_put(struct gw_db *db, int64_t body_id, int64_t seq, const void *bytes, size_t len,
                      gw_store_body_put_cb cb, void *ud)
{
    struct gw_store_body_call *call;
    char id[24], sq[16];
    const char *vals[3];
    int lens[3] = {0, 0, 0}, fmts[3] = {0, 0, 1};
    int rc;

    if ((rc = gw_store_body_id_check(body_id)) != 0 ||
        (rc = gw_pgtype_range(seq, 0, INT32_MAX)) != 0)
        return rc;
    if (!bytes || len == 0)
        return GW_EINVAL;
    if (len > GW_STORE_BODY_CHUNK_MAX || (rc = gw_pgtype_bytea(len)) != 0)
        return GW_ERANGE;
    snprintf(id, sizeof(id), "%" PRId64, body_id);
    snprintf(sq, sizeof(sq), "%" PRId64, seq);
    vals[0] = id;
    vals[1] = sq;
    vals[2] = bytes;
    lens[2] = (int)len;
    call = gw_store_body_call(ud);
    if (call)
        call->cb.put = cb;
    return gw_store_body_send(db, "SELECT gw_body_put($1::bigint, $2::integer, $3::bytea)", 3, vals,
                              lens, fmts, GW_BODY_BORROW, gw_store_body_put_done, call);
}

static void gw_store_body_chunk_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_body_call *call = ud;
    const uint8_t *v = NULL;
    size_t len = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)))
        err = GW_ENOENT;
    if (err == 0) {
        v = (const uint8_t *)PQgetvalue(res, 0, 0);
        len = (size_t)PQgetlength(res, 0, 0);
    }
    call->cb.chunk(err, v, len, call->ud);
    free(call);
}

int gw_store_body_chunk(struct gw_db *db, int64_t body_id, int64_t seq, gw_store_body_chunk_cb cb,
                        void *ud)
{
    struct gw_store_body_call *call;
    char id[24], sq[16];
    const char *vals[2] = {id, sq};
    int rc;

    if ((rc = gw_store_body_id_check(body_id)) != 0 ||
        (rc = gw_pgtype_range(seq, 0, INT32_MAX)) != 0)
        return rc;
    snprintf(id, sizeof(id), "%" PRId64, body_id);
    snprintf(sq, sizeof(sq), "%" PRId64, seq);
    call = gw_store_body_call(ud);
    if (call)
        call->cb.chunk = cb;
    return gw_store_body_send(db,
                              "SELECT c.bytes FROM body_chunk c"
                              " WHERE c.body_id = $1::bigint AND c.seq = $2::integer",
                              2, vals, NULL, NULL, GW_BODY_BINARY, gw_store_body_chunk_done, call);
}

static void gw_store_body_count_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_body_call *call = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0) {
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
            err = GW_EDB;
        else if (PQgetvalue(res, 0, 0)[0] == 't' || PQgetvalue(res, 0, 0)[0] == 'f')
            n = PQgetvalue(res, 0, 0)[0] == 't';
        else
            n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    }
    if (call->cb.count)
        call->cb.count(err, n, call->ud);
    free(call);
}

int gw_store_body_discard(struct gw_db *db, int64_t body_id, gw_store_body_count_cb cb, void *ud)
{
    struct gw_store_body_call *call;
    char id[24];
    const char *vals[1] = {id};
    int rc;

    if ((rc = gw_store_body_id_check(body_id)) != 0)
        return rc;
    snprintf(id, sizeof(id), "%" PRId64, body_id);
    call = gw_store_body_call(ud);
    if (call)
        call->cb.count = cb;
    return gw_store_body_send(db, "SELECT gw_body_discard($1::bigint)", 1, vals, NULL, NULL,
                              GW_BODY_TEXT, gw_store_body_count_done, call);
}

int gw_store_body_drop(struct gw_db *db, struct gw_body_cache *cache, int64_t body_id)
{
    gw_body_cache_forget(cache, body_id);
    return gw_store_body_discard(db, body_id, NULL, NULL);
}

int gw_store_body_janitor(struct gw_db *db, uint64_t age_ms, int64_t limit,
                          gw_store_body_count_cb cb, void *ud)
{
    struct gw_store_body_call *call;
    char age[24], lim[24];
    const char *vals[2] = {age, lim};
    int rc;

    if ((rc = gw_pgtype_ms(age_ms)) != 0 || (rc = gw_pgtype_range(limit, 1, INT32_MAX)) != 0)
        return rc;
    snprintf(age, sizeof(age), "%" PRIu64, age_ms);
    snprintf(lim, sizeof(lim), "%" PRId64, limit);
    call = gw_store_body_call(ud);
    if (call)
        call->cb.count = cb;
    return gw_store_body_send(db, "SELECT gw_body_janitor($1::integer, $2::integer)", 2, vals, NULL,
                              NULL, GW_BODY_TEXT, gw_store_body_count_done, call);
}
