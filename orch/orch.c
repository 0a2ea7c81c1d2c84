/* orch.c — the orchestrator's interface (orch.h): makes it (the supervisor, the pull PDP, the
 * reconcile and proactive threads), takes each desired state, and stops it. The work is in
 * orch_reconcile.c and orch_proactive.c, what it says in orch_status.c. */
#include "orch_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum engine_target orch_target_best(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ENGINE_TARGET_SPT;
    close(fd);
    return ENGINE_TARGET_HVT;
}

/* orch_free()'s wait: the instance has stopped. */
static int orch_stopped_done(const struct orch_node *n, const void *arg)
{
    (void)arg;
    return n->sup.state == SUP_STOPPED;
}

int orch_new(struct orch **out, const struct orch_options *opt, struct engine_diag *d)
{
    struct orch *o = calloc(1, sizeof(*o));
    int r = -ENOMEM;

    *out = NULL;
    if (o == NULL)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* orch_wait()'s deadlines */
    pthread_mutex_init(&o->apply_mu, NULL);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&o->settle_cv, NULL);
    o->target = opt->target;
    o->event = opt->event;
    o->event_arg = opt->event_arg;
    o->changed = opt->changed;
    o->record = opt->record;
    o->next_version = orch_version_recorded(opt->deployed) + 1;
    if ((o->image_dir = strdup(opt->image_dir)) == NULL ||
        (opt->cache_dir && (o->cache_dir = strdup(opt->cache_dir)) == NULL) ||
        (o->host = strdup(opt->listen_host ? opt->listen_host : "127.0.0.1")) == NULL ||
        (opt->host_name && (o->host_name = strdup(opt->host_name)) == NULL))
        goto fail;
    o->bopt = (struct builder_options){o->cache_dir, NULL, 0};
    struct builder *probe = NULL; /* the sources and the cache are usable: say so now */
    if ((r = builder_new(&probe, &o->bopt, d)) < 0)
        goto fail;
    builder_free(probe);
    if ((r = orch_pdp_new(&o->pdp, o->host, 0, d)) < 0)
        goto fail;
    snprintf(o->pdp_addr, sizeof(o->pdp_addr), "%s:%d", o->host, orch_pdp_port(o->pdp));
    struct sup_options so = {.report = orch_report,
                             .report_arg = o,
                             .log_dir = opt->log_dir,
                             .log_max = opt->log_max,
                             .log_keep = opt->log_keep};
    if ((r = sup_new(&o->sup, &so, d)) < 0)
        goto fail;
    if (pthread_create(&o->rec, NULL, orch_reconcile_main, o) != 0) {
        r = -EAGAIN;
        goto fail;
    }
    if (pthread_create(&o->pro, NULL, orch_proactive_main, o) != 0) {
        pthread_mutex_lock(&o->mu);
        o->stop = 1;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->rec, NULL);
        r = -EAGAIN;
        goto fail;
    }
    o->threads = 1;
    *out = o;
    return 0;
fail:
    if (r == -ENOMEM)
        engine_diag_add(d, NULL, 0, 0, "out of memory starting the orchestrator");
    orch_free(o);
    return r;
}

void orch_free(struct orch *o)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_cond_broadcast(&o->settle_cv);
    pthread_mutex_unlock(&o->mu);
    if (o->threads) {
        pthread_join(o->rec, NULL);
        pthread_join(o->pro, NULL);
    }
    if (o->sup != NULL) {
        /* Let every instance drain, then the supervisor kills what is left. */
        for (size_t i = 0; i < o->nnodes; i++)
            sup_node_stop(o->sup, o->nodes[i].name);
        pthread_mutex_lock(&o->mu);
        o->stop = 0; /* orch_wait() gives up on stop */
        for (size_t i = 0; i < o->nnodes; i++)
            if (o->nodes[i].have_sup)
                orch_wait(o, o->nodes[i].name, 2000, orch_stopped_done, NULL);
        pthread_mutex_unlock(&o->mu);
        sup_free(o->sup);
    }
    orch_pdp_free(o->pdp);
    orch_want_put(o->want);
    for (size_t i = 0; i < o->nnodes; i++)
        free(o->nodes[i].name);
    free(o->nodes);
    free(o->node_index);
    free(o->built);
    free(o->image_dir);
    free(o->cache_dir);
    free(o->host);
    free(o->host_name);
    pthread_cond_destroy(&o->cv);
    pthread_cond_destroy(&o->settle_cv);
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->apply_mu);
    free(o);
}

int orch_apply(struct orch *o, const struct orch_desired *want, struct engine_diag *d)
{
    struct orch_want *w = NULL, *old;
    int r;

    pthread_mutex_lock(&o->apply_mu);
    pthread_mutex_lock(&o->mu);
    old = o->want ? orch_want_ref(o->want) : NULL;
    uint64_t next = o->next_version;
    pthread_mutex_unlock(&o->mu);
    /* Compiling the policies is the costly part; nothing else changes the want meanwhile,
     * since the mount applies one change at a time (and a new base is delivered under
     * apply_mu, which it holds only as long as taking the base over takes). */
    uint64_t c0 = engine_acl_index_compiles(); /* this thread's: the write's */
    r = orch_want_make(&w, want, old, next, o->host_name, d);
    orch_want_put(old);
    pthread_mutex_lock(&o->mu);
    o->m.bases_write += engine_acl_index_compiles() - c0;
    pthread_mutex_unlock(&o->mu);
    if (r == 0)
        orch_publish(o, w);
    pthread_mutex_unlock(&o->apply_mu);
    return r;
}

const char *orch_image_dir(const struct orch *o)
{
    return o->image_dir;
}
