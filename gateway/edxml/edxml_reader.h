#ifndef GW_EDXML_READER_H
#define GW_EDXML_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml.h"
#include "edxml/edxml_model.h"

/*
 * Streaming edXML reader: the package is fed in chunks of any size as it arrives and is never
 * held whole. Each chunk goes through the structural pre-scan (fixed caps), the libxml2 SAX2 push
 * parser, the package SHA-256, and, inside ContentTransferEncoded, an incremental base64 decoder
 * with a per-attachment SHA-256 and magic sniffing. Memory is bounded by buffers (a few hundred
 * KiB) whatever the package size; an attachment the ZIP rule may unwrap is decoded into an
 * unlinked temporary file under opts->tmpdir, unwrapped as soon as that attachment ends
 * (edxml_zip.h) and closed.
 *
 * Not thread-safe per reader, but readers are independent: feed and finish run on thread-pool
 * workers, one worker at a time for a given reader.
 */

struct gw_edxml_reader;

struct gw_edxml_reader_opts {
    struct gw_edxml_limits limits; /* max_bytes, max_depth, max_recipients */
    uint64_t max_attachment_bytes; /* decoded size of one attachment; 0 = 64 MiB (local) */
    uint64_t max_unzipped_bytes;   /* an unwrapped entry; 0 = 128 MiB (local) */
    unsigned max_zip_ratio;        /* uncompressed/compressed; 0 = 200. Beyond it the package is
                                      refused (GW_ENOTEDXML "zip_bomb"): a fixed cap, not
                                      configuration */
    const char *tmpdir;            /* NULL = $TMPDIR or /tmp */
    bool no_package_sha256;        /* the caller hashes the same bytes: doc->sha256 stays zero */
};

void gw_edxml_reader_opts_default(struct gw_edxml_reader_opts *o);

/* NULL on allocation failure. opts may be NULL for the defaults; it is copied. */
struct gw_edxml_reader *gw_edxml_reader_new(const struct gw_edxml_reader_opts *opts);

/* Feeds the next len bytes. 0 to go on; a refusal (GW_EPARSE, GW_ENOTEDXML, GW_ENORCPT;
 * base64 that does not decode is GW_ENOTEDXML "bad_base64", the older inetcloud format
 * GW_ENOTEDXML "inetcloud_format") or a local limit (GW_E2BIG "too_large",
 * "attachment_too_large"; GW_ELIMIT "too_many_recipients", "too_many_items",
 * "too_much_text"; GW_ENOMEM, GW_EIO) stops the reader for good: later feeds return the same error.
 */
int gw_edxml_reader_feed(struct gw_edxml_reader *r, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* Ends the stream: completes parsing, the verdicts that need the whole package (no DocumentId,
 * no recipient...) and ZIP unwrapping. Conformance (edxml_conform.h) and document_id_norm are
 * the caller's, after finish. On success *out is a new document the caller
 * frees with gw_edxml_doc_free (and then free()). On error *out is NULL; errmsg receives
 * "<code>: <explanation>" and *code (may be NULL) the stable code. */
int gw_edxml_reader_finish(struct gw_edxml_reader *r, struct gw_edxml_doc **out, const char **code,
                           char *errmsg, size_t errmsg_len) __attribute__((warn_unused_result));

/* Bytes fed so far. */
uint64_t gw_edxml_reader_offset(const struct gw_edxml_reader *r);

void gw_edxml_reader_free(struct gw_edxml_reader *r);

/* Whole-buffer convenience: new + one feed + finish + free. */
int gw_edxml_read(const void *buf, size_t len, const struct gw_edxml_reader_opts *opts,
                  struct gw_edxml_doc **out, const char **code, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

#endif
