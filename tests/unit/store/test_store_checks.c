/*
 * Unit tests for the argument checks of the typed store calls used by the northbound API: a value
 * its SQL type cannot hold (a BussinessDocType beyond smallint, a cursor or limit out of range,
 * text that is not UTF-8, an empty scope) is refused in C, synchronously, and nothing is sent
 * (the database handle is never touched: these calls get none).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store_args.h"
#include "store/store_inbox.h"
#include "store/store_read.h"
#include "store/store_submit.h"
#include "util/error.h"

static int calls;

static void submit_cb(int err, const struct gw_store_submit_result *r, const char *sqlstate,
                      void *ud)
{
    calls++;
}

static void json_cb(int err, const char *json, size_t len, void *ud)
{
    calls++;
}

static void inbox_cb(int err, const struct gw_store_inbox_page *p, void *ud)
{
    calls++;
}

static void ack_cb(int err, void *ud)
{
    calls++;
}

static const char *const rcpts[] = {"000.00.00.G22"};
static const uint8_t sha[32];

static struct gw_store_submit_args good(void)
{
    return (struct gw_store_submit_args){
        .source = "qlvbdh",
        .kind = GW_KIND_EDOC,
        .document_id = "000.00.12.H49,2024/05/15,1/STC",
        .sender = "000.00.12.H49",
        .recipients = rcpts,
        .n_recipients = 1,
        .business_doc_type = 0,
        .sha256 = sha,
        .bytes = "<edXML/>",
        .len = 8,
        .axis = "national",
    };
}

static void test_submit_checks(void **state)
{
    struct gw_store_submit_args a = good();
    const char *bad_rcpts[] = {"ok", "\xc3"};

    (void)state;
    calls = 0;
    assert_int_equal(gw_store_submit_check(&a), 0);
    a.business_doc_type = 32767;
    assert_int_equal(gw_store_submit_check(&a), 0);
    for (int64_t bdt = 32768; bdt <= 100000; bdt += 7232) {
        a.business_doc_type = bdt;
        assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_ERANGE);
    }
    a.business_doc_type = 40000;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_ERANGE);
    a.business_doc_type = -32769;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_ERANGE);
    a = good();
    a.sender = NULL; /* the sender is part of the identity */
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_EINVAL);
    a = good();
    a.sender = "000.00.12.H49\xff";
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_EINVAL);
    a = good();
    a.recipients = bad_rcpts;
    a.n_recipients = 2;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_EINVAL);
    a = good();
    a.n_recipients = 0;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_EINVAL);
    a = good();
    a.axis = NULL;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_EINVAL);
    a = good();
    a.len = (size_t)1 << 31;
    assert_int_equal(gw_store_submit(NULL, &a, submit_cb, NULL), GW_ERANGE);
    assert_int_equal(calls, 0);
}

static void test_scope_checks(void **state)
{
    const char *organs[] = {"000.00.00.H49", "000.00.12.H49"};
    char long_id[80];
    const char *too_long[] = {long_id};
    struct gw_store_scope none = {.organs = organs, .n_organs = 0};
    struct gw_store_scope two = {.organs = organs, .n_organs = 2};
    char *out = NULL;

    (void)state;
    calls = 0;
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(gw_store_scope_array(&two, &out), 0);
    assert_string_equal(out, "{\"000.00.00.H49\",\"000.00.12.H49\"}");
    free(out);
    assert_int_equal(gw_store_scope_array(&none, &out), GW_EINVAL);
    assert_null(out);
    assert_int_equal(gw_store_scope_array(&(struct gw_store_scope){too_long, 1}, &out), GW_ERANGE);

    struct gw_store_read_args r = {.package_id = 0, .scope = two};
    assert_int_equal(gw_store_read_package(NULL, &r, json_cb, NULL), GW_ERANGE);
    r.package_id = 1;
    r.scope = none;
    assert_int_equal(gw_store_read_package(NULL, &r, json_cb, NULL), GW_EINVAL);

    struct gw_store_inbox_args in = {.after = -1, .limit = 10, .scope = two};
    assert_int_equal(gw_store_inbox_list(NULL, &in, inbox_cb, NULL), GW_ERANGE);
    in.after = 0;
    in.limit = GW_STORE_INBOX_MAX_LIMIT + 1;
    assert_int_equal(gw_store_inbox_list(NULL, &in, inbox_cb, NULL), GW_ERANGE);
    in.limit = 0;
    assert_int_equal(gw_store_inbox_list(NULL, &in, inbox_cb, NULL), GW_ERANGE);
    in.limit = 10;
    in.scope = none;
    assert_int_equal(gw_store_inbox_list(NULL, &in, inbox_cb, NULL), GW_EINVAL);

    struct gw_store_inbox_ack_args ack = {.package_id = 5, .client = "a\xc0", .scope = two};
    assert_int_equal(gw_store_inbox_ack(NULL, &ack, ack_cb, NULL), GW_EINVAL);
    ack.client = "a";
    ack.package_id = -5;
    assert_int_equal(gw_store_inbox_ack(NULL, &ack, ack_cb, NULL), GW_ERANGE);
    assert_int_equal(calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_checks),
        cmocka_unit_test(test_scope_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
