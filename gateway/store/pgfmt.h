#ifndef GW_PGFMT_H
#define GW_PGFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Small formatting helpers for query parameters and results: PostgreSQL array literals and int64
 * parsing.
 */

/* "{\"a\",\"b\"}" with quotes and backslashes escaped; malloc'd, NULL on OOM. */
char *gw_pgfmt_text_array(char *const *items, size_t n);

/* Strict decimal int64; -1 when not a number. */
int64_t gw_pgfmt_int64(const char *s);

#endif
