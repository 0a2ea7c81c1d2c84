/*
 * tls.h — the tls module's two halves: its configuration (tls.c: the credentials, the DRBG,
 * the implementations and suites), its EC work (tls_ec.c), its SHA-256 (tls_hash.c) and its
 * connections (tls_conn.c: each one's engine, and the layer beneath the front, module.h's
 * struct mod_layer). tls.c calls tls_conn.c, not back.
 */
#ifndef UNISEC_GUEST_TLS_H
#define UNISEC_GUEST_TLS_H

#include <bearssl.h>

#include "../module.h"
#include "contract/tls_creds.h"

/* A connection's output buffer: records carry at most 4 KiB (BearSSL's input buffer must hold
 * a whole 16 KiB record, which a client may send; what it sends is ours to size). */
#define TLS_OBUF_LEN (4096 + 85)

struct tls_conn {
    br_ssl_server_context sc;
    struct libos_stream *s;            /* the raw stream */
    const struct libos_stream_ops *up; /* the front's callbacks, with UP_CTX */
    void *up_ctx;
    unsigned up_want;        /* LIBOS_WANT_* the front asked for */
    long raw_end;            /* 0; 1 the peer ended the raw stream; < 0 it failed */
    int closed;              /* the front closed the connection */
    int depth;               /* the front's callbacks on the stack: free only at 0 */
    struct libos_timer kick; /* runs the front's callbacks at the next turn */
    unsigned char ibuf[BR_SSL_BUFSIZE_INPUT];
    unsigned char obuf[TLS_OBUF_LEN];
};

/* What every connection's engine is set up with (tls.c fills it once, at init). */
struct tls_config {
    uint32_t key_type; /* UNISEC_TLS_KEY_EC or UNISEC_TLS_KEY_RSA */
    br_ec_private_key ec;
    br_rsa_private_key rsa;
    br_x509_certificate chain[UNISEC_TLS_CERTS_MAX];
    size_t nchain;
    br_hmac_drbg_context drbg; /* each engine's DRBG state is 64 fresh bytes of it */
    br_ssl_session_cache_lru cache;
    const br_block_ctr_class *aes;
    br_ghash ghash;
    br_chacha20_run chacha;
    uint16_t suites[3]; /* in the server's order of preference */
};

/* Puts the layer beneath the front; every connection it opens is set up from CFG. */
void tls_layer_start(struct tls_config *cfg);

/* tls_ec.c: the handshake's EC work. tls_ec_impl does X25519 with Nettle and every other
 * curve with BearSSL's br_ec_prime_i31; tls_ecdsa_sign (a br_ecdsa_sign) signs with a P-256
 * key with Nettle, any other with br_ecdsa_i31_sign_asn1. Both give BearSSL's results (the
 * signature's nonce is deterministic, though not the same bytes as BearSSL's). tls_ec_init()
 * (tls_gmp.c) routes GMP's scratch through the library OS's allocator, wiped when freed: call
 * it first. */
extern const br_ec_impl tls_ec_impl;
size_t tls_ecdsa_sign(const br_ec_impl *impl, const br_hash_class *hf, const void *hash_value,
                      const br_ec_private_key *sk, void *sig);
void tls_ec_init(void);
/* What does the EC work, for the start message. */
#define TLS_EC_NAME "X25519 and P-256 ECDSA by Nettle (hogweed), other EC work BearSSL i31"

/* tls_hash.c: SHA-256 on the processor's SHA extensions where the boot info lists them
 * (common/sha256.c, which engine_sha256_cpu() told at boot), as a BearSSL hash class, and the
 * TLS 1.2 PRF over it (a br_tls_prf_impl): BearSSL's own are portable C. */
extern const br_hash_class tls_sha256_vtable;
void tls_prf_sha256(void *dst, size_t len, const void *secret, size_t secret_len, const char *label,
                    size_t seed_num, const br_tls_prf_seed_chunk *seed);

#endif
