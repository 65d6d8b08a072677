/*
 * test_util.c - small shared helpers (src/util/util.c): the RFC 3339 timestamp parser that
 * reads --at, DCAP collateral dates and PCS freshness fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "util/util.h"

static void rfc3339_accepts_the_fixed_shape(void **state)
{
    (void)state;
    time_t t = 0;
    assert_int_equal(rfc3339_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(rfc3339_parse("2025-06-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(rfc3339_parse("2025-06-01T00:00:00.123456Z", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(rfc3339_parse("2025-06-01T00:00:00+00:00", &t), 0);
    assert_int_equal(t, 1748736000);
    assert_int_equal(rfc3339_parse("2024-02-29T23:59:59Z", &t), 0); /* leap year */
    char buf[21];
    rfc3339_format(t, buf);
    assert_string_equal(buf, "2024-02-29T23:59:59Z");
}

static void rfc3339_refuses_everything_else(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1970-+1-01T00:00:00Z", /* a sign inside a field (sscanf alone takes it) */
        "2026-01- 1T00:00:00Z", /* a blank inside a field */
        "2026-01-01T00:00:-1Z", "+2026-01-01T00:00:00Z", "2026-1-01T00:00:00Z",
        "2026-01-01 00:00:00Z", /* space instead of T */
        "2026-01-01T00:00:00",  /* no offset */
        "2026-01-01T00:00:00+01:00", /* only UTC is accepted */
        "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00ZZ",
        "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "1969-12-31T23:59:59Z",
        "", "2026",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        time_t t = 42;
        if (rfc3339_parse(bad[i], &t) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(t, 42); /* untouched */
    }
    time_t t = 42;
    assert_int_not_equal(rfc3339_parse(NULL, &t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_accepts_the_fixed_shape),
        cmocka_unit_test(rfc3339_refuses_everything_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
