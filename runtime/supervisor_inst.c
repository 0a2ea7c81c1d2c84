/* supervisor_inst.c — one instance: its tender started (sup_child_start) and executed with the
 * descriptors it keeps, its sockets and pipes in the thread's epoll set, its control messages and
 * policy frames out, its console into a ring, how it ended, its release (supervisor_int.h). */
#include "supervisor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

static void sup_inst_watch(struct sup *s, struct sup_inst *in, int kind, uint32_t events)
{
    in->w[kind] = (struct sup_watch){in, kind};
    struct epoll_event ev = {events, {.ptr = &in->w[kind]}};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, in->fd[kind], &ev) < 0) {
        /* Cannot happen for fresh descriptors short of memory; the timers still cover it. */
    }
}

void sup_inst_kill(struct sup_inst *in, const char *fmt, ...)
{
    if (in->dead)
        return;
    if (in->kill_why[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->kill_why, sizeof(in->kill_why), fmt, ap);
        va_end(ap);
    }
    if (in->fd[SUP_W_PID] >= 0)
        pidfd_send_signal(in->fd[SUP_W_PID], SIGKILL, NULL, 0);
    else
        kill(in->pid, SIGKILL);
}

void sup_inst_say(struct sup_inst *in, uint32_t type, const void *payload, uint32_t len)
{
    if (in->fd[SUP_W_CTL] >= 0 && ctl_send(in->fd[SUP_W_CTL], type, payload, len) < 0) {
        /* a full or closed control socket: the ping timeout decides */
    }
}

void sup_inst_drain(struct sup *s, struct sup_inst *in, uint64_t now)
{
    in->role = SUP_I_DRAINING;
    in->deadline = now + s->opt.drain_ms;
    sup_inst_say(in, CTL_DRAIN, NULL, 0);
}

void sup_inst_pol_flush(struct sup_inst *in)
{
    while (in->fd[SUP_W_POL] >= 0) {
        if (in->pol_send == NULL) {
            if (in->pol_next == NULL)
                return;
            in->pol_send = in->pol_next;
            in->pol_next = NULL;
            in->pol_off = 0;
        }
        ssize_t w = send(in->fd[SUP_W_POL], in->pol_send->frame + in->pol_off,
                         in->pol_send->len - in->pol_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return; /* EAGAIN: EPOLLOUT resumes; other errors: the reaper decides */
        in->pol_off += (size_t)w;
        if (in->pol_off == in->pol_send->len) {
            sup_blob_unref(in->pol_send);
            in->pol_send = NULL;
        }
    }
}

void sup_inst_pol_queue(struct sup_inst *in, struct sup_blob *b)
{
    if (b == NULL || in->fd[SUP_W_POL] < 0)
        return;
    sup_blob_unref(in->pol_next);
    b->refs++;
    in->pol_next = b;
    if (in->role == SUP_I_STARTING)
        in->want_ack = b->version;
    sup_inst_pol_flush(in);
}

/* A memory file (close-on-exec, read from its start) holding DATA[0..LEN), or -1 (errno). */
static int sup_memfd(const char *name, const void *data, size_t len)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    for (size_t off = 0; fd >= 0 && off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    return fd;
}

/* What a tender's process needs between its clone and its exec. */
struct sup_child {
    const struct sup *s;
    const struct sup_nspec *spec;
    int ctl, pol, out, err, mfd, tfd;
    char **av;
    pid_t parent;
};

#define SUP_CHILD_STACK (64 * 1024)

/* The child: it shares the daemon's memory until the exec (sup_child_start), so it makes
 * system calls only. It dies with the supervisor's thread and keeps what the tender needs. */
__attribute__((no_sanitize("address"))) static int sup_child_main(void *arg)
{
    const struct sup_child *c = arg;
    const struct sigaction dfl = {.sa_handler = SIG_DFL};
    struct sigaction sa;
    sigset_t none;

    /* The daemon's handlers would run on its memory: the child's own copy of the table
     * (no CLONE_SIGHAND) goes back to the defaults before any signal is let in. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
            sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->parent)
        _exit(127);
    if (dup2(c->s->devnull, 0) < 0 || dup2(c->out, 1) < 0 || dup2(c->err, 2) < 0)
        _exit(127);
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    fcntl(c->ctl, F_SETFD, 0);
    if (c->pol >= 0)
        fcntl(c->pol, F_SETFD, 0);
    for (size_t k = 0; k < c->spec->nlisten; k++)
        fcntl(c->spec->listen[k]->fd, F_SETFD, 0);
    if (c->mfd >= 0)
        fcntl(c->mfd, F_SETFD, 0);
    if (c->tfd >= 0)
        fcntl(c->tfd, F_SETFD, 0);
    execv(c->s->tender, c->av);
    static const char msg[] = "supervisor: cannot execute the tender\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing left to say it with */
    }
    _exit(127);
}

/* Starts C's tender: its pid, or -1 with errno. Not fork(): a fork copies the page tables of
 * the whole daemon, some 55 ms when it holds a million rules (compiled, indexed, and their
 * blobs), and an internal PDP's rule change waits for it. The child runs on a stack of its
 * own in the daemon's memory (CLONE_VM), this thread suspended until it executes the tender
 * or ends (CLONE_VFORK), as posix_spawn() does; posix_spawn() itself cannot set the parent's
 * death signal. Signals are blocked meanwhile, so no handler of the daemon runs in it. */
static pid_t sup_child_start(struct sup_child *c)
{
    sigset_t all, old;
    char *stack = mmap(NULL, SUP_CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    pid_t pid;
    int e;

    if (stack == MAP_FAILED)
        return -1;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid = clone(sup_child_main, stack + SUP_CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, SUP_CHILD_STACK);
    errno = e;
    return pid;
}

struct sup_inst *sup_inst_start(struct sup *s, struct sup_node *n, struct sup_nspec *spec,
                                char *why, size_t whylen)
{
    struct sup_inst *in = calloc(1, sizeof(*in));
    int ctl[2] = {-1, -1}, pol[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, mfd = -1;
    int tfd = -1;
    char **argv = spec->argv, **av = NULL, mpath[32], tfd_arg[16];
    if (in == NULL || (in->console.buf = malloc(s->opt.console_max)) == NULL ||
        (av = calloc(spec->argc + 5, sizeof(*av))) == NULL)
        goto fail_errno;
    for (int k = 0; k < SUP_W_N; k++)
        in->fd[k] = -1;
    in->console.cap = s->opt.console_max;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, ctl) < 0 ||
        (spec->has_policy &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pol) < 0) ||
        pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail_errno;
    /* The child's ends block: the tender sets what it needs itself. */
    fcntl(ctl[1], F_SETFL, 0);
    if (pol[1] >= 0)
        fcntl(pol[1], F_SETFL, 0);
    fcntl(out[1], F_SETFL, 0);
    fcntl(err[1], F_SETFL, 0);
    /* The descriptor numbers go into the command line before the clone: the child may only
     * make async-signal-safe calls. */
    free(argv[spec->ctl_arg]);
    if (asprintf(&argv[spec->ctl_arg], "%d", ctl[1]) < 0)
        argv[spec->ctl_arg] = NULL;
    if (spec->pol_arg) {
        free(argv[spec->pol_arg]);
        if (asprintf(&argv[spec->pol_arg], "%d", pol[1]) < 0)
            argv[spec->pol_arg] = NULL;
    }
    if (argv[spec->ctl_arg] == NULL || (spec->pol_arg && argv[spec->pol_arg] == NULL))
        goto fail_errno;
    /* The node's blob goes in at boot (--policy, from a memory file), so that the guest has
     * it before its first POLL and applies it before it serves a request. */
    size_t ac = 0;
    for (size_t k = 0; k < spec->argc; k++) {
        if (k == spec->dd_arg && spec->has_policy && n->blob) {
            if ((mfd = sup_memfd("unisec-policy", n->blob->frame + 8, n->blob->len - 8)) < 0)
                goto fail_errno;
            snprintf(mpath, sizeof(mpath), "/dev/fd/%d", mfd);
            av[ac++] = "--policy-blob";
            av[ac++] = mpath;
            in->want_ack = n->blob->version;
        }
        /* The TLS credentials: a memory file only this tender holds, read once at its start. */
        if (k == spec->dd_arg && spec->tls) {
            if ((tfd = sup_memfd("unisec-tls", spec->tls, spec->tls_len)) < 0)
                goto fail_errno;
            snprintf(tfd_arg, sizeof(tfd_arg), "%d", tfd);
            av[ac++] = "--tls-fd";
            av[ac++] = tfd_arg;
        }
        av[ac++] = argv[k];
    }
    struct sup_child c = {s, spec, ctl[1], pol[1], out[1], err[1], mfd, tfd, av, getpid()};
    pid_t pid = sup_child_start(&c);
    if (pid < 0)
        goto fail_errno;
    close(ctl[1]), close(out[1]), close(err[1]);
    if (pol[1] >= 0)
        close(pol[1]);
    if (mfd >= 0)
        close(mfd);
    if (tfd >= 0)
        close(tfd);
    free(av);
    in->node = n;
    in->spec = spec;
    spec->refs++;
    in->pid = pid;
    in->role = SUP_I_STARTING;
    sup_log_mark(s, n, "image %s (pid %d) starts%s%s", spec->image_id, (int)pid,
                 spec->level[0] ? " for level " : "", spec->level);
    in->t_start = sup_now_ms();
    in->deadline = in->t_start + s->opt.ready_ms;
    in->fd[SUP_W_PID] = pidfd_open(pid, 0);
    in->fd[SUP_W_CTL] = ctl[0];
    in->fd[SUP_W_POL] = pol[0];
    in->fd[SUP_W_OUT] = out[0];
    in->fd[SUP_W_ERR] = err[0];
    if (in->fd[SUP_W_PID] >= 0)
        sup_inst_watch(s, in, SUP_W_PID, EPOLLIN);
    sup_inst_watch(s, in, SUP_W_CTL, EPOLLIN | EPOLLET);
    if (pol[0] >= 0)
        sup_inst_watch(s, in, SUP_W_POL, EPOLLIN | EPOLLOUT | EPOLLET);
    sup_inst_watch(s, in, SUP_W_OUT, EPOLLIN | EPOLLET);
    sup_inst_watch(s, in, SUP_W_ERR, EPOLLIN | EPOLLET);
    in->next = s->insts;
    s->insts = in;
    return in;

fail_errno:
    snprintf(why, whylen, "cannot start a tender: %s", strerror(errno));
    for (int k = 0; k < 2; k++) {
        if (ctl[k] >= 0)
            close(ctl[k]);
        if (pol[k] >= 0)
            close(pol[k]);
        if (out[k] >= 0)
            close(out[k]);
        if (err[k] >= 0)
            close(err[k]);
    }
    if (mfd >= 0)
        close(mfd);
    if (tfd >= 0)
        close(tfd);
    free(av);
    if (in)
        free(in->console.buf);
    free(in);
    return NULL;
}

/* The stderr line being gathered is whole: it becomes the last one. */
static void sup_inst_err_line_end(struct sup_inst *in)
{
    if (in->err_have) {
        memcpy(in->last_err, in->err_line, in->err_have);
        in->last_err[in->err_have] = 0;
    }
    in->err_have = 0;
}

void sup_inst_output(struct sup *s, struct sup_inst *in, int kind)
{
    char buf[4096];
    for (;;) {
        ssize_t r = read(in->fd[kind], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        sup_log_output(s, in, kind, buf, (size_t)r);
        if (kind != SUP_W_ERR)
            continue;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n')
                sup_inst_err_line_end(in);
            else if (in->err_have < sizeof(in->err_line) - 1) {
                in->err_line[in->err_have++] = buf[i];
            }
        }
    }
}

void sup_inst_last_words(struct sup *s, struct sup_inst *in)
{
    if (in->fd[SUP_W_OUT] >= 0)
        sup_inst_output(s, in, SUP_W_OUT);
    if (in->fd[SUP_W_ERR] >= 0)
        sup_inst_output(s, in, SUP_W_ERR);
    sup_inst_err_line_end(in); /* a last line without its newline counts too */
    if (in->out_have > 0) {
        sup_log_output(s, in, SUP_W_OUT, "\n", 1); /* ends the guest's last line */
    }
}

void sup_inst_close(struct sup *s, struct sup_inst *in, int kind)
{
    /* Out of the epoll set first: a tender forked meanwhile holds a copy of the descriptor
     * until its exec, and a registration lives as long as any copy does, so events for
     * this (soon freed) instance would keep coming. */
    if (in->fd[kind] >= 0) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, in->fd[kind], NULL);
        close(in->fd[kind]);
        in->fd[kind] = -1;
    }
}

void sup_inst_close_fds(struct sup *s, struct sup_inst *in)
{
    for (int k = 0; k < SUP_W_N; k++)
        sup_inst_close(s, in, k);
}

/* The last non-empty line of ring R into BUF (NUL-terminated, truncated); "" when none. */
static void sup_ring_last_line(const struct sup_ring *r, char *buf, size_t size)
{
    size_t end = r->len;
    while (end > 0 && r->buf[(r->start + end - 1) % r->cap] == '\n')
        end--;
    size_t begin = end;
    while (begin > 0 && r->buf[(r->start + begin - 1) % r->cap] != '\n')
        begin--;
    size_t n = 0;
    for (size_t i = begin; i < end && n + 1 < size; i++)
        buf[n++] = r->buf[(r->start + i) % r->cap];
    if (size)
        buf[n] = 0;
}

void sup_inst_end_text(const struct sup_inst *in, char *buf, size_t size)
{
    int st = in->status;
    char last[200];
    if (in->kill_why[0])
        snprintf(buf, size, "%s", in->kill_why);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == TENDER_EXIT_KILLED && in->last_err[0])
        snprintf(buf, size, "%s", in->last_err);
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && in->console.buf &&
             (sup_ring_last_line(&in->console, last, sizeof(last)), last[0]))
        snprintf(buf, size, "exited with status %d after \"%s\"", WEXITSTATUS(st), last);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && in->last_err[0])
        snprintf(buf, size, "could not start: %s", in->last_err);
    else if (WIFEXITED(st))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, size, "ended");
}

void sup_inst_free(struct sup *s, struct sup_inst *in)
{
    struct sup_node *n = in->node;
    sup_inst_close_fds(s, in);
    sup_blob_unref(in->pol_send);
    sup_blob_unref(in->pol_next);
    sup_nspec_unref(in->spec);
    if (n)
        sup_node_gc_listen(n);
    free(in->console.buf);
    free(in);
}

int sup_node_has_insts(struct sup *s, struct sup_node *n)
{
    for (struct sup_inst *in = s->insts; in; in = in->next)
        if (in->node == n)
            return 1;
    return 0;
}
