/*
 * Typed calls of the revocation cache (009_revocation.sql): gw_ocsp_get / gw_crl_get in one
 * query, gw_ocsp_put, gw_crl_put. bytea values go and come back as binary.
 */
#include "store/store_revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgtype.h"
#include "util/error.h"

struct gw_store_revoke_call {
    gw_store_revoke_get_cb get;
    gw_store_revoke_put_cb put;
    void *ud;
};

static void gw_rv_got(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_revoke_call *c = ud;
    const uint8_t *o = NULL, *r = NULL;
    size_t on = 0, rn = 0;

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 2))
        err = GW_EDB;
    if (err == 0 && !PQgetisnull(res, 0, 0)) {
        o = (const uint8_t *)PQgetvalue(res, 0, 0);
        on = (size_t)PQgetlength(res, 0, 0);
    }
    if (err == 0 && !PQgetisnull(res, 0, 1)) {
        r = (const uint8_t *)PQgetvalue(res, 0, 1);
        rn = (size_t)PQgetlength(res, 0, 1);
    }
    c->get(err, o, on, r, rn, c->ud);
    free(c);
}

int gw_store_revoke_get(struct gw_db *db, const uint8_t name_hash[20], const uint8_t key_hash[20],
                        const char *serial, const char *crl_url, time_t now,
                        gw_store_revoke_get_cb cb, void *ud)
{
    char at[24];
    const char *vals[5] = {(const char *)name_hash, (const char *)key_hash, serial, crl_url, at};
    const int lens[5] = {20, 20, 0, 0, 0}, fmts[5] = {1, 1, 0, 0, 0};
    struct gw_store_revoke_call *c = calloc(1, sizeof(*c));
    int rc = !c ? GW_ENOMEM : 0;

    if (rc == 0)
        rc = gw_pgtype_text(serial, false, 300);
    if (rc == 0)
        rc = gw_pgtype_text(crl_url, false, 4096);
    if (rc == 0) {
        snprintf(at, sizeof(at), "%lld", (long long)now);
        c->get = cb;
        c->ud = ud;
        rc = gw_db_query_binary(
            db,
            "SELECT (SELECT o.der FROM gw_ocsp_get($1::bytea, $2::bytea, $3, 'sha1',"
            " to_timestamp($5::bigint)) o LIMIT 1),"
            " (SELECT r.der FROM gw_crl_get($4) r WHERE $4 <> ''"
            " AND r.next_update > to_timestamp($5::bigint) LIMIT 1)",
            5, vals, lens, fmts, gw_rv_got, c);
    }
    if (rc != 0)
        free(c);
    return rc;
}

static void gw_rv_put(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_revoke_call *c = ud;

    (void)res;
    (void)sqlstate;
    if (c->put)
        c->put(err, c->ud);
    free(c);
}

int gw_store_revoke_put_ocsp(struct gw_db *db, const uint8_t name_hash[20],
                             const uint8_t key_hash[20], const char *serial, const uint8_t *der,
                             size_t n, time_t this_update, time_t next_update,
                             gw_store_revoke_put_cb cb, void *ud)
{
    char tu[24], nu[24];
    const char *vals[6] = {
        (const char *)name_hash, (const char *)key_hash, serial, (const char *)der, tu, nu};
    const int lens[6] = {20, 20, 0, (int)n, 0, 0}, fmts[6] = {1, 1, 0, 1, 0, 0};
    struct gw_store_revoke_call *c = calloc(1, sizeof(*c));
    int rc = !c ? GW_ENOMEM : gw_pgtype_text(serial, false, 300);

    if (rc == 0)
        rc = gw_pgtype_bytea(n);

    if (rc == 0) {
        snprintf(tu, sizeof(tu), "%lld", (long long)this_update);
        snprintf(nu, sizeof(nu), "%lld", (long long)next_update);
        c->put = cb;
        c->ud = ud;
        rc = gw_db_query(db,
                         "SELECT gw_ocsp_put($1::bytea, $2::bytea, $3, 'sha1', $4::bytea,"
                         " to_timestamp($5::bigint), to_timestamp($6::bigint), now())",
                         6, vals, lens, fmts, gw_rv_put, c);
    }
    if (rc != 0)
        free(c);
    return rc;
}

int gw_store_revoke_put_crl(struct gw_db *db, const char *url, const char *issuer,
                            const uint8_t *der, size_t n, time_t this_update, time_t next_update,
                            gw_store_revoke_put_cb cb, void *ud)
{
    char tu[24], nu[24];
    const char *vals[5] = {url, (const char *)der, tu, nu, issuer};
    const int lens[5] = {0, (int)n, 0, 0, 0}, fmts[5] = {0, 1, 0, 0, 0};
    struct gw_store_revoke_call *c = calloc(1, sizeof(*c));
    int rc = !c ? GW_ENOMEM : gw_pgtype_text(url, false, 4096);

    if (rc == 0)
        rc = gw_pgtype_bytea(n);

    if (rc == 0)
        rc = gw_pgtype_text(issuer, false, 4096);

    if (rc == 0) {
        snprintf(tu, sizeof(tu), "%lld", (long long)this_update);
        snprintf(nu, sizeof(nu), "%lld", (long long)next_update);
        c->put = cb;
        c->ud = ud;
        rc = gw_db_query(db,
                         "SELECT gw_crl_put($1, $2::bytea, $5, to_timestamp($3::bigint),"
                         " to_timestamp($4::bigint))",
                         5, vals, lens, fmts, gw_rv_put, c);
    }
    if (rc != 0)
        free(c);
    return rc;
}
