/*
 * Unit tests for gateway/engine/peer.c: which failures open an axis's breaker (a refused
 * credential at once, a run of transport failures, one FAIL answer for different packages), that
 * nothing but one probe is sent while it is not closed and every failure then costs no attempt,
 * the doubling backoff of failed probes, recovery, and the per-axis concurrency limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/peer.h"
#include "util/utf8.h"
#include "util/error.h"
#include "util/log.h"

static int changes;
static enum gw_peer_state last_state;

static void on_change(const struct gw_peer *p, void *ud)
{
    struct gw_peer_view v;
    (void)ud;
    gw_peer_view(p, 0, &v);
    changes++;
    last_state = v.state;
}

static struct gw_peer *mk(unsigned failures, unsigned conc)
{
    struct gw_peer_config c = {
        .failures = failures, .backoff_ms = 1000, .backoff_max_ms = 4000, .max_concurrency = conc};
    struct gw_peer *p = NULL;
    changes = 0;
    last_state = GW_PEER_CLOSED;
    assert_int_equal(gw_peer_new("national", &c, 0, on_change, NULL, &p), 0);
    return p;
}

/* One send started and ended at time now. */
static enum gw_peer_verdict send1(struct gw_peer *p, int err, const char *detail, int64_t pkg,
                                  uint64_t now)
{
    gw_peer_started(p);
    return gw_peer_done(p, err, detail, pkg, now);
}

static void test_auth_opens_at_once_and_recovers(void **st)
{
    (void)st;
    struct gw_peer *p = mk(5, 0);
    struct gw_peer_view v;

    assert_true(gw_peer_room(p, 0) > 1000);
    assert_int_equal(send1(p, GW_EAUTH, "HTTP 401", 1, 10), GW_PEER_HELD);
    assert_int_equal(last_state, GW_PEER_OPEN);
    assert_int_equal(changes, 1);
    assert_int_equal(gw_peer_room(p, 500), 0); /* open: nothing is sent */
    assert_true(gw_peer_retry_ms(p, 500) >= 500);
    gw_peer_view(p, 500, &v);
    assert_int_equal(v.state, GW_PEER_OPEN);
    assert_non_null(strstr(v.reason, "credentials refused"));
    assert_int_equal(v.retry_in_ms, 510);
    /* After the backoff: one probe, no more. */
    assert_int_equal(gw_peer_room(p, 1010), 1);
    assert_int_equal(last_state, GW_PEER_HALF_OPEN);
    gw_peer_started(p);
    assert_int_equal(gw_peer_room(p, 1011), 0);
    assert_int_equal(gw_peer_done(p, 0, NULL, 2, 1020), GW_PEER_DELIVERED);
    assert_int_equal(last_state, GW_PEER_CLOSED);
    assert_int_equal(changes, 3);
    assert_true(gw_peer_room(p, 1021) > 1000);
    gw_peer_free(p);
}

/* A long Vietnamese FAIL text is cut on a character boundary: the reason stays valid UTF-8, so
 * peer_health can store it. */
static void test_long_reason_stays_utf8(void **st)
{
    (void)st;
    struct gw_peer *p = mk(5, 0);
    struct gw_peer_view v;
    char detail[600] = "2: ";

    while (strlen(detail) + 3 < sizeof(detail))
        strcat(detail, "\xe1\xba\xa1"); /* U+1EA1, three bytes */
    assert_int_equal(send1(p, GW_EAUTH, detail, 1, 10), GW_PEER_HELD);
    gw_peer_view(p, 20, &v);
    assert_true(strlen(v.reason) > 100);
    assert_true(gw_utf8_valid(v.reason, strlen(v.reason)));
    gw_peer_free(p);
}

static void test_failed_probes_double_the_backoff(void **st)
{
    (void)st;
    struct gw_peer *p = mk(5, 0);
    uint64_t t = 0;
    uint64_t expect[] = {1000, 2000, 4000, 4000};

    assert_int_equal(send1(p, GW_EAUTH, "x", 1, t), GW_PEER_HELD);
    for (size_t i = 0; i < 4; i++) {
        struct gw_peer_view v;
        gw_peer_view(p, t, &v);
        assert_int_equal(v.retry_in_ms, expect[i]);
        assert_int_equal(gw_peer_room(p, t + expect[i] - 1), 0);
        t += expect[i];
        assert_int_equal(gw_peer_room(p, t), 1);
        /* The probe is refused like the others: held, open again. */
        assert_int_equal(send1(p, GW_EAUTH, "x", 2, t), GW_PEER_HELD);
        assert_int_equal(last_state, GW_PEER_OPEN);
    }
    gw_peer_free(p);
}

/* A package refused for good (GW_EREFUSED) is the package's: it never opens the breaker, breaks
 * a run of transport failures, and a probe that gets it closes the breaker (the axis answered). */
static void test_refused_is_the_package(void **st)
{
    (void)st;
    struct gw_peer *p = mk(2, 0);

    for (int i = 0; i < 5; i++)
        assert_int_equal(send1(p, GW_EREFUSED, "errorCode 22: x", i, 0), GW_PEER_PACKAGE);
    assert_int_equal(changes, 0);
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 500", 10, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EREFUSED, "errorCode 22: x", 11, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 500", 12, 0), GW_PEER_PACKAGE); /* run restarted */
    assert_int_equal(changes, 0);
    assert_int_equal(send1(p, GW_EAUTH, "errorCode 15", 13, 0), GW_PEER_HELD);
    assert_int_equal(last_state, GW_PEER_OPEN);
    assert_int_equal(gw_peer_room(p, 1000), 1);
    assert_int_equal(last_state, GW_PEER_HALF_OPEN);
    assert_int_equal(send1(p, GW_EREFUSED, "errorCode 22: x", 14, 1001), GW_PEER_PACKAGE);
    assert_int_equal(last_state, GW_PEER_CLOSED);
    gw_peer_free(p);
}

static void test_transport_run_opens(void **st)
{
    (void)st;
    struct gw_peer *p = mk(3, 0);

    /* Failures before the run is long enough are the package's; a success resets the run. */
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 500", 1, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_ETIMEDOUT, NULL, 2, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, 0, NULL, 3, 0), GW_PEER_DELIVERED);
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 500", 4, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 500", 5, 0), GW_PEER_PACKAGE);
    assert_int_equal(changes, 0);
    assert_int_equal(send1(p, GW_EHTTP, "HTTP 502", 6, 0), GW_PEER_HELD);
    assert_int_equal(last_state, GW_PEER_OPEN);
    gw_peer_free(p);
}

static void test_same_answer_for_different_packages(void **st)
{
    (void)st;
    struct gw_peer *p = mk(3, 0);

    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 1, 0), GW_PEER_PACKAGE);
    /* The same package again does not lengthen the run. */
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 1, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 2, 0), GW_PEER_PACKAGE);
    /* Another answer in between starts a new run. */
    assert_int_equal(send1(p, GW_EAXIS, "22: malformed", 3, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 4, 0), GW_PEER_PACKAGE);
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 5, 0), GW_PEER_PACKAGE);
    assert_int_equal(changes, 0);
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 6, 0), GW_PEER_HELD);
    assert_int_equal(last_state, GW_PEER_OPEN);
    /* A probe refused with the same answer opens again; one refused for its own reason closes. */
    assert_int_equal(gw_peer_room(p, 1000), 1);
    assert_int_equal(send1(p, GW_EAXIS, "401: hash-header does not match", 7, 1000), GW_PEER_HELD);
    assert_int_equal(last_state, GW_PEER_OPEN);
    assert_int_equal(gw_peer_room(p, 3000), 1);
    assert_int_equal(send1(p, GW_EAXIS, "22: malformed", 8, 3000), GW_PEER_PACKAGE);
    assert_int_equal(last_state, GW_PEER_CLOSED);
    gw_peer_free(p);
}

static void test_sends_in_flight_when_it_opens_are_held(void **st)
{
    (void)st;
    struct gw_peer *p = mk(5, 0);

    for (int i = 0; i < 10; i++)
        gw_peer_started(p);
    assert_int_equal(gw_peer_done(p, GW_EAUTH, "refused", 1, 0), GW_PEER_HELD);
    for (int i = 2; i <= 10; i++)
        assert_int_equal(gw_peer_done(p, GW_EAXIS, "anything", i, 1), GW_PEER_HELD);
    assert_int_equal(changes, 1);
    /* Local failures say nothing of the peer, and cost no attempt while it is open. */
    gw_peer_started(p);
    assert_int_equal(gw_peer_done(p, GW_ENOMEM, NULL, 11, 2), GW_PEER_HELD);
    assert_int_equal(changes, 1);
    gw_peer_free(p);
}

static void test_concurrency_limit(void **st)
{
    (void)st;
    struct gw_peer *p = mk(5, 3);

    assert_int_equal(gw_peer_room(p, 0), 3);
    gw_peer_started(p);
    gw_peer_started(p);
    assert_int_equal(gw_peer_room(p, 0), 1);
    gw_peer_started(p);
    assert_int_equal(gw_peer_room(p, 0), 0);
    assert_int_equal(gw_peer_done(p, 0, NULL, 1, 0), GW_PEER_DELIVERED);
    assert_int_equal(gw_peer_room(p, 0), 1);
    gw_peer_free(p);
}

int main(void)
{
    gw_log_set_level(GW_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_opens_at_once_and_recovers),
        cmocka_unit_test(test_long_reason_stays_utf8),
        cmocka_unit_test(test_failed_probes_double_the_backoff),
        cmocka_unit_test(test_transport_run_opens),
        cmocka_unit_test(test_refused_is_the_package),
        cmocka_unit_test(test_same_answer_for_different_packages),
        cmocka_unit_test(test_sends_in_flight_when_it_opens_are_held),
        cmocka_unit_test(test_concurrency_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
