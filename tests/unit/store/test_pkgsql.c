/*
 * Unit tests for the store's package columns: every value is checked against its SQL type before
 * it is sent (smallint business doc type, UTF-8 text, NULL where not allowed), so a value the
 * database would refuse is a clear GW_ERANGE/GW_EINVAL at the edge and never a database error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/pkgsql.h"
#include "util/error.h"

static char *to[] = {"000.00.00.G22", "000.00.00.H44"};
static const uint8_t sha[32] = {1};

static struct gw_store_package valid(void)
{
    struct gw_store_package p = {.kind = GW_KIND_EDOC,
                                 .document_id = "D1",
                                 .sender = "000.00.12.H49",
                                 .recipients = to,
                                 .n_recipients = 2,
                                 .status_code = NULL,
                                 .business_doc_type = 3,
                                 .sha256 = sha,
                                 .body_id = 7,
                                 .size = 8,
                                 .doc_json = "{}"};
    return p;
}

static void test_valid(void **state)
{
    struct gw_store_package p = valid();
    struct gw_pkgsql q = {.n = 0};

    assert_int_equal(gw_store_package_check(&p), 0);
    assert_int_equal(gw_pkgsql_package(&q, &p), 0);
    assert_int_equal(q.n, 10);
    assert_string_equal(q.values[0], "edoc");
    assert_string_equal(q.values[5], "3");
    assert_string_equal(q.values[7], "7");
    assert_string_equal(q.values[8], "8");
    assert_string_equal(q.values[9], "{}");
    gw_pkgsql_free(&q);
}

static void test_ranges(void **state)
{
    struct gw_store_package p = valid();
    struct gw_pkgsql q = {.n = 0};
    char *bad_to[] = {"ok", "cut \xC3"};

    p.business_doc_type = 40000; /* passed the old parser, fails SQL smallint */
    assert_int_equal(gw_store_package_check(&p), GW_ERANGE);
    assert_int_equal(gw_pkgsql_package(&q, &p), GW_ERANGE);
    assert_int_equal(q.n, 0);
    gw_pkgsql_free(&q);
    p.business_doc_type = -40000;
    assert_int_equal(gw_store_package_check(&p), GW_ERANGE);
    p = valid();
    p.document_id = NULL;
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.sender = "caf\xE9"; /* not UTF-8 */
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.recipients = bad_to;
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.sha256 = NULL;
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.body_id = 0; /* the bytes are always a staged body */
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.body_id = -1;
    assert_int_equal(gw_store_package_check(&p), GW_ERANGE);
    p = valid();
    p.size = (uint64_t)INT64_MAX + 1;
    assert_int_equal(gw_store_package_check(&p), GW_ERANGE);
    p = valid();
    p.doc_json = "caf\xE9";
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
    p = valid();
    p.kind = (enum gw_pkg_kind)7;
    assert_int_equal(gw_store_package_check(&p), GW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
