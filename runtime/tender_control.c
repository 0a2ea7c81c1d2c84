/*
 * tender_control.c — the control device: the socket between a tender and its supervisor
 * (runtime/supervisor.h), for readiness, liveness and drain, in the messages of control.h.
 *
 * The tender says READY when the guest waits for events for the first time (its listeners
 * are in the event set, so it serves from now on); answers PING N with PONG N when the guest
 * next waits for events (its event loop is alive); on DRAIN closes the listening sockets,
 * says DRAINING with the accepted streams still open, and DRAINED when none is left (the
 * tender then ends with status 0). The end of the socket means the supervisor is gone: the
 * guest is killed. A message this side does not take is reported on stderr and ignored.
 * Commands take effect when the guest next waits for events (the POLL hypercall), which is
 * also the only time the tender runs while a guest computes.
 */
#include "control.h"
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

/* Best effort: the supervisor reads promptly, and a lost message is covered by its
 * timeouts. */
static void tender_control_say(struct tender *t, uint32_t type, const void *payload, uint32_t len)
{
    if (ctl_send(t->cfg.control_fd, type, payload, len) < 0) {
        /* the supervisor is gone or slow: its end of the socket tells the rest */
    }
}

static int tender_control_ping(void *ctx, const void *payload, uint32_t len)
{
    struct tender *t = ctx;
    struct ctl_seq q;
    (void)len;
    memcpy(&q, payload, sizeof(q));
    if (q.n == 0)
        return -EINVAL;
    t->pong = q.n;
    return 0;
}

static int tender_control_drain(void *ctx, const void *payload, uint32_t len)
{
    struct tender *t = ctx;
    (void)payload, (void)len;
    t->drain_asked = !t->draining;
    return 0;
}

/* What the tender takes from the supervisor. */
static const struct ctl_handler tender_control_table[CTL_TYPES] = {
    [CTL_PING] = {sizeof(struct ctl_seq), sizeof(struct ctl_seq), tender_control_ping},
    [CTL_DRAIN] = {0, 0, tender_control_drain},
};

static void tender_control_input(struct tender *t)
{
    struct ctl_hdr bad;
    int rc;
    while ((rc = ctl_read(t->cfg.control_fd, &t->control_in, tender_control_table, CTL_TYPES, t,
                          &bad)) < 0)
        fprintf(stderr, "%s: control channel: unknown command ignored\n", t->name);
    if (rc == 0) {
        /* The supervisor is gone. Stop reading; the next POLL ends the guest. */
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->cfg.control_fd, NULL);
        close(t->cfg.control_fd);
        t->cfg.control_fd = -2;
    }
}

/* Before each wait: says READY once, answers a PING, starts a drain (every device stops
 * taking new work); ends the guest (status 0) once a drain has no stream left. */
static int tender_control_poll(struct tender *t, struct tender_batch *b,
                               const struct tender_devs *all)
{
    (void)b;
    if (t->cfg.control_fd == -2)
        return tender_kill(t, "the supervisor closed the control channel");
    if (t->cfg.control_fd < 0)
        return TENDER_CONTINUE;
    if (!t->ready_sent) {
        t->ready_sent = 1;
        tender_control_say(t, CTL_READY, NULL, 0);
    }
    if (t->pong) {
        struct ctl_seq q = {t->pong};
        t->pong = 0;
        tender_control_say(t, CTL_PONG, &q, sizeof(q));
    }
    if (t->drain_asked) {
        t->drain_asked = 0;
        t->draining = 1;
        for (uint32_t k = 0; k < all->n; k++)
            if (all->dev[k]->drain)
                all->dev[k]->drain(t);
        struct ctl_count c = {t->ninbound};
        tender_control_say(t, CTL_DRAINING, &c, sizeof(c));
    }
    if (t->draining && t->ninbound == 0) {
        tender_control_say(t, CTL_DRAINED, NULL, 0);
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
