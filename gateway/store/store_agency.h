#ifndef GW_STORE_AGENCY_H
#define GW_STORE_AGENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/*
 * Typed calls of the agency directory functions (schemas/sql/005_route.sql): register the axes
 * routed over (role, order, whether they have a directory call), replace one axis's directory in
 * one transaction, record a failed sync, read every axis's sync state. Every text is checked
 * (valid UTF-8, no NUL, the lengths below) before anything is sent.
 */

#define GW_STORE_AGENCY_CODE_MAX 256  /* code, code102, parent, old_code */
#define GW_STORE_AGENCY_TEXT_MAX 2048 /* name, mail */
#define GW_STORE_AGENCY_ROWS_MAX 1000000

/* One directory row; every field may be NULL but code (a row without one is refused). */
struct gw_store_agency {
    const char *code;
    const char *code102;
    const char *name;
    const char *parent;
    const char *mail;
    const char *old_code;
};

struct gw_store_directory_args {
    const char *axis;
    const struct gw_store_agency *qcvn102; /* getAgenciesList */
    size_t n_qcvn102;
    bool has_qd20;                      /* false: the QĐ 20 list in place is kept */
    const struct gw_store_agency *qd20; /* getAgenciesListQD20 (code = QĐ 20, code102) */
    size_t n_qd20;
    const char *qd20_error; /* why the QĐ 20 list was not replaced (NULL when it was) */
};

struct gw_store_directory_counts {
    int64_t agencies;      /* QCVN 102 rows stored */
    int64_t agencies_qd20; /* QĐ 20 rows stored */
    int64_t pairs;         /* QĐ 20 rows paired with a QCVN 102 code */
};

typedef void (*gw_store_directory_cb)(int err, const struct gw_store_directory_counts *c, void *ud);
typedef void (*gw_store_directory_done_cb)(int err, int64_t n, void *ud);

/* Checks of gw_store_directory_replace only: GW_EINVAL (no axis, a row without code, bad
 * UTF-8), GW_ERANGE (a field or the row count beyond the limits above). */
int gw_store_directory_check(const struct gw_store_directory_args *a)
    __attribute__((warn_unused_result));

/* Replaces the axis's QCVN 102 list (and the QĐ 20 list when has_qd20) and records the
 * success. The axis must be registered (else GW_EDB, sqlstate 22023). Errors of the checks or of
 * gw_db_query: the callback never runs. */
int gw_store_directory_replace(struct gw_db *db, const struct gw_store_directory_args *a,
                               gw_store_directory_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* A failed sync: n = failures since the last success (0 when the axis is not registered). */
int gw_store_directory_failed(struct gw_db *db, const char *axis, const char *error,
                              gw_store_directory_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* Registers the axes routed over: every configured axis in configuration order, with its role,
 * whether its adapter has a directory call and whether it is enabled (n = 0: none). */
int gw_store_directory_register(struct gw_db *db, const char *const *axes, const bool *provincial,
                                const bool *has_directory, const bool *enabled, size_t n,
                                gw_store_directory_done_cb cb, void *ud)
    __attribute__((warn_unused_result));

struct gw_store_directory_state {
    const char *axis;
    bool provincial;
    bool configured;
    bool enabled;
    bool synced;   /* a sync ever succeeded */
    int64_t age_s; /* since the last success, -1 when never */
    int64_t agencies, agencies_qd20, pairs, failures;
};

typedef void (*gw_store_directory_read_cb)(int err, const struct gw_store_directory_state *s,
                                           size_t n, void *ud);

/* Every registered axis (data valid during the call). */
int gw_store_directory_read(struct gw_db *db, gw_store_directory_read_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
