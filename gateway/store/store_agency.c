/*
 * Agency directories in PostgreSQL: the typed calls of gw_directory_axes_set,
 * gw_directory_replace (the rows travel as one JSON array, built with jansson so every string is
 * escaped once), gw_directory_failed and the v_directory view.
 */
#include "store/store_agency.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "store/store_args.h"
#include "util/error.h"

struct gw_store_agency_call {
    gw_store_directory_cb counts_cb;
    gw_store_directory_done_cb done_cb;
    gw_store_directory_read_cb read_cb;
    void *ud;
};

static int gw_agency_check_row(const struct gw_store_agency *r)
{
    int rc;

    if (!r->code)
        return GW_EINVAL;
    if ((rc = gw_pgtype_text(r->code, false, GW_STORE_AGENCY_CODE_MAX)) != 0 ||
        (rc = gw_pgtype_text(r->code102, true, GW_STORE_AGENCY_CODE_MAX)) != 0 ||
        (rc = gw_pgtype_text(r->parent, true, GW_STORE_AGENCY_CODE_MAX)) != 0 ||
        (rc = gw_pgtype_text(r->old_code, true, GW_STORE_AGENCY_CODE_MAX)) != 0 ||
        (rc = gw_pgtype_text(r->name, true, GW_STORE_AGENCY_TEXT_MAX)) != 0 ||
        (rc = gw_pgtype_text(r->mail, true, GW_STORE_AGENCY_TEXT_MAX)) != 0)
        return rc;
    return 0;
}

int gw_store_directory_check(const struct gw_store_directory_args *a)
{
    int rc;

    if (!a || !a->axis || (a->n_qcvn102 && !a->qcvn102) || (a->n_qd20 && !a->qd20))
        return GW_EINVAL;
    if ((rc = gw_pgtype_text(a->axis, false, 0)) != 0 ||
        (rc = gw_pgtype_text(a->qd20_error, true, 0)) != 0)
        return rc;
    if (a->n_qcvn102 > GW_STORE_AGENCY_ROWS_MAX || a->n_qd20 > GW_STORE_AGENCY_ROWS_MAX)
        return GW_ERANGE;
    for (size_t i = 0; i < a->n_qcvn102; i++) {
        if ((rc = gw_agency_check_row(&a->qcvn102[i])) != 0)
            return rc;
    }
    for (size_t i = 0; i < a->n_qd20 && a->has_qd20; i++) {
        if ((rc = gw_agency_check_row(&a->qd20[i])) != 0)
            return rc;
    }
    return 0;
}

static json_t *gw_agency_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int gw_agency_append(json_t *rows, const char *list, const struct gw_store_agency *r,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(rows, o) != 0)
            return GW_ENOMEM;
        if (json_object_set_new(o, "list", json_string(list)) != 0 ||
            json_object_set_new(o, "code", gw_agency_str(r[i].code)) != 0 ||
            json_object_set_new(o, "code102", gw_agency_str(r[i].code102)) != 0 ||
            json_object_set_new(o, "name", gw_agency_str(r[i].name)) != 0 ||
            json_object_set_new(o, "pid", gw_agency_str(r[i].parent)) != 0 ||
            json_object_set_new(o, "mail", gw_agency_str(r[i].mail)) != 0 ||
            json_object_set_new(o, "oldCode", gw_agency_str(r[i].old_code)) != 0)
            return GW_ENOMEM;
    }
    return 0;
}

static struct gw_store_agency_call *gw_agency_call(void *ud)
{
    struct gw_store_agency_call *c = calloc(1, sizeof(*c));
    if (c)
        c->ud = ud;
    return c;
}

static void gw_agency_counts_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_agency_call *c = ud;
    struct gw_store_directory_counts k = {0};

    (void)sqlstate;
    if (err == 0 && (PQntuples(res) != 1 || PQnfields(res) != 3))
        err = GW_EDB;
    if (err == 0) {
        k.agencies = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
        k.agencies_qd20 = gw_pgfmt_int64(PQgetvalue(res, 0, 1));
        k.pairs = gw_pgfmt_int64(PQgetvalue(res, 0, 2));
    }
    c->counts_cb(err, err == 0 ? &k : NULL, c->ud);
    free(c);
}

int gw_store_directory_replace(struct gw_db *db, const struct gw_store_directory_args *a,
                               gw_store_directory_cb cb, void *ud)
{
    static const char sql[] = "SELECT agencies, agencies_qd20, pairs FROM"
                              " gw_directory_replace($1, $2::text[], $3::jsonb, $4)";
    struct gw_store_agency_call *c;
    json_t *rows;
    char *text = NULL;
    const char *vals[4];
    int rc;

    if ((rc = gw_store_directory_check(a)) != 0)
        return rc;
    if (!cb)
        return GW_EINVAL;
    rows = json_array();
    if (!rows)
        return GW_ENOMEM;
    rc = gw_agency_append(rows, "qcvn102", a->qcvn102, a->n_qcvn102);
    if (rc == 0 && a->has_qd20)
        rc = gw_agency_append(rows, "qd20", a->qd20, a->n_qd20);
    if (rc == 0 && !(text = json_dumps(rows, JSON_COMPACT)))
        rc = GW_ENOMEM;
    json_decref(rows);
    /* Every field was checked by gw_agency_check_row and json_dumps writes valid UTF-8 without
     * NUL: only the length is left to check (no second decode of a large directory). */
    if (rc == 0 && strlen(text) > GW_PG_FIELD_MAX)
        rc = GW_ERANGE;
    c = rc == 0 ? gw_agency_call(ud) : NULL;
    if (rc == 0 && !c)
        rc = GW_ENOMEM;
    if (rc != 0) {
        free(text);
        return rc;
    }
    c->counts_cb = cb;
    vals[0] = a->axis;
    vals[1] = a->has_qd20 ? "{qcvn102,qd20}" : "{qcvn102}";
    vals[2] = text;
    vals[3] = a->qd20_error;
    rc = gw_db_query(db, sql, 4, vals, NULL, NULL, gw_agency_counts_done, c);
    free(text);
    if (rc != 0)
        free(c);
    return rc;
}

static void gw_agency_n_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_agency_call *c = ud;
    int64_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQntuples(res) == 1 && PQnfields(res) == 1 && !PQgetisnull(res, 0, 0))
        n = gw_pgfmt_int64(PQgetvalue(res, 0, 0));
    c->done_cb(err, n, c->ud);
    free(c);
}

int gw_store_directory_failed(struct gw_db *db, const char *axis, const char *error,
                              gw_store_directory_done_cb cb, void *ud)
{
    struct gw_store_agency_call *c;
    const char *vals[2] = {axis, error};
    int rc;

    if ((rc = gw_pgtype_text(axis, false, 0)) != 0 || (rc = gw_pgtype_text(error, false, 0)) != 0)
        return rc;
    if (!cb)
        return GW_EINVAL;
    if (!(c = gw_agency_call(ud)))
        return GW_ENOMEM;
    c->done_cb = cb;
    rc = gw_db_query(db, "SELECT gw_directory_failed($1, $2)", 2, vals, NULL, NULL,
                     gw_agency_n_done, c);
    if (rc != 0)
        free(c);
    return rc;
}

/* "{t,f,...}" for n booleans; malloc'd. */
static char *gw_agency_bools(const bool *b, size_t n)
{
    char *s = malloc(2 * n + 3), *p = s;

    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = b[i] ? 't' : 'f';
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

int gw_store_directory_register(struct gw_db *db, const char *const *axes, const bool *provincial,
                                const bool *has_directory, const bool *enabled, size_t n,
                                gw_store_directory_done_cb cb, void *ud)
{
    struct gw_store_agency_call *c = NULL;
    const char **roles = NULL;
    char *v_axes = NULL, *v_roles = NULL, *v_dir = NULL, *v_en = NULL;
    const char *vals[4];
    int rc;

    if (!cb || (n && (!axes || !provincial || !has_directory || !enabled)) || n > GW_PG_INT4_MAX)
        return GW_EINVAL;
    roles = calloc(n ? n : 1, sizeof(*roles));
    if (!roles)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        roles[i] = provincial[i] ? "provincial" : "national";
    rc = gw_store_text_array(axes, n, 0, &v_axes);
    if (rc == 0)
        rc = gw_store_text_array(roles, n, 0, &v_roles);
    if (rc == 0 && !(v_dir = gw_agency_bools(has_directory, n)))
        rc = GW_ENOMEM;
    if (rc == 0 && !(v_en = gw_agency_bools(enabled, n)))
        rc = GW_ENOMEM;
    if (rc == 0 && !(c = gw_agency_call(ud)))
        rc = GW_ENOMEM;
    if (rc == 0) {
        c->done_cb = cb;
        vals[0] = v_axes;
        vals[1] = v_roles;
        vals[2] = v_dir;
        vals[3] = v_en;
        rc = gw_db_query(db,
                         "SELECT 0 FROM gw_directory_axes_set($1::text[], $2::text[],"
                         " $3::boolean[], $4::boolean[])",
                         4, vals, NULL, NULL, gw_agency_n_done, c);
        if (rc != 0)
            free(c);
    }
    free(roles);
    free(v_axes);
    free(v_roles);
    free(v_dir);
    free(v_en);
    return rc;
}

static void gw_agency_read_done(int err, const PGresult *res, const char *sqlstate, void *ud)
{
    struct gw_store_agency_call *c = ud;
    struct gw_store_directory_state *s = NULL;
    size_t n = 0;

    (void)sqlstate;
    if (err == 0 && PQnfields(res) != 9)
        err = GW_EDB;
    if (err == 0 && (n = (size_t)PQntuples(res)) > 0 && !(s = calloc(n, sizeof(*s))))
        err = GW_ENOMEM;
    for (size_t i = 0; err == 0 && i < n; i++) {
        int r = (int)i;
        s[i].axis = PQgetvalue(res, r, 0);
        s[i].provincial = strcmp(PQgetvalue(res, r, 1), "provincial") == 0;
        s[i].enabled = PQgetvalue(res, r, 2)[0] == 't';
        s[i].configured = PQgetvalue(res, r, 8)[0] == 't';
        s[i].synced = !PQgetisnull(res, r, 3);
        s[i].age_s = s[i].synced ? gw_pgfmt_int64(PQgetvalue(res, r, 3)) : -1;
        s[i].agencies = gw_pgfmt_int64(PQgetvalue(res, r, 4));
        s[i].agencies_qd20 = gw_pgfmt_int64(PQgetvalue(res, r, 5));
        s[i].pairs = gw_pgfmt_int64(PQgetvalue(res, r, 6));
        s[i].failures = gw_pgfmt_int64(PQgetvalue(res, r, 7));
    }
    c->read_cb(err, err == 0 ? s : NULL, err == 0 ? n : 0, c->ud);
    free(s);
    free(c);
}

int gw_store_directory_read(struct gw_db *db, gw_store_directory_read_cb cb, void *ud)
{
    struct gw_store_agency_call *c;
    int rc;

    if (!cb)
        return GW_EINVAL;
    if (!(c = gw_agency_call(ud)))
        return GW_ENOMEM;
    c->read_cb = cb;
    rc = gw_db_query(db,
                     "SELECT axis, role, enabled, age_s, agencies, agencies_qd20, pairs, failures,"
                     " configured FROM v_directory ORDER BY ord",
                     0, NULL, NULL, NULL, gw_agency_read_done, c);
    if (rc != 0)
        free(c);
    return rc;
}
