/*
 * Unit tests for gateway/sig/trust.c: loading a trust directory (PEM and DER, a bundle, duplicates,
 * files that are ignored), the errors that name the bad file, a directory without an anchor, and a
 * fingerprint that changes exactly when the set of certificates does (checked against one made
 * with the openssl CLI and sha256sum).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "sig/trust.h"
#include "test_path_pki.h"

static char dirbuf[128];

static const char *dir_of(const char *sub)
{
    snprintf(dirbuf, sizeof dirbuf, "%s/%s", pki_dir, sub);
    return dirbuf;
}

static void write_file(const char *sub, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", pki_dir, sub, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The fingerprint as the oracle computes it: sorted SHA-256 of each certificate, one per line. */
static void oracle_fp(const char *files, char out[65])
{
    char cmd[1024], list[512];
    size_t n = 0;
    snprintf(list, sizeof list, "%s", files);
    for (char *t = strtok(list, " "); t; t = strtok(NULL, " "))
        n += (size_t)snprintf(cmd + n, sizeof cmd - n,
                              "openssl x509 -in '%s/%s.pem' -outform DER | sha256sum | cut -c1-64;",
                              pki_dir, t);
    char full[1400];
    snprintf(full, sizeof full, "(%s) | sort | sha256sum | cut -c1-64", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, 65, p));
    pclose(p);
}

static void test_mixed(void **state)
{
    char err[256];
    struct gw_trust *t = NULL;
    /* root as PEM, sub as DER named .der, a bundle of root2 + sub2 named .crt, the root again
     * under another name and extension, and things that are not looked at. */
    pki_trust_dir("mixed", "root.pem sub.der root.pem:Root-Copy.CER");
    assert_int_equal(pki_sh("cat '%s/root2.pem' '%s/sub2.pem' >'%s/mixed/bundle.crt'", pki_dir,
                            pki_dir, pki_dir),
                     0);
    write_file("mixed", "README.txt", "not a certificate\n");
    write_file("mixed", ".hidden.pem", "garbage\n");
    assert_int_equal(pki_sh("mkdir '%s/mixed/old.pem'", pki_dir), 0);
    time_t before = time(NULL);
    assert_int_equal(gw_trust_load(dir_of("mixed"), &t, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(gw_trust_anchors(t), 2);       /* root, root2 */
    assert_int_equal(gw_trust_intermediates(t), 2); /* sub, sub2 */
    assert_true(gw_trust_loaded_at(t) >= before && gw_trust_loaded_at(t) <= time(NULL));
    char want[65];
    oracle_fp("root root2 sub sub2", want);
    assert_string_equal(gw_trust_fingerprint(t), want);
    assert_int_equal(sk_X509_num(gw_trust_anchor_certs(t)), 2);

    /* References: the snapshot lives until the last one is dropped. */
    struct gw_trust *t2 = gw_trust_ref(t);
    assert_ptr_equal(t2, t);
    gw_trust_unref(t);
    assert_int_equal(gw_trust_anchors(t2), 2);
    gw_trust_unref(t2);
    gw_trust_unref(NULL);
    assert_null(gw_trust_ref(NULL));
}

static void expect_error(const char *sub, int rc_want, const char *in_err)
{
    char err[256];
    struct gw_trust *t = (struct gw_trust *)1;
    int rc = gw_trust_load(dir_of(sub), &t, err, sizeof err);
    if (rc != rc_want || !strstr(err, in_err))
        fail_msg("%s: rc %d (%s), want %d with \"%s\"", sub, rc, err, rc_want, in_err);
    assert_null(t);
}

static void test_bad_files(void **state)
{
    pki_trust_dir("garbage", "root.pem");
    write_file("garbage", "zz-broken.pem",
               "-----BEGIN CERTIFICATE-----\nAAAA\n"
               "-----END CERTIFICATE-----\n");
    expect_error("garbage", GW_EPARSE, "zz-broken.pem");

    pki_trust_dir("notder", "root.pem");
    write_file("notder", "blob.der", "this is neither PEM nor DER");
    expect_error("notder", GW_EPARSE, "blob.der");

    pki_trust_dir("empty_file", "root.pem");
    write_file("empty_file", "empty.crt", "");
    expect_error("empty_file", GW_EPARSE, "empty.crt");

    /* A good certificate after the root in a bundle, then a broken one. */
    pki_trust_dir("bundle_bad", "sub.pem");
    assert_int_equal(pki_sh("cat '%s/root.pem' >'%s/bundle_bad/b.pem' && "
                            "printf -- '-----BEGIN CERTIFICATE-----\\nQUJD\\n"
                            "-----END CERTIFICATE-----\\n' >>'%s/bundle_bad/b.pem'",
                            pki_dir, pki_dir, pki_dir),
                     0);
    expect_error("bundle_bad", GW_EPARSE, "b.pem");

    /* Not a CA: a person's certificate, and a sub CA with CA:FALSE. */
    pki_trust_dir("leafdir", "root.pem person.pem:person.cer");
    expect_error("leafdir", GW_ECONFIG, "person.cer");
    pki_trust_dir("nocadir", "root.pem subnoca.pem");
    expect_error("nocadir", GW_ECONFIG, "subnoca.pem");

    /* Unreadable (not when running as root, which reads anything). */
    if (geteuid() != 0) {
        pki_trust_dir("unreadable", "root.pem sub.pem");
        assert_int_equal(pki_sh("chmod 000 '%s/unreadable/sub.pem'", pki_dir), 0);
        expect_error("unreadable", GW_EIO, "sub.pem");
    }
}

static void test_no_anchor(void **state)
{
    pki_trust_dir("empty", "");
    expect_error("empty", GW_ECONFIG, "no trust anchor");
    pki_trust_dir("only_sub", "sub.pem sub2.pem");
    expect_error("only_sub", GW_ECONFIG, "no trust anchor");
    expect_error("does-not-exist", GW_ENOENT, "does-not-exist");
}

static void test_reload(void **state)
{
    char err[256], fp1[65];
    struct gw_trust *a = NULL, *b = NULL, *c = NULL;
    pki_trust_dir("reload", "root.pem sub.pem");
    assert_int_equal(gw_trust_load(dir_of("reload"), &a, err, sizeof err), 0);
    snprintf(fp1, sizeof fp1, "%s", gw_trust_fingerprint(a));
    /* Same certificates under other names: same fingerprint. */
    assert_int_equal(pki_sh("mv '%s/reload/sub.pem' '%s/reload/a-sub.crt'", pki_dir, pki_dir), 0);
    assert_int_equal(gw_trust_load(dir_of("reload"), &b, err, sizeof err), 0);
    assert_string_equal(gw_trust_fingerprint(b), fp1);
    /* One more intermediate: a new fingerprint; the old snapshot is untouched. */
    assert_int_equal(pki_sh("cp '%s/sub2.pem' '%s/reload/'", pki_dir, pki_dir), 0);
    assert_int_equal(gw_trust_load(dir_of("reload"), &c, err, sizeof err), 0);
    assert_string_not_equal(gw_trust_fingerprint(c), fp1);
    assert_int_equal(gw_trust_intermediates(c), 2);
    assert_int_equal(gw_trust_intermediates(a), 1);
    assert_string_equal(gw_trust_fingerprint(a), fp1);
    char want[65];
    oracle_fp("root sub sub2", want);
    assert_string_equal(gw_trust_fingerprint(c), want);
    gw_trust_unref(a);
    gw_trust_unref(b);
    gw_trust_unref(c);
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
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_no_anchor),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
