/*
 * tender_control.c — the control socket between a tender and its supervisor
 * (runtime/supervisor.h): readiness, liveness and drain, as short text lines.
 *
 * Tender to supervisor:
 *     ready        the guest waits for events for the first time (its listeners are in the
 *                  event set, so it serves from now on)
 *     pong N       answer to "ping N", written when the guest next waits for events: its
 *                  event loop is alive
 *     draining K   the listening sockets are closed; K accepted streams are still open
 *     drained      no accepted stream is left: the tender ends with status 0
 * Supervisor to tender:
 *     ping N       N a decimal number
 *     drain        stop accepting, finish the open streams, then end
 * Every line ends with '\n'. The end of the socket means the supervisor is gone: the guest
 * is killed. An unknown or overlong line is reported on stderr and ignored. Commands take
 * effect when the guest next waits for events (the POLL hypercall), which is also the only
 * time the tender runs while a guest computes.
 */
#include "tender_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int tender_control_init(struct tender *t, uint32_t id, struct engine_diag *d)
{
    if (t->cfg.control_fd <= STDERR_FILENO) {
        t->cfg.control_fd = -1;
        return 0;
    }
    int fl = fcntl(t->cfg.control_fd, F_GETFL);
    struct epoll_event ev = {EPOLLIN, {.u64 = TENDER_EP_DEVICE << 32 | id}};
    if (fl < 0 || fcntl(t->cfg.control_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->cfg.control_fd, &ev) < 0)
        return engine_diag_add(d, NULL, 0, 0, "control channel: %s", strerror(errno));
    return 0;
}

/* Best effort: the supervisor reads promptly, and a lost line is covered by its timeouts. */
static void tender_control_say(struct tender *t, const char *line, size_t len)
{
    if (write(t->cfg.control_fd, line, len) < 0) {
        /* the supervisor is gone or slow: its end of the socket tells the rest */
    }
}

static void tender_control_line(struct tender *t, const char *line)
{
    if (strncmp(line, "ping ", 5) == 0) {
        char *end;
        unsigned long long n = strtoull(line + 5, &end, 10);
        if (*end == 0 && n > 0) {
            t->pong = n;
            return;
        }
    } else if (strcmp(line, "drain") == 0) {
        t->drain_asked = !t->draining;
        return;
    }
    fprintf(stderr, "%s: control channel: unknown command ignored\n", t->name);
}

static void tender_control_input(struct tender *t)
{
    for (;;) {
        ssize_t n = read(t->cfg.control_fd, t->control_in + t->control_have,
                         sizeof(t->control_in) - t->control_have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* The supervisor is gone. Stop reading; the next POLL ends the guest. */
            epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->cfg.control_fd, NULL);
            close(t->cfg.control_fd);
            t->cfg.control_fd = -2;
            return;
        }
        t->control_have += (size_t)n;
        char *nl;
        while ((nl = memchr(t->control_in, '\n', t->control_have)) != NULL) {
            *nl = 0;
            tender_control_line(t, t->control_in);
            size_t used = (size_t)(nl + 1 - t->control_in);
            memmove(t->control_in, nl + 1, t->control_have - used);
            t->control_have -= used;
        }
        if (t->control_have == sizeof(t->control_in)) {
            fprintf(stderr, "%s: control channel: a line is too long, dropped\n", t->name);
            t->control_have = 0;
        }
    }
}

/* Before each wait: says "ready" once, answers a ping, starts a drain (every device stops
 * taking new work); ends the guest (status 0) once a drain has no stream left. */
static int tender_control_poll(struct tender *t, struct tender_batch *b,
                               const struct tender_devs *all)
{
    char line[64];
    (void)b;
    if (t->cfg.control_fd == -2)
        return tender_kill(t, "the supervisor closed the control channel");
    if (t->cfg.control_fd < 0)
        return TENDER_CONTINUE;
    if (!t->ready_sent) {
        t->ready_sent = 1;
        tender_control_say(t, "ready\n", 6);
    }
    if (t->pong) {
        int n = snprintf(line, sizeof(line), "pong %llu\n", (unsigned long long)t->pong);
        t->pong = 0;
        tender_control_say(t, line, (size_t)n);
    }
    if (t->drain_asked) {
        t->drain_asked = 0;
        t->draining = 1;
        for (uint32_t k = 0; k < all->n; k++)
            if (all->dev[k]->drain)
                all->dev[k]->drain(t);
        int n = snprintf(line, sizeof(line), "draining %u\n", t->ninbound);
        tender_control_say(t, line, (size_t)n);
    }
    if (t->draining && t->ninbound == 0) {
        tender_control_say(t, "drained\n", 8);
        t->status = 0;
        return TENDER_HALT;
    }
    return TENDER_CONTINUE;
}

/* After the lockdown: the answers on control_fd, and its end leaves the epoll set. */
static int tender_control_seccomp(const struct tender *t, scmp_filter_ctx ctx)
{
    int rc = 0;
    if (t->cfg.control_fd >= 0) {
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)t->cfg.control_fd));
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(epoll_ctl), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)t->epfd),
                               SCMP_A1(SCMP_CMP_EQ, EPOLL_CTL_DEL));
    }
    return rc;
}

const struct tender_dev tender_control_dev = {
    .name = "control",
    .init = tender_control_init,
    .seccomp = tender_control_seccomp,
    .poll = tender_control_poll,
    .event = tender_control_input,
};
