#ifndef GW_PKGSQL_H
#define GW_PKGSQL_H

#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml.h"

/*
 * Parameter lists for the SQL functions that store a package (gw_submit, gw_store_incoming).
 * Both take the same eight package columns, in the same order: kind, DocumentId, sender,
 * recipients, status code, business doc type, sha256, bytes.
 */

#define GW_PKGSQL_MAX 12

struct gw_pkgsql {
    const char *values[GW_PKGSQL_MAX];
    int lengths[GW_PKGSQL_MAX];
    int formats[GW_PKGSQL_MAX];
    int n;
    char bdt[16];
    char *rcpts;
};

/* Appends one text parameter (not copied: it must outlive the gw_db_query call). */
void gw_pkgsql_text(struct gw_pkgsql *q, const char *value);

/* Appends the eight package columns. GW_ENOMEM on allocation failure. */
int gw_pkgsql_package(struct gw_pkgsql *q, const struct gw_edxml_info *info, const uint8_t sha[32],
                      const void *bytes, size_t len) __attribute__((warn_unused_result));

void gw_pkgsql_free(struct gw_pkgsql *q);

#endif
