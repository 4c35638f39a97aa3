/*
 * Unit tests for gateway/sig/ocsp.c against responses made by `openssl ocsp` (an independent
 * responder) over a test PKI: good, revoked with its time and reason, unknown, the nonce (sent,
 * wrong, missing), signers that are not authorised, stale and future responses, garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "sig/ocsp.h"
#include "util/error.h"
#include "test_ocsp_pki.h"

static X509 *g_ca, *g_good, *g_revoked, *g_unknown, *g_rsp;

/* A request for NAME made by the module (nonce out), answered by openssl as SIGNER with EXTRA
 * arguments; the response in *len bytes. */
static uint8_t *answer(X509 *cert, const char *name, uint8_t nonce[16], const char *signer,
                       const char *extra, size_t *len)
{
    uint8_t *req = NULL;
    size_t rlen = 0;
    char url[256], f[64];

    assert_int_equal(gw_ocsp_request_new(cert, g_ca, nonce, &req, &rlen, url, sizeof(url)), 0);
    snprintf(f, sizeof(f), "%s.req", name);
    assert_int_equal(pki_write(f, req, rlen), 0);
    free(req);
    assert_int_equal(pki_sh("openssl ocsp -index index.txt -CA ca.pem -rsigner %s.pem -rkey %s.key"
                            " -reqin %s.req -respout %s.resp %s",
                            signer, signer, name, name, extra ? extra : "-nmin 60"),
                     0);
    snprintf(f, sizeof(f), "%s.resp", name);
    return pki_file(f, len);
}

static void expect(const uint8_t *der, size_t len, X509 *cert, const uint8_t *nonce, time_t now,
                   enum gw_rev_state st, const char *code)
{
    struct gw_rev_status s;
    assert_int_equal(gw_ocsp_response_check(der, len, cert, g_ca, nonce, now, &s), 0);
    if (s.state != st || strcmp(s.code, code) != 0)
        fail_msg("want %s/%s, got %s/%s (%s)", gw_rev_state_name(st), code,
                 gw_rev_state_name(s.state), s.code, s.detail);
    assert_string_equal(s.source, "ocsp");
}

static void test_request(void **state)
{
    uint8_t nonce[16], *req = NULL;
    size_t len = 0;
    char url[256];
    struct gw_ocsp_certid id;

    assert_int_equal(gw_ocsp_request_new(g_good, g_ca, nonce, &req, &len, url, sizeof(url)), 0);
    assert_string_equal(url, "http://127.0.0.1:9/ocsp");
    assert_int_equal(pki_write("req.der", req, len), 0);
    free(req);
    /* openssl reads it back: the serial of good.pem and a nonce. */
    assert_int_equal(
        pki_sh("openssl ocsp -reqin req.der -req_text | grep -q 'Serial Number: 1000'"), 0);
    assert_int_equal(pki_sh("openssl ocsp -reqin req.der -req_text | grep -q 'OCSP Nonce'"), 0);
    assert_int_equal(gw_ocsp_certid(g_good, g_ca, &id), 0);
    assert_string_equal(id.serial, "1000");
    /* No AIA: the URL is empty. */
    X509 *noaia = pki_cert("noaia");
    assert_non_null(noaia);
    assert_int_equal(gw_ocsp_request_new(noaia, g_ca, nonce, &req, &len, url, sizeof(url)), 0);
    assert_string_equal(url, "");
    free(req);
    assert_int_equal(gw_ocsp_request_new(g_good, g_ca, nonce, &req, &len, url, 5), GW_ERANGE);
    X509_free(noaia);
}

static void test_good_revoked_unknown(void **state)
{
    uint8_t nonce[16];
    size_t len;
    time_t now = time(NULL);
    struct gw_rev_status s;
    uint8_t *r = answer(g_good, "good", nonce, "rsp", NULL, &len);

    assert_non_null(r);
    assert_int_equal(gw_ocsp_response_check(r, len, g_good, g_ca, nonce, now, &s), 0);
    assert_int_equal(s.state, GW_REV_GOOD);
    assert_null(s.finding);
    assert_true(s.next_update > now + 3000 && s.next_update <= now + 3700);
    assert_true(s.this_update <= now + 5 && s.this_update > now - 300);
    /* The same response from the cache (no nonce to compare). */
    expect(r, len, g_good, NULL, now, GW_REV_GOOD, "good");
    /* ... but past nextUpdate it is no answer. */
    expect(r, len, g_good, NULL, now + 7200, GW_REV_UNAVAILABLE, "ocsp_expired");
    /* Another certificate's CertID is not in it. */
    expect(r, len, g_revoked, nonce, now, GW_REV_UNAVAILABLE, "ocsp_no_single_response");
    free(r);

    r = answer(g_revoked, "revoked", nonce, "rsp", NULL, &len);
    assert_non_null(r);
    assert_int_equal(gw_ocsp_response_check(r, len, g_revoked, g_ca, nonce, now, &s), 0);
    assert_int_equal(s.state, GW_REV_REVOKED);
    assert_int_equal(s.reason, 1); /* keyCompromise */
    if (system("command -v faketime >/dev/null") == 0)
        assert_true(labs((long)(s.revoked_at - (now - 3 * 86400))) < 600);
    free(r);

    r = answer(g_unknown, "unknown", nonce, "rsp", NULL, &len);
    assert_non_null(r);
    expect(r, len, g_unknown, nonce, now, GW_REV_UNKNOWN, "unknown");
    free(r);

    /* Signed by the issuer itself. */
    r = answer(g_good, "byca", nonce, "ca", NULL, &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_GOOD, "good");
    free(r);
}

static void test_nonce(void **state)
{
    uint8_t mine[16], theirs[16];
    size_t len;
    time_t now = time(NULL);
    struct gw_rev_status s;
    uint8_t *r;

    /* A request with openssl's own nonce: our nonce does not match. */
    assert_int_equal(
        pki_sh("openssl ocsp -issuer ca.pem -cert good.pem -reqout other.req && "
               "openssl ocsp -index index.txt -CA ca.pem -rsigner rsp.pem -rkey rsp.key"
               " -reqin other.req -respout other.resp -nmin 60"),
        0);
    r = pki_file("other.resp", &len);
    assert_non_null(r);
    memset(mine, 0x5a, sizeof(mine));
    expect(r, len, g_good, mine, now, GW_REV_UNAVAILABLE, "ocsp_nonce_mismatch");
    free(r);

    /* No nonce in the answer: accepted with a finding while thisUpdate is recent. */
    assert_int_equal(pki_sh("openssl ocsp -issuer ca.pem -cert good.pem -no_nonce -reqout nn.req &&"
                            " openssl ocsp -index index.txt -CA ca.pem -rsigner rsp.pem"
                            " -rkey rsp.key -reqin nn.req -respout nn.resp -nmin 600"),
                     0);
    r = pki_file("nn.resp", &len);
    assert_non_null(r);
    assert_int_equal(gw_ocsp_response_check(r, len, g_good, g_ca, mine, now, &s), 0);
    assert_int_equal(s.state, GW_REV_GOOD);
    assert_non_null(s.finding);
    assert_string_equal(s.finding, "ocsp_no_nonce");
    expect(r, len, g_good, mine, now + 2 * 3600, GW_REV_UNAVAILABLE, "ocsp_no_nonce_stale");
    free(r);
    (void)theirs;
}

static void test_signers(void **state)
{
    uint8_t nonce[16];
    size_t len;
    time_t now = time(NULL);
    uint8_t *r;

    /* Certified by the CA but without OCSPSigning. */
    r = answer(g_good, "norsp", nonce, "norsp", NULL, &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_signer_unauthorised");
    free(r);
    /* Self-signed with the CA's name and OCSPSigning: its key is not the CA's. */
    r = answer(g_good, "rogue", nonce, "rogue", NULL, &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_bad_signature");
    free(r);
    /* Same, identified by key hash: the signer found is the rogue, not certified by the CA. */
    r = answer(g_good, "rogue2", nonce, "rogue", "-nmin 60 -resp_key_id", &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_signer_unauthorised");
    free(r);
    /* A proper responder, but checked against another issuer. */
    r = answer(g_good, "good2", nonce, "rsp", NULL, &len);
    assert_non_null(r);
    struct gw_rev_status s;
    assert_int_equal(gw_ocsp_response_check(r, len, g_good, g_rsp, nonce, now, &s), 0);
    assert_int_equal(s.state, GW_REV_UNAVAILABLE);
    free(r);
}

static void test_times(void **state)
{
    uint8_t nonce[16];
    size_t len;
    time_t now = time(NULL);
    uint8_t *r;

    if (system("command -v faketime >/dev/null") != 0)
        skip();
    /* thisUpdate a day ahead. */
    r = answer(g_good, "future", nonce, "rsp", "-nmin 60 ; true", &len);
    free(r);
    assert_int_equal(pki_sh("faketime -f +1d openssl ocsp -index index.txt -CA ca.pem -rsigner"
                            " rsp.pem -rkey rsp.key -reqin future.req -respout future.resp"
                            " -nmin 60"),
                     0);
    r = pki_file("future.resp", &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_not_yet_valid");
    free(r);
    /* No nextUpdate: valid an hour after thisUpdate. */
    r = answer(g_good, "nonext", nonce, "rsp", " ", &len);
    assert_non_null(r);
    expect(r, len, g_good, nonce, now, GW_REV_GOOD, "good");
    expect(r, len, g_good, NULL, now + GW_OCSP_NO_NEXT_S + 60, GW_REV_UNAVAILABLE, "ocsp_expired");
    free(r);
}

static void test_garbage(void **state)
{
    uint8_t nonce[16];
    size_t len;
    time_t now = time(NULL);
    uint8_t *r = answer(g_good, "g", nonce, "rsp", NULL, &len);
    static const uint8_t trylater[] = {0x30, 0x03, 0x0a, 0x01, 0x03};
    static const uint8_t junk[] = "not DER at all";
    struct gw_rev_status s;

    assert_non_null(r);
    expect(trylater, sizeof(trylater), g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_try_later");
    expect(junk, sizeof(junk), g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_malformed");
    expect(junk, 0, g_good, nonce, now, GW_REV_UNAVAILABLE, "ocsp_malformed");
    /* Every prefix and every single-byte change: never a usable answer except the original,
     * never a crash. */
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(gw_ocsp_response_check(r, n, g_good, g_ca, nonce, now, &s), 0);
        assert_int_equal(s.state, GW_REV_UNAVAILABLE);
    }
    for (size_t i = 0; i < len; i++) {
        r[i] ^= 0x01;
        assert_int_equal(gw_ocsp_response_check(r, len, g_good, g_ca, nonce, now, &s), 0);
        assert_non_null(s.code);
        r[i] ^= 0x01;
    }
    expect(r, len, g_good, nonce, now, GW_REV_GOOD, "good");
    assert_int_equal(gw_ocsp_response_check(r, len, NULL, g_ca, nonce, now, &s), GW_EINVAL);
    free(r);
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
    g_unknown = pki_cert("unknown");
    g_rsp = pki_cert("rsp");
    return g_ca && g_good && g_revoked && g_unknown && g_rsp ? 0 : -1;
}

static int teardown(void **state)
{
    X509_free(g_ca);
    X509_free(g_good);
    X509_free(g_revoked);
    X509_free(g_unknown);
    X509_free(g_rsp);
    pki_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request), cmocka_unit_test(test_good_revoked_unknown),
        cmocka_unit_test(test_nonce),   cmocka_unit_test(test_signers),
        cmocka_unit_test(test_times),   cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
