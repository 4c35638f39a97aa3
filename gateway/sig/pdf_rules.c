/*
 * The rules for one redefined object, by the role it had in the signed revision: what a
 * signature, a document timestamp, DSS data or (per DocMDP) form filling and annotation may
 * change, and which differences are disallowed (pages, content, resources, fonts, other
 * catalog entries, fields and annotations that are not signatures; a signed field's appearance
 * replaced, or an unsigned one's redrawn without signing that field: the appearance is drawn
 * over the signed content).
 */
#include "sig/pdf_change.h"

#include <string.h>

static bool listed(const char *const *keys, const char *k)
{
    for (; *keys; keys++)
        if (!strcmp(*keys, k))
            return true;
    return false;
}

/* The first key outside except whose value differs between o and n, or NULL. */
static const char *dict_diff(struct pdf_doc *d, struct pdf_val *o, struct pdf_val *n,
                             const char *const *except)
{
    for (size_t i = 0; o && i < o->u.dict.n; i++) {
        const char *k = o->u.dict.kv[i].key;

        if (!listed(except, k) && !pdf_val_equal(d, pdf_dget(o, k), pdf_dget(n, k), 0))
            return k;
    }
    for (size_t i = 0; n && i < n->u.dict.n; i++) {
        const char *k = n->u.dict.kv[i].key;

        if (!listed(except, k) && !pdf_val_equal(d, pdf_dget(o, k), pdf_dget(n, k), 0))
            return k;
    }
    return NULL;
}

static bool ts_dict(struct pdf_val *v)
{
    return pdf_is_name(pdf_dget(v, "Type"), "DocTimeStamp") ||
           pdf_is_name(pdf_dget(v, "SubFilter"), "ETSI.RFC3161");
}

bool pdf_is_doc_timestamp(struct pdf_chg *c, uint32_t num, enum pdf_role role)
{
    struct pdf_obj *o = pdf_get(c->d, c->j, num);

    if (!o)
        return false;
    if (role == RO_SIG)
        return ts_dict(o->val);
    return ts_dict(pdf_resolve(c->d, c->j, pdf_dget(o->val, "V")));
}

static bool has_ref(struct pdf_val *a, uint32_t num)
{
    for (size_t i = 0; a && a->kind == PV_ARRAY && i < a->u.arr.n; i++)
        if (a->u.arr.v[i]->kind == PV_REF && a->u.arr.v[i]->u.ref.num == num)
            return true;
    return false;
}

/* /Fields or /Annots: nothing removed; additions only signature fields (or annotations, P=3). */
static void list_rule(struct pdf_chg *c, bool fields, struct pdf_val *oa, struct pdf_val *na)
{
    struct pdf_doc *d = c->d;
    const char *what = fields ? "the form fields" : "a page's annotations";

    if (oa && oa->kind != PV_ARRAY)
        oa = NULL;
    if (na && na->kind != PV_ARRAY)
        na = NULL;
    for (size_t i = 0; oa && i < oa->u.arr.n; i++)
        if (oa->u.arr.v[i]->kind == PV_REF && !has_ref(na, oa->u.arr.v[i]->u.ref.num))
            pdf_note(c, GW_PDF_DISALLOWED, "removes %u %u R from %s", oa->u.arr.v[i]->u.ref.num,
                     oa->u.arr.v[i]->u.ref.gen, what);
    for (size_t i = 0; na && i < na->u.arr.n; i++) {
        struct pdf_val *ref = na->u.arr.v[i], *ch;
        struct pdf_xent *old;
        const char *ft;
        enum pdf_role rr;

        if (ref->kind != PV_REF) {
            pdf_note(c, GW_PDF_DISALLOWED, "adds a direct object to %s", what);
            continue;
        }
        if (has_ref(oa, ref->u.ref.num))
            continue;
        old = pdf_lookup(d, c->r, ref->u.ref.num);
        if (old && old->type != 0) {
            if (!pdf_role_get(d, c->r, ref->u.ref.num, &rr))
                return;
            if (rr != RO_NONE) /* unused ones are reported as shadow hide */
                pdf_note(c, GW_PDF_DISALLOWED, "moves %u %u R (%s) into %s", ref->u.ref.num,
                         ref->u.ref.gen, pdf_role_name(rr), what);
            continue;
        }
        ch = pdf_resolve(d, c->j, ref);
        ft = pdf_field_type(d, c->j, ch);
        if (ft && !strcmp(ft, "Sig"))
            continue; /* a new signature field: judged as an added object */
        if (!fields && !ft && !pdf_dget(ch, "Parent") && c->p == 3)
            continue; /* an annotation, judged as an added object */
        if (fields)
            pdf_note(c, GW_PDF_DISALLOWED, "adds form field %u %u R (/FT %s)", ref->u.ref.num,
                     ref->u.ref.gen, ft ? ft : "none");
        else
            pdf_note(c, GW_PDF_DISALLOWED, "adds annotation %u %u R (/Subtype %s) to a page",
                     ref->u.ref.num, ref->u.ref.gen,
                     pdf_dget(ch, "Subtype") && pdf_dget(ch, "Subtype")->kind == PV_NAME
                         ? pdf_dget(ch, "Subtype")->u.name.p
                         : "none");
    }
}

static void acroform_rule(struct pdf_chg *c, struct pdf_val *oa, struct pdf_val *na)
{
    static const char *const ex[] = {"Fields", "SigFlags", "DR", "DA", NULL};
    struct pdf_doc *d = c->d;
    const char *k;

    if (!na || na->kind != PV_DICT) {
        pdf_note(c, GW_PDF_DISALLOWED, "removes the AcroForm");
        return;
    }
    if (oa && oa->kind != PV_DICT)
        oa = NULL;
    if (oa && (k = dict_diff(d, oa, na, ex))) {
        pdf_note(c, GW_PDF_DISALLOWED, "changes /%s of the AcroForm", k);
        return;
    }
    if (!oa || !pdf_val_equal(d, pdf_dget(oa, "Fields"), pdf_dget(na, "Fields"), 0))
        list_rule(c, true, oa ? pdf_resolve(d, c->r, pdf_dget(oa, "Fields")) : NULL,
                  pdf_resolve(d, c->j, pdf_dget(na, "Fields")));
    pdf_note(c, GW_PDF_ALLOWED, "%s the AcroForm", oa ? "updates" : "adds");
}

static void catalog_rule(struct pdf_chg *c, uint32_t num, struct pdf_val *o, struct pdf_val *n)
{
    static const char *const ex[] = {"DSS", "AcroForm", NULL};
    struct pdf_doc *d = c->d;
    struct pdf_val *oa = pdf_dget(o, "AcroForm"), *na = pdf_dget(n, "AcroForm");
    const char *k = dict_diff(d, o, n, ex);

    if (k) {
        pdf_note(c, GW_PDF_DISALLOWED, "changes /%s of the catalog %u 0 R", k, num);
        return;
    }
    if (!pdf_val_equal(d, oa, na, 0))
        acroform_rule(c, pdf_resolve(d, c->r, oa), pdf_resolve(d, c->j, na));
    if (!pdf_val_equal(d, pdf_dget(o, "DSS"), pdf_dget(n, "DSS"), 0))
        pdf_note(c, GW_PDF_ALLOWED, "%s the DSS", pdf_dget(o, "DSS") ? "updates" : "adds");
}

static void sig_field_rule(struct pdf_chg *c, uint32_t num, uint32_t gen, struct pdf_val *o,
                           struct pdf_val *n)
{
    static const char *const ex[] = {"V", "AP", "AS", "MK", "F", "DA", NULL};
    struct pdf_val *ov = pdf_dget(o, "V"), *nv = pdf_dget(n, "V");
    const char *k = dict_diff(c->d, o, n, ex);

    if (k) {
        pdf_note(c, GW_PDF_DISALLOWED, "changes /%s of signature field %u %u R", k, num, gen);
    } else if (ov && !pdf_val_equal(c->d, ov, nv, 0)) {
        pdf_note(c, GW_PDF_DISALLOWED, "replaces the value of signature field %u %u R", num, gen);
    } else if (!ov && nv) {
        bool ts = ts_dict(pdf_resolve(c->d, c->j, nv));

        pdf_note(c, c->p == 1 && !ts ? GW_PDF_DISALLOWED : GW_PDF_ALLOWED,
                 "signs the empty signature field %u %u R%s", num, gen,
                 ts ? " (document timestamp)" : "");
    } else {
        /* Its value unchanged, its appearance changed: a signed field's replaced (another name
         * or seal shown for its signature), or an unsigned one's redrawn without signing it
         * (drawn over the signed content, whatever else signs the revision). Before, both were
         * allowed at P=2 and 3. */
        pdf_note(c, GW_PDF_DISALLOWED, "changes the appearance of %s signature field %u %u R",
                 ov ? "the signed" : "the unsigned", num, gen);
    }
}

void pdf_rule(struct pdf_chg *c, uint32_t num, uint32_t gen, enum pdf_role role, struct pdf_obj *o,
              struct pdf_obj *n)
{
    static const char *const annots[] = {"Annots", NULL};
    static const char *const value[] = {"V", "AP", "AS", NULL};
    struct pdf_doc *d = c->d;
    struct pdf_val *ov = o->val, *nv = n->val;
    const char *name = pdf_role_name(role), *k;

    switch (role) {
    case RO_DSS:
    case RO_INFO:
        pdf_note(c, GW_PDF_ALLOWED, "updates %u %u R (%s)", num, gen, name);
        return;
    case RO_SIGNED_AP:
        /* a signed field's appearance rewritten in place (another name or seal shown for its
         * signature): never, whatever signs the revision (before, any signature or document
         * timestamp closing it let it through) */
        pdf_note(c, GW_PDF_DISALLOWED, "updates %u %u R (%s)", num, gen, name);
        return;
    case RO_SIG_AP: {
        /* an unsigned field's appearance stream rewritten in place: only as that field is
         * signed (by revision j it is a signed field's appearance), not because something
         * else (a document timestamp, another signature) closes the revision */
        enum pdf_role rj;
        if (!pdf_role_get(d, c->j, num, &rj))
            return;
        pdf_note(c, c->p == 1 || rj != RO_SIGNED_AP ? GW_PDF_DISALLOWED : GW_PDF_ALLOWED,
                 "updates %u %u R (%s)%s", num, gen, name,
                 rj == RO_SIGNED_AP ? ", signing its field" : " without signing its field");
        return;
    }
    case RO_CATALOG:
        if (ov->kind == PV_DICT && nv->kind == PV_DICT) {
            catalog_rule(c, num, ov, nv);
            return;
        }
        break;
    case RO_ACROFORM:
        acroform_rule(c, ov, nv);
        return;
    case RO_FIELDS:
    case RO_ANNOTS:
        list_rule(c, role == RO_FIELDS, ov, nv);
        return;
    case RO_PAGE:
        if ((k = dict_diff(d, ov, nv, annots))) {
            pdf_note(c, GW_PDF_DISALLOWED, "redefines %u %u R (page): changes /%s", num, gen, k);
            return;
        }
        list_rule(c, false, pdf_resolve(d, c->r, pdf_dget(ov, "Annots")),
                  pdf_resolve(d, c->j, pdf_dget(nv, "Annots")));
        pdf_note(c, GW_PDF_ALLOWED, "updates the annotations of page %u %u R", num, gen);
        return;
    case RO_SIG_FIELD:
    case RO_SIGNED_FIELD:
        if (ov->kind == PV_DICT && nv->kind == PV_DICT) {
            sig_field_rule(c, num, gen, ov, nv);
            return;
        }
        break;
    case RO_FIELD:
        if (c->p >= 2 && ov->kind == PV_DICT && !dict_diff(d, ov, nv, value)) {
            pdf_note(c, GW_PDF_ALLOWED, "fills form field %u %u R", num, gen);
            return;
        }
        break;
    case RO_FIELD_PART:
        if (c->p >= 2) {
            pdf_note(c, GW_PDF_ALLOWED, "updates %u %u R (%s)", num, gen, name);
            return;
        }
        break;
    case RO_ANNOT:
    case RO_ANNOT_PART:
        if (c->p == 3) {
            pdf_note(c, GW_PDF_ALLOWED, "updates %u %u R (%s)", num, gen, name);
            return;
        }
        break;
    default:
        break;
    }
    pdf_note(c, GW_PDF_DISALLOWED, "redefines %u %u R (%s)%s", num, gen, name,
             c->p == 1 ? " under DocMDP P=1" : "");
}
