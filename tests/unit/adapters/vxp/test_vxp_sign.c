/*
 * Unit tests for adapters/vxp/vxp_sign.c: HMAC against vectors computed with `openssl dgst`,
 * JSON escaping, the timestamp format, strict base64 and the complete signed header set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/vxp/vxp_sign.h"
#include "util/error.h"

/* printf '%s' "$SH" | openssl dgst -sha256 -mac HMAC -macopt
 * hexkey:7365637265742d6b65792d3132333435 */
#define SH                                                                                         \
    "{\"from\":\"000.00.00.H01\",\"systemid\":\"000.00.00.H01\",\"timestamp\":"                    \
    "\"05032024T143015+0123\",\"servicetype\":\"eDoc\",\"messagetype\":\"edoc\",\"docId\":"        \
    "\"abc-123\"}"
#define SH_MAC "6e0f811d0da2ef1ebc96b036d580a1f3ab749f8fb813a7e2f44b28ff9b1991d2"

static void test_hmac_vectors(void **state)
{
    char mac[65];
    unsigned char *key;
    size_t key_len;

    (void)state;
    assert_int_equal(gw_vxp_b64_decode("c2VjcmV0LWtleS0xMjM0NQ==", 24, 64, &key, &key_len), 0);
    assert_int_equal(key_len, 16);
    assert_memory_equal(key, "secret-key-12345", 16);
    assert_int_equal(gw_vxp_hmac_hex(key, key_len, SH, strlen(SH), mac), 0);
    assert_string_equal(mac, SH_MAC);
    free(key);

    /* binary key with NUL: printf '\x00\xff\x10binary' | base64 -> AP8QYmluYXJ5 */
    assert_int_equal(gw_vxp_b64_decode("AP8Q\nYmlu YXJ5", 14, 64, &key, &key_len), 0);
    assert_int_equal(key_len, 9);
    assert_int_equal(gw_vxp_hmac_hex(key, key_len, "{\"a\":\"b\"}", 9, mac), 0);
    assert_string_equal(mac, "377302f651caedc57c59fd3c6484477a23b364de9b181cbb22567bf758aa63a3");
    free(key);
}

static void test_sign_json_matches_vector(void **state)
{
    struct gw_vxp_kv kv[] = {
        {"from", "000.00.00.H01"},
        {"systemid", "000.00.00.H01"},
        {"timestamp", "05032024T143015+0123"},
        {"servicetype", "eDoc"},
        {"messagetype", "edoc"},
        {"docId", "abc-123"},
    };
    char *json;

    (void)state;
    assert_int_equal(gw_vxp_sign_json(kv, 6, &json), 0);
    assert_string_equal(json, SH);
    free(json);
}

/* Expected: python3 -c 'import json; print(json.dumps({...}, separators=(",", ":"),
 * ensure_ascii=True))' over the same pairs. */
static void test_json_escaping(void **state)
{
    struct gw_vxp_kv kv[] = {
        {"q", "a\"b\\c"},      {"ctl", "x\ty\x01z\x7f"},
        {"utf8", "Sở Nội vụ"}, {"emoji", "\xf0\x9f\x98\x80"},
        {"empty", ""},
    };
    struct gw_vxp_kv bad_utf8[] = {{"k", "\xc3("}};
    struct gw_vxp_kv overlong[] = {{"k", "\xc0\xaf"}};
    char *json;

    (void)state;
    assert_int_equal(gw_vxp_sign_json(kv, 5, &json), 0);
    assert_string_equal(json, "{\"q\":\"a\\\"b\\\\c\",\"ctl\":\"x\\ty\\u0001z\\u007f\","
                              "\"utf8\":\"S\\u1edf N\\u1ed9i v\\u1ee5\",\"emoji\":"
                              "\"\\ud83d\\ude00\",\"empty\":\"\"}");
    free(json);
    assert_int_equal(gw_vxp_sign_json(kv, 0, &json), 0);
    assert_string_equal(json, "{}");
    free(json);
    assert_int_equal(gw_vxp_sign_json(bad_utf8, 1, &json), GW_EINVAL);
    assert_null(json);
    assert_int_equal(gw_vxp_sign_json(overlong, 1, &json), GW_EINVAL);
}

static void test_timestamp(void **state)
{
    char ts[GW_VXP_TS_LEN];

    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(gw_vxp_timestamp(1709649015, 123, ts), 0);
    assert_string_equal(ts, "05032024T143015+0123");
    assert_int_equal(gw_vxp_timestamp(1709649015, 0, ts), 0);
    assert_string_equal(ts, "05032024T143015+0000");
    assert_int_equal(gw_vxp_timestamp(1709649015, 999, ts), 0);
    assert_string_equal(ts, "05032024T143015+0999");
    assert_int_equal(gw_vxp_timestamp(1709649015, 1000, ts), GW_EINVAL);
    setenv("TZ", "Asia/Ho_Chi_Minh", 1); /* local time, not UTC */
    tzset();
    assert_int_equal(gw_vxp_timestamp(1709649015, 7, ts), 0);
    assert_string_equal(ts, "05032024T213015+0007");
    unsetenv("TZ");
    tzset();
}

static void test_b64_strict(void **state)
{
    unsigned char *out;
    size_t len;

    (void)state;
    assert_int_equal(gw_vxp_b64_decode("", 0, 10, &out, &len), 0);
    assert_int_equal(len, 0);
    free(out);
    assert_int_equal(gw_vxp_b64_decode("YWJj", 4, 10, &out, &len), 0);
    assert_int_equal(len, 3);
    assert_string_equal((char *)out, "abc");
    free(out);
    assert_int_equal(gw_vxp_b64_decode("YWI=", 4, 10, &out, &len), 0);
    assert_int_equal(len, 2);
    free(out);
    assert_int_equal(gw_vxp_b64_decode("YWJ", 3, 10, &out, &len), GW_EPARSE);
    assert_int_equal(gw_vxp_b64_decode("YW*j", 4, 10, &out, &len), GW_EPARSE);
    assert_int_equal(gw_vxp_b64_decode("Y===", 4, 10, &out, &len), GW_EPARSE);
    assert_int_equal(gw_vxp_b64_decode("YW=j", 4, 10, &out, &len), GW_EPARSE);
    assert_int_equal(gw_vxp_b64_decode("YWJjYWJj", 8, 5, &out, &len), GW_E2BIG);
    assert_null(out);
}

static const char *find_header(char **h, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; h[i]; i++)
        if (strncmp(h[i], name, nl) == 0 && h[i][nl] == ':' && h[i][nl + 1] == ' ')
            return h[i] + nl + 2;
    return NULL;
}

static void test_header_set(void **state)
{
    static const unsigned char key[] = "secret-key-12345";
    struct gw_vxp_kv extra[] = {{"docId", "abc-123"}};
    char **h;
    size_t n = 0;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("000.00.00.H01", key, 16, "05032024T143015+0123", "edoc",
                                          extra, 1, &h),
                     0);
    while (h[n])
        n++;
    assert_int_equal(n, 10);
    assert_string_equal(find_header(h, "XroadVnpt-from"), "000.00.00.H01");
    assert_string_equal(find_header(h, "XroadVnpt-systemid"), "000.00.00.H01");
    assert_string_equal(find_header(h, "XroadVnpt-timestamp"), "05032024T143015+0123");
    assert_string_equal(find_header(h, "XroadVnpt-servicetype"), "eDoc");
    assert_string_equal(find_header(h, "XroadVnpt-messagetype"), "edoc");
    assert_string_equal(find_header(h, "XroadVnpt-docId"), "abc-123");
    assert_string_equal(find_header(h, "XroadVnpt-sign-header"), SH);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "from;systemid;timestamp;servicetype;messagetype;docId");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"), SH_MAC);
    assert_string_equal(find_header(h, "XroadVnpt-version"), "3.0.201608");
    gw_vxp_headers_free(h);
}

static void test_header_injection_rejected(void **state)
{
    static const unsigned char key[] = "k";
    struct gw_vxp_kv bad[] = {{"docId", "abc\r\nX-Evil: 1"}};
    struct gw_vxp_kv badkey[] = {{"do;cId", "x"}};
    char **h = NULL;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, "t", "edoc", bad, 1, &h), GW_EINVAL);
    assert_null(h);
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, "t", "edoc", badkey, 1, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_build_headers("s\ny", key, 1, "t", "edoc", NULL, 0, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("Sở Nội vụ"), 0);
    assert_int_equal(gw_vxp_value_ok(" padded"), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("padded "), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("\xff"), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_sign_json_matches_vector),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_b64_strict),
        cmocka_unit_test(test_header_set),
        cmocka_unit_test(test_header_injection_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
