/*
 * cmd_pdp.c — `unisec pdp`: a pull PDP on a TCP port, answering acl_pep's queries (the
 * protocol of builder/modules/acl_pep/pdp.h) from a policy directory; SIGHUP reloads the
 * directory as the next policy version and tells every connected guest to drop its cache,
 * then says on stderr when every guest has acknowledged ("policy version N acknowledged by
 * every guest": no answer of an older version comes after it). A guest that sends a
 * malformed message is disconnected. Single-threaded: one poll loop.
 */
#include "builder.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "builder/modules/acl_pep/pdp.h"
#include "engine/acl.h"

#define PDP_CLIENTS 256
#define PDP_IN      (2 * MOD_PDP_QUERY_MAX)

struct pdp_client {
    int fd;
    uint64_t acked; /* the last version the guest acknowledged */
    size_t len;
    char in[PDP_IN];
};

struct pdp_state {
    void *blob;
    struct engine_acl_blob b;
    uint64_t version;
};

static int pdp_usage(void)
{
    fprintf(stderr, "usage: unisec pdp POLICYDIR --listen [HOST:]PORT [--version N]\n");
    return 2;
}

static int pdp_load(struct pdp_state *s, const char *dir, uint64_t version)
{
    struct engine_acl *a = NULL;
    struct engine_diag d;
    void *blob = NULL;
    size_t len;
    const char *why;
    int r;

    engine_diag_init(&d);
    if ((r = engine_acl_new(&a)) == 0 && (r = engine_acl_load_dir(a, dir, &d)) == 0 &&
        (r = engine_acl_compile(&blob, &len, a, NULL, version)) == 0 &&
        (r = engine_acl_blob_open(&s->b, blob, len, &why)) == 0) {
        free(s->blob);
        s->blob = blob;
        s->version = version;
        blob = NULL;
    }
    engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    engine_acl_free(a);
    free(blob);
    return r;
}

static int pdp_listen(const char *spec)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(spec, ':'), *port = colon ? colon + 1 : spec;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int one = 1, fd;

    if (colon && (size_t)(colon - spec) < sizeof(host)) {
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    sa.sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    fprintf(stderr, "pdp: listening on %s:%u\n", host, ntohs(sa.sin_port));
    return fd;
}

static int pdp_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers every complete query in C's buffer; -1 when the client must go. */
static int pdp_serve(struct pdp_state *s, struct pdp_client *c)
{
    size_t off = 0;
    for (;;) {
        uint32_t magic;
        long n = mod_pdp_message_len(c->in + off, c->len - off, &magic);
        if (n == 0)
            break;
        struct mod_pdp_answer a;
        if (n > 0 && magic == MOD_PDP_ACK_MAGIC) {
            memcpy(&a, c->in + off, sizeof(a));
            c->acked = a.version;
            off += (size_t)n;
            continue;
        }
        if (n < 0 || magic != MOD_PDP_QUERY_MAGIC ||
            mod_pdp_answer_query(&s->b, c->in + off, (size_t)n, &a) < 0) {
            fprintf(stderr, "pdp: malformed query: disconnecting the guest\n");
            return -1;
        }
        if (pdp_send(c->fd, &a, sizeof(a)) < 0)
            return -1;
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
    return 0;
}

int builder_cmd_pdp(int argc, char **argv)
{
    const char *dir = NULL, *listen_at = NULL;
    uint64_t version = 1;
    struct pdp_client *clients;
    struct pdp_state st = {0};
    struct pollfd pfd[PDP_CLIENTS + 2];
    sigset_t mask;
    int lfd, sfd, awaited = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_at = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            version = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else
            return pdp_usage();
    }
    if (dir == NULL || listen_at == NULL)
        return pdp_usage();
    /* On the heap: a large global costs the sanitizers' exit path system calls that the
     * tenders' seccomp filters (same binary) forbid. */
    clients = calloc(PDP_CLIENTS, sizeof(*clients));
    if (clients == NULL || pdp_load(&st, dir, version) < 0) {
        free(clients);
        return 1;
    }
    if ((lfd = pdp_listen(listen_at)) < 0) {
        fprintf(stderr, "pdp: cannot listen on %s: %s\n", listen_at, strerror(-lfd));
        free(clients);
        free(st.blob);
        return 1;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    for (int i = 0; i < PDP_CLIENTS; i++)
        clients[i].fd = -1;
    fprintf(stderr, "pdp: policy version %llu from %s\n", (unsigned long long)st.version, dir);
    for (;;) {
        pfd[0] = (struct pollfd){lfd, POLLIN, 0};
        pfd[1] = (struct pollfd){sfd, POLLIN, 0};
        for (int i = 0; i < PDP_CLIENTS; i++)
            pfd[i + 2] = (struct pollfd){clients[i].fd, POLLIN, 0};
        if (poll(pfd, PDP_CLIENTS + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) > 0 && pdp_load(&st, dir, st.version + 1) == 0) {
                struct mod_pdp_answer notice = {
                    MOD_PDP_NOTICE_MAGIC, sizeof(notice), 0, st.version, 0, 0, 0, 0};
                fprintf(stderr, "pdp: policy version %llu\n", (unsigned long long)st.version);
                for (int i = 0; i < PDP_CLIENTS; i++)
                    if (clients[i].fd >= 0 && pdp_send(clients[i].fd, &notice, sizeof(notice)))
                        close(clients[i].fd), clients[i].fd = -1;
                awaited = 1;
            }
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            int i = 0;
            while (fd >= 0 && i < PDP_CLIENTS && clients[i].fd >= 0)
                i++;
            if (fd >= 0 && i == PDP_CLIENTS)
                close(fd);
            else if (fd >= 0)
                clients[i] = (struct pdp_client){.fd = fd, .acked = st.version, .len = 0};
        }
        for (int i = 0; i < PDP_CLIENTS; i++) {
            struct pdp_client *c = &clients[i];
            if (c->fd < 0 || !(pfd[i + 2].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
            if (r <= 0 || (c->len += (size_t)r, pdp_serve(&st, c) < 0)) {
                close(c->fd);
                c->fd = -1;
            }
        }
        int all = awaited; /* a new guest has nothing older cached: it counts as acknowledged */
        for (int i = 0; all && i < PDP_CLIENTS; i++)
            all = clients[i].fd < 0 || clients[i].acked == st.version;
        if (all) {
            fprintf(stderr, "pdp: policy version %llu acknowledged by every guest\n",
                    (unsigned long long)st.version);
            awaited = 0;
        }
    }
}
