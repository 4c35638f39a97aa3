#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * UTF-8 checks for text that crosses a boundary: into PostgreSQL (which refuses invalid or
 * NUL-bearing text), into JSON logs, into API answers. Text from peers is never trusted to be
 * valid, nor to be cut on a character boundary.
 */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one (overlong forms,
 * surrogates, truncated sequences and a NUL byte's continuation included). s must be
 * NUL-terminated or have at least 4 readable bytes. */
size_t gw_utf8_seq_len(const unsigned char *s);

/* True when s[0..len) is valid UTF-8 without a NUL byte. */
bool gw_utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s (NUL-terminated) of at most max bytes that does not cut a
 * UTF-8 sequence; for "%.*s" when the text's validity is repaired later or not needed. */
size_t gw_utf8_prefix(const char *s, size_t max);

/* A malloc'd copy of s (NUL-terminated) of at most max_bytes bytes plus the NUL: invalid
 * sequences become U+FFFD, control bytes other than tab and newline become a space, and a cut
 * falls on a character boundary. NULL only on allocation failure. */
char *gw_utf8_sanitize(const char *s, size_t max_bytes);

#endif
