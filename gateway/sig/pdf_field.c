/*
 * Signature discovery: in each revision, /Root /AcroForm /Fields (recursive /Kids, cycle- and
 * depth-safe) to the fields of type /Sig with a /V, and /Perms /DocMDP. Each signature
 * dictionary definition is reported once, with its strict /ByteRange checks (pdf_range.c).
 */
#include "sig/pdf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
    struct pdf_doc *d;
    struct gw_pdf_report *r;
    unsigned rev;
    uint32_t *seen; /* stamp per object number index */
    uint32_t stamp;
    bool stop;
};

static bool seen(struct walk *w, uint32_t num)
{
    size_t i = pdf_num_index(w->d, num);

    if (i == SIZE_MAX)
        return true; /* not in any table: nothing to read */
    if (w->seen[i] == w->stamp)
        return true;
    w->seen[i] = w->stamp;
    return false;
}

static bool add_sig(struct walk *w, struct pdf_val *ref, const char *field)
{
    struct pdf_doc *d = w->d;
    struct gw_pdf_report *r = w->r;
    struct pdf_xent *e = pdf_lookup(d, w->rev, ref->u.ref.num);
    struct gw_pdf_sig *ns;

    if (!e || e->type == 0)
        return true;
    for (unsigned i = 0; i < r->n_sigs; i++) {
        struct pdf_xent *o = pdf_lookup(d, r->sigs[i].first_revision, r->sigs[i].obj_num);

        if (o == e)
            return true; /* the same definition, seen from an earlier revision */
    }
    if (r->n_sigs >= d->lim.max_sigs) {
        pdf_finding(d, "too_many_sigs", "more than %u signatures; the rest are not reported",
                    d->lim.max_sigs);
        w->stop = true;
        return true;
    }
    if (!(ns = realloc(r->sigs, (r->n_sigs + 1) * sizeof(*ns)))) {
        d->nomem = true;
        return false;
    }
    r->sigs = ns;
    ns = &r->sigs[r->n_sigs++];
    memset(ns, 0, sizeof(*ns));
    ns->obj_num = e->num;
    ns->obj_gen = e->gen;
    ns->first_revision = w->rev;
    ns->revision = w->rev;
    if (field && !(ns->field = strdup(field))) {
        d->nomem = true;
        return false;
    }
    return pdf_sig_read(d, w->rev, e, ns);
}

static char *join(struct pdf_doc *d, const char *parent, const char *t)
{
    size_t lp = parent ? strlen(parent) : 0, lt = t ? strlen(t) : 0;
    char *s;

    if (!t)
        return parent ? strdup(parent) : NULL;
    if (!(s = malloc(lp + lt + 2))) {
        d->nomem = true;
        return NULL;
    }
    snprintf(s, lp + lt + 2, "%s%s%s", parent ? parent : "", parent ? "." : "", t);
    return s;
}

static bool walk_fields(struct walk *w, struct pdf_val *arr, const char *parent, bool sig,
                        unsigned depth)
{
    struct pdf_doc *d = w->d;

    arr = pdf_resolve(d, w->rev, arr);
    if (!arr || arr->kind != PV_ARRAY)
        return true;
    if (depth > d->lim.max_depth) {
        pdf_finding(d, "fields_too_deep", "form fields nest deeper than %u", d->lim.max_depth);
        return true;
    }
    for (size_t i = 0; i < arr->u.arr.n && !w->stop; i++) {
        struct pdf_val *ref = arr->u.arr.v[i], *f, *v, *ft, *kids;
        char *t, *name;
        bool is_sig = sig, ok = true;

        if (ref->kind != PV_REF || seen(w, ref->u.ref.num))
            continue;
        if (!(f = pdf_resolve(d, w->rev, ref)) || f->kind != PV_DICT)
            continue;
        if ((ft = pdf_dget(f, "FT")))
            is_sig = pdf_is_name(ft, "Sig");
        t = pdf_text(d, pdf_dget(f, "T"));
        name = join(d, parent, t);
        free(t);
        if (d->nomem) {
            free(name);
            return false;
        }
        v = pdf_dget(f, "V");
        if (is_sig && v && v->kind == PV_REF)
            ok = add_sig(w, v, name);
        else if (is_sig && v && v->kind == PV_DICT)
            pdf_finding(d, "sig_direct", "a signature value is a direct dictionary (field %s)",
                        name ? name : "?");
        kids = pdf_dget(f, "Kids");
        if (ok && kids)
            ok = walk_fields(w, kids, name, is_sig, depth + 1);
        free(name);
        if (!ok)
            return false;
    }
    return true;
}

static void cert_mark(struct walk *w)
{
    struct pdf_doc *d = w->d;
    struct pdf_val *root = pdf_resolve(d, w->rev, pdf_dget(d->revs[w->rev].trailer, "Root"));
    struct pdf_val *perms = pdf_resolve(d, w->rev, pdf_dget(root, "Perms"));
    struct pdf_val *mdp = pdf_dget(perms, "DocMDP");
    struct pdf_xent *e;

    if (!mdp || mdp->kind != PV_REF || !(e = pdf_lookup(d, w->rev, mdp->u.ref.num)))
        return;
    for (unsigned i = 0; i < w->r->n_sigs; i++)
        if (pdf_lookup(d, w->r->sigs[i].first_revision, w->r->sigs[i].obj_num) == e &&
            !w->r->sigs[i].docmdp_p)
            w->r->sigs[i].docmdp_p = 2; /* /Perms names it; its /Reference lacks /P */
}

static uint64_t sort_key(const struct gw_pdf_report *r, const struct gw_pdf_sig *s)
{
    const char *e = s->byte_range_error;

    if (e && (!strcmp(e, "byterange_missing") || !strcmp(e, "byterange_shape")))
        return r->revision_end[s->first_revision];
    return s->byte_range[2] + s->byte_range[3];
}

bool pdf_sigs_find(struct pdf_doc *d, struct gw_pdf_report *r)
{
    struct walk w = {.d = d, .r = r};

    if (!(w.seen = calloc(d->nnums + 1, sizeof(uint32_t)))) {
        d->nomem = true;
        return false;
    }
    for (w.rev = 0; w.rev < d->nrev && !w.stop; w.rev++) {
        struct pdf_val *root = pdf_resolve(d, w.rev, pdf_dget(d->revs[w.rev].trailer, "Root"));
        struct pdf_val *af = pdf_resolve(d, w.rev, pdf_dget(root, "AcroForm"));

        w.stamp++;
        if (!walk_fields(&w, pdf_dget(af, "Fields"), NULL, false, 0))
            break;
        cert_mark(&w);
    }
    free(w.seen);
    if (d->nomem)
        return false;
    for (unsigned i = 1; i < r->n_sigs; i++) /* insertion sort: few signatures */
        for (unsigned j = i; j > 0 && sort_key(r, &r->sigs[j]) < sort_key(r, &r->sigs[j - 1]);
             j--) {
            struct gw_pdf_sig t = r->sigs[j];

            r->sigs[j] = r->sigs[j - 1];
            r->sigs[j - 1] = t;
        }
    return true;
}
