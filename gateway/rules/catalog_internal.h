#ifndef GW_CATALOG_INTERNAL_H
#define GW_CATALOG_INTERNAL_H

#include "rules/catalog.h"

/* Shared by catalog.c (the whole catalogue) and catalog_parse.c (one file). */

/* Fills err; returns GW_ECONFIG. */
int gw_catalog_fail(struct gw_catalog_error *err, const char *file, int line, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Parses one file's text (modified in place) into c's rules; *version: its [catalogue] version
 * (malloc'd) or NULL. file must outlive c. */
int gw_catalog_parse(struct gw_catalog *c, const char *file, char *text, char **version,
                     struct gw_catalog_error *err);

void gw_catalog_rule_clear(struct gw_rule *r);

#endif
