#ifndef GW_EDXML_CONFORM_H
#define GW_EDXML_CONFORM_H

#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml_model.h"

/*
 * Conformance of a parsed package (domain.md §2–4) beyond what makes it refused: the XSD of
 * schemas/edxml/ on the header only (never the attachment payloads), and the checks an XSD cannot
 * express. Each finding has a stable code, an XPath and a message (edxml_model.h); all of them are
 * GW_EDXML_STRICT or GW_EDXML_NOTE: conformance alone never refuses a package (lenient mode).
 */

struct gw_edxml_xsd;

/* Loads and compiles the schema at path (schemas/edxml/edxml.xsd). Thread-safe to use once
 * loaded. GW_ENOENT, GW_EPARSE (schema does not compile), GW_ENOMEM. */
int gw_edxml_xsd_load(const char *path, struct gw_edxml_xsd **out)
    __attribute__((warn_unused_result));
void gw_edxml_xsd_free(struct gw_edxml_xsd *x);

/* Validates the header bytes (doc->header_xml, with the namespace declarations in scope at its
 * start re-declared on it) against the schema and adds one finding per error (code "xsd").
 * Callable from any thread. GW_ENOMEM. */
int gw_edxml_xsd_check(const struct gw_edxml_xsd *x, struct gw_edxml_doc *doc)
    __attribute__((warn_unused_result));

/* The checks an XSD cannot express, added to doc->findings: Reference <-> Attachment by
 * ContentId (cid: stripped), date formats and real dates (DocumentId, PromulgationDate, DueDate,
 * TraceHeader timestamps), Priority / SteeringType / Paper ranges, DocumentId shape, promulgation
 * dates after now, manifest ContentType vs the Attachment's vs detected type, organisation ids in
 * strict form (edxml_orgid.h), missing names. now is Unix seconds. GW_ENOMEM. */
int gw_edxml_conform(struct gw_edxml_doc *doc, int64_t now) __attribute__((warn_unused_result));

/* What the ingest pipeline and the CLI run once the reader has finished: fills
 * doc->document_id_norm (when NULL), validates the header against xsd (skipped when xsd is NULL)
 * and runs gw_edxml_conform. now is Unix seconds. 0 or GW_ENOMEM. */
int gw_edxml_check(struct gw_edxml_doc *doc, const struct gw_edxml_xsd *xsd, int64_t now)
    __attribute__((warn_unused_result));

/* DocumentId with the date inside normalised to yyyy/MM/dd (some senders write yyyy-MM-dd or
 * yyyy.MM.dd); other ids unchanged (trimmed). malloc'd, NULL on allocation failure. */
char *gw_edxml_norm_document_id(const char *document_id);

#endif
