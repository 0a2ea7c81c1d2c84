/* test_sha256.c — SHA-256 (FIPS 180-4 examples), HMAC-SHA256 (RFC 4231) and
 * PBKDF2-HMAC-SHA256 (RFC 7914 section 11, and the RFC 6070 inputs with SHA-256), each with the
 * processor's SHA extensions and with the portable code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cpuid.h>

#include "common/sha256.h"

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void check_sha(const void *msg, size_t len, const char *want)
{
    uint8_t d[32];
    char h[65];
    engine_sha256(d, msg, len);
    hex(h, d, 32);
    assert_string_equal(h, want);
}

static void test_sha256_fips_vectors(void **state)
{
    (void)state;
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_sha(m896, strlen(m896),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_million_a_in_uneven_pieces(void **state)
{
    struct engine_sha256 c;
    uint8_t d[32];
    char h[65], chunk[997];
    size_t left = 1000000;
    (void)state;
    memset(chunk, 'a', sizeof(chunk));
    engine_sha256_init(&c);
    for (size_t step = 1; left > 0; step = step % 990 + 7) {
        size_t n = step < left ? step : left;
        engine_sha256_update(&c, chunk, n);
        left -= n;
    }
    engine_sha256_final(&c, d);
    hex(h, d, 32);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void check_hmac(const void *key, size_t kl, const char *msg, const char *want)
{
    uint8_t d[32];
    char h[65];
    engine_hmac_sha256(d, key, kl, msg, strlen(msg));
    hex(h, d, 32);
    assert_string_equal(h, want);
}

static void test_sha256_hmac_rfc4231(void **state)
{
    uint8_t k1[20], k6[131];
    (void)state;
    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6));
    check_hmac(k1, sizeof(k1), "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    check_hmac(k6, sizeof(k6), "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void check_pbkdf2(const char *pw, size_t pl, const char *salt, size_t sl, uint32_t it,
                         size_t dklen, const char *want)
{
    uint8_t dk[64];
    char h[129];
    assert_int_equal(engine_pbkdf2_sha256(dk, dklen, pw, pl, salt, sl, it), 0);
    hex(h, dk, dklen);
    assert_string_equal(h, want);
}

static void test_sha256_pbkdf2_vectors(void **state)
{
    (void)state;
    /* RFC 7914, section 11. */
    check_pbkdf2("passwd", 6, "salt", 4, 1, 64,
                 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b6"
                 "45991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    check_pbkdf2("Password", 8, "NaCl", 4, 80000, 64,
                 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833"
                 "549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
    /* The RFC 6070 inputs, with HMAC-SHA256. */
    check_pbkdf2("password", 8, "salt", 4, 1, 32,
                 "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    check_pbkdf2("password", 8, "salt", 4, 2, 32,
                 "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
    check_pbkdf2("password", 8, "salt", 4, 4096, 32,
                 "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
    check_pbkdf2("passwordPASSWORDpassword", 24, "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096,
                 40,
                 "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c6355"
                 "18c7dac47e9");
    check_pbkdf2("pass\0word", 9, "sa\0lt", 5, 4096, 16, "89b69d0516f829893c696226650a8687");
}

/* In slices of any size: the same key as in one call. */
static void test_sha256_pbkdf2_in_slices(void **state)
{
    static const uint32_t slices[] = {1, 7, 4095, 4096, 100000};
    uint8_t want[32], got[32];
    (void)state;
    assert_int_equal(engine_pbkdf2_sha256(want, 32, "password", 8, "salt", 4, 4096), 0);
    for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
        struct engine_pbkdf2 st;
        assert_int_equal(engine_pbkdf2_sha256_start(&st, "password", 8, "salt", 4, 4096), 0);
        uint32_t left = st.left;
        assert_int_equal(left, 4095);
        while (left > 0) {
            uint32_t next = engine_pbkdf2_sha256_step(&st, slices[i]);
            assert_int_equal(left - next, left < slices[i] ? left : slices[i]);
            left = next;
        }
        engine_pbkdf2_sha256_end(&st, got);
        assert_memory_equal(got, want, 32);
    }
}

static void test_sha256_pbkdf2_refuses_bad_arguments(void **state)
{
    uint8_t dk[32];
    (void)state;
    assert_int_equal(engine_pbkdf2_sha256(dk, 32, "p", 1, "s", 1, 0), -22);
    assert_int_equal(engine_pbkdf2_sha256(dk, 0, "p", 1, "s", 1, 1), -22);
}

/* The SHA extensions (where the processor has them) and the portable code agree on every
 * length from 0 to 600 bytes of varied data, hashed whole and in two pieces. */
static void test_sha256_extensions_match_portable(void **state)
{
    (void)state;
    uint8_t msg[600], a[32], b[32];
    uint32_t x = 0x2545f491;
    for (size_t i = 0; i < sizeof(msg); i++) {
        x = x * 1103515245u + 12345u;
        msg[i] = (uint8_t)(x >> 16);
    }
    int had = engine_sha256_use_extensions(1);
    if (!had)
        printf("note: this processor has no SHA extensions; both ways are the portable code\n");
    for (size_t len = 0; len <= sizeof(msg); len++) {
        struct engine_sha256 c;
        engine_sha256_use_extensions(1);
        engine_sha256_init(&c);
        engine_sha256_update(&c, msg, len / 3);
        engine_sha256_update(&c, msg + len / 3, len - len / 3);
        engine_sha256_final(&c, a);
        engine_sha256_use_extensions(0);
        engine_sha256(b, msg, len);
        assert_memory_equal(a, b, 32);
    }
    engine_sha256_use_extensions(1);
    assert_true(engine_pbkdf2_sha256(a, 32, "pw", 2, msg, 16, 1000) == 0);
    engine_sha256_use_extensions(0);
    assert_true(engine_pbkdf2_sha256(b, 32, "pw", 2, msg, 16, 1000) == 0);
    assert_memory_equal(a, b, 32);
    engine_sha256_use_extensions(1);
}

/* The features a caller passes (a guest's boot info) decide instead of CPUID: none given, no
 * extensions; the host's own bits, the same answer as CPUID's. Digests stay right either way. */
static void test_sha256_cpu_features_decide(void **state)
{
    (void)state;
    unsigned a, b, c1 = 0, c, d, b7 = 0;
    if (__get_cpuid(1, &a, &b, &c1, &d) == 0 || __get_cpuid_count(7, 0, &a, &b7, &c, &d) == 0)
        c1 = b7 = 0;
    engine_sha256_use_extensions(1);
    int host = engine_sha256_use_extensions(1); /* what CPUID said */
    uint8_t out[32];
    char h[65];
    engine_sha256_cpu(0, 0);
    assert_int_equal(engine_sha256_use_extensions(1), 0);
    engine_sha256(out, "abc", 3);
    hex(h, out, 32);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    engine_sha256_cpu(c1, b7);
    assert_int_equal(engine_sha256_use_extensions(1), host);
    engine_sha256(out, "abc", 3);
    hex(h, out, 32);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static int use_portable(void **state)
{
    (void)state;
    engine_sha256_use_extensions(0);
    return 0;
}

static int use_extensions(void **state)
{
    (void)state;
    engine_sha256_use_extensions(1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_vectors),
        cmocka_unit_test(test_sha256_million_a_in_uneven_pieces),
        cmocka_unit_test(test_sha256_hmac_rfc4231),
        cmocka_unit_test(test_sha256_pbkdf2_vectors),
        cmocka_unit_test(test_sha256_pbkdf2_in_slices),
        cmocka_unit_test(test_sha256_pbkdf2_refuses_bad_arguments),
        cmocka_unit_test(test_sha256_extensions_match_portable),
        cmocka_unit_test(test_sha256_cpu_features_decide),
    };
    /* Every vector both ways: with the SHA extensions where the processor has them, then with
     * the portable code. */
    int rc = cmocka_run_group_tests_name("sha256", tests, use_extensions, NULL);
    rc += cmocka_run_group_tests_name("sha256_portable", tests, use_portable, use_extensions);
    return rc;
}
