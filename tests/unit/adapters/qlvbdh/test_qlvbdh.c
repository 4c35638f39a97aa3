/*
 * Unit tests for adapters/qlvbdh: the event body built from the store's facts (members, the
 * content_url, refusals of facts that are not one JSON object, bad event ids, invalid UTF-8) and
 * the X-Gateway-Signature against HMACs computed independently with
 * `openssl dgst -sha256 -hmac KEY` and Python's hmac over the same "timestamp.body" bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "adapters/qlvbdh/qlvbdh.h"
#include "util/error.h"

#define EID   "0b7e7c4e-2f4a-4f3e-9d1c-5a6b7c8d9e0f"
#define FACTS "{\"kind\" : \"edoc\", \"package_id\" : 42}"

static void test_event_json(void **state)
{
    struct gw_qlvbdh_event ev = {EID, 42, FACTS, strlen(FACTS)};
    char *body = NULL;
    size_t len = 0;

    assert_int_equal(gw_qlvbdh_event_json("https://gw.example.vn/", &ev, &body, &len), 0);
    assert_string_equal(body,
                        "{\"event_id\":\"" EID "\",\"content_url\":\"https://gw.example.vn"
                        "/v1/packages/42/content\",\"kind\" : \"edoc\", \"package_id\" : 42}");
    assert_int_equal(len, strlen(body));
    free(body);
    /* no base: the API's path alone; empty facts: no dangling comma */
    ev.facts = "{}";
    ev.facts_len = 2;
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), 0);
    assert_string_equal(body,
                        "{\"event_id\":\"" EID "\",\"content_url\":\"/v1/packages/42/content\"}");
    free(body);
}

static void test_event_refused(void **state)
{
    struct gw_qlvbdh_event ev = {EID, 42, FACTS, strlen(FACTS)};
    char *body = (char *)"x";
    size_t len = 1;

    ev.facts = "[1]";
    ev.facts_len = 3;
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), GW_EINVAL);
    assert_null(body);
    ev.facts = "{\"s\":\"\xc3\x28\"}"; /* invalid UTF-8 */
    ev.facts_len = strlen(ev.facts);
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), GW_EINVAL);
    ev.facts = FACTS;
    ev.facts_len = strlen(FACTS);
    ev.event_id = "0B7E7C4E-2F4A-4F3E-9D1C-5A6B7C8D9E0F"; /* PostgreSQL prints lowercase */
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), GW_EINVAL);
    ev.event_id = "not-a-uuid";
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), GW_EINVAL);
    ev.event_id = EID;
    ev.package_id = 0;
    assert_int_equal(gw_qlvbdh_event_json(NULL, &ev, &body, &len), GW_EINVAL);
    ev.package_id = 42;
    assert_int_equal(gw_qlvbdh_event_json("https://x/\"", &ev, &body, &len), GW_EINVAL);
}

static void test_signature(void **state)
{
    const char *body = "{\"event_id\":\"" EID "\",\"content_url\":\"https://gw.example.vn"
                       "/v1/packages/42/content\",\"kind\" : \"edoc\", \"package_id\" : 42}";
    char sig[65];

    /* printf '%s' '1764720000.BODY' | openssl dgst -sha256 -hmac 'Khóa-bí-mật-QLVBĐH' */
    assert_int_equal(gw_qlvbdh_sign("Khóa-bí-mật-QLVBĐH", 1764720000, body, strlen(body), sig), 0);
    assert_string_equal(sig, "4f6cd5d40ba5ae538f0a60b0367636d4603b8406d170bdae053460ce8df5c10c");
    /* printf '0.' | openssl dgst -sha256 -hmac k */
    assert_int_equal(gw_qlvbdh_sign("k", 0, "", 0, sig), 0);
    assert_string_equal(sig, "6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_event_refused),
        cmocka_unit_test(test_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
