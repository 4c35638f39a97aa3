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
 * (hex), unwrap_tried, unwrapped, entry_name, unwrapped_size, unwrapped_sha256, unwrapped_type,
 * unwrap_error}], findings[{code, severity ("note"|"strict"|"refuse"), xpath, message}],
 * relay{editable, not_editable, xmldsig, trace_mode, trace_at, trace_prefix, trace_indent,
 * to[{organ_id, start, end}]}, size, sha256}. Absent strings are null, and so are the numbers
 * the model keeps as -1 (priority, steering_type, paper, document_info, document_receiver) and
 * the unwrapped_* members of an attachment that was not unwrapped. header members are named after
 * the model's fields: from{organ_id, organization_in_charge, organ_name, organ_add, email,
 * telephone, fax, website}, to[{same}], code{number, notation}, promulgation_place,
 * promulgation_date, document_type, document_type_detail, document_type_name, subject, content,
 * signer_competence, signer_position, signer_full_name, due_date, to_places[], priority,
 * sphere_of_promulgation, typer_notation, promulgation_amount, page_amount, direction,
 * appendixes[], response_for[{organ_id, code, promulgation_date, document_id}], steering_type,
 * status_code, status_description, status_timestamp, status_staff{department, staff, email,
 * mobile}. business: {present, document_id, doc_type, reason, paper, staff{...},
 * has_document_info, document_info, document_receiver, receivers[{organ_id, receiver_type}],
 * replacements[{document_id, organ_ids[]}]}; traces[{organ_id, timestamp}]; references[{content_id,
 * content_type, description, attachment_name}]; relay.trace_mode "after_last" | "first_in_list" |
 * "new_list". gw_edxml_relay_from_json maps not_editable back to the model's static reasons
 * ("xmldsig", "encoding", "no_landmarks", ...; any other stored text reads "other").
 */

/* New reference, NULL on allocation failure. */
json_t *gw_edxml_doc_json(const struct gw_edxml_doc *doc);

/* Rebuilds the relay landmarks from the "relay" member above (as stored with the package), for
 * the copies made at send time. 0, GW_EINVAL (malformed), GW_ENOMEM. */
int gw_edxml_relay_from_json(const json_t *relay, struct gw_edxml_relay *out)
    __attribute__((warn_unused_result));

void gw_edxml_relay_free(struct gw_edxml_relay *relay);

#endif
