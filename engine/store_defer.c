/* store_defer.c — the syncs of a work-tree update made later: a commit that only rewrites files
 * in place (every level write) writes them and the index (and main's ref, store_main.c)
 * without syncing, and a thread of the store syncs them, then marks the journal finished,
 * within STORE_DEFER_MS of the first such commit. The commit itself (objects and main) is durable
 * before it returns, as ever; the journal, written and synced before main moved, names the paths
 * until they are durable, so a crash of the machine meanwhile is recovered from it
 * (store_journal.c). Successive commits of the same paths keep that journal as it is: no journal
 * write, no sync of their own. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fault.h"

/* How long a work-tree update may stay unsynced: the bound on what a crash of the machine can
 * take back of an operator's uncommitted edit of such a path (engine/STORE.md). */
#define STORE_DEFER_MS 200

static int store_defer_ms = STORE_DEFER_MS; /* atomic */

int engine_store_sync_delay(int ms)
{
    return __atomic_exchange_n(&store_defer_ms, ms > 0 ? ms : STORE_DEFER_MS, __ATOMIC_RELAXED);
}

static uint64_t store_defer_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int store_defer_lazy(const struct engine_store_change *c, size_t n)
{
    if (store_boot_id()[0] == '\0')
        return 0; /* a recovery could not tell a crash of the machine from one of the daemon */
    for (size_t i = 0; i < n; i++)
        if (c[i].remove || c[i].from_worktree)
            return 0;
    return 1;
}

int store_defer_same(const struct engine_store *s, const struct engine_store_change *c, size_t n)
{
    if (s->ndeferred == 0 || s->ndeferred != n || !store_defer_lazy(c, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->deferred[i], c[i].path) != 0)
            return 0;
    return 1;
}

int store_defer_full(const struct engine_store *s)
{
    return s->journal_size > STORE_DEFER_JOURNAL_MAX;
}

static void store_defer_clear(struct engine_store *s)
{
    for (size_t i = 0; i < s->ndeferred; i++)
        free(s->deferred[i]);
    free(s->deferred);
    s->deferred = NULL;
    s->ndeferred = 0;
    s->deferred_main = 0;
    free(s->objects);
    s->objects = NULL;
    s->nobjects = 0;
}

/* The files of the N OBJECTS to be synced with the rest (no memory: synced now). */
static int store_defer_object(struct engine_store *s, const git_oid *objects, size_t n,
                              struct engine_diag *diag)
{
    git_oid *v;
    int error;

    if (n == 0)
        return 0;
    if ((v = realloc(s->objects, (s->nobjects + n) * sizeof(*v))) != NULL) {
        s->objects = v;
        memcpy(v + s->nobjects, objects, n * sizeof(*v));
        s->nobjects += n;
        return 0;
    }
    if ((error = store_object_sync(s, objects, n)) < 0)
        store_err(diag, s->dir, error, "syncing a commit: %s", strerror(-error));
    return error;
}

/* The work-tree file PATH, rewritten in place (its names did not change), made durable. */
static int store_defer_file(struct engine_store *s, const char *path, struct engine_diag *diag)
{
    int error = engine_fault(ENGINE_FAULT_SYNC) ? -EIO : store_fsync_worktree(s->dir, path, 0);

    if (error < 0)
        store_err(diag, s->dir, error, "syncing %s: %s", path, strerror(-error));
    return error;
}

/* After the files: the index and its name made durable. */
static int store_defer_index(struct engine_store *s, struct engine_diag *diag)
{
    int error;

    if ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0)
        store_err(diag, s->dir, error, "syncing the index: %s", strerror(-error));
    return error;
}

/* Runs the batch B (then frees it); a failure is said with its path. */
static int store_defer_run_batch(struct engine_store *s, struct store_sync *b,
                                 struct engine_diag *diag)
{
    int error = store_sync_run(b);

    if (error < 0)
        store_err(diag, s->dir, error, "syncing %s: %s", store_sync_failed(b, s->dir),
                  strerror(-error));
    store_sync_free(b);
    return error;
}

/* The deferred files, the index, the commit objects and main made durable (the journal stays
 * pending), in two batches: the files and the objects, then the index, .git, main and
 * refs/heads, so that an index or a ref made durable names only what is. */
static int store_defer_flush(struct engine_store *s, struct engine_diag *diag)
{
    struct store_sync data = {0}, names = {0};
    const char *git = git_repository_path(s->repo);
    int error = 0;

    for (size_t i = 0; i < s->ndeferred; i++) {
        if (engine_fault(ENGINE_FAULT_SYNC)) {
            error = store_err(diag, s->dir, -EIO, "syncing %s: %s", s->deferred[i], strerror(EIO));
            goto cleanup;
        }
        store_sync_add(&data, "%s/%s", s->dir, s->deferred[i]);
    }
    store_object_sync_add(&data, s, s->objects, s->nobjects);
    store_sync_add(&names, "%sindex", git);
    store_sync_add(&names, "%s", git);
    if (s->deferred_main)
        store_main_sync_add(&names, s);
    if ((error = store_defer_run_batch(s, &data, diag)) == 0)
        error = store_defer_run_batch(s, &names, diag);

cleanup:
    store_sync_free(&data);
    store_sync_free(&names);
    return error;
}

int store_defer_sync(struct engine_store *s, struct engine_diag *diag)
{
    int error;

    if (s->ndeferred == 0)
        return 0;
    if ((error = store_defer_flush(s, diag)) < 0)
        return error; /* the journal stays pending: a recovery redoes the paths */
    store_defer_clear(s);
    /* Durably: a pending journal of this kind makes a recovery after a crash of the machine
     * compare the files' contents, which would take back an edit made since. */
    return store_journal_mark(s, 1, diag);
}

void engine_store_on_sync(struct engine_store *s, engine_store_sync_cb cb, void *arg)
{
    store_lock(s);
    while (s->reporting) /* the old receiver is done with its report when this returns */
        pthread_cond_wait(&s->wake, &s->lock);
    s->on_sync = cb;
    s->on_sync_arg = arg;
    store_unlock(s);
}

uint64_t engine_store_sync_failures(const struct engine_store *s)
{
    return __atomic_load_n(&s->sync_failures, __ATOMIC_RELAXED);
}

/* The syncer's attempt that ended with ERROR (its message in DIAG): counted when it failed,
 * and reported when it fails first or succeeds after failing. Drops the mutex for the report
 * (its receiver may call the store, but for engine_store_on_sync()) and takes it again. */
static void store_defer_report(struct engine_store *s, int error, const struct engine_diag *diag)
{
    engine_store_sync_cb cb = s->on_sync;
    char *why = NULL;

    if (error < 0)
        __atomic_fetch_add(&s->sync_failures, 1, __ATOMIC_RELAXED);
    if ((error < 0) == s->sync_failing)
        return;
    s->sync_failing = error < 0;
    if (cb == NULL)
        return;
    if (error < 0 && (why = diag->n > 0 ? engine_diag_join(diag) : NULL) == NULL)
        why = strdup(strerror(-error));
    s->reporting = 1;
    store_unlock(s);
    cb(error, error < 0 ? (why != NULL ? why : "out of memory") : NULL, s->on_sync_arg);
    store_lock(s);
    s->reporting = 0;
    pthread_cond_broadcast(&s->wake); /* engine_store_on_sync() may wait for it */
    free(why);
}

/* The syncer's first step: the commit objects made durable without the mutex (many level writes
 * within one delay make many; the files are not rewritten), so that commits go on meanwhile;
 * those synced are taken off the list when it still starts with them. Again for those the
 * commits made meanwhile (up to STORE_DEFER_PASSES times), so that few are left to sync with
 * the mutex held, where they would hold up the next level write. A failure leaves them there:
 * store_defer_sync() tries again and reports it. */
#define STORE_DEFER_PASSES 4

static void store_defer_objects_unlocked(struct engine_store *s)
{
    for (int pass = 0; pass < STORE_DEFER_PASSES && s->nobjects > 0 && !s->stopping; pass++) {
        size_t n = s->nobjects;
        git_oid *v = malloc(n * sizeof(*v));
        int error;

        if (v == NULL)
            return;
        memcpy(v, s->objects, n * sizeof(*v));
        store_unlock(s);
        error = store_object_sync(s, v, n);
        store_lock(s);
        if (error == 0 && s->nobjects >= n && memcmp(s->objects, v, n * sizeof(*v)) == 0) {
            memmove(s->objects, s->objects + n, (s->nobjects - n) * sizeof(*v));
            s->nobjects -= n;
        } else {
            error = error < 0 ? error : -EAGAIN;
        }
        free(v);
        if (error < 0)
            return;
    }
}

static void *store_defer_run(void *arg)
{
    struct engine_store *s = arg;

    store_lock(s);
    while (!s->stopping) {
        uint64_t due = s->deferred_at +
                       (uint64_t)__atomic_load_n(&store_defer_ms, __ATOMIC_RELAXED) * 1000000u;
        struct timespec t = {.tv_sec = (time_t)(due / 1000000000u),
                             .tv_nsec = (long)(due % 1000000000u)};
        struct engine_diag diag = {0};
        int error;
        if (s->ndeferred == 0) {
            pthread_cond_wait(&s->wake, &s->lock);
        } else if (store_defer_now() < due) {
            pthread_cond_timedwait(&s->wake, &s->lock, &t);
        } else {
            store_defer_objects_unlocked(s);
            if ((error = store_defer_sync(s, &diag)) < 0)
                s->deferred_at = store_defer_now(); /* tried again later; the journal stays */
            store_defer_report(s, error, &diag);
            engine_diag_free(&diag);
        }
    }
    store_unlock(s);
    return NULL;
}

static int store_defer_start(struct engine_store *s)
{
    pthread_condattr_t a;
    int rc;

    if (s->syncer_on)
        return 0;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&s->wake, &a);
    pthread_condattr_destroy(&a);
    if (rc != 0)
        return -rc;
    if ((rc = pthread_create(&s->syncer, NULL, store_defer_run, s)) != 0) {
        pthread_cond_destroy(&s->wake);
        return -rc;
    }
    s->syncer_on = 1;
    return 0;
}

int store_defer_add(struct engine_store *s, const struct engine_store_change *c, size_t n, int main,
                    const git_oid *objects, size_t nobj, struct engine_diag *diag)
{
    int error = 0;

    if (store_defer_same(s, c, n)) {
        s->deferred_main |= main;
        /* Past STORE_DEFER_JOURNAL_SOON the syncer goes now (it syncs the objects without the
         * mutex), so that a write rarely finds the journal full. Not while syncs fail: they are
         * tried again at the delay. */
        if (s->journal_size > STORE_DEFER_JOURNAL_SOON && s->deferred_at != 0 && !s->sync_failing) {
            s->deferred_at = 0;
            pthread_cond_signal(&s->wake);
        }
        /* the journal names them already; the first commit's time bounds the wait */
        return store_defer_object(s, objects, nobj, diag);
    }
    if ((error = store_defer_sync(s, diag)) < 0) /* others: not expected, the journal is new */
        return error;
    if (store_defer_start(s) < 0 || (s->deferred = calloc(n, sizeof(char *))) == NULL)
        goto now;
    for (; s->ndeferred < n; s->ndeferred++)
        if ((s->deferred[s->ndeferred] = strdup(c[s->ndeferred].path)) == NULL)
            goto now;
    s->deferred_main = main;
    s->deferred_at = store_defer_now();
    if (store_defer_object(s, objects, nobj, diag) < 0)
        goto now;
    pthread_cond_signal(&s->wake);
    return 0;

now:
    /* No syncer or no memory: synced now. */
    store_defer_clear(s);
    if ((error = store_object_sync(s, objects, nobj)) < 0)
        store_err(diag, s->dir, error, "syncing a commit: %s", strerror(-error));
    for (size_t i = 0; i < n && error == 0; i++)
        error = store_defer_file(s, c[i].path, diag);
    if (error == 0 && (error = store_defer_index(s, diag)) == 0 &&
        (!main || (error = store_main_sync(s)) == 0))
        error = store_journal_mark(s, 1, diag);
    return error;
}

void store_defer_stop(struct engine_store *s)
{
    if (s->syncer_on) {
        store_lock(s);
        s->stopping = 1;
        pthread_cond_signal(&s->wake);
        store_unlock(s);
        pthread_join(s->syncer, NULL);
        pthread_cond_destroy(&s->wake);
        s->syncer_on = 0;
    }
    if (s->repo != NULL)
        store_defer_sync(s, NULL);
    store_defer_clear(s);
}
