/* orch_metrics.c — the orchestrator's counts for the mount's `metrics` file: builds and their
 * time, starts, swaps and restarts of instances, policy pushes and their acknowledgement. The
 * reconcile and proactive threads count where each step happens (orch_reconcile.c,
 * orch_proactive.c); restarts are the supervisor's own count. */
#include "orch_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds: from a cached build or a push (milliseconds) to a compilation (minutes). */
const double orch_hist_bounds[ORCH_HIST_N] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10,  60};

void orch_hist_observe(struct orch_hist *h, double seconds)
{
    for (size_t i = 0; i < ORCH_HIST_N; i++)
        if (seconds <= orch_hist_bounds[i])
            h->le[i]++;
    h->count++;
    h->sum += seconds;
}

double orch_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void orch_metrics(struct orch *o, struct orch_metrics *out)
{
    char(*names)[256] = NULL;
    size_t n;

    pthread_mutex_lock(&o->mu);
    *out = o->m;
    n = o->nnodes;
    if (n > 0 && (names = calloc(n, sizeof(*names))) != NULL)
        for (size_t i = 0; i < n; i++)
            orch_copy(names[i], sizeof(names[i]), o->nodes[i].name);
    pthread_mutex_unlock(&o->mu);
    /* The supervisor counts restarts; asked without mu, as its reports take mu. */
    out->restarts = 0;
    for (size_t i = 0; names != NULL && i < n; i++) {
        struct sup_status st;
        if (sup_node_status(o->sup, names[i], &st) == 0)
            out->restarts += st.restarts;
    }
    free(names);
}

int orch_metrics_nodes(struct orch *o, struct orch_node_metrics **out, size_t *n)
{
    struct orch_node_metrics *m = NULL;

    pthread_mutex_lock(&o->mu);
    *n = o->nnodes;
    if (*n > 0 && (m = calloc(*n, sizeof(*m))) == NULL) {
        pthread_mutex_unlock(&o->mu);
        *n = 0;
        *out = NULL;
        return -ENOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        const struct orch_node *on = &o->nodes[i];
        orch_copy(m[i].node, sizeof(m[i].node), on->name);
        m[i].pushes = on->pushes;
        m[i].pushes_failed = on->pushes_failed;
        m[i].pushes_acked = on->pushes_acked;
        m[i].push_seconds = on->push_seconds;
    }
    pthread_mutex_unlock(&o->mu);
    /* The supervisor's counts, asked without mu (its reports take mu). */
    for (size_t i = 0; i < *n; i++) {
        struct sup_status st;
        struct sup_traffic t;
        if (sup_node_status(o->sup, m[i].node, &st) == 0)
            m[i].restarts = st.restarts;
        if (sup_node_traffic(o->sup, m[i].node, &t) < 0)
            continue;
        memcpy(m[i].requests, t.requests, sizeof(m[i].requests));
        m[i].bytes = t.bytes;
        m[i].nrules = t.nrules < ORCH_RULESETS_MAX ? t.nrules : ORCH_RULESETS_MAX;
        for (size_t k = 0; k < m[i].nrules; k++) {
            orch_copy(m[i].rules[k].policy, sizeof(m[i].rules[k].policy), t.rules[k].policy);
            m[i].rules[k].allow = t.rules[k].allow;
            m[i].rules[k].deny = t.rules[k].deny;
        }
    }
    *out = m;
    return 0;
}
