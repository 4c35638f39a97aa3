#ifndef GW_RTEXT_H
#define GW_RTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Text as the Art. 10.3 rules compare it (domain.md §7-8): NFC, case-folded, every run of white
 * space (line breaks, tabs, no-break and other Unicode spaces) one ASCII space, none at either
 * end. Each byte of the normalised form remembers the span of the source it came from, so that a
 * match can be quoted as the sender wrote it (NFD, upper case or a line break inside included).
 */

#define GW_RTEXT_MAX ((size_t)256 * 1024) /* source bytes of one field considered */

struct gw_rtext {
    char *s; /* normalised, NUL-terminated */
    size_t n;
    uint32_t *from; /* from[i]: first source byte of what s[i] came from */
    uint32_t *to;   /* to[i]: the source byte after it */
    bool marks;     /* the source carries a diacritic (a combining mark once decomposed, or đ) */
    bool cut;       /* the source was longer than GW_RTEXT_MAX */
};

/* strip: also remove diacritics (marks dropped, đ read as d). 0, or GW_ENOMEM. A NULL src is the
 * empty text. */
int gw_rtext_init(struct gw_rtext *t, const char *src, bool strip);
void gw_rtext_free(struct gw_rtext *t);

/* A malloc'd normalised copy (no span map), stripped when strip; NULL on allocation failure. */
char *gw_rtext_norm(const char *src, bool strip);

/* True when the character that starts at s (UTF-8, NUL-terminated) is a letter, a mark or a
 * digit: what cannot touch a keyword on either side. */
bool gw_rtext_word_at(const char *s);
/* The same for the character that ends just before s + i (i > 0). */
bool gw_rtext_word_before(const char *s, size_t i);

#endif
