/*
 * The catalogue's lookup tables (rindex.h): pairs sorted so that a key's values are one run, and
 * a power-of-two open-addressing table of run starts keyed by an FNV-1a hash of the key.
 */
#include "rules/rindex.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static uint64_t hash(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int cmp_key(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_pair(const void *x, const void *y)
{
    const struct gw_rindex_pair *a = x, *b = y;
    int c = cmp_key(a->key, a->len, b->key, b->len);
    return c ? c : (a->value > b->value) - (a->value < b->value);
}

int gw_rindex_build(struct gw_rindex *ix, struct gw_rindex_pair *pairs, size_t n)
{
    memset(ix, 0, sizeof(*ix));
    ix->pairs = pairs;
    ix->n = n;
    if (n == 0)
        return 0;
    qsort(pairs, n, sizeof(*pairs), cmp_pair);
    size_t size = 16;
    while (size < n * 2)
        size *= 2;
    if (!(ix->slots = calloc(size, sizeof(*ix->slots)))) {
        gw_rindex_free(ix);
        return GW_ENOMEM;
    }
    ix->mask = size - 1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_key(pairs[i].key, pairs[i].len, pairs[i - 1].key, pairs[i - 1].len) == 0)
            continue;
        size_t s = hash(pairs[i].key, pairs[i].len) & ix->mask;
        while (ix->slots[s])
            s = (s + 1) & ix->mask;
        ix->slots[s] = (uint32_t)i + 1;
    }
    return 0;
}

void gw_rindex_free(struct gw_rindex *ix)
{
    free(ix->pairs);
    free(ix->slots);
    memset(ix, 0, sizeof(*ix));
}

const struct gw_rindex_pair *gw_rindex_find(const struct gw_rindex *ix, const char *key, size_t len,
                                            size_t *count)
{
    *count = 0;
    if (!ix->slots)
        return NULL;
    for (size_t s = hash(key, len) & ix->mask; ix->slots[s]; s = (s + 1) & ix->mask) {
        const struct gw_rindex_pair *p = &ix->pairs[ix->slots[s] - 1];
        if (cmp_key(p->key, p->len, key, len) != 0)
            continue;
        size_t k = 1;
        while (p + k < ix->pairs + ix->n && cmp_key(p[k].key, p[k].len, key, len) == 0)
            k++;
        *count = k;
        return p;
    }
    return NULL;
}
