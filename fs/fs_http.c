/* fs_http.c — `-o metrics=ADDR`: the `metrics` file served over HTTP for a Prometheus server
 * (fs/MOUNT.md, "Metrics"). One thread, one poll set; it answers one small GET per
 * connection and closes it. A stranger that reaches the port gets no more than that: at most
 * FS_HTTP_CONNS connections at once (those beyond are closed at once), a request head of at
 * most FS_HTTP_HEAD_MAX bytes (else 431), FS_HTTP_TIMEOUT_MS for the whole exchange, and
 * nothing but /metrics (404) with GET or HEAD (405). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fs_int.h"

struct fs_http_conn {
    int fd; /* -1: a free slot */
    uint64_t deadline;
    char in[FS_HTTP_HEAD_MAX];
    size_t in_len;
    char *out; /* the answer, once the head is in */
    size_t out_len, out_off;
};

int fs_http_bind(struct fs_ctx *c, const char *addr, const char **why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    char host[256];
    const char *colon = strrchr(addr, ':'), *h = host;
    size_t hl;
    int fd, one = 1, r;

    *why = "expected HOST:PORT or [IPV6]:PORT";
    if (colon == NULL || colon[1] == '\0' || (hl = (size_t)(colon - addr)) == 0 ||
        hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (host[0] == '[') {
        if (host[hl - 1] != ']')
            return -EINVAL;
        host[hl - 1] = '\0';
        h = host + 1;
    }
    if ((r = getaddrinfo(h, colon + 1, &hints, &ai)) != 0) {
        *why = "not an address and port this host has";
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, FS_HTTP_CONNS) < 0) {
        r = -errno;
        *why = "cannot listen there (in use, or not an address of this host)";
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return r;
    }
    freeaddrinfo(ai);
    c->http_fd = fd;
    return 0;
}

static const char *fs_http_reason(int status)
{
    static const struct {
        int code;
        const char *reason;
    } t[] = {{200, "OK"},
             {400, "Bad Request"},
             {404, "Not Found"},
             {405, "Method Not Allowed"},
             {431, "Request Header Fields Too Large"},
             {500, "Internal Server Error"}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].code == status)
            return t[i].reason;
    return "Internal Server Error";
}

/* The status for request line L[0..N) ("METHOD SP /metrics[?QUERY] SP HTTP/1.x"); *HEAD 1 for
 * a HEAD. */
static int fs_http_route(const char *l, size_t n, int *head)
{
    const char *sp1 = memchr(l, ' ', n), *sp2;
    size_t ml, tl;

    *head = 0;
    if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l))) == NULL ||
        (size_t)(l + n - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return 400;
    ml = (size_t)(sp1 - l);
    tl = (size_t)(sp2 - sp1 - 1);
    *head = ml == 4 && memcmp(l, "HEAD", 4) == 0;
    if (!*head && !(ml == 3 && memcmp(l, "GET", 3) == 0))
        return 405;
    if (tl < 8 || memcmp(sp1 + 1, "/metrics", 8) != 0 || (tl > 8 && sp1[9] != '?'))
        return 404;
    return 200;
}

/* K->out: the answer to the request head in K->in (TOO_LONG: it did not fit), or NULL when
 * out of memory. */
static void fs_http_answer(struct fs_ctx *c, struct fs_http_conn *k, int too_long)
{
    const char *eol = memchr(k->in, '\n', k->in_len);
    char *body = NULL, *out = NULL;
    size_t blen = 0;
    int head = 0, hn;
    int status = too_long ? 431 : fs_http_route(k->in, (size_t)(eol - k->in), &head);

    if (status == 200) {
        FILE *f = open_memstream(&body, &blen);
        int r = f != NULL ? fs_gen_metrics(c, NULL, NULL, f) : -ENOMEM;
        if (f == NULL || fclose(f) != 0 || r < 0) {
            free(body);
            body = NULL;
            status = 500;
        }
    }
    if (body == NULL && asprintf(&body, "%d %s\n", status, fs_http_reason(status)) < 0)
        body = NULL;
    blen = body != NULL ? strlen(body) : 0;
    hn = asprintf(&out,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                  "Connection: close\r\n\r\n%s",
                  status, fs_http_reason(status),
                  status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain", blen,
                  status == 405 ? "Allow: GET, HEAD\r\n" : "", head || body == NULL ? "" : body);
    free(body);
    k->out = hn < 0 ? NULL : out;
    k->out_len = hn < 0 ? 0 : (size_t)hn;
    k->out_off = 0;
}

static void fs_http_close(struct fs_http_conn *k)
{
    close(k->fd);
    free(k->out);
    k->fd = -1;
    k->out = NULL;
}

/* Reads what came; answers once the head is whole. 0 to go on, -1 when it is over. */
static int fs_http_in(struct fs_ctx *c, struct fs_http_conn *k)
{
    for (;;) {
        ssize_t n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (n == 0)
            return -1; /* gone before asking */
        k->in_len += (size_t)n;
        if (memmem(k->in, k->in_len, "\r\n\r\n", 4) || memmem(k->in, k->in_len, "\n\n", 2)) {
            fs_http_answer(c, k, 0);
            return k->out != NULL ? 0 : -1;
        }
        if (k->in_len == sizeof(k->in)) {
            fs_http_answer(c, k, 1);
            return k->out != NULL ? 0 : -1;
        }
    }
}

/* Sends what it can; -1 when all is sent (or cannot be). */
static int fs_http_out(struct fs_http_conn *k)
{
    while (k->out_off < k->out_len) {
        ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        k->out_off += (size_t)n;
    }
    return -1;
}

static void *fs_http_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct fs_http_conn *k = calloc(FS_HTTP_CONNS, sizeof(*k));
    struct pollfd pf[2 + FS_HTTP_CONNS];

    if (k == NULL)
        return NULL;
    for (int i = 0; i < FS_HTTP_CONNS; i++)
        k[i].fd = -1;
    for (;;) {
        uint64_t now = fs_now_ms(), next = now + 60000;
        pf[0] = (struct pollfd){.fd = c->http_stop_fd, .events = POLLIN};
        pf[1] = (struct pollfd){.fd = c->http_fd, .events = POLLIN};
        for (int i = 0; i < FS_HTTP_CONNS; i++) {
            pf[2 + i] = (struct pollfd){.fd = -1};
            if (k[i].fd >= 0 && now >= k[i].deadline)
                fs_http_close(&k[i]); /* too slow: the slot goes to someone else */
            if (k[i].fd < 0)
                continue;
            pf[2 + i].fd = k[i].fd;
            pf[2 + i].events = k[i].out ? POLLOUT : POLLIN;
            next = k[i].deadline < next ? k[i].deadline : next;
        }
        if (poll(pf, 2 + FS_HTTP_CONNS, (int)(next - now)) < 0 && errno != EINTR)
            break;
        if (pf[0].revents & POLLIN)
            break;
        if (pf[1].revents & POLLIN) {
            int fd;
            while ((fd = accept4(c->http_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                int i = 0;
                while (i < FS_HTTP_CONNS && k[i].fd >= 0)
                    i++;
                if (i == FS_HTTP_CONNS) {
                    close(fd); /* full: refused rather than queued */
                    continue;
                }
                k[i] =
                    (struct fs_http_conn){.fd = fd, .deadline = fs_now_ms() + FS_HTTP_TIMEOUT_MS};
            }
        }
        for (int i = 0; i < FS_HTTP_CONNS; i++) {
            if (k[i].fd < 0 || pf[2 + i].fd < 0 || pf[2 + i].revents == 0)
                continue;
            int r = k[i].out ? fs_http_out(&k[i]) : fs_http_in(c, &k[i]);
            if (r == 0 && k[i].out != NULL && pf[2 + i].events == POLLIN)
                r = fs_http_out(&k[i]); /* the answer is ready: try it now */
            if (r < 0)
                fs_http_close(&k[i]);
        }
    }
    for (int i = 0; i < FS_HTTP_CONNS; i++)
        if (k[i].fd >= 0)
            fs_http_close(&k[i]);
    free(k);
    return NULL;
}

int fs_http_start(struct fs_ctx *c)
{
    if (c->http_fd < 0)
        return 0;
    if ((c->http_stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
        return -errno;
    if (pthread_create(&c->http_thread, NULL, fs_http_main, c) != 0) {
        close(c->http_stop_fd);
        c->http_stop_fd = -1;
        return -EAGAIN;
    }
    c->http_running = 1;
    return 0;
}

void fs_http_stop(struct fs_ctx *c)
{
    uint64_t one = 1;

    if (c->http_running) {
        if (write(c->http_stop_fd, &one, sizeof(one)) < 0) {
            /* an eventfd write fails only on overflow, which one write cannot cause */
        }
        pthread_join(c->http_thread, NULL);
        c->http_running = 0;
    }
    if (c->http_stop_fd >= 0)
        close(c->http_stop_fd);
    if (c->http_fd >= 0)
        close(c->http_fd);
    c->http_stop_fd = c->http_fd = -1;
}
