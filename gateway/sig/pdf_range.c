/*
 * One signature dictionary: its text fields, /Contents (hex-decoded, with the length of the DER
 * TLV it starts with), its DocMDP transform, and the strict /ByteRange checks: four
 * non-negative integers, starting at 0, inside the file, in order, the gap exactly this
 * dictionary's /Contents hex string, and the end at the end of a revision.
 */
#include "sig/pdf_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t der_len(const uint8_t *c, size_t len)
{
    size_t hdr, l = 0;

    if (len < 2 || c[0] == 0 || (c[0] & 0x1f) == 0x1f)
        return 0;
    if (c[1] < 0x80) {
        hdr = 2;
        l = c[1];
    } else {
        size_t nb = c[1] & 0x7f;

        if (nb == 0 || nb > 4 || len < 2 + nb)
            return 0;
        for (size_t i = 0; i < nb; i++)
            l = l << 8 | c[2 + i];
        hdr = 2 + nb;
    }
    return l <= len - hdr ? hdr + l : 0;
}

static int docmdp(struct pdf_doc *d, unsigned rev, struct pdf_val *sig)
{
    struct pdf_val *refs = pdf_resolve(d, rev, pdf_dget(sig, "Reference"));

    if (!refs || refs->kind != PV_ARRAY)
        return 0;
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        struct pdf_val *r = pdf_resolve(d, rev, refs->u.arr.v[i]), *tp;
        int64_t p = 2;

        if (!pdf_is_name(pdf_dget(r, "TransformMethod"), "DocMDP"))
            continue;
        tp = pdf_resolve(d, rev, pdf_dget(r, "TransformParams"));
        pdf_int(pdf_dget(tp, "P"), &p);
        return p >= 1 && p <= 3 ? (int)p : 2;
    }
    return 0;
}

/* The revision whose end (give or take its EOL) is at pos, or -1. */
static int revision_at(struct pdf_doc *d, uint64_t pos)
{
    for (unsigned k = 0; k < d->nrev; k++) {
        uint64_t end = d->revs[k].end;

        if (pos == end)
            return (int)k;
        if (pos < end && end - pos <= 2) {
            bool eol = true;

            for (uint64_t p = pos; p < end; p++)
                eol = eol && (d->buf[p] == '\r' || d->buf[p] == '\n');
            if (eol)
                return (int)k;
        }
    }
    if (pos == d->len)
        return (int)d->nrev - 1;
    return -1;
}

static const char *check_range(struct pdf_doc *d, struct gw_pdf_sig *s, struct pdf_val *sig,
                               struct pdf_obj *o)
{
    struct pdf_val *br = pdf_dget(sig, "ByteRange"), *c = pdf_dget(sig, "Contents");
    uint64_t *b = s->byte_range;
    int k;

    if (!br)
        return "byterange_missing";
    if (br->kind != PV_ARRAY || br->u.arr.n != 4)
        return "byterange_shape";
    for (int i = 0; i < 4; i++) {
        int64_t v;

        if (!pdf_int(br->u.arr.v[i], &v) || v < 0)
            return "byterange_shape";
        b[i] = (uint64_t)v;
    }
    if (b[0] != 0)
        return "byterange_start";
    if (b[1] > d->len || b[2] > d->len || b[3] > d->len - b[2])
        return "byterange_outside";
    if (b[2] < b[1])
        return "byterange_overlap";
    if (!c || c->kind != PV_STR || !c->u.s.hex || o->off == PDF_NO_OFF || c->u.s.off != b[1] ||
        c->u.s.end != b[2])
        return "byterange_gap_not_contents";
    if ((k = revision_at(d, b[2] + b[3])) < 0)
        return "byterange_not_eof";
    s->revision = (unsigned)k;
    return NULL;
}

static bool text(struct pdf_doc *d, struct pdf_val *dict, const char *key, char **out)
{
    struct pdf_val *v = pdf_dget(dict, key);

    *out = v ? pdf_text(d, v) : NULL;
    return !d->nomem;
}

bool pdf_sig_read(struct pdf_doc *d, unsigned rev, struct pdf_xent *e, struct gw_pdf_sig *s)
{
    struct pdf_obj *o = pdf_get_ent(d, rev, e);
    struct pdf_val *sig = o ? o->val : NULL, *c;
    const char *type = "Sig";

    if (!sig || sig->kind != PV_DICT) {
        s->byte_range_error = "byterange_missing";
        return (s->type = strdup(type)) != NULL || (d->nomem = true, false);
    }
    if (pdf_is_name(pdf_dget(sig, "Type"), "DocTimeStamp") ||
        (!pdf_dget(sig, "Type") && pdf_is_name(pdf_dget(sig, "SubFilter"), "ETSI.RFC3161")))
        type = "DocTimeStamp";
    if (!(s->type = strdup(type)) || !text(d, sig, "SubFilter", &s->subfilter) ||
        !text(d, sig, "Filter", &s->filter) || !text(d, sig, "M", &s->m) ||
        !text(d, sig, "Name", &s->name) || !text(d, sig, "Reason", &s->reason) ||
        !text(d, sig, "Location", &s->location)) {
        d->nomem = true;
        return false;
    }
    s->docmdp_p = docmdp(d, rev, sig);
    s->byte_range_error = check_range(d, s, sig, o);
    c = pdf_dget(sig, "Contents");
    if (c && c->kind == PV_STR) {
        uint8_t *bytes;
        size_t n;

        if (c->u.s.len / 2 > d->lim.max_contents) {
            if (!s->byte_range_error)
                s->byte_range_error = "contents_too_large";
        } else {
            if (!pdf_str_bytes(d, c, &bytes, &n))
                return false;
            if (!(s->contents = malloc(n ? n : 1))) {
                d->nomem = true;
                return false;
            }
            memcpy(s->contents, bytes, n);
            s->contents_len = n;
            s->der_len = der_len(bytes, n);
        }
    }
    s->byte_range_ok = s->byte_range_error == NULL;
    return true;
}
