/*
 * tls_load.c — keep-alive HTTPS load with warm connections: bench/tls's requests per second.
 *
 *     tls_load PORT CONNS SECONDS [THREADS] [PATH]
 *
 * Opens CONNS connections to 127.0.0.1:PORT over THREADS threads (default 2, like bench/tls's
 * wrk), makes every full handshake and one GET PATH (default /catalogue/x) on each, and only
 * once every connection has had its answer starts the window: for SECONDS, each connection
 * sends its next request as soon as the last one is answered (one in flight, as wrk). wrk
 * counts from the first connect, so at a thousand connections its window holds a thousand
 * handshakes queued on a one-thread server: a handshake rate, not keep-alive throughput. The
 * warm-up is timed and printed apart. Prints "window" when the window starts, then one line:
 *
 *     warm S requests N seconds S rps R p50_us P p99_us P errors E cpu_us C
 *
 * A connection that fails or is closed is counted in errors and connected again (its
 * handshake then falls in the window); exit status 1 when not every connection got warm
 * within a minute. Needs OpenSSL (libssl-dev); never in the test suite.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_WARM_NS (60ull * 1000000000ull)
/* Latency histogram: 1 us steps to 10 ms, 100 us steps to 1 s, 10 ms steps to 20 s. */
#define HIST_LEN (10000 + 9900 + 1900 + 1)

struct conn {
    int fd;
    SSL *ssl;
    int handshaken, warm;
    uint64_t sent_ns; /* when the request under way was written */
    char buf[4096];   /* the answer being read */
    size_t have;
};

struct worker {
    pthread_t th;
    int first, n; /* its connections: conns[first, first + n) */
    uint64_t requests, errors;
    uint32_t hist[HIST_LEN];
};

static SSL_CTX *ctx;
static struct sockaddr_in addr;
static struct conn *conns;
static char request[256];
static size_t request_len;
static _Atomic int warm_count, measuring, stopping;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The CPU time of every thread of this process: the client's own cost per request. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t hist_index(uint64_t us)
{
    if (us < 10000)
        return us;
    if (us < 1000000)
        return 10000 + (us - 10000) / 100;
    if (us < 20000000)
        return 19900 + (us - 1000000) / 10000;
    return HIST_LEN - 1;
}

static uint64_t hist_us(size_t i)
{
    if (i < 10000)
        return i;
    if (i < 19900)
        return 10000 + (i - 10000) * 100;
    return 1000000 + (i - 19900) * 10000;
}

/* Opens connection C (non-blocking) and puts it in the epoll set EP. */
static int conn_open(int ep, struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS)
        return -1;
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    SSL_set_connect_state(c->ssl);
    c->handshaken = 0;
    c->have = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_drop(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

/* Writes the request (it fits in one record, which the socket takes whole). */
static int conn_send(struct conn *c)
{
    c->sent_ns = now_ns();
    c->have = 0;
    return SSL_write(c->ssl, request, (int)request_len) == (int)request_len ? 0 : -1;
}

/* The length of a complete answer at the start of C's buffer, or 0 while it is not whole. */
static size_t conn_answer(const struct conn *c)
{
    const char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4, body = 0;
    const char *cl = memmem(c->buf, head, "\r\nContent-Length:", 17);
    if (cl == NULL)
        cl = memmem(c->buf, head, "\r\ncontent-length:", 17);
    if (cl)
        body = strtoul(cl + 17, NULL, 10);
    return c->have >= head + body ? head + body : 0;
}

/* Moves C as far as it can. Returns -1 when it failed. */
static int conn_step(struct worker *w, struct conn *c)
{
    if (!c->handshaken) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
        }
        c->handshaken = 1;
        if (conn_send(c) < 0)
            return -1;
    }
    for (;;) {
        if (c->have == sizeof(c->buf))
            return -1; /* an answer larger than this bench's */
        int r = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have));
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            return e == SSL_ERROR_WANT_READ ? 0 : -1;
        }
        c->have += (size_t)r;
        if (conn_answer(c) == 0)
            continue;
        if (memcmp(c->buf, "HTTP/1.1 200", 12) != 0)
            return -1;
        if (!c->warm) {
            c->warm = 1;
            atomic_fetch_add(&warm_count, 1);
        } else if (atomic_load(&measuring) && !atomic_load(&stopping)) {
            w->requests++;
            w->hist[hist_index((now_ns() - c->sent_ns) / 1000)]++;
        }
        if (atomic_load(&stopping))
            return 0;
        if (conn_send(c) < 0)
            return -1;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int ep = epoll_create1(0);
    struct epoll_event ev[256];
    for (int i = 0; i < w->n; i++)
        if (conn_open(ep, &conns[w->first + i]) < 0)
            w->errors++;
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(ep, ev, 256, 50);
        for (int i = 0; i < n; i++) {
            struct conn *c = ev[i].data.ptr;
            if (c->fd < 0 || conn_step(w, c) == 0)
                continue;
            if (atomic_load(&measuring))
                w->errors++;
            conn_drop(c);
            if (!atomic_load(&stopping) && conn_open(ep, c) < 0)
                w->errors++;
        }
    }
    for (int i = 0; i < w->n; i++)
        conn_drop(&conns[w->first + i]);
    close(ep);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tls_load PORT CONNS SECONDS [THREADS] [PATH]\n");
        return 2;
    }
    int port = atoi(argv[1]), nconns = atoi(argv[2]), seconds = atoi(argv[3]);
    int nthreads = argc > 4 ? atoi(argv[4]) : 2;
    const char *path = argc > 5 ? argv[5] : "/catalogue/x";
    if (port <= 0 || nconns <= 0 || seconds <= 0 || nthreads <= 0) {
        fprintf(stderr, "tls_load: PORT, CONNS, SECONDS and THREADS must be positive\n");
        return 2;
    }
    if (nthreads > nconns)
        nthreads = nconns;
    request_len = (size_t)snprintf(request, sizeof(request),
                                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
    addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a bench against our own server */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    conns = calloc((size_t)nconns, sizeof(*conns));
    struct worker *w = calloc((size_t)nthreads, sizeof(*w));
    if (ctx == NULL || conns == NULL || w == NULL) {
        fprintf(stderr, "tls_load: out of memory\n");
        return 2;
    }
    for (int i = 0; i < nconns; i++)
        conns[i].fd = -1;
    uint64_t t0 = now_ns();
    for (int t = 0, first = 0; t < nthreads; t++) {
        w[t].first = first;
        w[t].n = nconns / nthreads + (t < nconns % nthreads);
        first += w[t].n;
        pthread_create(&w[t].th, NULL, worker_main, &w[t]);
    }
    struct timespec tick = {0, 5000000};
    while (atomic_load(&warm_count) < nconns && now_ns() - t0 < LOAD_WARM_NS)
        nanosleep(&tick, NULL);
    int warm = atomic_load(&warm_count) == nconns;
    uint64_t t1 = now_ns();
    atomic_store(&measuring, 1);
    uint64_t cpu1 = cpu_ns();
    printf("window\n"); /* bench/tls samples the servers' CPU time here */
    fflush(stdout);
    struct timespec window = {seconds, 0};
    if (warm)
        nanosleep(&window, NULL);
    uint64_t t2 = now_ns(), cpu2 = cpu_ns();
    atomic_store(&stopping, 1);
    uint64_t requests = 0, errors = 0, count = 0;
    static uint32_t hist[HIST_LEN];
    for (int t = 0; t < nthreads; t++) {
        pthread_join(w[t].th, NULL);
        requests += w[t].requests;
        errors += w[t].errors;
        for (size_t i = 0; i < HIST_LEN; i++)
            hist[i] += w[t].hist[i];
    }
    uint64_t p50 = 0, p99 = 0;
    for (size_t i = 0; i < HIST_LEN; i++) {
        uint64_t before = count;
        count += hist[i];
        if (before < (requests + 1) / 2 && count >= (requests + 1) / 2)
            p50 = hist_us(i);
        if (before < requests - requests / 100 && count >= requests - requests / 100)
            p99 = hist_us(i);
    }
    if (!warm) {
        printf("warm failed: %d of %d connections answered within %llu s\n",
               atomic_load(&warm_count), nconns,
               (unsigned long long)(LOAD_WARM_NS / 1000000000ull));
        return 1;
    }
    double secs = (double)(t2 - t1) / 1e9;
    printf("warm %.2f requests %llu seconds %.2f rps %.0f p50_us %llu p99_us %llu errors %llu "
           "cpu_us %llu\n",
           (double)(t1 - t0) / 1e9, (unsigned long long)requests, secs, (double)requests / secs,
           (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)errors,
           (unsigned long long)((cpu2 - cpu1) / 1000));
    return 0;
}
