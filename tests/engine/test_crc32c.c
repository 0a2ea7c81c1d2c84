/* test_crc32c.c — CRC-32C (common/crc32c.h): the check values of the standard, and the
 * instruction's path and the table's give the same sums at every length and alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/crc32c.h"

/* CPUID leaf 1 ECX's SSE4.2 bit, when this processor has it: else both runs take the table. */
#define SSE42 (__builtin_cpu_supports("sse4.2") ? 1u << 20 : 0u)

static void test_crc32c_check_values(void **state)
{
    (void)state;
    static const uint8_t zeros[32],
        ones[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    for (int hw = 0; hw < 2; hw++) {
        engine_crc32c_cpu(hw ? SSE42 : 0);
        assert_int_equal(engine_crc32c("123456789", 9), 0xe3069283u);
        assert_int_equal(engine_crc32c("", 0), 0);
        /* RFC 3720, B.4: 32 bytes of zeros, of ones */
        assert_int_equal(engine_crc32c(zeros, sizeof(zeros)), 0x8a9136aau);
        assert_int_equal(engine_crc32c(ones, sizeof(ones)), 0x62a8ab43u);
    }
}

/* BUF[0..LEN) filled with pseudo-random bytes from SEED. */
static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
}

static void test_crc32c_paths_agree(void **state)
{
    (void)state;
    static uint8_t buf[4 * 3 * 4096 + 128];
    fill(buf, sizeof(buf), 12345);
    /* Short lengths, and lengths around the three-way loop's 12 KiB steps (whole steps, and
     * a step's bytes split over the end) */
    static const size_t lens[] = {3 * 4096 - 1, 3 * 4096,     3 * 4096 + 1, 3 * 4096 + 4095,
                                  6 * 4096,     6 * 4096 + 9, 9 * 4096 + 8, 12 * 4096 + 63};
    for (size_t at = 0; at < 9; at++)
        for (size_t k = 0; k < 43 + sizeof(lens) / sizeof(lens[0]); k++) {
            size_t len = k < 43 ? k * 7 : lens[k - 43];
            engine_crc32c_cpu(0);
            uint32_t table = engine_crc32c(buf + at, len);
            engine_crc32c_cpu(SSE42);
            assert_int_equal(engine_crc32c(buf + at, len), table);
        }
    /* one bit changed anywhere changes the sum */
    uint32_t whole = engine_crc32c(buf, 4 * 3 * 4096);
    for (size_t i = 0; i < 4 * 3 * 4096; i += 997) {
        buf[i] ^= 4;
        assert_int_not_equal(engine_crc32c(buf, 4 * 3 * 4096), whole);
        buf[i] ^= 4;
    }
}

/* A buffer summed in pieces, of any lengths, on either path, gives its whole sum. */
static void test_crc32c_in_pieces(void **state)
{
    (void)state;
    static uint8_t buf[5 * 3 * 4096 + 77];
    fill(buf, sizeof(buf), 777);
    for (int hw = 0; hw < 2; hw++) {
        engine_crc32c_cpu(hw ? SSE42 : 0);
        uint32_t whole = engine_crc32c(buf, sizeof(buf));
        static const size_t steps[] = {1, 7, 4096, 3 * 4096, 3 * 4096 + 5, 40000, sizeof(buf)};
        for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
            uint32_t c = 0;
            for (size_t at = 0; at < sizeof(buf); at += steps[k])
                c = engine_crc32c_more(c, buf + at,
                                       sizeof(buf) - at < steps[k] ? sizeof(buf) - at : steps[k]);
            assert_int_equal(c, whole);
        }
        assert_int_equal(engine_crc32c_more(whole, buf, 0), whole);
        buf[100] ^= 1; /* and a piece changed changes it */
        assert_int_not_equal(engine_crc32c_more(engine_crc32c(buf, 50), buf + 50, sizeof(buf) - 50),
                             whole);
        buf[100] ^= 1;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_values),
        cmocka_unit_test(test_crc32c_paths_agree),
        cmocka_unit_test(test_crc32c_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
