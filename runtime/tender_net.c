/* tender_net.c — host-terminated networking: listening devices, upstream and PDP devices,
 * the stream table, and the POLL, ACCEPT, READ, WRITE, CLOSE and CONNECT hypercalls. */
#include "tender_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TENDER_BACKLOG 1024

_Static_assert(UNISEC_EAGAIN == EAGAIN && UNISEC_EPIPE == EPIPE && UNISEC_EBADF == EBADF &&
                   UNISEC_ECONNRESET == ECONNRESET && UNISEC_ECONNREFUSED == ECONNREFUSED &&
                   UNISEC_EMSGSIZE == EMSGSIZE && UNISEC_ETIMEDOUT == ETIMEDOUT &&
                   UNISEC_ENOTCONN == ENOTCONN && UNISEC_EMFILE == EMFILE,
               "the ABI's errors are Linux errno values");

int tender_device_first(const struct tender *t, uint32_t type)
{
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        if (t->img.manifest.dev[i].type == type)
            return i;
    return -1;
}

/* Splits "[HOST:]PORT", "HOST:PORT" or "[V6]:PORT" and resolves it (before the lockdown). */
static int tender_resolve(const char *spec, int passive, struct sockaddr_storage *ss,
                          socklen_t *sslen, struct engine_diag *d, const char *what)
{
    char host[256] = "127.0.0.1";
    const char *port = spec;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
            spec++;
            n -= 2;
        }
        if (n == 0 || n >= sizeof(host))
            return engine_diag_add(d, NULL, 0, 0, "%s: bad address '%s'", what, spec);
        memcpy(host, spec, n);
        host[n] = 0;
        port = colon + 1;
    } else if (!passive) {
        return engine_diag_add(d, NULL, 0, 0, "%s: '%s' should be HOST:PORT", what, spec);
    }
    char *end;
    unsigned long p = strtoul(port, &end, 10);
    if (*port == 0 || *end != 0 || p > 65535 || (!passive && p == 0))
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

static int tender_listen_open(struct tender *t, int i, const char *spec, struct engine_diag *d)
{
    struct tender_device *dev = &t->dev[i];
    const char *name = t->img.manifest.dev[i].name;
    if (tender_resolve(spec, 1, &dev->addr, &dev->addrlen, d, name) < 0)
        return -EINVAL;
    int one = 1;
    dev->fd = socket(dev->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (dev->fd < 0 || setsockopt(dev->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(dev->fd, (struct sockaddr *)&dev->addr, dev->addrlen) < 0 ||
        listen(dev->fd, TENDER_BACKLOG) < 0)
        return engine_diag_add(d, NULL, 0, 0, "%s: cannot listen on %s: %s", name, spec,
                               strerror(errno));
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

int tender_net_init(struct tender *t, struct engine_diag *d)
{
    const struct unisec_manifest *m = &t->img.manifest;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        t->dev[i].fd = -1;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0)
        return engine_diag_add(d, NULL, 0, 0, "epoll: %s", strerror(errno)), -errno;
    t->nstreams = t->cfg.max_streams ? t->cfg.max_streams : UNISEC_STREAMS_MAX;
    if (t->nstreams > UNISEC_STREAMS_MAX)
        t->nstreams = UNISEC_STREAMS_MAX;
    t->streams = calloc(t->nstreams, sizeof(*t->streams));
    if (t->streams == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->nstreams; i++)
        t->streams[i].fd = -1;

    int used[TENDER_CONFIG_MAX] = {0}, rc = 0;
    for (size_t k = 0; k < t->cfg.nlisten; k++) {
        const struct tender_listen *l = &t->cfg.listen[k];
        int i = -1;
        for (int j = 0; j < UNISEC_MANIFEST_MAX && i < 0; j++)
            if (m->dev[j].type == UNISEC_DEV_LISTEN &&
                (l->device ? strcmp(m->dev[j].name, l->device) == 0 : t->dev[j].fd < 0))
                i = j;
        if (i < 0)
            return engine_diag_add(d, NULL, 0, 0, "the image declares no %slistening device%s%s",
                                   l->device ? "" : "free ", l->device ? " named " : "",
                                   l->device ? l->device : "");
        if (t->dev[i].fd >= 0)
            return engine_diag_add(d, NULL, 0, 0, "listening device %s is given twice",
                                   m->dev[i].name);
        if ((rc = tender_listen_open(t, i, l->addr, d)) < 0)
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
    return 0;
}

void tender_net_fini(struct tender *t)
{
    for (uint32_t i = 0; t->streams && i < t->nstreams; i++)
        if (t->streams[i].fd >= 0)
            close(t->streams[i].fd);
    free(t->streams);
    t->streams = NULL;
    for (int i = 0; i < UNISEC_MANIFEST_MAX; i++)
        if (t->dev[i].fd >= 0)
            close(t->dev[i].fd);
    if (t->epfd >= 0)
        close(t->epfd);
    t->epfd = -1;
}

/* ---- streams ---- */

static struct tender_stream *tender_stream_of(struct tender *t, uint32_t handle)
{
    uint32_t slot = handle & 0xffff;
    if (slot >= t->nstreams || t->streams[slot].fd < 0 || t->streams[slot].gen != handle >> 16)
        return NULL;
    return &t->streams[slot];
}

/* Puts FD in a free slot and the epoll set; returns the handle, or -EMFILE. */
static int64_t tender_stream_add(struct tender *t, int fd)
{
    for (uint32_t i = 0; i < t->nstreams; i++) {
        if (t->streams[i].fd >= 0)
            continue;
        uint32_t handle = (uint32_t)t->streams[i].gen << 16 | i;
        struct epoll_event ev = {EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 {.u64 = TENDER_EP_STREAM << 32 | handle}};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            return -errno;
        t->streams[i].fd = fd;
        return handle;
    }
    return -EMFILE;
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
        a->family = UNISEC_AF_INET6;
        a->port = ntohs(in->sin6_port);
        memcpy(a->addr, &in->sin6_addr, 16);
    }
}

int tender_hc_accept(struct tender *t, void *arg)
{
    struct unisec_hc_accept *a = arg;
    if (a->device >= UNISEC_MANIFEST_MAX ||
        t->img.manifest.dev[a->device].type != UNISEC_DEV_LISTEN)
        return tender_kill(t,
                           "accept on device %u, which the manifest does not declare as a "
                           "listener",
                           a->device);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(t->dev[a->device].fd, (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            a->ret = errno == EMFILE || errno == ENFILE ? -EMFILE : -EAGAIN;
            return TENDER_CONTINUE;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int64_t h = tender_stream_add(t, fd);
        if (h < 0) {
            /* The table is full: the connection was taken from the backlog, so refuse it
             * rather than hold a socket the guest cannot see. */
            close(fd);
            a->ret = -EMFILE;
            return TENDER_CONTINUE;
        }
        a->handle = (uint32_t)h;
        tender_addr_to_guest(&ss, &a->peer);
        a->ret = 0;
        return TENDER_CONTINUE;
    }
}

static int tender_hc_io(struct tender *t, void *arg, int is_write)
{
    struct unisec_hc_io *a = arg;
    void *p = tender_guest_ptr(t, a->buf, a->len);
    if (p == NULL)
        return tender_kill(t, "%s: buffer 0x%llx+%llu lies outside guest memory",
                           is_write ? "write" : "read", (unsigned long long)a->buf,
                           (unsigned long long)a->len);
    struct tender_stream *s = tender_stream_of(t, a->handle);
    if (s == NULL) {
        a->ret = -EBADF;
        return TENDER_CONTINUE;
    }
    ssize_t n;
    do
        n = is_write ? send(s->fd, p, a->len, MSG_NOSIGNAL) : read(s->fd, p, a->len);
    while (n < 0 && errno == EINTR);
    a->ret = n < 0 ? -errno : n;
    return TENDER_CONTINUE;
}

int tender_hc_read(struct tender *t, void *arg)
{
    return tender_hc_io(t, arg, 0);
}

int tender_hc_write(struct tender *t, void *arg)
{
    return tender_hc_io(t, arg, 1);
}

int tender_hc_close(struct tender *t, void *arg)
{
    struct unisec_hc_close *a = arg;
    struct tender_stream *s = tender_stream_of(t, a->handle);
    if (s == NULL) {
        a->ret = -EBADF;
        return TENDER_CONTINUE;
    }
    close(s->fd); /* also leaves the epoll set */
    s->fd = -1;
    s->gen++;
    a->ret = 0;
    return TENDER_CONTINUE;
}

int tender_hc_connect(struct tender *t, void *arg)
{
    struct unisec_hc_connect *a = arg;
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
    int64_t h = tender_stream_add(t, fd);
    if (h < 0) {
        close(fd);
        a->ret = h;
        return TENDER_CONTINUE;
    }
    a->handle = (uint32_t)h;
    a->ret = 0;
    return TENDER_CONTINUE;
}

/* ---- poll ---- */

int tender_hc_poll(struct tender *t, void *arg)
{
    struct unisec_hc_poll *a = arg;
    uint64_t cap = a->cap;
    struct unisec_event *out = tender_guest_ptr(t, a->events, cap * sizeof(*out));
    if (out == NULL || cap > 0x10000)
        return tender_kill(t, "poll: event array 0x%llx[%llu] lies outside guest memory",
                           (unsigned long long)a->events, (unsigned long long)cap);
    struct epoll_event ev[256];
    uint32_t count = 0;
    for (;;) {
        if (t->policy_notify && count < cap) {
            t->policy_notify = 0;
            int i = tender_device_first(t, UNISEC_DEV_POLICY);
            struct unisec_event e = {UNISEC_EV_POLICY, (uint32_t)i, UNISEC_EV_READ, 0};
            memcpy(&out[count++], &e, sizeof(e));
        }
        uint64_t now = tender_now(CLOCK_MONOTONIC);
        struct timespec ts = {0, 0}, *tsp = &ts;
        if (count == 0 && a->deadline_ns == UINT64_MAX) {
            tsp = NULL;
        } else if (count == 0 && a->deadline_ns > now) {
            ts.tv_sec = (time_t)((a->deadline_ns - now) / 1000000000ull);
            ts.tv_nsec = (long)((a->deadline_ns - now) % 1000000000ull);
        }
        int room = (int)(cap - count < 256 ? cap - count : 256);
        int n = room > 0 ? epoll_pwait2(t->epfd, ev, room, tsp, NULL) : 0;
        if (n < 0 && errno != EINTR)
            return tender_kill(t, "poll: epoll failed: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            uint64_t kind = ev[i].data.u64 >> 32;
            uint32_t h = (uint32_t)ev[i].data.u64;
            struct unisec_event e = {0, h, 0, 0};
            if (kind == TENDER_EP_POLICY) {
                tender_policy_input(t);
                continue;
            }
            e.kind = kind == TENDER_EP_STREAM ? UNISEC_EV_STREAM : UNISEC_EV_LISTENER;
            if (ev[i].events & EPOLLIN)
                e.flags |= UNISEC_EV_READ;
            if (ev[i].events & EPOLLOUT)
                e.flags |= UNISEC_EV_WRITE;
            if (ev[i].events & (EPOLLHUP | EPOLLRDHUP))
                e.flags |= UNISEC_EV_HUP;
            if (ev[i].events & EPOLLERR)
                e.flags |= UNISEC_EV_ERR;
            memcpy(&out[count++], &e, sizeof(e));
        }
        if (t->policy_notify && count < cap)
            continue;
        /* Only the policy socket woke us with a partial blob: wait again, same deadline. */
        if (count > 0 || (tsp && tender_now(CLOCK_MONOTONIC) >= a->deadline_ns) || n < 0 ||
            room == 0)
            break;
    }
    a->count = count;
    a->now_ns = tender_now(CLOCK_MONOTONIC);
    a->ret = 0;
    return TENDER_CONTINUE;
}

int tender_net_seccomp(struct tender *t, scmp_filter_ctx ctx)
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
    return rc;
}
