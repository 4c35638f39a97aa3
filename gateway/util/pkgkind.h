#ifndef GW_UTIL_PKGKIND_H
#define GW_UTIL_PKGKIND_H

/* The two kinds of edXML package: a document (edoc) or a business status about one. */
enum gw_pkg_kind { GW_KIND_EDOC = 0, GW_KIND_STATUS = 1 };

#endif
