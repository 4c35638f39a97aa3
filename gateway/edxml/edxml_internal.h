#ifndef GW_EDXML_INTERNAL_H
#define GW_EDXML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxml/edxml_b64.h"

/* Helpers of the edXML reader (edxml_reader.c and friends), kept apart so they can be
 * unit-tested directly. */

#define GW_EDXML_ID_MAX 256 /* bytes, after trimming */

/* Outcome of the structural pre-scan (edxml_scan.c). */
struct gw_edxml_scan_result {
    const char *code; /* stable id of the refusal, NULL when accepted */
    char msg[120];
    size_t scanned; /* code units checked */
    bool complete;  /* false: stopped at markup it does not understand, which libxml2 then
                       refuses as not well-formed (it parses no further than that point) */
};

/* A tag seen by the pre-scan, in document order: what the SAX callbacks pair with their
 * elements to know byte offsets (libxml2 gives none). Offsets are absolute, in bytes. */
struct gw_edxml_tag {
    uint64_t ws;    /* first byte of the white-space run just before '<' (== lt when none) */
    uint64_t lt;    /* the '<' */
    uint64_t gt;    /* the byte after '>' */
    bool end;       /* an end tag */
    bool empty;     /* a start tag closed by "/>" */
    uint64_t marks; /* references ('&') and comments, CDATA sections, PIs seen before its '>' */
};

typedef int (*gw_edxml_tag_fn)(void *ud, const struct gw_edxml_tag *t);

/* Resumable pre-scan: a state machine over code units with a carry of at most three bytes (a
 * split code unit). Bytes before the first gw_edxml_scanner_feed go to gw_edxml_scanner_begin
 * (the head: at least GW_EDXML_SCAN_HEAD bytes or the whole package), which detects the unit
 * width and checks the declared encoding. */
#define GW_EDXML_SCAN_HEAD 4200

struct gw_edxml_scanner {
    unsigned w; /* bytes per unit */
    bool big;   /* big-endian units */
    int state;
    bool stopped;      /* markup it does not understand: nothing more is checked */
    int err;           /* the refusal, once refused */
    uint64_t off;      /* bytes consumed (absolute offset of the next byte) */
    uint64_t stop_off; /* where it stopped */
    unsigned char carry[4];
    unsigned ncarry;
    uint64_t skip; /* head bytes to skip (BOM) */
    /* current markup */
    uint32_t quote;
    size_t len; /* of the name, value or terminator match */
    unsigned attrs, ns;
    char abuf[8];
    unsigned alen;
    struct gw_edxml_tag tag;
    uint64_t ws_start;
    uint64_t marks; /* '&' in text, "<!" and "<?" so far (gw_edxml_tag.marks) */
    unsigned depth, ns_in_scope;
    unsigned ns_at[65];
    char encoding[48]; /* declared encoding ("" none) */
    bool bom;          /* a byte order mark */
    gw_edxml_tag_fn on_tag;
    void *ud;
    struct gw_edxml_scan_result res;
};

void gw_edxml_scanner_init(struct gw_edxml_scanner *s, gw_edxml_tag_fn on_tag, void *ud);

/* Detects width and byte order from head and checks its XML declaration. 0 or GW_EPARSE. */
int gw_edxml_scanner_begin(struct gw_edxml_scanner *s, const void *head, size_t len);

/* Scans the next bytes. 0 (also once stopped: s->stopped), GW_EPARSE with s->res set, or the
 * non-zero return of on_tag. */
int gw_edxml_scanner_feed(struct gw_edxml_scanner *s, const void *buf, size_t len);

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

/* The incremental base64 decoder is public: edxml/edxml_b64.h. */

#endif
