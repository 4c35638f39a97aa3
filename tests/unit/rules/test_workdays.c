/*
 * Unit tests for gateway/rules/workdays.c: due dates skip Saturdays, Sundays and the listed
 * holidays; 0 working days is the day itself. Expected dates were counted with Python's
 * datetime.date.weekday().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rules/catalog.h"
#include "rules/workdays.h"

static int32_t day(const char *iso)
{
    int32_t d = 0;
    assert_true(gw_catalog_day(iso, 10, &d));
    return d;
}

static void test_weekends(void **state)
{
    (void)state;
    /* 2026-12-04 is a Friday */
    assert_int_equal(gw_workdays_add(day("2026-12-04"), 0, NULL, 0), day("2026-12-04"));
    assert_int_equal(gw_workdays_add(day("2026-12-04"), 1, NULL, 0), day("2026-12-07"));
    assert_int_equal(gw_workdays_add(day("2026-12-05"), 1, NULL, 0), day("2026-12-07"));
    assert_int_equal(gw_workdays_add(day("2026-12-02"), 3, NULL, 0), day("2026-12-07"));
    assert_int_equal(gw_workdays_add(day("2026-12-02"), 10, NULL, 0), day("2026-12-16"));
}

static void test_holidays(void **state)
{
    (void)state;
    /* Tết 2027: 2027-02-05 .. 2027-02-12 off (Friday to Friday) */
    int32_t h[] = {day("2027-01-01"), day("2027-02-05"), day("2027-02-08"), day("2027-02-09"),
                   day("2027-02-10"), day("2027-02-11"), day("2027-02-12")};
    assert_int_equal(gw_workdays_add(day("2027-02-04"), 1, h, 7), day("2027-02-15"));
    assert_int_equal(gw_workdays_add(day("2026-12-31"), 1, h, 7), day("2027-01-04"));
    assert_int_equal(gw_workdays_add(day("2027-02-03"), 2, h, 7), day("2027-02-15"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_weekends),
                                       cmocka_unit_test(test_holidays)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
