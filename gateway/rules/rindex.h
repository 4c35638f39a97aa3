#ifndef GW_RINDEX_H
#define GW_RINDEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * A read-only map from byte strings to lists of uint32 values, built once (a catalogue's
 * phrases by their first word, its whole-field values by their text) and then looked up from
 * any thread without locking.
 */

struct gw_rindex_pair {
    const char *key; /* borrowed: must outlive the index */
    size_t len;
    uint32_t value;
};

struct gw_rindex {
    struct gw_rindex_pair *pairs; /* sorted by key, then value */
    size_t n;
    uint32_t *slots; /* open addressing: 1 + index of a key's first pair, 0 empty */
    size_t mask;
};

/* Takes pairs (malloc'd, n of them; freed by gw_rindex_free even on failure). 0 or GW_ENOMEM. */
int gw_rindex_build(struct gw_rindex *ix, struct gw_rindex_pair *pairs, size_t n);
void gw_rindex_free(struct gw_rindex *ix);

/* The values of key as a run of pairs; *count is 0 when absent. */
const struct gw_rindex_pair *gw_rindex_find(const struct gw_rindex *ix, const char *key, size_t len,
                                            size_t *count);

#endif
