/* orch_pdp.c — the daemon's pull PDP: answers the queries of acl_pep modules in pull mode
 * (contract/pdp.h) on a loopback port, from the compiled policy the
 * orchestrator gives it, and tells every connected guest when that policy's version moves
 * (and a guest that connects, the version in force: it may hold answers of an older one); a
 * new policy is in force once every guest has acknowledged dropping its cached answers. */
#include "orch_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/acl_patch.h"
#include "common/pdp_codec.h"

#define ORCH_PDP_CLIENTS 256
#define ORCH_PDP_IN      (2 * MOD_PDP_QUERY_MAX)

struct orch_pdp_client {
    int fd;         /* -1: free */
    uint64_t acked; /* the last version the guest acknowledged (its cache holds no older) */
    size_t len;
    char in[ORCH_PDP_IN];
};

struct orch_pdp {
    int lfd, efd; /* listening socket; eventfd: a new blob, or stop */
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t taken_cv; /* mu: TAKEN moved, or stop */
    struct orch_blob *next;  /* mu: the blob to take in, NULL when none is pending */
    uint64_t given, taken;   /* mu: updates handed over; those in force everywhere */
    int stop;                /* mu */
    /* the serving thread's own */
    struct orch_blob *cur;
    uint64_t awaited;         /* the update CUR is, until every guest has acknowledged it; 0 none */
    struct engine_acl_blob b; /* CUR's whole blob */
    struct engine_acl_patch patch;  /* CUR's patch over it, when it has one */
    struct engine_acl_layers rules; /* what the answers are decided on */
    struct orch_pdp_client c[ORCH_PDP_CLIENTS];
};

static int orch_pdp_send(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers every complete query C holds; -1 when the guest must be disconnected. */
static int orch_pdp_serve(struct orch_pdp *p, struct orch_pdp_client *c)
{
    size_t off = 0;
    for (;;) {
        uint32_t magic;
        long n = mod_pdp_message_len(c->in + off, c->len - off, &magic);
        struct mod_pdp_answer a;
        if (n == 0)
            break;
        if (n > 0 && magic == MOD_PDP_ACK_MAGIC) {
            memcpy(&a, c->in + off, sizeof(a));
            c->acked = a.version;
            off += (size_t)n;
            continue;
        }
        if (n < 0 || magic != MOD_PDP_QUERY_MAGIC)
            return -1;
        if (p->cur == NULL) { /* no policy yet: deny */
            struct mod_pdp_query q;
            memcpy(&q, c->in + off, sizeof(q));
            a = (struct mod_pdp_answer){MOD_PDP_ANSWER_MAGIC, sizeof(a), q.id, 0, 0,
                                        MOD_PDP_AUTH_UNKNOWN, 0,         0};
        } else if (mod_pdp_answer_query(&p->rules, p->cur->version, c->in + off, (size_t)n, &a) <
                   0) {
            return -1;
        }
        if (orch_pdp_send(c->fd, &a, sizeof(a)) < 0)
            return -1;
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
    return 0;
}

/* Tells guest C the version in force (it drops answers cached under another); closes C
 * when it cannot be told. */
static void orch_pdp_notice(struct orch_pdp *p, struct orch_pdp_client *c)
{
    struct mod_pdp_answer notice = {
        MOD_PDP_NOTICE_MAGIC, sizeof(notice), 0, p->cur->version, 0, 0, 0, 0};
    if (orch_pdp_send(c->fd, &notice, sizeof(notice)) < 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* Once every connected guest has acknowledged the version in force, says the update awaited
 * is done. */
static void orch_pdp_settle(struct orch_pdp *p)
{
    if (p->awaited == 0)
        return;
    for (int i = 0; i < ORCH_PDP_CLIENTS; i++)
        if (p->c[i].fd >= 0 && p->cur != NULL && p->c[i].acked != p->cur->version)
            return;
    pthread_mutex_lock(&p->mu);
    p->taken = p->awaited;
    pthread_cond_broadcast(&p->taken_cv);
    pthread_mutex_unlock(&p->mu);
    p->awaited = 0;
}

/* Opens B's whole blob and its patch, if any, as the rules the answers are decided on. */
static int orch_pdp_open(struct orch_pdp *p, const struct orch_blob *b)
{
    /* A patch over the base in force: the base (immutable, and kept by B) was checked when
     * it came in; checking its 40 MB again would cost what the patch saves. */
    int same_base = p->cur != NULL && p->cur != b && p->cur->data == b->data;
    if (!same_base && engine_acl_blob_open(&p->b, b->data, b->len, NULL) != 0)
        return -1;
    p->rules = (struct engine_acl_layers){.base = &p->b};
    if (b->patch == NULL)
        return 0;
    if (engine_acl_patch_open(&p->patch, b->patch, b->patch_len, &p->b, b->data_version, NULL))
        return -1;
    engine_acl_patch_layers(&p->patch, &p->b, &p->rules);
    return 0;
}

/* Takes in the pending blob, if any, and sends every guest the notice; the update is done
 * when they have all acknowledged it (orch_pdp_settle()). */
static void orch_pdp_take(struct orch_pdp *p)
{
    pthread_mutex_lock(&p->mu);
    struct orch_blob *nb = p->next;
    uint64_t given = p->given;
    p->next = NULL;
    pthread_mutex_unlock(&p->mu);
    if (nb != NULL && orch_pdp_open(p, nb) != 0) {
        orch_blob_put(nb); /* compiled by us: cannot happen; keep the one in force */
        if (p->cur != NULL)
            orch_pdp_open(p, p->cur);
    } else if (nb != NULL) {
        orch_blob_put(p->cur);
        p->cur = nb;
        for (int i = 0; i < ORCH_PDP_CLIENTS; i++)
            if (p->c[i].fd >= 0)
                orch_pdp_notice(p, &p->c[i]);
    }
    p->awaited = given;
}

static void *orch_pdp_main(void *arg)
{
    struct orch_pdp *p = arg;
    struct pollfd pfd[ORCH_PDP_CLIENTS + 2];

    for (;;) {
        pthread_mutex_lock(&p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        pfd[0] = (struct pollfd){p->lfd, POLLIN, 0};
        pfd[1] = (struct pollfd){p->efd, POLLIN, 0};
        for (int i = 0; i < ORCH_PDP_CLIENTS; i++)
            pfd[i + 2] = (struct pollfd){p->c[i].fd, POLLIN, 0};
        if (poll(pfd, ORCH_PDP_CLIENTS + 2, -1) < 0)
            continue;
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                break;
            orch_pdp_take(p);
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
            int i = 0;
            while (fd >= 0 && i < ORCH_PDP_CLIENTS && p->c[i].fd >= 0)
                i++;
            if (fd >= 0 && i == ORCH_PDP_CLIENTS)
                close(fd); /* the guest's acl_pep reconnects later */
            else if (fd >= 0) {
                /* Notices and answers are small writes a guest waits for: Nagle would hold
                 * one while an earlier one is unacknowledged, until the guest's delayed ACK
                 * (about 40 ms; a pull rule change was enforced 35 ms after close). */
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                p->c[i].fd = fd, p->c[i].len = 0, p->c[i].acked = 0;
                if (p->cur != NULL)
                    orch_pdp_notice(p, &p->c[i]);
            }
        }
        for (int i = 0; i < ORCH_PDP_CLIENTS; i++) {
            struct orch_pdp_client *c = &p->c[i];
            if (c->fd < 0 || !(pfd[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
            if (r <= 0 || (c->len += (size_t)r, orch_pdp_serve(p, c) < 0)) {
                close(c->fd);
                c->fd = -1;
            }
        }
        orch_pdp_settle(p); /* a guest that is gone has nothing left to acknowledge */
    }
    return NULL;
}

int orch_pdp_new(struct orch_pdp **out, const char *host, uint16_t port, struct engine_diag *d)
{
    struct orch_pdp *p = calloc(1, sizeof(*p));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t sl = sizeof(sa);
    int one = 1;

    *out = NULL;
    if (p == NULL)
        return -ENOMEM;
    p->lfd = p->efd = -1;
    for (int i = 0; i < ORCH_PDP_CLIENTS; i++)
        p->c[i].fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->taken_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        orch_pdp_free(p);
        return engine_diag_add(d, NULL, 0, 0,
                               "the pull PDP needs an IPv4 address to listen on, not '%s'", host);
    }
    if ((p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(p->lfd, 128) < 0 ||
        getsockname(p->lfd, (struct sockaddr *)&sa, &sl) < 0 ||
        (p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        int e = -errno;
        orch_pdp_free(p);
        engine_diag_add(d, NULL, 0, 0, "the pull PDP cannot listen on %s:%u: %s", host, port,
                        strerror(-e));
        return e;
    }
    p->port = ntohs(sa.sin_port);
    if (pthread_create(&p->th, NULL, orch_pdp_main, p) != 0) {
        close(p->lfd);
        p->lfd = -1;
        orch_pdp_free(p);
        return -EAGAIN;
    }
    *out = p;
    return 0;
}

int orch_pdp_port(const struct orch_pdp *p)
{
    return p->port;
}

int orch_pdp_update(struct orch_pdp *p, struct orch_blob *b)
{
    uint64_t one = 1;
    struct timespec until;
    int r = 0;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ORCH_PDP_TAKE_MS / 1000; /* a whole number of seconds */
    pthread_mutex_lock(&p->mu);
    orch_blob_put(p->next);
    p->next = orch_blob_ref(b);
    uint64_t mine = ++p->given;
    if (write(p->efd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the thread wakes anyway */
    }
    /* Until the decisions are taken on B and every guest has acknowledged the notice: a guest
     * answers from its cache until the notice drops it, and may read a request that came in
     * beside the notice first, so settle must not say "in force" before. */
    while (p->taken < mine && !p->stop && r == 0)
        r = -pthread_cond_timedwait(&p->taken_cv, &p->mu, &until);
    pthread_mutex_unlock(&p->mu);
    return r;
}

void orch_pdp_free(struct orch_pdp *p)
{
    uint64_t one = 1;

    if (p == NULL)
        return;
    if (p->lfd >= 0 && p->efd >= 0) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->taken_cv);
        pthread_mutex_unlock(&p->mu);
        if (write(p->efd, &one, sizeof(one)) < 0) {
            /* the thread is woken by the non-zero counter anyway */
        }
        pthread_join(p->th, NULL);
    }
    for (int i = 0; i < ORCH_PDP_CLIENTS; i++)
        if (p->c[i].fd >= 0)
            close(p->c[i].fd);
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->efd >= 0)
        close(p->efd);
    orch_blob_put(p->cur);
    orch_blob_put(p->next);
    pthread_cond_destroy(&p->taken_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
