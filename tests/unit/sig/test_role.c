/*
 * Unit tests for gateway/sig/role.c: the person/organisation rule on plain subject strings and on
 * certificates made at test time by the openssl CLI (UTF-8 subjects in NFC and NFD, without
 * diacritics, with CMND/CCCD/HC identifiers), the configurable agency words, the order rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sig/role.h"

static char tmpdir[] = "/tmp/gw_role_XXXXXX";

struct srow {
    const char *cn, *o, *ou, *id;
    enum gw_sig_role role;
    const char *rule;
};

static const struct srow srows[] = {
    {"Nguyễn Văn An", "UBND tỉnh Hà Giang", NULL, "CMND:012345678", GW_ROLE_PERSON, "personal_id"},
    /* a personal id wins even over an agency-looking CN */
    {"Sở Tài chính", "Sở Tài chính", NULL, "CCCD:001088012345", GW_ROLE_PERSON, "personal_id"},
    {"Trần Thị B", NULL, NULL, "HC:B1234567", GW_ROLE_PERSON, "personal_id"},
    {"Trần Thị B", NULL, NULL, "cccd 001088012345", GW_ROLE_PERSON, "personal_id"},
    /* a tax code is not a personal id; too few digits is not either */
    {"Công ty ABC", "Công ty ABC", NULL, "MST:0101234567", GW_ROLE_ORGANISATION, "cn_is_o"},
    {"Lê Văn C", NULL, NULL, "CMND:123", GW_ROLE_PERSON, "default"},
    {"Lê Văn C", NULL, NULL, "HCM-123456789", GW_ROLE_PERSON, "default"},
    {"UỶ BAN NHÂN DÂN TỈNH HÀ GIANG", "ỦY BAN NHÂN DÂN TỈNH HÀ GIANG", NULL, NULL,
     GW_ROLE_ORGANISATION, "cn_is_o"},
    {"Văn phòng UBND", "UBND tỉnh", "Văn phòng  UBND ", NULL, GW_ROLE_ORGANISATION, "cn_is_o"},
    {"Sở Nội vụ tỉnh Hà Giang", "UBND tỉnh Hà Giang", NULL, NULL, GW_ROLE_ORGANISATION,
     "cn_agency_prefix"},
    {"SO NOI VU", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Uy ban nhan dan xa A", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"ĐẢNG ỦY", NULL, NULL, NULL, GW_ROLE_PERSON, "default"},
    {"Bộ phận một cửa", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Bộ Tài chính", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Chi cục Thuế", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Tổng cục Hải quan", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Hội đồng nhân dân", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Hoi dong thi dua", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Trung tâm CNTT", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Phòng Tư pháp", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Cục Thuế", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    {"Ban Quản lý dự án", NULL, NULL, NULL, GW_ROLE_ORGANISATION, "cn_agency_prefix"},
    /* whole words only: "Bang", "Bông", "Sơn", "Phong" are not "Ban", "Bộ", "Sở", "Phòng" */
    {"Bang Văn D", NULL, NULL, NULL, GW_ROLE_PERSON, "default"},
    {"Bông Thị E", NULL, NULL, NULL, GW_ROLE_PERSON, "default"},
    {"Sơn Tùng", NULL, NULL, NULL, GW_ROLE_PERSON, "default"},
    {"Phongnguyen", NULL, NULL, NULL, GW_ROLE_PERSON, "default"},
    {"Nguyễn Văn An", "UBND tỉnh Hà Giang", "Văn phòng", NULL, GW_ROLE_PERSON, "default"},
    {NULL, "UBND", NULL, NULL, GW_ROLE_PERSON, "default"},
};

static void test_subjects(void **state)
{
    for (size_t i = 0; i < sizeof(srows) / sizeof(srows[0]); i++) {
        struct gw_role_subject s = {.cn = srows[i].cn};
        s.o[0] = srows[i].o;
        s.ou[1] = srows[i].ou; /* any slot counts */
        s.ids[0] = srows[i].id;
        const char *rule = NULL;
        enum gw_sig_role r = gw_role_of_subject(&s, NULL, &rule);
        print_message("%-32s -> %s (%s)\n", srows[i].cn ? srows[i].cn : "(none)",
                      gw_sig_role_name(r), rule);
        assert_int_equal(r, srows[i].role);
        assert_string_equal(rule, srows[i].rule);
    }
}

static void test_normalise(void **state)
{
    char *a = gw_role_normalise("  Ủy   ban\tNhân dân ");
    char *b = gw_role_normalise("U\xcc\x89y ban nha\xcc\x82n da\xcc\x82n"); /* NFD */
    char *c = gw_role_normalise("Uỷ ban nhân dân");                         /* old tone place */
    char *d = gw_role_normalise("ĐÀ NẴNG đà nẵng");
    char *e = gw_role_normalise("bad \xff utf8");
    assert_string_equal(a, "uy ban nhan dan");
    assert_string_equal(b, "uy ban nhan dan");
    assert_string_equal(c, "uy ban nhan dan");
    assert_string_equal(d, "da nang da nang");
    assert_non_null(e);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

static void test_opts(void **state)
{
    static const char *const words[] = {"Công ty", "Đảng ủy"};
    struct gw_role_opts o = {.prefixes = words, .n_prefixes = 2};
    struct gw_role_subject s = {.cn = "CÔNG TY CỔ PHẦN X"};
    const char *rule;
    assert_int_equal(gw_role_of_subject(&s, &o, &rule), GW_ROLE_ORGANISATION);
    assert_string_equal(rule, "cn_agency_prefix");
    s.cn = "Dang uy xa";
    assert_int_equal(gw_role_of_subject(&s, &o, &rule), GW_ROLE_ORGANISATION);
    s.cn = "Sở Tài chính"; /* the configured list replaces the defaults */
    assert_int_equal(gw_role_of_subject(&s, &o, &rule), GW_ROLE_PERSON);
    assert_int_equal(gw_role_of_subject(&s, NULL, NULL), GW_ROLE_ORGANISATION);
}

static void test_order(void **state)
{
    enum gw_sig_role po[] = {GW_ROLE_PERSON, GW_ROLE_ORGANISATION};
    enum gw_sig_role op[] = {GW_ROLE_ORGANISATION, GW_ROLE_PERSON};
    enum gw_sig_role ppop[] = {GW_ROLE_PERSON, GW_ROLE_PERSON, GW_ROLE_ORGANISATION,
                               GW_ROLE_PERSON};
    enum gw_sig_role oo[] = {GW_ROLE_ORGANISATION, GW_ROLE_ORGANISATION, GW_ROLE_UNKNOWN};
    unsigned oi = 99, pi = 99;
    assert_false(gw_role_order_violation(po, 2, &oi, &pi));
    assert_false(gw_role_order_violation(oo, 3, &oi, &pi));
    assert_false(gw_role_order_violation(NULL, 0, NULL, NULL));
    assert_true(gw_role_order_violation(op, 2, &oi, &pi));
    assert_int_equal(oi, 0);
    assert_int_equal(pi, 1);
    assert_true(gw_role_order_violation(ppop, 4, &oi, &pi));
    assert_int_equal(oi, 2);
    assert_int_equal(pi, 3);
}

/* A self-signed certificate with the given subject made by the openssl CLI (no shell). */
static X509 *make_cert(const char *name, const char *subj)
{
    char key[256], crt[256];
    snprintf(key, sizeof(key), "%s/%s.key", tmpdir, name);
    snprintf(crt, sizeof(crt), "%s/%s.pem", tmpdir, name);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execlp("openssl", "openssl", "req", "-x509", "-utf8", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subj, "-days", "2",
               "-out", crt, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *f = fopen(crt, "r");
    assert_non_null(f);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(c);
    return c;
}

struct crow {
    const char *name, *subj;
    enum gw_sig_role role;
    const char *rule;
};

static const struct crow crows[] = {
    {"person_uid", "/C=VN/ST=Hà Giang/O=UBND tỉnh Hà Giang/CN=Nguyễn Văn An/UID=CMND:012345678",
     GW_ROLE_PERSON, "personal_id"},
    {"person_serial", "/C=VN/CN=Trần Thị Bình/serialNumber=CCCD:001088012345", GW_ROLE_PERSON,
     "personal_id"},
    {"org_nfc", "/C=VN/O=Sở Nội vụ tỉnh Hà Giang/CN=Sở Nội vụ tỉnh Hà Giang", GW_ROLE_ORGANISATION,
     "cn_is_o"},
    /* CN in NFD, O in NFC: equal after normalisation */
    {"org_nfd", "/C=VN/O=Văn phòng Tỉnh ủy/CN=Va\xcc\x86n pho\xcc\x80ng Ti\xcc\x89nh u\xcc\x89y",
     GW_ROLE_ORGANISATION, "cn_is_o"},
    {"org_plain", "/C=VN/O=Tinh Ha Giang/CN=Uy ban nhan dan tinh Ha Giang", GW_ROLE_ORGANISATION,
     "cn_agency_prefix"},
    {"org_ou",
     "/C=VN/O=UBND tỉnh/OU=Trung tâm Phục vụ hành chính công/CN=TRUNG TÂM PHỤC VỤ HÀNH "
     "CHÍNH CÔNG",
     GW_ROLE_ORGANISATION, "cn_is_o"},
    {"org_bo_phan", "/C=VN/O=UBND xã A/CN=Bộ phận một cửa", GW_ROLE_ORGANISATION,
     "cn_agency_prefix"},
    {"person_default", "/C=VN/O=UBND tỉnh Hà Giang/CN=Lê Văn Cường", GW_ROLE_PERSON, "default"},
};

static void test_certs(void **state)
{
    assert_non_null(mkdtemp(tmpdir));
    for (size_t i = 0; i < sizeof(crows) / sizeof(crows[0]); i++) {
        X509 *c = make_cert(crows[i].name, crows[i].subj);
        const char *rule = NULL;
        enum gw_sig_role r = gw_role_of(c, NULL, &rule);
        print_message("%-16s -> %s (%s)\n", crows[i].name, gw_sig_role_name(r), rule);
        assert_int_equal(r, crows[i].role);
        assert_string_equal(rule, crows[i].rule);
        X509_free(c);
    }
    const char *rule;
    assert_int_equal(gw_role_of(NULL, NULL, &rule), GW_ROLE_UNKNOWN);
    assert_string_equal(rule, "no_certificate");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subjects), cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_opts),     cmocka_unit_test(test_order),
        cmocka_unit_test(test_certs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
