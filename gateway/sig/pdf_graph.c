/*
 * Roles of the objects reachable in one revision (page content stream, font, signature field,
 * DSS...), found by a breadth-first walk from the trailer's /Root and /Info. An object reached
 * in several places keeps its most sensitive role; unreachable objects have none, which is what
 * the shadow-attack checks of pdf_change.c look for.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>

struct pdf_role_map {
    uint8_t *role; /* by pdf_num_index */
};

static const char *const names[RO__COUNT] = {
    [RO_NONE] = "unused object",
    [RO_CATALOG] = "catalog",
    [RO_PAGES] = "page tree node",
    [RO_PAGE] = "page",
    [RO_CONTENT] = "page content stream",
    [RO_RESOURCES] = "page resources",
    [RO_XOBJECT] = "XObject used by a page",
    [RO_FONT] = "font used by a page",
    [RO_PAGE_OTHER] = "object used by a page",
    [RO_ANNOTS] = "annotation list",
    [RO_ANNOT] = "annotation",
    [RO_ANNOT_PART] = "annotation appearance",
    [RO_ACROFORM] = "AcroForm",
    [RO_FIELDS] = "field list",
    [RO_FIELD] = "form field",
    [RO_FIELD_PART] = "form field appearance or resource",
    [RO_SIG_FIELD] = "signature field",
    [RO_SIG_AP] = "signature appearance",
    [RO_SIG] = "signature dictionary",
    [RO_DSS] = "DSS",
    [RO_PERMS] = "permissions",
    [RO_INFO] = "document information",
    [RO_CATALOG_ITEM] = "catalog entry",
    [RO_OBJSTM] = "object stream",
    [RO_SIGNED_FIELD] = "signed signature field",
    [RO_SIGNED_AP] = "appearance of a signed signature field",
};

const char *pdf_role_name(enum pdf_role r)
{
    return r < RO__COUNT && names[r] ? names[r] : "object";
}

static int rank(enum pdf_role r)
{
    switch (r) {
    case RO_NONE:
        return 0;
    case RO_DSS:
    case RO_INFO:
        return 1;
    case RO_SIG_FIELD:
    case RO_SIG_AP:
    case RO_FIELD:
    case RO_FIELD_PART:
    case RO_ACROFORM:
    case RO_FIELDS:
    case RO_ANNOTS:
        return 2;
    case RO_ANNOT:
    case RO_ANNOT_PART:
    case RO_SIGNED_FIELD:
    case RO_SIGNED_AP:
        return 3;
    default:
        return 4;
    }
}

struct pdf_val *pdf_field_inherited(struct pdf_doc *d, unsigned rev, struct pdf_val *f,
                                    const char *key)
{
    for (unsigned i = 0; f && f->kind == PV_DICT && i <= d->lim.max_depth; i++) {
        struct pdf_val *v = pdf_dget(f, key);

        if (v)
            return v;
        f = pdf_resolve(d, rev, pdf_dget(f, "Parent"));
    }
    return NULL;
}

const char *pdf_field_type(struct pdf_doc *d, unsigned rev, struct pdf_val *f)
{
    struct pdf_val *ft = pdf_field_inherited(d, rev, f, "FT");

    return ft && ft->kind == PV_NAME ? ft->u.name.p : NULL;
}

struct gwalk {
    struct pdf_doc *d;
    unsigned rev;
    uint8_t *role;
    uint32_t *queue;
    size_t qh, qt, qcap;
};

static enum pdf_role field_role(struct gwalk *w, struct pdf_val *c)
{
    const char *ft = pdf_field_type(w->d, w->rev, c);

    if (!ft || strcmp(ft, "Sig") != 0)
        return RO_FIELD;
    /* signed in this revision: a /V of its own or up its /Parent chain */
    return pdf_field_inherited(w->d, w->rev, c, "V") ? RO_SIGNED_FIELD : RO_SIG_FIELD;
}

static enum pdf_role annot_role(struct gwalk *w, struct pdf_val *c)
{
    if (pdf_dget(c, "FT") || pdf_dget(c, "Parent"))
        return field_role(w, c);
    return RO_ANNOT;
}

static bool key(const char *k, const char *name)
{
    return k && !strcmp(k, name);
}

static enum pdf_role child_role(struct gwalk *w, enum pdf_role p, const char *k, struct pdf_val *c)
{
    struct pdf_val *t = pdf_dget(c, "Type");

    if (p != RO_SIG && p != RO_DSS && p != RO_INFO && p != RO_PERMS) {
        if (pdf_is_name(t, "Page"))
            return RO_PAGE;
        if (pdf_is_name(t, "Pages"))
            return RO_PAGES;
    }
    switch (p) {
    case RO_CATALOG:
        return key(k, "Pages")      ? RO_PAGES
               : key(k, "AcroForm") ? RO_ACROFORM
               : key(k, "DSS")      ? RO_DSS
               : key(k, "Perms")    ? RO_PERMS
                                    : RO_CATALOG_ITEM;
    case RO_PAGES:
        return key(k, "Kids") || key(k, "Parent") ? RO_PAGES
               : key(k, "Resources")              ? RO_RESOURCES
                                                  : RO_PAGE_OTHER;
    case RO_PAGE:
        if (key(k, "Contents"))
            return RO_CONTENT;
        if (key(k, "Resources"))
            return RO_RESOURCES;
        if (key(k, "Annots"))
            return c && c->kind == PV_ARRAY ? RO_ANNOTS : annot_role(w, c);
        return key(k, "Parent") ? RO_PAGES : RO_PAGE_OTHER;
    case RO_ANNOTS:
        return annot_role(w, c);
    case RO_RESOURCES:
        return key(k, "XObject") ? RO_XOBJECT : key(k, "Font") ? RO_FONT : RO_PAGE_OTHER;
    case RO_ANNOT:
        return key(k, "Parent")                   ? field_role(w, c)
               : key(k, "Popup") || key(k, "IRT") ? RO_ANNOT
                                                  : RO_ANNOT_PART;
    case RO_ACROFORM:
        if (key(k, "Fields"))
            return c && c->kind == PV_ARRAY ? RO_FIELDS : field_role(w, c);
        return RO_FIELD_PART;
    case RO_FIELDS:
        return field_role(w, c);
    case RO_FIELD:
        return key(k, "Kids") || key(k, "Parent") ? field_role(w, c) : RO_FIELD_PART;
    case RO_SIG_FIELD:
        return key(k, "V")                          ? RO_SIG
               : key(k, "Kids") || key(k, "Parent") ? field_role(w, c)
                                                    : RO_SIG_AP;
    case RO_SIGNED_FIELD:
        return key(k, "V")                          ? RO_SIG
               : key(k, "Kids") || key(k, "Parent") ? field_role(w, c)
                                                    : RO_SIGNED_AP;
    case RO_PERMS:
        return RO_SIG;
    default:
        return p; /* content, XObject, font, parts, DSS, information: inherited */
    }
}

static bool visit(struct gwalk *w, uint32_t num, enum pdf_role role)
{
    size_t i = pdf_num_index(w->d, num);

    if (i == SIZE_MAX || rank(role) <= rank((enum pdf_role)w->role[i]))
        return true;
    w->role[i] = (uint8_t)role;
    if (w->qt == w->qcap) {
        size_t nc = w->qcap ? w->qcap * 2 : 256;
        uint32_t *nq = realloc(w->queue, nc * sizeof(uint32_t));

        if (!nq) {
            w->d->nomem = true;
            return false;
        }
        w->queue = nq;
        w->qcap = nc;
    }
    w->queue[w->qt++] = num;
    return true;
}

static bool scan(struct gwalk *w, enum pdf_role p, const char *k, struct pdf_val *v, unsigned depth)
{
    if (!v || depth > w->d->lim.max_depth)
        return true;
    if (v->kind == PV_REF) {
        struct pdf_val *c;
        enum pdf_role r;

        if (p == RO_SIG && key(k, "Data"))
            return true; /* the DocMDP reference points back at the catalog */
        if (p == RO_SIG && key(k, "Reference"))
            p = RO_SIG;
        c = pdf_resolve(w->d, w->rev, v);
        r = child_role(w, p, k, c);
        return visit(w, v->u.ref.num, r);
    }
    if (v->kind == PV_ARRAY) {
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (!scan(w, p, k, v->u.arr.v[i], depth + 1))
                return false;
    } else if (v->kind == PV_DICT) {
        /* a direct dictionary plays the role an indirect one would have there */
        if (depth > 0)
            p = child_role(w, p, k, v);
        for (size_t i = 0; i < v->u.dict.n; i++)
            if (!scan(w, p, v->u.dict.kv[i].key, v->u.dict.kv[i].v, depth + 1))
                return false;
    }
    return true;
}

static uint8_t *compute(struct pdf_doc *d, unsigned rev)
{
    struct gwalk w = {.d = d, .rev = rev};
    struct pdf_val *tr = d->revs[rev].trailer, *root = pdf_dget(tr, "Root");
    struct pdf_val *info = pdf_dget(tr, "Info");

    if (!(w.role = calloc(d->nnums + 1, 1))) {
        d->nomem = true;
        return NULL;
    }
    if ((root && root->kind == PV_REF && !visit(&w, root->u.ref.num, RO_CATALOG)) ||
        (info && info->kind == PV_REF && !visit(&w, info->u.ref.num, RO_INFO)))
        goto fail;
    while (w.qh < w.qt) {
        uint32_t num = w.queue[w.qh++];
        struct pdf_obj *o = pdf_get(d, rev, num);
        size_t i = pdf_num_index(d, num);
        enum pdf_role r = (enum pdf_role)w.role[i];

        if (o && o->val && o->val->kind == PV_DICT && pdf_is_name(pdf_dget(o->val, "Type"), "Sig"))
            r = r == RO_PERMS || r == RO_SIG_FIELD || r == RO_SIGNED_FIELD ? RO_SIG : r;
        if (o && !scan(&w, r, NULL, o->val, 0))
            goto fail;
        if (d->nomem)
            goto fail;
    }
    free(w.queue);
    return w.role;
fail:
    free(w.queue);
    free(w.role);
    return NULL;
}

bool pdf_role_get(struct pdf_doc *d, unsigned rev, uint32_t num, enum pdf_role *out)
{
    size_t i;

    *out = RO_NONE;
    if (!d->roles && !(d->roles = calloc(d->nrev, sizeof(*d->roles)))) {
        d->nomem = true;
        return false;
    }
    if (!d->roles[rev]) {
        if (!(d->roles[rev] = calloc(1, sizeof(**d->roles)))) {
            d->nomem = true;
            return false;
        }
        if (!(d->roles[rev]->role = compute(d, rev)))
            return false;
    }
    if (!d->roles[rev]->role)
        return false;
    if ((i = pdf_num_index(d, num)) != SIZE_MAX)
        *out = (enum pdf_role)d->roles[rev]->role[i];
    return true;
}

void pdf_roles_free(struct pdf_doc *d)
{
    if (!d->roles)
        return;
    for (unsigned i = 0; i < d->nrev; i++)
        if (d->roles[i]) {
            free(d->roles[i]->role);
            free(d->roles[i]);
        }
    free(d->roles);
    d->roles = NULL;
}
