/*
 * test_tls_ec.c — the tls module's EC work (guest/modules/tls/tls_ec.c, over Nettle and GMP)
 * gives BearSSL's results: RFC 7748's X25519 vectors, random multipliers and points against
 * BearSSL's own Curve25519 code, the other curves delegated unchanged, and ECDSA signatures
 * that BearSSL verifies, with the nonce tls_ec.c documents. Built with Nettle's headers
 * (TLS_EC_CHECK_DECLS), so the module's own declarations of Nettle's calls are checked against
 * them.
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

/* The library OS calls tls_ec.c and tls_gmp.c make. */
void libos_wipe(void *p, size_t n)
{
    memset(p, 0, n);
}

void libos_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    abort();
}

static void hex(uint8_t *out, const char *h)
{
    for (size_t i = 0; h[2 * i]; i++)
        sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static br_hmac_drbg_context rng;

static int setup(void **state)
{
    (void)state;
    tls_ec_init();
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "test_tls_ec", 11);
    return 0;
}

/* RFC 7748 section 5.2 (the first vector) and section 6.1 (Alice and Bob). */
static void test_x25519_rfc7748(void **state)
{
    (void)state;
    const br_ec_impl *impls[] = {&tls_ec_impl, &br_ec_c25519_m31};
    uint8_t k[32], u[32], want[32], a[32], b[32], apub[32], bpub[32], shared[32], got[32];
    hex(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
    hex(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    hex(want, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    hex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    hex(apub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    hex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    hex(bpub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    hex(shared, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    for (size_t i = 0; i < 2; i++) {
        const br_ec_impl *e = impls[i];
        memcpy(got, u, 32);
        assert_int_equal(e->mul(got, 32, k, 32, BR_EC_curve25519), 1);
        assert_memory_equal(got, want, 32);
        assert_int_equal(e->mulgen(got, a, 32, BR_EC_curve25519), 32);
        assert_memory_equal(got, apub, 32);
        assert_int_equal(e->mulgen(got, b, 32, BR_EC_curve25519), 32);
        assert_memory_equal(got, bpub, 32);
        memcpy(got, bpub, 32);
        assert_int_equal(e->mul(got, 32, a, 32, BR_EC_curve25519), 1);
        assert_memory_equal(got, shared, 32);
        memcpy(got, apub, 32);
        assert_int_equal(e->mul(got, 32, b, 32, BR_EC_curve25519), 1);
        assert_memory_equal(got, shared, 32);
    }
}

/* Random multipliers and points (the top bit of u set too): the same bytes as BearSSL's. */
static void test_x25519_matches_bearssl(void **state)
{
    (void)state;
    for (int i = 0; i < 300; i++) {
        uint8_t x[32], p[32], q[32], r1[32], r2[32];
        br_hmac_drbg_generate(&rng, x, 32);
        br_hmac_drbg_generate(&rng, p, 32);
        assert_int_equal(tls_ec_impl.mulgen(r1, x, 32, BR_EC_curve25519), 32);
        assert_int_equal(br_ec_c25519_m31.mulgen(r2, x, 32, BR_EC_curve25519), 32);
        assert_memory_equal(r1, r2, 32);
        memcpy(q, p, 32);
        assert_int_equal(tls_ec_impl.mul(p, 32, x, 32, BR_EC_curve25519), 1);
        assert_int_equal(br_ec_c25519_m31.mul(q, 32, x, 32, BR_EC_curve25519), 1);
        assert_memory_equal(p, q, 32);
    }
}

/* What BearSSL's server asks of the curve besides the products, and what it never sends. */
static void test_x25519_edges(void **state)
{
    (void)state;
    const br_ec_impl *bear = &br_ec_c25519_m31;
    size_t n1, n2;
    const unsigned char *g1 = tls_ec_impl.generator(BR_EC_curve25519, &n1);
    const unsigned char *g2 = bear->generator(BR_EC_curve25519, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(g1, g2, n1);
    g1 = tls_ec_impl.order(BR_EC_curve25519, &n1);
    g2 = bear->order(BR_EC_curve25519, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(g1, g2, n1);
    assert_int_equal(tls_ec_impl.xoff(BR_EC_curve25519, &n1), bear->xoff(BR_EC_curve25519, &n2));
    assert_int_equal(n1, n2);
    assert_int_equal(tls_ec_impl.supported_curves, br_ec_all_m31.supported_curves);

    /* A small-order point (u = 0) makes a shared secret of zeros: refused (RFC 8446 7.4.2). */
    uint8_t x[32], p[32] = {0}, out[33];
    br_hmac_drbg_generate(&rng, x, 32);
    assert_int_equal(tls_ec_impl.mul(p, 32, x, 32, BR_EC_curve25519), 0);
    /* Lengths other than 32 bytes, and point addition, are refused as BearSSL's server never
     * asks them. */
    memset(p, 9, 32);
    assert_int_equal(tls_ec_impl.mul(p, 31, x, 32, BR_EC_curve25519), 0);
    assert_int_equal(tls_ec_impl.mul(p, 32, x, 31, BR_EC_curve25519), 0);
    assert_int_equal(tls_ec_impl.mulgen(out, x, 33, BR_EC_curve25519), 0);
    assert_int_equal(tls_ec_impl.muladd(p, NULL, 32, x, 32, x, 32, BR_EC_curve25519), 0);
}

/* P-256, P-384 and P-521 are BearSSL's: products equal br_ec_all_m31's. */
static void test_other_curves_delegated(void **state)
{
    (void)state;
    static const int curves[] = {BR_EC_secp256r1, BR_EC_secp384r1, BR_EC_secp521r1};
    for (size_t c = 0; c < 3; c++) {
        uint8_t x[66], y[66], p1[133], p2[133];
        size_t olen, n1, n2;
        const unsigned char *order = br_ec_all_m31.order(curves[c], &olen);
        br_hmac_drbg_generate(&rng, x, olen);
        br_hmac_drbg_generate(&rng, y, olen);
        x[0] = y[0] = order[0] >> 1; /* below the order */
        n1 = tls_ec_impl.mulgen(p1, x, olen, curves[c]);
        n2 = br_ec_all_m31.mulgen(p2, x, olen, curves[c]);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(p1, p2, n1);
        assert_int_equal(tls_ec_impl.mul(p1, n1, y, olen, curves[c]), 1);
        assert_int_equal(br_ec_all_m31.mul(p2, n2, y, olen, curves[c]), 1);
        assert_memory_equal(p1, p2, n1);
    }
}

/* A signature by KEY (CURVE) of a hash by HF, verified by BearSSL; deterministic; a changed
 * hash does not verify. */
static void sign_and_verify(int curve, size_t xlen, const br_hash_class *hf)
{
    uint8_t x[66], hash[64], sig[2][160], kbuf[BR_EC_KBUF_PUB_MAX_SIZE];
    size_t hlen = (hf->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
    size_t olen;
    const unsigned char *order = br_ec_all_m31.order(curve, &olen);
    br_hmac_drbg_generate(&rng, x, xlen);
    x[0] = order[0] >> 1;
    br_hmac_drbg_generate(&rng, hash, hlen);
    br_ec_private_key sk = {curve, x, xlen};
    br_ec_public_key pk;
    assert_true(br_ec_compute_pub(&br_ec_all_m31, &pk, kbuf, &sk) > 0);
    size_t n = tls_ecdsa_sign(&tls_ec_impl, hf, hash, &sk, sig[0]);
    assert_true(n > 0);
    assert_int_equal(tls_ecdsa_sign(&tls_ec_impl, hf, hash, &sk, sig[1]), n);
    assert_memory_equal(sig[0], sig[1], n);
    assert_int_equal(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, hlen, &pk, sig[0], n), 1);
    hash[0] ^= 1;
    assert_int_equal(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, hlen, &pk, sig[0], n), 0);
}

/* The P-256 signer's nonce is HMAC-SHA256(key, hash || 0) (tls_ec.c), recomputed here with
 * common/sha256.c's HMAC: the signature's r is the x of that multiple of the generator. */
static void test_ecdsa_nonce(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        uint8_t x[32], hash[32], msg[33], k[32], sig[72], point[65];
        size_t olen;
        const unsigned char *order = br_ec_all_m31.order(BR_EC_secp256r1, &olen);
        br_hmac_drbg_generate(&rng, x, sizeof(x));
        x[0] = order[0] >> 1;
        br_hmac_drbg_generate(&rng, hash, sizeof(hash));
        br_ec_private_key sk = {BR_EC_secp256r1, x, sizeof(x)};
        size_t n = tls_ecdsa_sign(&tls_ec_impl, &br_sha256_vtable, hash, &sk, sig);
        assert_true(n > 0);
        assert_int_equal(br_ecdsa_asn1_to_raw(sig, n), 64);
        memcpy(msg, hash, 32);
        msg[32] = 0;
        engine_hmac_sha256(k, x, sizeof(x), msg, sizeof(msg));
        assert_int_equal(br_ec_all_m31.mulgen(point, k, sizeof(k), BR_EC_secp256r1), 65);
        assert_memory_equal(sig, point + 1, 32); /* k < n and x(kG) < n but for odds of 2^-32 */
    }
}

static void test_ecdsa(void **state)
{
    (void)state;
    const br_hash_class *hashes[] = {&br_sha256_vtable, &br_sha1_vtable, &br_sha384_vtable,
                                     &br_sha512_vtable};
    for (int i = 0; i < 40; i++) {
        sign_and_verify(BR_EC_secp256r1, 32, hashes[i % 4]);
        sign_and_verify(BR_EC_secp256r1, 31, hashes[i % 4]); /* a short key encoding */
    }
    sign_and_verify(BR_EC_secp384r1, 48, &br_sha384_vtable); /* BearSSL's i31 signer */
    sign_and_verify(BR_EC_secp521r1, 66, &br_sha512_vtable);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_rfc7748), cmocka_unit_test(test_x25519_matches_bearssl),
        cmocka_unit_test(test_x25519_edges),   cmocka_unit_test(test_other_curves_delegated),
        cmocka_unit_test(test_ecdsa),          cmocka_unit_test(test_ecdsa_nonce),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
