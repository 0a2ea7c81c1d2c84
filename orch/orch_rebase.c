/* orch_rebase.c — a policy's new base compiled on a thread of its own, so that the change
 * whose patch passes the index's limit is not held up by a whole compile: the index goes on
 * patching (up to its bound) and takes the new base once it is ready (the orchestrator, told
 * so, delivers it as a version of its own), or at the first change after it. */
#include "orch_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/fault.h"
#include "engine/log.h"

struct orch_rebase {
    pthread_t th;
    int done;   /* atomic: the thread has finished */
    int joined; /* by orch_rebase_take() */
    const struct engine_acl *(*get)(const void *arg);
    void (*drop)(void *ctx, const void *arg);
    void *ctx;
    const void *arg;    /* held until the thread has read it */
    char *name;         /* NULL: every policy */
    uint64_t from;      /* the version whose rules it compiles */
    uint64_t version;   /* its own, FROM + 1: the base's */
    pthread_mutex_t mu; /* READY, READY_ARG and DONE's reading by orch_rebase_notify() */
    void (*ready)(void *arg);
    void *ready_arg;
    char head[41];
    struct engine_acl_index *nx;   /* the new index, at VERSION */
    struct engine_acl_base *owner; /* a share of its base's bytes, for the blob */
    const void *data;
    size_t len;
    int r;
};

static void *orch_rebase_main(void *arg)
{
    struct orch_rebase *j = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const struct engine_acl *acl = j->get(j->arg);

    j->r = acl == NULL ? -ENOMEM : engine_acl_index_new(&j->nx, acl, j->name, j->version);
    if (j->r == 0) /* the blob's bytes are the index's, handed on (no copy) */
        j->owner = engine_acl_index_base_share(j->nx, &j->data, &j->len);
    j->drop(j->ctx, j->arg);
    engine_fault(ENGINE_FAULT_REBASE_SLOW); /* tests: changes land while it compiles */
    engine_fault(ENGINE_FAULT_REBASE);      /* tests: killed with the new base made, not taken */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&j->mu);
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    void (*ready)(void *) = j->ready;
    void *ready_arg = j->ready_arg;
    pthread_mutex_unlock(&j->mu);
    /* Said once done, so that a change after this line takes the base over; J is freed only
     * once this thread is joined. */
    engine_log(j->r == 0 ? "info" : "error",
               "policy %s: new base v%" PRIu64 " compiled on the side in %.0f ms%s%s",
               j->name ? j->name : ORCH_POLICY_ALL, j->version,
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
               j->r == 0 ? "" : ": ", j->r == 0 ? "" : strerror(-j->r));
    if (ready != NULL)
        ready(ready_arg);
    return NULL;
}

int orch_rebase_start(struct orch_rebase **out, const struct orch_desired *want, const char *name,
                      struct engine_acl_index *x, uint64_t version)
{
    struct orch_rebase *j;

    *out = NULL;
    if (want->acl_hold == NULL || want->acl_get == NULL)
        return -ENOTSUP;
    if ((j = calloc(1, sizeof(*j))) == NULL || (name && (j->name = strdup(name)) == NULL)) {
        free(j);
        return -ENOMEM;
    }
    *j = (struct orch_rebase){.get = want->acl_get,
                              .drop = want->acl_drop,
                              .ctx = want->acl_ctx,
                              .arg = want->acl_arg,
                              .name = j->name,
                              .from = version,
                              .version = version + 1};
    pthread_mutex_init(&j->mu, NULL);
    orch_copy(j->head, sizeof(j->head), want->head);
    want->acl_hold(j->ctx, j->arg);
    if (pthread_create(&j->th, NULL, orch_rebase_main, j) != 0) {
        j->drop(j->ctx, j->arg);
        pthread_mutex_destroy(&j->mu);
        free(j->name);
        free(j);
        return -EAGAIN;
    }
    engine_acl_index_record(x); /* (the thread reads nothing of X) */
    *out = j;
    return 0;
}

void orch_rebase_free(struct orch_rebase *j)
{
    if (j == NULL)
        return;
    if (!j->joined)
        pthread_join(j->th, NULL);
    engine_acl_index_free(j->nx);
    engine_acl_base_put(j->owner);
    free(j->name);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void orch_rebase_notify(struct orch_rebase *j, void (*ready)(void *arg), void *arg)
{
    pthread_mutex_lock(&j->mu);
    /* Once: by the thread when told before it is done, else here, the first time. */
    int now = __atomic_load_n(&j->done, __ATOMIC_ACQUIRE) && j->ready == NULL;
    j->ready = ready;
    j->ready_arg = arg;
    pthread_mutex_unlock(&j->mu);
    if (now)
        ready(arg);
}

int orch_rebase_ready(const struct orch_rebase *j, uint64_t version)
{
    return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE) && j->r == 0 && j->from == version;
}

uint64_t orch_rebase_version(const struct orch_rebase *j)
{
    return j->version;
}

int orch_rebase_take(struct orch_rebase **jp, struct engine_acl_index *x,
                     struct engine_acl_base **owner, const void **data, size_t *len,
                     uint64_t *version, char head[41])
{
    struct orch_rebase *j = *jp;
    int r;

    if (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
        return 0;
    pthread_join(j->th, NULL);
    j->joined = 1;
    if ((r = j->r) == 0) {
        r = engine_acl_index_rebase(x, j->nx); /* -ESTALE: X compiled a base since */
        j->nx = NULL;                          /* freed by the rebase either way */
        engine_log(r == 0 ? "info" : "warning", "policy %s: new base v%" PRIu64 " %s at v%" PRIu64,
                   j->name ? j->name : ORCH_POLICY_ALL, j->version,
                   r == 0 ? "taken over" : "dropped (stale)", engine_acl_index_version(x));
    }
    if (r == 0) {
        *owner = j->owner;
        *data = j->data;
        *len = j->len;
        *version = j->version;
        memcpy(head, j->head, sizeof(j->head));
        j->owner = NULL;
    }
    orch_rebase_free(j);
    *jp = NULL;
    return r == 0 ? 1 : r;
}
