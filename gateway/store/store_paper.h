#ifndef GW_STORE_PAPER_H
#define GW_STORE_PAPER_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/store_args.h"

/*
 * Paper copies in the store (010_paper.sql): a copy's dispatch recorded, and the counts of
 * copies pending and overdue for /metrics. The classification itself is stored with the package
 * (its "paper_check" member, taken by the package stages).
 */

struct gw_store_paper_dispatch_args {
    int64_t package_id;
    const char *recipient;       /* NULL: every copy still pending */
    int64_t at;                  /* Unix seconds; 0: now */
    const char *by;              /* who sent (or received) it */
    const char *reference;       /* số công văn, postal reference... */
    const char *actor;           /* the API client */
    struct gw_store_scope scope; /* the organisations it acts for */
};

/* err 0: recorded copies recorded now (0: all were recorded before), -1 when the package (or
 * that recipient) has no paper copy, -2 when no such package is in the scope. */
typedef void (*gw_store_paper_dispatch_cb)(int err, int recorded, void *ud);

/* GW_EINVAL / GW_ERANGE when an argument does not fit its SQL type (nothing sent). */
int gw_store_paper_dispatch(struct gw_db *db, const struct gw_store_paper_dispatch_args *a,
                            gw_store_paper_dispatch_cb cb, void *ud)
    __attribute__((warn_unused_result));

/* The QĐ 20 codes the agency directories pair with the QCVN 102 ids given (v_agency_pair):
 * err 0 with n pairs (valid during the callback). */
typedef void (*gw_store_paper_aliases_cb)(int err, const char *const *alias, const char *const *id,
                                          size_t n, void *ud);
int gw_store_paper_aliases(struct gw_db *db, const char *const *ids, size_t n_ids,
                           gw_store_paper_aliases_cb cb, void *ud)
    __attribute__((warn_unused_result));

typedef void (*gw_store_paper_counts_cb)(int err, int64_t pending, int64_t overdue, void *ud);

int gw_store_paper_counts(struct gw_db *db, gw_store_paper_counts_cb cb, void *ud)
    __attribute__((warn_unused_result));

#endif
