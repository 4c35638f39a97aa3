/*
 * Checked text lists for the typed store calls of the northbound API: every item is verified
 * against what PostgreSQL's text accepts before the array literal is built, so a bad value is
 * refused in C and never reaches the database.
 */
#include "store/store_args.h"

#include <stdlib.h>

#include "store/pgfmt.h"
#include "store/pgtype.h"
#include "util/error.h"

int gw_store_text_array(const char *const *items, size_t n, size_t max_bytes, char **out)
{
    int rc;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if ((rc = gw_pgtype_text(items[i], false, max_bytes)) != 0)
            return rc;
    }
    /* gw_pgfmt_text_array only reads the items. */
    *out = gw_pgfmt_text_array((char *const *)(uintptr_t)items, n);
    if (!*out)
        return GW_ENOMEM;
    if (gw_pgtype_text(*out, false, 0) != 0) {
        free(*out);
        *out = NULL;
        return GW_ERANGE;
    }
    return 0;
}

int gw_store_scope_array(const struct gw_store_scope *scope, char **out)
{
    *out = NULL;
    if (!scope || scope->n_organs == 0 || !scope->organs)
        return GW_EINVAL;
    return gw_store_text_array(scope->organs, scope->n_organs, GW_STORE_ORGAN_MAX, out);
}
