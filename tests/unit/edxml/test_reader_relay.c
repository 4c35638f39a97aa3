/*
 * The reader's relay landmarks used end to end: for fixtures of every trace mode and prefix
 * style, the copy for the first recipient (edxml_relay.h) is read back with the reader: one
 * recipient, one more TraceHeader (the gateway's, last), every attachment hashing as before, and
 * the bytes outside the edits unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edxml/edxml_reader.h"
#include "edxml/edxml_relay.h"

#define DIR GW_SOURCE_DIR "/tests/fixtures/edxml/reader/"

struct out {
    char *p;
    size_t n;
};

static int emit(const void *buf, size_t len, void *ud)
{
    struct out *o = ud;

    o->p = realloc(o->p, o->n + len + 1);
    assert_non_null(o->p);
    memcpy(o->p + o->n, buf, len);
    o->n += len;
    return 0;
}

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof(path), DIR "%s", name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void copy_one(const char *name)
{
    struct gw_edxml_doc *d = NULL, *c = NULL;
    struct gw_edxml_plan plan;
    struct gw_edxml_apply ap;
    struct out o = {0};
    char msg[200];
    size_t len;
    char *buf = slurp(name, &len);
    const char *keep[1];

    assert_int_equal(gw_edxml_read(buf, len, NULL, &d, NULL, msg, sizeof(msg)), 0);
    assert_true(d->relay.editable);
    assert_true(d->n_recipients >= 1);
    keep[0] = d->recipients[0];
    assert_int_equal(
        gw_edxml_plan_copy(&d->relay, len, keep, 1, "000.00.00.H41", "2026/01/02 03:04:05", &plan),
        0);
    gw_edxml_apply_init(&ap, &plan);
    for (size_t off = 0; off < len; off += 7)
        assert_int_equal(
            gw_edxml_apply_feed(&ap, buf + off, len - off < 7 ? len - off : 7, emit, &o), 0);
    assert_int_equal(gw_edxml_apply_end(&ap, emit, &o), 0);
    assert_int_equal(o.n, plan.out_len);
    if (gw_edxml_read(o.p, o.n, NULL, &c, NULL, msg, sizeof(msg)) != 0) {
        print_error("%s: copy not readable: %s\n", name, msg);
        fail();
    }
    assert_int_equal(c->n_recipients, 1);
    assert_string_equal(c->recipients[0], keep[0]);
    assert_int_equal(c->n_traces, d->n_traces + 1);
    assert_string_equal(c->traces[c->n_traces - 1].organ_id, "000.00.00.H41");
    assert_string_equal(c->traces[c->n_traces - 1].timestamp, "2026/01/02 03:04:05");
    assert_int_equal(c->n_attachments, d->n_attachments);
    for (size_t i = 0; i < d->n_attachments; i++)
        assert_memory_equal(c->attachments[i].sha256, d->attachments[i].sha256, 32);
    assert_string_equal(c->document_id, d->document_id);
    assert_string_equal(c->subject ? c->subject : "", d->subject ? d->subject : "");
    gw_edxml_plan_free(&plan);
    gw_edxml_doc_free(d);
    free(d);
    gw_edxml_doc_free(c);
    free(c);
    free(o.p);
    free(buf);
}

static void test_copies(void **state)
{
    static const char *const names[] = {
        "full_unprefixed.xml",        "full_prefixed_placeholder_sig.xml",
        "mixed_prefixes.xml",         "quirk_bussiness_first.xml",
        "quirk_to_without_organ.xml", "quirk_attachment_unprefixed.xml",
        "landmark_no_list.xml",       "landmark_empty_list.xml",
        "quirk_trace_no_organ.xml",   "zip_vendor_convention.xml",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        copy_one(names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
