/*
 * Unit tests for adapters/vxp/vxp_sign.c against vectors computed independently of the code under
 * test: the domain.md §5 worked example verbatim; member orders printed by Java 17 (HashMap
 * keySet() after put() in the SDK's order) and recomputed here by a small re-implementation of
 * String.hashCode and HashMap bucketing; HMACs from `openssl dgst -sha256 -hmac KEY` / Python's
 * hmac over the sign-header texts; hash-file from `openssl dgst -sha256` printed without padding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "adapters/vxp/vxp_sign.h"
#include "util/digest.h"
#include "util/error.h"

/* A secret as the axis issues them: 44 characters that look like base64, used as text. */
#define S44 "q3Vh0aQ2mR8xZ1n4b7T9c2E5f8H1j4K7m0P3s6V9y2A="
#define TS  "05032024T213015+0123"

/* --- an independent reference: Java String.hashCode and HashMap iteration order ----------- */

/* UTF-8 -> UTF-16 code units, the way Java holds a String (enough for the keys used here). */
static size_t ref_utf16(const char *s, uint16_t *u)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        uint32_t c;
        if (*p < 0x80) {
            c = *p++;
        } else if (*p < 0xe0) {
            c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
            p += 2;
        } else if (*p < 0xf0) {
            c = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
            p += 3;
        } else {
            c = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
                (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
            p += 4;
        }
        if (c >= 0x10000) {
            u[n++] = (uint16_t)(0xd800 | ((c - 0x10000) >> 10));
            u[n++] = (uint16_t)(0xdc00 | ((c - 0x10000) & 0x3ff));
        } else {
            u[n++] = (uint16_t)c;
        }
    }
    return n;
}

/* s[0]*31^(n-1) + ... + s[n-1], in Java's wrapping int arithmetic. */
static int32_t ref_hash(const char *s)
{
    uint16_t u[256];
    size_t n = ref_utf16(s, u);
    int64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = (int64_t)(int32_t)(uint32_t)(h * 31 + u[i]);
    return (int32_t)h;
}

/* Keys in HashMap iteration order joined by ';': walk the buckets 0..cap-1, and in each the keys
 * in insertion order. cap: the table after n puts (16, doubled while n > 0.75 cap). */
static void ref_order(const char *const *keys, size_t n, char *out)
{
    unsigned cap = 16;
    while (n * 4 > cap * 3)
        cap *= 2;
    out[0] = '\0';
    for (unsigned b = 0; b < cap; b++)
        for (size_t i = 0; i < n; i++) {
            uint32_t h = (uint32_t)ref_hash(keys[i]);
            if (((h ^ (h >> 16)) & (cap - 1)) == b) {
                if (out[0])
                    strcat(out, ";");
                strcat(out, keys[i]);
            }
        }
}

/* Runs gw_vxp_hashmap_order over keys (values unused) and joins the result. */
static void sut_order(const char *const *keys, size_t n, char *out)
{
    struct gw_vxp_kv in[GW_VXP_MAX_PAIRS], res[GW_VXP_MAX_PAIRS];
    for (size_t i = 0; i < n; i++)
        in[i] = (struct gw_vxp_kv){keys[i], "v"};
    assert_int_equal(gw_vxp_hashmap_order(in, n, res), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ";");
        strcat(out, res[i].key);
    }
}

static void test_java_hash_and_order(void **state)
{
    /* Java 17: "systemid".hashCode() 1976086410, "servicetype" -1927416977, "Tên" 88088,
     * "\uD83D\uDE00x" 54959989 */
    static const struct {
        const char *s;
        int32_t h;
    } hv[] = {{"systemid", 1976086410},
              {"servicetype", -1927416977},
              {"T\xc3\xaan", 88088},
              {"\xf0\x9f\x98\x80x", 54959989},
              {"", 0}};
    static const char *const send[] = {"timestamp",   "systemid",    "Content-Type", "from",
                                       "servicetype", "messagetype", "hash-file"};
    static const char *const ack[] = {"timestamp", "systemid", "Content-Type", "docId", "status"};
    static const char *const thirteen[] = {"timestamp", "systemid", "Content-Type", "k01", "k02",
                                           "k03",       "k04",      "k05",          "k06", "k07",
                                           "k08",       "k09",      "k10"};
    char ref[512], sut[512];
    uint32_t h;

    (void)state;
    for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
        assert_int_equal(ref_hash(hv[i].s), hv[i].h);
        assert_int_equal(gw_vxp_java_hash(hv[i].s, &h), 0);
        assert_int_equal((int32_t)h, hv[i].h);
    }
    assert_int_equal(gw_vxp_java_hash("\xc3(", &h), GW_EINVAL);

    /* Orders printed by Java 17, the reference and the code under test agree. */
    ref_order(send, 7, ref);
    sut_order(send, 7, sut);
    assert_string_equal(ref, "systemid;servicetype;messagetype;hash-file;from;timestamp;"
                             "Content-Type");
    assert_string_equal(sut, ref);
    ref_order(ack, 5, ref);
    sut_order(ack, 5, sut);
    assert_string_equal(ref, "systemid;docId;timestamp;Content-Type;status");
    assert_string_equal(sut, ref);
    /* 12 pairs: capacity 16; 13 pairs: the table has grown to 32 */
    ref_order(thirteen, 12, ref);
    sut_order(thirteen, 12, sut);
    assert_string_equal(ref, "k06;k05;systemid;k08;k07;k09;k02;k01;k04;timestamp;Content-Type;k03");
    assert_string_equal(sut, ref);
    ref_order(thirteen, 13, ref);
    sut_order(thirteen, 13, sut);
    assert_string_equal(ref,
                        "systemid;k10;k02;k01;k04;k03;k06;k05;k08;k07;k09;timestamp;Content-Type");
    assert_string_equal(sut, ref);
    /* every size up to the limit, keys chosen to collide and spread */
    static const char *const many[] = {
        "timestamp", "systemid",    "Content-Type", "from", "docId", "hash-file",
        "status",    "servicetype", "messagetype",  "a",    "b",     "c",
        "Tên",       "zz",          "k1",           "k2",   "k3",    "k4",
        "k5",        "k6",          "k7",           "k8",   "k9",    "k10"};
    for (size_t n = 1; n <= GW_VXP_MAX_PAIRS; n++) {
        ref_order(many, n, ref);
        sut_order(many, n, sut);
        assert_string_equal(sut, ref);
    }
    struct gw_vxp_kv dup[] = {{"a", "1"}, {"a", "2"}}, out[2];
    assert_int_equal(gw_vxp_hashmap_order(dup, 2, out), GW_EINVAL);
}

/* --- header sets --------------------------------------------------------------------------- */

static const char *find_header(char **h, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; h[i]; i++)
        if (strncmp(h[i], name, nl) == 0 && h[i][nl] == ':' && h[i][nl + 1] == ' ')
            return h[i] + nl + 2;
    return NULL;
}

static size_t count(char **h)
{
    size_t n = 0;
    while (h[n])
        n++;
    return n;
}

/* domain.md §5, verbatim. */
static void test_worked_example(void **state)
{
    static const char secret[] = "TEST-ONLY-secret-not-a-real-key";
    struct gw_vxp_kv call[] = {{"servicetype", "eDoc"}, {"messagetype", "edoc"}};
    char **h;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("000.00.00.H41", (const unsigned char *)secret,
                                          strlen(secret), "28092018T172511+0123",
                                          "application/json", call, 2, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "systemid;servicetype;messagetype;timestamp;Content-Type");
    assert_string_equal(
        find_header(h, "XroadVnpt-sign-header"),
        "{\"XroadVnpt-systemid\":\"000.00.00.H41\",\"XroadVnpt-servicetype\":\"eDoc\","
        "\"XroadVnpt-messagetype\":\"edoc\",\"XroadVnpt-timestamp\":\"28092018T172511+0123\","
        "\"XroadVnpt-Content-Type\":\"application/json\"}");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "0930375de28ac64c40ae8aeb86cc6e7b8e46442720651ecc79f848bfe3162597");
    gw_vxp_headers_free(h);
}

/* sendEdoc with a 44-character secret. SH_SEND's HMAC: printf '%s' "$SH_SEND" | openssl dgst
 * -sha256 -hmac "$S44"; its hash-file is that of PKG: openssl dgst -sha256 gives
 * 2cab6b3e099fb95dfbc0376dd036688b290abf01a57884ad03ec3bab5db345f5 (09, 0a, 01, 03 unpadded). */
#define PKG "<edXML>g\xc3\xb3i tin 0</edXML>"
#define HF  "2cab6b3e99fb95dfbc0376dd036688b29abf1a57884ad3ec3bab5db345f5"
#define SH_SEND                                                                                    \
    "{\"XroadVnpt-systemid\":\"000.00.00.H49\",\"XroadVnpt-servicetype\":\"eDoc\","                \
    "\"XroadVnpt-messagetype\":\"edoc\",\"XroadVnpt-hash-file\":\"" HF "\","                       \
    "\"XroadVnpt-from\":\"000.00.00.H49\",\"XroadVnpt-timestamp\":\"" TS "\","                     \
    "\"XroadVnpt-Content-Type\":\"application/octet-stream\"}"

static void test_send_headers_44_char_secret(void **state)
{
    char hf[GW_VXP_HASH_LEN];
    char **h;

    (void)state;
    assert_int_equal(gw_vxp_hash_file((const unsigned char *)PKG, strlen(PKG), hf), 0);
    assert_string_equal(hf, HF);
    struct gw_vxp_kv call[] = {{"from", "000.00.00.H49"},
                               {"servicetype", "eDoc"},
                               {"messagetype", "edoc"},
                               {"hash-file", hf}};
    assert_int_equal(strlen(S44), 44);
    assert_int_equal(gw_vxp_build_headers("000.00.00.H49", (const unsigned char *)S44, 44, TS,
                                          "application/octet-stream", call, 4, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header"), SH_SEND);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "223820d2f4a92da4a00c2e8e42974a8c0753f4aa613cd34a64cb2f4210c56ea1");
    /* every pair also as its own header, Content-Type also plain, and the unsigned ones */
    assert_int_equal(count(h), 7 + 6);
    assert_string_equal(find_header(h, "XroadVnpt-systemid"), "000.00.00.H49");
    assert_string_equal(find_header(h, "XroadVnpt-from"), "000.00.00.H49");
    assert_string_equal(find_header(h, "XroadVnpt-timestamp"), TS);
    assert_string_equal(find_header(h, "XroadVnpt-servicetype"), "eDoc");
    assert_string_equal(find_header(h, "XroadVnpt-messagetype"), "edoc");
    assert_string_equal(find_header(h, "XroadVnpt-hash-file"), HF);
    assert_string_equal(find_header(h, "XroadVnpt-Content-Type"), "application/octet-stream");
    assert_string_equal(find_header(h, "Content-Type"), "application/octet-stream");
    assert_string_equal(find_header(h, "XroadVnpt-version"), "3.0.201608");
    assert_string_equal(find_header(h, "User-Agent"), "JAVASDKAgent/1.0.0 XRoad/VPCP");
    gw_vxp_headers_free(h);

    /* The base64-decoded secret as key gives another HMAC (the misreading the axis refuses). */
    unsigned char decoded[48];
    size_t dlen;
    assert_int_equal(EVP_DecodeBlock(decoded, (const unsigned char *)S44, 44), 33);
    dlen = 32; /* one '=' of padding */
    assert_int_equal(gw_vxp_build_headers("000.00.00.H49", decoded, dlen, TS,
                                          "application/octet-stream", call, 4, &h),
                     0);
    assert_string_not_equal(find_header(h, "XroadVnpt-hash-header"),
                            "223820d2f4a92da4a00c2e8e42974a8c0753f4aa613cd34a64cb2f4210c56ea1");
    gw_vxp_headers_free(h);
}

/* updateStatus: docId and status (status shares timestamp's bucket and comes after it). */
static void test_ack_headers(void **state)
{
    struct gw_vxp_kv call[] = {{"docId", "abc-123"}, {"status", "done"}};
    char **h;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("000.00.00.H49", (const unsigned char *)S44, 44, TS,
                                          "application/json", call, 2, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header"),
                        "{\"XroadVnpt-systemid\":\"000.00.00.H49\",\"XroadVnpt-docId\":\"abc-123\","
                        "\"XroadVnpt-timestamp\":\"" TS "\",\"XroadVnpt-Content-Type\":"
                        "\"application/json\",\"XroadVnpt-status\":\"done\"}");
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "systemid;docId;timestamp;Content-Type;status");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "06913f1f8ceb8ce10785782b19ff93cbcf33662ee18fa311130469275954b46f");
    assert_string_equal(find_header(h, "XroadVnpt-docId"), "abc-123");
    gw_vxp_headers_free(h);
}

/* A non-ASCII value travels raw (UTF-8) in its header and in sign-header. */
static void test_non_ascii_value(void **state)
{
    static const char note[] = "V\xc4\x83n th\xc6\xb0 S\xe1\xbb\x9f N\xe1\xbb\x99i v\xe1\xbb\xa5";
    struct gw_vxp_kv call[] = {{"servicetype", "eDoc"}, {"messagetype", "status"}, {"note", note}};
    char **h;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("vxp.saas.07", (const unsigned char *)S44, 44, TS,
                                          "application/json", call, 3, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header"),
                        "{\"XroadVnpt-note\":\"" /* Văn thư Sở Nội vụ */
                        "V\xc4\x83n th\xc6\xb0 S\xe1\xbb\x9f N\xe1\xbb\x99i v\xe1\xbb\xa5\","
                        "\"XroadVnpt-systemid\":\"vxp.saas.07\",\"XroadVnpt-servicetype\":\"eDoc\","
                        "\"XroadVnpt-messagetype\":\"status\",\"XroadVnpt-timestamp\":\"" TS "\","
                        "\"XroadVnpt-Content-Type\":\"application/json\"}");
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "note;systemid;servicetype;messagetype;timestamp;Content-Type");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "f8e1ad684765fb900f47b3e9e572a627d82226ca925914e09112f98b45ca477d");
    assert_string_equal(find_header(h, "XroadVnpt-note"), note);
    gw_vxp_headers_free(h);
}

/* 13 pairs: the HashMap has grown to 32 buckets. */
static void test_more_than_12_pairs(void **state)
{
    struct gw_vxp_kv call[10];
    char keys[10][4], vals[10][4];
    char **h;

    (void)state;
    for (int i = 0; i < 10; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%02d", i + 1);
        snprintf(vals[i], sizeof(vals[i]), "v%d", i + 1);
        call[i] = (struct gw_vxp_kv){keys[i], vals[i]};
    }
    assert_int_equal(gw_vxp_build_headers("000.00.00.H49", (const unsigned char *)S44, 44, TS,
                                          "application/json", call, 10, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "systemid;k10;k02;k01;k04;k03;k06;k05;k08;k07;k09;timestamp;Content-Type");
    assert_string_equal(
        find_header(h, "XroadVnpt-sign-header"),
        "{\"XroadVnpt-systemid\":\"000.00.00.H49\",\"XroadVnpt-k10\":\"v10\",\"XroadVnpt-k02\":"
        "\"v2\",\"XroadVnpt-k01\":\"v1\",\"XroadVnpt-k04\":\"v4\",\"XroadVnpt-k03\":\"v3\","
        "\"XroadVnpt-k06\":\"v6\",\"XroadVnpt-k05\":\"v5\",\"XroadVnpt-k08\":\"v8\","
        "\"XroadVnpt-k07\":\"v7\",\"XroadVnpt-k09\":\"v9\",\"XroadVnpt-timestamp\":\"" TS "\","
        "\"XroadVnpt-Content-Type\":\"application/json\"}");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "05339fa7c52f7426bb8274e7e331b6472b25e6937fc3db15f2cccb22d62c8718");
    gw_vxp_headers_free(h);
    /* 12 pairs (cap 16): c02e34... = HMAC of the Java-printed 12-pair text */
    assert_int_equal(gw_vxp_build_headers("000.00.00.H49", (const unsigned char *)S44, 44, TS,
                                          "application/json", call, 9, &h),
                     0);
    assert_string_equal(find_header(h, "XroadVnpt-sign-header-key"),
                        "k06;k05;systemid;k08;k07;k09;k02;k01;k04;timestamp;Content-Type;k03");
    assert_string_equal(find_header(h, "XroadVnpt-hash-header"),
                        "c02e347ff8c9192c0e04fc8ea700baa677458b1c48c948b28539343dd2c311ed");
    gw_vxp_headers_free(h);
    struct gw_vxp_kv too_many[GW_VXP_MAX_PAIRS - 2];
    for (size_t i = 0; i < GW_VXP_MAX_PAIRS - 2; i++)
        too_many[i] = (struct gw_vxp_kv){"k", "v"};
    assert_int_equal(gw_vxp_build_headers("s", (const unsigned char *)"k", 1, TS, "a/b", too_many,
                                          GW_VXP_MAX_PAIRS - 2, &h),
                     GW_EINVAL);
}

/* hash-file: the digest's bytes in lowercase hex without zero padding. Expected digests from
 * `openssl dgst -sha256`; the unpadded form written out by hand from them. */
static void test_hash_file(void **state)
{
    char hf[GW_VXP_HASH_LEN];

    (void)state;
    /* ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad */
    assert_int_equal(gw_vxp_hash_file((const unsigned char *)"abc", 3, hf), 0);
    assert_string_equal(hf, "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad");
    /* e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855: no byte < 0x10 */
    assert_int_equal(gw_vxp_hash_file(NULL, 0, hf), 0);
    assert_string_equal(hf, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* --- values, escaping, time ---------------------------------------------------------------- */

/* Only ", \ and control characters are escaped; DEL and non-ASCII stay raw. */
static void test_json_escaping(void **state)
{
    struct gw_vxp_kv kv[] = {
        {"q", "a\"b\\c"},      {"ctl", "x\ty\x01z\x7f\n"},
        {"utf8", "Sở Nội vụ"}, {"emoji", "\xf0\x9f\x98\x80"},
        {"empty", ""},
    };
    struct gw_vxp_kv bad_utf8[] = {{"k", "\xc3("}};
    struct gw_vxp_kv overlong[] = {{"k", "\xc0\xaf"}};
    char *json;

    (void)state;
    assert_int_equal(gw_vxp_sign_json(kv, 5, &json), 0);
    assert_string_equal(json, "{\"XroadVnpt-q\":\"a\\\"b\\\\c\",\"XroadVnpt-ctl\":"
                              "\"x\\ty\\u0001z\x7f\\n\",\"XroadVnpt-utf8\":\"Sở Nội vụ\","
                              "\"XroadVnpt-emoji\":\"\xf0\x9f\x98\x80\",\"XroadVnpt-empty\":\"\"}");
    free(json);
    assert_int_equal(gw_vxp_sign_json(kv, 0, &json), 0);
    assert_string_equal(json, "{}");
    free(json);
    assert_int_equal(gw_vxp_sign_json(bad_utf8, 1, &json), GW_EINVAL);
    assert_null(json);
    assert_int_equal(gw_vxp_sign_json(overlong, 1, &json), GW_EINVAL);
    assert_int_equal(gw_vxp_key_list(kv, 3, &json), 0);
    assert_string_equal(json, "q;ctl;utf8");
    free(json);
}

/* UTC+7 whatever the host's zone; +SSSS is the milliseconds, not an offset. */
static void test_timestamp(void **state)
{
    static const char *const zones[] = {"UTC", "America/New_York", "Asia/Ho_Chi_Minh"};
    char ts[GW_VXP_TS_LEN];

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        setenv("TZ", zones[i], 1);
        tzset();
        /* 1709649015 = 2024-03-05 14:30:15 UTC (date -u -d @1709649015) */
        assert_int_equal(gw_vxp_timestamp(1709649015, 123, ts), 0);
        assert_string_equal(ts, "05032024T213015+0123");
        assert_int_equal(gw_vxp_timestamp(1709649015, 0, ts), 0);
        assert_string_equal(ts, "05032024T213015+0000");
        assert_int_equal(gw_vxp_timestamp(1709649015, 999, ts), 0);
        assert_string_equal(ts, "05032024T213015+0999");
        /* 1704052800 = 2023-12-31 20:00:00 UTC: already 2024 in Vietnam */
        assert_int_equal(gw_vxp_timestamp(1704052800, 7, ts), 0);
        assert_string_equal(ts, "01012024T030000+0007");
        assert_int_equal(gw_vxp_timestamp(1709649015, 1000, ts), GW_EINVAL);
    }
    unsetenv("TZ");
    tzset();
}

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

    (void)state;
    assert_int_equal(gw_digest_hmac_sha256_hex((const unsigned char *)"secret-key-12345", 16, SH,
                                               strlen(SH), mac),
                     0);
    assert_string_equal(mac, SH_MAC);
    /* binary key with NUL */
    assert_int_equal(gw_digest_hmac_sha256_hex((const unsigned char *)"\x00\xff\x10"
                                                                      "binary",
                                               9, "{\"a\":\"b\"}", 9, mac),
                     0);
    assert_string_equal(mac, "377302f651caedc57c59fd3c6484477a23b364de9b181cbb22567bf758aa63a3");
}

static void test_header_injection_rejected(void **state)
{
    static const unsigned char key[] = "k";
    struct gw_vxp_kv bad[] = {{"docId", "abc\r\nX-Evil: 1"}};
    struct gw_vxp_kv badkey[] = {{"do;cId", "x"}};
    struct gw_vxp_kv quote[] = {{"do\"cId", "x"}};
    struct gw_vxp_kv dup[] = {{"systemid", "other"}};
    char **h = NULL;

    (void)state;
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, TS, "a/b", bad, 1, &h), GW_EINVAL);
    assert_null(h);
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, TS, "a/b", badkey, 1, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, TS, "a/b", quote, 1, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_build_headers("sys", key, 1, TS, "a/b", dup, 1, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_build_headers("s\ny", key, 1, TS, "a/b", NULL, 0, &h), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("Sở Nội vụ"), 0);
    assert_int_equal(gw_vxp_value_ok(" padded"), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("padded "), GW_EINVAL);
    assert_int_equal(gw_vxp_value_ok("\xff"), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_hash_and_order),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_send_headers_44_char_secret),
        cmocka_unit_test(test_ack_headers),
        cmocka_unit_test(test_non_ascii_value),
        cmocka_unit_test(test_more_than_12_pairs),
        cmocka_unit_test(test_hash_file),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_header_injection_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
