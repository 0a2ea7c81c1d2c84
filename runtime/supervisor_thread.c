/* supervisor_thread.c — the supervisor's thread: it serves every instance's sockets and
 * timers, takes the tenders' control messages and policy answers, promotes a ready instance
 * and drains the one it replaces, reacts to an instance's end with a report and a restart
 * after back-off, and acts on what the API recorded (supervisor_int.h). */
#include "supervisor_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static void sup_node_restart_later(struct sup *s, struct sup_node *n, const char *what)
{
    unsigned b = n->backoff_ms ? n->backoff_ms * 2 : s->opt.backoff_min_ms;
    if (b > s->opt.backoff_max_ms)
        b = s->opt.backoff_max_ms;
    n->backoff_ms = b;
    n->restart_at = sup_now_ms() + b;
    sup_report(s, n, SUP_FAILED, "%s; restart in %u ms", what, b);
}

/* Starts an instance of SPEC for N: the first, a restart, or the new side of a swap. */
static void sup_node_launch(struct sup *s, struct sup_node *n, struct sup_nspec *spec,
                            const char *verb)
{
    char why[256];
    struct sup_inst *in = sup_inst_start(s, n, spec, why, sizeof(why));
    if (in == NULL) {
        if (n->serving)
            sup_report(s, n, SUP_RUNNING, "image %s: %s; image %s keeps serving", spec->image_id,
                       why, n->serving->spec->image_id);
        else
            sup_node_restart_later(s, n, why);
        return;
    }
    n->starting = in;
    if (n->serving)
        sup_report(s, n, SUP_RUNNING, "starting image %s (pid %d) to replace image %s (pid %d)",
                   spec->image_id, in->pid, n->serving->spec->image_id, n->serving->pid);
    else
        sup_report(s, n, SUP_STARTING, "%s image %s (pid %d)", verb, spec->image_id, in->pid);
}

/* The serving instance of N acknowledged version V: if it is the node's blob, new instances
 * get that one when a later blob is refused. */
static void sup_node_acked(struct sup_node *n, uint64_t v)
{
    n->version_acked = v;
    if (n->blob && n->blob->version == v && n->blob != n->blob_acked) {
        sup_blob_unref(n->blob_acked);
        n->blob_acked = n->blob;
        n->blob_acked->refs++;
        sup_blob_unref(n->patch_acked); /* it was over the blob acknowledged before */
        n->patch_acked = NULL;
    }
    if (n->patch && n->patch->version == v && n->patch != n->patch_acked &&
        n->blob == n->blob_acked) {
        sup_blob_unref(n->patch_acked);
        n->patch_acked = n->patch;
        n->patch_acked->refs++;
    }
}

/* The starting instance IN is ready: it serves, and the one it replaces drains. */
static void sup_inst_promote(struct sup *s, struct sup_inst *in)
{
    struct sup_node *n = in->node;
    struct sup_inst *old = n->serving;
    uint64_t now = sup_now_ms();
    in->role = SUP_I_SERVING;
    in->t_ready = now;
    in->pong_at = now;
    n->serving = in;
    n->starting = NULL;
    if (n->spec != in->spec) {
        sup_nspec_unref(n->spec);
        n->spec = in->spec;
        n->spec->refs++;
    }
    if (in->acked)
        sup_node_acked(n, in->acked);
    if (old) {
        sup_inst_drain(s, old, now);
        sup_report(s, n, SUP_RUNNING, "image %s serves (pid %d); image %s (pid %d) drains",
                   in->spec->image_id, in->pid, old->spec->image_id, old->pid);
    } else {
        sup_report(s, n, SUP_RUNNING, "image %s serves (pid %d)", in->spec->image_id, in->pid);
    }
    sup_node_gc_listen(n);
}

static void sup_inst_check_ready(struct sup *s, struct sup_inst *in)
{
    if (in->role == SUP_I_STARTING && in->ready && !in->dead && !in->node->stopping &&
        (in->want_ack == 0 || in->acked == in->want_ack))
        sup_inst_promote(s, in);
}

/* ---- the tender's control messages (control.h) ---- */

struct sup_ctl_ctx {
    struct sup *s;
    struct sup_inst *in;
};

static int sup_ctl_ready(void *ctx, const void *payload, uint32_t len)
{
    struct sup_ctl_ctx *c = ctx;
    (void)payload, (void)len;
    c->in->ready = 1;
    sup_inst_check_ready(c->s, c->in);
    return 0;
}

static int sup_ctl_pong(void *ctx, const void *payload, uint32_t len)
{
    struct sup_ctl_ctx *c = ctx;
    struct ctl_seq q;
    (void)len;
    memcpy(&q, payload, sizeof(q));
    if (q.n == c->in->ping_seq) {
        c->in->ping_at = 0;
        c->in->pong_at = sup_now_ms();
    }
    return 0;
}

/* DRAINING and DRAINED need nothing: the end of the process is what counts. */
static int sup_ctl_note(void *ctx, const void *payload, uint32_t len)
{
    (void)ctx, (void)payload, (void)len;
    return 0;
}

/* What the supervisor takes from a tender; anything else kills it (sup_inst_ctl_input). */
static const struct ctl_handler sup_ctl_table[CTL_TYPES] = {
    [CTL_READY] = {0, 0, sup_ctl_ready},
    [CTL_PONG] = {sizeof(struct ctl_seq), sizeof(struct ctl_seq), sup_ctl_pong},
    [CTL_DRAINING] = {sizeof(struct ctl_count), sizeof(struct ctl_count), sup_ctl_note},
    [CTL_DRAINED] = {0, 0, sup_ctl_note},
};

/* Reads the control socket. At its end, or at a message the table refuses (a broken or
 * hostile tender, which is then killed), the socket is closed. */
static void sup_inst_ctl_input(struct sup *s, struct sup_inst *in)
{
    struct sup_ctl_ctx c = {s, in};
    struct ctl_hdr bad;
    int rc = ctl_read(in->fd[SUP_W_CTL], &in->ctl_in, sup_ctl_table, CTL_TYPES, &c, &bad);
    if (rc < 0)
        sup_inst_kill(in, "broke the control protocol (a message of type %u, %u bytes)", bad.type,
                      bad.len);
    if (rc <= 0)
        sup_inst_close(s, in, SUP_W_CTL);
}

/* ---- the tender's answers on the policy socket (tender_policy.c) ---- */

static void sup_pol_ack(struct sup *s, struct sup_inst *in, uint64_t v, const char *rest)
{
    struct sup_node *n = in->node;
    (void)rest;
    in->acked = v;
    if (in->role == SUP_I_STARTING && n->patch != NULL && n->blob != NULL &&
        v == n->blob->version && in->want_ack == v) {
        sup_inst_pol_queue(in, n->patch); /* ready once the patch is in force too */
    } else if (in->role == SUP_I_STARTING) {
        sup_inst_check_ready(s, in);
    } else if (in->role == SUP_I_SERVING) {
        sup_node_acked(n, v);
        sup_report(s, n, SUP_RUNNING, "policy v%llu acknowledged by image %s (pid %d)",
                   (unsigned long long)v, in->spec->image_id, in->pid);
    }
}

/* REST: "ERRNO REASON". */
static void sup_pol_refuse(struct sup *s, struct sup_inst *in, uint64_t v, const char *rest)
{
    struct sup_node *n = in->node;
    char *end;
    long err = strtol(rest, &end, 10);
    const char *reason = *end == ' ' ? end + 1 : end;
    if (in->role == SUP_I_STARTING && v == in->want_ack) {
        sup_inst_kill(in, "refused policy v%llu at start: %s (errno %ld)", (unsigned long long)v,
                      reason, err);
    } else if (in->role == SUP_I_SERVING) {
        /* The guest keeps its rules: new instances get the last acknowledged blob. */
        int blob_refused = n->blob && n->blob->version == v;
        if (blob_refused) {
            sup_blob_unref(n->blob);
            n->blob = n->blob_acked;
            if (n->blob)
                n->blob->refs++;
        }
        /* A refused patch (or one over a refused blob) is given to no one any more: new
         * instances get the last acknowledged blob and patch. */
        if (blob_refused || (n->patch && n->patch->version == v)) {
            sup_blob_unref(n->patch);
            n->patch = n->patch_acked;
            if (n->patch)
                n->patch->refs++;
        }
        sup_report(s, n, SUP_RUNNING,
                   "policy v%llu refused by image %s (pid %d): %s (errno %ld); v%llu stays "
                   "in force",
                   (unsigned long long)v, in->spec->image_id, in->pid, reason, err,
                   (unsigned long long)n->version_acked);
    }
}

/* The answer lines, "WORD VERSION [REST]" (`unisec run --policy-fd` documents them); a line
 * of another word is ignored. */
static const struct {
    const char *word;
    void (*fn)(struct sup *s, struct sup_inst *in, uint64_t version, const char *rest);
} sup_pol_words[] = {
    {"ack", sup_pol_ack},
    {"refuse", sup_pol_refuse},
};

static void sup_inst_pol_line(struct sup *s, struct sup_inst *in, const char *line)
{
    const char *sp = strchr(line, ' ');
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sizeof(sup_pol_words) / sizeof(sup_pol_words[0]); i++) {
        if (strlen(sup_pol_words[i].word) != (size_t)(sp - line) ||
            memcmp(line, sup_pol_words[i].word, (size_t)(sp - line)) != 0)
            continue;
        char *end;
        uint64_t v = strtoull(sp + 1, &end, 10);
        sup_pol_words[i].fn(s, in, v, end);
        return;
    }
}

/* Reads answer lines from the policy socket; 0 at its end or on an error, 1 otherwise. */
static int sup_inst_pol_input(struct sup *s, struct sup_inst *in)
{
    char *buf = in->pol_in;
    size_t size = sizeof(in->pol_in), *have = &in->pol_have;
    for (;;) {
        ssize_t r = read(in->fd[SUP_W_POL], buf + *have, size - 1 - *have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 1;
        if (r <= 0)
            return 0;
        *have += (size_t)r;
        char *nl;
        while ((nl = memchr(buf, '\n', *have)) != NULL) {
            *nl = 0;
            sup_inst_pol_line(s, in, buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, *have - used);
            *have -= used;
        }
        if (*have == size - 1)
            *have = 0; /* an overlong line from a broken tender: drop it */
    }
}

/* The process of IN is gone (or is about to be reaped): take its last words and react. */
static void sup_inst_reap(struct sup *s, struct sup_inst *in)
{
    int st = 0;
    pid_t r = waitpid(in->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    in->status = st;
    in->dead = 1;
    sup_inst_last_words(s, in);
    sup_inst_close_fds(s, in);
    struct sup_node *n = in->node;
    char end[512];
    sup_inst_end_text(in, end, sizeof(end));
    if (n != NULL)
        sup_log_mark(s, n, "image %s (pid %d) ended: %s", in->spec->image_id, in->pid, end);
    if (in->role == SUP_I_DRAINING) {
        if (!n->stopping)
            sup_report(s, n, n->serving ? SUP_RUNNING : n->state,
                       "image %s (pid %d) drained and ended%s%s", in->spec->image_id, in->pid,
                       in->kill_why[0] ? ": " : "", in->kill_why);
    } else if (in->role == SUP_I_STARTING) {
        if (n->starting == in)
            n->starting = NULL;
        if (in->abandoned || n->stopping) {
            /* replaced by a newer swap, or stopped: nothing failed */
        } else if (n->serving) {
            sup_report(s, n, SUP_RUNNING,
                       "image %s (pid %d) did not become ready: %s; image %s "
                       "keeps serving",
                       in->spec->image_id, in->pid, end, n->serving->spec->image_id);
        } else {
            char what[700];
            snprintf(what, sizeof(what), "image %s (pid %d) did not become ready: %s",
                     in->spec->image_id, in->pid, end);
            sup_node_restart_later(s, n, what);
        }
    } else {
        if (n->serving == in)
            n->serving = NULL;
        if (!n->stopping) {
            char what[700];
            snprintf(what, sizeof(what), "image %s (pid %d) %s: %s", in->spec->image_id, in->pid,
                     in->kill_why[0] ? "was killed" : "ended", end);
            if (n->starting) /* a swap under way takes over */
                sup_report(s, n, SUP_STARTING, "%s; image %s (pid %d) is starting", what,
                           n->starting->spec->image_id, n->starting->pid);
            else
                sup_node_restart_later(s, n, what);
        }
    }
    /* Keep the console of the last instance when nothing came after it. */
    if (!n->serving && !n->starting && in->role != SUP_I_DRAINING) {
        free(n->last_console.buf);
        n->last_console = in->console;
        in->console.buf = NULL;
    }
}

static void sup_event(struct sup *s, struct sup_watch *w, uint32_t events)
{
    struct sup_inst *in = w->inst;
    if (in == NULL) {
        uint64_t v;
        if (read(s->wake, &v, sizeof(v)) < 0) {
            /* nothing was pending */
        }
        return;
    }
    if (in->dead)
        return;
    switch (w->kind) {
    case SUP_W_PID:
        sup_inst_reap(s, in);
        break;
    case SUP_W_CTL:
        sup_inst_ctl_input(s, in);
        break;
    case SUP_W_POL:
        if (events & EPOLLOUT)
            sup_inst_pol_flush(in);
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !sup_inst_pol_input(s, in))
            sup_inst_close(s, in, SUP_W_POL);
        break;
    default:
        sup_inst_output(s, in, w->kind);
        break;
    }
}

/* Acts on what the API recorded and on every timer; returns the next deadline (ms). */
static uint64_t sup_tick(struct sup *s)
{
    uint64_t now = sup_now_ms(), next = now + 60000;
    unsigned ping_every = s->opt.hang_ms / 4 ? s->opt.hang_ms / 4 : 1;
    for (struct sup_node *n = s->nodes; n; n = n->next) {
        if (n->want) {
            struct sup_nspec *want = n->want;
            n->want = NULL;
            n->stopping = 0;
            n->restart_at = 0;
            if (n->starting) {
                n->starting->abandoned = 1;
                sup_inst_kill(n->starting, "replaced by a newer image before it was ready");
                n->starting = NULL;
            }
            if (!n->serving) {
                sup_nspec_unref(n->spec);
                n->spec = want;
                want->refs++;
            }
            sup_node_launch(s, n, want, "starting");
            sup_nspec_unref(want);
        }
        if (n->restart_at && now >= n->restart_at && !n->serving && !n->starting && n->spec &&
            !n->stopping) {
            n->restart_at = 0;
            n->restarts++;
            sup_node_launch(s, n, n->spec, "restarting");
        } else if (n->restart_at && n->restart_at < next) {
            next = n->restart_at;
        }
        if (n->serving && n->backoff_ms && now >= n->serving->t_ready + s->opt.stable_ms)
            n->backoff_ms = 0;
        else if (n->serving && n->backoff_ms && n->serving->t_ready + s->opt.stable_ms < next)
            next = n->serving->t_ready + s->opt.stable_ms;
    }
    for (struct sup_inst *in = s->insts; in; in = in->next) {
        if (!in->dead && in->fd[SUP_W_PID] < 0) {
            sup_inst_reap(s, in); /* no pidfd: look every 100 ms */
            if (now + 100 < next)
                next = now + 100;
        }
        if (in->dead)
            continue;
        if (in->pol_send || in->pol_next)
            sup_inst_pol_flush(in);
        uint64_t due = 0;
        if (in->role == SUP_I_STARTING || in->role == SUP_I_DRAINING) {
            if (now >= in->deadline)
                sup_inst_kill(in,
                              in->role == SUP_I_STARTING ? "not ready within %u ms"
                                                         : "drain cut after %u ms",
                              in->role == SUP_I_STARTING ? s->opt.ready_ms : s->opt.drain_ms);
            else
                due = in->deadline;
        } else if (in->ping_at) {
            if (now >= in->ping_at + s->opt.hang_ms)
                sup_inst_kill(in, "hung: its event loop did not answer within %u ms",
                              s->opt.hang_ms);
            else
                due = in->ping_at + s->opt.hang_ms;
        } else if (now >= in->pong_at + ping_every) {
            struct ctl_seq q = {++in->ping_seq};
            in->ping_at = now;
            sup_inst_say(in, CTL_PING, &q, sizeof(q));
            due = now + s->opt.hang_ms;
        } else {
            due = in->pong_at + ping_every;
        }
        if (due && due < next)
            next = due;
    }
    return next;
}

void sup_node_stopped(struct sup *s, struct sup_node *n)
{
    n->stopping = 0;
    sup_nspec_unref(n->spec);
    n->spec = NULL;
    sup_node_gc_listen(n);
    n->serving = n->starting = NULL;
    sup_report(s, n, SUP_STOPPED, "stopped");
}

/* Frees the instances reaped in this turn, and finishes the stops they complete. */
static void sup_collect(struct sup *s)
{
    for (struct sup_inst **p = &s->insts; *p;) {
        struct sup_inst *in = *p;
        if (!in->dead) {
            p = &in->next;
            continue;
        }
        *p = in->next;
        struct sup_node *n = in->node;
        sup_inst_free(s, in);
        if (n->stopping && !sup_node_has_insts(s, n))
            sup_node_stopped(s, n);
    }
}

void *sup_main(void *arg)
{
    struct sup *s = arg;
    struct epoll_event ev[64];
    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t next = sup_tick(s);
        struct sup_queued *q = s->q;
        size_t nq = s->nq;
        s->q = NULL;
        s->nq = s->capq = 0;
        int quit = s->quit;
        pthread_mutex_unlock(&s->lock);
        if (quit) {
            sup_queued_free(q, nq);
            return NULL;
        }
        if (nq)
            sup_deliver(s, q, nq);
        else
            free(q);
        uint64_t now = sup_now_ms();
        int timeout = next > now ? (int)(next - now < 60000 ? next - now : 60000) : 0;
        int k = epoll_wait(s->ep, ev, 64, timeout);
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < k; i++)
            sup_event(s, ev[i].data.ptr, ev[i].events);
        sup_collect(s);
    }
}
