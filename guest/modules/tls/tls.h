/*
 * tls.h — the tls module's parts: its configuration (tls.c: the credentials, the suites), what
 * its server side and the tls_upstream module's client side share (tls_engine.c: the DRBG,
 * the implementations, an engine's common set-up), its EC work (tls_ec.c), its SHA-256
 * (tls_hash.c), the ClientHello read first (tls_hello.c) and its connections (tls_conn.c: each
 * one's pump, and the layer beneath the front, module.h's struct mod_layer). tls.c calls tls_conn.c
 * and tls_engine.c, not back.
 */
#ifndef UNISEC_GUEST_TLS_H
#define UNISEC_GUEST_TLS_H

#include <bearssl.h>

#include "../module.h"
#include "contract/tls_creds.h"

/* A connection's output buffer: records carry at most 4 KiB (BearSSL's input buffer must hold
 * a whole 16 KiB record, which a client may send; what it sends is ours to size). */
#define TLS_OBUF_LEN (4096 + 85)
#define TLS_NSUITES  3 /* AES-128-GCM, AES-256-GCM (SHA-384), ChaCha20-Poly1305 */
/* A client's input buffer: 4 KiB records. Smaller than BR_SSL_BUFSIZE_INPUT, it makes BearSSL
 * ask the server for 4 KiB records (RFC 6066 max_fragment_length), and unisec's own servers
 * send no larger ones anyway (TLS_OBUF_LEN); a larger record fails the connection. */
#define TLS_CLIENT_IBUF_LEN (4096 + 325)

/* One connection: a BearSSL server engine (tls_conn.c: beneath the front) or client engine
 * (tls_upstream: to a backend), its buffers allocated after it. */
struct tls_conn {
    union {
        br_ssl_engine_context eng; /* the first member of both */
        br_ssl_server_context sc;
        br_ssl_client_context cc;
    } u;
    struct libos_stream *s;            /* the raw stream */
    const struct libos_stream_ops *up; /* the front's callbacks, with UP_CTX */
    void *up_ctx;
    unsigned up_want;           /* LIBOS_WANT_* the front asked for */
    long raw_end;               /* 0; 1 the peer ended the raw stream; < 0 it failed */
    int closed;                 /* the front closed the connection */
    int depth;                  /* the front's callbacks on the stack: free only at 0 */
    struct libos_timer kick;    /* runs the front's callbacks at the next turn */
    size_t ilen, olen;          /* the buffers' sizes */
    unsigned char hello_hdr[5]; /* a server's first record's header (tls_hello.c), */
    size_t hello_len;           /* its bytes read */
    int hello_done;             /* its body was read, whole or not (always, on a client) */
    void *x;                    /* a client's X.509 check, after the buffers (tls_upstream) */
    unsigned char buf[];        /* the input buffer, then the output buffer */
};

/* The implementations the processor allows (tls_engine.c). */
struct tls_impl {
    const br_block_ctr_class *aes;
    br_ghash ghash;
    br_chacha20_run chacha;
    int fast_gcm; /* AES-GCM is fast here (AES-NI and PCLMUL): prefer it to ChaCha20 */
};

/* What every connection's engine is set up with (tls.c fills it once, at init). */
struct tls_config {
    uint32_t key_type; /* UNISEC_TLS_KEY_EC or UNISEC_TLS_KEY_RSA */
    br_ec_private_key ec;
    br_rsa_private_key rsa;
    br_x509_certificate chain[UNISEC_TLS_CERTS_MAX];
    size_t nchain;
    br_ssl_session_cache_lru cache;
    struct tls_impl impl;
    uint16_t suites[TLS_NSUITES]; /* in the server's order of preference */
};

/* tls_engine.c: what the server and the client sides share. tls_rand_start() seeds the
 * module's HMAC-DRBG from the tender's boot seed, once per image (either side may call it
 * first); tls_engine_seed() gives engine E a DRBG state of its own, 64 fresh bytes of it. */
int tls_rand_start(void);
void tls_engine_seed(br_ssl_engine_context *e);
/* The fastest implementations the boot info's CPUID bits allow (on hvt the vCPU's own CPUID
 * reads zeros). */
void tls_impl_pick(struct tls_impl *im, const struct unisec_boot_info *bi);
/* Sets up E (zeroed by br_ssl_*_zero) as both sides do: fresh entropy, TLS 1.2 only, SUITES,
 * no renegotiation, tls_ec_impl, the hashes, PRFs and record ciphers of IM. */
void tls_engine_base(br_ssl_engine_context *e, const struct tls_impl *im, const uint16_t *suites,
                     size_t nsuites);

/* tls_conn.c: a connection's life, either side. tls_conn_new() allocates one with buffers of
 * ILEN and OLEN bytes and XLEN more at X (NULL: no memory); the caller sets up its engine, then
 * tls_conn_attach() takes over raw stream S (its callbacks become the connection's) and
 * calls OPS's, with S and CTX, when plaintext can move. The other calls are module.h's
 * struct mod_layer's on the connection. */
struct tls_conn *tls_conn_new(size_t ilen, size_t olen, size_t xlen);
void tls_conn_attach(struct tls_conn *c, struct libos_stream *s, const struct libos_stream_ops *ops,
                     void *ctx);
void tls_conn_free(struct tls_conn *c);
long tls_conn_read(void *h, void *buf, size_t len);
long tls_conn_write(void *h, const void *buf, size_t len);
void tls_conn_want(void *h, unsigned want);
void tls_conn_close(void *h);

/* tls_hello.c: N bytes just read into BUF of server connection C's engine's input buffer,
 * before the engine is told of them: from the first record, whether the handshake can do
 * without SHA-384, which it then leaves out of C's engine. */
void tls_hello_peek(struct tls_conn *c, const unsigned char *buf, size_t n, struct tls_config *cfg);

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
