#ifndef GW_SIG_XMLDSIG_INTERNAL_H
#define GW_SIG_XMLDSIG_INTERNAL_H

#include <libxml/tree.h>

#include "sig/xmldsig.h"

/* Between xmldsig.c (xmlsec verification) and xmldsig_shape.c (the rules checked on the tree
 * before xmlsec sees it). */

#define GW_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

struct gw_xmldsig_shape {
    xmlNodePtr sig; /* the one xmldsig Signature element, when there is one */
    X509 *cert;     /* owned: the KeyInfo leaf certificate, when it decoded */
};

/* Applies the shape rules to doc: fills out->status (VALID meaning "ready to verify"), out->code,
 * out->signature_method, out->digest_method, out->sha1 and *s. 0 or GW_ENOMEM. */
int gw_xmldsig_shape(xmlDocPtr doc, struct gw_xmldsig_result *out, struct gw_xmldsig_shape *s);

#endif
