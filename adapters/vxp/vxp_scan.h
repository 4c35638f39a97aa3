#ifndef GW_VXP_SCAN_H
#define GW_VXP_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "vxp_internal.h"

/*
 * Incremental scanner of the national axis's JSON envelope, for answers too large to buffer
 * (getEdoc: the package as base64 in "data"). It checks the whole text is one JSON object (nesting
 * at most GW_VXP_SCAN_DEPTH deep) and, for the top-level members only, hands the un-escaped bytes
 * of "data" (a string) to data() as they arrive, and keeps "status", "ErrorCode" (string or number)
 * and "ErrorDesc" (cut to GW_VXP_DETAIL_LEN - 1 bytes) for the verdict at the end. Members may come
 * in any order; a later duplicate of status/ErrorCode/ErrorDesc wins (as with jansson), a second
 * "data" is refused. Memory: this struct, whatever the size of the answer. Pure, no I/O.
 */

#define GW_VXP_SCAN_DEPTH 64

struct gw_vxp_scan {
    /* set by the caller: gets the data string's bytes (un-escaped; n > 0); a non-zero return
     * stops the scan and is returned by gw_vxp_scan_feed */
    int (*data)(void *ud, const char *p, size_t n);
    void *ud;
    /* results, valid once gw_vxp_scan_end() returned 0 (status and desc as soon as seen) */
    int data_kind; /* 0 absent, 1 a string, 2 another JSON value */
    int has_status;
    char status[16]; /* "" when longer: neither OK nor FAIL */
    int code_kind;   /* 0 absent (or not a string nor number), 1 string, 2 number */
    char code[64];   /* its text, cut */
    int has_desc;
    char desc[GW_VXP_DETAIL_LEN];
    size_t desc_len;
    /* private */
    int state;
    unsigned depth;
    uint64_t arrays; /* bit i: level i + 1 is an array */
    int member;      /* the top-level member whose value is being read */
    int in_key;
    char key[16];
    size_t cap_len; /* bytes kept of the string being captured */
    int cap_over;
    uint32_t u, hi;
    unsigned u_n;
    char tok[72];
    size_t tok_len;
};

/* Prepares s; data and ud are to be set after. */
void gw_vxp_scan_init(struct gw_vxp_scan *s);
/* Scans the next n bytes: 0, GW_EPARSE (not JSON, or not an object), GW_ECONFLICT (a second
 * "data"), or what data() returned. */
int gw_vxp_scan_feed(struct gw_vxp_scan *s, const char *p, size_t n)
    __attribute__((warn_unused_result));
/* The text has ended: 0 if it was one whole JSON object, else GW_EPARSE. */
int gw_vxp_scan_end(const struct gw_vxp_scan *s) __attribute__((warn_unused_result));

#endif
