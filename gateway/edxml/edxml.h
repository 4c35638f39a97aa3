#ifndef GW_EDXML_H
#define GW_EDXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pkgkind.h"

/*
 * Minimal, namespace-aware edXML extraction for routing: the package kind (edoc or status),
 * DocumentId, From/OrganId and every To/OrganId. Elements are matched by namespace URI
 * (http://www.mic.gov.vn/TBT/QCVN_102_2016), never by prefix. Safe on hostile input: no network,
 * no DTD loading, no entity expansion, bounded depth. Pure function: no I/O, callable from
 * thread-pool workers.
 */

#define GW_EDXML_NS "http://www.mic.gov.vn/TBT/QCVN_102_2016"

/* libxml2's one initialisation (xmlInitParser in a pthread_once): every entry point of this
 * folder that uses libxml2 (the reader, gw_edxml_xsd_load, gw_edxml_xsd_check) calls it first, and
 * the daemon's start reaches it from the main thread (it loads the header schema) before the
 * pool's workers parse. Calling it again is free. */
void gw_edxml_xml_init(void);

/* Fixed structural caps (not configuration): a package beyond them is hostile and refused, with
 * the stable code in brackets, before libxml2 parses it. Attributes include namespace
 * declarations; lengths are in characters (code units). */
#define GW_EDXML_MAX_DEPTH      64    /* element nesting [too_deep] */
#define GW_EDXML_MAX_ATTRS      128   /* attributes of one element [too_many_attributes] */
#define GW_EDXML_MAX_ATTR_VALUE 65536 /* one attribute value [attribute_too_long] */
#define GW_EDXML_MAX_NAME       1024  /* an element or attribute name [name_too_long] */
#define GW_EDXML_MAX_NS         64    /* namespace declarations in scope [too_many_namespaces] */

/* Local configuration: exceeding these is not a verdict on the package (GW_E2BIG, GW_ELIMIT). */
struct gw_edxml_limits {
    size_t max_bytes;   /* whole package */
    unsigned max_depth; /* element nesting, at most GW_EDXML_MAX_DEPTH (the default) */
    unsigned max_recipients;
};

struct gw_edxml_info {
    enum gw_pkg_kind kind;
    char *document_id; /* edoc: MessageHeader/DocumentId; status: ResponseFor/DocumentId */
    char *from;        /* MessageHeader/From/OrganId */
    char **to;         /* edoc: every MessageHeader/To/OrganId, de-duplicated, in order;
                          status: the ResponseFor/OrganId (the original sender) */
    size_t n_to;
    char *status_code;     /* status packages: StatusCode, two digits ("1" reads "01") */
    int business_doc_type; /* TraceHeaderList/Bussiness/BussinessDocType 0..3, 0 if absent */
    /* On error only: the stable id of the reason (a static string, e.g. "too_many_attributes",
     * "bad_business_doc_type"); NULL on success. The errmsg text starts with it. */
    const char *error_code;
};

void gw_edxml_limits_default(struct gw_edxml_limits *l);

/* Parses buf. Refusals of domain.md §2 "Refuse or accept" (verdicts on the package itself):
 * GW_EPARSE (not well-formed XML, a DOCTYPE, a structural cap above, an unsupported encoding),
 * GW_ENOTEDXML (no edXML root/MessageHeader, no DocumentId or From/OrganId, a status without a
 * valid StatusCode or ResponseFor/DocumentId, a BussinessDocType outside 0..3), GW_ENORCPT (no
 * To/OrganId, a status without ResponseFor/OrganId). Local limits and failures, not verdicts:
 * GW_E2BIG (over max_bytes), GW_ELIMIT (more than max_recipients distinct To), GW_ENOMEM.
 * lim may be NULL for the defaults. On error *out is zeroed but for error_code; errmsg (may be
 * NULL) receives "<error_code>: <short human explanation>". */
int gw_edxml_parse(const void *buf, size_t len, const struct gw_edxml_limits *lim,
                   struct gw_edxml_info *out, char *errmsg, size_t errmsg_len)
    __attribute__((warn_unused_result));

void gw_edxml_info_free(struct gw_edxml_info *info);

/* True when err (from gw_edxml_parse) is a verdict on the package: a client gets a 4xx, an axis
 * `updateStatus fail`. False for local limits and failures, which leave it to be retried. */
bool gw_edxml_is_verdict(int err);

#endif
