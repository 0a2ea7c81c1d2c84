/* sha256.c — SHA-256, HMAC-SHA256 and PBKDF2-HMAC-SHA256, freestanding (no libc). On x86_64
 * processors with the SHA extensions the compression runs on them (about 8 times faster:
 * a password check's PBKDF2 is most of a guest's first authenticated request). */
#include "sha256.h"

#if defined(__x86_64__)
/* The intrinsics headers include mm_malloc.h, which includes the libc's stdlib.h that a
 * freestanding guest does not have; nothing here uses _mm_malloc, so its header is skipped
 * (GCC's and clang's include guards). */
#define _MM_MALLOC_H_INCLUDED
#define __MM_MALLOC_H
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_NI 1
#endif

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t sha256_ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* No libc in the guest: the two byte helpers this file needs. */
static void sha256_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

static void sha256_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    for (size_t i = 0; i < n; i++)
        v[i] = 0;
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = sha256_ror(w[i - 15], 7) ^ sha256_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = sha256_ror(w[i - 2], 17) ^ sha256_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = sha256_ror(e, 6) ^ sha256_ror(e, 11) ^ sha256_ror(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + sha256_k[i] + w[i];
        uint32_t S0 = sha256_ror(a, 2) ^ sha256_ror(a, 13) ^ sha256_ror(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

#ifdef SHA256_NI
/* The SHA extensions' compression: the state as ABEF and CDGH words, four rounds per message
 * vector, the schedule computed four words at a time (SHA256MSG1 and SHA256MSG2). */
__attribute__((target("sha,ssse3,sse4.1"))) static void sha256_block_ni(uint32_t h[8],
                                                                        const uint8_t *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i dcba = _mm_loadu_si128((const __m128i *)h);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
    __m128i abef0 = abef, cdgh0 = cdgh, w[4];

    for (int i = 0; i < 4; i++)
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
    for (int i = 0; i < 16; i++) {
        __m128i cur = w[i % 4];
        __m128i m = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)(sha256_k + 4 * i)));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
        /* Words 4(i+1).. from the vector three back (SHA256MSG1 applied) and this one. */
        if (i >= 3 && i < 15) {
            __m128i next = _mm_add_epi32(w[(i + 1) % 4], _mm_alignr_epi8(cur, w[(i + 3) % 4], 4));
            w[(i + 1) % 4] = _mm_sha256msg2_epu32(next, cur);
        }
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0e));
        if (i >= 1 && i < 13)
            w[(i + 3) % 4] = _mm_sha256msg1_epu32(w[(i + 3) % 4], cur);
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
    /* Back to DCBA and HGFE. */
    __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xf0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

static int sha256_ni_off;  /* engine_sha256_use_extensions(0) was called */
static int sha256_ni = -1; /* -1: not asked yet; every thread computes the same answer */

/* 1 when CPUID leaf 1 ECX and leaf 7 EBX say the SHA extensions (and the SSSE3 and SSE4.1
 * they come with) are there. */
static int sha256_ni_in(uint32_t leaf1_ecx, uint32_t leaf7_ebx)
{
    return (leaf1_ecx & bit_SSSE3) && (leaf1_ecx & bit_SSE4_1) && (leaf7_ebx & bit_SHA);
}

/* 1 when the processor has the SHA extensions and they are not turned off. */
static int sha256_have_ni(void)
{
    if (__atomic_load_n(&sha256_ni_off, __ATOMIC_RELAXED))
        return 0;
    int v = __atomic_load_n(&sha256_ni, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c1, c, d;
        v = __get_cpuid(1, &a, &b, &c1, &d) && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
            sha256_ni_in(c1, b);
        __atomic_store_n(&sha256_ni, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void engine_sha256_cpu(uint32_t leaf1_ecx, uint32_t leaf7_ebx)
{
#ifdef SHA256_NI
    __atomic_store_n(&sha256_ni, sha256_ni_in(leaf1_ecx, leaf7_ebx), __ATOMIC_RELAXED);
#else
    (void)leaf1_ecx;
    (void)leaf7_ebx;
#endif
}

int engine_sha256_use_extensions(int use)
{
#ifdef SHA256_NI
    int was = sha256_have_ni();
    __atomic_store_n(&sha256_ni_off, !use, __ATOMIC_RELAXED);
    return was;
#else
    (void)use;
    return 0;
#endif
}

static void sha256_compress(uint32_t h[8], const uint8_t *p)
{
#ifdef SHA256_NI
    if (sha256_have_ni()) {
        sha256_block_ni(h, p);
        return;
    }
#endif
    sha256_block(h, p);
}

void engine_sha256_init(struct engine_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++)
        c->h[i] = iv[i];
    c->total = 0;
    c->n = 0;
}

void engine_sha256_update(struct engine_sha256 *c, const void *data, size_t len)
{
    const uint8_t *p = data;

    if (len == 0)
        return; /* DATA may be NULL then (BearSSL's HMAC-DRBG seeded with nothing) */
    c->total += len;
    if (c->n > 0) {
        size_t take = ENGINE_SHA256_BLOCK - c->n;
        if (take > len)
            take = len;
        sha256_copy(c->buf + c->n, p, take);
        c->n += take, p += take, len -= take;
        if (c->n < ENGINE_SHA256_BLOCK)
            return;
        sha256_compress(c->h, c->buf);
        c->n = 0;
    }
    for (; len >= ENGINE_SHA256_BLOCK; p += ENGINE_SHA256_BLOCK, len -= ENGINE_SHA256_BLOCK)
        sha256_compress(c->h, p);
    sha256_copy(c->buf, p, len);
    c->n = len;
}

void engine_sha256_final(struct engine_sha256 *c, uint8_t out[ENGINE_SHA256_LEN])
{
    uint64_t bits = c->total * 8;

    c->buf[c->n++] = 0x80;
    if (c->n > ENGINE_SHA256_BLOCK - 8) {
        while (c->n < ENGINE_SHA256_BLOCK)
            c->buf[c->n++] = 0;
        sha256_compress(c->h, c->buf);
        c->n = 0;
    }
    while (c->n < ENGINE_SHA256_BLOCK - 8)
        c->buf[c->n++] = 0;
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_compress(c->h, c->buf);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
    sha256_wipe(c, sizeof(*c));
}

void engine_sha256(uint8_t out[ENGINE_SHA256_LEN], const void *data, size_t len)
{
    struct engine_sha256 c;
    engine_sha256_init(&c);
    engine_sha256_update(&c, data, len);
    engine_sha256_final(&c, out);
}

static void sha256_hmac_init(struct engine_hmac_key *m, const void *key, size_t keylen)
{
    uint8_t k[ENGINE_SHA256_BLOCK] = {0}, pad[ENGINE_SHA256_BLOCK];

    if (keylen > ENGINE_SHA256_BLOCK)
        engine_sha256(k, key, keylen);
    else
        sha256_copy(k, key, keylen);
    for (int i = 0; i < ENGINE_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    engine_sha256_init(&m->inner);
    engine_sha256_update(&m->inner, pad, sizeof(pad));
    for (int i = 0; i < ENGINE_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    engine_sha256_init(&m->outer);
    engine_sha256_update(&m->outer, pad, sizeof(pad));
    sha256_wipe(k, sizeof(k));
    sha256_wipe(pad, sizeof(pad));
}

/* OUT = HMAC(key of M, A || B), leaving M reusable. */
static void sha256_hmac_run(const struct engine_hmac_key *m, uint8_t out[ENGINE_SHA256_LEN],
                            const void *a, size_t alen, const void *b, size_t blen)
{
    struct engine_sha256 c = m->inner;
    uint8_t ih[ENGINE_SHA256_LEN];

    engine_sha256_update(&c, a, alen);
    engine_sha256_update(&c, b, blen);
    engine_sha256_final(&c, ih);
    c = m->outer;
    engine_sha256_update(&c, ih, sizeof(ih));
    engine_sha256_final(&c, out);
    sha256_wipe(ih, sizeof(ih));
}

void engine_hmac_sha256(uint8_t out[ENGINE_SHA256_LEN], const void *key, size_t keylen,
                        const void *data, size_t len)
{
    struct engine_hmac_key m;
    sha256_hmac_init(&m, key, keylen);
    sha256_hmac_run(&m, out, data, len, "", 0);
    sha256_wipe(&m, sizeof(m));
}

/* Writes H as the big-endian digest bytes at P. */
static void sha256_put(uint8_t *p, const uint32_t h[8])
{
    for (int i = 0; i < 8; i++) {
        p[4 * i] = (uint8_t)(h[i] >> 24);
        p[4 * i + 1] = (uint8_t)(h[i] >> 16);
        p[4 * i + 2] = (uint8_t)(h[i] >> 8);
        p[4 * i + 3] = (uint8_t)h[i];
    }
}

/*
 * U = HMAC(key of M, U) for a 32-byte U, the inner loop of PBKDF2: both hashes are one block
 * after the key's (32 bytes, then the padding and the length, 768 bits, which stay in BLK
 * from one call to the next), so each is one compression of the keyed state, with none of
 * the general path's copying, padding and wiping per call.
 */
static void sha256_hmac_32(const struct engine_hmac_key *m, uint8_t blk[ENGINE_SHA256_BLOCK],
                           uint32_t h[8])
{
    for (int i = 0; i < 8; i++)
        h[i] = m->inner.h[i];
    sha256_compress(h, blk);
    sha256_put(blk, h);
    for (int i = 0; i < 8; i++)
        h[i] = m->outer.h[i];
    sha256_compress(h, blk);
    sha256_put(blk, h);
}

/* Starts block BLOCK of a PBKDF2 whose keyed HMAC states are in ST: its first iteration. */
static void sha256_pbkdf2_block(struct engine_pbkdf2 *st, const void *salt, size_t saltlen,
                                uint32_t block, uint32_t iterations)
{
    const struct engine_hmac_key *m = &st->m;
    uint8_t ctr[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16), (uint8_t)(block >> 8),
                      (uint8_t)block};
    uint8_t u[ENGINE_SHA256_LEN];

    sha256_hmac_run(m, u, salt, saltlen, ctr, 4);
    sha256_copy(st->t, u, sizeof(u));
    for (int i = 0; i < ENGINE_SHA256_BLOCK; i++)
        st->blk[i] = 0;
    sha256_copy(st->blk, u, sizeof(u));
    st->blk[ENGINE_SHA256_LEN] = 0x80;
    st->blk[ENGINE_SHA256_BLOCK - 2] = (ENGINE_SHA256_BLOCK + ENGINE_SHA256_LEN) * 8 >> 8;
    st->left = iterations - 1;
    sha256_wipe(u, sizeof(u));
}

int engine_pbkdf2_sha256_start(struct engine_pbkdf2 *st, const void *password, size_t pwlen,
                               const void *salt, size_t saltlen, uint32_t iterations)
{
    if (iterations == 0 || saltlen > 1024)
        return -22;
    sha256_hmac_init(&st->m, password, pwlen);
    sha256_pbkdf2_block(st, salt, saltlen, 1, iterations);
    return 0;
}

uint32_t engine_pbkdf2_sha256_step(struct engine_pbkdf2 *st, uint32_t max)
{
    const struct engine_hmac_key *m = &st->m;
    uint32_t h[8];
    uint32_t n = max < st->left ? max : st->left;

    for (uint32_t i = 0; i < n; i++) {
        sha256_hmac_32(m, st->blk, h);
        for (int j = 0; j < ENGINE_SHA256_LEN; j++)
            st->t[j] ^= st->blk[j];
    }
    sha256_wipe(h, sizeof(h));
    st->left -= n;
    return st->left;
}

void engine_pbkdf2_sha256_end(struct engine_pbkdf2 *st, uint8_t out[ENGINE_SHA256_LEN])
{
    sha256_copy(out, st->t, ENGINE_SHA256_LEN);
    sha256_wipe(st, sizeof(*st));
}

int engine_pbkdf2_sha256(uint8_t *out, size_t outlen, const void *password, size_t pwlen,
                         const void *salt, size_t saltlen, uint32_t iterations)
{
    struct engine_pbkdf2 st;

    if (iterations == 0 || outlen == 0 || saltlen > 1024)
        return -22;
    sha256_hmac_init(&st.m, password, pwlen);
    for (uint32_t block = 1; outlen > 0; block++) {
        size_t take = outlen < ENGINE_SHA256_LEN ? outlen : ENGINE_SHA256_LEN;
        sha256_pbkdf2_block(&st, salt, saltlen, block, iterations);
        engine_pbkdf2_sha256_step(&st, st.left);
        sha256_copy(out, st.t, take);
        out += take, outlen -= take;
    }
    sha256_wipe(&st, sizeof(st));
    return 0;
}

int engine_sha256_sealed_ok(const void *data, size_t len, size_t at)
{
    static const uint8_t zero[32];
    const uint8_t *p = data;
    struct engine_sha256 c;
    uint8_t sum[ENGINE_SHA256_LEN];
    uint8_t diff = 0;

    engine_sha256_init(&c);
    engine_sha256_update(&c, p, at);
    engine_sha256_update(&c, zero, sizeof(zero));
    engine_sha256_update(&c, p + at + 32, len - at - 32);
    engine_sha256_final(&c, sum);
    for (int i = 0; i < ENGINE_SHA256_LEN; i++)
        diff |= sum[i] ^ p[at + i];
    return diff == 0;
}
