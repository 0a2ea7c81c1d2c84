/* test_bucket.c — the rate_limit module's per-client token buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guest/modules/rate_limit/bucket.h"

#define SEC 1000000000ull

static void test_bucket_init_bounds(void **state)
{
    (void)state;
    struct mod_rate_slot s[16];
    struct mod_rate_table t;
    assert_int_equal(mod_rate_init(&t, s, 16, 0, 1), -22);
    assert_int_equal(mod_rate_init(&t, s, 16, 1, 0), -22);
    assert_int_equal(mod_rate_init(&t, s, 4, 1, 1), -22);
    assert_int_equal(mod_rate_init(&t, s, 16, MOD_RATE_RATE_MAX + 1, 1), -22);
    assert_int_equal(mod_rate_init(&t, s, 16, 1, MOD_RATE_BURST_MAX + 1), -22);
    assert_int_equal(mod_rate_init(&t, s, 16, MOD_RATE_RATE_MAX, MOD_RATE_BURST_MAX), 0);
}

static void test_bucket_burst_then_refill(void **state)
{
    (void)state;
    struct mod_rate_slot s[64];
    struct mod_rate_table t;
    uint64_t k = mod_rate_key("10.0.0.1", 8), wait = 0, now = 5 * SEC;
    assert_int_equal(mod_rate_init(&t, s, 64, 20, 20), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(mod_rate_take(&t, k, now, NULL), 1);
    assert_int_equal(mod_rate_take(&t, k, now, &wait), 0);
    assert_int_equal(wait, SEC / 20);
    /* Refused requests take nothing: one interval later exactly one more goes. */
    assert_int_equal(mod_rate_take(&t, k, now + SEC / 20 - 1, NULL), 0);
    assert_int_equal(mod_rate_take(&t, k, now + SEC / 20, NULL), 1);
    assert_int_equal(mod_rate_take(&t, k, now + SEC / 20, NULL), 0);
    /* After a long idle time the bucket is full again, never fuller. */
    now += 3600 * SEC;
    for (int i = 0; i < 20; i++)
        assert_int_equal(mod_rate_take(&t, k, now, NULL), 1);
    assert_int_equal(mod_rate_take(&t, k, now, NULL), 0);
}

static void test_bucket_steady_rate(void **state)
{
    (void)state;
    struct mod_rate_slot s[16];
    struct mod_rate_table t;
    uint64_t k = mod_rate_key("a", 1);
    int ok = 0;
    assert_int_equal(mod_rate_init(&t, s, 16, 100, 1), 0);
    /* 10 seconds of requests every millisecond: 100 per second go, about 1000 in all. */
    for (uint64_t ms = 0; ms < 10000; ms++)
        ok += mod_rate_take(&t, k, SEC + ms * 1000000, NULL);
    assert_in_range(ok, 1000, 1001);
}

static void test_bucket_clients_independent(void **state)
{
    (void)state;
    struct mod_rate_slot s[64];
    struct mod_rate_table t;
    uint64_t a = mod_rate_key("a", 1), b = mod_rate_key("b", 1);
    assert_int_equal(mod_rate_init(&t, s, 64, 1, 2), 0);
    assert_int_equal(mod_rate_take(&t, a, SEC, NULL), 1);
    assert_int_equal(mod_rate_take(&t, a, SEC, NULL), 1);
    assert_int_equal(mod_rate_take(&t, a, SEC, NULL), 0);
    assert_int_equal(mod_rate_take(&t, b, SEC, NULL), 1);
    assert_int_equal(mod_rate_take(&t, a, SEC, NULL), 0);
}

static void test_bucket_table_full(void **state)
{
    (void)state;
    struct mod_rate_slot s[8];
    struct mod_rate_table t;
    uint64_t now = SEC;
    assert_int_equal(mod_rate_init(&t, s, 8, 1, 1), 0);
    /* Fill every slot with a limited client, then a 9th client still gets service. */
    for (uint64_t i = 1; i <= 8; i++) {
        assert_int_equal(mod_rate_take(&t, i, now, NULL), 1);
        assert_int_equal(mod_rate_take(&t, i, now, NULL), 0);
    }
    assert_int_equal(mod_rate_take(&t, 99, now, NULL), 1);
    assert_int_equal(mod_rate_take(&t, 99, now, NULL), 0);
    /* Memory stays bounded: nothing is written outside the table. */
    int found = 0;
    for (int i = 0; i < 8; i++)
        found += s[i].key == 99;
    assert_int_equal(found, 1);
    /* Full buckets are reused first: once everyone has refilled, no one is limited. */
    now += 2 * SEC;
    for (uint64_t i = 100; i < 200; i++)
        assert_int_equal(mod_rate_take(&t, i, now, NULL), 1);
}

/* An IPv4 address is a client; an IPv6 address is its /64 (common/client_addr.h). */
static void test_bucket_client_prefix(void **state)
{
    (void)state;
    struct unisec_addr a = {.family = UNISEC_AF_INET6, .port = 1, .addr = {0xfd, 0, 5, 0xec}};
    struct unisec_addr b = a, c = a, v4 = {.family = UNISEC_AF_INET, .addr = {127, 0, 0, 5}};
    b.addr[15] = 0x10; /* same /64, another host and port */
    b.port = 2;
    c.addr[7] = 1; /* the next /64 */
    assert_true(unisec_same_client(&a, &b));
    assert_int_equal(mod_rate_client(&a), mod_rate_client(&b));
    assert_false(unisec_same_client(&a, &c));
    assert_int_not_equal(mod_rate_client(&a), mod_rate_client(&c));
    struct unisec_addr w = v4;
    w.addr[3] = 6;
    assert_false(unisec_same_client(&v4, &w));
    assert_false(unisec_same_client(&v4, &a));
}

static void test_bucket_key_nonzero(void **state)
{
    (void)state;
    assert_int_not_equal(mod_rate_key("", 0), 0);
    assert_int_not_equal(mod_rate_key("\x7f\0\0\1", 4), mod_rate_key("\x7f\0\0\2", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_init_bounds),
        cmocka_unit_test(test_bucket_client_prefix),
        cmocka_unit_test(test_bucket_burst_then_refill),
        cmocka_unit_test(test_bucket_steady_rate),
        cmocka_unit_test(test_bucket_clients_independent),
        cmocka_unit_test(test_bucket_table_full),
        cmocka_unit_test(test_bucket_key_nonzero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
