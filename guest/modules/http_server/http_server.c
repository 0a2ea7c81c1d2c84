/*
 * http_server.c — the http_server module: HTTP/1.1 connections on the library OS's streams,
 * with keep-alive and pipelining, bounded buffers, at most max_connections served at once
 * (later ones wait, unread, for a free place), a request_timeout_ms for a request to arrive
 * (408 after it) and an idle_timeout_ms after which a connection with no request under way
 * (kept alive) is closed; each complete request goes through the modules' hooks
 * (module.h). lb_proxy starts the same front in a load balancer.
 *
 * Slow clients hold little: a request head must be complete header_timeout_ms after its
 * first byte (a new connection's first head, after it was accepted), one client address
 * holds at most max_connections_per_client, and a connection that finds no free place takes
 * the place of the one that has waited longest for its client (idle, or a request not yet
 * complete) rather than wait: for its own address once that address is at its cap, for any
 * address once max_connections are served. Only when every place is busy with a complete
 * request does a new connection wait.
 */
#include "../module.h"
#include "common/client_addr.h"

struct http_conn {
    struct mod_conn io; /* its stream, through the layer if any (module.h); io.s NULL once closed */
    char *in;           /* received bytes: the current request head and body, then pipelined ones */
    size_t in_len, in_cap;
    char *out; /* responses not yet written: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;
    struct mod_http_scan scan;
    struct mod_http_request *rq; /* while a request is under way (NULL when idle) */
    struct mod_req mreq;
    uint64_t last;     /* monotonic ns of the last progress, for the idle timeout */
    uint64_t started;  /* when the first byte of the current request arrived */
    int parked;        /* accepted beyond max_connections: waits, unread */
    int head_done;     /* the current request's head is complete (its body may not be) */
    int served;        /* requests answered on this connection */
    int busy;          /* mreq is in the chain */
    int closing;       /* close once the output is written */
    int in_process;    /* http_process() is on the stack */
    int sent_continue; /* answered "Expect: 100-continue" for the current request */
    struct http_conn *prev, *next;
};

static struct mod_http_limits http_lim = MOD_HTTP_LIMITS_DEFAULT;
static uint64_t http_request_ns = 10000000000ull, http_sweep_ns = 1000000000ull;
static uint64_t http_idle_ns = 60000000000ull;  /* idle_timeout_ms */
static uint64_t http_header_ns = 3000000000ull; /* header_timeout_ms */
static uint64_t http_max_conns = 1024, http_max_per_client = 256;
static struct http_conn *http_conns;
static size_t http_nconns, http_nactive; /* all, and those not parked */
static struct libos_timer http_sweep_timer;
/* Since boot: connections shed for newer ones, and refused at the per-client cap; printed
 * by the sweep when they change, so an attack shows on the console without a line each. */
static uint64_t http_shed_count, http_refused_count, http_reported;
static int http_started;

#define HTTP_IN_FIRST  4096 /* first receive buffer; grows to head_max + body_max */
#define HTTP_OUT_FIRST 1024

static void http_flush(struct http_conn *c);
static void http_process(struct http_conn *c);
static const struct libos_stream_ops http_ops;

/* Gives a free place to the connection that has waited longest (the list's tail). */
static void http_unpark(void)
{
    struct http_conn *c = http_conns, *oldest = NULL;
    for (; c; c = c->next)
        if (c->parked)
            oldest = c;
    if (oldest == NULL)
        return;
    oldest->parked = 0;
    oldest->last = libos_loop_now();
    http_nactive++;
    mod_conn_want(&oldest->io, LIBOS_WANT_READ);
}

static void http_free(struct http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        http_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    http_nconns--;
    if (!c->parked) {
        http_nactive--;
        http_unpark();
    }
    free(c->in);
    free(c->out);
    free(c->rq);
    free(c);
}

/* Closes the stream; the connection itself lives on while a module still holds its request. */
static void http_close(struct http_conn *c)
{
    mod_conn_close(&c->io);
    if (c->busy)
        c->mreq.aborted = 1;
    else
        http_free(c);
}

static int http_out_reserve(struct http_conn *c, size_t n)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (n <= c->out_cap - c->out_len)
        return 0;
    return libos_grow(&c->out, &c->out_cap, c->out_len + n, HTTP_OUT_FIRST);
}

static void http_want(struct http_conn *c)
{
    unsigned w = 0;
    if (c->out_off < c->out_len)
        w |= LIBOS_WANT_WRITE;
    if (!c->busy && !c->closing)
        w |= LIBOS_WANT_READ;
    mod_conn_want(&c->io, w);
}

/* Formats a response into the output buffer (its exact size is known after one try). */
static int http_append(struct http_conn *c, const struct mod_http_response *r, int keep_alive,
                       int head_only)
{
    struct mod_http_out o;
    size_t need = 256 + r->body_len;
    for (int tries = 0; tries < 2; tries++) {
        if (http_out_reserve(c, need) < 0)
            return -UNISEC_ENOMEM;
        mod_http_out_init(&o, c->out + c->out_len, c->out_cap - c->out_len);
        if (mod_http_respond(&o, r, c->rq->minor, keep_alive, head_only) == 0) {
            c->out_len += o.len;
            c->mreq.bytes = o.len;
            return 0;
        }
        need = 256 + r->body_len + (r->headers ? strlen(r->headers) : 0) +
               (r->content_type ? strlen(r->content_type) : 0);
    }
    return -UNISEC_ENOMEM;
}

static void http_error(struct http_conn *c, int status)
{
    struct mod_http_out o;
    if (http_out_reserve(c, 256) == 0) {
        mod_http_out_init(&o, c->out + c->out_len, c->out_cap - c->out_len);
        if (mod_http_respond_error(&o, status, NULL, 1, 0) == 0) {
            c->out_len += o.len;
            c->mreq.bytes = o.len;
        }
    }
    c->closing = 1;
}

/* The current request is answered: drop its bytes, go on with the next one. */
static void http_finish(struct http_conn *c, int keep_alive)
{
    size_t used = c->rq->head_len + (size_t)c->rq->body_len;
    mod_chain_done(&c->mreq);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->started = libos_loop_now(); /* a pipelined request's clock starts now */
    c->scan = (struct mod_http_scan){0, 0};
    c->sent_continue = 0;
    c->head_done = 0;
    c->served++;
    c->busy = 0;
    if (!keep_alive)
        c->closing = 1;
    if (!c->in_process) {
        http_process(c); /* an answer that came later: pipelined requests may be waiting */
        if (c->io.s)
            http_flush(c);
    }
}

static struct http_conn *http_of(struct mod_req *rq)
{
    struct http_conn *c = rq->conn;
    if (rq->aborted) {
        http_free(c); /* the client left while a module was working on its request */
        return NULL;
    }
    return c;
}

void mod_req_respond(struct mod_req *rq, const struct mod_http_response *r)
{
    struct http_conn *c = http_of(rq);
    if (c == NULL)
        return;
    int head = c->rq->method_len == 4 && memcmp(c->rq->method, "HEAD", 4) == 0;
    int keep = c->rq->keep_alive;
    rq->status = r->status;
    if (http_append(c, r, keep, head) < 0) {
        rq->status = 500;
        http_error(c, 500);
        keep = 0;
    }
    http_finish(c, keep);
}

void mod_req_respond_raw(struct mod_req *rq, int status, const char *bytes, size_t len,
                         int keep_alive)
{
    struct http_conn *c = http_of(rq);
    if (c == NULL)
        return;
    rq->status = status;
    if (http_out_reserve(c, len) == 0) {
        memcpy(c->out + c->out_len, bytes, len);
        c->out_len += len;
        rq->bytes = len;
    } else {
        rq->status = 500;
        http_error(c, 500);
        keep_alive = 0;
    }
    http_finish(c, keep_alive && c->rq->keep_alive);
}

/* Runs the module chain on RQ; a request that no module answers gets 404. */
static void http_chain(struct mod_req *rq)
{
    static const struct mod_http_response none = {404, "text/plain", NULL, "404 Not Found\n", 14};
    if (mod_chain_run(rq) == MOD_NEXT)
        mod_req_respond(rq, &none);
}

void mod_req_resume(struct mod_req *rq)
{
    if (http_of(rq) == NULL)
        return;
    rq->stage++;
    http_chain(rq);
}

static int http_in_reserve(struct http_conn *c, size_t need)
{
    if (need <= c->in_cap)
        return 0;
    if (libos_grow(&c->in, &c->in_cap, need, HTTP_IN_FIRST) < 0)
        return -UNISEC_ENOMEM;
    c->scan = (struct mod_http_scan){0, 0}; /* parsed pointers moved: parse again */
    return 0;
}

static int http_expects_continue(const struct mod_http_request *rq)
{
    size_t n;
    const char *v = mod_http_header_get(rq, "expect", &n);
    return v && n == 12 && strncasecmp(v, "100-continue", 12) == 0;
}

/* Parses and dispatches the requests received so far, one at a time. */
static void http_process(struct http_conn *c)
{
    c->in_process = 1;
    while (!c->busy && !c->closing) {
        /* RFC 9112 2.2: ignore empty lines before a request line. */
        while (c->scan.pos == 0 && c->in_len >= 2 && c->in[0] == '\r' && c->in[1] == '\n') {
            memmove(c->in, c->in + 2, c->in_len - 2);
            c->in_len -= 2;
        }
        if (c->rq == NULL && (c->rq = malloc(sizeof(*c->rq))) == NULL) {
            http_error(c, 503);
            break;
        }
        int r = mod_http_parse(c->rq, &c->scan, c->in, c->in_len, &http_lim);
        if (r == 0)
            break;
        if (r < 0) {
            http_error(c, -r);
            break;
        }
        size_t need = c->rq->head_len + (size_t)c->rq->body_len;
        c->head_done = 1;
        if (c->in_len < need) {
            if (http_in_reserve(c, need) < 0) {
                http_error(c, 503);
                break;
            }
            if (!c->sent_continue && http_expects_continue(c->rq) && c->rq->minor == 1 &&
                http_out_reserve(c, 25) == 0) {
                memcpy(c->out + c->out_len, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                c->out_len += 25;
                c->sent_continue = 1;
            }
            /* The head is parsed again once the body is in: the scan must start over, not
             * go on looking for a head's end in the body (a 431 after head_max bytes). */
            c->scan = (struct mod_http_scan){0, 0};
            break;
        }
        c->mreq = (struct mod_req){0};
        c->mreq.http = c->rq;
        c->mreq.head = c->in;
        c->mreq.body = c->in + c->rq->head_len;
        c->mreq.body_len = (size_t)c->rq->body_len;
        c->mreq.peer = libos_stream_peer(c->io.s);
        c->mreq.conn = c;
        c->busy = 1;
        http_chain(&c->mreq);
    }
    c->in_process = 0;
}

static void http_flush(struct http_conn *c)
{
    while (c->out_off < c->out_len) {
        long n = mod_conn_write(&c->io, c->out + c->out_off, c->out_len - c->out_off);
        if (n == -UNISEC_EAGAIN)
            break;
        if (n <= 0) {
            http_close(c);
            return;
        }
        c->out_off += (size_t)n;
        c->last = libos_loop_now();
    }
    if (c->out_off == c->out_len && c->closing) {
        http_close(c);
        return;
    }
    if (c->out_off == c->out_len && c->in_len == 0 && !c->busy) {
        /* Idle between requests: a kept-alive connection holds no buffer (nginx does the
         * same); the allocator's bins make getting them back cheap. */
        free(c->in);
        free(c->out);
        free(c->rq);
        c->rq = NULL;
        c->in = c->out = NULL;
        c->in_cap = c->out_cap = c->out_len = c->out_off = 0;
    }
    http_want(c);
}

static void http_readable(struct libos_stream *s, void *ctx)
{
    struct http_conn *c = ctx;
    (void)s;
    while (!c->busy && !c->closing) {
        /* Grow towards a whole head; a body's room is made once its length is known. A full
         * buffer of head_max bytes never stays full: the parser has answered 431 by then. */
        if (c->in_len == c->in_cap) {
            size_t cap = c->in_cap < HTTP_IN_FIRST ? HTTP_IN_FIRST : 2 * c->in_cap;
            if (cap > http_lim.head_max)
                cap = http_lim.head_max > c->in_cap ? http_lim.head_max : c->in_cap + 1;
            if (http_in_reserve(c, cap) < 0) {
                http_error(c, 503);
                break;
            }
        }
        long n = mod_conn_read(&c->io, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == -UNISEC_EAGAIN)
            break;
        if (n == 0) {
            /* The client has shut down its side: the requests it sent are answered by now
             * (the loop reads nothing while one is under way), so close once the answers
             * are written. */
            c->closing = 1;
            break;
        }
        if (n < 0) {
            http_close(c); /* an error: nothing more can be answered */
            return;
        }
        if (c->in_len == 0)
            c->started = libos_loop_now();
        c->in_len += (size_t)n;
        c->last = libos_loop_now();
        http_process(c);
    }
    http_flush(c);
}

static void http_writable(struct libos_stream *s, void *ctx)
{
    (void)s;
    http_flush(ctx);
}

static const struct libos_stream_ops http_ops = {http_readable, http_writable};

static int http_same_client(const struct http_conn *a, const struct unisec_addr *b)
{
    return unisec_same_client(libos_stream_peer(a->io.s), b);
}

/* Since when C has been waiting for its client: a request's first byte, or its last answer
 * (idle); 0 when it holds nothing it could be shed for (a request under way, answers being
 * written, or already closing). */
static uint64_t http_waiting_since(const struct http_conn *c)
{
    if (c->io.s == NULL || c->parked || c->busy || c->closing || c->out_off < c->out_len)
        return 0;
    return c->in_len > 0 ? c->started : c->last;
}

/* Closes the connection of PEER (any client when NULL) that has waited longest for its
 * client, if one can be shed: an incomplete request is answered 503 first. Returns 1 when a
 * connection was shed. */
static int http_shed(const struct unisec_addr *peer)
{
    struct http_conn *victim = NULL;
    uint64_t oldest = 0;
    for (struct http_conn *c = http_conns; c; c = c->next) {
        uint64_t since = http_waiting_since(c);
        if (since && (victim == NULL || since < oldest) && (!peer || http_same_client(c, peer))) {
            victim = c;
            oldest = since;
        }
    }
    if (victim == NULL)
        return 0;
    http_shed_count++;
    if (victim->in_len > 0) {
        http_error(victim, 503);
        http_flush(victim);
    } else {
        http_close(victim);
    }
    return 1;
}

/* The listeners' contexts: which device a connection was accepted on. */
static const enum mod_conn_mode http_mode_https = MOD_CONN_LAYER;
static enum mod_conn_mode http_mode_http = MOD_CONN_AUTO;

static void http_accept(struct libos_stream *s, void *ctx)
{
    const enum mod_conn_mode *mode = ctx;
    const struct unisec_addr *peer = libos_stream_peer(s);
    size_t mine = 0;
    for (struct http_conn *o = http_conns; o; o = o->next)
        mine += o->io.s != NULL && !o->closing && http_same_client(o, peer);
    if (mine >= http_max_per_client && !http_shed(peer)) {
        http_refused_count++;
        libos_stream_close(s); /* every place of this client is busy with a request */
        return;
    }
    struct http_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        libos_stream_close(s);
        return;
    }
    if (mod_conn_open(&c->io, s, *mode, &http_ops, c) < 0) {
        free(c);
        return;
    }
    c->last = c->started = libos_loop_now();
    c->next = http_conns;
    if (http_conns)
        http_conns->prev = c;
    http_conns = c;
    http_nconns++;
    /* Parked first: a place that shedding frees goes to the connection parked longest. */
    c->parked = 1;
    mod_conn_want(&c->io, 0);
    if (http_nactive >= http_max_conns)
        http_shed(NULL);
    if (c->parked && http_nactive < http_max_conns) {
        c->parked = 0;
        http_nactive++;
        mod_conn_want(&c->io, LIBOS_WANT_READ);
    }
}

/* Answers 408 to a request not complete within request_timeout_ms, and closes connections
 * idle for idle_timeout_ms: a slow or silent client holds nothing for long. */
static void http_sweep(struct libos_timer *t, void *ctx)
{
    uint64_t now = libos_loop_now();
    (void)ctx;
    for (struct http_conn *c = http_conns, *next; c; c = next) {
        next = c->next;
        if (c->busy || c->io.s == NULL || c->parked)
            continue;
        if (c->closing) { /* answered, but the client does not read what is left */
            if (now - c->last > http_request_ns)
                http_close(c);
            continue;
        }
        int head = !c->head_done && (c->in_len > 0 || c->served == 0);
        /* Through the layer (TLS), a new connection is idle to the front until its first
         * request byte: it gets idle_timeout_ms, as a kept-alive one, not the header
         * deadline. Its handshake may wait for the server's CPU behind every other one (a
         * thousand clients connecting at once); cut at the header deadline, their clients
         * connected again to wait again. Shedding still frees the places such connections
         * hold, longest waiting first; a head, once begun, has header_timeout_ms. */
        uint64_t first_ns = c->io.h != NULL && c->served == 0 ? http_idle_ns : http_header_ns;
        if (c->in_len > 0 &&
            (now - c->started > http_request_ns || (head && now - c->started > http_header_ns))) {
            http_error(c, 408);
            http_flush(c);
        } else if (c->in_len == 0 &&
                   (now - c->last > http_idle_ns || (head && now - c->last > first_ns))) {
            http_close(c); /* idle, or a new connection that never sent a request */
        }
    }
    if (http_shed_count + http_refused_count != http_reported) {
        http_reported = http_shed_count + http_refused_count;
        printf("http_server: since boot, %llu connections shed for newer ones, %llu refused at "
               "max_connections_per_client\n",
               (unsigned long long)http_shed_count, (unsigned long long)http_refused_count);
    }
    libos_timer_arm(t, now + http_sweep_ns, http_sweep, NULL);
}

int mod_http_front_start(void)
{
    if (http_started)
        return 0;
    /* With "https" (TLS, https_port), "http" beside it is plain HTTP (plain_http); alone, it
     * carries TLS when the tls module set its layer. */
    int es = libos_listen("https", http_accept, (void *)&http_mode_https);
    http_mode_http = es == 0 ? MOD_CONN_PLAIN : MOD_CONN_AUTO;
    int e = libos_listen("http", http_accept, &http_mode_http);
    if (e < 0 && es < 0) {
        printf("http_server: the image declares no listening device 'http' or 'https'\n");
        return e;
    }
    http_started = 1;
    libos_timer_arm(&http_sweep_timer, libos_loop_now() + http_sweep_ns, http_sweep, NULL);
    return 0;
}

static int http_init(const struct mod_props *p)
{
    uint64_t ms, idle_ms;
    uint64_t head_ms;
    if (mod_prop_uint(p, "http_server", "max_connections", 1024, 1, 1u << 20, &http_max_conns) <
            0 ||
        mod_prop_uint(p, "http_server", "max_connections_per_client", 256, 1, 1u << 20,
                      &http_max_per_client) < 0 ||
        mod_prop_uint(p, "http_server", "request_timeout_ms", 10000, 10, 3600000, &ms) < 0 ||
        mod_prop_uint(p, "http_server", "header_timeout_ms", 3000, 10, 3600000, &head_ms) < 0 ||
        mod_prop_uint(p, "http_server", "idle_timeout_ms", 60000, 10, 3600000, &idle_ms) < 0)
        return -UNISEC_EINVAL;
    http_request_ns = ms * 1000000ull;
    http_header_ns = head_ms * 1000000ull;
    http_idle_ns = idle_ms * 1000000ull;
    /* Swept four times per timeout, at least once a second. */
    uint64_t shortest = http_request_ns < http_idle_ns ? http_request_ns : http_idle_ns;
    shortest = shortest < http_header_ns ? shortest : http_header_ns;
    http_sweep_ns = shortest / 4 < 1000000000ull ? shortest / 4 : 1000000000ull;
    return mod_http_front_start();
}

const struct mod_module mod_http_server = {.name = "http_server", .init = http_init};
