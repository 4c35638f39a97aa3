/*
 * Typed call of gw_cert_block_find (009_revocation.sql): the earliest local block of a
 * certificate, looked up before its revocation status is asked.
 */
#include "store/store_block.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_block_call {
    gw_store_block_cb cb;
    void *ud;
};

static void gw_store_block_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_block_call *c = ud;
    bool found = false;
    int64_t from = 0;
    const char *reason = NULL;

    (void)sqlstate;
    if (err == 0 && PQnfields(res) != 2)
        err = GW_EDB;
    if (err == 0 && PQntuples(res) > 0) {
        found = true;
        from = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        reason = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
    }
    c->cb(err, found, from, reason, c->ud);
    free(c);
}

int gw_store_block_find(struct gw_db *db, const uint8_t cert_sha256[32],
                        const uint8_t issuer_hash[32], const char *serial, gw_store_block_cb cb,
                        void *ud)
{
    /* the hashes go as binary bytea parameters */
    const char *vals[3] = {(const char *)cert_sha256, (const char *)issuer_hash, serial};
    const int lens[3] = {32, 32, 0}, fmts[3] = {1, 1, 0};
    struct gw_store_block_call *c;
    int rc;

    if (!cb)
        return GW_EINVAL;
    if ((rc = gw_pgtype_text(serial, false, 300)) != 0)
        return rc;
    if (!(c = malloc(sizeof(*c))))
        return GW_ENOMEM;
    c->cb = cb;
    c->ud = ud;
    rc = gw_db_query(db,
                     "SELECT extract(epoch FROM blocked_from)::bigint, reason"
                     " FROM gw_cert_block_find($1::bytea, $2::bytea, $3) LIMIT 1",
                     3, vals, lens, fmts, gw_store_block_done, c);
    if (rc != 0)
        free(c);
    return rc;
}
