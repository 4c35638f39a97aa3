/*
 * Cross-reference sections: classic tables ("xref" ... "trailer"), xref streams (/W, /Index,
 * FlateDecode with predictors) and the hidden /XRefStm of hybrid files. Each section becomes a
 * list of entries sorted by object number, one per number; counts are checked against the file
 * size and max_objects before anything is allocated.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>

/* Stable merge sort by object number; with inuse_first, entries in use sort before free ones. */
static bool before(const struct pdf_xent *a, const struct pdf_xent *b, bool inuse_first)
{
    if (a->num != b->num)
        return a->num < b->num;
    return inuse_first && a->type != 0 && b->type == 0;
}

bool pdf_ents_sort(struct pdf_doc *d, struct pdf_xent *a, size_t *n, bool inuse_first)
{
    struct pdf_xent *tmp;
    size_t o = 0;

    if (*n < 2)
        return true;
    if (!(tmp = malloc(*n * sizeof(*tmp)))) {
        d->nomem = true;
        return false;
    }
    for (size_t w = 1; w < *n; w *= 2) {
        for (size_t lo = 0; lo < *n; lo += 2 * w) {
            size_t mid = lo + w < *n ? lo + w : *n, hi = lo + 2 * w < *n ? lo + 2 * w : *n;
            size_t i = lo, j = mid, k = lo;

            while (i < mid && j < hi)
                tmp[k++] = before(&a[j], &a[i], inuse_first) ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, *n * sizeof(*tmp));
    }
    free(tmp);
    for (size_t i = 0; i < *n; i++)
        if (o == 0 || a[o - 1].num != a[i].num)
            a[o++] = a[i];
    *n = o;
    return true;
}

static bool room(struct pdf_doc *d, size_t have, uint64_t more)
{
    if (more > d->lim.max_objects || have + d->nents + more > d->lim.max_objects) {
        pdf_fail(d, "too_many_objects", "xref sections list more than %zu objects",
                 d->lim.max_objects);
        return false;
    }
    return true;
}

static bool grow(struct pdf_doc *d, struct pdf_xent **ents, size_t n, size_t more)
{
    struct pdf_xent *ne = pdf_alloc(d, (n + more) * sizeof(*ne));

    if (!ne)
        return false;
    if (n)
        memcpy(ne, *ents, n * sizeof(*ne));
    *ents = ne;
    return true;
}

static uint64_t be(const uint8_t *p, int64_t w)
{
    uint64_t v = 0;

    for (int64_t i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}

static bool read_stream(struct pdf_doc *d, uint64_t off, struct pdf_xent **ents, size_t *n,
                        struct pdf_val **trailer, uint64_t *sect_end)
{
    struct pdf_obj *o = pdf_parse_at(d, off, UINT32_MAX, 0, UINT32_MAX, sect_end);
    struct pdf_val *w, *idx;
    int64_t ww[3], size = 0, rowlen = 0;
    uint64_t total = 0;
    uint8_t *data;
    size_t dlen, k = 0;
    bool bad;

    if (!o || !o->data || !pdf_is_name(pdf_dget(o->val, "Type"), "XRef")) {
        pdf_fail(d, "xref_broken", "no xref table or xref stream at offset %llu",
                 (unsigned long long)off);
        return false;
    }
    w = pdf_dget(o->val, "W");
    idx = pdf_dget(o->val, "Index");
    if (!pdf_int(pdf_dget(o->val, "Size"), &size) || size < 0 || !w || w->kind != PV_ARRAY ||
        w->u.arr.n != 3)
        goto broken;
    for (int i = 0; i < 3; i++) {
        if (!pdf_int(w->u.arr.v[i], &ww[i]) || ww[i] < 0 || ww[i] > 8)
            goto broken;
        rowlen += ww[i];
    }
    if (rowlen == 0 || (idx && (idx->kind != PV_ARRAY || idx->u.arr.n % 2)))
        goto broken;
    for (size_t i = 0; idx && i < idx->u.arr.n; i += 2) {
        int64_t s, c;

        if (!pdf_int(idx->u.arr.v[i], &s) || !pdf_int(idx->u.arr.v[i + 1], &c) || s < 0 || c < 0 ||
            s + c > UINT32_MAX)
            goto broken;
        total += (uint64_t)c;
        if (!room(d, *n, total))
            return false;
    }
    if (!idx) {
        if (size > UINT32_MAX)
            goto broken;
        total = (uint64_t)size;
    }
    if (!room(d, *n, total))
        return false;
    if (!pdf_stream_decode(d, o->val, o->data, o->data_len, &data, &dlen, &bad)) {
        if (bad)
            pdf_fail(d, "xref_broken", "xref stream at %llu cannot be decoded",
                     (unsigned long long)off);
        return false;
    }
    if (dlen / (size_t)rowlen < total)
        goto broken;
    if (!grow(d, ents, *n, total))
        return false;
    for (size_t i = 0; i < (idx ? idx->u.arr.n : 2); i += 2) {
        int64_t s = 0, c = size;

        if (idx) {
            pdf_int(idx->u.arr.v[i], &s);
            pdf_int(idx->u.arr.v[i + 1], &c);
        }
        for (int64_t j = 0; j < c; j++, k++) {
            const uint8_t *row = data + k * (size_t)rowlen;
            uint64_t t = ww[0] ? be(row, ww[0]) : 1, f2 = be(row + ww[0], ww[1]);
            uint64_t f3 = be(row + ww[0] + ww[1], ww[2]);
            struct pdf_xent *e = &(*ents)[*n];

            if (t > 2)
                continue; /* reserved types read as null objects */
            memset(e, 0, sizeof(*e));
            e->num = (uint32_t)(s + j);
            e->type = (uint8_t)t;
            e->f2 = f2;
            if (t == 2)
                e->idx = f3 > UINT32_MAX ? UINT32_MAX : (uint32_t)f3;
            else
                e->gen = f3 > 65535 ? 65535 : (uint16_t)f3;
            (*n)++;
        }
    }
    *trailer = o->val;
    return true;
broken:
    pdf_fail(d, "xref_broken", "xref stream at %llu has a wrong /W, /Index or /Size",
             (unsigned long long)off);
    return false;
}

static bool read_table(struct pdf_doc *d, size_t pos, struct pdf_xent **ents, size_t *n,
                       struct pdf_val **trailer, uint64_t *sect_end)
{
    const uint8_t *s = d->buf;
    size_t len = d->len;

    for (;;) {
        uint64_t start, count;

        pdf_skip_ws(s, len, &pos);
        if (pdf_keyword(s, len, &pos, "trailer")) {
            *trailer = pdf_parse_value(d, s, len, &pos, 0, 0);
            if (!*trailer || (*trailer)->kind != PV_DICT)
                break;
            *sect_end = pos;
            return true;
        }
        if (!pdf_read_uint(s, len, &pos, &start))
            break;
        pdf_skip_ws(s, len, &pos);
        if (!pdf_read_uint(s, len, &pos, &count) || start + count > UINT32_MAX)
            break;
        if (!room(d, *n, count))
            return false;
        if (count * 18 > len - pos)
            break;
        if (!grow(d, ents, *n, count))
            return false;
        for (uint64_t i = 0; i < count; i++) {
            struct pdf_xent *e = &(*ents)[*n];
            uint64_t off, gen;

            pdf_skip_ws(s, len, &pos);
            if (!pdf_read_uint(s, len, &pos, &off))
                goto broken;
            pdf_skip_ws(s, len, &pos);
            if (!pdf_read_uint(s, len, &pos, &gen) || gen > 65535)
                goto broken;
            pdf_skip_ws(s, len, &pos);
            if (pos >= len || (s[pos] != 'n' && s[pos] != 'f'))
                goto broken;
            memset(e, 0, sizeof(*e));
            e->num = (uint32_t)(start + i);
            e->gen = (uint16_t)gen;
            e->type = s[pos] == 'n';
            e->f2 = off;
            if (e->num != 0)
                (*n)++;
            pos++;
        }
    }
broken:
    if (!d->error)
        pdf_fail(d, "xref_broken", "the xref table near offset %zu cannot be read", pos);
    return false;
}

bool pdf_xref_read(struct pdf_doc *d, uint64_t off, struct pdf_xent **ents, size_t *n,
                   struct pdf_val **trailer, uint64_t *sect_end)
{
    size_t pos = (size_t)off;
    int64_t stm;

    *ents = NULL;
    *n = 0;
    if (off >= d->len) {
        pdf_fail(d, "xref_broken", "xref offset %llu is outside the file", (unsigned long long)off);
        return false;
    }
    if (!pdf_keyword(d->buf, d->len, &pos, "xref"))
        return read_stream(d, off, ents, n, trailer, sect_end) && pdf_ents_sort(d, *ents, n, false);
    if (!read_table(d, pos, ents, n, trailer, sect_end))
        return false;
    if (pdf_int(pdf_dget(*trailer, "XRefStm"), &stm)) {
        struct pdf_val *t2;
        uint64_t e2;

        if (stm < 0 || (uint64_t)stm >= d->len || (uint64_t)stm == off) {
            pdf_fail(d, "xref_broken", "/XRefStm %lld is outside the file", (long long)stm);
            return false;
        }
        if (!read_stream(d, (uint64_t)stm, ents, n, &t2, &e2))
            return false;
    }
    return pdf_ents_sort(d, *ents, n, true);
}
