/* crc32c.c — CRC-32C, reflected polynomial 0x82f63b78, initial and final value inverted: with
 * SSE4.2's crc32 instruction eight bytes at a time, else from tables made at the first call. */
#include "crc32c.h"

#if defined(__x86_64__)
#define _MM_MALLOC_H_INCLUDED /* as sha256.c: the intrinsics without the libc's stdlib.h */
#define __MM_MALLOC_H
#include <cpuid.h>
#include <immintrin.h>
#define CRC32C_SSE42 1
#endif

#define CRC32C_POLY 0x82f63b78u

/* Slicing by eight: T[k][b] is the CRC of byte b followed by k zero bytes, so that eight
 * bytes take eight lookups and no dependency between them (some 4 times one table's speed:
 * what a guest without SSE4.2, or on hvt, whose vCPU says it has none, runs). */
static uint32_t crc32c_table[8][256];
static int crc32c_table_made; /* atomic; every thread makes the same table */

static void crc32c_make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        __atomic_store_n(&crc32c_table[0][i], c, __ATOMIC_RELAXED);
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = __atomic_load_n(&crc32c_table[k - 1][i], __ATOMIC_RELAXED);
            c = (c >> 8) ^ __atomic_load_n(&crc32c_table[0][c & 0xff], __ATOMIC_RELAXED);
            __atomic_store_n(&crc32c_table[k][i], c, __ATOMIC_RELAXED);
        }
    __atomic_store_n(&crc32c_table_made, 1, __ATOMIC_RELEASE);
}

static uint32_t crc32c_bytes(uint32_t c, const uint8_t *p, size_t n)
{
    const uint32_t(*t)[256] = crc32c_table;
    if (!__atomic_load_n(&crc32c_table_made, __ATOMIC_ACQUIRE))
        crc32c_make_table();
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        w ^= c;
        c = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
            t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
            t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
    }
    while (n--)
        c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
    return c;
}

#ifdef CRC32C_SSE42
static int crc32c_hw = -1; /* -1: not asked yet */

static int crc32c_have_hw(void)
{
    int v = __atomic_load_n(&crc32c_hw, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
        __atomic_store_n(&crc32c_hw, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The three-way loop: the crc32 instruction takes 3 cycles but starts one a cycle, so three
 * blocks summed side by side run near three times one chain's speed (41 MB of rules: the
 * builder's sum and the guest's check at boot). Their sums are joined as one chain's would be:
 * the sum of A then B is A's shifted over B's length, XOR B's from zero (the register's update
 * is linear), a shift being a product with x^(8 len) modulo the polynomial. */
#define CRC32C_BLOCK 4096u

/* A * B modulo the polynomial, both reflected (bit 31 is x^0). */
static uint32_t crc32c_mulmod(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (int i = 0; i < 32; i++, a <<= 1) {
        if (a & 0x80000000u)
            p ^= b;
        b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1; /* b * x */
    }
    return p;
}

/* x^(8 CRC32C_BLOCK) and x^(16 CRC32C_BLOCK) modulo the polynomial, made at the first call. */
static uint32_t crc32c_shift[2];
static int crc32c_shift_made; /* atomic; every thread makes the same values */

static void crc32c_shifts(uint32_t *one, uint32_t *two)
{
    if (!__atomic_load_n(&crc32c_shift_made, __ATOMIC_ACQUIRE)) {
        uint32_t x = 0x80000000u; /* x^0 */
        for (unsigned i = 0; i < 8 * CRC32C_BLOCK; i++)
            x = x & 1 ? (x >> 1) ^ CRC32C_POLY : x >> 1;
        __atomic_store_n(&crc32c_shift[0], x, __ATOMIC_RELAXED);
        __atomic_store_n(&crc32c_shift[1], crc32c_mulmod(x, x), __ATOMIC_RELAXED);
        __atomic_store_n(&crc32c_shift_made, 1, __ATOMIC_RELEASE);
    }
    *one = __atomic_load_n(&crc32c_shift[0], __ATOMIC_RELAXED);
    *two = __atomic_load_n(&crc32c_shift[1], __ATOMIC_RELAXED);
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t c, const uint8_t *p,
                                                               size_t n)
{
    uint64_t c64 = c;
    for (; n > 0 && ((uintptr_t)p & 7) != 0; n--)
        c64 = _mm_crc32_u8((uint32_t)c64, *p++);
    if (n >= 3 * CRC32C_BLOCK) {
        uint32_t one, two;
        crc32c_shifts(&one, &two);
        for (; n >= 3 * CRC32C_BLOCK; n -= 3 * CRC32C_BLOCK, p += 3 * CRC32C_BLOCK) {
            uint64_t a = c64, b = 0, d = 0;
            for (size_t i = 0; i < CRC32C_BLOCK; i += 8) {
                uint64_t w[3];
                __builtin_memcpy(&w[0], p + i, 8);
                __builtin_memcpy(&w[1], p + CRC32C_BLOCK + i, 8);
                __builtin_memcpy(&w[2], p + 2 * CRC32C_BLOCK + i, 8);
                a = _mm_crc32_u64(a, w[0]);
                b = _mm_crc32_u64(b, w[1]);
                d = _mm_crc32_u64(d, w[2]);
            }
            c64 = crc32c_mulmod((uint32_t)a, two) ^ crc32c_mulmod((uint32_t)b, one) ^ (uint32_t)d;
        }
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        c64 = _mm_crc32_u64(c64, w);
    }
    for (; n > 0; n--)
        c64 = _mm_crc32_u8((uint32_t)c64, *p++);
    return (uint32_t)c64;
}
#endif

void engine_crc32c_cpu(uint32_t leaf1_ecx)
{
#ifdef CRC32C_SSE42
    __atomic_store_n(&crc32c_hw, (leaf1_ecx & bit_SSE4_2) != 0, __ATOMIC_RELAXED);
#else
    (void)leaf1_ecx;
#endif
}

uint32_t engine_crc32c_more(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
#ifdef CRC32C_SSE42
    if (crc32c_have_hw())
        return ~crc32c_sse42(~crc, p, len);
#endif
    return ~crc32c_bytes(~crc, p, len);
}

uint32_t engine_crc32c(const void *data, size_t len)
{
    return engine_crc32c_more(0, data, len);
}
