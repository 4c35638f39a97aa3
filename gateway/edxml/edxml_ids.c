/*
 * Small helpers of the edXML extractor: identifier cleaning (trim, length and control-character
 * checks) and the ordered, hash-de-duplicated recipient list. A hostile package may repeat To a
 * million times, so de-duplication must stay linear.
 */
#include "edxml/edxml_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int gw_edxml_clean_id(char *s, bool truncated, char **out)
{
    size_t len;
    char *p = s;

    while (is_space((unsigned char)*p))
        p++;
    len = strlen(p);
    while (len > 0 && is_space((unsigned char)p[len - 1]))
        p[--len] = '\0';
    *out = p;
    if (truncated || len > GW_EDXML_ID_MAX)
        return GW_ELIMIT;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            return GW_EINVAL;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F */
        if (c == 0xc2 && i + 1 < len && (unsigned char)p[i + 1] >= 0x80 &&
            (unsigned char)p[i + 1] <= 0x9f)
            return GW_EINVAL;
    }
    return 0;
}

int gw_edxml_parse_small_int(const char *s)
{
    int v = 0;
    size_t digits = 0;

    while (is_space((unsigned char)*s))
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > 100000)
            return 0;
        v = v * 10 + (*s - '0');
    }
    while (is_space((unsigned char)*s))
        s++;
    return digits > 0 && *s == '\0' ? v : 0;
}

int gw_edxml_parse_bdt(const char *s)
{
    long v = 0;
    size_t digits = 0;

    while (is_space((unsigned char)*s))
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v <= 3)
            v = v * 10 + (*s - '0');
    }
    while (is_space((unsigned char)*s))
        s++;
    if (*s != '\0')
        return -1;
    if (digits == 0)
        return 0; /* an empty element, as for an absent one */
    return v <= 3 ? (int)v : -1;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void slot_insert(uint32_t *slots, size_t nslots, const char *id, uint32_t idx1)
{
    size_t i = hash_str(id) & (nslots - 1);

    while (slots[i] != 0)
        i = (i + 1) & (nslots - 1);
    slots[i] = idx1;
}

static int grow(struct gw_edxml_rcpt *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 8;
    size_t nslots = ncap * 2;
    char **v = realloc(r->v, ncap * sizeof(*v));
    uint32_t *slots;

    if (!v)
        return GW_ENOMEM;
    r->v = v;
    slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return GW_ENOMEM;
    for (size_t i = 0; i < r->n; i++)
        slot_insert(slots, nslots, r->v[i], (uint32_t)(i + 1));
    free(r->slots);
    r->slots = slots;
    r->nslots = nslots;
    r->cap = ncap;
    return 0;
}

int gw_edxml_rcpt_add(struct gw_edxml_rcpt *r, const char *id, unsigned max)
{
    char *copy;
    int rc;

    if (r->nslots) {
        for (size_t i = hash_str(id) & (r->nslots - 1); r->slots[i] != 0;
             i = (i + 1) & (r->nslots - 1)) {
            if (strcmp(r->v[r->slots[i] - 1], id) == 0)
                return 0;
        }
    }
    if (r->n >= max || r->n >= UINT32_MAX - 1)
        return GW_ELIMIT;
    if (r->n == r->cap && (rc = grow(r)) != 0)
        return rc;
    copy = strdup(id);
    if (!copy)
        return GW_ENOMEM;
    r->v[r->n] = copy;
    slot_insert(r->slots, r->nslots, copy, (uint32_t)(r->n + 1));
    r->n++;
    return 0;
}

char **gw_edxml_rcpt_take(struct gw_edxml_rcpt *r)
{
    char **v = r->v;

    free(r->slots);
    memset(r, 0, sizeof(*r));
    return v;
}

void gw_edxml_rcpt_free(struct gw_edxml_rcpt *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    free(r->slots);
    memset(r, 0, sizeof(*r));
}
