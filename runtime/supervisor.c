/*
 * supervisor.c — runs the nodes' instances as tender child processes: owned listening
 * sockets, console rings, readiness, swaps, the policy channel, restarts with back-off and
 * the reports (runtime/supervisor.h says the contract). This file is the API; the pieces
 * behind it and how they call each other: supervisor_int.h.
 */
#include "supervisor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sup_node *sup_node_find(struct sup *s, const char *name)
{
    for (struct sup_node *n = s->nodes; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

static void sup_wake(struct sup *s)
{
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the thread wakes anyway */
    }
}

int sup_new(struct sup **out, const struct sup_options *opt, struct engine_diag *d)
{
    *out = NULL;
    struct sup *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->opt = *opt;
    s->ep = s->wake = s->devnull = -1;
#define SUP_DEFAULT(f, v)                                                                          \
    if (s->opt.f == 0)                                                                             \
    s->opt.f = (v)
    SUP_DEFAULT(ready_ms, 10000);
    SUP_DEFAULT(drain_ms, 10000);
    SUP_DEFAULT(hang_ms, 5000);
    SUP_DEFAULT(backoff_min_ms, 100);
    SUP_DEFAULT(backoff_max_ms, 30000);
    SUP_DEFAULT(stable_ms, 10000);
    SUP_DEFAULT(console_max, 64 * 1024);
#undef SUP_DEFAULT
    if (s->opt.backoff_max_ms < s->opt.backoff_min_ms)
        s->opt.backoff_max_ms = s->opt.backoff_min_ms;
    int rc = 0;
    if (opt->tender) {
        s->tender = strdup(opt->tender);
    } else {
        char buf[4096];
        if ((rc = tender_exe_path(buf, sizeof(buf), d)) < 0)
            goto fail;
        s->tender = strdup(buf);
    }
    if (opt->log_dir != NULL && (s->log_dir = strdup(opt->log_dir)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    s->opt.log_dir = s->log_dir;
    if (s->tender == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if (access(s->tender, X_OK) < 0) {
        rc = engine_diag_add(d, s->tender, 0, 0,
                             "cannot execute the tender: %s (unisec-tender is installed beside "
                             "unisec)",
                             strerror(errno));
        goto fail;
    }
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s->ep < 0 || s->wake < 0 || s->devnull < 0) {
        rc = engine_diag_add(d, NULL, 0, 0, "supervisor: %s", strerror(errno));
        goto fail;
    }
    s->wake_w = (struct sup_watch){NULL, SUP_W_WAKE};
    struct epoll_event ev = {EPOLLIN, {.ptr = &s->wake_w}};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake, &ev) < 0) {
        rc = engine_diag_add(d, NULL, 0, 0, "supervisor: %s", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&s->lock, NULL);
    if ((rc = -pthread_create(&s->thread, NULL, sup_main, s)) < 0) {
        pthread_mutex_destroy(&s->lock);
        engine_diag_add(d, NULL, 0, 0, "supervisor: cannot start its thread: %s", strerror(-rc));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->ep >= 0)
        close(s->ep);
    if (s->wake >= 0)
        close(s->wake);
    if (s->devnull >= 0)
        close(s->devnull);
    free(s->tender);
    free(s->log_dir);
    free(s);
    return rc;
}

void sup_free(struct sup *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->quit = 1;
    sup_wake(s);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (struct sup_inst *in = s->insts; in; in = in->next)
        if (!in->dead)
            sup_inst_kill(in, "the supervisor stops");
    while (s->insts) {
        struct sup_inst *in = s->insts;
        s->insts = in->next;
        if (!in->dead)
            while (waitpid(in->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        in->node = NULL;
        sup_inst_free(s, in);
    }
    while (s->nodes) {
        struct sup_node *n = s->nodes;
        s->nodes = n->next;
        sup_nspec_unref(n->spec);
        sup_nspec_unref(n->want);
        sup_node_gc_listen(n);
        sup_blob_unref(n->blob);
        sup_blob_unref(n->blob_acked);
        sup_blob_unref(n->patch);
        sup_blob_unref(n->patch_acked);
        free(n->last_console.buf);
        sup_log_close(n);
        free(n->name);
        free(n);
    }
    sup_queued_free(s->q, s->nq);
    close(s->ep);
    close(s->wake);
    close(s->devnull);
    pthread_mutex_destroy(&s->lock);
    free(s->tender);
    free(s->log_dir);
    free(s);
}

int sup_node_run(struct sup *s, const struct sup_spec *spec, struct engine_diag *d)
{
    struct sup_blob *b = NULL, *patch = NULL;
    int rc;
    if ((rc = sup_name_check(spec->node, d)) < 0)
        return rc;
    if (spec->policy != NULL &&
        (b = sup_blob_make(spec->policy, spec->policy_len, NULL, 0, spec->policy_version)) == NULL)
        return -ENOMEM;
    if (b != NULL && spec->policy_patch != NULL &&
        (patch = sup_blob_make(spec->policy_patch, spec->policy_patch_len, NULL, 0,
                               spec->policy_patch_version)) == NULL) {
        sup_blob_unref(b);
        return -ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, spec->node), *fresh = NULL;
    if (n == NULL) {
        fresh = n = calloc(1, sizeof(*n));
        if (n == NULL || (n->name = strdup(spec->node)) == NULL) {
            free(n);
            pthread_mutex_unlock(&s->lock);
            sup_blob_unref(b);
            sup_blob_unref(patch);
            return -ENOMEM;
        }
        n->state = SUP_STOPPED;
        n->since_ns = sup_wall_ns();
    }
    struct sup_nspec *ns = NULL;
    rc = sup_nspec_make(s, n, spec, &ns, d);
    if (rc == 0) {
        if (ns->has_policy == 0 && n->blob) {
            sup_blob_unref(n->blob);
            n->blob = NULL;
            sup_blob_unref(n->patch);
            n->patch = NULL;
        }
        /* Under the lock that publishes the spec: the thread cannot start the instance
         * before its rules are the node's (sup_inst_start() gives them at boot). The
         * instances running now keep theirs: they are being replaced. */
        if (ns->has_policy && b != NULL) {
            sup_blob_unref(n->blob);
            n->blob = b;
            b = NULL;
            sup_blob_unref(n->patch);
            n->patch = patch;
            patch = NULL;
        }
        sup_nspec_unref(n->want);
        n->want = ns;
        if (fresh) {
            fresh->next = s->nodes;
            s->nodes = fresh;
        }
        sup_wake(s);
    } else if (fresh) {
        free(fresh->name);
        free(fresh);
    }
    pthread_mutex_unlock(&s->lock);
    sup_blob_unref(b);
    sup_blob_unref(patch);
    return rc;
}

int sup_node_stop(struct sup *s, const char *node)
{
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n == NULL) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    sup_nspec_unref(n->want);
    n->want = NULL;
    n->restart_at = 0;
    n->stopping = 1;
    uint64_t now = sup_now_ms();
    for (struct sup_inst *in = s->insts; in; in = in->next) {
        if (in->node != n || in->dead)
            continue;
        if (in->role == SUP_I_STARTING) {
            sup_inst_kill(in, "stopped before it was ready");
        } else if (in->role == SUP_I_SERVING) {
            sup_inst_drain(s, in, now);
        }
    }
    n->serving = n->starting = NULL;
    if (!sup_node_has_insts(s, n))
        sup_node_stopped(s, n);
    sup_wake(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int sup_policy_push(struct sup *s, const char *node, const void *blob, size_t len, uint64_t version,
                    struct engine_diag *d)
{
    return sup_policy_push_pair(s, node, blob, len, NULL, 0, version, d);
}

int sup_policy_push_pair(struct sup *s, const char *node, const void *blob, size_t len,
                         const void *patch, size_t patch_len, uint64_t version,
                         struct engine_diag *d)
{
    struct sup_blob *b = sup_blob_make(blob, len, patch, patch_len, version);
    if (b == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    /* The newest image counts: one still starting (swapped in for an image without a policy
     * channel) is given the blob and becomes ready only once it has acknowledged it. */
    struct sup_nspec *spec = n == NULL     ? NULL
                             : n->want     ? n->want
                             : n->starting ? n->starting->spec
                                           : n->spec;
    int rc = 0;
    if (n == NULL || spec == NULL) {
        rc = -ENOENT;
        engine_diag_add(d, node, 0, 0, "the supervisor runs no node of that name");
    } else if (!spec->has_policy) {
        rc = -ENOTSUP;
        engine_diag_add(d, spec->image, 0, 0,
                        "node %s: the image declares no policy channel: its rules cannot be "
                        "pushed",
                        node);
    } else {
        sup_blob_unref(n->blob);
        n->blob = b;
        b->refs++;
        sup_blob_unref(n->patch);
        n->patch = NULL;
        for (struct sup_inst *in = s->insts; in; in = in->next)
            if (in->node == n && !in->dead && in->role != SUP_I_DRAINING)
                sup_inst_pol_queue(in, b);
        sup_wake(s);
    }
    pthread_mutex_unlock(&s->lock);
    sup_blob_unref(b);
    return rc;
}

int sup_policy_patch(struct sup *s, const char *node, const void *patch, size_t len,
                     uint64_t version, struct engine_diag *d)
{
    struct sup_blob *b = sup_blob_make(patch, len, NULL, 0, version);
    if (b == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    int rc = 0;
    if (n == NULL || n->blob == NULL) {
        rc = -ENOENT;
        engine_diag_add(d, node, 0, 0, "the supervisor holds no policy blob of that node to patch");
    } else {
        sup_blob_unref(n->patch);
        n->patch = b;
        b->refs++;
        /* Only an instance that holds the node's blob takes the patch now; one still starting
         * gets it when it acknowledges the blob (sup_pol_ack). */
        for (struct sup_inst *in = s->insts; in; in = in->next)
            if (in->node == n && !in->dead && in->role != SUP_I_DRAINING &&
                (in->role == SUP_I_SERVING || in->acked >= n->blob->version))
                sup_inst_pol_queue(in, b);
        sup_wake(s);
    }
    pthread_mutex_unlock(&s->lock);
    sup_blob_unref(b);
    return rc;
}

int sup_node_status(struct sup *s, const char *node, struct sup_status *out)
{
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n) {
        memset(out, 0, sizeof(*out));
        out->state = n->state;
        snprintf(out->image, sizeof(out->image), "%s", n->image);
        snprintf(out->level, sizeof(out->level), "%s", n->level);
        out->policy_version = n->version_acked;
        out->pid = n->pid;
        out->since_ns = n->since_ns;
        out->restarts = n->restarts;
        out->others = n->want != NULL;
        for (struct sup_inst *in = s->insts; in; in = in->next)
            out->others += in->node == n && !in->dead && in->role != SUP_I_SERVING;
        snprintf(out->why, sizeof(out->why), "%s", n->why);
    }
    pthread_mutex_unlock(&s->lock);
    return n ? 0 : -ENOENT;
}

unsigned sup_swap_bound_ms(const struct sup *s)
{
    return s->opt.ready_ms + s->opt.drain_ms; /* set once at sup_new(): no lock needed */
}

int sup_node_port(struct sup *s, const char *node, const char *device)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    struct sup_nspec *spec = n ? (n->want ? n->want : n->spec) : NULL;
    for (size_t i = 0; spec && i < spec->nlisten && rc < 0; i++)
        if (strcmp(spec->listen[i]->device, device) == 0)
            rc = spec->listen[i]->port;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sup_node_console(struct sup *s, const char *node, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n == NULL) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    const struct sup_ring *r = n->serving    ? &n->serving->console
                               : n->starting ? &n->starting->console
                                             : &n->last_console;
    char *buf = malloc(r->len + 1);
    if (buf) {
        for (size_t i = 0; i < r->len; i++)
            buf[i] = r->buf[(r->start + i) % r->cap];
        buf[r->len] = 0;
        *out = buf;
        *len = r->len;
    }
    pthread_mutex_unlock(&s->lock);
    return buf ? 0 : -ENOMEM;
}

int sup_node_traffic(struct sup *s, const char *node, struct sup_traffic *out)
{
    pthread_mutex_lock(&s->lock);
    struct sup_node *n = sup_node_find(s, node);
    if (n != NULL)
        *out = n->traffic;
    pthread_mutex_unlock(&s->lock);
    return n ? 0 : -ENOENT;
}
