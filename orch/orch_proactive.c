/* orch_proactive.c — proactive generation: the images of every level of every node, built on a
 * thread of their own once the want they are built for has been realised, so that a level
 * switch is a swap, not a compilation. */
#include "orch_int.h"

#include <pthread.h>
#include <stdlib.h>

/* Fills SPECS with the N levels of W's nodes; 1 when each is built already (a change of rules
 * that running instances take as data, or a level switch): then no builder is made, which would
 * run the compiler to know the toolchain. */
static int orch_proactive_all_built(struct orch *o, const struct orch_want *w,
                                    struct builder_spec *specs, size_t n)
{
    uint8_t key[ENGINE_SHA256_LEN];
    char id[BUILDER_ID_LEN + 1];
    size_t k = 0, missing = 0;

    for (size_t i = 0; i < w->nnodes; i++)
        for (size_t l = 0; l < w->nodes[i].nlevels; l++)
            orch_level_spec(&specs[k++], w->nodes[i].name, &w->nodes[i].levels[l],
                            engine_target_name(o->target));
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < n && missing == 0; i++) {
        orch_spec_key(key, &specs[i]);
        missing += orch_built_find(o, key, id) < 0;
    }
    pthread_mutex_unlock(&o->mu);
    return missing == 0;
}

void *orch_proactive_main(void *arg)
{
    struct orch *o = arg;

    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        /* After the reconcile thread: what is needed now is built first. */
        if (o->want == NULL || o->pro_gen == o->gen || o->done_gen != o->gen) {
            pthread_cond_wait(&o->cv, &o->mu);
            continue;
        }
        struct orch_want *w = orch_want_ref(o->want);
        pthread_mutex_unlock(&o->mu);

        size_t n = 0;
        for (size_t i = 0; i < w->nnodes; i++)
            n += w->nodes[i].nlevels;
        struct builder_spec *specs = calloc(n ? n : 1, sizeof(*specs));
        struct builder_result *res = calloc(n ? n : 1, sizeof(*res));
        struct builder *b = NULL;
        struct engine_diag bd;
        engine_diag_init(&bd);
        if (specs != NULL && res != NULL && !orch_proactive_all_built(o, w, specs, n) &&
            builder_new(&b, &o->bopt, &bd) == 0) {
            struct engine_diag d;
            size_t built = 0, failed = 0;
            engine_diag_init(&d);
            builder_build(b, specs, n, o->image_dir, res, &d);
            pthread_mutex_lock(&o->mu);
            for (size_t i = 0; i < n; i++) {
                uint8_t key[ENGINE_SHA256_LEN];
                if (res[i].status < 0 || res[i].id[0] == 0)
                    continue;
                orch_spec_key(key, &specs[i]);
                orch_built_add(o, key, res[i].id);
            }
            pthread_mutex_unlock(&o->mu);
            for (size_t i = 0; i < n; i++) {
                if (res[i].status < 0) {
                    failed++;
                    orch_event(o, "%s: proactive build of level %s failed", specs[i].node,
                               specs[i].level);
                } else if (!res[i].cached) {
                    built++;
                }
            }
            pthread_mutex_lock(&o->mu);
            o->m.builds[ORCH_BUILD_PROACTIVE] += built;
            o->m.builds_failed[ORCH_BUILD_PROACTIVE] += failed;
            pthread_mutex_unlock(&o->mu);
            if (built || failed)
                orch_event(o,
                           "proactive generation: %zu images built, %zu already there, %zu "
                           "failed",
                           built, n - built - failed, failed);
            builder_results_free(res, n);
            engine_diag_free(&d);
        }
        builder_free(b);
        engine_diag_free(&bd);
        free(specs);
        free(res);
        pthread_mutex_lock(&o->mu);
        if (o->pro_gen < w->gen)
            o->pro_gen = w->gen;
        pthread_cond_broadcast(&o->settle_cv);
        pthread_mutex_unlock(&o->mu);
        orch_collect(o, w); /* every image W needs is built and known now */
        orch_want_put(w);
        pthread_mutex_lock(&o->mu);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}
