#ifndef GW_UTIL_PKGKIND_H
#define GW_UTIL_PKGKIND_H

/* The two kinds of edXML package: a document (edoc) or a business status about one. */
enum gw_pkg_kind { GW_KIND_EDOC = 0, GW_KIND_STATUS = 1 };

/* "edoc" or "status": the kind as the database, the logs and the axes spell it. */
static inline const char *gw_pkg_kind_name(enum gw_pkg_kind k)
{
    return k == GW_KIND_STATUS ? "status" : "edoc";
}

#endif
