/*
 * The rules' text normaliser (rtext.h): the source is cut into segments, a starter and the
 * combining marks after it, and each segment is decomposed and case-folded, checked for marks,
 * optionally stripped of them, and recomposed on its own, so every output byte maps back to the
 * segment it came from. Vietnamese letters are a base and at most two marks, so a segment fits
 * a small buffer; a longer one (stacked marks) goes through the heap.
 */
#include "rules/rtext.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/error.h"

#define SEG_CP    32 /* code points of a segment held on the stack */
#define SEG_MARKS 16 /* marks of one segment at most */

struct out {
    char *s;
    uint32_t *from, *to;
    size_t n, cap;
    bool map;
};

static int out_room(struct out *o, size_t more)
{
    if (o->n + more + 1 <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->n + more + 1)
        cap *= 2;
    char *s = realloc(o->s, cap);
    if (!s)
        return GW_ENOMEM;
    o->s = s;
    if (o->map) {
        uint32_t *f = realloc(o->from, cap * sizeof(*f));
        if (!f)
            return GW_ENOMEM;
        o->from = f;
        uint32_t *t = realloc(o->to, cap * sizeof(*t));
        if (!t)
            return GW_ENOMEM;
        o->to = t;
    }
    o->cap = cap;
    return 0;
}

static int out_put(struct out *o, const char *b, size_t n, size_t from, size_t to)
{
    if (out_room(o, n) != 0)
        return GW_ENOMEM;
    memcpy(o->s + o->n, b, n);
    if (o->map)
        for (size_t i = 0; i < n; i++) {
            o->from[o->n + i] = (uint32_t)from;
            o->to[o->n + i] = (uint32_t)to;
        }
    o->n += n;
    return 0;
}

static bool is_space(utf8proc_int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x85)
        return true;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

static bool is_mark(utf8proc_int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

/* Reads one code point; invalid bytes read as U+FFFD, one byte at a time. */
static size_t next_cp(const utf8proc_uint8_t *s, size_t len, utf8proc_int32_t *c)
{
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)len, c);
    if (k <= 0 || *c == 0) {
        *c = 0xFFFD;
        return 1;
    }
    return (size_t)k;
}

/* Recently normalised short segments, per thread: a text has few distinct letters (a
 * Vietnamese one, a few hundred syllable vowels), so most segments are found here. */
#define CACHE_SLOTS 512
#define CACHE_KEY   8
#define CACHE_OUT   16

struct cache_slot {
    uint8_t key_len, out_len; /* key_len 0: empty */
    bool strip, marks;
    uint8_t key[CACHE_KEY];
    char out[CACHE_OUT];
};

static _Thread_local struct cache_slot cache[CACHE_SLOTS];

static struct cache_slot *cache_slot(const utf8proc_uint8_t *src, size_t len, bool strip)
{
    uint32_t h = 2166136261u ^ (uint32_t)strip;
    for (size_t i = 0; i < len; i++)
        h = (h ^ src[i]) * 16777619u;
    return &cache[h & (CACHE_SLOTS - 1)];
}

static int segment_slow(struct out *o, const utf8proc_uint8_t *src, size_t len, size_t at,
                        bool strip, bool *marks);

/* Normalises one segment src[0..len) into o. */
static int segment(struct out *o, const utf8proc_uint8_t *src, size_t len, size_t at, bool strip,
                   bool *marks)
{
    if (len > CACHE_KEY)
        return segment_slow(o, src, len, at, strip, marks);
    struct cache_slot *c = cache_slot(src, len, strip);
    if (c->key_len == len && c->strip == strip && memcmp(c->key, src, len) == 0) {
        *marks |= c->marks;
        return out_put(o, c->out, c->out_len, at, at + len);
    }
    size_t before = o->n;
    bool m = false;
    int rc = segment_slow(o, src, len, at, strip, &m);
    *marks |= m;
    if (rc == 0 && o->n - before <= CACHE_OUT) {
        c->key_len = (uint8_t)len;
        c->strip = strip;
        c->marks = m;
        memcpy(c->key, src, len);
        c->out_len = (uint8_t)(o->n - before);
        memcpy(c->out, o->s + before, c->out_len);
    }
    return rc;
}

static int segment_slow(struct out *o, const utf8proc_uint8_t *src, size_t len, size_t at,
                        bool strip, bool *marks)
{
    utf8proc_int32_t stack[SEG_CP], *buf = stack;
    utf8proc_ssize_t cap = SEG_CP, n;
    const int opts = UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STABLE;

    for (;;) {
        n = 0;
        for (size_t r = 0; r < len;) {
            utf8proc_int32_t c;
            r += next_cp(src + r, len - r, &c);
            int last = 0;
            utf8proc_ssize_t k = utf8proc_decompose_char(c, n < cap ? buf + n : buf,
                                                         n < cap ? cap - n : 0, opts, &last);
            if (k < 0)
                return GW_EINVAL;
            n += k;
        }
        if (n <= cap)
            break;
        if (buf != stack)
            free(buf);
        cap = n;
        if (!(buf = malloc((size_t)cap * sizeof(*buf))))
            return GW_ENOMEM;
    }
    /* canonical order: marks sorted by combining class, stable (decompose_char does not) */
    for (utf8proc_ssize_t i = 1; i < n; i++) {
        utf8proc_int32_t c = buf[i];
        int cc = utf8proc_get_property(c)->combining_class;
        utf8proc_ssize_t j = i;
        while (cc && j > 0 && utf8proc_get_property(buf[j - 1])->combining_class > cc) {
            buf[j] = buf[j - 1];
            j--;
        }
        buf[j] = c;
    }
    utf8proc_ssize_t w = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_int32_t c = buf[i];
        bool m = is_mark(c);
        if (m || c == 0x111)
            *marks = true;
        if (strip && m)
            continue;
        buf[w++] = strip && c == 0x111 ? 'd' : c;
    }
    /* recompose and encode in place: the buffer holds 4 bytes per code point */
    utf8proc_ssize_t b = utf8proc_reencode(buf, w, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    int rc = b < 0 ? GW_EINVAL : out_put(o, (const char *)buf, (size_t)b, at, at + len);
    if (buf != stack)
        free(buf);
    return rc;
}

static int normalise(struct out *o, const char *src, bool strip, bool *marks, bool *cut)
{
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)(src ? src : "");
    size_t len = strlen((const char *)s);
    bool pending_space = false;

    *marks = false;
    *cut = len > GW_RTEXT_MAX;
    if (*cut)
        len = GW_RTEXT_MAX;
    if (out_room(o, 0) != 0)
        return GW_ENOMEM;
    for (size_t i = 0; i < len;) {
        /* ASCII not followed by a mark (most of a Vietnamese text): folded without utf8proc */
        if (s[i] < 0x80 && s[i] > 0x20 && s[i] != 0x7f && (i + 1 == len || s[i + 1] < 0x80)) {
            size_t j = i + 1; /* the run of such bytes */
            while (j < len && s[j] < 0x80 && s[j] > 0x20 && s[j] != 0x7f &&
                   (j + 1 == len || s[j + 1] < 0x80))
                j++;
            if (pending_space && out_put(o, " ", 1, i, i) != 0)
                return GW_ENOMEM;
            pending_space = false;
            if (out_room(o, j - i) != 0)
                return GW_ENOMEM;
            for (size_t k = i; k < j; k++, o->n++) {
                o->s[o->n] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
                if (o->map) {
                    o->from[o->n] = (uint32_t)k;
                    o->to[o->n] = (uint32_t)k + 1;
                }
            }
            i = j;
            continue;
        }
        utf8proc_int32_t c;
        size_t k = next_cp(s + i, len - i, &c);
        if (is_space(c)) {
            pending_space = o->n > 0;
            i += k;
            continue;
        }
        size_t end = i + k, marks_n = 0;
        /* the marks that follow belong to this segment (a run of stacked marks is cut into
         * segments of SEG_MARKS, so that sorting one stays cheap) */
        while (end < len && marks_n++ < SEG_MARKS) {
            utf8proc_int32_t m;
            size_t mk = next_cp(s + end, len - end, &m);
            if (utf8proc_get_property(m)->combining_class == 0 && !is_mark(m))
                break;
            end += mk;
        }
        if (pending_space && out_put(o, " ", 1, i, i) != 0)
            return GW_ENOMEM;
        pending_space = false;
        int rc = segment(o, s + i, end - i, i, strip, marks);
        if (rc != 0)
            return rc;
        i = end;
    }
    o->s[o->n] = '\0';
    return 0;
}

int gw_rtext_init(struct gw_rtext *t, const char *src, bool strip)
{
    struct out o = {.map = true};
    memset(t, 0, sizeof(*t));
    int rc = normalise(&o, src, strip, &t->marks, &t->cut);
    if (rc != 0) {
        free(o.s);
        free(o.from);
        free(o.to);
        return rc == GW_EINVAL ? GW_ENOMEM : rc;
    }
    t->s = o.s;
    t->n = o.n;
    t->from = o.from;
    t->to = o.to;
    return 0;
}

void gw_rtext_free(struct gw_rtext *t)
{
    free(t->s);
    free(t->from);
    free(t->to);
    memset(t, 0, sizeof(*t));
}

char *gw_rtext_norm(const char *src, bool strip)
{
    struct out o = {.map = false};
    bool marks, cut;
    if (normalise(&o, src, strip, &marks, &cut) != 0) {
        free(o.s);
        return NULL;
    }
    return o.s;
}

static bool word_cp(utf8proc_int32_t c)
{
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

bool gw_rtext_word_at(const char *s)
{
    utf8proc_int32_t c;
    unsigned char b = (unsigned char)*s;
    if (b < 0x80)
        return (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
    next_cp((const utf8proc_uint8_t *)s, strnlen(s, 4), &c);
    return word_cp(c);
}

bool gw_rtext_word_before(const char *s, size_t i)
{
    if (i > 0 && (unsigned char)s[i - 1] < 0x80)
        return gw_rtext_word_at(s + i - 1);
    size_t b = i;
    while (b > 0 && ((unsigned char)s[b - 1] & 0xC0) == 0x80 && i - b < 3)
        b--;
    if (b > 0)
        b--;
    utf8proc_int32_t c;
    next_cp((const utf8proc_uint8_t *)s + b, i - b, &c);
    return word_cp(c);
}
