#ifndef GW_EDXML_ORGID_H
#define GW_EDXML_ORGID_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Organisation identifiers (mã định danh, domain.md §4): the strict QCVN 102 form
 * (V1V2V3.Z1Z2.Y1Y2.MX1X2, level 1 on the right), the strict QĐ 20/2020 form (<= 35 characters of
 * [0-9A-Z.], level 1 on the left) and the lenient form the gateway routes on. Format alone never
 * refuses a package: the strict result is reported, the lenient form is used.
 */

enum gw_orgid_form {
    GW_ORGID_INVALID = 0, /* neither form */
    GW_ORGID_QCVN102,
    GW_ORGID_QD20,
};

bool gw_orgid_is_qcvn102(const char *id);
bool gw_orgid_is_qd20(const char *id);

/* QCVN102 when it is one, else QD20 when it is one, else INVALID. */
enum gw_orgid_form gw_orgid_form(const char *id);

/* The routing form: surrounding white space trimmed, ASCII letters upper-cased, nothing else
 * changed. Writes at most n bytes (NUL included). false when the result is empty, "NULL", holds
 * control characters or white space inside, or does not fit. */
bool gw_orgid_lenient(const char *id, char *out, size_t n);

/* QCVN 102 parent (000.46.24.H44 -> 000.00.24.H44, 000.00.24.H44 -> 000.00.00.H44); false at the
 * top or for a non-QCVN 102 id. */
bool gw_orgid_parent(const char *id, char *out, size_t n);

/* True when a and b (lenient forms taken) are ids of the same form whose level-1 group is the
 * same: QCVN 102's on the right (000.00.12.H49 and 000.00.00.H49: H49), QD 20's on the left
 * (H37.DN.001 and H37.SO.002: H37); ids of other forms only when equal. */
bool gw_orgid_same_level1(const char *a, const char *b);

/* gw_orgid_same_level1 of id against any of ids[0..n): id is one of the province's when ids are
 * the gateway's own organ ids ([gateway] organ_ids). */
bool gw_orgid_same_level1_any(const char *id, char *const *ids, size_t n);

#endif
