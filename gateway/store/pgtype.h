#ifndef GW_PGTYPE_H
#define GW_PGTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the SQL types of schemas/sql hold, checked in C before a value is sent, so that a value
 * out of range is a clear GW_ERANGE at the edge (a 4xx to a client, a verdict on an incoming
 * package, a refused configuration) and never a database error later. Every typed store call
 * checks its arguments with these.
 */

#define GW_PG_INT2_MAX INT16_MAX
#define GW_PG_INT4_MAX INT32_MAX
/* PostgreSQL's limit on one field value (bytea or text): 1 GB less the varlena header. */
#define GW_PG_FIELD_MAX (((size_t)1 << 30) - 4)

/* 0 when lo <= v <= hi, else GW_ERANGE. */
int gw_pgtype_range(int64_t v, int64_t lo, int64_t hi) __attribute__((warn_unused_result));
int gw_pgtype_int2(int64_t v) __attribute__((warn_unused_result));
int gw_pgtype_int4(int64_t v) __attribute__((warn_unused_result));
/* Milliseconds as an SQL interval built from an integer number of ms (int4 in the functions). */
int gw_pgtype_ms(uint64_t ms) __attribute__((warn_unused_result));

/* A text value: NULL is allowed when nullable; otherwise valid UTF-8, no NUL, at most max_bytes
 * (0 = only PostgreSQL's own limit). GW_EINVAL for NULL or bad UTF-8, GW_ERANGE for length. */
int gw_pgtype_text(const char *s, bool nullable, size_t max_bytes)
    __attribute__((warn_unused_result));

/* A bytea value's length. */
int gw_pgtype_bytea(size_t len) __attribute__((warn_unused_result));

#endif
