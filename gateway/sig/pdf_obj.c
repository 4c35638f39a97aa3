/*
 * Indirect objects as a given revision sees them: an xref entry at an offset, or an index in an
 * object stream (/ObjStm, itself looked up in that revision). Each definition is parsed once and
 * cached on its entry; a definition that cannot be read is a finding, never a crash.
 */
#include "sig/pdf_internal.h"

#include <string.h>

static void broken(struct pdf_doc *d, uint32_t num, const char *why)
{
    pdf_finding(d, "object_broken", "object %u cannot be read (%s)", num, why);
}

static struct pdf_objstm *load_objstm(struct pdf_doc *d, unsigned rev, struct pdf_xent *se)
{
    struct pdf_objstm *st;
    struct pdf_obj *o;
    int64_t n, first;
    size_t pos = 0;
    bool bad;

    if (se->stm)
        return se->stm->bad ? NULL : se->stm;
    if (!(st = se->stm = pdf_alloc(d, sizeof(*st))))
        return NULL;
    st->bad = true;
    se->tried = true;
    o = se->obj ? se->obj : pdf_parse_at(d, se->f2, se->num, se->gen, rev, NULL);
    se->obj = o;
    if (!o || !o->data || !pdf_is_name(pdf_dget(o->val, "Type"), "ObjStm") ||
        !pdf_int(pdf_dget(o->val, "N"), &n) || !pdf_int(pdf_dget(o->val, "First"), &first) ||
        n < 0 || first < 0 || (uint64_t)n > d->lim.max_objects) {
        broken(d, se->num, "not an object stream");
        return NULL;
    }
    if (!pdf_stream_decode(d, o->val, o->data, o->data_len, (uint8_t **)&st->data, &st->len,
                           &bad)) {
        if (bad)
            broken(d, se->num, "object stream cannot be decoded");
        return NULL;
    }
    if ((uint64_t)first > st->len || (uint64_t)n > st->len / 2 + 1) {
        broken(d, se->num, "object stream header");
        return NULL;
    }
    st->first = (size_t)first;
    st->n = (uint32_t)n;
    st->nums = pdf_alloc(d, (size_t)(n + 1) * sizeof(uint32_t));
    st->offs = pdf_alloc(d, (size_t)(n + 1) * sizeof(size_t));
    st->objs = pdf_alloc(d, (size_t)(n + 1) * sizeof(struct pdf_obj *));
    if (!st->nums || !st->offs || !st->objs)
        return NULL;
    for (uint32_t i = 0; i < st->n; i++) {
        uint64_t a, b;

        pdf_skip_ws(st->data, st->first, &pos);
        if (!pdf_read_uint(st->data, st->first, &pos, &a) || a > UINT32_MAX)
            goto hdr;
        pdf_skip_ws(st->data, st->first, &pos);
        if (!pdf_read_uint(st->data, st->first, &pos, &b) || b >= st->len - st->first)
            goto hdr;
        st->nums[i] = (uint32_t)a;
        st->offs[i] = (size_t)b;
    }
    st->bad = false;
    return st;
hdr:
    broken(d, se->num, "object stream header");
    return NULL;
}

static struct pdf_obj *compressed(struct pdf_doc *d, unsigned rev, struct pdf_xent *e)
{
    struct pdf_xent *se = e->f2 <= UINT32_MAX ? pdf_lookup(d, rev, (uint32_t)e->f2) : NULL;
    struct pdf_objstm *st;
    uint32_t i = e->idx;
    size_t pos;
    struct pdf_obj *o;

    if (!se || se->type != 1) {
        broken(d, e->num, "its object stream is missing");
        return NULL;
    }
    if (!(st = load_objstm(d, rev, se)))
        return NULL;
    if (i >= st->n || st->nums[i] != e->num)
        for (i = 0; i < st->n && st->nums[i] != e->num; i++)
            ;
    if (i >= st->n) {
        broken(d, e->num, "not in its object stream");
        return NULL;
    }
    if (st->objs[i])
        return st->objs[i]->val ? st->objs[i] : NULL;
    if (!(o = st->objs[i] = pdf_alloc(d, sizeof(*o))))
        return NULL;
    o->off = PDF_NO_OFF;
    pos = st->first + st->offs[i];
    o->val = pdf_parse_value(d, st->data, st->len, &pos, PDF_NO_OFF, 0);
    if (!o->val)
        broken(d, e->num, "syntax in object stream");
    return o->val ? o : NULL;
}

struct pdf_obj *pdf_get_ent(struct pdf_doc *d, unsigned rev, struct pdf_xent *e)
{
    if (!e || e->type == 0 || d->nomem)
        return NULL;
    if (e->type == 2)
        return compressed(d, rev, e);
    if (!e->tried) {
        e->tried = true;
        e->obj = pdf_parse_at(d, e->f2, e->num, e->gen, rev, NULL);
        if (!e->obj)
            broken(d, e->num, "no object at its xref offset");
    }
    return e->obj;
}

struct pdf_obj *pdf_get(struct pdf_doc *d, unsigned rev, uint32_t num)
{
    return pdf_get_ent(d, rev, pdf_lookup(d, rev, num));
}

struct pdf_val *pdf_resolve(struct pdf_doc *d, unsigned rev, struct pdf_val *v)
{
    struct pdf_obj *o;

    if (!v || v->kind != PV_REF)
        return v;
    o = pdf_get(d, rev, v->u.ref.num);
    return o ? o->val : NULL;
}
