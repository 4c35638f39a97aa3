#ifndef GW_EDXML_INTERNAL_H
#define GW_EDXML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Helpers of the edXML extractor (edxml.c), kept apart so they can be unit-tested directly. */

#define GW_EDXML_ID_MAX 256 /* bytes, after trimming */

/* Trims ASCII whitespace from s in place and checks it: 0 with *out pointing into s, GW_ELIMIT
 * if longer than GW_EDXML_ID_MAX (or truncated is set), GW_EINVAL on C0/DEL/C1 control chars. */
int gw_edxml_clean_id(char *s, bool truncated, char **out);

/* Strict small non-negative decimal (surrounding whitespace allowed); 0 if unparsable. */
int gw_edxml_parse_small_int(const char *s);

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
