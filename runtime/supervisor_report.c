/* supervisor_report.c — a node's state as the reports give it, and the queue of reports
 * that the thread delivers once it has released the lock (supervisor_int.h). */
#include "supervisor_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

const char *sup_state_name(enum sup_state st)
{
    static const char *const names[] = {"building", "starting", "running", "failed", "stopped"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

void sup_report(struct sup *s, struct sup_node *n, enum sup_state st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->why, sizeof(n->why), fmt, ap);
    va_end(ap);
    struct sup_inst *shown = n->serving ? n->serving : n->starting;
    pid_t pid = shown ? shown->pid : 0;
    /* SINCE: when the node entered this state with this instance. */
    if (st != n->state || pid != n->pid)
        n->since_ns = sup_wall_ns();
    if (shown) {
        snprintf(n->image, sizeof(n->image), "%s", shown->spec->image_id);
        snprintf(n->level, sizeof(n->level), "%s", shown->spec->level);
    }
    n->pid = pid;
    n->state = st;
    if (s->opt.report == NULL || s->quit)
        return;
    if (ENGINE_GROW(&s->q, &s->capq, s->nq + 1) < 0)
        return; /* the state is recorded; only this report is lost */
    struct sup_queued *e = &s->q[s->nq];
    e->node = strdup(n->name);
    e->image = strdup(n->image);
    e->level = strdup(n->level);
    e->why = strdup(n->why);
    if (!e->node || !e->image || !e->level || !e->why) {
        free(e->node), free(e->image), free(e->level), free(e->why);
        return;
    }
    e->r = (struct sup_report){e->node,          st,     e->image,    e->level,
                               n->version_acked, n->pid, n->since_ns, e->why};
    s->nq++;
}

void sup_deliver(struct sup *s, struct sup_queued *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->opt.report(s->opt.report_arg, &q[i].r);
    sup_queued_free(q, n);
}

void sup_queued_free(struct sup_queued *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(q[i].node), free(q[i].image), free(q[i].level), free(q[i].why);
    free(q);
}
