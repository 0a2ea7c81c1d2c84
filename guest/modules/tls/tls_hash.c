/*
 * tls_hash.c — SHA-256 for BearSSL on the processor's SHA extensions: a br_hash_class over
 * common/sha256.c (which the image links already and which runs on SHA-NI where the boot
 * info lists it), and the TLS 1.2 PRF over it. Debian's BearSSL 0.6 has only portable C
 * SHA-256, about 8 times slower per block than SHA-NI; a full handshake hashes about 150
 * blocks (the transcript, the PRF, the engine's and the module's HMAC-DRBGs, the signature's
 * nonce, the session cache's index), which cost it 15 to 40 us of CPU more with BearSSL's.
 *
 * The class's running state (state(), set_state()) is the 8 chaining words big-endian, as
 * BearSSL's own; only this class reads what it wrote (the transcript's multihash, HMAC's
 * keyed states).
 */
#include "tls.h"

#include "common/sha256.h"

struct tls_sha256_ctx {
    const br_hash_class *vtable;
    struct engine_sha256 s;
};

_Static_assert(sizeof(struct tls_sha256_ctx) <= sizeof(br_hash_compat_context),
               "HMAC and the engine hold a hash context in a br_hash_compat_context");

static struct engine_sha256 *tls_sha256_of(const br_hash_class *const *ctx)
{
    return &((struct tls_sha256_ctx *)(uintptr_t)ctx)->s;
}

static void tls_sha256_init(const br_hash_class **ctx)
{
    *ctx = &tls_sha256_vtable;
    engine_sha256_init(tls_sha256_of(ctx));
}

static void tls_sha256_update(const br_hash_class **ctx, const void *data, size_t len)
{
    engine_sha256_update(tls_sha256_of(ctx), data, len);
}

/* The digest so far; the context goes on as it was (BearSSL's out() does not end it). */
static void tls_sha256_out(const br_hash_class *const *ctx, void *dst)
{
    struct engine_sha256 c = *tls_sha256_of(ctx);
    engine_sha256_final(&c, dst); /* wipes the copy */
}

static uint64_t tls_sha256_state(const br_hash_class *const *ctx, void *dst)
{
    const struct engine_sha256 *c = tls_sha256_of(ctx);
    uint8_t *p = dst;
    for (int i = 0; i < 8; i++) {
        p[4 * i] = (uint8_t)(c->h[i] >> 24);
        p[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        p[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        p[4 * i + 3] = (uint8_t)c->h[i];
    }
    return c->total - c->n; /* the bytes the chaining words cover */
}

/* COUNT is a multiple of the block size (bearssl_hash.h), so nothing waits in the buffer. */
static void tls_sha256_set_state(const br_hash_class **ctx, const void *stb, uint64_t count)
{
    struct engine_sha256 *c = tls_sha256_of(ctx);
    const uint8_t *p = stb;
    for (int i = 0; i < 8; i++)
        c->h[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
                  (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    c->total = count;
    c->n = 0;
}

const br_hash_class tls_sha256_vtable = {
    .context_size = sizeof(struct tls_sha256_ctx),
    .desc = BR_HASHDESC_ID(br_sha256_ID) | BR_HASHDESC_OUT(32) | BR_HASHDESC_STATE(32) |
            BR_HASHDESC_LBLEN(6) | BR_HASHDESC_MD_PADDING | BR_HASHDESC_MD_PADDING_BE,
    .init = tls_sha256_init,
    .update = tls_sha256_update,
    .out = tls_sha256_out,
    .state = tls_sha256_state,
    .set_state = tls_sha256_set_state,
};

/* OUT = HMAC(KC) over A (ALEN bytes), then LABEL and the seed chunks unless LABEL is NULL. */
static void tls_prf_hmac(uint8_t out[32], const br_hmac_key_context *kc, const void *a, size_t alen,
                         const char *label, size_t seed_num, const br_tls_prf_seed_chunk *seed)
{
    br_hmac_context hc;
    br_hmac_init(&hc, kc, 0);
    br_hmac_update(&hc, a, alen);
    if (label != NULL) {
        br_hmac_update(&hc, label, strlen(label));
        for (size_t i = 0; i < seed_num; i++)
            br_hmac_update(&hc, seed[i].data, seed[i].len);
    }
    br_hmac_out(&hc, out);
    libos_wipe(&hc, sizeof(hc));
}

/* The TLS 1.2 PRF with SHA-256 (RFC 5246, section 5: P_SHA256(secret, label + seed)), a
 * br_tls_prf_impl. */
void tls_prf_sha256(void *dst, size_t len, const void *secret, size_t secret_len, const char *label,
                    size_t seed_num, const br_tls_prf_seed_chunk *seed)
{
    br_hmac_key_context kc;
    uint8_t a[32], out[32];
    uint8_t *d = dst;

    br_hmac_key_init(&kc, &tls_sha256_vtable, secret, secret_len);
    tls_prf_hmac(a, &kc, NULL, 0, label, seed_num, seed); /* A(1) */
    for (;;) {
        size_t n = len < sizeof(out) ? len : sizeof(out);
        tls_prf_hmac(out, &kc, a, sizeof(a), label, seed_num, seed);
        memcpy(d, out, n);
        d += n;
        len -= n;
        if (len == 0)
            break;
        tls_prf_hmac(a, &kc, a, sizeof(a), NULL, 0, NULL); /* A(i+1) */
    }
    libos_wipe(&kc, sizeof(kc));
    libos_wipe(a, sizeof(a));
    libos_wipe(out, sizeof(out));
}
