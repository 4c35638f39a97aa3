#ifndef GW_INGEST_H
#define GW_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "db/db.h"
#include "store/body_cache.h"
#include "edxml/edxml_model.h"
#include "edxml/edxml_reader.h"

/*
 * One package being received, whatever it comes from (a POST /v1/packages body, getEdoc's
 * decoded bytes): its bytes are written in any pieces; every GW_INGEST_CHUNK bytes are fed to
 * the streaming reader on the thread pool while the same bytes are INSERTed as the next chunk of
 * a staged body (store_body.h). At most one buffer is in flight each way and one is filling, so
 * memory is a constant whatever the package size. finish completes the reader (and the
 * conformance hook) on the thread pool and reports the parsed package with the staged body that
 * holds its bytes; the caller stores the package row that takes the body (gw_store_submit /
 * gw_store_incoming_store with body_id), which is the commit marker.
 *
 * A refusal (a verdict on the package: not well-formed, not edXML, no recipient...) stops the
 * ingest at once: nothing more is stored and the staged chunks are discarded. Everything runs on
 * the loop but the reader calls; callbacks never run inside the call that caused them.
 */

#define GW_INGEST_CHUNK ((size_t)256 * 1024)

struct gw_ingest;

struct gw_ingest_deps {
    uv_loop_t *loop;
    struct gw_db *db;
    /* Each chunk stored is also kept here for the readers that follow (store/body_cache.h);
     * NULL: none. */
    struct gw_body_cache *cache;
    struct gw_edxml_reader_opts reader; /* limits (max_bytes: the package) */
    /* Conformance on the parsed package, on a thread-pool worker after the reader finished
     * (edxml_conform.h: gw_edxml_xsd_check + gw_edxml_conform). NULL: none. Non-zero is a local
     * failure (GW_ENOMEM). */
    int (*check)(struct gw_edxml_doc *doc, void *check_ud);
    void *check_ud;
    /* The JSON form stored with the package (edxml_json.h gw_edxml_doc_json), on the worker.
     * NULL: gw_ingest_doc_json (the whole form). */
    char *(*to_json)(const struct gw_edxml_doc *doc);
    /* Judgements made on the parsed package, on the worker after check, added as members of
     * its JSON form (the paper-copy classification, pipeline/paper.h); the store's stages take
     * them in the transaction that stores the package. Only without to_json; NULL: none.
     * Non-zero is a local failure (GW_ENOMEM). */
    int (*annotate)(const struct gw_edxml_doc *doc, json_t *form, void *annotate_ud);
    void *annotate_ud;
    /* A package that fits one buffer (GW_INGEST_CHUNK) is not staged: the result carries its
     * bytes (body_id 0) and the caller stages them in the statement that stores the package
     * (gw_store_submit with stage_bytes), one round trip and one commit less per package. */
    bool inline_single;
};

enum gw_ingest_outcome {
    GW_INGEST_OK,      /* parsed; body holds the bytes */
    GW_INGEST_REFUSED, /* a verdict on the package: code and message say why */
    GW_INGEST_FAILED,  /* a local failure (limit, database, memory): err says what */
};

struct gw_ingest_result {
    enum gw_ingest_outcome outcome;
    int err;             /* REFUSED: GW_EPARSE, GW_ENOTEDXML, GW_ENORCPT; FAILED: GW_E2BIG... */
    const char *code;    /* stable code ("not_well_formed", "bad_base64", "database"...) */
    const char *message; /* "<code>: <explanation>" */
    /* OK only; the caller takes them (sets the pointers to NULL or leaves them to be freed when
     * the callback returns). */
    struct gw_edxml_doc *doc;
    char *doc_json;  /* malloc'd */
    int64_t body_id; /* the staged body; the caller stores or discards it */
    /* inline_single and the package fitted one buffer: body_id is 0 and these are its bytes
     * (size of them, malloc'd; the caller takes them like doc). NULL otherwise. */
    uint8_t *bytes;
    uint64_t size;
    uint8_t sha256[32];
};

/* Runs once, after finish (or at the first refusal or failure), never after gw_ingest_abort. The
 * ingest is freed when it returns. */
typedef void (*gw_ingest_done_fn)(struct gw_ingest_result *r, void *ud);
/* A write that took less than it was given may be retried now. */
typedef void (*gw_ingest_ready_fn)(void *ud);

/* NULL on allocation failure. deps is copied. */
struct gw_ingest *gw_ingest_new(const struct gw_ingest_deps *deps, gw_ingest_ready_fn ready,
                                gw_ingest_done_fn done, void *ud);

/* Copies up to len bytes; returns how many were taken. Fewer than len: the buffers are full (ready
 * runs when there is room) or the ingest has stopped (done has run or will run). */
size_t gw_ingest_write(struct gw_ingest *in, const void *data, size_t len);

/* No more bytes: completes the ingest (done runs later). */
void gw_ingest_finish(struct gw_ingest *in);

/* The caller no longer wants the package (client gone, answered already): no callback runs again;
 * work in flight completes, the staged body is discarded and the ingest freed. */
void gw_ingest_abort(struct gw_ingest *in);

/* True once the ingest has stopped taking bytes for good (refused or failed). */
bool gw_ingest_stopped(const struct gw_ingest *in);

/* The package's JSON form (edxml_json.h gw_edxml_doc_json) as compact text. malloc'd, NULL on
 * allocation failure. */
char *gw_ingest_doc_json(const struct gw_edxml_doc *doc);
/* The same with the members deps->annotate adds; NULL on failure (*err says which). */
char *gw_ingest_doc_json_annotated(const struct gw_edxml_doc *doc,
                                   const struct gw_ingest_deps *deps, int *err);

#endif
