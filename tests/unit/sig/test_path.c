/*
 * Unit tests for gateway/sig/path.c and path_check.c: certification paths over a PKI made by the
 * openssl CLI (test_path_pki.sh), each case checked against `openssl verify` as the oracle, plus
 * the AIA retry, a tampered signature, intermediates from the snapshot and four threads
 * verifying over one snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "sig/path.h"
#include "sig/trust.h"
#include "test_path_pki.h"

static struct gw_trust *trust_root; /* root only: intermediates come from the signature */

/* 2020-06-01, 2041-01-01 UTC. */
#define T_2020 ((time_t)1590969600)
#define T_2041 ((time_t)2240611200)
#define T_2021 ((time_t)1609459200) /* expired.pem notAfter */
#define T_2019 ((time_t)1559347200) /* 2019-06-01 */

struct pcase {
    const char *leaf;
    const char *untrusted; /* space-separated names, or "" */
    enum gw_path_purpose purpose;
    time_t at; /* 0: now */
    const char *policy;
    bool no_sha1;
    enum gw_path_status status;
    const char *code;
    int depth;
    const char *oracle; /* openssl verify options besides -attime -CAfile -untrusted */
    bool oracle_ok;     /* what openssl says; equal to status == OK unless the case says why */
};

static const struct pcase cases[] = {
    {"person", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose smimesign", 1},
    {"org", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose smimesign", 1},
    {"tsa", "sub", GW_PATH_TIMESTAMPING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose timestampsign",
     1},
    {"ocsp", "sub", GW_PATH_OCSP, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    {"noku", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose smimesign", 1},
    {"sha1", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    {"expired", "sub", GW_PATH_SIGNING, T_2020, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    {"notyet", "sub", GW_PATH_SIGNING, T_2041, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    {"person", "sub", GW_PATH_SIGNING, 0, "1.3.6.1.4.1.55555.1.1", 0, GW_PATH_OK, "", -1,
     "-purpose any -explicit_policy -policy 1.3.6.1.4.1.55555.1.1", 1},
    /* Lenient signing EKU: document-signing OIDs, clientAuth alone (smimesign would refuse). */
    {"eku_doc", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    {"eku_client", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_OK, "", -1, "-purpose any", 1},
    /* An intermediate that expired in 2020: fails now at depth 1, passes in 2019. */
    {"leaf_subexp", "sub_exp", GW_PATH_SIGNING, T_2019, NULL, 0, GW_PATH_OK, "", -1, "-purpose any",
     1},
    {"leaf_subexp", "sub_exp", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_EXPIRED, "cert_expired", 1,
     "-purpose any", 0},
    /* failures */
    {"expired", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_EXPIRED, "cert_expired", 0,
     "-purpose any", 0},
    {"notyet", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_NOT_YET_VALID, "cert_not_yet_valid", 0,
     "-purpose any", 0},
    {"kenc", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "key_usage", 0,
     "-purpose smimesign", 0},
    {"srvauth", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "eku_signing", 0,
     "-purpose smimesign", 0},
    {"ocsp", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "eku_signing", 0,
     "-purpose smimesign", 0},
    {"person", "sub", GW_PATH_TIMESTAMPING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "eku_timestamping", 0,
     "-purpose timestampsign", 0},
    {"leaf2", "root2", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_NO_CHAIN, "untrusted_root", 1,
     "-purpose any", 0},
    {"root2", "", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_NO_CHAIN, "untrusted_root", 0,
     "-purpose any", 0},
    {"leaf_noca", "subnoca", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "not_a_ca", 1,
     "-purpose any", 0},
    {"leaf_deep", "sub sub2", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CONSTRAINTS, "path_length", 2,
     "-purpose any", 0},
    {"person", "", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_NO_CHAIN, "no_issuer", 0, "-purpose any",
     0},
    {"person", "sub", GW_PATH_SIGNING, 0, "1.2.3.4", 0, GW_PATH_CONSTRAINTS, "policy", 0,
     "-purpose any -explicit_policy -policy 1.2.3.4", 0},
    {"sha1", "sub", GW_PATH_SIGNING, 0, NULL, 1, GW_PATH_CRYPTO, "weak_algorithm", 0,
     "-purpose any -auth_level 1", 0},
    {"weakkey", "sub", GW_PATH_SIGNING, 0, NULL, 0, GW_PATH_CRYPTO, "weak_algorithm", 0,
     "-purpose any -auth_level 1", 0},
    /* Departures from OpenSSL, by choice (docs/internals/path.md): a TSA certificate whose EKU
     * is not critical is accepted with a finding; an OCSP responder must carry OCSPSigning. */
    {"tsa_nc", "sub", GW_PATH_TIMESTAMPING, 0, NULL, 0, GW_PATH_OK, "", -1,
     "-purpose timestampsign", 0},
    {"person", "sub", GW_PATH_OCSP, 0, NULL, 0, GW_PATH_CONSTRAINTS, "eku_ocsp", 0, "-purpose any",
     1},
};

static STACK_OF(X509) * load_list(const char *names)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    char buf[128];
    snprintf(buf, sizeof buf, "%s", names);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        X509 *x = pki_cert(t);
        assert_non_null(x);
        sk_X509_push(sk, x);
    }
    return sk;
}

static bool oracle(const struct pcase *c, time_t at)
{
    char untrusted[256] = "";
    char buf[128];
    snprintf(buf, sizeof buf, "%s", c->untrusted);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        size_t n = strlen(untrusted);
        snprintf(untrusted + n, sizeof untrusted - n, " -untrusted '%s/%s.pem'", pki_dir, t);
    }
    return pki_sh("openssl verify -attime %lld -CAfile '%s/root.pem'%s %s '%s/%s.pem' "
                  ">/dev/null 2>&1",
                  (long long)at, pki_dir, untrusted, c->oracle, pki_dir, c->leaf) == 0;
}

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pcase *c = &cases[i];
        time_t at = c->at ? c->at : time(NULL);
        X509 *leaf = pki_cert(c->leaf);
        STACK_OF(X509) *un = load_list(c->untrusted);
        struct gw_path_opts o = GW_PATH_OPTS_DEFAULT;
        const char *pol[1] = {c->policy};
        if (c->policy) {
            o.policy_oids = pol;
            o.n_policy_oids = 1;
        }
        o.allow_sha1_certs = !c->no_sha1;
        struct gw_path_result r;
        assert_non_null(leaf);
        assert_int_equal(gw_path_build(trust_root, leaf, un, at, c->purpose, &o, &r), 0);
        if (r.status != c->status || strcmp(r.code, c->code) != 0 || r.failed_depth != c->depth)
            fail_msg("case %zu (%s): got %s/%s depth %d (%s), want %s/%s depth %d", i, c->leaf,
                     gw_path_status_name(r.status), r.code, r.failed_depth, r.detail,
                     gw_path_status_name(c->status), c->code, c->depth);
        bool o_ok = oracle(c, at);
        if (o_ok != c->oracle_ok)
            fail_msg("case %zu (%s): openssl verify %s says %s", i, c->leaf, c->oracle,
                     o_ok ? "OK" : "failure");
        assert_non_null(r.chain);
        assert_true(sk_X509_num(r.chain) >= 1);
        assert_ptr_equal(sk_X509_value(r.chain, 0), leaf); /* up-ref'd, the same object */
        gw_path_result_clear(&r);
        assert_null(r.chain);
        sk_X509_pop_free(un, X509_free);
        X509_free(leaf);
    }
}

/* Expired and not yet valid come back with the whole chain and its validity bounds. */
static void test_expired_bounds(void **state)
{
    X509 *leaf = pki_cert("expired");
    STACK_OF(X509) *un = load_list("sub");
    struct gw_path_result r;
    assert_int_equal(gw_path_build(trust_root, leaf, un, time(NULL), GW_PATH_SIGNING, NULL, &r), 0);
    assert_int_equal(r.status, GW_PATH_EXPIRED);
    assert_int_equal(sk_X509_num(r.chain), 3);
    assert_int_equal(r.not_after, T_2021);
    assert_int_equal(r.not_before, (time_t)1546300800); /* 2019-01-01, the leaf's */
    assert_non_null(strstr(r.detail, "Trần Thị Hết Hạn"));
    gw_path_result_clear(&r);

    /* The same certificate at a time inside its validity passes: that is what `at` is for. */
    assert_int_equal(gw_path_build(trust_root, leaf, un, T_2020, GW_PATH_SIGNING, NULL, &r), 0);
    assert_int_equal(r.status, GW_PATH_OK);
    assert_true(r.not_before <= T_2020 && T_2020 <= r.not_after);
    gw_path_result_clear(&r);
    sk_X509_pop_free(un, X509_free);
    X509_free(leaf);
}

/* The missing intermediate: NO_CHAIN with the leaf's caIssuers URL, then OK once supplied. */
static void test_aia_retry(void **state)
{
    X509 *leaf = pki_cert("person");
    struct gw_path_result r;
    assert_int_equal(gw_path_build(trust_root, leaf, NULL, time(NULL), GW_PATH_SIGNING, NULL, &r),
                     0);
    assert_int_equal(r.status, GW_PATH_NO_CHAIN);
    assert_string_equal(r.aia_url, "http://ca.test/sub.crt");
    gw_path_result_clear(&r);
    STACK_OF(X509) *un = load_list("sub");
    assert_int_equal(gw_path_build(trust_root, leaf, un, time(NULL), GW_PATH_SIGNING, NULL, &r), 0);
    assert_int_equal(r.status, GW_PATH_OK);
    assert_string_equal(r.aia_url, "");
    assert_int_equal(sk_X509_num(r.chain), 3);
    char *root_cn = NULL;
    struct gw_cert_info ci;
    assert_int_equal(gw_cert_info_get(sk_X509_value(r.chain, 2), &ci), 0);
    root_cn = ci.cn;
    assert_string_equal(root_cn, "Cơ quan chứng thực số chuyên dùng Chính phủ");
    gw_cert_info_clear(&ci);
    gw_path_result_clear(&r);
    sk_X509_pop_free(un, X509_free);
    X509_free(leaf);

    /* A leaf without AIA gives no URL. */
    leaf = pki_cert("org");
    assert_int_equal(gw_path_build(trust_root, leaf, NULL, time(NULL), GW_PATH_SIGNING, NULL, &r),
                     0);
    assert_int_equal(r.status, GW_PATH_NO_CHAIN);
    assert_string_equal(r.aia_url, "");
    gw_path_result_clear(&r);
    X509_free(leaf);
}

static void test_findings(void **state)
{
    struct {
        const char *leaf;
        enum gw_path_purpose p;
        unsigned want;
    } f[] = {
        {"tsa", GW_PATH_TIMESTAMPING, 0},
        {"tsa_nc", GW_PATH_TIMESTAMPING, GW_PATH_FIND_TSA_EKU_NONCRIT},
        {"noku", GW_PATH_SIGNING, GW_PATH_FIND_NO_KEY_USAGE},
        {"sha1", GW_PATH_SIGNING, GW_PATH_FIND_SHA1_CERT},
        {"person", GW_PATH_SIGNING, 0},
    };
    STACK_OF(X509) *un = load_list("sub");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        X509 *leaf = pki_cert(f[i].leaf);
        struct gw_path_result r;
        assert_int_equal(gw_path_build(trust_root, leaf, un, time(NULL), f[i].p, NULL, &r), 0);
        assert_int_equal(r.status, GW_PATH_OK);
        assert_int_equal(r.findings, f[i].want);
        gw_path_result_clear(&r);
        X509_free(leaf);
    }
    char buf[96];
    assert_string_equal(gw_path_findings_str(GW_PATH_FIND_TSA_EKU_NONCRIT | GW_PATH_FIND_SHA1_CERT,
                                             buf, sizeof buf),
                        "tsa_eku_not_critical sha1_cert");
    sk_X509_pop_free(un, X509_free);
}

/* One byte of the leaf's signature changed: the chain is found, its signature does not verify. */
static void test_bad_signature(void **state)
{
    X509 *leaf = pki_cert("person");
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    assert_true(len > 100);
    der[len - 5] ^= 0x55;
    X509 *bad = gw_cert_from_der(der, (size_t)len);
    assert_non_null(bad);
    char path[256];
    snprintf(path, sizeof path, "%s/tampered.der", pki_dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(der, 1, (size_t)len, fp);
    fclose(fp);
    STACK_OF(X509) *un = load_list("sub");
    struct gw_path_result r;
    assert_int_equal(gw_path_build(trust_root, bad, un, time(NULL), GW_PATH_SIGNING, NULL, &r), 0);
    assert_int_equal(r.status, GW_PATH_CRYPTO);
    assert_string_equal(r.code, "bad_cert_signature");
    assert_int_equal(r.failed_depth, 0);
    gw_path_result_clear(&r);
    assert_int_not_equal(pki_sh("openssl verify -CAfile '%s/root.pem' -untrusted '%s/sub.pem' "
                                "'%s' >/dev/null 2>&1",
                                pki_dir, pki_dir, path),
                         0);
    /* Trailing bytes after the DER are refused by gw_cert_from_der. */
    assert_null(gw_cert_from_der(der, (size_t)len - 1));
    OPENSSL_free(der);
    sk_X509_pop_free(un, X509_free);
    X509_free(bad);
    X509_free(leaf);
}

/* Intermediates of the snapshot complete a path that the signature left short. */
static void test_snapshot_intermediates(void **state)
{
    char err[256];
    struct gw_trust *t = NULL;
    char dir[128];
    pki_trust_dir("trust_full", "root.pem sub.der:sub.der");
    snprintf(dir, sizeof dir, "%s/trust_full", pki_dir);
    assert_int_equal(gw_trust_load(dir, &t, err, sizeof err), 0);
    X509 *leaf = pki_cert("person");
    struct gw_path_result r;
    assert_int_equal(gw_path_build(t, leaf, NULL, time(NULL), GW_PATH_SIGNING, NULL, &r), 0);
    assert_int_equal(r.status, GW_PATH_OK);
    assert_int_equal(sk_X509_num(r.chain), 3);
    gw_path_result_clear(&r);
    gw_trust_unref(t);
    X509_free(leaf);
}

struct worker {
    struct gw_trust *t; /* the thread's own reference */
    X509 *ok_leaf, *expired_leaf;
    STACK_OF(X509) * un;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 200; i++) {
        struct gw_path_result r;
        X509 *leaf = i % 2 ? w->expired_leaf : w->ok_leaf;
        enum gw_path_status want = i % 2 ? GW_PATH_EXPIRED : GW_PATH_OK;
        if (gw_path_build(w->t, leaf, w->un, time(NULL), GW_PATH_SIGNING, NULL, &r) != 0 ||
            r.status != want || sk_X509_num(r.chain) != 3)
            w->failures++;
        gw_path_result_clear(&r);
    }
    gw_trust_unref(w->t);
    return NULL;
}

static void test_concurrent(void **state)
{
    char err[256], dir[128];
    struct gw_trust *t = NULL;
    pki_trust_dir("trust_mt", "root.pem sub.pem");
    snprintf(dir, sizeof dir, "%s/trust_mt", pki_dir);
    assert_int_equal(gw_trust_load(dir, &t, err, sizeof err), 0);
    X509 *ok_leaf = pki_cert("person"), *expired_leaf = pki_cert("expired");
    STACK_OF(X509) *un = load_list(""); /* shared, read-only */
    struct worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){gw_trust_ref(t), ok_leaf, expired_leaf, un, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    gw_trust_unref(t); /* the workers' references keep the snapshot alive */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    sk_X509_free(un);
    X509_free(ok_leaf);
    X509_free(expired_leaf);
}

static void test_bad_args(void **state)
{
    struct gw_path_result r;
    assert_int_equal(gw_path_build(trust_root, NULL, NULL, 0, GW_PATH_SIGNING, NULL, &r),
                     GW_EINVAL);
    assert_int_equal(r.status, GW_PATH_NO_CHAIN);
    gw_path_result_clear(&r);
    gw_path_result_clear(NULL);
    assert_string_equal(gw_path_status_name(GW_PATH_CONSTRAINTS), "constraints");
}

static int setup(void **state)
{
    char err[256], dir[128];
    if (pki_make() != 0) {
        fprintf(stderr, "PKI generation failed, see %s/make.log\n", pki_dir);
        return -1;
    }
    pki_trust_dir("trust_root", "root.pem");
    snprintf(dir, sizeof dir, "%s/trust_root", pki_dir);
    if (gw_trust_load(dir, &trust_root, err, sizeof err) != 0) {
        fprintf(stderr, "trust load: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    gw_trust_unref(trust_root);
    pki_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),         cmocka_unit_test(test_expired_bounds),
        cmocka_unit_test(test_aia_retry),     cmocka_unit_test(test_findings),
        cmocka_unit_test(test_bad_signature), cmocka_unit_test(test_snapshot_intermediates),
        cmocka_unit_test(test_concurrent),    cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
