/*
 * Unit tests for gateway/sig/tst.c and the timestamp side of sig/cms: tokens made by
 * `openssl ts -reply` (the oracle, also for genTime, serial and policy), embedded as the
 * signatureTimeStampToken of a CLI-made CMS or used as an ETSI.RFC3161 document timestamp; a
 * token dated in the past with faketime; tokens over other data, without the TSA certificate,
 * with a broken TSA signature, whole responses (granted and rejected), garbage and truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include <openssl/cms.h>
#include <openssl/objects.h>

#include "sig/cms.h"
#include "sig/tst.h"
#include "test_cms_fixture.h"

static struct fx F;

static int setup(void **state)
{
    if (fx_open(&F) != 0 || fx_keys(&F) != 0 || fx_pdf(&F, "ETSI.CAdES.detached", 12000) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    fx_close(&F);
    return 0;
}

/* `openssl ts` query over file `data` and a token (-token_out) or response into `out`. */
static uint8_t *make_token(const char *data, const char *query_opts, const char *reply_prefix,
                           bool token, const char *out, size_t *len)
{
    if (fx_sh(&F,
              "rm -f %s && openssl ts -query -data %s %s -out q.tsq && %s openssl ts -reply "
              "-config tsa.cnf -queryfile q.tsq -inkey tsa.key -signer tsa.pem %s -out %s",
              out, data, query_opts, reply_prefix, token ? "-token_out" : "", out) != 0)
        return NULL;
    return fx_read(&F, out, len);
}

/* genTime of a token as `openssl ts -reply -text` prints it ("Time stamp: Mar  4 05:06:07 ..."). */
static time_t oracle_time(const char *tok)
{
    size_t len;
    char *txt, *at;
    struct tm tm = {0};

    if (fx_sh(&F, "openssl ts -reply -in %s -token_in -text -out tok.txt", tok) != 0)
        return (time_t)-1;
    txt = (char *)fx_read(&F, "tok.txt", &len);
    at = txt ? strstr(txt, "Time stamp: ") : NULL;
    if (!at || !strptime(at + 12, "%b %d %H:%M:%S %Y", &tm)) {
        free(txt);
        return (time_t)-1;
    }
    free(txt);
    return timegm(&tm);
}

static unsigned long oracle_serial(const char *tok)
{
    size_t len;
    char *txt, *at;
    unsigned long v = 0;

    if (fx_sh(&F, "openssl ts -reply -in %s -token_in -text -out tok.txt", tok) != 0)
        return 0;
    txt = (char *)fx_read(&F, "tok.txt", &len);
    at = txt ? strstr(txt, "Serial number: 0x") : NULL;
    if (at)
        v = strtoul(at + 17, NULL, 16);
    free(txt);
    return v;
}

/* The CMS signed by the CLI, its signature value written to sig.bin for the TSA query. */
static CMS_ContentInfo *signed_cms(void)
{
    size_t len;
    uint8_t *der = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key -cades");
    const unsigned char *p = der;
    CMS_ContentInfo *cms = der ? d2i_CMS_ContentInfo(NULL, &p, (long)len) : NULL;
    CMS_SignerInfo *si;
    ASN1_OCTET_STRING *sv;

    free(der);
    assert_non_null(cms);
    si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    sv = CMS_SignerInfo_get0_signature(si);
    assert_int_equal(fx_write(&F, "sig.bin", sv->data, (size_t)sv->length), 0);
    return cms;
}

/* The CMS with tok added as signatureTimeStampToken, re-encoded. */
static uint8_t *embed(CMS_ContentInfo *cms, const uint8_t *tok, size_t tok_len, size_t *len)
{
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    unsigned char *out = NULL;
    int n;

    assert_int_equal(CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
                                                   V_ASN1_SEQUENCE, tok, (int)tok_len),
                     1);
    n = i2d_CMS_ContentInfo(cms, &out);
    assert_true(n > 0);
    *len = (size_t)n;
    return out;
}

static void test_embedded(void **state)
{
    CMS_ContentInfo *cms = signed_cms();
    size_t tlen, len;
    uint8_t *tok = make_token("sig.bin", "-sha256 -cert", "", true, "tok.der", &tlen), *der;
    struct gw_cms_result r;
    char cn[64];

    assert_non_null(tok);
    der = embed(cms, tok, tlen, &len);
    assert_int_equal(gw_cms_verify(F.pdf, F.len, F.br, der, len, "ETSI.CAdES.detached", &r), 0);
    assert_int_equal(r.status, GW_CMS_OK);
    assert_true(r.ts.present);
    if (!r.ts.valid)
        fail_msg("timestamp: %s %s", r.ts.code, r.ts.detail);
    assert_null(r.ts.code);
    assert_int_equal(r.ts.gen_time, oracle_time("tok.der"));
    assert_int_equal(strtoul(r.ts.serial_hex, NULL, 16), oracle_serial("tok.der"));
    assert_string_equal(r.ts.policy_oid, "1.2.3.4.1");
    assert_int_equal(r.ts.imprint_nid, NID_sha256);
    assert_non_null(r.ts.tsa);
    assert_int_equal(sk_X509_num(r.ts.tsa_certs), 1);
    X509_NAME_get_text_by_NID(X509_get_subject_name(r.ts.tsa), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Test TSA");
    gw_cms_result_clear(&r);

    /* Standalone, over the signature value, and over anything else. */
    uint8_t *sig;
    size_t slen;
    struct gw_tst_result t;
    sig = fx_read(&F, "sig.bin", &slen);
    assert_int_equal(gw_tst_verify(tok, tlen, sig, slen, &t), 0);
    assert_true(t.valid);
    gw_tst_result_clear(&t);
    assert_int_equal(gw_tst_verify(tok, tlen, sig, slen - 1, &t), 0);
    assert_false(t.valid);
    assert_string_equal(t.code, "tst_imprint_mismatch");
    gw_tst_result_clear(&t);
    free(sig);
    OPENSSL_free(der);
    free(tok);
    CMS_ContentInfo_free(cms);
}

static void test_past_and_sha512(void **state)
{
    CMS_ContentInfo *cms = signed_cms();
    size_t tlen, len;
    uint8_t *tok = make_token("sig.bin", "-sha512 -cert", "TZ=UTC faketime '2020-03-04 05:06:07'",
                              true, "old.der", &tlen),
            *der;
    struct gw_cms_result r;
    time_t want = 1583298367; /* 2020-03-04T05:06:07Z */

    assert_non_null(tok);
    der = embed(cms, tok, tlen, &len);
    assert_int_equal(gw_cms_verify(F.pdf, F.len, F.br, der, len, "ETSI.CAdES.detached", &r), 0);
    assert_int_equal(r.status, GW_CMS_OK);
    assert_true(r.ts.valid);
    assert_int_equal(r.ts.imprint_nid, NID_sha512);
    assert_int_equal(r.ts.gen_time, oracle_time("old.der"));
    assert_true(r.ts.gen_time >= want && r.ts.gen_time < want + 30);
    gw_cms_result_clear(&r);
    OPENSSL_free(der);
    free(tok);
    CMS_ContentInfo_free(cms);
}

static void expect_embedded(CMS_ContentInfo *cms, const uint8_t *tok, size_t tlen, const char *code)
{
    size_t len;
    uint8_t *der = embed(cms, tok, tlen, &len);
    struct gw_cms_result r;

    assert_int_equal(gw_cms_verify(F.pdf, F.len, F.br, der, len, "ETSI.CAdES.detached", &r), 0);
    assert_int_equal(r.status, GW_CMS_OK); /* a bad timestamp never fails the signature itself */
    assert_true(r.ts.present);
    assert_false(r.ts.valid);
    if (!r.ts.code || strcmp(r.ts.code, code) != 0)
        fail_msg("expected %s, got %s (%s)", code, r.ts.code ? r.ts.code : "-", r.ts.detail);
    gw_cms_result_clear(&r);
    OPENSSL_free(der);
}

/* Re-encodes a token with one bit of its SignerInfo signature flipped. */
static uint8_t *break_tsa_signature(const uint8_t *tok, size_t len, size_t *out_len)
{
    const unsigned char *p = tok;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    unsigned char *out = NULL;
    int n;

    sv->data[3] ^= 0x40;
    n = i2d_CMS_ContentInfo(cms, &out);
    CMS_ContentInfo_free(cms);
    assert_true(n > 0);
    *out_len = (size_t)n;
    return out;
}

static void test_bad_tokens(void **state)
{
    size_t tlen, blen;
    uint8_t *tok, *bad;
    CMS_ContentInfo *cms;

    /* A token over other data. */
    cms = signed_cms();
    tok = make_token("ranges.bin", "-sha256 -cert", "", true, "other.der", &tlen);
    assert_non_null(tok);
    expect_embedded(cms, tok, tlen, "tst_imprint_mismatch");
    CMS_ContentInfo_free(cms);
    free(tok);
    /* Without the TSA certificate (the query did not ask for it). */
    cms = signed_cms();
    tok = make_token("sig.bin", "-sha256", "", true, "nocert.der", &tlen);
    assert_non_null(tok);
    expect_embedded(cms, tok, tlen, "tst_no_tsa_cert");
    CMS_ContentInfo_free(cms);
    free(tok);
    /* The TSA signature broken. */
    cms = signed_cms();
    tok = make_token("sig.bin", "-sha256 -cert", "", true, "tok2.der", &tlen);
    assert_non_null(tok);
    bad = break_tsa_signature(tok, tlen, &blen);
    expect_embedded(cms, bad, blen, "tst_signature_invalid");
    OPENSSL_free(bad);
    CMS_ContentInfo_free(cms);
    free(tok);
}

static void test_responses_and_garbage(void **state)
{
    size_t len, slen;
    uint8_t *resp = make_token("ranges.bin", "-sha256 -cert", "", false, "resp.der", &len);
    uint8_t *data = fx_read(&F, "ranges.bin", &slen);
    struct gw_tst_result t;

    assert_non_null(resp);
    assert_non_null(data);
    /* A whole granted TimeStampResp is accepted for its token. */
    assert_int_equal(gw_tst_verify(resp, len, data, slen, &t), 0);
    assert_true(t.valid);
    assert_true(t.was_response);
    gw_tst_result_clear(&t);
    /* Every truncation is refused with a code. */
    for (size_t n = 0; n < len; n++) {
        assert_int_equal(gw_tst_verify(resp, n, data, slen, &t), 0);
        assert_false(t.valid);
        assert_non_null(t.code);
        gw_tst_result_clear(&t);
    }
    free(resp);
    /* A rejection (digest not allowed by the TSA). */
    resp = make_token("ranges.bin", "-md5", "", false, "rej.der", &len);
    assert_non_null(resp);
    assert_int_equal(gw_tst_verify(resp, len, data, slen, &t), 0);
    assert_false(t.valid);
    assert_string_equal(t.code, "tst_not_granted");
    gw_tst_result_clear(&t);
    free(resp);
    assert_int_equal(gw_tst_verify((const uint8_t *)"\x30\x03\x02\x01\x01", 5, data, slen, &t), 0);
    assert_string_equal(t.code, "tst_parse");
    gw_tst_result_clear(&t);
    assert_int_equal(gw_tst_verify(NULL, 0, data, slen, &t), 0);
    assert_string_equal(t.code, "tst_parse");
    gw_tst_result_clear(&t);
    /* A CMS signature is not a token. */
    resp = fx_sign(&F, &len, "-signer rsa.pem -inkey rsa.key");
    assert_non_null(resp);
    assert_int_equal(gw_tst_verify(resp, len, data, slen, &t), 0);
    assert_string_equal(t.code, "tst_parse");
    gw_tst_result_clear(&t);
    free(resp);
    free(data);
}

static void test_doc_timestamp(void **state)
{
    size_t len;
    uint8_t *tok = make_token("ranges.bin", "-sha256 -cert", "", true, "doc.der", &len), *pad;
    struct gw_tst_result t;
    uint64_t br[4];

    assert_non_null(tok);
    fx_place(&F, tok, len);
    pad = calloc(1, len + 500);
    assert_non_null(pad);
    memcpy(pad, tok, len);
    assert_int_equal(gw_cms_doc_timestamp(F.pdf, F.len, F.br, pad, len + 500, &t), 0);
    if (!t.valid)
        fail_msg("document timestamp: %s %s", t.code, t.detail);
    assert_false(t.trailing_data);
    assert_int_equal(t.gen_time, oracle_time("doc.der"));
    gw_tst_result_clear(&t);
    pad[len + 7] = 1;
    assert_int_equal(gw_cms_doc_timestamp(F.pdf, F.len, F.br, pad, len + 500, &t), 0);
    assert_true(t.valid);
    assert_true(t.trailing_data);
    gw_tst_result_clear(&t);
    F.pdf[10] ^= 1;
    assert_int_equal(gw_cms_doc_timestamp(F.pdf, F.len, F.br, tok, len, &t), 0);
    assert_string_equal(t.code, "tst_imprint_mismatch");
    gw_tst_result_clear(&t);
    F.pdf[10] ^= 1;
    memcpy(br, F.br, sizeof(br));
    br[1] = F.len + 1;
    assert_int_equal(gw_cms_doc_timestamp(F.pdf, F.len, br, tok, len, &t), 0);
    assert_string_equal(t.code, "byte_range_invalid");
    gw_tst_result_clear(&t);
    free(pad);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded),      cmocka_unit_test(test_past_and_sha512),
        cmocka_unit_test(test_bad_tokens),    cmocka_unit_test(test_responses_and_garbage),
        cmocka_unit_test(test_doc_timestamp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
