/*
 * Revisions: the last startxref, the /Prev chain (cycle- and depth-checked), the %%EOF that ends
 * each xref section, and one object table per revision. Sections whose end is not after the
 * previous revision's (the first-page section of a linearized file) join that revision.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>

struct pdf_obj *pdf_parse_at(struct pdf_doc *d, uint64_t off, uint32_t num, uint32_t gen,
                             unsigned rev, uint64_t *end)
{
    const uint8_t *s = d->buf;
    size_t len = d->len, pos = (size_t)off;
    uint64_t n, g;
    struct pdf_obj *o;
    struct pdf_val *lv;
    int64_t slen = -1;

    if (off >= len || !pdf_read_uint(s, len, &pos, &n))
        return NULL;
    pdf_skip_ws(s, len, &pos);
    if (!pdf_read_uint(s, len, &pos, &g))
        return NULL;
    pdf_skip_ws(s, len, &pos);
    if (!pdf_keyword(s, len, &pos, "obj"))
        return NULL;
    if (num != UINT32_MAX && (n != num || g != gen))
        return NULL;
    if (!(o = pdf_alloc(d, sizeof(*o))))
        return NULL;
    o->off = off;
    if (!(o->val = pdf_parse_value(d, s, len, &pos, 0, 0)))
        return NULL;
    pdf_skip_ws(s, len, &pos);
    if (o->val->kind == PV_DICT && pdf_keyword(s, len, &pos, "stream")) {
        if (pos < len && s[pos] == '\r')
            pos++;
        if (pos < len && s[pos] == '\n')
            pos++;
        lv = pdf_dget(o->val, "Length");
        if (lv && lv->kind == PV_REF && rev != UINT32_MAX)
            lv = pdf_resolve(d, rev, lv);
        if (!pdf_int(lv, &slen) || slen < 0 || (uint64_t)slen > len - pos)
            return NULL;
        o->data = s + pos;
        o->data_len = (size_t)slen;
        pos += (size_t)slen;
        pdf_skip_ws(s, len, &pos);
        if (!pdf_keyword(s, len, &pos, "endstream"))
            return NULL;
        pdf_skip_ws(s, len, &pos);
    }
    if (!pdf_keyword(s, len, &pos, "endobj"))
        return NULL;
    if (end)
        *end = pos;
    return o;
}

/* After a section: "startxref N %%EOF" and an EOL; 0 when absent. */
static uint64_t section_end(struct pdf_doc *d, uint64_t at)
{
    size_t pos = (size_t)at;
    uint64_t v;

    while (pos < d->len && pdf_is_ws(d->buf[pos]))
        pos++;
    if (!pdf_keyword(d->buf, d->len, &pos, "startxref"))
        return 0;
    pdf_skip_ws(d->buf, d->len, &pos);
    if (!pdf_read_uint(d->buf, d->len, &pos, &v))
        return 0;
    while (pos < d->len && pdf_is_ws(d->buf[pos]))
        pos++;
    if (d->len - pos < 5 || memcmp(d->buf + pos, "%%EOF", 5) != 0)
        return 0;
    pos += 5;
    if (pos < d->len && d->buf[pos] == '\r')
        pos++;
    if (pos < d->len && d->buf[pos] == '\n')
        pos++;
    return pos;
}

/* The number after the last "startxref" in the last 64 KiB. */
static bool last_startxref(struct pdf_doc *d, uint64_t *off)
{
    size_t from = d->len > 65536 ? d->len - 65536 : 0;

    for (size_t i = d->len >= 9 ? d->len - 9 : 0; i + 1 > from; i--) {
        if (d->len - i >= 9 && memcmp(d->buf + i, "startxref", 9) == 0) {
            size_t pos = i + 9;

            pdf_skip_ws(d->buf, d->len, &pos);
            if (!pdf_read_uint(d->buf, d->len, &pos, off))
                break;
            return true;
        }
        if (i == 0)
            break;
    }
    pdf_fail(d, "truncated", "no startxref in the last %zu bytes", d->len - from);
    return false;
}

struct sect {
    struct pdf_xent *ents;
    size_t n;
    struct pdf_val *trailer;
    uint64_t off, end;
};

static bool build_revision(struct pdf_doc *d, struct sect *s, size_t ns, struct pdf_rev *r)
{
    size_t total = 0, k = 0;

    for (size_t i = 0; i < ns; i++)
        total += s[i].n;
    if (!(r->ents = pdf_alloc(d, (total + 1) * sizeof(*r->ents))))
        return false;
    for (size_t i = 0; i < ns; i++) { /* newest section first */
        memcpy(r->ents + k, s[i].ents, s[i].n * sizeof(*r->ents));
        k += s[i].n;
    }
    r->n = total;
    for (size_t i = 0; i < ns; i++)
        if (!r->trailer || !pdf_dget(r->trailer, "Root"))
            r->trailer = s[i].trailer;
    r->xref_off = s[0].off;
    return ns == 1 || pdf_ents_sort(d, r->ents, &r->n, false);
}

static bool number_index(struct pdf_doc *d)
{
    size_t total = 0, k = 0;

    for (unsigned i = 0; i < d->nrev; i++)
        total += d->revs[i].n;
    if (!(d->nums = pdf_alloc(d, (total + 1) * sizeof(uint32_t))))
        return false;
    /* k-way merge is not worth it here: append, sort as entries, unique */
    {
        struct pdf_xent *tmp = pdf_alloc(d, (total + 1) * sizeof(*tmp));

        if (!tmp)
            return false;
        for (unsigned i = 0; i < d->nrev; i++)
            for (size_t j = 0; j < d->revs[i].n; j++)
                tmp[k++].num = d->revs[i].ents[j].num;
        if (!pdf_ents_sort(d, tmp, &k, false))
            return false;
        for (size_t j = 0; j < k; j++)
            d->nums[j] = tmp[j].num;
        d->nnums = k;
    }
    return true;
}

size_t pdf_num_index(struct pdf_doc *d, uint32_t num)
{
    size_t lo = 0, hi = d->nnums;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (d->nums[mid] == num)
            return mid;
        if (d->nums[mid] < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

bool pdf_revisions_read(struct pdf_doc *d)
{
    unsigned cap = d->lim.max_revisions + 1, ns = 0, nr = 0;
    struct sect *s = calloc(cap, sizeof(*s));
    uint64_t off;
    size_t start;
    bool ok = false;

    if (!s) {
        d->nomem = true;
        return false;
    }
    if (!last_startxref(d, &off))
        goto out;
    for (;;) {
        int64_t prev;

        for (unsigned i = 0; i < ns; i++)
            if (s[i].off == off) {
                pdf_fail(d, "xref_loop", "the /Prev chain returns to offset %llu",
                         (unsigned long long)off);
                goto out;
            }
        if (ns == cap) {
            pdf_fail(d, "too_many_revisions", "more than %u xref sections", d->lim.max_revisions);
            goto out;
        }
        s[ns].off = off;
        if (!pdf_xref_read(d, off, &s[ns].ents, &s[ns].n, &s[ns].trailer, &s[ns].end))
            goto out;
        d->nents += s[ns].n;
        s[ns].end = section_end(d, s[ns].end);
        ns++;
        if (!pdf_dget(s[ns - 1].trailer, "Prev"))
            break;
        if (!pdf_int(pdf_dget(s[ns - 1].trailer, "Prev"), &prev) || prev < 0) {
            pdf_fail(d, "xref_broken", "/Prev is not a non-negative integer");
            goto out;
        }
        off = (uint64_t)prev;
    }
    if (!(d->revs = calloc(ns, sizeof(*d->revs)))) {
        d->nomem = true;
        goto out;
    }
    if (s[ns - 1].end == 0) {
        pdf_fail(d, "truncated", "no startxref and %%%%EOF after the xref section at %llu",
                 (unsigned long long)s[ns - 1].off);
        goto out;
    }
    /* oldest section first; a section not ending after the current revision joins it */
    start = ns - 1;
    for (size_t i = ns - 1;; i--) {
        bool last = i == 0;
        bool joins = !last && (s[i - 1].end == 0 || s[i - 1].end <= s[start].end);

        if (!joins) {
            struct pdf_rev *r = &d->revs[nr];

            if (!build_revision(d, s + i, start - i + 1, r))
                goto out;
            r->end = s[start].end;
            nr++;
            if (last)
                break;
            start = i - 1;
        }
        if (last)
            break;
    }
    d->nrev = nr;
    if (nr > d->lim.max_revisions) {
        pdf_fail(d, "too_many_revisions", "more than %u revisions", d->lim.max_revisions);
        goto out;
    }
    for (size_t p = d->revs[nr - 1].end; p < d->len; p++)
        if (!pdf_is_ws(d->buf[p])) {
            pdf_finding(d, "trailing_bytes",
                        "%zu bytes after the last %%%%EOF (offset %llu) are not a revision",
                        d->len - (size_t)d->revs[nr - 1].end,
                        (unsigned long long)d->revs[nr - 1].end);
            break;
        }
    if (!pdf_dget(d->revs[nr - 1].trailer, "Root")) {
        pdf_fail(d, "xref_broken", "the trailer has no /Root");
        goto out;
    }
    if (pdf_dget(d->revs[nr - 1].trailer, "Encrypt"))
        pdf_finding(d, "encrypted", "the file is encrypted; text fields may read as bytes");
    ok = number_index(d);
out:
    free(s);
    return ok && !d->error;
}

struct pdf_xent *pdf_lookup(struct pdf_doc *d, unsigned rev, uint32_t num)
{
    if (rev >= d->nrev)
        rev = d->nrev - 1;
    for (unsigned k = rev + 1; k-- > 0;) {
        struct pdf_rev *r = &d->revs[k];
        size_t lo = 0, hi = r->n;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (r->ents[mid].num == num)
                return &r->ents[mid];
            if (r->ents[mid].num < num)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}
