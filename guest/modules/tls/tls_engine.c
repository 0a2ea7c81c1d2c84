/*
 * tls_engine.c — what the tls module's server side (tls.c, tls_conn.c) and the tls_upstream
 * module's client side share: the module's DRBG, the implementations the processor allows,
 * and the set-up every engine gets, whichever side it is.
 */
#include "tls.h"

static br_hmac_drbg_context tls_drbg;
static int tls_drbg_ready;

int tls_rand_start(void)
{
    uint8_t seed[UNISEC_SEED_LEN];
    int e;
    if (tls_drbg_ready)
        return 0; /* the other side of the image took the seed */
    if ((e = libos_seed_take(seed)) < 0)
        return e;
    br_hmac_drbg_init(&tls_drbg, &tls_sha256_vtable, seed, sizeof(seed));
    libos_wipe(seed, sizeof(seed));
    tls_drbg_ready = 1;
    return 0;
}

/*
 * Seeds E's HMAC-DRBG (SHA-256, tls_hash.c's) with a state drawn whole from the module's: K and
 * V, 32 bytes each, are what HMAC-DRBG's instantiation would derive from a seed, and fresh output
 * of a DRBG is as good a state as that derivation's. br_ssl_engine_inject_entropy() would first
 * instantiate the engine's DRBG with no seed, then mix in one drawn from the module's: 34
 * SHA-256 blocks a connection, where drawing K and V takes 12. BearSSL's own system
 * seeder is skipped too: it would run CPUID (a VM exit on hvt, a trap to the host's hypervisor
 * under spt too) and RDRAND or a failed open() on every handshake, for nothing.
 */
void tls_engine_seed(br_ssl_engine_context *e)
{
    uint8_t kv[64];
    br_hmac_drbg_generate(&tls_drbg, kv, sizeof(kv));
    e->rng.vtable = &br_hmac_drbg_vtable;
    e->rng.digest_class = &tls_sha256_vtable;
    memcpy(e->rng.K, kv, 32);
    memcpy(e->rng.V, kv + 32, 32);
    libos_wipe(kv, sizeof(kv));
    e->rng_init_done = 2; /* "properly seeded" (bearssl_ssl.h) */
    e->rng_os_rand_done = 1;
}

void tls_impl_pick(struct tls_impl *im, const struct unisec_boot_info *bi)
{
    int sse2 = (bi->cpuid1_edx >> 26) & 1, ssse3 = (bi->cpuid1_ecx >> 9) & 1;
    int sse41 = (bi->cpuid1_ecx >> 19) & 1, aesni = (bi->cpuid1_ecx >> 25) & 1;
    int pclmul = (bi->cpuid1_ecx >> 1) & 1;
    im->fast_gcm = sse2 && sse41 && aesni && ssse3 && pclmul;
    im->aes = im->fast_gcm ? &br_aes_x86ni_ctr_vtable : &br_aes_ct64_ctr_vtable;
    im->ghash = im->fast_gcm ? &br_ghash_pclmul : &br_ghash_ctmul64;
    im->chacha = sse2 ? &br_chacha20_sse2_run : &br_chacha20_ct_run;
}

void tls_engine_base(br_ssl_engine_context *e, const struct tls_impl *im, const uint16_t *suites,
                     size_t nsuites)
{
    tls_engine_seed(e);
    br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(e, suites, nsuites);
    br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
    br_ssl_engine_set_ec(e, &tls_ec_impl);
    /* SHA-256 on SHA-NI (tls_hash.c): the transcript and the PRF (the engine's HMAC-DRBG runs
     * over it too, tls_engine_seed()). */
    br_ssl_engine_set_hash(e, br_sha256_ID, &tls_sha256_vtable);
    br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_prf_sha256(e, &tls_prf_sha256);
    br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
    br_ssl_engine_set_gcm(e, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable);
    br_ssl_engine_set_aes_ctr(e, im->aes);
    br_ssl_engine_set_ghash(e, im->ghash);
    br_ssl_engine_set_chapol(e, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
    br_ssl_engine_set_chacha20(e, im->chacha);
    br_ssl_engine_set_poly1305(e, &br_poly1305_ctmulq_run);
}
