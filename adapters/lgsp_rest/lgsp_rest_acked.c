/*
 * The doc ids this process acked done on the REST axis, so that a list window that lists them
 * again as "done" does not cost a lookup and an ack each: two generations of chained hash sets,
 * the older dropped when the newer holds GW_LR_ACKED_MAX / 2 ids. Bounded, O(1), loop only.
 */
#include <stdlib.h>
#include <string.h>

#include "lgsp_rest_internal.h"

#define GW_LR_ACKED_BUCKETS 2048
#define GW_LR_ACKED_GEN     (GW_LR_ACKED_MAX / 2)

struct gw_lr_acked_node {
    struct gw_lr_acked_node *next;
    char id[];
};

struct gw_lr_acked_gen {
    struct gw_lr_acked_node *b[GW_LR_ACKED_BUCKETS];
    size_t n;
};

struct gw_lr_acked {
    struct gw_lr_acked_gen g[2]; /* g[cur] receives new ids */
    int cur;
};

static uint32_t gw_lr_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h % GW_LR_ACKED_BUCKETS;
}

static void gw_lr_gen_clear(struct gw_lr_acked_gen *g)
{
    for (size_t i = 0; i < GW_LR_ACKED_BUCKETS; i++) {
        while (g->b[i]) {
            struct gw_lr_acked_node *n = g->b[i];
            g->b[i] = n->next;
            free(n);
        }
    }
    g->n = 0;
}

static bool gw_lr_gen_has(const struct gw_lr_acked_gen *g, const char *id, uint32_t h)
{
    for (const struct gw_lr_acked_node *n = g->b[h]; n; n = n->next)
        if (strcmp(n->id, id) == 0)
            return true;
    return false;
}

struct gw_lr_acked *gw_lr_acked_new(void)
{
    return calloc(1, sizeof(struct gw_lr_acked));
}

void gw_lr_acked_free(struct gw_lr_acked *a)
{
    if (!a)
        return;
    gw_lr_gen_clear(&a->g[0]);
    gw_lr_gen_clear(&a->g[1]);
    free(a);
}

void gw_lr_acked_add(struct gw_lr_acked *a, const char *doc_id)
{
    uint32_t h;
    size_t len;
    struct gw_lr_acked_node *n;
    struct gw_lr_acked_gen *g;

    if (!a || !doc_id || gw_lr_acked_has(a, doc_id))
        return;
    if (a->g[a->cur].n >= GW_LR_ACKED_GEN) {
        a->cur ^= 1;
        gw_lr_gen_clear(&a->g[a->cur]);
    }
    g = &a->g[a->cur];
    h = gw_lr_hash(doc_id);
    len = strlen(doc_id);
    if (!(n = malloc(sizeof(*n) + len + 1)))
        return;
    memcpy(n->id, doc_id, len + 1);
    n->next = g->b[h];
    g->b[h] = n;
    g->n++;
}

bool gw_lr_acked_has(const struct gw_lr_acked *a, const char *doc_id)
{
    uint32_t h;

    if (!a || !doc_id)
        return false;
    h = gw_lr_hash(doc_id);
    return gw_lr_gen_has(&a->g[0], doc_id, h) || gw_lr_gen_has(&a->g[1], doc_id, h);
}
