/*
 * tls_ec.c — the handshake's elliptic-curve work, plugged into BearSSL through its hooks:
 * X25519 (ECDHE) and ECDSA signatures with a P-256 key are done by Nettle's hogweed
 * (nettle-dev's libhogweed.a, over libgmp.a's mpn layer: x86_64 assembly for the field
 * reductions, side-channel silent by design), two to six times faster per operation (four
 * for the handshake) than the m15/m31 code of Debian's BearSSL 0.6, which has no 64-bit
 * m62/m64 code; every other curve and operation is BearSSL's own: br_ec_prime_i31
 * (P-256 ECDHE, for the rare client without X25519, and P-384, P-521: its P-256 code would
 * cost the image 8 KB) and br_ecdsa_i31_sign_asn1.
 *
 * Guest objects see BearSSL's headers only, so the few Nettle and GMP calls are declared here;
 * the host build of this file includes Nettle's headers beside them (TLS_EC_CHECK_DECLS), where
 * any mismatch fails to compile. What GMP needs of the guest is tls_gmp.c's.
 */
#include "tls.h"

#ifdef TLS_EC_CHECK_DECLS
#include <gmp.h>
#include <nettle/curve25519.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#endif

typedef unsigned long tls_limb; /* GMP's mp_limb_t on x86_64 */

struct ecc_curve;

void nettle_curve25519_mul_g(uint8_t *q, const uint8_t *n);
void nettle_curve25519_mul(uint8_t *q, const uint8_t *n, const uint8_t *p);
const struct ecc_curve *nettle_get_secp_256r1(void);
long nettle_ecc_ecdsa_sign_itch(const struct ecc_curve *ecc);
void nettle_ecc_ecdsa_sign(const struct ecc_curve *ecc, const tls_limb *zp, const tls_limb *kp,
                           size_t length, const uint8_t *digest, tls_limb *rp, tls_limb *sp,
                           tls_limb *scratch);

#define TLS_EC_LIMBS   4  /* a P-256 scalar in 64-bit limbs */
#define TLS_EC_SCRATCH 64 /* limbs; Nettle 3.8 asks 44 for a P-256 signature */

/* The P-256 group order n, big-endian. */
static const uint8_t tls_p256_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

/* Curve25519's generator (u = 9, little-endian as RFC 7748) and the "order" BearSSL gives it,
 * 2^255 - 1 (big-endian, as its other orders): any 32 bytes are a multiplier (bearssl_ec.h). */
static const uint8_t tls_x25519_gen[32] = {9};
static const uint8_t tls_x25519_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static const unsigned char *tls_ec_generator(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.generator(curve, len);
    *len = 32;
    return tls_x25519_gen;
}

static const unsigned char *tls_ec_order(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.order(curve, len);
    *len = 32;
    return tls_x25519_order;
}

static size_t tls_ec_xoff(int curve, size_t *len)
{
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.xoff(curve, len);
    *len = 32;
    return 0;
}

/* 1 when the 32 bytes at P are all zero, in time independent of them. */
static uint32_t tls_ec_zero32(const uint8_t *p)
{
    uint32_t acc = 0;
    for (int i = 0; i < 32; i++)
        acc |= p[i];
    return (acc - 1) >> 31;
}

/* X25519 (RFC 7748: little-endian scalar and u, the scalar clamped) as BearSSL's Curve25519
 * code computes it; a shared secret of zeros (a small-order point) fails, as RFC 8446 asks. */
static uint32_t tls_ec_mul(unsigned char *G, size_t Glen, const unsigned char *x, size_t xlen,
                           int curve)
{
    uint8_t q[32];
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.mul(G, Glen, x, xlen, curve);
    if (Glen != 32 || xlen != 32) /* BearSSL's server makes 32-byte keys (tls_ec_order()) */
        return 0;
    nettle_curve25519_mul(q, x, G);
    uint32_t ok = 1 - tls_ec_zero32(q);
    memcpy(G, q, 32);
    libos_wipe(q, sizeof(q));
    return ok;
}

static size_t tls_ec_mulgen(unsigned char *R, const unsigned char *x, size_t xlen, int curve)
{
    if (curve != BR_EC_curve25519)
        return br_ec_prime_i31.mulgen(R, x, xlen, curve);
    if (xlen != 32)
        return 0;
    nettle_curve25519_mul_g(R, x);
    return 32;
}

static uint32_t tls_ec_muladd(unsigned char *A, const unsigned char *B, size_t len,
                              const unsigned char *x, size_t xlen, const unsigned char *y,
                              size_t ylen, int curve)
{
    if (curve == BR_EC_curve25519)
        return 0; /* no point addition on the Montgomery curve, as in BearSSL */
    return br_ec_prime_i31.muladd(A, B, len, x, xlen, y, ylen, curve);
}

const br_ec_impl tls_ec_impl = {
    .supported_curves = (uint32_t)1 << BR_EC_secp256r1 | (uint32_t)1 << BR_EC_secp384r1 |
                        (uint32_t)1 << BR_EC_secp521r1 | (uint32_t)1 << BR_EC_curve25519,
    .generator = tls_ec_generator,
    .order = tls_ec_order,
    .xoff = tls_ec_xoff,
    .mul = tls_ec_mul,
    .mulgen = tls_ec_mulgen,
    .muladd = tls_ec_muladd,
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "limbs are loaded little-endian");

/* The 32 big-endian bytes at B as GMP limbs, least significant first, and back. */
static void tls_ec_to_limbs(tls_limb *l, const uint8_t *b)
{
    for (int i = 0; i < TLS_EC_LIMBS; i++) {
        uint64_t v;
        __builtin_memcpy(&v, b + 8 * (TLS_EC_LIMBS - 1 - i), 8);
        l[i] = __builtin_bswap64(v);
    }
}

static void tls_ec_from_limbs(uint8_t *b, const tls_limb *l)
{
    for (int i = 0; i < TLS_EC_LIMBS; i++) {
        uint64_t v = __builtin_bswap64(l[i]);
        __builtin_memcpy(b + 8 * (TLS_EC_LIMBS - 1 - i), &v, 8);
    }
}

/* 1 when 0 < K < n (both 32 bytes big-endian), in time independent of K. */
static uint32_t tls_ec_in_range(const uint8_t *k)
{
    uint32_t borrow = 0;
    for (int i = 31; i >= 0; i--)
        borrow = ((uint32_t)k[i] - tls_p256_order[i] - borrow) >> 31;
    return borrow & (1 - tls_ec_zero32(k)); /* k - n borrows: k < n */
}

/*
 * The nonce of the signature of HASH (HLEN bytes) by the key X (32 bytes), deterministic as
 * BearSSL's own signer and RFC 6979 make it: HMAC-SHA256 keyed with the private key, a PRF,
 * over the hash and a counter, drawn again with the next counter until it lies in [1, n) (a
 * redraw has odds of 2^-32). One HMAC, 4 SHA-256 blocks, where RFC 6979's HMAC-DRBG takes 26:
 * its instantiation and output serve to stretch the PRF's output to any length and to be
 * reseeded, neither of which a 32-byte nonce of a 32-byte curve needs. K gets 32 bytes.
 */
static void tls_ec_nonce(uint8_t *k, const uint8_t *x, const void *hash, size_t hlen)
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    uint8_t ctr = 0;
    br_hmac_key_init(&kc, &tls_sha256_vtable, x, 32);
    do {
        br_hmac_init(&hc, &kc, 0);
        br_hmac_update(&hc, hash, hlen);
        br_hmac_update(&hc, &ctr, 1);
        br_hmac_out(&hc, k);
        ctr++;
    } while (!tls_ec_in_range(k));
    libos_wipe(&kc, sizeof(kc));
    libos_wipe(&hc, sizeof(hc));
}

/* br_ecdsa_sign for the server's key: Nettle's for P-256, BearSSL's i31 signer otherwise. */
size_t tls_ecdsa_sign(const br_ec_impl *impl, const br_hash_class *hf, const void *hash_value,
                      const br_ec_private_key *sk, void *sig)
{
    const struct ecc_curve *p256 = nettle_get_secp_256r1();
    size_t hlen = (hf->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
    tls_limb z[TLS_EC_LIMBS], k[TLS_EC_LIMBS], r[TLS_EC_LIMBS], s[TLS_EC_LIMBS];
    tls_limb scratch[TLS_EC_SCRATCH];
    uint8_t x[32], kb[32];

    if (sk->curve != BR_EC_secp256r1 || sk->xlen > 32 || hlen > 64 ||
        nettle_ecc_ecdsa_sign_itch(p256) > TLS_EC_SCRATCH)
        return br_ecdsa_i31_sign_asn1(impl, hf, hash_value, sk, sig);
    memset(x, 0, sizeof(x));
    memcpy(x + 32 - sk->xlen, sk->x, sk->xlen);
    tls_ec_nonce(kb, x, hash_value, hlen);
    tls_ec_to_limbs(z, x);
    tls_ec_to_limbs(k, kb);
    nettle_ecc_ecdsa_sign(p256, z, k, hlen, hash_value, r, s, scratch);
    tls_ec_from_limbs(sig, r);
    tls_ec_from_limbs((uint8_t *)sig + 32, s);
    libos_wipe(x, sizeof(x));
    libos_wipe(kb, sizeof(kb));
    libos_wipe(z, sizeof(z));
    libos_wipe(k, sizeof(k));
    libos_wipe(scratch, sizeof(scratch));
    return br_ecdsa_raw_to_asn1(sig, 64);
}
