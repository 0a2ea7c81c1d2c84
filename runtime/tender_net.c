/* tender_net.c — the network device: host-terminated networking for the listening, upstream
 * and PDP devices of the manifest, the stream table, and the POLL (ACCEPT, RECV, WRITE,
 * CLOSE, and the one wait, in which every device takes its part) and CONNECT hypercalls. */
#include "tender_int.h"
#include "tender_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TENDER_BACKLOG 1024

/* Socket events taken per wait, so per POLL: a bounded part of a busy round. The guest
 * answers them, their answers leave with its next POLL, and the clients work on those while
 * the tender reads the next part; one POLL that read a whole round of a thousand requests
 * sent no answer before the last of them was served, and left the clients idle meanwhile
 * (runtime/README.md, "A bounded wait"). epoll's ready list is first in, first out, so
 * the connections not taken in one wait come first in the next. */
#define TENDER_WAIT_EVENTS 64

/* The socket work a POLL gathers and hands to tender_io_run() at once (tender_io.h): the
 * sends of its WRITE operations, then the reads after each wait. HANDLE[i] is JOB[i]'s
 * stream. Owned by the serving thread, like the rest of struct tender. */
#define TENDER_JOBS_MAX 1024

struct tender_jobs {
    struct tender_job job[TENDER_JOBS_MAX];
    uint32_t handle[TENDER_JOBS_MAX];
    uint32_t n;
};

_Static_assert(UNISEC_EAGAIN == EAGAIN && UNISEC_EPIPE == EPIPE && UNISEC_EBADF == EBADF &&
                   UNISEC_ECONNRESET == ECONNRESET && UNISEC_ECONNREFUSED == ECONNREFUSED &&
                   UNISEC_EMSGSIZE == EMSGSIZE && UNISEC_ETIMEDOUT == ETIMEDOUT &&
                   UNISEC_ENOTCONN == ENOTCONN && UNISEC_EMFILE == EMFILE,
               "the ABI's errors are Linux errno values");

/* ---- addresses ---- */

const char *tender_addr_split(const char *spec, char *host, size_t size)
{
    const char *colon = strrchr(spec, ':'), *h = spec;
    if (colon == NULL)
        return spec;
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']')
        h++, n -= 2;
    else if (n == 0)
        return NULL;
    if (n >= size)
        return NULL;
    memcpy(host, h, n);
    host[n] = 0;
    return colon + 1;
}

long tender_port_parse(const char *text)
{
    char *end;
    unsigned long p = strtoul(text, &end, 10);
    return *text == 0 || *end != 0 || p > 65535 ? -1 : (long)p;
}

/* Splits "[HOST:]PORT" (PASSIVE: a listener's) or "HOST:PORT" and resolves it (before the
 * lockdown). */
static int tender_resolve(const char *spec, int passive, struct sockaddr_storage *ss,
                          socklen_t *sslen, struct engine_diag *d, const char *what)
{
    char host[256] = "127.0.0.1";
    const char *port = tender_addr_split(spec, host, sizeof(host));
    if (port == NULL || (port != spec && host[0] == 0))
        return engine_diag_add(d, NULL, 0, 0, "%s: bad address '%s'", what, spec);
    if (port == spec && !passive)
        return engine_diag_add(d, NULL, 0, 0, "%s: '%s' should be HOST:PORT", what, spec);
    long p = tender_port_parse(port);
    if (p < 0 || (!passive && p == 0))
        return engine_diag_add(d, NULL, 0, 0, "%s: bad port '%s'", what, port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return engine_diag_add(d, NULL, 0, 0, "%s: cannot resolve '%s': %s", what, host,
                               gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void tender_addr_print(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, size, "%s:%u", host, port);
    } else {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
        port = ntohs(in->sin6_port);
        snprintf(buf, size, "[%s]:%u", host, port);
    }
}

/* Takes FD, inherited from the supervisor, as device I's listener: it must be a listening
 * stream socket. The supervisor keeps its own copy open across instances. */
static int tender_listen_inherit(struct tender *t, int i, int fd, struct engine_diag *d)
{
    struct tender_device *dev = &t->dev[i];
    const char *name = t->img.manifest.dev[i].name;
    int listening = 0, type = 0, fl;
    socklen_t len = sizeof(listening), tlen = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || !listening ||
        type != SOCK_STREAM || (fl = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return engine_diag_add(d, NULL, 0, 0,
                               "%s: descriptor %d is not an inherited listening stream socket",
                               name, fd);
    dev->fd = fd;
    return 0;
}

static int tender_listen_open(struct tender *t, int i, const struct tender_listen *l,
                              struct engine_diag *d)
{
    struct tender_device *dev = &t->dev[i];
    const char *name = t->img.manifest.dev[i].name;
    if (l->fd > STDERR_FILENO) {
        if (tender_listen_inherit(t, i, l->fd, d) < 0)
            return -EINVAL;
    } else {
        const char *spec = l->addr;
        if (tender_resolve(spec, 1, &dev->addr, &dev->addrlen, d, name) < 0)
            return -EINVAL;
        int one = 1;
        dev->fd = socket(dev->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (dev->fd < 0 || setsockopt(dev->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(dev->fd, (struct sockaddr *)&dev->addr, dev->addrlen) < 0 ||
            listen(dev->fd, TENDER_BACKLOG) < 0)
            return engine_diag_add(d, NULL, 0, 0, "%s: cannot listen on %s: %s", name, spec,
                                   strerror(errno));
    }
    dev->addrlen = sizeof(dev->addr);
    getsockname(dev->fd, (struct sockaddr *)&dev->addr, &dev->addrlen);
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = TENDER_EP_LISTENER << 32 | (unsigned)i}};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, dev->fd, &ev) < 0)
        return engine_diag_add(d, NULL, 0, 0, "epoll: %s", strerror(errno));
    if (t->cfg.verbose) {
        char buf[80];
        tender_addr_print(&dev->addr, buf, sizeof(buf));
        fprintf(stderr, "%s: %s listening on %s\n", t->name, name, buf);
    }
    return 0;
}

/* The device --port binds: the image's front, "https" when it declares one, else "http", else
 * its only listening device (never the manifest's order, which the builder does not promise).
 * Returns its index, or -EINVAL with a message in D. */
static int tender_front_device(const struct unisec_manifest *m, struct engine_diag *d)
{
    static const char *const front[] = {"https", "http"};
    char names[UNISEC_MANIFEST_MAX * (UNISEC_DEVICE_NAME_MAX + 2) + 1] = "";
    int only = -1, n = 0;
    for (size_t k = 0; k < sizeof(front) / sizeof(front[0]); k++)
        for (int j = 0; j < UNISEC_MANIFEST_MAX; j++)
            if (m->dev[j].type == UNISEC_DEV_LISTEN &&
                strncmp(m->dev[j].name, front[k], UNISEC_DEVICE_NAME_MAX) == 0)
                return j;
    for (int j = 0; j < UNISEC_MANIFEST_MAX; j++) {
        if (m->dev[j].type != UNISEC_DEV_LISTEN)
            continue;
        only = n++ == 0 ? j : -1;
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%.*s", n > 1 ? ", " : "",
                 UNISEC_DEVICE_NAME_MAX, m->dev[j].name);
    }
    if (n == 0)
        return engine_diag_add(d, NULL, 0, 0, "--port: the image declares no listening device");
    if (only < 0)
        return engine_diag_add(d, NULL, 0, 0,
                               "--port: the image listens on %s and none is https or http: give "
                               "each with --listen NAME=[HOST:]PORT",
                               names);
    return only;
}

static int tender_net_init(struct tender *t, uint32_t id, struct engine_diag *d)
{
    const struct unisec_manifest *m = &t->img.manifest;
    (void)id;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        t->dev[i].fd = -1;
    uint32_t nstreams = t->cfg.max_streams ? t->cfg.max_streams : UNISEC_STREAMS_MAX;
    if (tender_streams_init(&t->streams,
                            nstreams > UNISEC_STREAMS_MAX ? UNISEC_STREAMS_MAX : nstreams) < 0)
        return -ENOMEM;

    int used[TENDER_CONFIG_MAX] = {0}, rc = 0;
    for (size_t k = 0; k < t->cfg.nlisten; k++) {
        const struct tender_listen *l = &t->cfg.listen[k];
        int i = -1;
        if (l->device == NULL && (i = tender_front_device(m, d)) < 0)
            return -EINVAL;
        for (int j = 0; j < UNISEC_MANIFEST_MAX && i < 0; j++)
            if (m->dev[j].type == UNISEC_DEV_LISTEN && strcmp(m->dev[j].name, l->device) == 0)
                i = j;
        if (i < 0)
            return engine_diag_add(d, NULL, 0, 0, "the image declares no listening device named %s",
                                   l->device);
        if (t->dev[i].fd >= 0)
            return engine_diag_add(d, NULL, 0, 0, "listening device %s is given twice%s",
                                   m->dev[i].name,
                                   l->device ? "" : " (--port binds it: the image's front)");
        if ((rc = tender_listen_open(t, i, l, d)) < 0)
            return rc;
    }
    for (size_t k = 0; k < t->cfg.nupstream; k++) {
        const struct tender_upstream *u = &t->cfg.upstream[k];
        int i = -1;
        for (int j = 0; j < UNISEC_MANIFEST_MAX && i < 0; j++)
            if ((m->dev[j].type == UNISEC_DEV_UPSTREAM || m->dev[j].type == UNISEC_DEV_PDP) &&
                strcmp(m->dev[j].name, u->device) == 0)
                i = j;
        if (i < 0)
            return engine_diag_add(
                d, NULL, 0, 0, "the image declares no upstream or PDP device named %s", u->device);
        if (used[i]++)
            return engine_diag_add(d, NULL, 0, 0, "upstream %s is given twice", u->device);
        if (tender_resolve(u->addr, 0, &t->dev[i].addr, &t->dev[i].addrlen, d, u->device) < 0)
            return -EINVAL;
    }
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
        uint32_t type = m->dev[i].type;
        if (type == UNISEC_DEV_LISTEN && t->dev[i].fd < 0)
            return engine_diag_add(d, NULL, 0, 0,
                                   "the image listens on device '%s': give --port PORT or "
                                   "--listen %s=[HOST:]PORT",
                                   m->dev[i].name, m->dev[i].name);
        if ((type == UNISEC_DEV_UPSTREAM || type == UNISEC_DEV_PDP) && t->dev[i].addrlen == 0)
            return engine_diag_add(
                d, NULL, 0, 0, "the image connects to %s '%s': give --upstream %s=HOST:PORT",
                type == UNISEC_DEV_PDP ? "PDP" : "upstream", m->dev[i].name, m->dev[i].name);
    }
    /* Now, not at the first POLL, which hvt's mailbox thread may serve: no allocation on
     * the request path. */
    if (t->jobs == NULL && (t->jobs = calloc(1, sizeof(*t->jobs))) == NULL)
        return -ENOMEM;
    if (tender_has_streams(t) && (rc = tender_io_start()) < 0)
        return engine_diag_add(d, NULL, 0, 0, "cannot start the I/O thread: %s", strerror(-rc)), rc;
    return 0;
}

/* A drain: the listening sockets are closed (after leaving the epoll set). */
static void tender_net_drain(struct tender *t)
{
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
        if (t->img.manifest.dev[i].type != UNISEC_DEV_LISTEN || t->dev[i].fd < 0)
            continue;
        /* Out of the epoll set first: the supervisor and the next instance keep the socket
         * open, so closing our descriptor alone would leave it registered. */
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->dev[i].fd, NULL);
        close(t->dev[i].fd);
        t->dev[i].fd = -1;
        t->dev[i].armed = t->dev[i].pending = 0;
    }
}

static void tender_net_fini(struct tender *t)
{
    for (uint32_t i = 0; i < t->streams.n; i++)
        if (t->streams.slot[i].fd >= 0)
            close(t->streams.slot[i].fd);
    tender_streams_fini(&t->streams);
    free(t->jobs);
    t->jobs = NULL;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        if (t->dev[i].fd >= 0)
            close(t->dev[i].fd);
}

/* ---- streams ---- */

/* Puts FD in the slot free the longest and the epoll set; returns the handle, or -EMFILE. */
static int64_t tender_stream_add(struct tender *t, int fd, int inbound)
{
    struct tender_stream *s = tender_stream_next(&t->streams);
    if (s == NULL)
        return -EMFILE;
    uint32_t handle = tender_stream_handle(&t->streams, s);
    struct epoll_event ev = {EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             {.u64 = TENDER_EP_STREAM << 32 | handle}};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    tender_stream_open(&t->streams, fd)->inbound = (uint8_t)inbound;
    t->ninbound += inbound != 0;
    return handle;
}

static void tender_addr_to_guest(const struct sockaddr_storage *ss, struct unisec_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a->family = UNISEC_AF_INET;
        a->port = ntohs(in->sin_port);
        memcpy(a->addr, &in->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
        a->port = ntohs(in->sin6_port);
        /* An IPv4 client of a dual-stack socket is an IPv4 client: one identity for its
         * limits and its log lines, however it reached the node. */
        if (IN6_IS_ADDR_V4MAPPED(&in->sin6_addr)) {
            a->family = UNISEC_AF_INET;
            memcpy(a->addr, in->sin6_addr.s6_addr + 12, 4);
        } else {
            a->family = UNISEC_AF_INET6;
            memcpy(a->addr, &in->sin6_addr, 16);
        }
    }
}

/* Makes *J the read that stream S's lent buffer waits for; 0 when S is not to be read: a
 * socket read dry (a short read or EAGAIN) is not read again before its next read edge, as
 * epoll reports every arrival, so the lent buffer waits without a read that would fail. */
static int tender_stream_read_job(struct tender *t, struct tender_stream *s, struct tender_job *j)
{
    if (!s->rx_lent || !s->rx_ready)
        return 0;
    *j = (struct tender_job){s->fd, TENDER_JOB_READ, tender_guest_ptr(t, s->rx_buf, s->rx_len),
                             s->rx_len, 0};
    return 1;
}

/* Completes stream S's read of N bytes (or -errno): the lent buffer goes back to the guest
 * with data, the end or an error; EAGAIN leaves it lent. */
static void tender_stream_filled(struct tender *t, struct tender_batch *b, struct tender_stream *s,
                                 ssize_t n)
{
    uint32_t handle = tender_stream_handle(&t->streams, s);
    /* A short read drains the socket, but once the peer's end was reported (in the same edge
     * as its last bytes: a client that shuts down its side after a request), no edge follows:
     * the next read must go ahead and see the end. */
    if (n == -EAGAIN || (n > 0 && (uint64_t)n < s->rx_len && !s->rx_hup))
        s->rx_ready = 0;
    if (n == -EAGAIN)
        return;
    s->rx_lent = 0;
    tender_emit(b, UNISEC_EV_RECV, handle, 0, n, NULL, 1);
}

/* Fills stream S's lent buffer now if data, end or an error is there. */
static void tender_stream_fill(struct tender *t, struct tender_batch *b, struct tender_stream *s)
{
    struct tender_job j;
    if (!tender_stream_read_job(t, s, &j))
        return;
    tender_io_run(&j, 1);
    tender_stream_filled(t, b, s, j.res);
}

/* Performs the gathered sends and emits their SENT events, in the operations' order. */
static void tender_sends_flush(struct tender *t, struct tender_batch *b)
{
    struct tender_jobs *w = t->jobs;
    tender_io_run(w->job, w->n);
    for (uint32_t i = 0; i < w->n; i++) {
        struct tender_stream *s = tender_stream_of(&t->streams, w->handle[i]);
        ssize_t n = w->job[i].res;
        int partial = n < 0 || (size_t)n != w->job[i].len;
        if (partial && s)
            s->tx_blocked = 1;
        tender_emit(b, UNISEC_EV_SENT, w->handle[i], 0, n, NULL, partial);
    }
    w->n = 0;
}

/* Accepts waiting connections on armed listener I while the batch and the table have room. */
static void tender_listener_drain(struct tender *t, struct tender_batch *b, int i)
{
    struct tender_device *dev = &t->dev[i];
    while (dev->fd >= 0 && dev->armed && dev->pending && b->count < b->cap) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(dev->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            /* Empty: wait for the next edge. Out of descriptors: retry at the next POLL.
             * Anything else: give up until the next edge rather than spin. */
            dev->pending = errno == EMFILE || errno == ENFILE;
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int64_t h = tender_stream_add(t, fd, 1);
        if (h < 0) {
            /* The table is full: refuse the connection rather than hold a socket the guest
             * cannot see. */
            close(fd);
            continue;
        }
        struct unisec_addr peer;
        tender_addr_to_guest(&ss, &peer);
        tender_emit(b, UNISEC_EV_ACCEPTED, (uint32_t)h, 0, i, &peer, 1);
    }
}

/* Performs one queued operation. Returns TENDER_CONTINUE or TENDER_KILL. */
static int tender_sqe(struct tender *t, struct tender_batch *b, const struct unisec_sqe *q)
{
    static const char *const names[] = {"?", "accept", "recv", "write", "close"};
    if (t->jobs->n > 0 &&
        (q->op == UNISEC_OP_ACCEPT || q->op == UNISEC_OP_CLOSE || t->jobs->n == TENDER_JOBS_MAX))
        tender_sends_flush(t, b); /* no descriptor closes and no event is taken meanwhile */
    if (q->op == UNISEC_OP_ACCEPT) {
        if (q->handle >= UNISEC_MANIFEST_MAX ||
            t->img.manifest.dev[q->handle].type != UNISEC_DEV_LISTEN)
            return tender_kill(t,
                               "accept on device %u, which the manifest does not declare as "
                               "a listener",
                               q->handle);
        if (t->dev[q->handle].fd < 0)
            return TENDER_CONTINUE; /* draining: the listener is closed for good */
        t->dev[q->handle].armed = t->dev[q->handle].pending = 1;
        tender_listener_drain(t, b, (int)q->handle);
        return TENDER_CONTINUE;
    }
    if (q->op < UNISEC_OP_RECV || q->op > UNISEC_OP_CLOSE)
        return tender_kill(t, "poll: unknown operation %u", q->op);
    if (q->op != UNISEC_OP_CLOSE && tender_guest_ptr(t, q->buf, q->len) == NULL)
        return tender_kill(t, "%s: buffer 0x%llx+%llu lies outside guest memory", names[q->op],
                           (unsigned long long)q->buf, (unsigned long long)q->len);
    struct tender_stream *s = tender_stream_of(&t->streams, q->handle);
    if (s == NULL) {
        if (q->op != UNISEC_OP_CLOSE)
            tender_emit(b, q->op == UNISEC_OP_RECV ? UNISEC_EV_RECV : UNISEC_EV_SENT, q->handle, 0,
                        -EBADF, NULL, 1);
        return TENDER_CONTINUE;
    }
    if (q->op == UNISEC_OP_CLOSE) {
        close(s->fd); /* also leaves the epoll set */
        t->ninbound -= s->inbound;
        tender_stream_release(&t->streams, s);
        return TENDER_CONTINUE;
    }
    if (q->op == UNISEC_OP_RECV) {
        if (s->rx_lent || q->len == 0) {
            tender_emit(b, UNISEC_EV_RECV, q->handle, 0, -EINVAL, NULL, 1);
            return TENDER_CONTINUE;
        }
        s->rx_lent = 1;
        s->rx_buf = q->buf;
        s->rx_len = q->len;
        tender_stream_fill(t, b, s);
        return TENDER_CONTINUE;
    }
    struct tender_jobs *w = t->jobs;
    w->job[w->n] =
        (struct tender_job){s->fd, TENDER_JOB_SEND, tender_guest_ptr(t, q->buf, q->len), q->len, 0};
    w->handle[w->n++] = q->handle; /* its SENT event is emitted by tender_sends_flush */
    return TENDER_CONTINUE;
}

static int tender_hc_connect(struct tender *t, void *arg, const struct tender_devs *all)
{
    struct unisec_hc_connect *a = arg;
    (void)all;
    uint32_t type = a->device < UNISEC_MANIFEST_MAX ? t->img.manifest.dev[a->device].type : 0;
    if (type != UNISEC_DEV_UPSTREAM && type != UNISEC_DEV_PDP)
        return tender_kill(t,
                           "connect to device %u, which the manifest does not declare as an "
                           "upstream or PDP",
                           a->device);
    const struct tender_device *dev = &t->dev[a->device];
    int fd = socket(dev->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        a->ret = errno == EMFILE || errno == ENFILE ? -EMFILE : -EIO;
        return TENDER_CONTINUE;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)&dev->addr, dev->addrlen) < 0 &&
        errno != EINPROGRESS) {
        a->ret = -errno;
        close(fd);
        return TENDER_CONTINUE;
    }
    int64_t h = tender_stream_add(t, fd, 0);
    if (h < 0) {
        close(fd);
        a->ret = h;
        return TENDER_CONTINUE;
    }
    tender_stream_of(&t->streams, (uint32_t)h)->tx_blocked =
        1; /* the guest waits for the connection's edge */
    a->handle = (uint32_t)h;
    a->ret = 0;
    return TENDER_CONTINUE;
}

/* ---- poll ---- */

/* The network's part before each wait: the armed listeners accept. */
static int tender_net_poll(struct tender *t, struct tender_batch *b, const struct tender_devs *all)
{
    (void)all;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        tender_listener_drain(t, b, i);
    return TENDER_CONTINUE;
}

static int tender_hc_poll(struct tender *t, void *arg, const struct tender_devs *all)
{
    struct unisec_hc_poll *a = arg;
    uint64_t cap = a->cap, nsq = a->sq_count;
    struct tender_batch b = {tender_guest_ptr(t, a->events, cap * sizeof(struct unisec_event)),
                             (uint32_t)cap, 0, 0};
    const struct unisec_sqe *sq = tender_guest_ptr(t, a->sq, nsq * sizeof(struct unisec_sqe));
    if (b.ev == NULL || cap == 0 || cap > 0x10000)
        return tender_kill(t, "poll: event array 0x%llx[%llu] lies outside guest memory",
                           (unsigned long long)a->events, (unsigned long long)cap);
    if (sq == NULL || nsq > 0x10000)
        return tender_kill(t, "poll: operation array 0x%llx[%llu] lies outside guest memory",
                           (unsigned long long)a->sq, (unsigned long long)nsq);
    if (t->jobs == NULL && (t->jobs = calloc(1, sizeof(*t->jobs))) == NULL)
        return tender_kill(t, "poll: out of memory");
    t->jobs->n = 0; /* a POLL that killed its guest may have left some (the fuzz harness) */
    t->polls++;
    if (a->console_len > 0 && tender_console_out(t, a->console, a->console_len) != TENDER_CONTINUE)
        return TENDER_KILL;
    /* Each operation completes at most once while performed, except ACCEPT, which stops
     * accepting when the array is full. */
    uint32_t done = 0;
    for (; done < nsq && b.count + t->jobs->n < b.cap; done++) {
        struct unisec_sqe q;
        memcpy(&q, &sq[done], sizeof(q));
        if (tender_sqe(t, &b, &q) != TENDER_CONTINUE)
            return TENDER_KILL;
    }
    tender_sends_flush(t, &b);
    /* A POLL from the mailbox waits no longer than its cap: the guest spins meanwhile. */
    uint64_t deadline = a->deadline_ns;
    int capped = 0;
    if (t->poll_cap_ns > 0 && deadline > tender_now(CLOCK_MONOTONIC) + t->poll_cap_ns)
        deadline = tender_now(CLOCK_MONOTONIC) + t->poll_cap_ns, capped = 1;
    struct epoll_event ev[TENDER_WAIT_EVENTS];
    for (;;) {
        /* Every device's part, in the list's order: the control channel first (a drain
         * closes the listeners), then the accepts, then a policy blob's announcement. */
        for (uint32_t k = 0; k < all->n; k++) {
            int how = all->dev[k]->poll ? all->dev[k]->poll(t, &b, all) : TENDER_CONTINUE;
            if (how != TENDER_CONTINUE)
                return how;
        }
        /* Each epoll event may give two guest events (a RECV and a WRITE readiness). */
        int room = (int)((b.cap - b.count) / 2);
        if (room > (int)(sizeof(ev) / sizeof(ev[0])))
            room = sizeof(ev) / sizeof(ev[0]);
        if (room == 0)
            break;
        uint64_t now = tender_now(CLOCK_MONOTONIC);
        struct timespec ts = {0, 0}, *tsp = &ts;
        int waiting = !b.wake && deadline > now;
        if (waiting && deadline == UINT64_MAX) {
            tsp = NULL;
        } else if (waiting) {
            ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
            ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
        }
        int n = epoll_pwait2(t->epfd, ev, room, tsp, NULL);
        if (n < 0 && errno != EINTR)
            return tender_kill(t, "poll: epoll failed: %s", strerror(errno));
        /* First the reads the events call for, gathered and performed together; then each
         * event's completions, in the events' order. ev[i].data.u64 becomes 0 for an event
         * handled in the first pass. */
        struct tender_jobs *w = t->jobs;
        for (int i = 0; i < n; i++) {
            uint64_t kind = ev[i].data.u64 >> 32;
            uint32_t h = (uint32_t)ev[i].data.u64;
            if (kind != TENDER_EP_STREAM) {
                if (kind == TENDER_EP_LISTENER)
                    t->dev[h].pending = 1;
                else if (kind == TENDER_EP_DEVICE && h < all->n && all->dev[h]->event)
                    all->dev[h]->event(t);
                ev[i].data.u64 = 0;
                continue;
            }
            struct tender_stream *s = tender_stream_of(&t->streams, h);
            if (s == NULL)
                continue;
            if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                s->rx_ready = 1;
                s->rx_hup |= (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
                if (tender_stream_read_job(t, s, &w->job[w->n]))
                    w->handle[w->n++] = h;
            }
        }
        tender_io_run(w->job, w->n);
        uint32_t r = 0;
        for (int i = 0; i < n; i++) {
            uint32_t h = (uint32_t)ev[i].data.u64;
            struct tender_stream *s;
            if (ev[i].data.u64 >> 32 != TENDER_EP_STREAM ||
                (s = tender_stream_of(&t->streams, h)) == NULL)
                continue;
            uint32_t flags = 0;
            if (r < w->n && w->handle[r] == h)
                tender_stream_filled(t, &b, s, w->job[r++].res);
            else if (ev[i].events & EPOLLIN)
                flags |= UNISEC_EV_READ;
            /* A WRITE edge matters only to a stream that is waiting for one: on other
             * streams it would wake the guest for nothing (every new socket has one). */
            if ((ev[i].events & (EPOLLOUT | EPOLLERR)) && s->tx_blocked) {
                flags |= UNISEC_EV_WRITE;
                s->tx_blocked = 0;
            }
            if (!s->rx_lent && (ev[i].events & (EPOLLHUP | EPOLLRDHUP)))
                flags |= UNISEC_EV_HUP;
            if (!s->rx_lent && (ev[i].events & EPOLLERR))
                flags |= UNISEC_EV_ERR;
            if (flags)
                tender_emit(&b, UNISEC_EV_STREAM, h, flags, 0, NULL, 1);
        }
        w->n = 0;
        if (b.wake || (tsp && tender_now(CLOCK_MONOTONIC) >= deadline) || n < 0)
            break;
    }
    t->poll_idle = capped && !b.wake;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        tender_listener_drain(t, &b, i);
    a->sq_done = done;
    a->count = b.count;
    a->now_ns = tender_now(CLOCK_MONOTONIC);
    a->ret = 0;
    return TENDER_CONTINUE;
}

static int tender_net_seccomp(const struct tender *t, scmp_filter_ctx ctx)
{
    int rc = 0;
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(epoll_pwait2), 1,
                           SCMP_A0(SCMP_CMP_EQ, (unsigned)t->epfd));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 0);
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 0);
    if (tender_device_first(t, UNISEC_DEV_LISTEN) >= 0) {
        for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
            if (t->dev[i].fd >= 0)
                rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(accept4), 1,
                                       SCMP_A0(SCMP_CMP_EQ, (unsigned)t->dev[i].fd));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(epoll_ctl), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)t->epfd),
                               SCMP_A1(SCMP_CMP_EQ, EPOLL_CTL_ADD));
        rc |=
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
                             SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP), SCMP_A2(SCMP_CMP_EQ, TCP_NODELAY));
    }
    int families[2] = {0, 0};
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++) {
        uint32_t type = t->img.manifest.dev[i].type;
        if (type != UNISEC_DEV_UPSTREAM && type != UNISEC_DEV_PDP)
            continue;
        int f = t->dev[i].addr.ss_family;
        if (families[f == AF_INET6]++)
            continue;
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)f),
                               SCMP_A1(SCMP_CMP_EQ, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC));
    }
    if (families[0] || families[1]) {
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
        if (tender_device_first(t, UNISEC_DEV_LISTEN) < 0) {
            rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(epoll_ctl), 2,
                                   SCMP_A0(SCMP_CMP_EQ, (unsigned)t->epfd),
                                   SCMP_A1(SCMP_CMP_EQ, EPOLL_CTL_ADD));
            rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
                                   SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP),
                                   SCMP_A2(SCMP_CMP_EQ, TCP_NODELAY));
        }
    }
    if (tender_has_streams(t))
        rc |= tender_io_seccomp(ctx);
    return rc;
}

const struct tender_dev tender_net_dev = {
    .name = "net",
    .init = tender_net_init,
    .fini = tender_net_fini,
    .seccomp = tender_net_seccomp,
    .poll = tender_net_poll,
    .drain = tender_net_drain,
    .hc =
        {
            [UNISEC_HC_POLL] = TENDER_HC("poll", struct unisec_hc_poll, tender_hc_poll),
            [UNISEC_HC_CONNECT] = TENDER_HC("connect", struct unisec_hc_connect, tender_hc_connect),
        },
};
