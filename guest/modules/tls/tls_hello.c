/*
 * tls_hello.c — the ClientHello read before the engine reads it, to spare the handshake
 * SHA-384: BearSSL hashes every handshake message with every hash function registered, from
 * the ClientHello on, before it chooses a suite, and its SHA-384 is portable C (about 14,000
 * instructions a handshake and 40 more a byte of certificate chain). The first record's bytes
 * are read here as they arrive in the engine's input buffer, before the engine is told of them
 * (tls_conn.c's pump); when its body, read whole at once, says that no suite needing SHA-384
 * can be chosen, SHA-384 is taken out of the engine's hash functions before any of it is
 * hashed.
 *
 * SHA-384 stays unless all of these hold (anything else, a body that comes in pieces, a
 * ClientHello over several records or malformed included, leaves the engine as it was set up, which
 * then judges the ClientHello itself): the server's first suite that the client offers (the engine
 * enforces the server's order) uses SHA-256; the client lists SHA-256 signatures of the key's kind
 * (else BearSSL could sign with SHA-384); and no session of a SHA-384 suite is cached under the
 * session ID the client sent (the engine would resume it).
 */
#include "tls.h"

#define TLS_HELLO_REC 5 /* a record's header: type, version, length */

static unsigned tls_be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static int tls_suite_sha384(unsigned s)
{
    return s == BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ||
           s == BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
}

/* Whether the list L[0..N) of 16-bit values holds V. */
static int tls_list_has(const unsigned char *l, size_t n, unsigned v)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (tls_be16(l + i) == v)
            return 1;
    return 0;
}

/* Whether the extensions E[0..N) list SHA-256 signatures with SIG (1 RSA, 3 ECDSA). */
static int tls_sigalg_sha256(const unsigned char *e, size_t n, unsigned sig)
{
    while (n >= 4) {
        size_t len = tls_be16(e + 2);
        if (len > n - 4)
            return 0;
        if (tls_be16(e) == 13 && len >= 2 && tls_be16(e + 4) <= len - 2)
            return tls_list_has(e + 6, tls_be16(e + 4), 4u << 8 | sig);
        e += 4 + len;
        n -= 4 + len;
    }
    return 0;
}

/* Whether the session cache holds a session of a SHA-384 suite under ID[0..N). */
static int tls_cached_sha384(struct tls_conn *c, const unsigned char *id, size_t n,
                             struct tls_config *cfg)
{
    br_ssl_session_parameters sp;
    int r;
    if (n != sizeof(sp.session_id))
        return n != 0; /* not one of the cache's IDs: no worse than keeping SHA-384 */
    memset(&sp, 0, sizeof(sp));
    memcpy(sp.session_id, id, n);
    sp.session_id_len = (unsigned char)n;
    r = cfg->cache.vtable->load(&cfg->cache.vtable, &c->u.sc, &sp) &&
        tls_suite_sha384(sp.cipher_suite);
    libos_wipe(&sp, sizeof(sp)); /* the master secret */
    return r;
}

/* Whether the ClientHello in the record of header HDR and body BODY[0..LEN) lets the engine do
 * without SHA-384. */
static int tls_hello_no_sha384(struct tls_conn *c, const unsigned char *hdr,
                               const unsigned char *body, size_t len, struct tls_config *cfg)
{
    const unsigned char *p = body + 4;
    size_t n = len - 4, at, cs, first;
    if (len < 4 + 35 || hdr[0] != 22 || body[0] != 1)
        return 0;
    size_t hs = (size_t)body[1] << 16 | tls_be16(body + 2);
    if (hs < n)
        n = hs; /* the ClientHello's own length; more of it in a later record is not read */
    at = 35 + (size_t)p[34]; /* the version, the random, the session ID */
    if (p[34] > 32 || at + 2 > n || (cs = tls_be16(p + at)) > n - at - 2)
        return 0;
    for (first = 0; first < TLS_NSUITES; first++)
        if (tls_list_has(p + at + 2, cs, cfg->suites[first]))
            break;
    if (first == TLS_NSUITES || tls_suite_sha384(cfg->suites[first]))
        return 0;
    at += 2 + cs; /* the compression methods, then the extensions */
    if (at + 1 > n || (size_t)p[at] + 1 > n - at)
        return 0;
    at += 1 + p[at];
    if (at + 2 > n || tls_be16(p + at) > n - at - 2 ||
        !tls_sigalg_sha256(p + at + 2, tls_be16(p + at),
                           cfg->key_type == UNISEC_TLS_KEY_EC ? 3 : 1))
        return 0;
    return !tls_cached_sha384(c, p + 35, p[34], cfg);
}

/* The header is copied as it comes; the engine hashes a body's bytes as soon as it is told of
 * them, so the body must come whole in one read (from common clients the ClientHello comes in
 * one segment), and the decision is made before it is told of any. */
void tls_hello_peek(struct tls_conn *c, const unsigned char *buf, size_t n, struct tls_config *cfg)
{
    if (c->hello_len < TLS_HELLO_REC) {
        size_t h = n < TLS_HELLO_REC - c->hello_len ? n : TLS_HELLO_REC - c->hello_len;
        memcpy(c->hello_hdr + c->hello_len, buf, h);
        c->hello_len += h;
        buf += h;
        n -= h;
        if (n == 0)
            return;
    }
    c->hello_done = 1;
    if (n == tls_be16(c->hello_hdr + 3) && tls_hello_no_sha384(c, c->hello_hdr, buf, n, cfg))
        br_ssl_engine_set_hash(&c->u.eng, br_sha384_ID, NULL);
}
