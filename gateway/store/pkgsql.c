/*
 * Builds the parameter list of the SQL function that stores a fetched package (pkgsql.h) and
 * checks each column against its SQL type first.
 */
#include "store/pkgsql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

static void gw_pkgsql_add(struct gw_pkgsql *q, const void *value, int len, int format)
{
    if (q->n >= GW_PKGSQL_MAX)
        abort(); /* a programming error: the lists are fixed at compile time */
    q->values[q->n] = value;
    q->lengths[q->n] = len;
    q->formats[q->n] = format;
    q->n++;
}

void gw_pkgsql_text(struct gw_pkgsql *q, const char *value)
{
    gw_pkgsql_add(q, value, 0, 0);
}

int gw_store_package_check(const struct gw_store_package *pkg)
{
    int rc;

    if (pkg->kind != GW_KIND_EDOC && pkg->kind != GW_KIND_STATUS)
        return GW_EINVAL;
    if (!pkg->sha256 || pkg->body_id == 0)
        return GW_EINVAL;
    if ((rc = gw_pgtype_range(pkg->body_id, 1, INT64_MAX)) != 0 ||
        pkg->size > (uint64_t)INT64_MAX || (rc = gw_pgtype_text(pkg->doc_json, true, 0)) != 0)
        return rc ? rc : GW_ERANGE;
    if ((rc = gw_pgtype_text(pkg->document_id, false, 0)) != 0 ||
        (rc = gw_pgtype_text(pkg->sender, true, 0)) != 0 ||
        (rc = gw_pgtype_text(pkg->status_code, true, 0)) != 0 ||
        (rc = gw_pgtype_int2(pkg->business_doc_type)) != 0)
        return rc;
    if (pkg->n_recipients > 0 && !pkg->recipients)
        return GW_EINVAL;
    for (size_t i = 0; i < pkg->n_recipients; i++) {
        if ((rc = gw_pgtype_text(pkg->recipients[i], false, 0)) != 0)
            return rc;
    }
    return 0;
}

int gw_pkgsql_package(struct gw_pkgsql *q, const struct gw_store_package *pkg)
{
    int rc = gw_store_package_check(pkg);

    if (rc != 0)
        return rc;
    q->rcpts = gw_pgfmt_text_array(pkg->recipients, pkg->n_recipients);
    if (!q->rcpts)
        return GW_ENOMEM;
    if (gw_pgtype_text(q->rcpts, false, 0) != 0)
        return GW_ERANGE;
    snprintf(q->bdt, sizeof(q->bdt), "%d", pkg->business_doc_type);
    gw_pkgsql_text(q, pkg->kind == GW_KIND_STATUS ? "status" : "edoc");
    gw_pkgsql_text(q, pkg->document_id);
    gw_pkgsql_text(q, pkg->sender);
    gw_pkgsql_text(q, q->rcpts);
    gw_pkgsql_text(q, pkg->status_code);
    gw_pkgsql_text(q, q->bdt);
    gw_pkgsql_add(q, pkg->sha256, 32, 1);
    snprintf(q->body, sizeof(q->body), "%" PRId64, pkg->body_id);
    snprintf(q->size, sizeof(q->size), "%" PRIu64, pkg->size);
    gw_pkgsql_text(q, q->body);
    gw_pkgsql_text(q, q->size);
    gw_pkgsql_text(q, pkg->doc_json);
    return 0;
}

void gw_pkgsql_free(struct gw_pkgsql *q)
{
    free(q->rcpts);
    q->rcpts = NULL;
}
