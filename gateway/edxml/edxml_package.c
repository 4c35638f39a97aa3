/*
 * From what the extractor found to the store's package columns: the one place that maps
 * struct gw_edxml_info onto struct gw_store_package, for the submit path and the poller alike.
 */
#include "edxml/edxml.h"

#include <string.h>

#include "store/pkgsql.h"

void gw_edxml_store_package(const struct gw_edxml_info *info, const uint8_t sha256[32],
                            const void *bytes, size_t len, struct gw_store_package *out)
{
    memset(out, 0, sizeof(*out)); /* columns it does not map (a staged body) stay unset */
    out->kind = info->kind;
    out->document_id = info->document_id;
    out->sender = info->from;
    out->recipients = info->to;
    out->n_recipients = info->n_to;
    out->status_code = info->status_code;
    out->business_doc_type = info->business_doc_type;
    out->sha256 = sha256;
    out->bytes = bytes;
    out->len = len;
}
