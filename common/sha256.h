/*
 * sha256.h — the one hash of unisec: SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and
 * PBKDF2-HMAC-SHA256 (RFC 8018).
 *
 * Freestanding: sha256.c uses no libc and allocates nothing, so the guest compiles the same
 * file. Every function works on caller-owned memory; nothing is retained after it returns.
 */
#ifndef UNISEC_COMMON_SHA256_H
#define UNISEC_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ENGINE_SHA256_LEN   32 /* digest bytes */
#define ENGINE_SHA256_BLOCK 64 /* block bytes */

struct engine_sha256 {
    uint32_t h[8];
    uint64_t total;                   /* bytes hashed so far */
    uint8_t buf[ENGINE_SHA256_BLOCK]; /* pending partial block */
    size_t n;                         /* bytes in buf */
};

void engine_sha256_init(struct engine_sha256 *c);
void engine_sha256_update(struct engine_sha256 *c, const void *data, size_t len);
/* Writes the digest to OUT and wipes the context. */
void engine_sha256_final(struct engine_sha256 *c, uint8_t out[ENGINE_SHA256_LEN]);
/* One call: OUT = SHA-256(DATA). */
void engine_sha256(uint8_t out[ENGINE_SHA256_LEN], const void *data, size_t len);

/* Is DATA[AT..AT+32) the SHA-256 of DATA[0..LEN) with those 32 bytes read as zeros (how a
 * blob or patch seals itself)? AT + 32 <= LEN. Compares in constant time. */
int engine_sha256_sealed_ok(const void *data, size_t len, size_t at);

/*
 * Whether the compression uses the processor's SHA extensions (x86_64 SHA-NI), which it does
 * wherever they exist. USE 0 turns them off for the whole process, 1 back on; returns 1 when
 * they were in use before the call. For tests, which compare both ways.
 */
int engine_sha256_use_extensions(int use);

/*
 * Tells the compression what the processor has instead of letting it ask with CPUID:
 * LEAF1_ECX and LEAF7_EBX as CPUID leaf 1 and leaf 7 (subleaf 0) report them. For a unisec
 * guest, whose tender passes them in the boot info (on hvt, CPUID exits and the vCPU's own
 * CPUID does not list them). engine_sha256_use_extensions(0) still turns them off.
 */
void engine_sha256_cpu(uint32_t leaf1_ecx, uint32_t leaf7_ebx);

/* OUT = HMAC-SHA256(KEY, DATA); any key length. */
void engine_hmac_sha256(uint8_t out[ENGINE_SHA256_LEN], const void *key, size_t keylen,
                        const void *data, size_t len);

/*
 * OUT[0..outlen) = PBKDF2-HMAC-SHA256(PASSWORD, SALT, ITERATIONS). Returns 0, or -22
 * (EINVAL) when iterations is 0, outlen is 0 or saltlen exceeds 1024 bytes.
 */
int engine_pbkdf2_sha256(uint8_t *out, size_t outlen, const void *password, size_t pwlen,
                         const void *salt, size_t saltlen, uint32_t iterations);

/*
 * The same in slices, for a caller that must not stall (the guest's one event loop): the
 * first ENGINE_SHA256_LEN bytes of the key, iteration by iteration. Start takes what
 * engine_pbkdf2_sha256 takes (same errors) and runs the first iteration; each step runs at
 * most MAX more and returns how many are left; once none are, end writes the key and wipes
 * the state. The state holds no password, but the HMAC states keyed with it: wipe it with
 * end (also to abandon a computation).
 */
/* HMAC's keyed inner and outer states, computed once per key. */
struct engine_hmac_key {
    struct engine_sha256 inner, outer;
};

struct engine_pbkdf2 {
    struct engine_hmac_key m;         /* HMAC keyed with the password */
    uint8_t t[ENGINE_SHA256_LEN];     /* the XOR of the iterations so far */
    uint8_t blk[ENGINE_SHA256_BLOCK]; /* the last iteration's output, padded as one block */
    uint32_t left;                    /* iterations still to run */
};

int engine_pbkdf2_sha256_start(struct engine_pbkdf2 *st, const void *password, size_t pwlen,
                               const void *salt, size_t saltlen, uint32_t iterations);
uint32_t engine_pbkdf2_sha256_step(struct engine_pbkdf2 *st, uint32_t max);
void engine_pbkdf2_sha256_end(struct engine_pbkdf2 *st, uint8_t out[ENGINE_SHA256_LEN]);

#endif
