#ifndef GW_EDXML_INTERNAL_H
#define GW_EDXML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Helpers of the edXML extractor (edxml.c), kept apart so they can be unit-tested directly. */

#define GW_EDXML_ID_MAX 256 /* bytes, after trimming */

/* Outcome of the structural pre-scan (edxml_scan.c). */
struct gw_edxml_scan_result {
    const char *code; /* stable id of the refusal, NULL when accepted */
    char msg[120];
    size_t scanned; /* code units checked */
    bool complete;  /* false: stopped at markup it does not understand, which libxml2 then
                       refuses as not well-formed (it parses no further than that point) */
};

/* Checks buf against the fixed structural caps of edxml.h in one linear pass. 0, or GW_EPARSE
 * with res->code and res->msg set. */
int gw_edxml_scan(const void *buf, size_t len, struct gw_edxml_scan_result *res);

/* Trims ASCII whitespace from s in place and checks it: 0 with *out pointing into s, GW_ELIMIT
 * if longer than GW_EDXML_ID_MAX (or truncated is set), GW_EINVAL on C0/DEL/C1 control chars. */
int gw_edxml_clean_id(char *s, bool truncated, char **out);

/* Strict small non-negative decimal (surrounding whitespace allowed); 0 if unparsable. */
int gw_edxml_parse_small_int(const char *s);

/* BussinessDocType: 0..3 (empty or blank reads 0), -1 for anything else. */
int gw_edxml_parse_bdt(const char *s);

/* Ordered set of recipient ids with hashed de-duplication (linear in the number of To). */
struct gw_edxml_rcpt {
    char **v;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1 into v, 0 = empty */
    size_t nslots;
};

/* Adds a copy of id unless present. GW_ELIMIT if a new id would exceed max, GW_ENOMEM. */
int gw_edxml_rcpt_add(struct gw_edxml_rcpt *r, const char *id, unsigned max);

/* Hands the array (n entries) to the caller and empties r. */
char **gw_edxml_rcpt_take(struct gw_edxml_rcpt *r);

void gw_edxml_rcpt_free(struct gw_edxml_rcpt *r);

#endif
