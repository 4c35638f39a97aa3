/*
 * The worker part of one PDF's check: its signatures located through the revisions' xref
 * (sig/pdf), each signature's CMS verified over exactly its ByteRange (sig/cms; a document
 * timestamp's token over its own), then the timestamps, paths and roles (verify_sig.c). A
 * ByteRange of the wrong shape or a disallowed change after a signature makes that signature a
 * FORMAT_FAILURE (domain.md §6 "Mapping").
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/verify_pdf.h"
#include "sig/cms.h"
#include "sig/tst.h"
#include "util/error.h"

static json_t *gw_vdoc_finding(const char *code, const char *message)
{
    return json_pack("{s:s, s:s}", "code", code, "message", message ? message : "");
}

/* The CMS part of a PAdES signature. */
static int gw_vdoc_cms(struct gw_vsig *s, const struct gw_pdf_sig *ps, const uint8_t *pdf,
                       size_t len, const struct gw_verify_env *env)
{
    struct gw_cms_result cr;
    json_t *fa;
    int rc;

    memset(&cr, 0, sizeof(cr));
    rc =
        gw_cms_verify(pdf, len, ps->byte_range, ps->contents, ps->contents_len, ps->subfilter, &cr);
    if (rc != 0) {
        gw_cms_result_clear(&cr);
        return rc;
    }
    json_object_set_new(s->details, "cms", json_string(cr.code ? cr.code : ""));
    if (cr.status != GW_CMS_OK)
        json_object_set_new(s->details, "cms_detail", json_string(cr.detail));
    json_object_set_new(s->details, "digest", json_string(cr.digest_name));
    json_object_set_new(s->details, "signature_algorithm", json_string(cr.sig_name));
    json_object_set_new(s->details, "signing_certificate_attr", json_boolean(cr.signing_cert_attr));
    if (cr.ts.present) {
        json_object_set_new(s->details, "timestamp",
                            json_pack("{s:b, s:s, s:o}", "valid", cr.ts.valid, "code",
                                      cr.ts.code ? cr.ts.code : "", "gen_time",
                                      gw_verify_time_json(cr.ts.gen_time)));
    }
    if ((fa = json_array())) {
        for (unsigned i = 0; i < cr.n_findings; i++)
            json_array_append_new(fa, gw_vdoc_finding(cr.findings[i].code, cr.findings[i].message));
        json_object_set_new(s->details, "cms_findings", fa);
    }
    s->in.format_ok = cr.status != GW_CMS_FORMAT;
    if (!s->in.format_ok)
        s->in.format_code = cr.code;
    s->in.hash_ok = cr.status != GW_CMS_HASH;
    s->in.sig_ok = cr.status != GW_CMS_SIG;
    s->in.signer_cert_found = cr.status != GW_CMS_NO_SIGNER_CERT && cr.signer;
    s->in.weak_digest = cr.weak_digest;
    s->in.claimed_time = cr.has_signing_time ? cr.signing_time : -1;
    if (cr.status == GW_CMS_OK || cr.status == GW_CMS_HASH || cr.status == GW_CMS_SIG)
        rc = gw_vsig_paths(s, cr.signer, cr.certs, &cr.ts, GW_PATH_SIGNING, env);
    gw_cms_result_clear(&cr);
    return rc;
}

/* A document timestamp (/SubFilter ETSI.RFC3161): its token over its own ByteRange. */
static int gw_vdoc_doc_ts(struct gw_vsig *s, const struct gw_pdf_sig *ps, const uint8_t *pdf,
                          size_t len, const struct gw_verify_env *env)
{
    struct gw_tst_result tr;
    int rc;

    memset(&tr, 0, sizeof(tr));
    rc = gw_cms_doc_timestamp(pdf, len, ps->byte_range, ps->contents, ps->contents_len, &tr);
    if (rc != 0) {
        gw_tst_result_clear(&tr);
        return rc;
    }
    json_object_set_new(s->details, "timestamp",
                        json_pack("{s:b, s:s}", "valid", tr.valid, "code", tr.code ? tr.code : ""));
    s->in.format_ok = tr.valid || (tr.code && strcmp(tr.code, "tst_imprint_mismatch") == 0) ||
                      (tr.code && strcmp(tr.code, "tst_signature_invalid") == 0);
    if (!s->in.format_ok)
        s->in.format_code = tr.code;
    s->in.hash_ok = !(tr.code && strcmp(tr.code, "tst_imprint_mismatch") == 0);
    s->in.sig_ok = !(tr.code && strcmp(tr.code, "tst_signature_invalid") == 0);
    s->in.signer_cert_found = tr.tsa != NULL;
    s->in.claimed_time = tr.gen_time;
    s->in.ts_gen_time = tr.gen_time;
    if (tr.tsa)
        rc = gw_vsig_paths(s, tr.tsa, tr.tsa_certs, NULL, GW_PATH_TIMESTAMPING, env);
    gw_tst_result_clear(&tr);
    return rc;
}

static char *gw_vdoc_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int gw_vdoc_check(struct gw_vdoc *d, const uint8_t *pdf, size_t len,
                  const struct gw_verify_env *env)
{
    struct gw_pdf_report *rep = NULL;
    int rc;

    if (!d->findings && !(d->findings = json_array()))
        return GW_ENOMEM;
    if ((rc = gw_pdf_inspect(pdf, len, &env->pdf_limits, &rep)) != 0)
        return rc;
    for (unsigned i = 0; i < rep->n_findings; i++)
        json_array_append_new(d->findings,
                              gw_vdoc_finding(rep->findings[i].code, rep->findings[i].message));
    if (rep->error) {
        /* not a PDF that can be read: any signature in it cannot be located, so it is a
         * FORMAT_FAILURE when the file claims to be signed, otherwise the file is unsigned */
        json_array_append_new(d->findings, gw_vdoc_finding(rep->error, rep->error_detail));
        if (strcmp(rep->error, "not_pdf") != 0)
            d->error = rep->error;
        gw_pdf_report_free(rep);
        return 0;
    }
    /* Bytes after the last complete revision that hold a signature dictionary (a truncated or
     * damaged signed revision): a signature that cannot be located through any xref is a
     * FORMAT_FAILURE, not an unsigned file. */
    uint64_t tail = rep->n_revisions ? rep->revision_end[rep->n_revisions - 1] : 0;
    bool lost = tail < len && memmem(pdf + tail, len - tail, "/ByteRange", 10) != NULL;
    if ((rep->n_sigs || lost) &&
        !(d->sigs = calloc(rep->n_sigs + (lost ? 1 : 0), sizeof(*d->sigs)))) {
        gw_pdf_report_free(rep);
        return GW_ENOMEM;
    }
    for (unsigned i = 0; i < rep->n_sigs && rc == 0; i++) {
        const struct gw_pdf_sig *ps = &rep->sigs[i];
        struct gw_vsig *s = &d->sigs[i];
        bool doc_ts = (ps->type && strcmp(ps->type, "DocTimeStamp") == 0) ||
                      (ps->subfilter && strcmp(ps->subfilter, "ETSI.RFC3161") == 0);

        d->n_sigs = i + 1;
        if ((rc = gw_vsig_init(s, i, doc_ts ? "doc_timestamp" : "pades", env)) != 0)
            break;
        s->subfilter = gw_vdoc_dup(ps->subfilter);
        s->field = gw_vdoc_dup(ps->field);
        s->m = gw_vdoc_dup(ps->m);
        json_object_set_new(s->details, "revision", json_integer(ps->revision));
        if (ps->m)
            json_object_set_new(s->details, "m", json_string(ps->m));
        if (ps->after == GW_PDF_DISALLOWED)
            d->disallowed = true;
        if (ps->changes)
            json_object_set_new(s->details, "changes_after", json_string(ps->changes));
        json_object_set_new(s->details, "after",
                            json_string(ps->after == GW_PDF_UNCHANGED ? "unchanged"
                                        : ps->after == GW_PDF_ALLOWED ? "allowed"
                                                                      : "disallowed"));
        if (!ps->byte_range_ok) {
            s->in.format_ok = false;
            s->in.format_code = ps->byte_range_error ? ps->byte_range_error : "byterange";
            continue;
        }
        rc = doc_ts ? gw_vdoc_doc_ts(s, ps, pdf, len, env) : gw_vdoc_cms(s, ps, pdf, len, env);
        if (rc == 0 && s->in.format_ok && ps->after == GW_PDF_DISALLOWED) {
            s->in.format_ok = false;
            s->in.format_code = "modified_after_signing";
        }
    }
    if (rc == 0 && lost) {
        struct gw_vsig *s = &d->sigs[d->n_sigs];
        rc = gw_vsig_init(s, d->n_sigs++, "pades", env);
        s->in.format_ok = false;
        s->in.format_code = "signature_not_in_xref";
        if (rc == 0) {
            json_object_set_new(s->details, "located", json_string("after the last revision"));
            json_object_set_new(s->details, "offset", json_integer((json_int_t)tail));
        }
    }
    gw_pdf_report_free(rep);
    return rc;
}
