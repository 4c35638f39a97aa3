/*
 * Unit tests for the JSON form of a package (edxml_json.c): every member of the shape in
 * edxml_json.h on a hand-built document (null for absent strings, hex hashes checked against
 * OpenSSL's SHA-256), text that is not UTF-8 repaired, and the relay landmarks round-tripped
 * through serialised JSON, malformed ones refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "doc_stub.h"
#include "edxml/edxml_json.h"

#define S(x) ((char *)(x))

static struct gw_edxml_org to[2];
static struct gw_edxml_attachment att[1];
static struct gw_edxml_reference ref[1];
static struct gw_edxml_trace trace[1];
static struct gw_edxml_to_span spans[2];
static char *recipients[] = {S("000.00.00.G22"), S("H37.DN.001")};

static void build(struct gw_edxml_doc *d)
{
    memset(d, 0, sizeof(*d));
    d->kind = GW_KIND_EDOC;
    d->document_id = S("000.00.12.H49,2024-05-15,1/A");
    d->document_id_norm = NULL;
    d->from = S("000.00.12.H49");
    d->recipients = recipients;
    d->n_recipients = 2;
    d->sender.organ_id = d->from;
    d->sender.organ_name = S("Sở Tài chính");
    to[0].organ_id = recipients[0];
    to[1].organ_id = recipients[1];
    to[1].organ_name = S("bad \xff byte");
    d->to = to;
    d->n_to = 2;
    d->subject = S("V/v kinh phí");
    d->priority = 2;
    d->steering_type = -1;
    trace[0].organ_id = NULL;
    trace[0].timestamp = S("2024/05/15 09:30:00");
    d->traces = trace;
    d->n_traces = 1;
    d->business.present = true;
    d->business.doc_type = 1;
    d->business.paper = -1;
    d->business.document_info = -1;
    d->business.document_receiver = -1;
    ref[0].content_id = S("cid:a");
    ref[0].content_type = S("application/pdf");
    d->references = ref;
    d->n_references = 1;
    memset(att, 0, sizeof(att));
    att[0].content_id = S("a");
    att[0].name = S("a.pdf");
    att[0].content_type = S("application/pdf");
    att[0].b64_offset = 5000000000ULL;
    att[0].b64_len = 12;
    att[0].size = 3;
    SHA256((const unsigned char *)"abc", 3, att[0].sha256);
    strcpy(att[0].detected_type, "application/zip");
    att[0].unwrap_tried = att[0].unwrapped = true;
    att[0].entry_name = S("x.pdf");
    att[0].unwrapped_size = 1;
    SHA256((const unsigned char *)"", 0, att[0].unwrapped_sha256);
    strcpy(att[0].unwrapped_type, "application/pdf");
    d->attachments = att;
    d->n_attachments = 1;
    spans[0].organ_id = recipients[0];
    spans[0].start = 100;
    spans[0].end = 200;
    spans[1].organ_id = NULL;
    spans[1].start = 200;
    spans[1].end = 260;
    d->relay.editable = true;
    d->relay.to = spans;
    d->relay.n_to = 2;
    d->relay.trace_mode = GW_EDXML_TRACE_FIRST_IN_LIST;
    d->relay.trace_at = 4242;
    d->relay.trace_prefix = S("edXML");
    d->relay.trace_indent = S("\n      ");
    d->size = 9999;
    SHA256((const unsigned char *)"package", 7, d->sha256);
    assert_int_equal(gw_edxml_doc_finding(d, "impossible_date", GW_EDXML_STRICT, "/edXML/x",
                                          "date '%s'", "2014/02/30"),
                     0);
    assert_int_equal(
        gw_edxml_doc_finding(d, "attachment_unwrapped", GW_EDXML_NOTE, "/edXML/y", "unwrapped"), 0);
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return json_is_null(v) ? NULL : json_string_value(v);
}

static void test_shape(void **state)
{
    struct gw_edxml_doc d;
    json_t *j, *h, *a, *f, *r;
    char *dump;

    (void)state;
    build(&d);
    j = gw_edxml_doc_json(&d);
    assert_non_null(j);
    dump = json_dumps(j, JSON_COMPACT);
    assert_non_null(dump);
    json_decref(j);
    j = json_loads(dump, 0, NULL); /* what a reader of the stored text sees */
    free(dump);
    assert_non_null(j);

    assert_string_equal(sget(j, "kind"), "edoc");
    assert_string_equal(sget(j, "document_id"), "000.00.12.H49,2024-05-15,1/A");
    assert_null(sget(j, "document_id_norm"));
    assert_string_equal(sget(j, "from"), "000.00.12.H49");
    assert_int_equal(json_array_size(json_object_get(j, "recipients")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 9999);
    assert_string_equal(
        sget(j, "sha256"),
        "bc4a71180870f7945155fbb02f4b0a2e3faa2a62d6d31b7039013055ed19869a"); /* sha256sum */
    h = json_object_get(j, "header");
    assert_true(json_is_object(h));
    assert_string_equal(sget(json_object_get(h, "from"), "organ_name"), "Sở Tài chính");
    assert_null(sget(json_object_get(h, "from"), "email"));
    assert_int_equal(json_array_size(json_object_get(h, "to")), 2);
    /* The invalid byte is repaired to U+FFFD, not dropped with the whole string. */
    assert_string_equal(sget(json_array_get(json_object_get(h, "to"), 1), "organ_name"),
                        "bad \xef\xbf\xbd byte");
    assert_int_equal(json_integer_value(json_object_get(h, "priority")), 2);
    assert_true(json_is_null(json_object_get(h, "steering_type")));
    assert_string_equal(sget(h, "subject"), "V/v kinh phí");
    assert_null(sget(h, "status_code"));
    assert_true(json_is_array(json_object_get(h, "response_for")));
    assert_true(json_is_object(json_object_get(h, "status_staff")));
    assert_null(sget(json_array_get(json_object_get(j, "traces"), 0), "organ_id"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "business"), "doc_type")), 1);
    assert_true(json_is_null(json_object_get(json_object_get(j, "business"), "paper")));
    assert_string_equal(sget(json_array_get(json_object_get(j, "references"), 0), "content_id"),
                        "cid:a");

    a = json_array_get(json_object_get(j, "attachments"), 0);
    assert_string_equal(sget(a, "content_id"), "a");
    assert_null(sget(a, "manifest_type"));
    assert_string_equal(sget(a, "detected_type"), "application/zip");
    assert_int_equal(json_integer_value(json_object_get(a, "b64_offset")), 5000000000LL);
    assert_int_equal(json_integer_value(json_object_get(a, "size")), 3);
    /* SHA-256("abc") and SHA-256("") as published (FIPS 180-2 examples). */
    assert_string_equal(sget(a, "sha256"),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(sget(a, "unwrapped_sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_true(json_is_true(json_object_get(a, "unwrapped")));
    assert_string_equal(sget(a, "entry_name"), "x.pdf");
    assert_int_equal(json_integer_value(json_object_get(a, "unwrapped_size")), 1);
    assert_string_equal(sget(a, "unwrapped_type"), "application/pdf");
    assert_null(sget(a, "unwrap_error"));

    f = json_object_get(j, "findings");
    assert_int_equal(json_array_size(f), 2);
    assert_string_equal(sget(json_array_get(f, 0), "code"), "impossible_date");
    assert_string_equal(sget(json_array_get(f, 0), "severity"), "strict");
    assert_string_equal(sget(json_array_get(f, 0), "xpath"), "/edXML/x");
    assert_string_equal(sget(json_array_get(f, 0), "message"), "date '2014/02/30'");
    assert_string_equal(sget(json_array_get(f, 1), "severity"), "note");

    r = json_object_get(j, "relay");
    assert_true(json_is_true(json_object_get(r, "editable")));
    assert_null(sget(r, "not_editable"));
    assert_string_equal(sget(r, "trace_mode"), "first_in_list");
    assert_int_equal(json_integer_value(json_object_get(r, "trace_at")), 4242);
    assert_string_equal(sget(r, "trace_indent"), "\n      ");
    json_decref(j);
    test_doc_clear_findings(&d);
}

static void test_relay_round_trip(void **state)
{
    struct gw_edxml_doc d;
    struct gw_edxml_relay back;
    json_t *j, *r;
    char *dump;

    (void)state;
    build(&d);
    d.relay.editable = false;
    d.relay.not_editable = "xmldsig";
    d.relay.xmldsig = true;
    j = gw_edxml_doc_json(&d);
    assert_non_null(j);
    dump = json_dumps(json_object_get(j, "relay"), JSON_COMPACT);
    json_decref(j);
    r = json_loads(dump, 0, NULL);
    free(dump);
    assert_int_equal(gw_edxml_relay_from_json(r, &back), 0);
    assert_false(back.editable);
    assert_true(back.xmldsig);
    assert_string_equal(back.not_editable, "xmldsig");
    assert_int_equal(back.trace_mode, GW_EDXML_TRACE_FIRST_IN_LIST);
    assert_int_equal(back.trace_at, 4242);
    assert_string_equal(back.trace_prefix, "edXML");
    assert_string_equal(back.trace_indent, "\n      ");
    assert_int_equal(back.n_to, 2);
    assert_string_equal(back.to[0].organ_id, "000.00.00.G22");
    assert_int_equal(back.to[0].start, 100);
    assert_int_equal(back.to[0].end, 200);
    assert_null(back.to[1].organ_id);
    assert_int_equal(back.to[1].end, 260);
    gw_edxml_relay_free(&back);
    assert_null(back.to);
    gw_edxml_relay_free(&back); /* twice is harmless */
    json_decref(r);
    /* a self-closing list whose prefix must be declared on the inserted element */
    d.relay.editable = true;
    d.relay.trace_mode = GW_EDXML_TRACE_IN_EMPTY_LIST;
    d.relay.trace_declare = true;
    j = gw_edxml_doc_json(&d);
    assert_non_null(j);
    assert_string_equal(sget(json_object_get(j, "relay"), "trace_mode"), "in_empty_list");
    assert_true(json_is_true(json_object_get(json_object_get(j, "relay"), "trace_declare")));
    assert_int_equal(gw_edxml_relay_from_json(json_object_get(j, "relay"), &back), 0);
    assert_int_equal(back.trace_mode, GW_EDXML_TRACE_IN_EMPTY_LIST);
    assert_true(back.trace_declare);
    gw_edxml_relay_free(&back);
    /* rows stored before trace_declare existed read as false */
    json_object_del(json_object_get(j, "relay"), "trace_declare");
    assert_int_equal(gw_edxml_relay_from_json(json_object_get(j, "relay"), &back), 0);
    assert_false(back.trace_declare);
    gw_edxml_relay_free(&back);
    json_decref(j);
    test_doc_clear_findings(&d);
}

static void test_relay_malformed(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"editable\":1,\"trace_mode\":\"after_last\",\"trace_at\":1,\"to\":[]}",
        "{\"editable\":true,\"trace_mode\":\"sideways\",\"trace_at\":1,\"to\":[]}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":-1,\"to\":[]}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":1,\"to\":{}}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":1,\"to\":[1]}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":1,"
        "\"to\":[{\"organ_id\":\"A\",\"start\":5,\"end\":4}]}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":1,"
        "\"to\":[{\"organ_id\":\"A\",\"start\":1,\"end\":4},{\"organ_id\":7,\"start\":5,\"end\":6}]"
        "}",
        "{\"editable\":true,\"trace_mode\":\"new_list\",\"trace_at\":1,\"trace_prefix\":3,\"to\":[]"
        "}",
    };
    struct gw_edxml_relay r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        if (gw_edxml_relay_from_json(j, &r) != GW_EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_null(r.to);
        assert_null(r.trace_prefix);
        json_decref(j);
    }
    assert_int_equal(gw_edxml_relay_from_json(NULL, &r), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_relay_round_trip),
        cmocka_unit_test(test_relay_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
