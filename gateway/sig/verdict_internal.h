#ifndef GW_SIG_VERDICT_INTERNAL_H
#define GW_SIG_VERDICT_INTERNAL_H

/* Text helpers shared by verdict.c and verdict_summary.c. */

#define GW_VERDICT_TEXT_MAX 1024 /* a reason before it is cut to GW_VERDICT_REASON_MAX */

/* Copies text into dst as valid NFC UTF-8 of at most GW_VERDICT_REASON_MAX - 1 bytes, cut on a
 * character boundary. */
void gw_verdict_finish(char *dst, const char *text);

/* Appends to buf (GW_VERDICT_TEXT_MAX bytes, NUL-terminated), truncating. */
void gw_verdict_cat(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
