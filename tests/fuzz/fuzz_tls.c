/*
 * fuzz_tls.c — libFuzzer harness for the tls module's record input: the glue between the
 * library OS's streams and BearSSL (guest/modules/tls/tls_conn.c), with the module's real
 * configuration (tls.c), built for the host over a stand-in for the library OS's stream and
 * timer calls. The first byte picks the target:
 *   0..215:   one connection: the rest of the input is what a client sends, in pieces whose
 *             size the byte sets, the raw stream sometimes refusing writes; the front reads
 *             every byte of plaintext and echoes it, and closes at the end of the stream
 *   216..223: one full handshake with a real client (BearSSL's, knowing the server's public
 *             key), offering its default suites or one of the module's (the byte's low bits),
 *             then up to 2 KiB of the rest as application data, which must come back echoed,
 *             then a close_notify; a handshake or an echo that fails aborts. Under callgrind,
 *             tls_open() and tls_raw_event() are the server's side of a full handshake
 *   224..239: the credential blob reader (common/tls_creds.c)
 *   240..255: one connection of the tls_upstream module (a load balancer's client) to a hostile
 *             backend: the rest of the input is what the backend sends, in pieces whose size
 *             the byte sets; the client writes a request when it can, reads every byte of
 *             plaintext, says why its handshake failed, and closes at the end
 * Every connection must end freed (AddressSanitizer's leak check) and nothing may read or
 * write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/tls_creds.h"
#include "guest/modules/tls/tls.h"

extern const struct mod_module mod_tls;
extern const struct mod_module mod_tls_upstream;

/* ---- the stand-in for the library OS ---- */

struct libos_stream {
    const struct libos_stream_ops *ops;
    void *ctx;
    const uint8_t *rx; /* what the client sent and the guest has not read */
    size_t rx_len;
    int eof;      /* the client ended the stream */
    int stingy;   /* writes take at most 7 bytes, and every other one none */
    unsigned nwr; /* writes so far */
    unsigned want;
    int closed;
    uint8_t *tx; /* when set, what the guest writes goes here (the full handshake's client) */
    size_t tx_len, tx_cap;
};

static struct libos_timer *fz_timers;
static uint8_t fz_blob[4096];
static size_t fz_blob_len;
static struct unisec_boot_info fz_bi = {.cpuid1_ecx = 1u << 1 | 1u << 9 | 1u << 19 | 1u << 25,
                                        .cpuid1_edx = 1u << 26};

long libos_stream_read(struct libos_stream *s, void *buf, size_t len)
{
    if (s->rx_len == 0)
        return s->eof ? 0 : -UNISEC_EAGAIN;
    size_t n = len < s->rx_len ? len : s->rx_len;
    memcpy(buf, s->rx, n);
    s->rx += n;
    s->rx_len -= n;
    return (long)n;
}

long libos_stream_write(struct libos_stream *s, const void *buf, size_t len)
{
    (void)buf;
    if (s->closed)
        abort(); /* the layer wrote to a stream it closed */
    if (s->stingy && s->nwr++ % 2)
        return -UNISEC_EAGAIN;
    if (s->tx != NULL) {
        size_t n = len < s->tx_cap - s->tx_len ? len : s->tx_cap - s->tx_len;
        if (n == 0)
            return -UNISEC_EAGAIN;
        memcpy(s->tx + s->tx_len, buf, n);
        s->tx_len += n;
        return (long)n;
    }
    return (long)(s->stingy && len > 7 ? 7 : len);
}

void libos_stream_want(struct libos_stream *s, unsigned want)
{
    s->want = want;
}

void libos_stream_set_ops(struct libos_stream *s, const struct libos_stream_ops *ops, void *ctx)
{
    s->ops = ops;
    s->ctx = ctx;
}

void libos_stream_close(struct libos_stream *s)
{
    s->closed = 1;
}

uint64_t libos_loop_now(void)
{
    return 1;
}

void libos_timer_disarm(struct libos_timer *t)
{
    for (struct libos_timer **p = &fz_timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    t->armed = 0;
}

void libos_timer_arm(struct libos_timer *t, uint64_t deadline,
                     void (*fn)(struct libos_timer *t, void *ctx), void *ctx)
{
    libos_timer_disarm(t);
    *t = (struct libos_timer){deadline, fn, ctx, fz_timers, 1};
    fz_timers = t;
}

void libos_wipe(void *p, size_t n)
{
    memset(p, 0, n);
}

void libos_panic(const char *fmt, ...)
{
    (void)fmt;
    abort();
}

const struct unisec_boot_info *libos_boot_info(void)
{
    return &fz_bi;
}

int libos_seed_take(uint8_t out[UNISEC_SEED_LEN])
{
    memset(out, 7, UNISEC_SEED_LEN); /* fixed: the fuzzer must be reproducible */
    return 0;
}

const char *mod_prop_get(const struct mod_props *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    return NULL;
}

int libos_tls_creds_take(void **blob, size_t *len)
{
    if ((*blob = malloc(fz_blob_len)) == NULL)
        return -UNISEC_ENOMEM;
    memcpy(*blob, fz_blob, fz_blob_len);
    *len = fz_blob_len;
    return 0;
}

/* ---- the front: reads everything, echoes it, closes at the end ---- */

static struct mod_conn fz_conn;

static void fz_readable(struct libos_stream *s, void *ctx)
{
    char buf[700];
    (void)s;
    (void)ctx;
    for (;;) {
        long n = mod_conn_read(&fz_conn, buf, sizeof(buf));
        if (n == -UNISEC_EAGAIN)
            return;
        if (n <= 0) {
            mod_conn_close(&fz_conn);
            return;
        }
        mod_conn_write(&fz_conn, buf, (size_t)n);
    }
}

static const struct libos_stream_ops fz_front = {fz_readable, NULL};

/* The module's set-up, once: an EC key from a fixed seed, a stand-in certificate. */
static br_ec_public_key fz_pub; /* the server's, which the full handshake's client knows */

static void fz_init(void)
{
    static int done;
    static unsigned char pbuf[BR_EC_KBUF_PUB_MAX_SIZE];
    if (done++)
        return;
    br_hmac_drbg_context rng;
    unsigned char kbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
    static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    br_ec_private_key sk;
    br_hmac_drbg_init(&rng, &br_sha256_vtable, "unisec-fuzz", 11);
    if (br_ec_keygen(&rng.vtable, br_ec_get_default(), &sk, kbuf, BR_EC_secp256r1) == 0)
        abort();
    if (br_ec_compute_pub(br_ec_get_default(), &fz_pub, pbuf, &sk) == 0)
        abort();
    struct tls_creds cr = {.key_type = UNISEC_TLS_KEY_EC,
                           .key_param = BR_EC_secp256r1,
                           .nkey = 1,
                           .key = {{sk.x, sk.xlen}},
                           .ncerts = 1,
                           .cert = {{cert, sizeof(cert)}}};
    fz_blob_len = tls_creds_encode(fz_blob, sizeof(fz_blob), &cr);
    static const struct mod_props none = {NULL, 0};
    if (mod_tls.init(&none) != 0)
        abort();
    /* The client pins the server's key, and an RSA key it will not meet. */
    static char pins[2 * BR_EC_KBUF_PUB_MAX_SIZE + 64];
    int n = snprintf(pins, sizeof(pins), "shop=ec:%d:", fz_pub.curve);
    for (size_t i = 0; i < fz_pub.qlen; i++)
        n += snprintf(pins + n, sizeof(pins) - (size_t)n, "%02x", fz_pub.q[i]);
    snprintf(pins + n, sizeof(pins) - (size_t)n, " shop=rsa:010001:c0ffee");
    static const struct mod_prop up_prop[] = {{"pins", pins}};
    static const struct mod_props up_props = {up_prop, 1};
    if (mod_tls_upstream.init(&up_props) != 0)
        abort();
}

static void fz_timers_run(void)
{
    while (fz_timers) {
        struct libos_timer *t = fz_timers;
        fz_timers = t->next;
        t->armed = 0;
        t->fn(t, t->ctx);
    }
}

static void fz_connection(const uint8_t *data, size_t size, uint8_t sel)
{
    struct libos_stream s = {.stingy = sel & 1};
    size_t piece = 1 + (size_t)(sel >> 1) * 3;
    if (mod_conn_open(&fz_conn, &s, MOD_CONN_LAYER, &fz_front, NULL) < 0)
        return;
    for (size_t off = 0; off < size && fz_conn.s; off += piece) {
        s.rx = data + off;
        s.rx_len = size - off < piece ? size - off : piece;
        for (int turn = 0; turn < 4 && fz_conn.s && (s.rx_len || s.want & LIBOS_WANT_WRITE);
             turn++) {
            if (s.want & LIBOS_WANT_READ)
                s.ops->readable(&s, s.ctx);
            if (fz_conn.s && (s.want & LIBOS_WANT_WRITE))
                s.ops->writable(&s, s.ctx);
            fz_timers_run();
        }
    }
    s.eof = 1;
    s.rx_len = 0;
    if (fz_conn.s && !s.closed)
        s.ops->readable(&s, s.ctx);
    fz_timers_run();
    if (fz_conn.s)
        mod_conn_close(&fz_conn); /* a front that gives up */
    fz_timers_run();
}

/* ---- a load balancer's client to a hostile backend ---- */

static void *fz_up;
static int fz_up_sent;

static void fz_up_event(struct libos_stream *s, void *ctx)
{
    static const char req[] = "GET /catalogue/x HTTP/1.1\r\nHost: shop\r\n\r\n";
    const struct mod_upstream_layer *l = mod_upstream_layer();
    char buf[512];
    (void)s;
    (void)ctx;
    if (fz_up_sent < (int)sizeof(req) - 1) {
        long n = l->io.write(fz_up, req + fz_up_sent, sizeof(req) - 1 - (size_t)fz_up_sent);
        if (n > 0)
            fz_up_sent += (int)n;
    }
    for (;;) {
        long n = l->io.read(fz_up, buf, sizeof(buf));
        if (n == -UNISEC_EAGAIN)
            return;
        if (n <= 0) {
            const char *why = l->why(fz_up);
            if (why != NULL && strlen(why) == 0)
                abort();
            l->io.close(fz_up);
            fz_up = NULL;
            return;
        }
    }
}

static const struct libos_stream_ops fz_up_ops = {fz_up_event, fz_up_event};

static void fz_upstream(const uint8_t *data, size_t size, uint8_t sel)
{
    const struct mod_upstream_layer *l = mod_upstream_layer();
    struct libos_stream s = {.stingy = sel & 1};
    size_t piece = 1 + (size_t)(sel >> 1) * 97;
    if (l == NULL || !l->has("shop") || l->has("web"))
        abort();
    fz_up_sent = 0;
    if ((fz_up = l->open(&s, "shop", &fz_up_ops, NULL)) == NULL)
        abort();
    l->io.want(fz_up, LIBOS_WANT_READ | LIBOS_WANT_WRITE);
    for (size_t off = 0; off < size && fz_up; off += piece) {
        s.rx = data + off;
        s.rx_len = size - off < piece ? size - off : piece;
        for (int turn = 0; turn < 4 && fz_up && (s.rx_len || s.want & LIBOS_WANT_WRITE); turn++) {
            if (s.want & LIBOS_WANT_READ)
                s.ops->readable(&s, s.ctx);
            if (fz_up && (s.want & LIBOS_WANT_WRITE))
                s.ops->writable(&s, s.ctx);
            fz_timers_run();
        }
    }
    s.eof = 1;
    s.rx_len = 0;
    if (fz_up && !s.closed)
        s.ops->readable(&s, s.ctx);
    fz_timers_run();
    if (fz_up)
        l->io.close(fz_up); /* a load balancer that gives up */
    fz_up = NULL;
    fz_timers_run();
}

/* The full handshake's client and the bytes in flight each way. */
static br_ssl_client_context fz_cc;
static br_x509_minimal_context fz_xm;
static br_x509_knownkey_context fz_kk;
static unsigned char fz_cbuf[BR_SSL_BUFSIZE_BIDI];
static uint8_t fz_c2s[BR_SSL_BUFSIZE_INPUT], fz_s2c[BR_SSL_BUFSIZE_INPUT];

/* Moves the client's records to the guest's raw stream and the guest's to the client. */
static void fz_client_pump(struct libos_stream *s, size_t *c2s_len)
{
    br_ssl_engine_context *e = &fz_cc.eng;
    size_t len;
    memmove(fz_c2s, s->rx, s->rx_len); /* what the guest has not read yet, to the front */
    *c2s_len = s->rx_len;
    for (int moved = 1; moved;) {
        unsigned st = br_ssl_engine_current_state(e);
        moved = 0;
        if ((st & BR_SSL_SENDREC) && *c2s_len < sizeof(fz_c2s)) {
            unsigned char *b = br_ssl_engine_sendrec_buf(e, &len);
            len = len < sizeof(fz_c2s) - *c2s_len ? len : sizeof(fz_c2s) - *c2s_len;
            memcpy(fz_c2s + *c2s_len, b, len);
            *c2s_len += len;
            br_ssl_engine_sendrec_ack(e, len);
            moved = 1;
        }
        if ((st & BR_SSL_RECVREC) && s->tx_len > 0) {
            unsigned char *b = br_ssl_engine_recvrec_buf(e, &len);
            len = len < s->tx_len ? len : s->tx_len;
            memcpy(b, s->tx, len);
            memmove(s->tx, s->tx + len, s->tx_len - len);
            s->tx_len -= len;
            br_ssl_engine_recvrec_ack(e, len);
            moved = 1;
        }
    }
    s->rx = fz_c2s;
    s->rx_len = *c2s_len;
}

static void fz_handshake(const uint8_t *data, size_t size, uint8_t sel)
{
    static const uint16_t suites[] = {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                      BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                                      BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256};
    br_ssl_engine_context *e = &fz_cc.eng;
    struct libos_stream s = {.tx = fz_s2c, .tx_cap = sizeof(fz_s2c), .rx = fz_c2s};
    size_t c2s_len = 0, sent = 0, got = 0;

    size = size < 2048 ? size : 2048;
    br_ssl_client_init_full(&fz_cc, &fz_xm, NULL, 0);
    br_x509_knownkey_init_ec(&fz_kk, &fz_pub, BR_KEYTYPE_EC | BR_KEYTYPE_SIGN);
    br_ssl_engine_set_x509(e, &fz_kk.vtable);
    if (sel % 4)
        br_ssl_engine_set_suites(e, &suites[sel % 4 - 1], 1);
    br_ssl_engine_set_buffer(e, fz_cbuf, sizeof(fz_cbuf), 1);
    br_ssl_engine_inject_entropy(e, "unisec-fuzz-client", 18);
    e->rng_os_rand_done = 1; /* reproducible: no system entropy */
    if (!br_ssl_client_reset(&fz_cc, NULL, 0))
        abort();
    if (mod_conn_open(&fz_conn, &s, MOD_CONN_LAYER, &fz_front, NULL) < 0)
        abort();
    for (int turn = 0; turn < 64; turn++) {
        unsigned st = br_ssl_engine_current_state(e);
        size_t len;
        if ((st & BR_SSL_CLOSED) || ((st & BR_SSL_SENDAPP) && got == size))
            break;
        if ((st & BR_SSL_SENDAPP) && sent < size) {
            unsigned char *b = br_ssl_engine_sendapp_buf(e, &len);
            len = len < size - sent ? len : size - sent;
            memcpy(b, data + sent, len);
            br_ssl_engine_sendapp_ack(e, len);
            br_ssl_engine_flush(e, 0);
            sent += len;
        }
        if (st & BR_SSL_RECVAPP) {
            unsigned char *b = br_ssl_engine_recvapp_buf(e, &len);
            if (len > size - got || memcmp(b, data + got, len) != 0)
                abort(); /* the echo is not what the client sent */
            got += len;
            br_ssl_engine_recvapp_ack(e, len);
        }
        fz_client_pump(&s, &c2s_len);
        if (fz_conn.s && (s.want & LIBOS_WANT_READ) && s.rx_len)
            s.ops->readable(&s, s.ctx);
        if (fz_conn.s && (s.want & LIBOS_WANT_WRITE))
            s.ops->writable(&s, s.ctx);
        fz_timers_run();
        fz_client_pump(&s, &c2s_len);
    }
    if (br_ssl_engine_last_error(e) != BR_ERR_OK || got != size ||
        !(br_ssl_engine_current_state(e) & BR_SSL_SENDAPP))
        abort(); /* the handshake, or the echo, did not complete */
    br_ssl_engine_close(e);
    fz_client_pump(&s, &c2s_len);
    if (fz_conn.s && !s.closed)
        s.ops->readable(&s, s.ctx);
    fz_timers_run();
    if (fz_conn.s)
        mod_conn_close(&fz_conn);
    fz_timers_run();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fz_init();
    if (data[0] < 216) {
        fz_connection(data + 1, size - 1, data[0]);
    } else if (data[0] < 224) {
        fz_handshake(data + 1, size - 1, data[0]);
    } else if (data[0] >= 240) {
        fz_upstream(data + 1, size - 1, data[0]);
    } else {
        struct tls_creds cr;
        const char *why;
        if (tls_creds_parse(data + 1, size - 1, &cr, &why) == 0)
            for (uint32_t i = 0; i < cr.ncerts; i++)
                if (cr.cert[i].p < data || cr.cert[i].p + cr.cert[i].len > data + size)
                    abort();
    }
    return 0;
}
