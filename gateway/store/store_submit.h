#ifndef GW_STORE_SUBMIT_H
#define GW_STORE_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "util/pkgkind.h"

/*
 * Typed call of gw_submit (schemas/sql/004_scope.sql): stores a package submitted by a QLVBĐH
 * client with its delivery and audit events in one transaction. The identity is (sender,
 * DocumentId, BussinessDocType) for an edoc and (sender, ResponseFor DocumentId, sha256) for a
 * status.
 *
 * With body_id set, the version of schemas/sql/006_body.sql: the bytes are a staged body
 * (store_body.h) of size bytes, attached as the package row commits; the attachment and finding
 * rows are expanded from doc_json (edxml_json.h form). On a duplicate or a conflict the staged
 * body is deleted in the same transaction.
 *
 * With stage_bytes instead (a package that fits one chunk, GW_STORE_BODY_CHUNK_MAX), the same
 * in one statement with the body staged from bytes/len first (gw_body_start), in the same
 * transaction: size is len, doc_json as with body_id. The bytes are then not copied
 * (gw_db_query_borrow): they must stay valid and unchanged until cb has run.
 */

enum gw_store_submit_outcome {
    GW_STORE_SUBMIT_CREATED,
    GW_STORE_SUBMIT_DUPLICATE, /* same identity, same bytes: package_id is the original */
    GW_STORE_SUBMIT_CONFLICT,  /* same identity, other bytes: package_id is the original */
};

struct gw_store_submit_args {
    const char *source; /* client name (audit actor) */
    enum gw_pkg_kind kind;
    const char *document_id; /* edoc: DocumentId; status: ResponseFor/DocumentId */
    const char *sender;      /* From/OrganId; required, part of the identity */
    const char *const *recipients;
    size_t n_recipients;
    const char *status_code;   /* status packages; NULL for an edoc */
    int64_t business_doc_type; /* SQL smallint */
    const uint8_t *sha256;     /* 32 bytes */
    const void *bytes;         /* without body_id */
    size_t len;
    int64_t body_id;      /* > 0: the bytes are this staged body */
    uint64_t size;        /* with body_id: its size */
    const char *doc_json; /* with body_id: the package's JSON form (jsonb), may be NULL */
    bool stage_bytes;     /* without body_id: stage bytes as the body in the same statement */
    const char *axis;     /* the axis its delivery goes to */
};

struct gw_store_submit_result {
    int64_t package_id;
    enum gw_store_submit_outcome outcome;
    int64_t body_id; /* stage_bytes: the body staged from the bytes (the package's when created,
                        deleted otherwise); 0 without stage_bytes */
};

/* err 0: r is set (valid during the call). Otherwise r is NULL and the outcome is unknown only
 * if err is GW_EDB with sqlstate "" (the connection broke). */
typedef void (*gw_store_submit_cb)(int err, const struct gw_store_submit_result *r,
                                   const char *sqlstate, void *ud);

/* Checks every argument against its SQL type first: GW_ERANGE (business_doc_type outside
 * smallint, a text or the body too long), GW_EINVAL (missing sender, DocumentId, source or axis,
 * no recipient, text that is not valid UTF-8 or holds a NUL), GW_ENOMEM; the callback then never
 * runs and nothing is sent. Errors of gw_db_query (GW_EAGAIN...) likewise. */
int gw_store_submit(struct gw_db *db, const struct gw_store_submit_args *a, gw_store_submit_cb cb,
                    void *ud) __attribute__((warn_unused_result));

/* Only the checks of gw_store_submit (for tests and callers that decide before queueing). */
int gw_store_submit_check(const struct gw_store_submit_args *a) __attribute__((warn_unused_result));

#endif
