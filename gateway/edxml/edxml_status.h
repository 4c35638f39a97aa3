#ifndef GW_EDXML_STATUS_H
#define GW_EDXML_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "edxml/edxml_model.h"

/*
 * Status packages (QĐ 28/2018, domain.md §3): the nine codes and the package the gateway builds
 * when it answers for one of the province's agencies (e.g. 02 for a rejected incoming document).
 * Strict in what it sends: the QCVN 102 namespace with the edXML prefix, every value escaped.
 */

/* True for 01..06, 13, 15, 16 (two digits). */
bool gw_edxml_status_known(const char *code);

/* Vietnamese meaning of a code ("Đã đến", ...), or NULL. */
const char *gw_edxml_status_meaning(const char *code);

/* Whom a status is about, on the original document's timelines: for 01..06, 15, 16 the recipient
 * answering (From); for 13 the recipient asked to give the document back (ResponseFor/OrganId). */
const char *gw_edxml_status_timeline_recipient(const struct gw_edxml_doc *status);

struct gw_edxml_status_spec {
    const char *from_organ_id;
    const char *from_organ_name; /* may be NULL */
    const char *response_organ_id;
    const char *response_code;              /* may be NULL */
    const char *response_promulgation_date; /* may be NULL */
    const char *response_document_id;
    const char *status_code;
    const char *description; /* may be NULL */
    const char *timestamp;   /* "yyyy/MM/dd HH:mm:ss" */
    const char *staff;       /* may be NULL */
};

/* Builds the package; *out is malloc'd (len bytes, NUL-terminated). GW_EINVAL (unknown code, a
 * required field missing, text that is not UTF-8), GW_ENOMEM. */
int gw_edxml_status_build(const struct gw_edxml_status_spec *s, char **out, size_t *len)
    __attribute__((warn_unused_result));

#endif
