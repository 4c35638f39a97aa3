/*
 * Unit tests for the streamed getEdoc pieces: the incremental JSON envelope scanner (vxp_scan.c)
 * and the incremental base64 decoder (vxp_b64.c). Table-driven; every input is fed whole, one byte
 * at a time and split at every position, and must give the same result. Base64 vectors are RFC
 * 4648 §10's; the JSON cases are written from RFC 8259 (every escape, surrogate pairs, member
 * order, nesting, bad grammar).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "adapters/vxp/vxp_scan.h"
#include "adapters/vxp/vxp_sign.h"

struct got {
    char data[256];
    size_t len;
};

static int on_data(void *ud, const char *p, size_t n)
{
    struct got *g = ud;
    assert_true(n > 0);
    assert_true(g->len + n < sizeof(g->data));
    memcpy(g->data + g->len, p, n);
    g->len += n;
    return 0;
}

struct scase {
    const char *json;
    int rc;           /* of feed, then of end */
    const char *data; /* NULL: no data string */
    int data_kind;
    const char *status; /* NULL: absent */
    int code_kind;
    const char *code;
    const char *desc; /* NULL: absent */
};

static const struct scase scases[] = {
    {"{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\",\"data\":\"QUJD\"}", 0, "QUJD", 1,
     "OK", 1, "0", ""},
    {"{\"data\":\"QUJD\",\"status\":\"FAIL\",\"ErrorCode\":\"500\",\"ErrorDesc\":\"x y\"}", 0,
     "QUJD", 1, "FAIL", 1, "500", "x y"},
    {" {\"ErrorCode\": 0 , \"data\" : \"a\\/b\\r\\nc\" }\r\n", 0, "a/b\r\nc", 1, NULL, 2, "0",
     NULL},
    {"{\"data\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", 0, "\"\\/\b\f\n\r\t", 1, NULL, 0, "", NULL},
    {"{\"data\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"}", 0,
     "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 1, NULL, 0, "", NULL},
    {"{\"a\":{\"data\":\"no\",\"b\":[1,-2.5e+3,true,false,null,{\"c\":[]}]},\"data\":\"yes\","
     "\"z\":[]}",
     0, "yes", 1, NULL, 0, "", NULL},
    {"{\"ErrorCode\":-1.5E2,\"status\":\"ok\",\"ErrorDesc\":\"L\\u1ea1i\"}", 0, NULL, 0, "ok", 2,
     "-1.5E2", "L\xe1\xba\xa1i"},
    {"{\"data\":12,\"status\":null}", 0, NULL, 2, NULL, 0, "", NULL},
    {"{\"status\":\"FAIL\",\"status\":\"OK\",\"data\":\"\"}", 0, "", 1, "OK", 0, "", NULL},
    {"{}", 0, NULL, 0, NULL, 0, "", NULL},
    /* refused */
    {"{\"data\":\"a\",\"data\":\"b\"}", GW_ECONFLICT, NULL, 0, NULL, 0, "", NULL},
    {"[{\"data\":\"a\"}]", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"a\"", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"a\"}x", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"a\nb\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"\\x\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"\\ud83d\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"\\ude00\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"\\u0000\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"data\":\"\\u12g4\"}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\":01}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\":1.}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\":tru}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\":1,}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\" 1}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"{\"a\":[1}", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
    {"<html>", GW_EPARSE, NULL, 0, NULL, 0, "", NULL},
};

/* Feeds json in pieces of at most `step` bytes (or split once at `split` when step is 0). */
static int scan(const char *json, size_t step, size_t split, struct gw_vxp_scan *s, struct got *g)
{
    size_t len = strlen(json), off = 0;
    int rc = 0;

    memset(g, 0, sizeof(*g));
    gw_vxp_scan_init(s);
    s->data = on_data;
    s->ud = g;
    while (off < len && rc == 0) {
        size_t n = step ? step : (off == 0 ? split : len - off);
        if (n > len - off)
            n = len - off;
        rc = gw_vxp_scan_feed(s, json + off, n);
        off += n;
    }
    return rc ? rc : gw_vxp_scan_end(s);
}

static void check(const struct scase *c, const struct gw_vxp_scan *s, const struct got *g, int rc)
{
    assert_int_equal(rc, c->rc);
    if (rc != 0)
        return;
    assert_int_equal(s->data_kind, c->data_kind);
    if (c->data) {
        assert_int_equal(g->len, strlen(c->data));
        assert_memory_equal(g->data, c->data, g->len);
    } else {
        assert_int_equal(g->len, 0);
    }
    assert_int_equal(s->has_status, c->status != NULL);
    if (c->status)
        assert_string_equal(s->status, c->status);
    assert_int_equal(s->code_kind, c->code_kind);
    if (c->code_kind)
        assert_string_equal(s->code, c->code);
    assert_int_equal(s->has_desc, c->desc != NULL);
    if (c->desc)
        assert_string_equal(s->desc, c->desc);
}

static void test_scan_table(void **state)
{
    struct gw_vxp_scan s;
    struct got g;

    (void)state;
    for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
        const struct scase *c = &scases[i];
        size_t len = strlen(c->json);
        check(c, &s, &g, scan(c->json, len ? len : 1, 0, &s, &g));
        check(c, &s, &g, scan(c->json, 1, 0, &s, &g));
        for (size_t k = 1; k < len; k++)
            check(c, &s, &g, scan(c->json, 0, k, &s, &g));
    }
}

static void test_scan_depth_and_long(void **state)
{
    struct gw_vxp_scan s;
    struct got g;
    char deep[200], desc[2000];
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(scan(deep, strlen(deep), 0, &s, &g), GW_EPARSE); /* over 64 levels */
    /* an ErrorDesc longer than kept is cut; the scan goes on */
    n = (size_t)snprintf(desc, sizeof(desc), "{\"ErrorDesc\":\"");
    for (int i = 0; i < 1500; i++)
        desc[n++] = 'd';
    n += (size_t)snprintf(desc + n, sizeof(desc) - n, "\",\"status\":\"FAIL\"}");
    assert_int_equal(scan(desc, 7, 0, &s, &g), 0);
    assert_int_equal(strlen(s.desc), sizeof(s.desc) - 1);
    assert_string_equal(s.status, "FAIL");
}

static const char *const b64_vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static int b64(const char *in, size_t step, uint8_t *out, size_t *out_len)
{
    struct gw_vxp_b64 b;
    size_t len = strlen(in), off = 0, total = 0;

    gw_vxp_b64_init(&b);
    while (off < len) {
        size_t n = step < len - off ? step : len - off, got = 0;
        if (gw_vxp_b64_feed(&b, in + off, n, out + total, &got) != 0)
            return GW_EPARSE;
        assert_true(got <= n / 4 * 3 + 3);
        total += got;
        off += n;
    }
    *out_len = total;
    return gw_vxp_b64_end(&b);
}

static void test_b64_incremental(void **state)
{
    static const char *const bad[] = {
        "Zg=", "Zg", "Z===", "=Zg=", "Zg==Zg==", "Zm9v!", "Zg=a", "Zm9vY", "Zg==\x80",
    };
    uint8_t out[128];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
        for (size_t step = 1; step <= 9; step++) {
            assert_int_equal(b64(b64_vectors[i][1], step, out, &n), 0);
            assert_int_equal(n, strlen(b64_vectors[i][0]));
            assert_memory_equal(out, b64_vectors[i][0], n);
        }
    }
    /* white space anywhere, as the whole-buffer decoder allows */
    assert_int_equal(b64(" Zm9v\r\nYm\tFy \n", 3, out, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(b64("Zm9vYg=\n=", 1, out, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        for (size_t step = 1; step <= 5; step++)
            assert_int_equal(b64(bad[i], step, out, &n), GW_EPARSE);
}

/* The incremental decoder agrees with the whole-buffer one over every byte value. */
static void test_b64_agrees(void **state)
{
    enum { N = 3000 };
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t raw[N], *inc = malloc(N + 8);
    char enc[N / 3 * 4 + 8];
    size_t e = 0, in = 0;

    (void)state;
    for (size_t i = 0; i < N; i++)
        raw[i] = (uint8_t)(i * 167 + i / 256);
    for (size_t i = 0; i < N; i += 3) { /* N is a multiple of 3: no padding */
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        enc[e++] = alphabet[v >> 18];
        enc[e++] = alphabet[(v >> 12) & 63];
        enc[e++] = alphabet[(v >> 6) & 63];
        enc[e++] = alphabet[v & 63];
    }
    enc[e] = '\0';
    assert_int_equal(b64(enc, 1021, inc, &in), 0);
    assert_int_equal(in, N);
    assert_memory_equal(inc, raw, N);
    free(inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_table),
        cmocka_unit_test(test_scan_depth_and_long),
        cmocka_unit_test(test_b64_incremental),
        cmocka_unit_test(test_b64_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
