/*
 * tls_conn.c — the tls module's layer (module.h's struct mod_layer): each connection the front
 * accepts gets a BearSSL server engine, which takes the raw stream's callbacks; the front reads
 * and writes plaintext through tls_conn_read() and tls_conn_write(). The tls_upstream module's
 * client connections run on the same pump with a client engine.
 *
 * The pump moves records between the engine and the raw stream as far as both allow: records
 * out while the stream takes them, records in while the engine has room (it has none while
 * plaintext waits for the front, which is the back-pressure on a client that sends faster
 * than it reads). The raw stream wants READ while the engine can take a record and WRITE while
 * records wait to go out. The front's callbacks run when what it wants can move: plaintext
 * to read (or the end), room to write. A front that asks for a direction that can already move
 * gets its callback at the next turn of the loop (the kick timer), as libos streams do.
 */
#include "tls.h"

#define TLS_ROUNDS 4 /* front callbacks per raw event before the rest waits a turn */

static struct tls_config *tls_cfg;

/* Sets up C's server engine for a new handshake (keys, suites, buffers, fresh entropy).
 * Returns 0, or -UNISEC_EIO when BearSSL refuses it. */
static int tls_engine_setup(struct tls_conn *c)
{
    br_ssl_server_context *sc = &c->u.sc;
    br_ssl_engine_context *e = &sc->eng;

    br_ssl_server_zero(sc);
    tls_engine_base(e, &tls_cfg->impl, tls_cfg->suites,
                    sizeof(tls_cfg->suites) / sizeof(tls_cfg->suites[0]));
    br_ssl_engine_add_flags(e, BR_OPT_ENFORCE_SERVER_PREFERENCES);
    if (tls_cfg->key_type == UNISEC_TLS_KEY_EC)
        br_ssl_server_set_single_ec(sc, tls_cfg->chain, tls_cfg->nchain, &tls_cfg->ec,
                                    BR_KEYTYPE_SIGN, 0, &tls_ec_impl, &tls_ecdsa_sign);
    else
        br_ssl_server_set_single_rsa(sc, tls_cfg->chain, tls_cfg->nchain, &tls_cfg->rsa,
                                     BR_KEYTYPE_SIGN, br_rsa_private_get_default(),
                                     br_rsa_pkcs1_sign_get_default());
    br_ssl_server_set_cache(sc, &tls_cfg->cache.vtable);
    br_ssl_engine_set_buffers_bidi(e, c->buf, c->ilen, c->buf + c->ilen, c->olen);
    c->hello_done = 0; /* maybe without SHA-384 (tls_hello.c) */
    return br_ssl_server_reset(sc) ? 0 : -UNISEC_EIO;
}

/* The directions the front could move now. */
static unsigned tls_ready(struct tls_conn *c)
{
    unsigned st = br_ssl_engine_current_state(&c->u.eng);
    if ((st & BR_SSL_CLOSED) || c->raw_end < 0)
        return LIBOS_WANT_READ | LIBOS_WANT_WRITE;
    return ((st & BR_SSL_RECVAPP) || c->raw_end ? LIBOS_WANT_READ : 0) |
           (st & BR_SSL_SENDAPP ? LIBOS_WANT_WRITE : 0);
}

/* Moves records between the engine and the raw stream, then says what the raw stream wants. */
static void tls_pump(struct tls_conn *c)
{
    br_ssl_engine_context *e = &c->u.eng;
    unsigned st;
    for (;;) {
        size_t len;
        long n;
        st = br_ssl_engine_current_state(e);
        if ((st & BR_SSL_CLOSED) || c->raw_end < 0)
            break;
        if (st & BR_SSL_SENDREC) {
            unsigned char *buf = br_ssl_engine_sendrec_buf(e, &len);
            n = libos_stream_write(c->s, buf, len);
            if (n > 0) {
                br_ssl_engine_sendrec_ack(e, (size_t)n);
                continue;
            }
            if (n != -UNISEC_EAGAIN) {
                c->raw_end = n < 0 ? n : -UNISEC_EPIPE;
                break;
            }
        }
        if ((st & BR_SSL_RECVREC) && c->raw_end == 0) {
            unsigned char *buf = br_ssl_engine_recvrec_buf(e, &len);
            n = libos_stream_read(c->s, buf, len);
            if (n > 0) {
                if (!c->hello_done)
                    tls_hello_peek(c, buf, (size_t)n, tls_cfg);
                br_ssl_engine_recvrec_ack(e, (size_t)n);
                continue;
            }
            if (n != -UNISEC_EAGAIN)
                c->raw_end = n == 0 ? 1 : n;
        }
        break;
    }
    unsigned w = 0;
    if (!(st & BR_SSL_CLOSED) && c->raw_end >= 0) {
        if ((st & BR_SSL_RECVREC) && c->raw_end == 0)
            w |= LIBOS_WANT_READ;
        if (st & BR_SSL_SENDREC)
            w |= LIBOS_WANT_WRITE;
    }
    libos_stream_want(c->s, w);
}

void tls_conn_free(struct tls_conn *c)
{
    libos_timer_disarm(&c->kick);
    libos_wipe(&c->u, sizeof(c->u)); /* the session's keys */
    free(c);
}

static void tls_kicked(struct libos_timer *t, void *ctx);

/* Arms the kick when the front wants a direction that can move. */
static void tls_kick(struct tls_conn *c)
{
    if (!c->closed && (tls_ready(c) & c->up_want) && !c->kick.armed)
        libos_timer_arm(&c->kick, libos_loop_now(), tls_kicked, c);
}

/* Runs the front's callbacks while what it wants can move, a few rounds at most. */
static void tls_deliver(struct tls_conn *c)
{
    c->depth++;
    for (int round = 0; round < TLS_ROUNDS && !c->closed; round++) {
        unsigned r = tls_ready(c) & c->up_want;
        if (r == 0)
            break;
        if ((r & LIBOS_WANT_READ) && c->up->readable)
            c->up->readable(c->s, c->up_ctx);
        if (!c->closed && (tls_ready(c) & c->up_want & LIBOS_WANT_WRITE) && c->up->writable)
            c->up->writable(c->s, c->up_ctx);
    }
    if (--c->depth == 0 && c->closed)
        tls_conn_free(c);
    else
        tls_kick(c);
}

static void tls_kicked(struct libos_timer *t, void *ctx)
{
    (void)t;
    tls_deliver(ctx);
}

static void tls_raw_event(struct libos_stream *s, void *ctx)
{
    (void)s;
    tls_pump(ctx);
    tls_deliver(ctx);
}

static const struct libos_stream_ops tls_raw_ops = {tls_raw_event, tls_raw_event};

struct tls_conn *tls_conn_new(size_t ilen, size_t olen, size_t xlen)
{
    struct tls_conn *c = malloc(sizeof(*c) + ilen + olen + (xlen ? xlen + 16 : 0));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->ilen = ilen;
    c->olen = olen;
    c->x = xlen ? (void *)(((uintptr_t)(c->buf + ilen + olen) + 15) & ~(uintptr_t)15) : NULL;
    c->up_want = LIBOS_WANT_READ;
    c->hello_done = 1; /* a server's set-up clears it */
    return c;
}

void tls_conn_attach(struct tls_conn *c, struct libos_stream *s, const struct libos_stream_ops *ops,
                     void *ctx)
{
    c->s = s;
    c->up = ops;
    c->up_ctx = ctx;
    libos_stream_set_ops(s, &tls_raw_ops, c);
    tls_pump(c);
}

static void *tls_open(struct libos_stream *s, const struct libos_stream_ops *ops, void *ctx)
{
    struct tls_conn *c = tls_conn_new(BR_SSL_BUFSIZE_INPUT, TLS_OBUF_LEN, 0);
    if (c == NULL) {
        libos_stream_close(s);
        return NULL;
    }
    if (tls_engine_setup(c) < 0) {
        printf("tls: the engine refused its set-up (BearSSL error %d)\n",
               br_ssl_engine_last_error(&c->u.eng));
        libos_stream_close(s);
        tls_conn_free(c);
        return NULL;
    }
    tls_conn_attach(c, s, ops, ctx);
    return c;
}

long tls_conn_read(void *h, void *buf, size_t len)
{
    struct tls_conn *c = h;
    br_ssl_engine_context *e = &c->u.eng;
    unsigned st = br_ssl_engine_current_state(e);
    if (st & BR_SSL_RECVAPP) {
        size_t n;
        unsigned char *p = br_ssl_engine_recvapp_buf(e, &n);
        if (n > len)
            n = len;
        memcpy(buf, p, n);
        br_ssl_engine_recvapp_ack(e, n);
        tls_pump(c); /* the engine has room again: take the next record */
        return (long)n;
    }
    if (st & BR_SSL_CLOSED) /* a close_notify is the end; anything else, a failure */
        return br_ssl_engine_last_error(e) == BR_ERR_OK ? 0 : -UNISEC_ECONNRESET;
    if (c->raw_end) /* the raw stream ended without a close_notify: maybe truncated */
        return c->raw_end > 0 ? -UNISEC_ECONNRESET : c->raw_end;
    return -UNISEC_EAGAIN;
}

long tls_conn_write(void *h, const void *buf, size_t len)
{
    struct tls_conn *c = h;
    br_ssl_engine_context *e = &c->u.eng;
    unsigned st = br_ssl_engine_current_state(e);
    if ((st & BR_SSL_CLOSED) || c->raw_end < 0)
        return -UNISEC_EPIPE;
    if (!(st & BR_SSL_SENDAPP))
        return -UNISEC_EAGAIN; /* records wait to go out: the writable callback follows */
    size_t n;
    unsigned char *p = br_ssl_engine_sendapp_buf(e, &n);
    if (n > len)
        n = len;
    memcpy(p, buf, n);
    br_ssl_engine_sendapp_ack(e, n);
    br_ssl_engine_flush(e, 0);
    tls_pump(c);
    return (long)n;
}

void tls_conn_want(void *h, unsigned want)
{
    struct tls_conn *c = h;
    c->up_want = want;
    tls_kick(c);
}

void tls_conn_close(void *h)
{
    struct tls_conn *c = h;
    unsigned st = br_ssl_engine_current_state(&c->u.eng);
    c->closed = 1;
    libos_timer_disarm(&c->kick);
    if (!(st & BR_SSL_CLOSED) && c->raw_end == 0) {
        br_ssl_engine_close(&c->u.eng); /* a close_notify, sent before the stream closes */
        tls_pump(c);
    }
    libos_stream_close(c->s);
    if (c->depth == 0)
        tls_conn_free(c);
}

static const struct mod_layer tls_layer = {
    .name = "tls",
    .open = tls_open,
    .read = tls_conn_read,
    .write = tls_conn_write,
    .want = tls_conn_want,
    .close = tls_conn_close,
};

void tls_layer_start(struct tls_config *cfg)
{
    tls_cfg = cfg;
    mod_layer_set(&tls_layer);
}
