/*
 * Builds the shared parameter list of the package-storing SQL functions, so the submit path and
 * the poller store packages the same way.
 */
#include "store/pkgsql.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include "store/pgfmt.h"

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

int gw_pkgsql_package(struct gw_pkgsql *q, const struct gw_edxml_info *info, const uint8_t sha[32],
                      const void *bytes, size_t len)
{
    q->rcpts = gw_pgfmt_text_array(info->to, info->n_to);
    if (!q->rcpts)
        return GW_ENOMEM;
    if (len > INT32_MAX)
        return GW_E2BIG;
    snprintf(q->bdt, sizeof(q->bdt), "%d", info->business_doc_type);
    gw_pkgsql_text(q, info->kind == GW_KIND_STATUS ? "status" : "edoc");
    gw_pkgsql_text(q, info->document_id);
    gw_pkgsql_text(q, info->from);
    gw_pkgsql_text(q, q->rcpts);
    gw_pkgsql_text(q, info->status_code);
    gw_pkgsql_text(q, q->bdt);
    gw_pkgsql_add(q, sha, 32, 1);
    gw_pkgsql_add(q, bytes, (int)len, 1);
    return 0;
}

void gw_pkgsql_free(struct gw_pkgsql *q)
{
    free(q->rcpts);
    q->rcpts = NULL;
}
