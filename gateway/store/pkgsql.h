#ifndef GW_PKGSQL_H
#define GW_PKGSQL_H

#include <stddef.h>
#include <stdint.h>

#include "util/pkgkind.h"

/*
 * The package columns of the SQL function that stores a fetched package (gw_incoming_store, the
 * version of schemas/sql/006_body.sql), as typed C values, and their parameter list: kind,
 * DocumentId, sender, recipients, status code, business doc type, sha256, then the staged body
 * that holds the bytes (its id and size) and the parsed package's JSON form (edxml_json.h), from
 * which the SQL expands the attachment and finding rows. The caller fills struct
 * gw_store_package (from the ingest's result); every value is range-checked against its SQL type
 * here, before anything is sent.
 */

struct gw_store_package {
    enum gw_pkg_kind kind;
    const char *document_id; /* text, not NULL */
    const char *sender;      /* text, may be NULL */
    char *const *recipients; /* text[] */
    size_t n_recipients;
    const char *status_code; /* text, NULL for an edoc */
    int business_doc_type;   /* smallint */
    const uint8_t *sha256;   /* 32 bytes */
    int64_t body_id;         /* > 0: the staged body (store_body.h) the package takes */
    uint64_t size;           /* its size (bigint) */
    const char *doc_json;    /* jsonb, may be NULL */
};

#define GW_PKGSQL_MAX 12

struct gw_pkgsql {
    const char *values[GW_PKGSQL_MAX];
    int lengths[GW_PKGSQL_MAX];
    int formats[GW_PKGSQL_MAX];
    int n;
    char bdt[16];
    char body[24], size[24];
    char *rcpts;
};

/* 0 when every column fits its SQL type; GW_EINVAL (NULL where not allowed, text that is not
 * UTF-8) or GW_ERANGE (a number or a length beyond the type) otherwise. */
int gw_store_package_check(const struct gw_store_package *pkg) __attribute__((warn_unused_result));

/* Appends one text parameter (not copied: it must outlive the gw_db_query call). */
void gw_pkgsql_text(struct gw_pkgsql *q, const char *value);

/* Checks (gw_store_package_check) and appends the ten package columns. GW_EINVAL, GW_ERANGE,
 * GW_ENOMEM. */
int gw_pkgsql_package(struct gw_pkgsql *q, const struct gw_store_package *pkg)
    __attribute__((warn_unused_result));

void gw_pkgsql_free(struct gw_pkgsql *q);

#endif
