#ifndef GW_EDXML_CONFORM_INTERNAL_H
#define GW_EDXML_CONFORM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "edxml/edxml_model.h"

/* Shared by the conformance checks (edxml_conform.c, edxml_conform_att.c). */

#define GW_XP_HEADER "/edXML/edXMLEnvelope/edXMLHeader"
#define GW_XP_MH     GW_XP_HEADER "/MessageHeader"
#define GW_XP_TRACE  GW_XP_HEADER "/TraceHeaderList"
#define GW_XP_REF    "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"
#define GW_XP_ATT    "/edXML/AttachmentEncoded/Attachment"

/* Appends a finding whose message is printf-formatted here (the model's own function is
 * variadic). 0 or GW_ENOMEM. */
int gw_conform_add(struct gw_edxml_doc *doc, const char *code, enum gw_edxml_severity sev,
                   const char *xpath, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Copies at most 80 bytes of s into out (n >= 96) for quoting in a message: cut on a character
 * boundary, control bytes as spaces, "(absent)" for NULL. Returns out. */
const char *gw_conform_quote(const char *s, char *out, size_t n);

/* Reference <-> Attachment by ContentId, names, ContentType vs manifest vs detected type. */
int gw_conform_attachments(struct gw_edxml_doc *doc);

#endif
