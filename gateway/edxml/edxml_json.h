#ifndef GW_EDXML_JSON_H
#define GW_EDXML_JSON_H

#include <jansson.h>

#include "edxml/edxml_model.h"

/*
 * JSON form of a parsed package, the one shape shared by the store (package.header,
 * attachment and finding rows are expanded from it in SQL), the API and `gatewayctl edxml
 * check --json`: {kind, document_id, document_id_norm, from, recipients[], header{...every
 * MessageHeader field...}, traces[], business{...}, references[], attachments[{content_id, name,
 * description, content_type, manifest_type, detected_type, b64_offset, b64_len, size, sha256
 * (hex), unwrapped, entry_name, unwrapped_size, unwrapped_sha256, unwrapped_type,
 * unwrap_error}], findings[{code, severity ("note"|"strict"|"refuse"), xpath, message}],
 * relay{editable, not_editable, xmldsig, trace_mode, trace_at, trace_prefix, trace_indent,
 * to[{organ_id, start, end}]}, size, sha256}. Absent strings are null.
 */

/* New reference, NULL on allocation failure. */
json_t *gw_edxml_doc_json(const struct gw_edxml_doc *doc);

/* Rebuilds the relay landmarks from the "relay" member above (as stored with the package), for
 * the copies made at send time. 0, GW_EINVAL (malformed), GW_ENOMEM. */
int gw_edxml_relay_from_json(const json_t *relay, struct gw_edxml_relay *out)
    __attribute__((warn_unused_result));

void gw_edxml_relay_free(struct gw_edxml_relay *relay);

#endif
