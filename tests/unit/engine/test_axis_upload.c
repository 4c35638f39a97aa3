/* gw_axis_upload (engine/axis_upload.c): the bytes the HTTP client's source gives, around a body
 * that answers at once, its length, its restarts, and a body that breaks its length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/axis.h"
#include "util/error.h"

struct src {
    struct gw_axis_body body;
    size_t pos, size; /* size: what the body really has (may differ from body.len) */
    int rewinds;
};

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

static int src_read(struct gw_axis_body *b, size_t cap, gw_axis_body_done_cb done, void *ud)
{
    struct src *s = b->ud;
    uint8_t chunk[4096];
    size_t n = s->size - s->pos;

    if (n > cap)
        n = cap;
    if (n > sizeof(chunk))
        n = sizeof(chunk);
    for (size_t i = 0; i < n; i++)
        chunk[i] = pattern(s->pos + i);
    s->pos += n;
    done(0, chunk, n, ud);
    return 0;
}

static int src_rewind(struct gw_axis_body *b)
{
    struct src *s = b->ud;
    s->pos = 0;
    s->rewinds++;
    return 0;
}

static void src_init(struct src *s, size_t len, size_t size, bool can_rewind)
{
    memset(s, 0, sizeof(*s));
    s->body.len = len;
    s->body.read = src_read;
    s->body.rewind = can_rewind ? src_rewind : NULL;
    s->body.ud = s;
    s->size = size;
}

/* Everything the source gives, in reads of at most piece bytes; the last read's code. */
static int64_t drain(struct gw_httpc_source *hs, uint8_t *out, size_t max, size_t piece,
                     size_t *got)
{
    int64_t r = 0;

    *got = 0;
    while (*got < max && (r = hs->read(hs->ud, (char *)out + *got, piece)) > 0)
        *got += (size_t)r;
    return r;
}

static void check(const uint8_t *out, size_t got, const char *pre, size_t len, const char *post)
{
    size_t pl = strlen(pre), ql = strlen(post);

    assert_int_equal(got, pl + len + ql);
    assert_memory_equal(out, pre, pl);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(out[pl + i], pattern(i));
    assert_memory_equal(out + pl + len, post, ql);
}

static void run(size_t len, size_t piece, bool restart_needs_rewind)
{
    static uint8_t out[600 * 1024];
    const char *pre = "--b\r\nhead\r\n\r\n", *post = "\r\n--b--\r\n";
    struct gw_axis_upload *up;
    struct gw_httpc_source hs;
    struct src s;
    size_t got;

    src_init(&s, len, len, true);
    assert_int_equal(gw_axis_upload_new(&s.body, pre, strlen(pre), post, strlen(post), &up), 0);
    assert_int_equal(gw_axis_upload_len(up), strlen(pre) + len + strlen(post));
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    drain(&hs, out, sizeof(out), piece, &got);
    check(out, got, pre, len, post);
    assert_false(gw_axis_upload_busy(up, NULL, NULL));
    /* sent again (a retry): from the buffer when it still holds the start, else rewound */
    assert_int_equal(gw_axis_upload_restart(up), 0);
    assert_int_equal(s.rewinds, restart_needs_rewind ? 1 : 0);
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    drain(&hs, out, sizeof(out), piece, &got);
    check(out, got, pre, len, post);
    gw_axis_upload_free(up);
}

static void test_bytes_and_restart(void **state)
{
    (void)state;
    run(1, 1, false);
    run(1000, 7, false);
    run(128 * 1024, 16384, false); /* exactly the buffer */
    run(300 * 1024 + 5, 16384, true);
}

static void test_no_preamble_and_broken_length(void **state)
{
    static uint8_t out[4096];
    struct gw_axis_upload *up;
    struct gw_httpc_source hs;
    struct src s;
    size_t got;

    (void)state;
    /* vxp's form: the package then CRLF */
    src_init(&s, 10, 10, false);
    assert_int_equal(gw_axis_upload_new(&s.body, NULL, 0, "\r\n", 2, &up), 0);
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    drain(&hs, out, sizeof(out), 3, &got);
    check(out, got, "", 10, "\r\n");
    gw_axis_upload_free(up);
    /* shorter than announced: an error, never a wrong Content-Length */
    src_init(&s, 10, 6, false);
    assert_int_equal(gw_axis_upload_new(&s.body, NULL, 0, "\r\n", 2, &up), 0);
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    assert_int_equal(drain(&hs, out, sizeof(out), 100, &got), GW_ECOPY);
    gw_axis_upload_free(up);
    /* longer than announced */
    src_init(&s, 10, 20, false);
    assert_int_equal(gw_axis_upload_new(&s.body, NULL, 0, "\r\n", 2, &up), 0);
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    assert_int_equal(drain(&hs, out, sizeof(out), 100, &got), GW_EIO);
    gw_axis_upload_free(up);
    /* a large body without rewind cannot be sent again once the buffer moved on */
    static uint8_t big[300 * 1024];
    src_init(&s, 200 * 1024, 200 * 1024, false);
    assert_int_equal(gw_axis_upload_new(&s.body, NULL, 0, "\r\n", 2, &up), 0);
    gw_axis_upload_source(up, &hs);
    gw_axis_upload_attach(up, NULL);
    drain(&hs, big, sizeof(big), 16384, &got);
    assert_int_equal(got, 200 * 1024 + 2);
    assert_int_equal(gw_axis_upload_restart(up), GW_EHTTP);
    gw_axis_upload_free(up);
    /* an empty body is refused */
    src_init(&s, 0, 0, false);
    assert_int_equal(gw_axis_upload_new(&s.body, NULL, 0, "\r\n", 2, &up), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_and_restart),
        cmocka_unit_test(test_no_preamble_and_broken_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
