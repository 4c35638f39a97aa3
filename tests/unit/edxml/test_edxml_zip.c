/*
 * Unit tests for the ZIP rule and bounded unwrapping: type sniffing, the rule of domain.md §2 as
 * a table, and unwrapping of archives built at test time by Python's zipfile (and by hand for the
 * encrypted entry and the bombs) in tests/fixtures/zip/make.py; sizes and SHA-256 are hashlib's.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edxml/edxml_zip.h"
#include "util/error.h"

static char fixdir[256];

static int make_fixtures(void **state)
{
    char cmd[1024];

    snprintf(fixdir, sizeof(fixdir), "/tmp/gw_zip_XXXXXX");
    if (!mkdtemp(fixdir))
        return -1;
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixtures/zip/make.py %s", GW_SOURCE_DIR, fixdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_fixtures(void **state)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", fixdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int open_fixture(const char *name)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", fixdir, name);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    return fd;
}

static const char *read_line(const char *name, char *buf, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", fixdir, name);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, (int)n, f));
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

static void hex(const uint8_t *d, char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sniff(void **state)
{
    static const struct {
        const char *bytes;
        size_t n;
        const char *type;
    } tab[] = {
        {"%PDF-1.7\n%\xe2\xe3", 12, "application/pdf"},
        {"PK\3\4\x14\0\0\0", 8, "application/zip"},
        {"PK\5\6\0\0\0\0", 8, "application/zip"},
        {"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8, "application/x-ole-storage"},
        {"\x89PNG\r\n\x1A\n\0\0", 10, "image/png"},
        {"\xFF\xD8\xFF\xE0\0\x10JFIF", 10, "image/jpeg"},
        {"GIF89a\1\0", 8, "image/gif"},
        {"GIF87a\1\0", 8, "image/gif"},
        {"II*\0\x08\0\0\0", 8, "image/tiff"},
        {"MM\0*\0\0\0\x08", 8, "image/tiff"},
        {"<?xml version=\"1.0\"?>", 21, "application/xml"},
        {"\xEF\xBB\xBF<?xml v", 10, "application/xml"},
        {"\xFF\xFE<\0?\0x\0m\0l\0", 12, "application/xml"},
        {"{\\rtf1\\ansi", 11, "application/rtf"},
        {"Công văn số 12", 17, "text/plain"},
        {"C\xC3", 2, "text/plain"}, /* a sequence cut by the end of the head */
        {"plain\ttext\r\n", 12, "text/plain"},
        {"bin\0ary\1", 8, "application/octet-stream"},
        {"\xC0\x80xxxxxx", 8, "application/octet-stream"},    /* overlong */
        {"\xED\xA0\x80xxxxx", 8, "application/octet-stream"}, /* surrogate */
        {"", 0, "application/octet-stream"},
        {"\x1F\x8B\x08\0", 4, "application/gzip"},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        const char *got = gw_edxml_sniff((const uint8_t *)tab[i].bytes, tab[i].n);
        if (strcmp(got, tab[i].type) != 0)
            fail_msg("case %zu: %s, expected %s", i, got, tab[i].type);
    }
    assert_string_equal(gw_edxml_sniff(NULL, 0), "application/octet-stream");
}

static void test_rule(void **state)
{
    static const uint8_t zip[] = "PK\3\4\x14\0\0\0";
    static const uint8_t pdf[] = "%PDF-1.7";
    static const struct {
        const char *type, *name;
        bool natural, unwrap;
    } tab[] = {
        /* ContentType says PDF over ZIP bytes: the common wrapping. */
        {"application/pdf", "quyet_dinh.pdf", false, true},
        {"Application/PDF; charset=binary", "x.pdf", false, true},
        {"application/octet-stream", "x.bin", false, true},
        {NULL, NULL, false, true},
        {"", "x", false, true},
        /* application/zip: the vendor's convention over a non-.zip name, never a real .zip. */
        {"application/zip", "x.doc", true, true},
        {"application/zip", "Bao cao.PDF", true, true},
        {"APPLICATION/ZIP ; name=x", "x.doc", true, true},
        {"application/x-zip-compressed", "x.doc", true, true},
        {"application/zip", "x.zip", true, false},
        {"application/zip", "X.ZIP", true, false},
        {"application/zip", NULL, true, true},
        /* docx, xlsx, pptx, odt, ods: zips by nature, by type or by name. */
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "x.docx", true,
         false},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "x.pdf", true, false},
        {"application/vnd.openxmlformats-officedocument.presentationml.presentation", NULL, true,
         false},
        {"application/vnd.oasis.opendocument.text", "x.odt", true, false},
        {"application/vnd.oasis.opendocument.spreadsheet", "x", true, false},
        {"application/vnd.ms-word.document.macroEnabled.12", "x.docm", true, false},
        {"application/epub+zip", "x.epub", true, false},
        {"application/pdf", "Bao cao.docx", true, false},
        {"application/octet-stream", "bang.XLSX", true, false},
        {"application/zip", "x.odt", true, false},
        {"application/octet-stream", "x.pptx", true, false},
        {"application/octet-stream", "x.ods", true, false},
        {"application/msword", "x.doc", false, true},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        bool nat = gw_edxml_zip_natural(tab[i].type, tab[i].name);
        bool un = gw_edxml_zip_should_unwrap(zip, 8, tab[i].type, tab[i].name);
        if (nat != tab[i].natural || un != tab[i].unwrap)
            fail_msg("case %zu (%s, %s): natural %d unwrap %d", i,
                     tab[i].type ? tab[i].type : "NULL", tab[i].name ? tab[i].name : "NULL", nat,
                     un);
        /* Bytes that are not a ZIP are never unwrapped. */
        assert_false(gw_edxml_zip_should_unwrap(pdf, 8, tab[i].type, tab[i].name));
    }
    assert_false(gw_edxml_zip_should_unwrap(zip, 3, "application/pdf", "x.pdf"));
    assert_false(gw_edxml_zip_should_unwrap(NULL, 0, "application/pdf", "x.pdf"));
}

/* Office documents are recognised from their first local headers, and never unwrapped even
 * when declared as PDF; an archive holding a PDF is not taken for one. */
static void test_kind(void **state)
{
    static const struct {
        const char *file, *kind;
    } tab[] = {
        {"minimal.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"minimal.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"minimal.odt", "application/vnd.oasis.opendocument.text"},
        {"pdf_in_zip.zip", NULL},
        {"two_entries.zip", NULL},
        {"garbage.zip", NULL},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        uint8_t head[4096];
        int fd = open_fixture(tab[i].file);
        ssize_t n = read(fd, head, sizeof(head));
        const char *kind;

        assert_true(n > 0);
        close(fd);
        kind = gw_edxml_zip_kind(head, (size_t)n);
        if (tab[i].kind) {
            assert_non_null(kind);
            assert_string_equal(kind, tab[i].kind);
            assert_false(gw_edxml_zip_should_unwrap(head, (size_t)n, "application/pdf", "x.pdf"));
        } else {
            assert_null(kind);
        }
        /* Any cut of the head is safe to look at. */
        for (size_t cut = 0; cut < (size_t)n; cut += 7)
            (void)gw_edxml_zip_kind(head, cut);
    }
}

/* The field cases end to end: rule on the first bytes, then unwrapping. */
static void test_rule_then_unwrap(void **state)
{
    static const struct {
        const char *file, *type, *name;
        bool unwrap;
        const char *entry_type;
    } tab[] = {
        {"pdf_in_zip.zip", "application/pdf", "Quyet dinh.pdf", true, "application/pdf"},
        {"doc_in_zip.zip", "application/zip", "Bao cao.doc", true, "application/x-ole-storage"},
        {"doc_in_zip.zip", "application/zip", "Bao cao.zip", false, NULL},
        {"minimal.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "x.docx", false, NULL},
        {"minimal.docx", "application/octet-stream", "x.docx", false, NULL},
        {"minimal.odt", "application/pdf", "x.pdf", false, NULL},
    };
    struct gw_edxml_zip_limits lim = {.max_entry_bytes = 128u << 20, .max_ratio = 200};

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        uint8_t head[4096];
        struct gw_edxml_zip_result res;
        int fd = open_fixture(tab[i].file);
        ssize_t n = pread(fd, head, sizeof(head), 0);

        assert_true(n >= 8);
        assert_int_equal(gw_edxml_zip_should_unwrap(head, (size_t)n, tab[i].type, tab[i].name),
                         tab[i].unwrap);
        if (tab[i].unwrap) {
            assert_int_equal(gw_edxml_zip_unwrap(fd, &lim, &res), 0);
            assert_string_equal(res.detected_type, tab[i].entry_type);
            gw_edxml_zip_result_free(&res);
        }
        close(fd);
    }
}

static bool code_in(const char *code, const char *alternatives)
{
    size_t n = strlen(code);
    const char *p = alternatives;

    while ((p = strstr(p, code)) != NULL) {
        if ((p == alternatives || p[-1] == '|') && (p[n] == '\0' || p[n] == '|'))
            return true;
        p += n;
    }
    return false;
}

/* Every archive of expect.tsv under the reader's default limits. */
static void test_unwrap_table(void **state)
{
    struct gw_edxml_zip_limits lim = {.max_entry_bytes = 128u << 20, .max_ratio = 200};
    char path[512], line[1024];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof(path), "%s/expect.tsv", fixdir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        char name[128], expect[128], size[32], sha[80], entry[128], type[80], got[65];
        struct gw_edxml_zip_result res;
        int fd, rc;

        line[strcspn(line, "\n")] = '\0';
        assert_int_equal(sscanf(line, "%127[^\t]\t%127[^\t]\t%31[^\t]\t%79[^\t]\t%127[^\t]\t%79s",
                                name, expect, size, sha, entry, type),
                         6);
        fd = open_fixture(name);
        rc = gw_edxml_zip_unwrap(fd, &lim, &res);
        print_message("%-24s rc %d %s\n", name, rc, res.error ? res.error : "ok");
        if (strcmp(expect, "ok") == 0) {
            if (rc != 0)
                fail_msg("%s: %d %s", name, rc, res.error ? res.error : "");
            assert_null(res.error);
            assert_int_equal(res.size, strtoull(size, NULL, 10));
            hex(res.sha256, got);
            assert_string_equal(got, sha);
            assert_string_equal(res.entry_name, entry);
            assert_string_equal(res.detected_type, type);
        } else {
            assert_non_null(res.error);
            if (!code_in(res.error, expect))
                fail_msg("%s: %s, expected %s", name, res.error, expect);
            assert_int_equal(rc, strstr(res.error, "bomb") || strstr(res.error, "large")
                                     ? GW_ELIMIT
                                     : GW_EPARSE);
            assert_null(res.entry_name);
        }
        gw_edxml_zip_result_free(&res);
        /* The descriptor stays open and usable. */
        assert_true(lseek(fd, 0, SEEK_SET) == 0);
        assert_int_equal(close(fd), 0);
        n++;
    }
    fclose(f);
    assert_true(n >= 15);
}

/* The honest 64 MiB bomb passes under a ratio it respects, with hashlib's hash, and stops at
 * either limit; the 1 GiB one declared as 1000 bytes stops at the entry limit. */
static void test_unwrap_limits(void **state)
{
    struct gw_edxml_zip_limits wide = {.max_entry_bytes = 128u << 20, .max_ratio = 2000};
    struct gw_edxml_zip_limits small = {.max_entry_bytes = 1u << 20, .max_ratio = 2000};
    struct gw_edxml_zip_limits exact = {.max_entry_bytes = 64u << 20, .max_ratio = 2000};
    struct gw_edxml_zip_limits tight = {.max_entry_bytes = (64u << 20) - 1, .max_ratio = 2000};
    struct gw_edxml_zip_limits big = {.max_entry_bytes = 4ull << 30, .max_ratio = 100000};
    struct gw_edxml_zip_limits lowratio = {.max_entry_bytes = 4ull << 30, .max_ratio = 100};
    struct gw_edxml_zip_result res;
    char got[65], line[128];
    int fd = open_fixture("ratio_bomb.zip");

    assert_int_equal(gw_edxml_zip_unwrap(fd, &wide, &res), 0);
    assert_int_equal(res.size, 64u << 20);
    hex(res.sha256, got);
    assert_string_equal(got, "3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351");
    gw_edxml_zip_result_free(&res);
    assert_int_equal(gw_edxml_zip_unwrap(fd, &exact, &res), 0);
    gw_edxml_zip_result_free(&res);
    assert_int_equal(gw_edxml_zip_unwrap(fd, &tight, &res), GW_ELIMIT);
    assert_string_equal(res.error, "zip_entry_too_large");
    assert_int_equal(gw_edxml_zip_unwrap(fd, &small, &res), GW_ELIMIT);
    assert_string_equal(res.error, "zip_entry_too_large");
    assert_int_equal(gw_edxml_zip_unwrap(fd, &lowratio, &res), GW_ELIMIT);
    assert_string_equal(res.error, "zip_bomb");
    close(fd);

    fd = open_fixture("bomb_declared_small.zip");
    assert_int_equal(gw_edxml_zip_unwrap(fd, &wide, &res), GW_ELIMIT);
    assert_string_equal(res.error, "zip_entry_too_large");
    assert_int_equal(gw_edxml_zip_unwrap(fd, &lowratio, &res), GW_ELIMIT);
    assert_string_equal(res.error, "zip_bomb");
    /* With limits above it, the size reported is what was inflated, not what was declared. */
    assert_int_equal(gw_edxml_zip_unwrap(fd, &big, &res), 0);
    assert_int_equal(res.size, 1ull << 30);
    hex(res.sha256, got);
    assert_string_equal(got, read_line("bomb_declared_small.sha256", line, sizeof(line)));
    gw_edxml_zip_result_free(&res);
    close(fd);
}

/* The descriptor's position does not matter, and bad arguments are refused. */
static void test_unwrap_fd(void **state)
{
    struct gw_edxml_zip_limits lim = {.max_entry_bytes = 1u << 20, .max_ratio = 200};
    struct gw_edxml_zip_limits zero = {.max_entry_bytes = 0, .max_ratio = 200};
    struct gw_edxml_zip_result res;
    int fd = open_fixture("pdf_in_zip.zip");

    assert_true(lseek(fd, 1234, SEEK_SET) == 1234);
    assert_int_equal(gw_edxml_zip_unwrap(fd, &lim, &res), 0);
    assert_string_equal(res.detected_type, "application/pdf");
    gw_edxml_zip_result_free(&res);
    assert_int_equal(gw_edxml_zip_unwrap(fd, &zero, &res), GW_EINVAL);
    assert_int_equal(gw_edxml_zip_unwrap(-1, &lim, &res), GW_EINVAL);
    close(fd);
    fd = open("/dev/null", O_RDONLY);
    assert_int_equal(gw_edxml_zip_unwrap(fd, &lim, &res), GW_EPARSE);
    assert_string_equal(res.error, "zip_corrupt");
    close(fd);
    gw_edxml_zip_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_kind),         cmocka_unit_test(test_rule_then_unwrap),
        cmocka_unit_test(test_unwrap_table), cmocka_unit_test(test_unwrap_limits),
        cmocka_unit_test(test_unwrap_fd),
    };
    return cmocka_run_group_tests(tests, make_fixtures, remove_fixtures);
}
