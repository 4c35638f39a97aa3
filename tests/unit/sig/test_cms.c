/*
 * Unit tests for gateway/sig/cms.c: PDF signatures made by the openssl CLI over the ByteRange
 * pieces of a small PDF-shaped buffer (RSA PKCS#1 v1.5, RSA-PSS, ECDSA; with and without signed
 * attributes; CAdES signingCertificateV2), then every way such a signature must fail: tampered
 * bytes, a modified signature value, a twin certificate, content carried, two signers, no
 * certificates, SHA-1, adbe.pkcs7.sha1, garbage, truncation, padding, concurrent callers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/objects.h>

#include "sig/cms.h"
#include "test_cms_fixture.h"

static struct fx F;

static int setup(void **state)
{
    if (fx_open(&F) != 0 || fx_keys(&F) != 0 || fx_pdf(&F, "adbe.pkcs7.detached", 8192) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    fx_close(&F);
    return 0;
}

static bool has_finding(const struct gw_cms_result *r, const char *code)
{
    for (unsigned i = 0; i < r->n_findings; i++)
        if (strcmp(r->findings[i].code, code) == 0)
            return true;
    return false;
}

/* Verifies der against F's buffer; asserts the status and code, returns with *r filled. */
static void check(const uint8_t *der, size_t len, const char *sf, enum gw_cms_status st,
                  const char *code, struct gw_cms_result *r)
{
    assert_int_equal(gw_cms_verify(F.pdf, F.len, F.br, der, len, sf, r), 0);
    if (r->status != st || (code ? !r->code || strcmp(r->code, code) : r->code != NULL))
        fail_msg("%s: status %d code %s (%s), expected %d %s", sf, r->status,
                 r->code ? r->code : "-", r->detail, st, code ? code : "-");
}

static void expect(const uint8_t *der, size_t len, const char *sf, enum gw_cms_status st,
                   const char *code)
{
    struct gw_cms_result r;

    check(der, len, sf, st, code, &r);
    gw_cms_result_clear(&r);
}

static void test_ok_rsa(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -md sha256");
    struct gw_cms_result r;
    time_t now = time(NULL);
    char cn[64];

    assert_non_null(der);
    fx_place(&F, der, len);
    check(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL, &r);
    assert_int_equal(r.digest_nid, NID_sha256);
    assert_string_equal(r.digest_name, "SHA256");
    assert_true(r.has_signed_attrs);
    assert_true(r.has_signing_time);
    assert_true(r.signing_time > now - 3600 && r.signing_time < now + 3600);
    assert_false(r.signing_cert_attr);
    assert_false(r.weak_digest);
    assert_true(has_finding(&r, "signing_certificate_absent"));
    assert_false(r.ts.present);
    assert_non_null(r.signer);
    assert_int_equal(sk_X509_num(r.certs), 1);
    X509_NAME_get_text_by_NID(X509_get_subject_name(r.signer), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Signer RSA");
    gw_cms_result_clear(&r);
    assert_null(r.signer);
    gw_cms_result_clear(&r); /* twice is harmless */
    expect(der, len, "ETSI.CAdES.detached", GW_CMS_OK, NULL);
    free(der);
}

static void test_ok_cades_ec_pss(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -cades");
    struct gw_cms_result r;

    assert_non_null(der);
    check(der, len, "ETSI.CAdES.detached", GW_CMS_OK, NULL, &r);
    assert_true(r.signing_cert_attr);
    assert_false(has_finding(&r, "signing_certificate_absent"));
    gw_cms_result_clear(&r);
    free(der);

    der = fx_sign(&F, &len, "-signer ec.pem -inkey ec.key -md sha384 -cades");
    assert_non_null(der);
    check(der, len, "ETSI.CAdES.detached", GW_CMS_OK, NULL, &r);
    assert_int_equal(r.digest_nid, NID_sha384);
    assert_non_null(strstr(r.sig_name, "ecdsa"));
    gw_cms_result_clear(&r);
    free(der);

    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -keyopt rsa_padding_mode:pss");
    assert_non_null(der);
    check(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL, &r);
    assert_int_equal(r.sig_nid, NID_rsassaPss);
    gw_cms_result_clear(&r);
    free(der);

    /* PSS and ECDSA without signed attributes: the signature is over the content digest. */
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -keyopt rsa_padding_mode:pss -noattr");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL);
    free(der);
    der = fx_sign(&F, &len, "-signer ec.pem -inkey ec.key -noattr");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL);
    free(der);
}

static void flip(size_t at)
{
    F.pdf[at] ^= 0x01;
}

static void test_tampered(void **state)
{
    size_t len, at1 = 20, at2 = F.br[2] + 3;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key");
    uint8_t *noattr = NULL;
    size_t nlen;

    assert_non_null(der);
    flip(at1);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_HASH, "message_digest_mismatch");
    flip(at1);
    flip(at2);
    expect(der, len, "ETSI.CAdES.detached", GW_CMS_HASH, "message_digest_mismatch");
    flip(at2);
    /* A byte in the hole is not signed: still OK. */
    flip(F.br[1] + 5);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL);
    flip(F.br[1] + 5);
    /* Without signed attributes, a changed document is a signature that does not verify. */
    noattr = fx_sign(&F, &nlen, "-signer rsa.pem -inkey rsa.key -noattr");
    assert_non_null(noattr);
    expect(noattr, nlen, "adbe.pkcs7.detached", GW_CMS_OK, NULL);
    flip(at1);
    expect(noattr, nlen, "adbe.pkcs7.detached", GW_CMS_SIG, "signature_invalid");
    flip(at1);
    free(noattr);
    free(der);
}

/* Re-encodes der with one bit of the SignerInfo's signature value flipped. */
static uint8_t *flip_signature(const uint8_t *der, size_t len, size_t *out_len)
{
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    unsigned char *out = NULL;
    int n;

    assert_non_null(sv);
    sv->data[sv->length / 2] ^= 0x10;
    n = i2d_CMS_ContentInfo(cms, &out);
    CMS_ContentInfo_free(cms);
    assert_true(n > 0);
    *out_len = (size_t)n;
    return out;
}

static void test_bad_signature(void **state)
{
    size_t len, blen;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key"), *bad;

    assert_non_null(der);
    bad = flip_signature(der, len, &blen);
    expect(bad, blen, "adbe.pkcs7.detached", GW_CMS_SIG, "signature_invalid");
    OPENSSL_free(bad);
    free(der);
    der = fx_sign(&F, &len, "-signer ec.pem -inkey ec.key");
    assert_non_null(der);
    bad = flip_signature(der, len, &blen);
    expect(bad, blen, "adbe.pkcs7.detached", GW_CMS_SIG, "signature_invalid");
    OPENSSL_free(bad);
    free(der);
    /* The carried certificate has the signer's issuer and serial but another key. */
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -nocerts -certfile twin.pem");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_SIG, "signature_invalid");
    free(der);
}

static void test_shape(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -nodetach");

    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_has_content");
    expect(der, len, "ETSI.CAdES.detached", GW_CMS_FORMAT, "cms_has_content");
    free(der);
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -signer ec.pem -inkey ec.key");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_signer_count");
    free(der);
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -nocerts");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_NO_SIGNER_CERT, "signer_cert_missing");
    /* An unknown or missing /SubFilter, the document timestamp one included. */
    expect(der, len, "ETSI.RFC3161", GW_CMS_FORMAT, "subfilter_unknown");
    expect(der, len, NULL, GW_CMS_FORMAT, "subfilter_unknown");
    free(der);
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -md md5");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_FORMAT, "algorithm_unsupported");
    free(der);
    assert_int_equal(fx_sh(&F, "openssl cms -data_create -binary -in ranges.bin -outform DER "
                               "-out data.der"),
                     0);
    der = fx_read(&F, "data.der", &len);
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_FORMAT, "not_signed_data");
    free(der);
}

static void test_signing_cert_mismatch(void **state)
{
    size_t len;
    /* Same key, same issuer and serial, another certificate: only the ESS hash tells them apart. */
    uint8_t *der =
        fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -cades -nocerts -certfile twin2.pem");

    assert_non_null(der);
    expect(der, len, "ETSI.CAdES.detached", GW_CMS_NO_SIGNER_CERT, "signing_cert_mismatch");
    free(der);
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -cades -nocerts -certfile twin.pem");
    assert_non_null(der);
    expect(der, len, "ETSI.CAdES.detached", GW_CMS_NO_SIGNER_CERT, "signing_cert_mismatch");
    free(der);
    /* Without the ESS attribute the same-key twin is not detectable here (a finding says so). */
    der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -nocerts -certfile twin2.pem");
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL);
    free(der);
}

static void test_sha1(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -md sha1");
    struct gw_cms_result r;

    assert_non_null(der);
    check(der, len, "adbe.pkcs7.detached", GW_CMS_OK, NULL, &r);
    assert_int_equal(r.digest_nid, NID_sha1);
    assert_true(r.weak_digest);
    assert_true(has_finding(&r, "sha1_digest"));
    gw_cms_result_clear(&r);
    /* Detached DER under adbe.pkcs7.sha1: the content (the document's SHA-1) is required. */
    expect(der, len, "adbe.pkcs7.sha1", GW_CMS_FORMAT, "sha1_content_missing");
    free(der);
}

static void test_pkcs7_sha1(void **state)
{
    size_t len;
    uint8_t *der;
    struct gw_cms_result r;

    assert_int_equal(fx_sh(&F, "openssl dgst -sha1 -binary -out d.bin ranges.bin"), 0);
    assert_int_equal(fx_sh(&F, "rm -f sig.der && openssl cms -sign -binary -nodetach -outform DER "
                               "-in d.bin -out sig.der -signer rsa.pem -inkey rsa.key"),
                     0);
    der = fx_read(&F, "sig.der", &len);
    assert_non_null(der);
    check(der, len, "adbe.pkcs7.sha1", GW_CMS_OK, NULL, &r);
    assert_true(r.weak_digest);
    assert_int_equal(r.digest_nid, NID_sha256); /* the content is hashed again with SHA-256 */
    gw_cms_result_clear(&r);
    expect(der, len, "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_has_content");
    flip(30);
    expect(der, len, "adbe.pkcs7.sha1", GW_CMS_HASH, "sha1_content_mismatch");
    flip(30);
    free(der);
    /* Content that is the SHA-1 of something else. */
    assert_int_equal(fx_sh(&F, "printf other | openssl dgst -sha1 -binary -out d2.bin && "
                               "openssl cms -sign -binary -nodetach -outform DER -in d2.bin "
                               "-out sig2.der -signer rsa.pem -inkey rsa.key -noattr"),
                     0);
    der = fx_read(&F, "sig2.der", &len);
    assert_non_null(der);
    expect(der, len, "adbe.pkcs7.sha1", GW_CMS_HASH, "sha1_content_mismatch");
    free(der);
}

static void test_malformed(void **state)
{
    static const uint8_t garbage[] = "\x30\x82\xff\xff\x06\x09not a cms at all";
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -cades");
    struct gw_cms_result r;
    uint64_t br[4];

    assert_non_null(der);
    expect(garbage, sizeof(garbage), "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_parse");
    expect(garbage, 0, "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_parse");
    expect(NULL, 0, "adbe.pkcs7.detached", GW_CMS_FORMAT, "cms_parse");
    /* Every truncation is refused with a code; none passes. */
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(gw_cms_verify(F.pdf, F.len, F.br, der, n, "ETSI.CAdES.detached", &r), 0);
        assert_int_equal(r.status, GW_CMS_FORMAT);
        assert_non_null(r.code);
        gw_cms_result_clear(&r);
    }
    /* A ByteRange outside the buffer, or overflowing. */
    memcpy(br, F.br, sizeof(br));
    br[3] += 1;
    assert_int_equal(gw_cms_verify(F.pdf, F.len, br, der, len, "adbe.pkcs7.detached", &r), 0);
    assert_string_equal(r.code, "byte_range_invalid");
    gw_cms_result_clear(&r);
    br[2] = UINT64_MAX - 2;
    assert_int_equal(gw_cms_verify(F.pdf, F.len, br, der, len, "adbe.pkcs7.detached", &r), 0);
    assert_string_equal(r.code, "byte_range_invalid");
    gw_cms_result_clear(&r);
    free(der);
}

static void test_padding(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key"), *pad;
    struct gw_cms_result r;

    assert_non_null(der);
    pad = calloc(1, len + 4000);
    assert_non_null(pad);
    memcpy(pad, der, len);
    check(pad, len + 4000, "adbe.pkcs7.detached", GW_CMS_OK, NULL, &r);
    assert_false(has_finding(&r, "trailing_padding"));
    gw_cms_result_clear(&r);
    pad[len + 100] = 'x';
    check(pad, len + 4000, "adbe.pkcs7.detached", GW_CMS_OK, NULL, &r);
    assert_true(has_finding(&r, "trailing_padding"));
    gw_cms_result_clear(&r);
    free(pad);
    free(der);
}

struct job {
    const uint8_t *der;
    size_t len;
    int ok, bad;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    struct gw_cms_result r;

    for (int i = 0; i < 25; i++) {
        if (gw_cms_verify(F.pdf, F.len, F.br, j->der, j->len, "adbe.pkcs7.detached", &r) == 0 &&
            r.status == GW_CMS_OK)
            j->ok++;
        else
            j->bad++;
        gw_cms_result_clear(&r);
    }
    return NULL;
}

static void test_threads(void **state)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer ec.pem -inkey ec.key -cades");
    pthread_t t[4];
    struct job j[4];

    assert_non_null(der);
    for (int i = 0; i < 4; i++) {
        j[i] = (struct job){der, len, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(j[i].ok, 25);
        assert_int_equal(j[i].bad, 0);
    }
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_rsa),    cmocka_unit_test(test_ok_cades_ec_pss),
        cmocka_unit_test(test_tampered),  cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_shape),     cmocka_unit_test(test_signing_cert_mismatch),
        cmocka_unit_test(test_sha1),      cmocka_unit_test(test_pkcs7_sha1),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_padding),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
