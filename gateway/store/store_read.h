#ifndef GW_STORE_READ_H
#define GW_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "store/store_args.h"

/*
 * Typed reads of one package for the northbound API, scoped to the organisations a client acts
 * for: an incoming package is visible when one of its recipients is in the scope, an outgoing one
 * when its sender is. A package outside the scope reads exactly like one that does not exist.
 */

struct gw_store_read_args {
    int64_t package_id; /* 1..INT64_MAX */
    struct gw_store_scope scope;
};

/* err 0: json (len bytes, NUL-terminated) is the package document; GW_ENOENT: no such package
 * in the scope; GW_EDB: database failure. Data valid during the call only. */
typedef void (*gw_store_read_json_cb)(int err, const char *json, size_t len, void *ud);

/* State, recipients, size, sha256, deliveries, audit events, attachments and findings as one
 * JSON object built by PostgreSQL. GW_ERANGE / GW_EINVAL for a bad id or scope (callback never
 * runs). */
int gw_store_read_package(struct gw_db *db, const struct gw_store_read_args *a,
                          gw_store_read_json_cb cb, void *ud) __attribute__((warn_unused_result));

/* Where the exact bytes received are (006_body.sql): err 0 with the body, its size and its chunk
 * count (read each with gw_store_body_chunk); GW_ENOENT: no such package in the scope. */
typedef void (*gw_store_read_body_cb)(int err, int64_t body_id, int64_t size, int64_t chunks,
                                      void *ud);
int gw_store_read_body(struct gw_db *db, const struct gw_store_read_args *a,
                       gw_store_read_body_cb cb, void *ud) __attribute__((warn_unused_result));

#endif
