/*
 * tls_upstream.c — the tls_upstream module: TLS 1.2 from lb_proxy to its HTTPS backends, with
 * BearSSL's client engine over the tls module's pump (tls_conn.c), its DRBG, implementations
 * and EC work (tls_engine.c, tls_ec.c): a module of its own so that only a load balancer
 * with such a backend links a client.
 *
 * Trust: each backend's public keys, pinned (the `pins` parameter the orchestrator derives
 * from the backend's certificate in the store, and from its previous one while a rotation
 * may still be swapping it: engine/TOPOLOGY.md section 1.4). The key of the backend's first
 * certificate (BearSSL's X.509 decoder reads it, nothing else of the chain) must be one of
 * them, and the engine verifies the handshake's signature with it. Neither names nor dates
 * are checked: a device name is no DNS name, the guest has no calendar, and the store
 * checked the chain at write.
 *
 * A connection offers the suites the server side serves, for EC and RSA keys (AES-GCM
 * first where it is fast, ChaCha20-Poly1305 else), TLS 1.2 only, no renegotiation, no
 * session resumption (lb_proxy keeps its upstream connections alive instead), and 4 KiB
 * records each way (TLS_CLIENT_IBUF_LEN, TLS_OBUF_LEN).
 */
#include "../tls/tls.h"

#define UP_PINS_MAX 16 /* lb_proxy's backends, each with its key and its previous one */

struct up_pin {
    char device[UNISEC_DEVICE_NAME_MAX];
    br_x509_pkey pk;
    unsigned char key[520]; /* a point, or RSA's e then n: up to 4096 bits */
};

/* A connection's check of the backend's chain (a br_x509_class): its first certificate's
 * key, which must be one pinned for DEVICE. */
struct up_x509 {
    const br_x509_class *vtable;
    const char *device;
    size_t ncerts;
    br_x509_decoder_context dc;
    const br_x509_pkey *pk; /* the key, once it is one pinned */
};

static struct up_pin up_pins[UP_PINS_MAX];
static size_t up_npins;
static struct tls_impl up_impl;
static uint16_t up_suites[6];

static int up_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case hex V[0..N) into OUT (at most MAX bytes): its length, or -1. */
static long up_unhex(const char *v, size_t n, unsigned char *out, size_t max)
{
    if (n == 0 || n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = up_hex(v[i]), lo = up_hex(v[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

/* One pin, "ec:CURVE:HEX" or "rsa:HEXE:HEXN", V[0..N) into P: 0, or -1. */
static int up_pin_parse(struct up_pin *p, const char *v, size_t n)
{
    const char *a = memchr(v, ':', n), *b = a ? memchr(a + 1, ':', n - (size_t)(a + 1 - v)) : NULL;
    if (b == NULL)
        return -1;
    size_t la = (size_t)(b - a - 1), lb = n - (size_t)(b + 1 - v);
    if (a - v == 2 && memcmp(v, "ec", 2) == 0) {
        int curve = 0;
        for (size_t i = 0; i < la; i++)
            curve = a[1 + i] >= '0' && a[1 + i] <= '9' && curve < 100 ? curve * 10 + a[1 + i] - '0'
                                                                      : -1000;
        long len = up_unhex(b + 1, lb, p->key, sizeof(p->key));
        if (la == 0 || curve < 1 || len < 1)
            return -1;
        p->pk.key_type = BR_KEYTYPE_EC;
        p->pk.key.ec = (br_ec_public_key){curve, p->key, (size_t)len};
        return 0;
    }
    if (a - v == 3 && memcmp(v, "rsa", 3) == 0) {
        long le = up_unhex(a + 1, la, p->key, 8);
        long ln = le < 0 ? -1 : up_unhex(b + 1, lb, p->key + le, sizeof(p->key) - (size_t)le);
        if (ln < 0)
            return -1;
        p->pk.key_type = BR_KEYTYPE_RSA;
        p->pk.key.rsa = (br_rsa_public_key){p->key + le, (size_t)ln, p->key, (size_t)le};
        return 0;
    }
    return -1;
}

static const struct up_pin *up_pin_find(const char *device)
{
    for (size_t i = 0; i < up_npins; i++)
        if (strcmp(up_pins[i].device, device) == 0)
            return &up_pins[i];
    return NULL;
}

static int up_has(const char *device)
{
    return up_pin_find(device) != NULL;
}

/* P[0..N) without its leading zero bytes (BearSSL's decoder may keep one; the pins have none). */
static const unsigned char *up_trim(const unsigned char *p, size_t *n)
{
    while (*n > 0 && *p == 0)
        p++, (*n)--;
    return p;
}

static int up_same(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    a = up_trim(a, &alen);
    b = up_trim(b, &blen);
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Whether K is a key pinned for DEVICE. */
static int up_pinned(const char *device, const br_x509_pkey *k)
{
    for (size_t i = 0; i < up_npins; i++) {
        const br_x509_pkey *p = &up_pins[i].pk;
        if (strcmp(up_pins[i].device, device) != 0 || p->key_type != k->key_type)
            continue;
        if (k->key_type == BR_KEYTYPE_EC && p->key.ec.curve == k->key.ec.curve &&
            up_same(p->key.ec.q, p->key.ec.qlen, k->key.ec.q, k->key.ec.qlen))
            return 1;
        if (k->key_type == BR_KEYTYPE_RSA &&
            up_same(p->key.rsa.n, p->key.rsa.nlen, k->key.rsa.n, k->key.rsa.nlen) &&
            up_same(p->key.rsa.e, p->key.rsa.elen, k->key.rsa.e, k->key.rsa.elen))
            return 1;
    }
    return 0;
}

static void up_x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
    struct up_x509 *x = (struct up_x509 *)(void *)ctx;
    (void)server_name;
    x->ncerts = 0;
    x->pk = NULL;
}

static void up_x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
    struct up_x509 *x = (struct up_x509 *)(void *)ctx;
    (void)length;
    if (x->ncerts == 0)
        br_x509_decoder_init(&x->dc, NULL, NULL);
}

static void up_x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    struct up_x509 *x = (struct up_x509 *)(void *)ctx;
    if (x->ncerts == 0)
        br_x509_decoder_push(&x->dc, buf, len);
}

static void up_x509_end_cert(const br_x509_class **ctx)
{
    ((struct up_x509 *)(void *)ctx)->ncerts++;
}

static unsigned up_x509_end_chain(const br_x509_class **ctx)
{
    struct up_x509 *x = (struct up_x509 *)(void *)ctx;
    const br_x509_pkey *k;
    if (x->ncerts == 0)
        return BR_ERR_X509_EMPTY_CHAIN;
    if ((k = br_x509_decoder_get_pkey(&x->dc)) == NULL)
        return br_x509_decoder_last_error(&x->dc) ? (unsigned)br_x509_decoder_last_error(&x->dc)
                                                  : BR_ERR_X509_INVALID_VALUE;
    if (!up_pinned(x->device, k))
        return BR_ERR_X509_NOT_TRUSTED;
    x->pk = k;
    return 0;
}

static const br_x509_pkey *up_x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    const struct up_x509 *x = (const struct up_x509 *)(const void *)ctx;
    if (usages != NULL)
        *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return x->pk;
}

static const br_x509_class up_x509_vtable = {
    .context_size = sizeof(struct up_x509),
    .start_chain = up_x509_start_chain,
    .start_cert = up_x509_start_cert,
    .append = up_x509_append,
    .end_cert = up_x509_end_cert,
    .end_chain = up_x509_end_chain,
    .get_pkey = up_x509_get_pkey,
};

static void *up_open(struct libos_stream *s, const char *device, const struct libos_stream_ops *ops,
                     void *ctx)
{
    const struct up_pin *p = up_pin_find(device);
    struct tls_conn *c =
        p ? tls_conn_new(TLS_CLIENT_IBUF_LEN, TLS_OBUF_LEN, sizeof(struct up_x509)) : NULL;
    if (c == NULL) {
        libos_stream_close(s);
        return NULL;
    }
    br_ssl_client_context *cc = &c->u.cc;
    br_ssl_engine_context *e = &cc->eng;
    br_ssl_client_zero(cc);
    tls_engine_base(e, &up_impl, up_suites, sizeof(up_suites) / sizeof(up_suites[0]));
    br_ssl_engine_set_rsavrfy(e, br_rsa_pkcs1_vrfy_get_default());
    br_ssl_engine_set_ecdsa(e, br_ecdsa_i31_vrfy_asn1);
    struct up_x509 *x = c->x;
    *x = (struct up_x509){.vtable = &up_x509_vtable, .device = p->device};
    br_ssl_engine_set_x509(e, &x->vtable);
    br_ssl_engine_set_buffers_bidi(e, c->buf, c->ilen, c->buf + c->ilen, c->olen);
    if (!br_ssl_client_reset(cc, NULL, 0)) {
        printf("tls_upstream: %s: the engine refused its set-up (BearSSL error %d)\n", device,
               br_ssl_engine_last_error(e));
        libos_stream_close(s);
        tls_conn_free(c);
        return NULL;
    }
    tls_conn_attach(c, s, ops, ctx);
    return c;
}

/* The failures a backend's handshake meets most, said; others by BearSSL's number. */
static const struct {
    int err;
    const char *why;
} up_errors[] = {
    {BR_ERR_X509_NOT_TRUSTED, "its certificate's key is not one pinned for it"},
    {BR_ERR_BAD_SIGNATURE, "its handshake is not signed with its certificate's key"},
    {BR_ERR_BAD_HANDSHAKE, "its handshake is malformed"},
    {BR_ERR_UNSUPPORTED_VERSION, "it does not speak TLS 1.2"},
    {BR_ERR_BAD_CIPHER_SUITE, "it chose a suite not offered"},
    {BR_ERR_TOO_LARGE, "it sent a record over 4 KiB"},
    {BR_ERR_BAD_MAC, "a record failed its authentication"},
    {BR_ERR_UNEXPECTED, "it sent what TLS does not expect there"},
};

static const char *up_why(void *h)
{
    static char buf[48];
    struct tls_conn *c = h;
    int err = br_ssl_engine_last_error(&c->u.eng);
    if (err == BR_ERR_OK)
        return NULL;
    for (size_t i = 0; i < sizeof(up_errors) / sizeof(up_errors[0]); i++)
        if (up_errors[i].err == err)
            return up_errors[i].why;
    if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT)
        snprintf(buf, sizeof(buf), "it sent fatal alert %d", err - BR_ERR_RECV_FATAL_ALERT);
    else
        snprintf(buf, sizeof(buf), "BearSSL error %d", err);
    return buf;
}

static const struct mod_upstream_layer up_layer = {
    .has = up_has,
    .why = up_why,
    .open = up_open,
    .io = {.name = "tls_upstream",
           .read = tls_conn_read,
           .write = tls_conn_write,
           .want = tls_conn_want,
           .close = tls_conn_close},
};

/* The `pins` parameter: "NODE=KEY NODE=KEY". 0, or -UNISEC_EINVAL after saying why. */
static int up_pins_parse(const char *v)
{
    while (v && *v) {
        while (*v == ' ')
            v++;
        size_t n = 0, l = 0;
        while (v[n] && v[n] != ' ')
            n++;
        while (l < n && v[l] != '=')
            l++;
        if (n == 0)
            break;
        if (up_npins == UP_PINS_MAX || l >= UNISEC_DEVICE_NAME_MAX || l == 0 || v[l] != '=' ||
            up_pin_parse(&up_pins[up_npins], v + l + 1, n - l - 1) < 0) {
            printf("tls_upstream: property pins: expected at most %d NODE=ec:CURVE:HEX or "
                   "NODE=rsa:HEXE:HEXN, at \"%.*s\"\n",
                   UP_PINS_MAX, (int)(n < 40 ? n : 40), v);
            return -UNISEC_EINVAL;
        }
        memcpy(up_pins[up_npins].device, v, l);
        up_pins[up_npins++].device[l] = '\0';
        v += n;
    }
    return 0;
}

static int up_init(const struct mod_props *p)
{
    int e;
    if ((e = up_pins_parse(mod_prop_get(p, "pins"))) < 0)
        return e;
    if ((e = tls_rand_start()) < 0) {
        printf("tls_upstream: the tender gave no random seed\n");
        return e;
    }
    tls_impl_pick(&up_impl, libos_boot_info());
    tls_ec_init();
    /* The server picks among these; its key's kind settles ECDSA or RSA. */
    static const uint16_t gcm[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384};
    static const uint16_t chapol[] = {BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                                      BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256};
    size_t k = 0;
    if (!up_impl.fast_gcm)
        for (size_t i = 0; i < 2; i++)
            up_suites[k++] = chapol[i];
    for (size_t i = 0; i < 4; i++)
        up_suites[k++] = gcm[i];
    if (up_impl.fast_gcm)
        for (size_t i = 0; i < 2; i++)
            up_suites[k++] = chapol[i];
    mod_upstream_layer_set(&up_layer);
    printf("tls_upstream: TLS 1.2 to its backends, %zu key%s pinned; EC: %s\n", up_npins,
           up_npins == 1 ? "" : "s", TLS_EC_NAME);
    return 0;
}

const struct mod_module mod_tls_upstream = {.name = "tls_upstream", .init = up_init};
