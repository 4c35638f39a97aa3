/*
 * gw_ingest_doc_json: the JSON form of a parsed package (edxml_json.h) as the text the store
 * expands into rows (attachments, findings) and keeps as package.header.
 */
#include "pipeline/ingest.h"

#include <jansson.h>
#include <stdlib.h>

#include "edxml/edxml_json.h"
#include "util/error.h"

char *gw_ingest_doc_json_annotated(const struct gw_edxml_doc *doc,
                                   const struct gw_ingest_deps *deps, int *err)
{
    json_t *j = gw_edxml_doc_json(doc);
    char *s = NULL;

    *err = j ? 0 : GW_ENOMEM;
    if (j && deps->annotate)
        *err = deps->annotate(doc, j, deps->annotate_ud);
    if (*err == 0 && !(s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII)))
        *err = GW_ENOMEM;
    json_decref(j);
    return s;
}

char *gw_ingest_doc_json(const struct gw_edxml_doc *doc)
{
    const struct gw_ingest_deps none = {0};
    int err;
    return gw_ingest_doc_json_annotated(doc, &none, &err);
}
