/*
 * test_tls_hash.c — the tls module's SHA-256 for BearSSL (guest/modules/tls/tls_hash.c) gives
 * BearSSL's own results, with the SHA extensions and without: digests of every length across
 * block boundaries fed in uneven pieces, out() in the middle of a stream, the running state
 * saved and restored at block boundaries (as the transcript's multihash and HMAC use it),
 * HMAC-DRBG output, and the TLS 1.2 PRF against br_tls12_sha256_prf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/sha256.h"
#include "guest/modules/tls/tls.h"

/* The library OS call tls_hash.c makes. */
void libos_wipe(void *p, size_t n)
{
    memset(p, 0, n);
}

static uint8_t data[1024];

static int setup(void **state)
{
    (void)state;
    br_hmac_drbg_context rng;
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "test_tls_hash", 13);
    br_hmac_drbg_generate(&rng, data, sizeof(data));
    return 0;
}

/* Both ways: the SHA extensions where the processor has them, then the portable code. */
static void both_ways(void (*run)(void))
{
    int was = engine_sha256_use_extensions(1);
    run();
    engine_sha256_use_extensions(0);
    run();
    engine_sha256_use_extensions(was);
}

static void digests(void)
{
    for (size_t len = 0; len <= 300; len++) {
        br_hash_compat_context a, b;
        uint8_t da[32], db[32], mid_a[32], mid_b[32];
        br_sha256_vtable.init(&a.vtable);
        tls_sha256_vtable.init(&b.vtable);
        b.vtable->update(&b.vtable, NULL, 0); /* as BearSSL's HMAC-DRBG does, seeded with none */
        for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 71 + 1) {
            size_t n = len - off < step ? len - off : step;
            a.vtable->update(&a.vtable, data + off, n);
            b.vtable->update(&b.vtable, data + off, n);
            if (off < len / 2 && off + n >= len / 2) { /* a digest half-way, then on */
                a.vtable->out(&a.vtable, mid_a);
                b.vtable->out(&b.vtable, mid_b);
                assert_memory_equal(mid_a, mid_b, 32);
            }
        }
        a.vtable->out(&a.vtable, da);
        b.vtable->out(&b.vtable, db);
        assert_memory_equal(da, db, 32);
    }
}

static void test_digests(void **state)
{
    (void)state;
    both_ways(digests);
}

/* The state after whole blocks, restored into a fresh context, goes on to the same digest. */
static void states(void)
{
    for (size_t blocks = 0; blocks <= 4; blocks++) {
        br_hash_compat_context a, b;
        uint8_t st[32], da[32], db[32];
        tls_sha256_vtable.init(&a.vtable);
        tls_sha256_vtable.update(&a.vtable, data, 64 * blocks + 17);
        uint64_t count = tls_sha256_vtable.state(&a.vtable, st);
        assert_int_equal(count, 64 * blocks);
        tls_sha256_vtable.init(&b.vtable);
        tls_sha256_vtable.set_state(&b.vtable, st, count);
        tls_sha256_vtable.update(&b.vtable, data + count, 17 + 100);
        tls_sha256_vtable.update(&a.vtable, data + 64 * blocks + 17, 100);
        a.vtable->out(&a.vtable, da);
        b.vtable->out(&b.vtable, db);
        assert_memory_equal(da, db, 32);
        br_sha256_vtable.init(&a.vtable);
        br_sha256_vtable.update(&a.vtable, data, 64 * blocks + 117);
        a.vtable->out(&a.vtable, da);
        assert_memory_equal(da, db, 32);
    }
}

static void test_states(void **state)
{
    (void)state;
    both_ways(states);
}

static void drbg(void)
{
    br_hmac_drbg_context a, b;
    uint8_t oa[100], ob[100];
    br_hmac_drbg_init(&a, &br_sha256_vtable, data, 48);
    br_hmac_drbg_init(&b, &tls_sha256_vtable, data, 48);
    for (int i = 0; i < 4; i++) {
        br_hmac_drbg_generate(&a, oa, sizeof(oa));
        br_hmac_drbg_generate(&b, ob, sizeof(ob));
        assert_memory_equal(oa, ob, sizeof(oa));
        br_hmac_drbg_update(&a, data + i, 32);
        br_hmac_drbg_update(&b, data + i, 32);
    }
}

static void test_drbg(void **state)
{
    (void)state;
    both_ways(drbg);
}

/* The PRF at lengths around its 32-byte steps, with one, two or three seed chunks. */
static void prf(void)
{
    static const size_t lens[] = {1, 12, 31, 32, 33, 48, 64, 72, 96, 104, 200};
    for (size_t nseed = 1; nseed <= 3; nseed++) {
        br_tls_prf_seed_chunk seed[3] = {
            {data + 100, 32}, {data + 200, 32 + nseed}, {data + 300, 7 * nseed}};
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            uint8_t a[200], b[200];
            br_tls12_sha256_prf(a, lens[i], data, 48, "master secret", nseed, seed);
            memset(b, 0xee, sizeof(b));
            tls_prf_sha256(b, lens[i], data, 48, "master secret", nseed, seed);
            assert_memory_equal(a, b, lens[i]);
            if (lens[i] < sizeof(b))
                assert_int_equal(b[lens[i]], 0xee); /* nothing written past LEN */
        }
    }
}

static void test_prf(void **state)
{
    (void)state;
    both_ways(prf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_drbg),
        cmocka_unit_test(test_prf),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
