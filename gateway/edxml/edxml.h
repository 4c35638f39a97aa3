#ifndef GW_EDXML_H
#define GW_EDXML_H

#include <stddef.h>

#include "util/pkgkind.h"

/*
 * Minimal, namespace-aware edXML extraction for routing: the package kind (edoc or status),
 * DocumentId, From/OrganId and every To/OrganId. Elements are matched by namespace URI
 * (http://www.mic.gov.vn/TBT/QCVN_102_2016), never by prefix. Safe on hostile input: no network,
 * no DTD loading, no entity expansion, bounded depth. Pure function: no I/O, callable from
 * thread-pool workers.
 */

#define GW_EDXML_NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"

struct gw_edxml_limits {
    size_t max_bytes;   /* whole package */
    unsigned max_depth; /* element nesting */
    unsigned max_recipients;
};

struct gw_edxml_info {
    enum gw_pkg_kind kind;
    char *document_id; /* edoc: MessageHeader/DocumentId; status: ResponseFor/DocumentId */
    char *from;        /* MessageHeader/From/OrganId */
    char **to;         /* edoc: every MessageHeader/To/OrganId, de-duplicated, in order;
                          status: the ResponseFor/OrganId (the original sender) */
    size_t n_to;
    char *status_code;     /* status packages: StatusCode; NULL for edoc */
    int business_doc_type; /* TraceHeaderList/Bussiness/BussinessDocType, 0 if absent */
};

void gw_edxml_limits_default(struct gw_edxml_limits *l);

/* Parses buf. Errors: GW_E2BIG (over max_bytes), GW_EPARSE (not well-formed XML, too deep),
 * GW_ENOTEDXML (no edXML root/MessageHeader, or no DocumentId), GW_ENORCPT (no recipient),
 * GW_ELIMIT (more than max_recipients distinct To). lim may be NULL for the defaults.
 * On error *out is left zeroed; errmsg (may be NULL) receives a short human explanation. */
int gw_edxml_parse(const void *buf, size_t len, const struct gw_edxml_limits *lim,
                   struct gw_edxml_info *out, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

void gw_edxml_info_free(struct gw_edxml_info *info);

#endif
