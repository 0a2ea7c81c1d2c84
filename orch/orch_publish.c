/* orch_publish.c — a want made the desired state: a change's (orch_apply()), or the one that
 * delivers a policy's new base compiled on the side once it is ready (the reconcile thread's,
 * told by the base's thread). */
#include "orch_int.h"

#include <pthread.h>

#include "engine/fault.h"

/* A policy's new base is ready (orch_rebase_notify()): the reconcile thread delivers it. */
static void orch_rebase_ready_cb(void *arg)
{
    struct orch *o = arg;

    pthread_mutex_lock(&o->mu);
    o->m.bases_side++;
    o->rebased = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void orch_publish(struct orch *o, struct orch_want *w)
{
    struct orch_want *old;

    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < w->npolicies; i++)
        if (orch_blob_next_version(w->policies[i]) > o->next_version)
            o->next_version = orch_blob_next_version(w->policies[i]);
    w->gen = ++o->gen;
    old = o->want;
    o->want = w;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    orch_want_put(old);
    for (size_t i = 0; i < w->npolicies; i++)
        if (w->policies[i]->rebase != NULL)
            orch_rebase_notify(w->policies[i]->rebase, orch_rebase_ready_cb, o);
}

void orch_rebase_deliver(struct orch *o)
{
    struct orch_want *w, *nw = NULL;

    pthread_mutex_lock(&o->apply_mu);
    pthread_mutex_lock(&o->mu);
    w = o->want ? orch_want_ref(o->want) : NULL;
    pthread_mutex_unlock(&o->mu);
    if (w != NULL && orch_want_rebased(&nw, w) == 0 && nw != NULL) {
        pthread_mutex_lock(&o->mu);
        for (size_t i = 0; i < nw->npolicies && i < w->npolicies; i++)
            o->m.bases_delivered += nw->policies[i] != w->policies[i];
        pthread_mutex_unlock(&o->mu);
        orch_publish(o, nw);
        engine_fault(ENGINE_FAULT_REBASE_DELIVER); /* tests: killed before it is pushed */
    }
    pthread_mutex_unlock(&o->apply_mu);
    orch_want_put(w);
}
