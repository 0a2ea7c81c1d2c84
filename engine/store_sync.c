/* store_sync.c — a batch of paths made durable together. Each fsync ends with a flush of the
 * disk's cache (on ext4 even that of a file with nothing left to write), and a flush takes a
 * millisecond or more on a virtual disk; the block layer lets flushes issued while one is in
 * flight share the next one. So the batch's fsyncs are issued by up to STORE_SYNC_THREADS
 * threads at once: 64 object files and their directories cost a few flushes, where one after
 * the other they cost 64 and more (60 to 340 ms on a 2-core virtual machine, against 5 to 8
 * ms). Every path is synced before store_sync_run() returns, as when they were synced in turn;
 * the batch gives no order among its paths (callers that need one run two batches). */
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The threads that sync one batch, the caller's among them: beyond about 8 the flushes are
 * shared already. */
#define STORE_SYNC_THREADS 8
/* Each thread only opens, syncs and closes. */
#define STORE_SYNC_STACK (64 * 1024)

static int store_sync_grow(struct store_sync *b)
{
    size_t cap = b->cap ? b->cap * 2 : 16;
    char **v = realloc(b->paths, cap * sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    b->paths = v;
    b->cap = cap;
    return 0;
}

int store_sync_add(struct store_sync *b, const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int n;

    if (b->error < 0)
        return b->error;
    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0 || (b->n == b->cap && store_sync_grow(b) < 0)) {
        free(n < 0 ? NULL : p);
        return b->error = -ENOMEM;
    }
    b->paths[b->n++] = p;
    return 0;
}

/* Takes the batch's next path until none is left; the first failure is kept with its path. */
static void *store_sync_worker(void *arg)
{
    struct store_sync *b = arg;
    size_t i;

    while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n) {
        int rc = store_fsync_one(b->paths[i]), none = 0;
        if (rc < 0 && __atomic_compare_exchange_n(&b->error, &none, rc, 0, __ATOMIC_ACQ_REL,
                                                  __ATOMIC_RELAXED))
            __atomic_store_n(&b->failed, i, __ATOMIC_RELEASE);
    }
    return NULL;
}

int store_sync_run(struct store_sync *b)
{
    pthread_t t[STORE_SYNC_THREADS - 1];
    size_t k = 0, want = b->n < STORE_SYNC_THREADS ? b->n : STORE_SYNC_THREADS;
    pthread_attr_t a;

    if (b->error < 0)
        return b->error;
    b->next = 0;
    if (want > 1 && pthread_attr_init(&a) == 0) {
        pthread_attr_setstacksize(&a, STORE_SYNC_STACK);
        /* A thread not made leaves its share to the others (the caller's at least). */
        for (; k + 1 < want; k++)
            if (pthread_create(&t[k], &a, store_sync_worker, b) != 0)
                break;
        pthread_attr_destroy(&a);
    }
    store_sync_worker(b);
    while (k > 0)
        pthread_join(t[--k], NULL);
    return __atomic_load_n(&b->error, __ATOMIC_ACQUIRE);
}

const char *store_sync_failed(const struct store_sync *b, const char *root)
{
    const char *p;
    size_t n = strlen(root);

    if (b->error == 0 || b->failed >= b->n)
        return "a path";
    p = b->paths[b->failed];
    return strncmp(p, root, n) == 0 && p[n] == '/' ? p + n + 1 : p;
}

void store_sync_free(struct store_sync *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->paths[i]);
    free(b->paths);
    *b = (struct store_sync){0};
}
