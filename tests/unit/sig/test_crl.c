/*
 * Unit tests for gateway/sig/crl.c against CRLs made by `openssl ca -gencrl` over a test PKI:
 * fresh (good, revoked with time and reason), stale, signed by another key with the CA's name,
 * checked against the wrong issuer, DER and PEM, the distribution point URL, garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "sig/crl.h"
#include "util/error.h"
#include "test_ocsp_pki.h"

static X509 *g_ca, *g_good, *g_revoked, *g_rsp;

static void expect(const char *file, X509 *cert, X509 *issuer, time_t now, enum gw_rev_state st,
                   const char *code)
{
    struct gw_rev_status s;
    size_t len;
    uint8_t *der = pki_file(file, &len);

    assert_non_null(der);
    assert_int_equal(gw_crl_check(der, len, cert, issuer, now, &s), 0);
    if (s.state != st || strcmp(s.code, code) != 0)
        fail_msg("%s: want %s/%s, got %s/%s (%s)", file, gw_rev_state_name(st), code,
                 gw_rev_state_name(s.state), s.code, s.detail);
    assert_string_equal(s.source, "crl");
    free(der);
}

static void test_fresh(void **state)
{
    time_t now = time(NULL);
    struct gw_rev_status s;
    size_t len;
    uint8_t *der;

    expect("crl/ca.crl", g_good, g_ca, now, GW_REV_GOOD, "good");
    expect("crl/ca.crl.pem", g_good, g_ca, now, GW_REV_GOOD, "good");
    expect("crl/ca.crl", g_revoked, g_ca, now, GW_REV_REVOKED, "revoked");
    der = pki_file("crl/ca.crl.pem", &len);
    assert_non_null(der);
    assert_int_equal(gw_crl_check(der, len, g_revoked, g_ca, now, &s), 0);
    assert_int_equal(s.reason, 1);
    if (system("command -v faketime >/dev/null") == 0)
        assert_true(labs((long)(s.revoked_at - (now - 3 * 86400))) < 600);
    assert_true(s.next_update > now + 86000 && s.next_update < now + 86500);
    free(der);
    /* A day later the same CRL is stale. */
    expect("crl/ca.crl", g_good, g_ca, now + 2 * 86400, GW_REV_UNAVAILABLE, "crl_stale");
}

static void test_bad(void **state)
{
    time_t now = time(NULL);

    expect("crl/stale.crl", g_good, g_ca, now, GW_REV_UNAVAILABLE, "crl_stale");
    expect("crl/stale.crl", g_revoked, g_ca, now, GW_REV_UNAVAILABLE, "crl_stale");
    expect("crl/rogue.crl", g_revoked, g_ca, now, GW_REV_UNAVAILABLE, "crl_bad_signature");
    expect("crl/ca.crl", g_good, g_rsp, now, GW_REV_UNAVAILABLE, "crl_wrong_issuer");
    expect("crl/ca.crl", g_good, g_ca, now - 86400, GW_REV_UNAVAILABLE, "crl_not_yet_valid");
    /* A certificate of another issuer checked against the CA's CRL. */
    expect("crl/ca.crl", g_rsp, g_ca, now, GW_REV_GOOD, "good"); /* rsp is the CA's too */
    X509 *rogue = pki_cert("rogue");
    assert_non_null(rogue);
    expect("crl/ca.crl", rogue, g_ca, now, GW_REV_UNAVAILABLE, "crl_cert_issuer_mismatch");
    X509_free(rogue);
}

static void test_garbage(void **state)
{
    time_t now = time(NULL);
    struct gw_rev_status s;
    size_t len;
    uint8_t *der = pki_file("crl/ca.crl", &len);

    assert_non_null(der);
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(gw_crl_check(der, n, g_good, g_ca, now, &s), 0);
        assert_int_equal(s.state, GW_REV_UNAVAILABLE);
    }
    for (size_t i = 0; i < len; i++) {
        der[i] ^= 0x80;
        assert_int_equal(gw_crl_check(der, len, g_revoked, g_ca, now, &s), 0);
        /* Whatever changed, the revoked certificate never reads as good. */
        assert_int_not_equal(s.state, GW_REV_GOOD);
        der[i] ^= 0x80;
    }
    assert_int_equal(
        gw_crl_check((const uint8_t *)"-----BEGIN X509 CRL-----\nzz", 27, g_good, g_ca, now, &s),
        0);
    assert_string_equal(s.code, "crl_malformed");
    assert_int_equal(gw_crl_check(der, len, g_good, NULL, now, &s), GW_EINVAL);
    free(der);
}

static void test_info_url(void **state)
{
    size_t len;
    uint8_t *der = pki_file("crl/ca.crl", &len);
    time_t tu = 0, nu = 0;
    char issuer[256], url[256];

    assert_non_null(der);
    assert_int_equal(gw_crl_info(der, len, &tu, &nu, issuer, sizeof(issuer)), 0);
    assert_true(nu - tu == 86400);
    assert_non_null(strstr(issuer, "Test Root CA"));
    assert_int_equal(gw_crl_info(der, 3, &tu, &nu, issuer, sizeof(issuer)), GW_EPARSE);
    free(der);
    assert_int_equal(gw_crl_url(g_good, url, sizeof(url)), 0);
    assert_string_equal(url, "http://127.0.0.1:9/crl/ca.crl");
    assert_int_equal(gw_crl_url(g_ca, url, sizeof(url)), 0);
    assert_string_equal(url, "");
    assert_int_equal(gw_crl_url(g_good, url, 8), GW_ERANGE);
}

static int setup(void **state)
{
    int rc = pki_make("http://127.0.0.1:9");
    if (rc == 77) {
        fprintf(stderr, "no python3/openssl: skipping\n");
        exit(77);
    }
    if (rc != 0)
        return -1;
    g_ca = pki_cert("ca");
    g_good = pki_cert("good");
    g_revoked = pki_cert("revoked");
    g_rsp = pki_cert("rsp");
    return g_ca && g_good && g_revoked && g_rsp ? 0 : -1;
}

static int teardown(void **state)
{
    X509_free(g_ca);
    X509_free(g_good);
    X509_free(g_revoked);
    X509_free(g_rsp);
    pki_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_info_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
