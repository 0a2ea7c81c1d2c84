/*
 * tls.c — the tls module: TLS 1.2 termination beneath the front (http_server), with BearSSL.
 *
 * At init it takes the instance's credentials from the tender (contract/tls_creds.h: the
 * certificate chain and the EC or RSA private key, never in the image) and its boot seed
 * (an HMAC-DRBG over SHA-256 is seeded with it; each connection's engine takes its own
 * DRBG's state, 64 fresh bytes, from it: tls_engine.c), picks the fastest implementations the
 * processor allows (tls_engine.c; the EC work is tls_ec.c's), and puts its layer beneath the
 * front.
 *
 * What a connection accepts: TLS 1.2 only; ECDHE key exchange (X25519, P-256, P-384,
 * P-521) signed with the certificate's key, never RSA key exchange; AES-128/256-GCM and
 * ChaCha20-Poly1305 only, the server's order (ChaCha20 first when the processor lacks AES
 * instructions); no renegotiation (BearSSL has no compression). Sessions resume from a
 * cache of TLS_CACHE_LEN bytes.
 */
#include "tls.h"

#include "common/tls_creds.h"

#define TLS_CACHE_LEN (16 * 1024) /* about 160 sessions */

static struct tls_config tls;
static void *tls_blob; /* the credentials as taken: the key and the chain point into it */
static size_t tls_blob_len;

static unsigned char tls_cache_buf[TLS_CACHE_LEN];

/* Chooses the implementations and the suites from the instruction sets the tender reported. */
static void tls_pick(const struct unisec_boot_info *bi)
{
    int ec = tls.key_type == UNISEC_TLS_KEY_EC;
    uint16_t gcm128 =
        ec ? BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 : BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;
    uint16_t gcm256 =
        ec ? BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 : BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
    uint16_t chapol = ec ? BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                         : BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
    tls_impl_pick(&tls.impl, bi);
    tls.suites[0] = tls.impl.fast_gcm ? gcm128 : chapol;
    tls.suites[1] = tls.impl.fast_gcm ? gcm256 : gcm128;
    tls.suites[2] = tls.impl.fast_gcm ? chapol : gcm256;
}

/* Points the key and the chain into the blob, which tls_creds_parse() framed. */
static int tls_creds_load(const struct tls_creds *cr)
{
    tls.key_type = cr->key_type;
    if (cr->key_type == UNISEC_TLS_KEY_EC) {
        tls.ec =
            (br_ec_private_key){(int)cr->key_param, (unsigned char *)cr->key[0].p, cr->key[0].len};
    } else {
        const struct tls_creds_item *k = cr->key;
        tls.rsa = (br_rsa_private_key){
            cr->key_param, (unsigned char *)k[0].p, k[0].len, (unsigned char *)k[1].p,
            k[1].len,      (unsigned char *)k[2].p, k[2].len, (unsigned char *)k[3].p,
            k[3].len,      (unsigned char *)k[4].p, k[4].len};
    }
    for (uint32_t i = 0; i < cr->ncerts; i++)
        tls.chain[i] = (br_x509_certificate){(unsigned char *)cr->cert[i].p, cr->cert[i].len};
    tls.nchain = cr->ncerts;
    return 0;
}

static int tls_init(const struct mod_props *p)
{
    struct tls_creds cr;
    const char *why;
    int e;
    (void)p;
    if ((e = tls_rand_start()) < 0) {
        printf("tls: the tender gave no random seed\n");
        return e;
    }
    if ((e = libos_tls_creds_take(&tls_blob, &tls_blob_len)) < 0) {
        printf("tls: no certificate and key from the tender (%s)\n",
               e == -UNISEC_ENOENT ? "already taken" : "out of memory");
        return e;
    }
    if (tls_creds_parse(tls_blob, tls_blob_len, &cr, &why) < 0) {
        printf("tls: the credentials are malformed: %s\n", why);
        return -UNISEC_EINVAL;
    }
    tls_creds_load(&cr);
    tls_pick(libos_boot_info());
    tls_ec_init();
    br_ssl_session_cache_lru_init(&tls.cache, tls_cache_buf, sizeof(tls_cache_buf));
    tls_layer_start(&tls);
    printf("tls: serving TLS 1.2 with a%s %s key and %zu certificate%s; EC: %s\n",
           tls.key_type == UNISEC_TLS_KEY_EC ? "n" : "",
           tls.key_type == UNISEC_TLS_KEY_EC ? "EC" : "RSA", tls.nchain, tls.nchain == 1 ? "" : "s",
           TLS_EC_NAME);
    return 0;
}

const struct mod_module mod_tls = {.name = "tls", .init = tls_init};
