/*
 * Unit tests for adapters/vxp/vxp_agency.c: the agency directory calls against the axis
 * simulator (tests/sim/axis_sim.py --directory), whose Python verifier recomputes the §5 signature
 * (HMAC-SHA256 keyed with the secret's characters over the received sign-header, signed `level`
 * for the QĐ 20 list) independently of the C code and refuses any drift, so every OK answer here
 * is a call the real axis accepts; and the signed headers of the QĐ 20 call against
 * tests/sim/client.py sign_headers() byte for byte. Also: a QĐ 20 list over 64 KiB parsed on the
 * thread pool, the size cap, a wrong secret (GW_EAUTH), and the pure parser on rows without a
 * usable code, numeric ids and over-long fields. Skipped (77) when python3 is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/vxp/vxp_internal.h"
#include "adapters/vxp/vxp_sign.h"
#include "engine/axis.h"
#include "util/error.h"

#define SIM_PATH GW_SOURCE_DIR "/tests/sim/axis_sim.py"
#define SID      "gw-h49"
#define KEY      "c2VuZGVyLXNlY3JldC1rZXktb2YtNDQtY2hhcmFjdGU="
#define N_QD20   3000

static struct {
    pid_t pid;
    char dir[64];
    char base_url[64];
    uv_loop_t loop;
    struct gw_httpc *http;
    const struct gw_axis_ops *ops;
} S;

struct res {
    int done, err;
    size_t n;
    char first_code[64], first_102[64], first_parent[64], first_old[64], last_code[64];
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int write_directory(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("{\"agencies\":[{\"id\":1,\"code\":\"000.00.01.H49\",\"pid\":\"000.00.00.H49\","
          "\"name\":\"S\xe1\xbb\x9f T\xc3\xa0i ch\xc3\xadnh\",\"mail\":\"stc@x\",\"oldCode\":"
          "\"H49.OLD\"},{\"id\":2,\"name\":\"no code\"},{\"id\":3,\"code\":\"\"},"
          "{\"id\":4,\"code\":\"000.00.00.H49\",\"pid\":0}],\"qd20\":[",
          f);
    for (int i = 0; i < N_QD20; i++)
        fprintf(f,
                "%s{\"id\":%d,\"code\":\"H49.%04d\",\"name\":\"Agency %d with a longer name\","
                "\"mail\":\"a%d@x\",\"code102\":\"000.%02d.%02d.H49\"}",
                i ? "," : "", i, i, i, i, i / 100, i % 100);
    fputs("]}", f);
    return fclose(f);
}

static int group_setup(void **state)
{
    char spec[128], portf[128], dirf[128], buf[16] = "";
    FILE *f;

    (void)state;
    snprintf(S.dir, sizeof(S.dir), "/tmp/gw-test-agency.XXXXXX");
    if (!mkdtemp(S.dir))
        return -1;
    snprintf(spec, sizeof(spec), "%s/systems.json", S.dir);
    snprintf(portf, sizeof(portf), "%s/port", S.dir);
    snprintf(dirf, sizeof(dirf), "%s/directory.json", S.dir);
    f = fopen(spec, "w");
    if (!f)
        return -1;
    fputs("{\"systems\":[{\"systemid\":\"" SID "\",\"secret\":\"" KEY
          "\",\"organ_ids\":[\"000.00.00.H49\"]}]}",
          f);
    fclose(f);
    if (write_directory(dirf) != 0)
        return -1;
    if (system("python3 -c 'import sys' >/dev/null 2>&1") != 0)
        exit(77);
    S.pid = fork();
    if (S.pid == 0) {
        execlp("python3", "python3", SIM_PATH, "--port", "0", "--port-file", portf, "--systems",
               spec, "--directory", dirf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && access(portf, R_OK) != 0; i++)
        sleep_ms(50);
    f = fopen(portf, "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        return -1;
    fclose(f);
    snprintf(S.base_url, sizeof(S.base_url), "http://127.0.0.1:%d", atoi(buf));
    S.ops = gw_axis_find("vxp");
    return S.ops && S.ops->list_agencies ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    if (S.pid > 0) {
        kill(S.pid, SIGTERM);
        waitpid(S.pid, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", S.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
    (void)state;
    return uv_loop_init(&S.loop) == 0 && gw_httpc_open(&S.loop, &S.http) == 0 ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    gw_httpc_close(S.http);
    uv_run(&S.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&S.loop), 0);
    return 0;
}

static void copy(char *dst, const char *s)
{
    snprintf(dst, 64, "%s", s ? s : "(null)");
}

static void on_agencies(int err, const struct gw_axis_agency *a, size_t n, const char *detail,
                        void *ud)
{
    struct res *r = ud;
    (void)detail;
    r->done = 1;
    r->err = err;
    r->n = n;
    if (n > 0) {
        copy(r->first_code, a[0].code);
        copy(r->first_102, a[0].code102);
        copy(r->first_parent, a[0].parent);
        copy(r->first_old, a[0].old_code);
        copy(r->last_code, a[n - 1].code);
    }
}

static void *axis_open(const char *secret, size_t max_dir)
{
    struct gw_axis_config cfg = {.name = "national",
                                 .base_url = S.base_url,
                                 .systemid = SID,
                                 .secret = secret,
                                 .timeout_ms = 10000,
                                 .max_package_bytes = 1 << 20,
                                 .max_directory_bytes = max_dir,
                                 .tls = {.insecure = true}};
    void *st = NULL;
    assert_int_equal(S.ops->create(S.http, &cfg, &st), 0);
    return st;
}

static void run(void *st, bool qd20, struct res *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(S.ops->list_agencies(st, qd20, on_agencies, r), 0);
    while (!r->done)
        uv_run(&S.loop, UV_RUN_ONCE);
}

static void test_qcvn102_list(void **state)
{
    void *st = axis_open(KEY, 0);
    struct res r;

    (void)state;
    run(st, false, &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 2); /* the rows without a code are skipped */
    assert_string_equal(r.first_code, "000.00.01.H49");
    assert_string_equal(r.first_parent, "000.00.00.H49");
    assert_string_equal(r.first_old, "H49.OLD");
    assert_string_equal(r.first_102, "(null)");
    S.ops->destroy(st);
}

static void test_qd20_list_on_pool(void **state)
{
    void *st = axis_open(KEY, 0);
    struct res r;

    (void)state;
    run(st, true, &r); /* > 64 KiB: parsed on the thread pool */
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, N_QD20);
    assert_string_equal(r.first_code, "H49.0000");
    assert_string_equal(r.first_102, "000.00.00.H49");
    assert_string_equal(r.last_code, "H49.2999");
    S.ops->destroy(st);
}

static void test_cap_and_secret(void **state)
{
    void *st = axis_open(KEY, 4096);
    struct res r;

    (void)state;
    run(st, true, &r);
    assert_int_equal(r.err, GW_E2BIG);
    S.ops->destroy(st);
    st = axis_open("d3Jvbmctc2VjcmV0LWtleS1vZi00NC1jaGFyYWN0ZXI=", 0);
    run(st, false, &r);
    assert_int_equal(r.err, GW_EAUTH); /* FAIL 401 hash-header does not match */
    S.ops->destroy(st);
}

static void test_parse(void **state)
{
    struct gw_axis_agency *a = NULL;
    size_t n = 0;
    char detail[128], big[3000], body[4000];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":[{\"code\":7,\"name\":\"%s\"},"
             "\"junk\",{\"code\":null},{\"code\":\"%.300s\"},{\"code\":\"H49.1\",\"code102\":"
             "\"000.00.01.H49\"}]}",
             big, big);
    assert_int_equal(
        gw_vxp_agencies_parse(body, strlen(body), true, &a, &n, detail, sizeof(detail)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].code, "7");
    assert_null(a[0].name); /* over GW_VXP_AGENCY_TEXT_MAX: dropped from the row */
    assert_string_equal(a[1].code102, "000.00.01.H49");
    gw_vxp_agencies_free(a, n);
    static const char notarray[] = "{\"status\":\"OK\",\"ErrorCode\":\"0\",\"data\":{}}";
    assert_int_equal(
        gw_vxp_agencies_parse(notarray, strlen(notarray), false, &a, &n, detail, sizeof(detail)),
        GW_EHTTP);
    assert_null(a);
}

/* The headers the adapter signs for getAgenciesListQD20, against tests/sim/client.py's
 * sign_headers() (written from domain.md §5 independently of the C code) for the same pairs and
 * timestamp: sign-header, sign-header-key and hash-header byte for byte. */
static void test_sign_header_vs_python(void **state)
{
    static const struct gw_vxp_kv kv[] = {{"level", "1"}};
    char **h = NULL, want[3][512] = {{0}};
    const char *names[3] = {
        "XroadVnpt-sign-header: ", "XroadVnpt-sign-header-key: ", "XroadVnpt-hash-header: "};
    FILE *p;

    (void)state;
    p = popen("python3 -c \"import sys; sys.path.insert(0, '" GW_SOURCE_DIR "/tests/sim'); "
              "import client; h = client.sign_headers('" SID "', '" KEY "', [('level', '1')], "
              "timestamp='02012018T151608+0123'); "
              "print(h['XroadVnpt-sign-header']); print(h['XroadVnpt-sign-header-key']); "
              "print(h['XroadVnpt-hash-header'])\"",
              "r");
    assert_non_null(p);
    for (int i = 0; i < 3; i++) {
        assert_non_null(fgets(want[i], sizeof(want[i]), p));
        want[i][strcspn(want[i], "\n")] = '\0';
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(gw_vxp_build_headers(SID, (const unsigned char *)KEY, strlen(KEY),
                                          "02012018T151608+0123", GW_VXP_CT_JSON, kv, 1, &h),
                     0);
    for (int i = 0; i < 3; i++) {
        bool found = false;
        for (size_t j = 0; h[j]; j++) {
            size_t n = strlen(names[i]);
            if (strncmp(h[j], names[i], n) == 0) {
                assert_string_equal(h[j] + n, want[i]);
                found = true;
            }
        }
        assert_true(found);
    }
    assert_non_null(strstr(want[0], "\"XroadVnpt-level\":\"1\""));
    gw_vxp_headers_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_qcvn102_list, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_qd20_list_on_pool, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_and_secret, test_setup, test_teardown),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sign_header_vs_python),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
