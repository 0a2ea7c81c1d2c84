/* orch_node.c — what the orchestrator knows of each node: the node table, the supervisor's
 * reports into it, waiting for a report, and the events. */
#include "orch_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

void orch_event(struct orch *o, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (char *p = line; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (o->event)
        o->event(o->event_arg, line);
    else
        engine_log("info", "%s", line);
}

struct orch_node *orch_node_get(struct orch *o, const char *name, int add)
{
    size_t *index;
    int i = engine_name_index_find(o->node_index, o->nodes, o->nnodes, sizeof(*o->nodes),
                                   offsetof(struct orch_node, name), name);

    if (i >= 0)
        return &o->nodes[i];
    if (!add)
        return NULL;
    if (ENGINE_GROW(&o->nodes, &o->cap, o->nnodes + 1) < 0)
        return NULL;
    struct orch_node *n = &o->nodes[o->nnodes];
    memset(n, 0, sizeof(*n));
    if ((n->name = strdup(name)) == NULL)
        return NULL;
    /* A node is added once in the daemon's life: the index is simply built again. */
    if (engine_name_index_build(&index, o->nodes, o->nnodes + 1, sizeof(*o->nodes),
                                offsetof(struct orch_node, name)) < 0) {
        free(n->name);
        return NULL;
    }
    free(o->node_index);
    o->node_index = index;
    o->nnodes++;
    return n;
}

void orch_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* ---- the supervisor's reports ---- */

void orch_report(void *arg, const struct sup_report *r)
{
    struct orch *o = arg;
    struct orch_node *n;

    pthread_mutex_lock(&o->mu);
    if ((n = orch_node_get(o, r->node, 1)) != NULL) {
        n->have_sup = 1;
        n->sup.state = r->state;
        orch_copy(n->sup.image, sizeof(n->sup.image), r->image);
        orch_copy(n->sup.level, sizeof(n->sup.level), r->level);
        n->sup.policy_version = r->policy_version;
        n->sup.pid = r->pid;
        n->sup.since_ns = r->since_ns;
        orch_copy(n->sup.why, sizeof(n->sup.why), r->why);
        n->seq++;
    }
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    orch_changed(o, r->node);
    orch_event(o, "%s: %s: %s", r->node, sup_state_name(r->state), r->why);
}

void orch_changed(struct orch *o, const char *node)
{
    if (o->changed != NULL)
        o->changed(o->event_arg, node);
}

int orch_wait(struct orch *o, const char *node, unsigned ms,
              int (*done)(const struct orch_node *n, const void *arg), const void *arg)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    for (;;) {
        const struct orch_node *n = orch_node_get(o, node, 0);
        int r = n != NULL && n->have_sup ? done(n, arg) : 0;
        if (r != 0)
            return r > 0 ? 0 : -EIO;
        if (o->stop)
            return -EINTR;
        if (pthread_cond_timedwait(&o->cv, &o->mu, &until) == ETIMEDOUT)
            return -ETIMEDOUT;
    }
}
