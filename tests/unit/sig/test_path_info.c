/*
 * Unit tests for gateway/sig/path_info.c: the facts of a certificate for the inventory (names in
 * RFC 2253 with UTF-8, subject attributes, serial, fingerprint, key usage, AIA and CRL URLs),
 * checked against the openssl CLI, and the DER / PEM readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>

#include "sig/path.h"
#include "test_path_pki.h"

/* First line of a shell command's output, without the newline. */
static void sh_line(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sh_line(char *out, size_t len, const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)len, p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

static void test_person(void **state)
{
    X509 *x = pki_cert("person");
    struct gw_cert_info ci;
    char want[512];
    assert_non_null(x);
    assert_int_equal(gw_cert_info_get(x, &ci), 0);
    sh_line(want, sizeof want,
            "openssl x509 -in '%s/%s.pem' -noout -subject -nameopt RFC2253,-esc_msb | sed "
            "'s/^subject=//'",
            pki_dir, "person");
    assert_string_equal(ci.subject, want);
    assert_non_null(strstr(ci.subject, "CN=Nguyễn Văn An"));
    sh_line(want, sizeof want,
            "openssl x509 -in '%s/%s.pem' -noout -issuer -nameopt RFC2253,-esc_msb | sed "
            "'s/^issuer=//'",
            pki_dir, "person");
    assert_string_equal(ci.issuer, want);
    sh_line(want, sizeof want, "openssl x509 -in '%s/%s.pem' -outform DER | sha256sum | cut -c1-64",
            pki_dir, "person");
    assert_string_equal(ci.sha256, want);
    sh_line(want, sizeof want,
            "openssl x509 -in '%s/%s.pem' -noout -serial | sed 's/^serial=//' | tr A-F a-f",
            pki_dir, "person");
    /* The CLI pads to whole bytes, BN_bn2hex too. */
    assert_string_equal(ci.serial, want);
    assert_string_equal(ci.cn, "Nguyễn Văn An");
    assert_string_equal(ci.uid, "CCCD:079123456789");
    assert_null(ci.o);
    assert_null(ci.ou);
    assert_null(ci.serial_number_attr);
    assert_string_equal(ci.key_usage, "digitalSignature,nonRepudiation");
    assert_string_equal(ci.aia_ca_issuers, "http://ca.test/sub.crt");
    assert_string_equal(ci.aia_ocsp, "http://ocsp.test/");
    assert_string_equal(ci.crl_dp, "http://crl.test/sub.crl"); /* http before ldap */
    assert_int_equal(ci.not_before, (time_t)1704067200);       /* 2024-01-01 */
    assert_int_equal(ci.not_after, (time_t)2019686400);        /* 2034-01-01 */
    assert_false(ci.self_signed);
    assert_false(ci.is_ca);
    gw_cert_info_clear(&ci);
    assert_null(ci.subject);
    gw_cert_info_clear(&ci); /* twice is fine */
    X509_free(x);
}

static void test_org_and_root(void **state)
{
    X509 *x = pki_cert("org");
    struct gw_cert_info ci;
    assert_int_equal(gw_cert_info_get(x, &ci), 0);
    assert_string_equal(ci.cn, "Sở Thông tin và Truyền thông");
    assert_string_equal(ci.o, ci.cn);
    assert_null(ci.uid);
    assert_null(ci.aia_ocsp);
    assert_null(ci.crl_dp);
    gw_cert_info_clear(&ci);
    X509_free(x);

    x = pki_cert("root");
    assert_int_equal(gw_cert_info_get(x, &ci), 0);
    assert_string_equal(ci.cn, "Cơ quan chứng thực số chuyên dùng Chính phủ");
    assert_string_equal(ci.subject, ci.issuer);
    assert_true(ci.self_signed);
    assert_true(ci.is_ca);
    assert_string_equal(ci.key_usage, "keyCertSign,cRLSign");
    gw_cert_info_clear(&ci);
    X509_free(x);

    x = pki_cert("sub");
    assert_int_equal(gw_cert_info_get(x, &ci), 0);
    assert_false(ci.self_signed);
    assert_true(ci.is_ca);
    assert_string_equal(ci.aia_ca_issuers, "http://ca.test/root.crt");
    gw_cert_info_clear(&ci);
    X509_free(x);

    assert_int_equal(gw_cert_info_get(NULL, &ci), GW_EINVAL);
}

static void test_readers(void **state)
{
    char path[256];
    snprintf(path, sizeof path, "%s/sub.der", pki_dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t der[4096];
    size_t n = fread(der, 1, sizeof der, f);
    fclose(f);
    X509 *a = gw_cert_from_der(der, n);
    assert_non_null(a);
    assert_null(gw_cert_from_der(der, n - 1));
    assert_null(gw_cert_from_der(der, 0));
    assert_null(gw_cert_from_der(NULL, 10));

    snprintf(path, sizeof path, "%s/sub.pem", pki_dir);
    f = fopen(path, "r");
    assert_non_null(f);
    char pem[8192];
    n = fread(pem, 1, sizeof pem, f);
    fclose(f);
    X509 *b = gw_cert_from_pem(pem, n);
    assert_non_null(b);
    assert_int_equal(X509_cmp(a, b), 0);
    assert_null(gw_cert_from_pem("garbage", 7));
    X509_free(a);
    X509_free(b);

    time_t t;
    ASN1_TIME *at = ASN1_TIME_new();
    assert_true(ASN1_TIME_set_string(at, "20500101000000Z"));
    assert_int_equal(gw_cert_time(at, &t), 0);
    assert_int_equal(t, (time_t)2524608000);
    ASN1_TIME_free(at);
    assert_int_equal(gw_cert_time(NULL, &t), GW_EPARSE);
}

static int setup(void **state)
{
    if (pki_make() != 0) {
        fprintf(stderr, "PKI generation failed, see %s/make.log\n", pki_dir);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    pki_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_person),
        cmocka_unit_test(test_org_and_root),
        cmocka_unit_test(test_readers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
