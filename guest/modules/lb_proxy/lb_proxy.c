/*
 * lb_proxy.c — the lb_proxy module, for tosca.nodes.LoadBalancer: relays each request that
 * passed the node's hooks (rate_limit...) to one of its backends, round robin or to the one
 * with the fewest requests in flight, over kept-alive upstream connections, and relays the
 * answer. The backends are the upstream devices named by the `backends` parameter
 * ("NODE:PORT ..."; the tender connects device NODE where `unisec run --upstream` says).
 *
 * A backend that refuses or drops a connection before answering is skipped for a second and
 * the request goes to the next one; when every backend failed the client gets 502, and 504
 * when one accepted the request but did not answer within LB_TIMEOUT_NS. Answers are relayed
 * whole, framed by Content-Length or by the end of the connection, up to the front's limits
 * (a chunked answer is refused with 502: unisec's own servers never send one).
 *
 * The backends named by the derived parameter `tls_backends` are reached over TLS, through the
 * upstream layer the tls_upstream module sets (module.h), each one's key pinned there: never
 * in plain HTTP, so such a backend without that layer, or without a pin there, is a failure
 * (502, and a console line saying why), as is a handshake that fails (the reason said too).
 */
#include "../module.h"

#define LB_BACKENDS_MAX 8
#define LB_TIMEOUT_NS   (10ull * 1000000000ull)
#define LB_DOWN_NS      1000000000ull

struct lb_conn;

struct lb_backend {
    char name[UNISEC_DEVICE_NAME_MAX];
    unsigned inflight;
    uint64_t down_until;  /* skipped until then after a failure */
    struct lb_conn *idle; /* kept-alive connections waiting for a request */
    int tls;              /* reached over TLS (tls_backends) */
};

struct lb_conn {
    struct libos_stream *s;
    void *h; /* the upstream layer's handle when the backend is reached over TLS */
    struct lb_backend *be;
    struct mod_req *rq; /* the request in flight, NULL when idle */
    int tries;          /* fresh connections tried for rq */
    int reused;         /* rq went on a kept-alive connection */
    int answered;       /* some bytes of the answer arrived */
    uint64_t deadline;
    char *out; /* the request as received: out[out_off..out_len) still to send */
    size_t out_len, out_off;
    char *in; /* the answer so far */
    size_t in_len, in_cap;
    struct mod_http_scan scan;
    struct mod_http_status st;
    int head;                    /* st is parsed */
    struct lb_conn *next, *prev; /* every connection (next_idle below for the pool) */
    struct lb_conn *next_idle;
};

static struct lb_backend lb_backends[LB_BACKENDS_MAX];
static size_t lb_n, lb_next;
static int lb_least; /* algorithm least_connections */
static struct lb_conn *lb_conns;
static struct libos_timer lb_timer;
static const struct mod_http_limits lb_lim = MOD_HTTP_LIMITS_DEFAULT;

static const struct mod_upstream_layer *lb_up; /* set by tls_upstream, or NULL */

static void lb_send(struct mod_req *rq, int tries);

/* A connection's stream calls: straight, or through the upstream layer. */
static long lb_io_read(struct lb_conn *c, void *buf, size_t len)
{
    return c->h ? lb_up->io.read(c->h, buf, len) : libos_stream_read(c->s, buf, len);
}

static long lb_io_write(struct lb_conn *c, const void *buf, size_t len)
{
    return c->h ? lb_up->io.write(c->h, buf, len) : libos_stream_write(c->s, buf, len);
}

static void lb_io_want(struct lb_conn *c, unsigned want)
{
    if (c->h)
        lb_up->io.want(c->h, want);
    else
        libos_stream_want(c->s, want);
}

static void lb_unlink_idle(struct lb_conn *c)
{
    for (struct lb_conn **p = &c->be->idle; *p; p = &(*p)->next_idle)
        if (*p == c) {
            *p = c->next_idle;
            return;
        }
}

static void lb_conn_free(struct lb_conn *c)
{
    if (c->h)
        lb_up->io.close(c->h);
    else if (c->s)
        libos_stream_close(c->s);
    if (c->rq == NULL)
        lb_unlink_idle(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        lb_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->out);
    free(c->in);
    free(c);
}

static void lb_status(struct mod_req *rq, int status)
{
    char body[48];
    struct mod_http_response r = {status, "text/plain", NULL, body, 0};
    r.body_len = (size_t)snprintf(body, sizeof(body), "%d %s\n", status, mod_http_reason(status));
    mod_req_respond(rq, &r);
}

/* The connection failed: try the request again (a kept-alive connection the backend closed
 * meanwhile costs nothing; a fresh one that failed moves to the next backend), or give up
 * with STATUS once every backend was tried or the backend had started answering. */
static void lb_fail(struct lb_conn *c, int status)
{
    struct mod_req *rq = c->rq;
    int tries = c->tries, answered = c->answered, reused = c->reused;
    const char *why = c->h && lb_up->why ? lb_up->why(c->h) : NULL;
    if (why != NULL)
        printf("lb_proxy: backend %s: TLS failed: %s\n", c->be->name, why);
    if (rq)
        c->be->inflight--;
    if (!answered && !reused)
        c->be->down_until = libos_loop_now() + LB_DOWN_NS;
    c->rq = NULL;
    lb_conn_free(c);
    if (rq == NULL)
        return;
    if (!answered && (reused || (size_t)tries < lb_n)) {
        lb_send(rq, tries);
        return;
    }
    lb_status(rq, status);
}

static void lb_done(struct lb_conn *c)
{
    struct mod_req *rq = c->rq;
    size_t body =
        c->st.content_length < 0 ? c->in_len - c->st.head_len : (size_t)c->st.content_length;
    int head_only = rq->http->method_len == 4 && memcmp(rq->http->method, "HEAD", 4) == 0;
    if (head_only || c->st.status < 200 || c->st.status == 204 || c->st.status == 304)
        body = 0;
    c->be->inflight--;
    c->rq = NULL;
    mod_req_respond_raw(rq, c->st.status, c->in, c->st.head_len + body, !c->st.close);
    if (c->st.close) {
        lb_conn_free(c);
        return;
    }
    c->in_len = c->out_len = c->out_off = 0;
    c->head = c->answered = 0;
    c->scan = (struct mod_http_scan){0, 0};
    c->next_idle = c->be->idle;
    c->be->idle = c;
    lb_io_want(c, LIBOS_WANT_READ); /* to notice the backend closing it */
}

static void lb_readable(struct libos_stream *s, void *ctx)
{
    struct lb_conn *c = ctx;
    (void)s;
    for (;;) {
        if (c->in_len == c->in_cap) {
            size_t cap = c->in_cap ? 2 * c->in_cap : 4096;
            if (cap > lb_lim.head_max + lb_lim.body_max) {
                lb_fail(c, 502); /* larger than anything the front relays */
                return;
            }
            if (libos_grow(&c->in, &c->in_cap, cap, 4096) < 0) {
                lb_fail(c, 502);
                return;
            }
            c->scan = (struct mod_http_scan){0, 0};
            c->head = 0; /* pointers moved: parse again */
        }
        long n = lb_io_read(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == -UNISEC_EAGAIN)
            return;
        if (c->rq == NULL) { /* idle: the backend closed it, or talks out of turn */
            lb_conn_free(c);
            return;
        }
        if (n <= 0) {
            /* The end of the connection ends a body framed by it. */
            if (n == 0 && c->head && c->st.content_length < 0 && !c->st.chunked)
                lb_done(c);
            else
                lb_fail(c, 502);
            return;
        }
        c->in_len += (size_t)n;
        c->answered = 1;
        if (!c->head) {
            int r = mod_http_parse_status(&c->st, &c->scan, c->in, c->in_len, &lb_lim);
            if (r < 0 || (r > 0 && c->st.chunked)) {
                c->st.close = 1;
                lb_fail(c, 502);
                return;
            }
            if (r == 0)
                continue;
            c->head = 1;
            if (c->st.status < 200 && c->st.status != 101) {
                /* An interim answer (100 Continue): drop it and wait for the real one. */
                memmove(c->in, c->in + r, c->in_len - (size_t)r);
                c->in_len -= (size_t)r;
                c->head = 0;
                c->scan = (struct mod_http_scan){0, 0};
                continue;
            }
        }
        int head_only = c->rq->http->method_len == 4 && !memcmp(c->rq->http->method, "HEAD", 4);
        if (head_only || c->st.status == 204 || c->st.status == 304 ||
            (c->st.content_length >= 0 &&
             c->in_len >= c->st.head_len + (size_t)c->st.content_length)) {
            lb_done(c);
            return;
        }
    }
}

static void lb_writable(struct libos_stream *s, void *ctx)
{
    struct lb_conn *c = ctx;
    (void)s;
    while (c->out_off < c->out_len) {
        long n = lb_io_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n == -UNISEC_EAGAIN)
            return;
        if (n <= 0) {
            lb_fail(c, 502);
            return;
        }
        c->out_off += (size_t)n;
    }
    lb_io_want(c, LIBOS_WANT_READ);
}

static const struct libos_stream_ops lb_ops = {lb_readable, lb_writable};

static struct lb_backend *lb_pick(void)
{
    uint64_t now = libos_loop_now();
    struct lb_backend *best = NULL;
    for (size_t k = 0; k < lb_n; k++) {
        struct lb_backend *b = &lb_backends[(lb_next + k) % lb_n];
        if (b->down_until > now)
            continue;
        if (!lb_least) {
            lb_next = (size_t)(b - lb_backends) + 1;
            return b;
        }
        if (best == NULL || b->inflight < best->inflight)
            best = b;
    }
    if (best) {
        lb_next = (size_t)(best - lb_backends) + 1;
        return best;
    }
    /* Every backend failed lately: try the next one anyway rather than refuse. */
    return &lb_backends[lb_next++ % lb_n];
}

/* Sends RQ to a backend, TRIES fresh connections having failed for it so far. */
static void lb_send(struct mod_req *rq, int tries)
{
    struct lb_backend *be = lb_pick();
    struct lb_conn *c = be->idle;
    size_t len = rq->http->head_len + rq->body_len;

    if (c) {
        be->idle = c->next_idle;
        c->reused = 1;
    } else {
        if ((c = calloc(1, sizeof(*c))) == NULL) {
            lb_status(rq, 503);
            return;
        }
        if (be->tls)
            lb_up = mod_upstream_layer(); /* tls_upstream sets it at init, maybe after ours */
        if (be->tls && (lb_up == NULL || !lb_up->has(be->name))) {
            /* never in plain HTTP: the image lacks what its derivation put in it */
            printf("lb_proxy: backend %s: reached over TLS, and no key is pinned for it\n",
                   be->name);
            free(c);
            lb_status(rq, 502);
            return;
        }
        if (libos_connect(&c->s, be->name) < 0) {
            free(c);
            be->down_until = libos_loop_now() + LB_DOWN_NS;
            lb_status(rq, 502);
            return;
        }
        c->be = be;
        if (be->tls) {
            if ((c->h = lb_up->open(c->s, be->name, &lb_ops, c)) == NULL) {
                free(c); /* the layer closed the stream */
                lb_status(rq, 503);
                return;
            }
        } else {
            libos_stream_set_ops(c->s, &lb_ops, c);
        }
        c->next = lb_conns;
        if (lb_conns)
            lb_conns->prev = c;
        lb_conns = c;
        tries++;
    }
    char *out = realloc(c->out, len ? len : 1);
    if (out == NULL) {
        lb_conn_free(c);
        lb_status(rq, 503);
        return;
    }
    c->out = out;
    memcpy(c->out, rq->head, rq->http->head_len);
    memcpy(c->out + rq->http->head_len, rq->body, rq->body_len);
    c->out_len = len;
    c->out_off = 0;
    c->rq = rq;
    c->tries = tries;
    c->deadline = libos_loop_now() + LB_TIMEOUT_NS;
    be->inflight++;
    lb_io_want(c, LIBOS_WANT_READ | LIBOS_WANT_WRITE);
}

static int lb_handle(struct mod_req *rq)
{
    lb_send(rq, 0);
    return MOD_WAIT;
}

static void lb_sweep(struct libos_timer *t, void *ctx)
{
    uint64_t now = libos_loop_now();
    (void)ctx;
    for (struct lb_conn *c = lb_conns, *next; c; c = next) {
        next = c->next;
        if (c->rq && now > c->deadline) {
            c->answered = 1; /* no retry: the backend may be acting on it */
            lb_fail(c, 504);
        }
    }
    libos_timer_arm(t, now + 1000000000ull, lb_sweep, NULL);
}

/* Marks the backends the `tls_backends` parameter V names ("NODE NODE"). 0, or -UNISEC_EINVAL
 * after saying why. */
static int lb_tls_backends(const char *v, size_t *ntls)
{
    while (v && *v) {
        while (*v == ' ')
            v++;
        size_t n = 0, k = 0;
        while (v[n] && v[n] != ' ')
            n++;
        if (n == 0)
            break;
        while (k < lb_n &&
               !(strlen(lb_backends[k].name) == n && !memcmp(lb_backends[k].name, v, n)))
            k++;
        if (k == lb_n) {
            printf("lb_proxy: property tls_backends: %.*s is no backend\n", (int)(n < 40 ? n : 40),
                   v);
            return -UNISEC_EINVAL;
        }
        lb_backends[k].tls = 1;
        (*ntls)++;
        v += n;
    }
    return 0;
}

static int lb_init(const struct mod_props *p)
{
    const char *v = mod_prop_get(p, "backends"), *alg = mod_prop_get(p, "algorithm");
    int e;
    if (alg && strcmp(alg, "round_robin") != 0 && strcmp(alg, "least_connections") != 0) {
        printf("lb_proxy: property algorithm: expected round_robin or least_connections\n");
        return -UNISEC_EINVAL;
    }
    lb_least = alg && strcmp(alg, "least_connections") == 0;
    /* "NODE:PORT NODE:PORT": the device is NODE; the tender knows where it is. */
    while (v && *v) {
        while (*v == ' ' || *v == ',')
            v++;
        size_t n = 0;
        while (v[n] && v[n] != ' ' && v[n] != ',' && v[n] != ':')
            n++;
        if (n == 0)
            break;
        if (lb_n == LB_BACKENDS_MAX || n >= UNISEC_DEVICE_NAME_MAX) {
            printf("lb_proxy: property backends: at most %d names of %d bytes\n", LB_BACKENDS_MAX,
                   UNISEC_DEVICE_NAME_MAX - 1);
            return -UNISEC_EINVAL;
        }
        memcpy(lb_backends[lb_n++].name, v, n);
        v += n;
        while (*v && *v != ' ' && *v != ',')
            v++; /* the port */
    }
    if (lb_n == 0) {
        printf("lb_proxy: property backends: no backend to relay to\n");
        return -UNISEC_EINVAL;
    }
    size_t ntls = 0;
    if ((e = lb_tls_backends(mod_prop_get(p, "tls_backends"), &ntls)) < 0)
        return e;
    printf("lb_proxy: %zu backends (%zu over TLS), %s\n", lb_n, ntls,
           lb_least ? "least_connections" : "round_robin");
    libos_timer_arm(&lb_timer, libos_loop_now() + 1000000000ull, lb_sweep, NULL);
    return mod_http_front_start();
}

const struct mod_module mod_lb_proxy = {
    .name = "lb_proxy", .phase = MOD_PHASE_CONTENT, .init = lb_init, .handle = lb_handle};
