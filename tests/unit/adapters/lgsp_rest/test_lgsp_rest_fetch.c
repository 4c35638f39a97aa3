/*
 * Unit tests for adapters/lgsp_rest/lgsp_rest_fetch.c, the streamed getEdoc scanner: fed in
 * pieces of 1, 3, 7 bytes and whole, it gives the sink exactly what the whole-answer decoder
 * (gw_lr_edxml after gw_lr_envelope) gives, with the same error codes: raw text with JSON escapes
 * (surrogate pairs, BOM), base64 with line breaks, members in any order, a refusal after the data,
 * the size cap, malformed JSON, a second edxml, a sink that pauses or aborts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/lgsp_rest/lgsp_rest_internal.h"
#include "util/error.h"

struct snk {
    struct gw_axis_sink sink;
    uint8_t buf[4096];
    size_t len;
    int pause_every; /* answer PAUSED to every n-th write */
    int writes;
    int fail_at; /* answer GW_EIO once this many bytes were taken (0: never) */
};

static int snk_write(struct gw_axis_sink *s, const uint8_t *data, size_t n)
{
    struct snk *k = s->ud;
    assert_true(k->len + n <= sizeof(k->buf));
    memcpy(k->buf + k->len, data, n);
    k->len += n;
    k->writes++;
    if (k->fail_at && k->len >= (size_t)k->fail_at)
        return GW_EIO;
    return k->pause_every && k->writes % k->pause_every == 0 ? GW_AXIS_SINK_PAUSED : 0;
}

/* The whole-answer verdict and bytes. */
static int whole(const char *json, size_t max, uint8_t **out, size_t *n)
{
    json_t *root = NULL;
    char d[GW_LR_DETAIL_LEN];
    int rc = gw_lr_parse(json, strlen(json), &root, d, sizeof(d));

    *out = NULL;
    *n = 0;
    if (rc == 0)
        rc = gw_lr_envelope(root, d, sizeof(d));
    if (rc == 0)
        rc = gw_lr_edxml(root, max, out, n, d, sizeof(d));
    json_decref(root);
    return rc;
}

static int streamed(const char *json, size_t max, size_t piece, struct snk *k, char *d)
{
    struct gw_lr_fetch *f;
    struct gw_httpc_sink hs;
    size_t len = strlen(json);
    int rc = 0;

    k->sink.write = snk_write;
    k->sink.ud = k;
    assert_int_equal(gw_lr_fetch_new(&k->sink, max, &f), 0);
    gw_lr_fetch_sink(f, &hs);
    for (size_t i = 0; i < len && rc == 0; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        rc = gw_lr_fetch_feed(f, json + i, n);
        if (rc == GW_HTTPC_PAUSE) {
            gw_axis_sink_resume(&k->sink); /* nothing in flight: only clears the pause */
            rc = 0;
        }
    }
    d[0] = '\0';
    rc = gw_lr_fetch_verdict(f, d, GW_LR_DETAIL_LEN);
    gw_lr_fetch_free(f);
    return rc;
}

static void same(const char *json, size_t max)
{
    static const size_t pieces[] = {1, 3, 7, 100000};
    uint8_t *ref;
    size_t n;
    int want = whole(json, max, &ref, &n);
    char d[GW_LR_DETAIL_LEN];

    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        struct snk k = {.pause_every = (int)i + 1};
        int rc = streamed(json, max, pieces[i], &k, d);
        if (rc != want)
            fprintf(stderr, "%s: piece %zu: %d, want %d (%s)\n", json, pieces[i], rc, want, d);
        assert_int_equal(rc, want);
        if (want == 0) {
            assert_int_equal(k.len, n);
            assert_memory_equal(k.buf, ref, n);
        }
    }
    free(ref);
}

static void test_same_as_whole(void **state)
{
    (void)state;
    /* raw, escapes of every kind, a surrogate pair, BOM and blanks kept */
    same("{\"success\":true,\"data\":{\"docId\":\"1\",\"edxml\":\"\\ufeff \\n<a x=\\\"1\\\">"
         "\\u1ec7\\ud83d\\ude00\\/\\\\\\t\xE1\xBB\x87</a>\",\"attachments\":[]}}",
         1000);
    /* base64 with CRLF every few characters, data before success, nested noise */
    same("{\"data\":{\"attachments\":[{\"edxml\":\"no\"}],\"edxml\":\"PGU+aGk8\\r\\nL2U+Cg==\","
         "\"x\":{\"edxml\":1}},\"message\":\"\",\"success\":true}",
         1000);
    same("{\"success\":true,\"data\":{\"edxml\":\"PGU+aGk8L2U+Cg\"}}", 1000); /* no padding */
    /* over the cap both ways */
    same("{\"success\":true,\"data\":{\"edxml\":\"PGU+aGk8L2U+Cg==\"}}", 9);
    same("{\"success\":true,\"data\":{\"edxml\":\"<abcdefghij/>\"}}", 9);
    same("{\"success\":true,\"data\":{\"edxml\":\"<abcdefghi/>\"}}", 13); /* exactly the cap */
    /* not base64, absent, not a string, empty */
    same("{\"success\":true,\"data\":{\"edxml\":\"PGU*\"}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"PGU+a\"}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"PA==PA==\"}}", 100);
    same("{\"success\":true,\"data\":{}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":5}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"\"}}", 100);
    /* refusals, also after the data */
    same("{\"data\":{\"edxml\":\"<a/>\",\"errorCode\":22,\"errorDesc\":\"bad\"},\"success\":false}",
         100);
    same("{\"success\":false,\"data\":{\"errorCode\":\"15\",\"errorDesc\":\"sys\"}}", 100);
    same("{\"success\":false,\"message\":\"no code\"}", 100);
    same("{\"success\":false,\"errorCode\":20}", 100);
    same("{\"data\":{\"edxml\":\"<a/>\"}}", 100); /* no success: the edxml decides */
    same("{\"success\":null,\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"success\":\"True\",\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"success\":\"false\",\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"success\":1,\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"success\":\"yes\",\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"data\":{\"edxml\":\"<a/>\",\"errorCode\":18}}", 100);
    same("{\"status\":\"FAIL\",\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"data\":{\"status\":\"fail\",\"edxml\":\"<a/>\"}}", 100);
    same("{\"data\":{\"status\":\"pending\",\"edxml\":\"<a/>\"}}", 100);
    /* not one JSON object */
    same("[{\"success\":true}]", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\"}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\"}} x", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a\\q/>\"}}", 100);
    same("{\"success\":tru,\"data\":{\"edxml\":\"<a/>\"}}", 100);
    /* a value missing */
    same("{\"success\":true,\"x\":,\"data\":{\"edxml\":\"<a/>\"}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"x\":}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"n\":[1,,]}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"n\":[1,]}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"n\":[,1]}}", 100);
    same("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"n\":[[],{}]}}", 100);
}

static void test_second_edxml_and_sink_abort(void **state)
{
    struct snk k = {0};
    char d[GW_LR_DETAIL_LEN];

    (void)state;
    /* jansson refuses duplicate members; the scanner refuses a second edxml itself */
    assert_int_equal(streamed("{\"success\":true,\"data\":{\"edxml\":\"<a/>\",\"edxml\":\"<b/>\"}}",
                              100, 5, &k, d),
                     GW_EAXIS);
    assert_string_equal(d, "response with data.edxml twice");
    memset(&k, 0, sizeof(k));
    k.fail_at = 2;
    assert_int_equal(
        streamed("{\"success\":true,\"data\":{\"edxml\":\"<abcdef/>\"}}", 100, 1, &k, d), GW_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_whole),
        cmocka_unit_test(test_second_edxml_and_sink_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
