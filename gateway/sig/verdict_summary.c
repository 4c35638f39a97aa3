/*
 * Summaries (domain.md §6): a PDF's from its signatures' verdicts, the disallowed-change flag and
 * the person/organisation order; a package's as the worst of its signed PDFs'. The order of the
 * rules is in docs/internals/verdicts.md.
 */
#include <string.h>

#include "sig/verdict.h"
#include "sig/verdict_internal.h"

/* TOTAL-FAILED < INDETERMINATE < TOTAL-PASSED; a lower rank is worse. */
static int rank(enum gw_sig_indication i)
{
    switch (i) {
    case GW_SIG_TOTAL_FAILED:
        return 0;
    case GW_SIG_INDETERMINATE:
        return 1;
    case GW_SIG_TOTAL_PASSED:
        return 2;
    case GW_SIG_NO_SIGNATURE:
        return 3;
    }
    return 1;
}

static bool order_violated(const enum gw_sig_role *roles, unsigned n, unsigned *org,
                           unsigned *person)
{
    bool seen_org = false;
    for (unsigned i = 0; roles && i < n; i++) {
        if (roles[i] == GW_ROLE_ORGANISATION && !seen_org) {
            seen_org = true;
            *org = i;
        } else if (roles[i] == GW_ROLE_PERSON && seen_org) {
            *person = i;
            return true;
        }
    }
    return false;
}

static void set_summary(struct gw_pdf_summary *out, enum gw_sig_indication ind, enum gw_sig_sub sub,
                        const char *vi, const char *en)
{
    out->ind = ind;
    out->sub = sub;
    gw_verdict_finish(out->reason_vi, vi);
    gw_verdict_finish(out->reason_en, en);
}

void gw_verdict_pdf(const struct gw_verdict *v, const enum gw_sig_role *roles, unsigned n,
                    bool disallowed_change, bool order_violation, struct gw_pdf_summary *out)
{
    char vi[GW_VERDICT_TEXT_MAX] = "", en[GW_VERDICT_TEXT_MAX] = "";
    memset(out, 0, sizeof(*out));
    if (n == 0 || !v) {
        set_summary(out, GW_SIG_NO_SIGNATURE, GW_SUB_NONE, "Tệp PDF không có chữ ký số",
                    "The PDF has no digital signature");
        return;
    }
    unsigned worst = 0;
    for (unsigned i = 1; i < n; i++)
        if (rank(v[i].ind) < rank(v[worst].ind))
            worst = i;
    unsigned org = 0, person = 0;
    bool order = order_violated(roles, n, &org, &person);
    if (v[worst].ind == GW_SIG_TOTAL_FAILED ||
        (!disallowed_change && v[worst].ind != GW_SIG_TOTAL_PASSED)) {
        gw_verdict_cat(vi, "Chữ ký %u/%u: %s", worst + 1, n, v[worst].reason_vi);
        gw_verdict_cat(en, "Signature %u/%u: %s", worst + 1, n, v[worst].reason_en);
        set_summary(out, v[worst].ind, v[worst].sub, vi, en);
    } else if (disallowed_change) {
        set_summary(out, GW_SIG_TOTAL_FAILED, GW_SUB_FORMAT_FAILURE,
                    "Tệp PDF bị thay đổi không được phép sau khi ký",
                    "Disallowed change to the PDF after signing");
    } else if (order) {
        gw_verdict_cat(vi, "Chữ ký của tổ chức (chữ ký %u) có trước chữ ký của cá nhân (chữ ký %u)",
                       org + 1, person + 1);
        gw_verdict_cat(en, "The organisation's signature (%u) precedes a person's signature (%u)",
                       org + 1, person + 1);
        set_summary(out, GW_SIG_INDETERMINATE, GW_SUB_SIG_CONSTRAINTS_FAILURE, vi, en);
    } else if (order_violation) {
        set_summary(out, GW_SIG_INDETERMINATE, GW_SUB_SIG_CONSTRAINTS_FAILURE,
                    "Chữ ký của tổ chức có trước chữ ký của cá nhân",
                    "The organisation's signature precedes a person's signature");
    } else {
        gw_verdict_cat(vi, "Tất cả %u chữ ký đều hợp lệ", n);
        gw_verdict_cat(en, "All %u signatures valid", n);
        set_summary(out, GW_SIG_TOTAL_PASSED, GW_SUB_NONE, vi, en);
    }
}

void gw_verdict_fold(struct gw_pdf_summary *out, const struct gw_verdict *v, unsigned idx,
                     unsigned n, bool counts)
{
    char vi[GW_VERDICT_TEXT_MAX] = "", en[GW_VERDICT_TEXT_MAX] = "";
    bool none = out->ind == GW_SIG_NO_SIGNATURE;

    if (none ? !counts && v->ind == GW_SIG_TOTAL_PASSED : rank(v->ind) >= rank(out->ind))
        return;
    if (v->ind == GW_SIG_TOTAL_PASSED) {
        set_summary(out, GW_SIG_TOTAL_PASSED, GW_SUB_NONE, "Chữ ký hợp lệ", "Signature valid");
        return;
    }
    gw_verdict_cat(vi, "Chữ ký %u/%u: %s", idx + 1, n, v->reason_vi);
    gw_verdict_cat(en, "Signature %u/%u: %s", idx + 1, n, v->reason_en);
    set_summary(out, v->ind, v->sub, vi, en);
}

void gw_verdict_package(const struct gw_pdf_summary *pdfs, unsigned n, struct gw_pdf_summary *out)
{
    char vi[GW_VERDICT_TEXT_MAX] = "", en[GW_VERDICT_TEXT_MAX] = "";
    memset(out, 0, sizeof(*out));
    unsigned signed_n = 0, worst = 0;
    for (unsigned i = 0; pdfs && i < n; i++) {
        if (pdfs[i].ind == GW_SIG_NO_SIGNATURE)
            continue;
        if (signed_n++ == 0 || rank(pdfs[i].ind) < rank(pdfs[worst].ind))
            worst = i;
    }
    if (signed_n == 0) {
        set_summary(out, GW_SIG_NO_SIGNATURE, GW_SUB_NONE, "Gói tin không có tệp nào được ký số",
                    "No document of the package is digitally signed");
        return;
    }
    if (pdfs[worst].ind == GW_SIG_TOTAL_PASSED) {
        gw_verdict_cat(vi, "Tất cả %u tệp đã ký đều hợp lệ", signed_n);
        gw_verdict_cat(en, "All %u signed documents valid", signed_n);
    } else {
        gw_verdict_cat(vi, "Tệp %u: %s", worst + 1, pdfs[worst].reason_vi);
        gw_verdict_cat(en, "Document %u: %s", worst + 1, pdfs[worst].reason_en);
    }
    set_summary(out, pdfs[worst].ind, pdfs[worst].sub, vi, en);
}
