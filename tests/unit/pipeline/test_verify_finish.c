/*
 * Unit tests for a checked file's verdicts once its revocation answers are in (gw_vdoc_finish,
 * gateway/pipeline/verify_sig.c): a signer revoked after the timestamp beside a CA whose status
 * could not be had is TRY_LATER, not passed (the rest of the path must still be proven good);
 * a document timestamp that fails, and the envelope's XML-DSig whatever its verdict, reach the
 * file's summary (before, only PAdES signatures did: a corrupt timestamp token or a tampered
 * XML-DSig beside valid signatures gave TOTAL-PASSED).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pipeline/verify_pdf.h"
#include "sig/verdict.h"

#define T2020 ((time_t)1577836800) /* 2020-01-01T00:00:00Z */
#define T2022 ((time_t)1640995200)
#define T2023 ((time_t)1672531200)
#define T2024 ((time_t)1704067200)
#define T2025 ((time_t)1735689600)
#define T2030 ((time_t)1893456000)

/* A signature that passes on its own: timestamped in 2023, its path valid 2020-2030. */
static void good_sig(struct gw_vsig *s, unsigned idx, const char *format, unsigned n_revs)
{
    memset(s, 0, sizeof(*s));
    s->idx = idx;
    s->format = format;
    s->in = (struct gw_verdict_in){
        .format_ok = true,
        .hash_ok = true,
        .sig_ok = true,
        .signer_cert_found = true,
        .ts_present = true,
        .ts_valid = true,
        .ts_gen_time = T2023,
        .claimed_time = -1,
        .now = T2025,
        .path = GW_VIN_PATH_OK,
        .chain_not_before = T2020,
        .chain_not_after = T2030,
        .revoked_at = -1,
        .blocked_from = -1,
        .weak_cutoff = T2022,
    };
    s->role = GW_ROLE_PERSON;
    s->n_revs = n_revs;
    s->revs = calloc(n_revs ? n_revs : 1, sizeof(*s->revs));
    assert_non_null(s->revs);
    for (unsigned i = 0; i < n_revs; i++) {
        s->revs[i].state = GW_VIN_REV_GOOD;
        s->revs[i].revoked_at = -1;
    }
}

static void finish(struct gw_vdoc *d, struct gw_vsig *sigs, unsigned n)
{
    memset(d, 0, sizeof(*d));
    d->sigs = sigs;
    d->n_sigs = n;
    gw_vdoc_finish(d);
}

static void free_sigs(struct gw_vsig *sigs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(sigs[i].revs);
}

static void test_revoked_after_ts_rest_unproven(void **state)
{
    /* the signature's two revocation answers (signer, then its CA) and what follows; -1: not
     * asserted */
    static const struct {
        int state0;
        time_t at0;
        int state1;
        time_t at1;
        int ind, sub, sum;
    } rows[] = {
        /* the signer revoked in 2024, after the 2023 timestamp; its CA's status unavailable */
        {GW_VIN_REV_REVOKED, T2024, GW_VIN_REV_UNAVAILABLE, -1, GW_SIG_INDETERMINATE,
         GW_SUB_TRY_LATER, GW_SIG_INDETERMINATE},
        /* the CA proven good: the revocation after the timestamp does not count */
        {GW_VIN_REV_REVOKED, T2024, GW_VIN_REV_GOOD, -1, GW_SIG_TOTAL_PASSED, -1,
         GW_SIG_TOTAL_PASSED},
        /* the CA unknown to its responder, the signer revoked after: TRY_LATER too */
        {GW_VIN_REV_UNKNOWN, -1, GW_VIN_REV_REVOKED, T2024, -1, GW_SUB_TRY_LATER, -1},
        /* revoked before the timestamp: failed, whatever the rest */
        {GW_VIN_REV_REVOKED, T2022, GW_VIN_REV_UNAVAILABLE, -1, GW_SIG_TOTAL_FAILED, GW_SUB_REVOKED,
         -1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gw_vsig sig[1];
        struct gw_vdoc d;

        good_sig(&sig[0], 0, "pades", 2);
        sig[0].revs[0].state = rows[i].state0;
        sig[0].revs[0].revoked_at = rows[i].at0;
        sig[0].revs[1].state = rows[i].state1;
        sig[0].revs[1].revoked_at = rows[i].at1;
        finish(&d, sig, 1);
        if (rows[i].ind >= 0)
            assert_int_equal(sig[0].v.ind, rows[i].ind);
        if (rows[i].sub >= 0)
            assert_int_equal(sig[0].v.sub, rows[i].sub);
        if (rows[i].sum >= 0)
            assert_int_equal(d.sum.ind, rows[i].sum);
        free_sigs(sig, 1);
    }
}

static void test_other_signatures_reach_the_summary(void **state)
{
    struct gw_vsig sig[2];
    struct gw_vdoc d;

    (void)state;
    /* a valid signature, then a document timestamp whose token does not parse */
    good_sig(&sig[0], 0, "pades", 1);
    good_sig(&sig[1], 1, "doc_timestamp", 1);
    sig[1].in.format_ok = false;
    sig[1].in.format_code = "tst_parse";
    finish(&d, sig, 2);
    assert_int_equal(sig[0].v.ind, GW_SIG_TOTAL_PASSED);
    assert_int_equal(sig[1].v.ind, GW_SIG_TOTAL_FAILED);
    assert_int_equal(d.sum.ind, GW_SIG_TOTAL_FAILED);
    assert_int_equal(d.sum.sub, GW_SUB_FORMAT_FAILURE);
    assert_non_null(strstr(d.sum.reason_en, "Signature 2/2"));
    free_sigs(sig, 2);
    /* one INDETERMINATE for want of proof today (its TSA certificate expired since): nothing */
    good_sig(&sig[0], 0, "pades", 1);
    good_sig(&sig[1], 1, "doc_timestamp", 1);
    sig[1].in.ts_present = false;
    sig[1].in.chain_not_after = T2024;
    finish(&d, sig, 2);
    assert_int_equal(sig[1].v.ind, GW_SIG_INDETERMINATE);
    assert_int_equal(d.sum.ind, GW_SIG_TOTAL_PASSED);
    free_sigs(sig, 2);
    /* a valid document timestamp changes nothing; alone it signs nothing */
    good_sig(&sig[0], 0, "pades", 1);
    good_sig(&sig[1], 1, "doc_timestamp", 1);
    finish(&d, sig, 2);
    assert_int_equal(d.sum.ind, GW_SIG_TOTAL_PASSED);
    assert_non_null(strstr(d.sum.reason_en, "All 1 signatures valid"));
    free_sigs(sig, 2);
    good_sig(&sig[0], 0, "doc_timestamp", 1);
    finish(&d, sig, 1);
    assert_int_equal(d.sum.ind, GW_SIG_NO_SIGNATURE);
    free_sigs(sig, 1);
    /* the envelope's XML-DSig: its digest does not match, or it is valid */
    good_sig(&sig[0], 0, "xmldsig", 1);
    sig[0].in.hash_ok = false;
    finish(&d, sig, 1);
    assert_int_equal(d.sum.ind, GW_SIG_TOTAL_FAILED);
    assert_int_equal(d.sum.sub, GW_SUB_HASH_FAILURE);
    free_sigs(sig, 1);
    good_sig(&sig[0], 0, "xmldsig", 1);
    finish(&d, sig, 1);
    assert_int_equal(d.sum.ind, GW_SIG_TOTAL_PASSED);
    free_sigs(sig, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoked_after_ts_rest_unproven),
        cmocka_unit_test(test_other_signatures_reach_the_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
