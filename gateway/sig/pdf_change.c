/*
 * Changes after signing: for each signature, every object that a later revision defines is
 * compared with the object table of the signed revision and judged by the role it had there
 * (pdf_graph.c) and by the DocMDP level in force; the rules themselves are in pdf_rules.c.
 * Shadow attacks (an object unused when signed that is later redefined or referenced) are
 * disallowed whatever the role.
 */
#include "sig/pdf_change.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 40

void pdf_note(struct pdf_chg *c, enum gw_pdf_change cls, const char *fmt, ...)
{
    char line[512];
    size_t n;
    char *nt;
    va_list ap;

    if (cls > c->worst)
        c->worst = cls;
    if (c->lines > MAX_LINES)
        return;
    if (c->lines == MAX_LINES) {
        snprintf(line, sizeof(line), "... more changes not listed");
    } else {
        int k = c->j == UINT32_MAX ? 0 : snprintf(line, sizeof(line), "revision %u ", c->j);

        va_start(ap, fmt);
        vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
        va_end(ap);
        n = strlen(line);
        snprintf(line + n, sizeof(line) - n, "%s", cls == GW_PDF_DISALLOWED ? " [disallowed]" : "");
    }
    c->lines++;
    n = strlen(line);
    if (!(nt = realloc(c->text, c->tlen + n + 2))) {
        c->d->nomem = true;
        return;
    }
    c->text = nt;
    memcpy(c->text + c->tlen, line, n);
    c->tlen += n;
    c->text[c->tlen++] = '\n';
    c->text[c->tlen] = 0;
}

static bool same_def(const struct pdf_xent *a, const struct pdf_xent *b)
{
    return a && b && a->type == b->type && a->f2 == b->f2 && a->idx == b->idx;
}

bool pdf_obj_equal(struct pdf_doc *d, const struct pdf_obj *a, const struct pdf_obj *b)
{
    if (!pdf_val_equal(d, a->val, b->val, 0))
        return false;
    if (!a->data || !b->data)
        return !a->data && !b->data;
    return a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0;
}

static bool is_type(struct pdf_obj *o, const char *t)
{
    return o && o->val && pdf_is_name(pdf_dget(o->val, "Type"), t);
}

static double num_of(const struct pdf_val *v)
{
    return !v ? 0 : v->kind == PV_INT ? (double)v->u.i : v->kind == PV_REAL ? v->u.r : 0;
}

/* A widget a viewer draws: a normal appearance, not Invisible, Hidden nor NoView (/F bits 1, 2,
 * 6), and a /Rect of some area (one that does not read counts as visible). */
static bool visible_widget(struct pdf_doc *d, unsigned rev, struct pdf_val *w)
{
    struct pdf_val *ap = pdf_resolve(d, rev, pdf_dget(w, "AP"));
    struct pdf_val *f = pdf_resolve(d, rev, pdf_dget(w, "F"));
    struct pdf_val *r = pdf_resolve(d, rev, pdf_dget(w, "Rect"));
    double x[4];

    if (!ap || ap->kind != PV_DICT || !pdf_dget(ap, "N"))
        return false;
    if (f && f->kind == PV_INT && (f->u.i & (1 | 2 | 32)))
        return false;
    if (!r || r->kind != PV_ARRAY || r->u.arr.n != 4)
        return true;
    for (size_t i = 0; i < 4; i++)
        x[i] = num_of(pdf_resolve(d, rev, r->u.arr.v[i]));
    return (x[2] - x[0]) * (x[3] - x[1]) != 0;
}

/* Whether v (a field's /V) is the dictionary of a signature this file carries that closes
 * revision j or a later one: a signature made with or after the field, checked on its own. Any
 * other /V (a number, a string, an earlier signature's dictionary named again) signs nothing. */
static bool signs_from(const struct pdf_chg *c, const struct pdf_val *v)
{
    for (unsigned k = 0; v && v->kind == PV_REF && c->sigs && k < c->sigs->n_sigs; k++)
        if (c->sigs->sigs[k].obj_num == v->u.ref.num && c->sigs->sigs[k].revision >= c->j)
            return true;
    return false;
}

/* A signature field added after signing that is not signed in the file's last revision (its
 * /V, its own or inherited through /Parent, is no signature made since) and shows something
 * (itself a widget, or one of its kids): the Sneaky Signature attack, an appearance drawn over
 * the signed content by a field no one signs. */
static bool unsigned_visible_field(struct pdf_chg *c, uint32_t num)
{
    struct pdf_doc *d = c->d;
    unsigned last = d->nrev ? d->nrev - 1 : c->j;
    struct pdf_xent *e = pdf_lookup(d, last, num);
    struct pdf_obj *o = e && e->type != 0 ? pdf_get_ent(d, last, e) : NULL;
    struct pdf_val *f = o ? o->val : NULL, *kids;

    if (!f || f->kind != PV_DICT || signs_from(c, pdf_field_inherited(d, last, f, "V")))
        return false;
    if (visible_widget(d, last, f))
        return true;
    kids = pdf_resolve(d, last, pdf_dget(f, "Kids"));
    for (size_t i = 0; kids && kids->kind == PV_ARRAY && i < kids->u.arr.n; i++) {
        struct pdf_val *k = pdf_resolve(d, last, kids->u.arr.v[i]);
        if (k && k->kind == PV_DICT && visible_widget(d, last, k))
            return true;
    }
    return false;
}

/* An object defined in revision c->j whose number was free or absent when signed. */
static void added(struct pdf_chg *c, struct pdf_xent *e, enum pdf_role rj)
{
    switch (rj) {
    case RO_NONE:
    case RO_ACROFORM:
    case RO_FIELDS:
    case RO_ANNOTS:
    case RO_CATALOG:
    case RO_INFO:
        return; /* judged where it is referenced from */
    case RO_DSS:
    case RO_SIG_AP:
    case RO_SIGNED_AP: /* a new object: an existing field's appearance changes through it only
                        * by a redefined field (sig_field_rule) */
        pdf_note(c, GW_PDF_ALLOWED, "adds %u %u R (%s)", e->num, e->gen, pdf_role_name(rj));
        return;
    case RO_SIG_FIELD:
    case RO_SIGNED_FIELD:
    case RO_SIG: {
        bool ts = pdf_is_doc_timestamp(c, e->num, rj);

        if (c->p == 1 && !ts)
            pdf_note(c, GW_PDF_DISALLOWED, "adds %u %u R (%s) under DocMDP P=1", e->num, e->gen,
                     pdf_role_name(rj));
        else if (rj != RO_SIG && !ts && unsigned_visible_field(c, e->num))
            pdf_note(c, GW_PDF_DISALLOWED,
                     "adds %u %u R, a signature field no one signs whose appearance is shown "
                     "(it can cover the signed content)",
                     e->num, e->gen);
        else
            pdf_note(c, GW_PDF_ALLOWED, "adds %u %u R (%s%s)", e->num, e->gen, pdf_role_name(rj),
                     ts ? ", document timestamp" : "");
        return;
    }
    case RO_FIELD_PART:
        pdf_note(c, c->p >= 2 ? GW_PDF_ALLOWED : GW_PDF_DISALLOWED, "adds %u %u R (%s)", e->num,
                 e->gen, pdf_role_name(rj));
        return;
    case RO_ANNOT:
    case RO_ANNOT_PART:
        pdf_note(c, c->p == 3 ? GW_PDF_ALLOWED : GW_PDF_DISALLOWED, "adds %u %u R (%s)", e->num,
                 e->gen, pdf_role_name(rj));
        return;
    default:
        pdf_note(c, GW_PDF_DISALLOWED, "adds %u %u R (%s)", e->num, e->gen, pdf_role_name(rj));
    }
}

static bool redefined(struct pdf_chg *c, struct pdf_xent *old, struct pdf_xent *e)
{
    struct pdf_doc *d = c->d;
    enum pdf_role rr;
    struct pdf_obj *o, *n;

    if (!pdf_role_get(d, c->r, e->num, &rr))
        return false;
    if (e->type == 0) {
        if (rr != RO_NONE)
            pdf_note(c, GW_PDF_DISALLOWED, "deletes %u %u R (%s)", e->num, old->gen,
                     pdf_role_name(rr));
        return true;
    }
    o = pdf_get_ent(d, c->r, old);
    n = pdf_get_ent(d, c->j, e);
    if (!o || !n) {
        if (o || rr != RO_NONE)
            pdf_note(c, GW_PDF_DISALLOWED, "redefines %u %u R (%s) with an unreadable object",
                     e->num, e->gen, pdf_role_name(rr));
        return !d->nomem;
    }
    if (pdf_obj_equal(d, o, n))
        return true;
    if (rr == RO_NONE) {
        if (is_type(o, "XRef"))
            return true;
        if (is_type(o, "ObjStm"))
            pdf_note(c, GW_PDF_DISALLOWED,
                     "redefines %u %u R (object stream of the signed "
                     "revision)",
                     e->num, e->gen);
        else
            pdf_note(c, GW_PDF_DISALLOWED,
                     "redefines %u %u R, present but unused in the signed "
                     "revision (shadow replace)",
                     e->num, e->gen);
        return true;
    }
    if (o->val->kind != n->val->kind || !o->data != !n->data) {
        pdf_note(c, GW_PDF_DISALLOWED, "redefines %u %u R (%s) as a different type", e->num, e->gen,
                 pdf_role_name(rr));
        return true;
    }
    pdf_rule(c, e->num, e->gen, rr, o, n);
    return !d->nomem;
}

/* Objects first referenced in revision j that were present, unused, when signed. */
static bool shadow_hide(struct pdf_chg *c)
{
    struct pdf_doc *d = c->d;

    for (size_t i = 0; i < d->nnums; i++) {
        uint32_t num = d->nums[i];
        enum pdf_role rj, rp, rr;
        struct pdf_xent *old;

        if (!pdf_role_get(d, c->j, num, &rj))
            return false;
        if (rj == RO_NONE)
            continue;
        if (!pdf_role_get(d, c->j - 1, num, &rp) || !pdf_role_get(d, c->r, num, &rr))
            return false;
        if (rp != RO_NONE || rr != RO_NONE)
            continue;
        old = pdf_lookup(d, c->r, num);
        if (!old || old->type == 0 || !same_def(old, pdf_lookup(d, c->j, num)))
            continue;
        pdf_note(c, GW_PDF_DISALLOWED,
                 "makes %u %u R (%s) referenced, present but unused in the signed revision "
                 "(shadow hide)",
                 num, old->gen, pdf_role_name(rj));
    }
    return true;
}

static bool root_changed(struct pdf_chg *c)
{
    struct pdf_doc *d = c->d;
    struct pdf_val *ro = pdf_dget(d->revs[c->r].trailer, "Root");
    struct pdf_val *rn = pdf_dget(d->revs[c->j].trailer, "Root");
    struct pdf_val *rp = pdf_dget(d->revs[c->j - 1].trailer, "Root");
    struct pdf_obj *o, *n;

    if (!ro || !rn || ro->kind != PV_REF || rn->kind != PV_REF || rp->kind != PV_REF ||
        rn->u.ref.num == ro->u.ref.num || rn->u.ref.num == rp->u.ref.num)
        return true;
    o = pdf_get(d, c->r, ro->u.ref.num);
    n = pdf_get(d, c->j, rn->u.ref.num);
    if (!o || !n) {
        pdf_note(c, GW_PDF_DISALLOWED, "replaces the catalog with an unreadable one");
        return !d->nomem;
    }
    pdf_rule(c, rn->u.ref.num, rn->u.ref.gen, RO_CATALOG, o, n);
    return !d->nomem;
}

static bool revision(struct pdf_chg *c)
{
    struct pdf_doc *d = c->d;
    struct pdf_rev *rv = &d->revs[c->j];

    if (!root_changed(c))
        return false;
    for (size_t i = 0; i < rv->n; i++) {
        struct pdf_xent *e = &rv->ents[i], *old = pdf_lookup(d, c->r, e->num);
        enum pdf_role rj;

        if (same_def(e, pdf_lookup(d, c->j - 1, e->num)) || same_def(e, old))
            continue; /* the same definition listed again */
        if (!old || old->type == 0) {
            if (e->type == 0)
                continue;
            if (!pdf_role_get(d, c->j, e->num, &rj))
                return false;
            added(c, e, rj);
        } else if (!redefined(c, old, e)) {
            return false;
        }
        if (d->nomem)
            return false;
    }
    return shadow_hide(c);
}

bool pdf_changes_classify(struct pdf_doc *d, struct gw_pdf_report *r)
{
    bool trailing = false;

    for (unsigned i = 0; i < d->nfind; i++)
        trailing = trailing || !strcmp(d->findings[i].code, "trailing_bytes");
    for (unsigned i = 0; i < r->n_sigs; i++) {
        struct gw_pdf_sig *s = &r->sigs[i];
        struct pdf_chg c = {.d = d, .r = s->revision, .p = 2, .sigs = r};
        int cert = 0;

        for (unsigned k = 0; k < r->n_sigs; k++)
            if (r->sigs[k].docmdp_p && r->sigs[k].revision <= s->revision &&
                (!cert || r->sigs[k].docmdp_p < cert))
                cert = r->sigs[k].docmdp_p;
        if (cert)
            c.p = cert;
        for (c.j = s->revision + 1; c.j < d->nrev; c.j++)
            if (!revision(&c))
                break;
        if (trailing) {
            c.j = UINT32_MAX;
            pdf_note(&c, GW_PDF_DISALLOWED, "bytes after the last %%%%EOF are not a revision");
        }
        s->after = c.worst;
        s->changes = c.text;
        if (d->nomem || d->error)
            return false;
    }
    return true;
}
