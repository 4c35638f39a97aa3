/*
 * Unit tests for gateway/sig/verdict.c: one row per mapping line and per time-rule case of
 * domain.md §6 (a valid timestamp moves the validation time, an invalid one does not; revoked
 * before or after it; expired today but valid at genTime), then the PDF and package summaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "sig/verdict.h"
#include "util/utf8.h"

#define T2020 ((time_t)1577836800) /* 2020-01-01T00:00:00Z */
#define T2022 ((time_t)1640995200)
#define T2023 ((time_t)1672531200)
#define T2024 ((time_t)1704067200)
#define T2025 ((time_t)1735689600)
#define T2030 ((time_t)1893456000)

static struct gw_verdict_in base(void)
{
    struct gw_verdict_in in = {
        .format_ok = true,
        .hash_ok = true,
        .sig_ok = true,
        .signer_cert_found = true,
        .ts_gen_time = -1,
        .claimed_time = -1,
        .now = T2025,
        .path = GW_VIN_PATH_OK,
        .chain_not_before = T2020,
        .chain_not_after = T2030,
        .rev = GW_VIN_REV_GOOD,
        .revoked_at = -1,
        .blocked_from = -1,
        .weak_cutoff = T2022,
    };
    return in;
}

static void with_ts(struct gw_verdict_in *in, time_t gen)
{
    in->ts_present = true;
    in->ts_valid = true;
    in->ts_gen_time = gen;
}

/* Each row changes the base input and states the expected verdict. */
struct row {
    const char *name;
    void (*change)(struct gw_verdict_in *in);
    enum gw_sig_indication ind;
    enum gw_sig_sub sub;
    const char *rule;
    bool from_ts;
    bool weak_accepted;
};

static void c_none(struct gw_verdict_in *in)
{
    (void)in;
}
static void c_format(struct gw_verdict_in *in)
{
    in->format_ok = false;
    in->format_code = "byte_range_shape";
    in->hash_ok = false; /* format comes first */
}
static void c_hash(struct gw_verdict_in *in)
{
    in->hash_ok = false;
    in->sig_ok = false;
}
static void c_sig(struct gw_verdict_in *in)
{
    in->sig_ok = false;
    in->path = GW_VIN_PATH_NO_CHAIN;
}
static void c_signer(struct gw_verdict_in *in)
{
    in->signer_cert_found = false;
    in->path = GW_VIN_PATH_NO_CHAIN;
}
static void c_no_chain(struct gw_verdict_in *in)
{
    in->path = GW_VIN_PATH_NO_CHAIN;
    in->path_code = "unknown_issuer";
    in->rev = GW_VIN_REV_NOT_CHECKED;
}
static void c_revoked_no_ts(struct gw_verdict_in *in)
{
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = T2024;
    in->chain_not_after = T2024; /* revoked comes before expired */
}
static void c_revoked_before_ts(struct gw_verdict_in *in)
{
    with_ts(in, T2024);
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = T2023;
}
static void c_revoked_at_ts(struct gw_verdict_in *in)
{
    with_ts(in, T2024);
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = T2024;
}
static void c_revoked_after_ts(struct gw_verdict_in *in)
{
    with_ts(in, T2023);
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = T2024;
}
static void c_revoked_after_bad_ts(struct gw_verdict_in *in)
{
    c_revoked_after_ts(in);
    in->ts_valid = false;
    in->ts_code = "tst_imprint_mismatch";
}
static void c_revoked_unknown_time_ts(struct gw_verdict_in *in)
{
    with_ts(in, T2023);
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = -1;
}
static void c_revoked_unknown_time(struct gw_verdict_in *in)
{
    in->rev = GW_VIN_REV_REVOKED;
    in->revoked_at = -1;
}
static void c_blocked(struct gw_verdict_in *in)
{
    in->blocked = true;
    in->blocked_from = T2024;
    in->block_reason = "khóa bí mật bị lộ";
}
static void c_blocked_always(struct gw_verdict_in *in)
{
    in->blocked = true;
    in->blocked_from = -1;
}
static void c_blocked_after_ts(struct gw_verdict_in *in)
{
    with_ts(in, T2023);
    in->blocked = true;
    in->blocked_from = T2024;
}
static void c_expired(struct gw_verdict_in *in)
{
    in->chain_not_after = T2024;
    in->claimed_time = T2023; /* claimed inside the validity: no proof */
}
static void c_expired_ts_ok(struct gw_verdict_in *in)
{
    in->chain_not_after = T2024;
    with_ts(in, T2023);
}
static void c_expired_ts_late(struct gw_verdict_in *in)
{
    in->chain_not_after = T2023;
    with_ts(in, T2024);
}
static void c_expired_bad_ts(struct gw_verdict_in *in)
{
    c_expired_ts_ok(in);
    in->ts_valid = false;
}
static void c_not_yet(struct gw_verdict_in *in)
{
    in->chain_not_before = T2030 - 1;
}
static void c_not_yet_ts(struct gw_verdict_in *in)
{
    in->chain_not_before = T2024;
    with_ts(in, T2023);
}
static void c_constraints(struct gw_verdict_in *in)
{
    in->path = GW_VIN_PATH_CONSTRAINTS;
    in->path_code = "key_usage";
    in->rev = GW_VIN_REV_UNAVAILABLE;
}
static void c_chain_crypto(struct gw_verdict_in *in)
{
    in->path = GW_VIN_PATH_CRYPTO;
}
static void c_unavailable(struct gw_verdict_in *in)
{
    in->rev = GW_VIN_REV_UNAVAILABLE;
    in->rev_code = "ocsp_timeout";
    in->weak_digest = true;
}
static void c_unknown(struct gw_verdict_in *in)
{
    in->rev = GW_VIN_REV_UNKNOWN;
}
static void c_not_checked(struct gw_verdict_in *in)
{
    in->rev = GW_VIN_REV_NOT_CHECKED;
}
static void c_weak(struct gw_verdict_in *in)
{
    in->weak_digest = true;
}
static void c_weak_ts_old(struct gw_verdict_in *in)
{
    in->weak_digest = true;
    with_ts(in, T2020 + 86400);
}
static void c_weak_ts_late(struct gw_verdict_in *in)
{
    in->weak_digest = true;
    with_ts(in, T2023);
}
static void c_weak_bad_ts(struct gw_verdict_in *in)
{
    c_weak_ts_old(in);
    in->ts_valid = false;
}
static void c_weak_before_cutoff(struct gw_verdict_in *in)
{
    in->weak_digest = true;
    in->weak_cutoff = T2030;
}
static void c_ts_ok(struct gw_verdict_in *in)
{
    with_ts(in, T2024);
}
static void c_ts_bad(struct gw_verdict_in *in)
{
    with_ts(in, T2024);
    in->ts_valid = false;
    in->ts_code = "tst_signature_invalid";
}

#define FAILED GW_SIG_TOTAL_FAILED
#define INDET  GW_SIG_INDETERMINATE
#define PASSED GW_SIG_TOTAL_PASSED

static const struct row rows[] = {
    {"all good", c_none, PASSED, GW_SUB_NONE, "passed", false, false},
    {"format first", c_format, FAILED, GW_SUB_FORMAT_FAILURE, "format", false, false},
    {"hash", c_hash, FAILED, GW_SUB_HASH_FAILURE, "hash", false, false},
    {"signature value", c_sig, FAILED, GW_SUB_SIG_CRYPTO_FAILURE, "sig_crypto", false, false},
    {"signer cert", c_signer, INDET, GW_SUB_NO_SIGNING_CERTIFICATE_FOUND, "signer_cert", false,
     false},
    {"no chain", c_no_chain, INDET, GW_SUB_NO_CERTIFICATE_CHAIN_FOUND, "no_chain", false, false},
    {"revoked, no ts", c_revoked_no_ts, FAILED, GW_SUB_REVOKED, "revoked", false, false},
    {"revoked before ts", c_revoked_before_ts, FAILED, GW_SUB_REVOKED, "revoked", true, false},
    {"revoked at genTime", c_revoked_at_ts, FAILED, GW_SUB_REVOKED, "revoked", true, false},
    {"revoked after ts", c_revoked_after_ts, PASSED, GW_SUB_NONE, "passed", true, false},
    {"revoked after invalid ts", c_revoked_after_bad_ts, FAILED, GW_SUB_REVOKED, "revoked", false,
     false},
    {"revoked unknown time, ts", c_revoked_unknown_time_ts, INDET, GW_SUB_REVOKED_NO_POE,
     "revoked_no_poe", true, false},
    {"revoked unknown time", c_revoked_unknown_time, FAILED, GW_SUB_REVOKED, "revoked", false,
     false},
    {"blocked", c_blocked, FAILED, GW_SUB_REVOKED, "blocked", false, false},
    {"blocked always", c_blocked_always, FAILED, GW_SUB_REVOKED, "blocked", false, false},
    {"blocked after ts", c_blocked_after_ts, PASSED, GW_SUB_NONE, "passed", true, false},
    {"expired", c_expired, INDET, GW_SUB_OUT_OF_BOUNDS_NO_POE, "expired", false, false},
    {"expired today, valid at genTime", c_expired_ts_ok, PASSED, GW_SUB_NONE, "passed", true,
     false},
    {"expired before genTime", c_expired_ts_late, INDET, GW_SUB_OUT_OF_BOUNDS_NO_POE, "expired",
     true, false},
    {"expired, invalid ts", c_expired_bad_ts, INDET, GW_SUB_OUT_OF_BOUNDS_NO_POE, "expired", false,
     false},
    {"not yet valid", c_not_yet, INDET, GW_SUB_NOT_YET_VALID, "not_yet_valid", false, false},
    {"not yet valid at genTime", c_not_yet_ts, INDET, GW_SUB_NOT_YET_VALID, "not_yet_valid", true,
     false},
    {"constraints", c_constraints, INDET, GW_SUB_CHAIN_CONSTRAINTS_FAILURE, "chain_constraints",
     false, false},
    {"chain crypto", c_chain_crypto, INDET, GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
     "chain_crypto", false, false},
    {"revocation unavailable", c_unavailable, INDET, GW_SUB_TRY_LATER, "rev_unavailable", false,
     false},
    {"revocation unknown", c_unknown, INDET, GW_SUB_TRY_LATER, "rev_unknown", false, false},
    {"revocation not checked", c_not_checked, INDET, GW_SUB_TRY_LATER, "rev_not_checked", false,
     false},
    {"sha1 no ts", c_weak, INDET, GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE, "weak_digest", false,
     false},
    {"sha1 ts before cutoff", c_weak_ts_old, PASSED, GW_SUB_NONE, "passed", true, true},
    {"sha1 ts after cutoff", c_weak_ts_late, INDET, GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
     "weak_digest", true, false},
    {"sha1 invalid ts", c_weak_bad_ts, INDET, GW_SUB_CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
     "weak_digest", false, false},
    {"sha1 before its cutoff", c_weak_before_cutoff, PASSED, GW_SUB_NONE, "passed", false, true},
    {"valid ts", c_ts_ok, PASSED, GW_SUB_NONE, "passed", true, false},
    {"invalid ts judged without it", c_ts_bad, PASSED, GW_SUB_NONE, "passed", false, false},
};

/* A reason is non-empty, valid UTF-8, NFC and fits its buffer. */
static void check_text(const char *s)
{
    size_t len = strlen(s);
    assert_true(len > 0 && len < GW_VERDICT_REASON_MAX);
    assert_true(gw_utf8_valid(s, len));
    utf8proc_uint8_t *n = utf8proc_NFC((const utf8proc_uint8_t *)s);
    assert_non_null(n);
    assert_string_equal((const char *)n, s);
    free(n);
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gw_verdict_in in = base();
        struct gw_verdict v;
        rows[i].change(&in);
        gw_verdict_decide(&in, &v);
        print_message("%-34s %s/%s %s | %s\n", rows[i].name, gw_sig_indication_name(v.ind),
                      gw_sig_sub_name(v.sub), v.rule, v.reason_vi);
        assert_int_equal(v.ind, rows[i].ind);
        assert_int_equal(v.sub, rows[i].sub);
        assert_string_equal(v.rule, rows[i].rule);
        assert_int_equal(v.time_from_ts, rows[i].from_ts);
        assert_int_equal(v.weak_accepted, rows[i].weak_accepted);
        assert_true(v.validation_time == (rows[i].from_ts ? in.ts_gen_time : in.now));
        check_text(v.reason_vi);
        check_text(v.reason_en);
    }
}

static void test_reason_contents(void **state)
{
    struct gw_verdict_in in = base();
    struct gw_verdict v;
    c_revoked_before_ts(&in);
    in.rev_code = "ocsp";
    gw_verdict_decide(&in, &v);
    /* Vietnam time, whatever TZ says. */
    assert_non_null(strstr(v.reason_en, "2023-01-01T07:00:00+07:00"));
    assert_non_null(strstr(v.reason_vi, "thu hồi"));
    assert_non_null(strstr(v.reason_en, "(ocsp)"));

    in = base();
    c_ts_bad(&in);
    gw_verdict_decide(&in, &v);
    assert_non_null(strstr(v.reason_en, "tst_signature_invalid"));
    assert_non_null(strstr(v.reason_vi, "dấu thời gian không hợp lệ"));

    in = base();
    c_revoked_after_ts(&in);
    gw_verdict_decide(&in, &v);
    assert_non_null(strstr(v.reason_en, "after the timestamp"));

    in = base();
    c_weak_ts_old(&in);
    gw_verdict_decide(&in, &v);
    assert_non_null(strstr(v.reason_en, "SHA-1"));

    in = base();
    c_expired(&in);
    gw_verdict_decide(&in, &v);
    assert_non_null(strstr(v.reason_en, "claimed signing time"));

    /* A block reason in NFD comes out NFC; an endless code is clipped on a boundary. */
    char longcode[900];
    for (size_t i = 0; i + 2 < sizeof(longcode); i += 2)
        memcpy(longcode + i, "\xc3\xa2", 2); /* â */
    longcode[sizeof(longcode) - 2] = '\0';
    in = base();
    in.blocked = true;
    in.block_reason = "kho\xcc\x81"
                      "a bi\xcc\xa3 lo\xcc\x82\xcc\xa3"; /* "khóa bị lộ" in NFD */
    gw_verdict_decide(&in, &v);
    check_text(v.reason_vi);
    assert_non_null(strstr(v.reason_vi, "khóa bị lộ"));
    in.format_ok = false;
    in.format_code = longcode;
    gw_verdict_decide(&in, &v);
    check_text(v.reason_vi);
    check_text(v.reason_en);
}

static void mk(struct gw_verdict *v, enum gw_sig_indication ind, enum gw_sig_sub sub)
{
    memset(v, 0, sizeof(*v));
    v->ind = ind;
    v->sub = sub;
    snprintf(v->reason_vi, sizeof(v->reason_vi), "lý do %d", (int)sub);
    snprintf(v->reason_en, sizeof(v->reason_en), "reason %d", (int)sub);
}

static void test_pdf(void **state)
{
    struct gw_verdict v[3] = {0};
    struct gw_pdf_summary s;
    enum gw_sig_role person_org[] = {GW_ROLE_PERSON, GW_ROLE_ORGANISATION};
    enum gw_sig_role org_person[] = {GW_ROLE_ORGANISATION, GW_ROLE_PERSON};
    enum gw_sig_role org_only[] = {GW_ROLE_ORGANISATION};

    gw_verdict_pdf(v, NULL, 0, false, false, &s);
    assert_int_equal(s.ind, GW_SIG_NO_SIGNATURE);
    check_text(s.reason_vi);

    mk(&v[0], PASSED, GW_SUB_NONE);
    mk(&v[1], PASSED, GW_SUB_NONE);
    gw_verdict_pdf(v, person_org, 2, false, false, &s);
    assert_int_equal(s.ind, PASSED);
    check_text(s.reason_vi);
    check_text(s.reason_en);

    gw_verdict_pdf(v, org_only, 1, false, false, &s); /* seal alone: normal */
    assert_int_equal(s.ind, PASSED);

    gw_verdict_pdf(v, org_person, 2, false, false, &s);
    assert_int_equal(s.ind, INDET);
    assert_int_equal(s.sub, GW_SUB_SIG_CONSTRAINTS_FAILURE);
    assert_non_null(strstr(s.reason_en, "(1) precedes a person's signature (2)"));

    gw_verdict_pdf(v, NULL, 2, false, true, &s); /* flag without roles */
    assert_int_equal(s.sub, GW_SUB_SIG_CONSTRAINTS_FAILURE);

    gw_verdict_pdf(v, person_org, 2, true, false, &s);
    assert_int_equal(s.ind, FAILED);
    assert_int_equal(s.sub, GW_SUB_FORMAT_FAILURE);

    /* One INDETERMINATE signature: the PDF is INDETERMINATE with its sub-indication. */
    mk(&v[1], INDET, GW_SUB_TRY_LATER);
    gw_verdict_pdf(v, person_org, 2, false, false, &s);
    assert_int_equal(s.ind, INDET);
    assert_int_equal(s.sub, GW_SUB_TRY_LATER);
    assert_non_null(strstr(s.reason_en, "Signature 2/2: reason"));
    /* A disallowed change is worse than an INDETERMINATE signature. */
    gw_verdict_pdf(v, person_org, 2, true, false, &s);
    assert_int_equal(s.ind, FAILED);
    assert_int_equal(s.sub, GW_SUB_FORMAT_FAILURE);

    /* TOTAL-FAILED beats INDETERMINATE and the order rule. */
    mk(&v[2], FAILED, GW_SUB_HASH_FAILURE);
    enum gw_sig_role three[] = {GW_ROLE_ORGANISATION, GW_ROLE_PERSON, GW_ROLE_PERSON};
    gw_verdict_pdf(v, three, 3, true, true, &s);
    assert_int_equal(s.ind, FAILED);
    assert_int_equal(s.sub, GW_SUB_HASH_FAILURE);
    assert_non_null(strstr(s.reason_en, "Signature 3/3"));
}

static void test_package(void **state)
{
    struct gw_pdf_summary p[4], s;
    memset(p, 0, sizeof(p));
    gw_verdict_package(NULL, 0, &s);
    assert_int_equal(s.ind, GW_SIG_NO_SIGNATURE);
    check_text(s.reason_vi);

    p[0].ind = GW_SIG_NO_SIGNATURE;
    p[1].ind = GW_SIG_NO_SIGNATURE;
    gw_verdict_package(p, 2, &s);
    assert_int_equal(s.ind, GW_SIG_NO_SIGNATURE);

    p[1].ind = PASSED;
    gw_verdict_package(p, 2, &s); /* an unsigned attachment does not spoil it */
    assert_int_equal(s.ind, PASSED);
    check_text(s.reason_en);

    p[2].ind = INDET;
    p[2].sub = GW_SUB_TRY_LATER;
    strcpy(p[2].reason_en, "try later");
    strcpy(p[2].reason_vi, "thử lại sau");
    gw_verdict_package(p, 3, &s);
    assert_int_equal(s.ind, INDET);
    assert_int_equal(s.sub, GW_SUB_TRY_LATER);
    assert_non_null(strstr(s.reason_en, "Document 3: try later"));

    p[3].ind = FAILED;
    p[3].sub = GW_SUB_REVOKED;
    strcpy(p[3].reason_en, "revoked");
    strcpy(p[3].reason_vi, "thu hồi");
    gw_verdict_package(p, 4, &s);
    assert_int_equal(s.ind, FAILED);
    assert_int_equal(s.sub, GW_SUB_REVOKED);
    check_text(s.reason_vi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_reason_contents),
        cmocka_unit_test(test_pdf),
        cmocka_unit_test(test_package),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
