/*
 * fs_inval.c — the kernel's cache of the tree's names. The kernel keeps each name it looked up
 * for a while (fs_serve.c: entry_timeout), so that a path walk costs no lookup request; a name
 * the kernel made or removed itself (create, unlink, rename through the mount) it knows of. A
 * name that vanishes otherwise (a node removed by a topology or inputs change, a rules file by
 * an outside commit or the remote's) is dropped here with a FUSE notice: its top-level entry,
 * and with it every name the kernel holds below it. Without that, a stale name would refuse
 * open(O_CREAT) with ENOENT (the kernel takes it as existing and its attributes are not found).
 *
 * Notices are sent by a thread of this file: the kernel takes the root directory's lock for
 * one, which a rename or create in the root holds while it waits for the change it makes
 * (apply_mu). Whoever made the change waits for the thread afterwards, holding no lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_fuse.h"
#include "fs_inval.h"
#include <fuse_lowlevel.h>

#define FS_INVAL_MAX   8    /* top-level names queued at once (the tree has fewer) */
#define FS_INVAL_WAIT  1000 /* ms a writer waits for the thread at most (it never should) */
#define FS_INVAL_TOP_N 32   /* bytes of a top-level name kept */

struct fs_inval {
    struct fuse_session *se;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* mu: work queued, or stop */
    pthread_cond_t done; /* mu: sent increased */
    char top[FS_INVAL_MAX][FS_INVAL_TOP_N];
    size_t n;
    uint64_t queued, sent; /* mu: requests queued and sent since the start */
    int stop;
};

static void *fs_inval_main(void *arg)
{
    struct fs_inval *v = arg;
    char top[FS_INVAL_MAX][FS_INVAL_TOP_N];

    pthread_mutex_lock(&v->mu);
    for (;;) {
        while (v->n == 0 && !v->stop)
            pthread_cond_wait(&v->cv, &v->mu);
        if (v->n == 0)
            break;
        size_t n = v->n;
        uint64_t upto = v->queued;
        memcpy(top, v->top, sizeof(top));
        v->n = 0;
        pthread_mutex_unlock(&v->mu);
        /* -ENOENT: the kernel holds no such name; anything else changes nothing here either. */
        for (size_t i = 0; i < n; i++)
            fuse_lowlevel_notify_inval_entry(v->se, FUSE_ROOT_ID, top[i], strlen(top[i]));
        pthread_mutex_lock(&v->mu);
        v->sent = upto;
        pthread_cond_broadcast(&v->done);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

int fs_inval_start(struct fs_ctx *c, struct fuse_session *se)
{
    struct fs_inval *v = calloc(1, sizeof(*v));
    pthread_condattr_t ca;

    if (v == NULL)
        return -ENOMEM;
    v->se = se;
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->cv, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&v->thread, NULL, fs_inval_main, v) != 0) {
        pthread_cond_destroy(&v->done);
        pthread_cond_destroy(&v->cv);
        pthread_mutex_destroy(&v->mu);
        free(v);
        return -EAGAIN;
    }
    c->inval = v;
    return 0;
}

void fs_inval_stop(struct fs_ctx *c)
{
    struct fs_inval *v = c->inval;

    if (v == NULL)
        return;
    pthread_mutex_lock(&v->mu);
    v->stop = 1;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->thread, NULL);
    c->inval = NULL;
    pthread_cond_destroy(&v->done);
    pthread_cond_destroy(&v->cv);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

void fs_inval_top(struct fs_ctx *c, const char *path)
{
    struct fs_inval *v = c->inval;
    size_t len = strcspn(path, "/");
    size_t i;

    if (v == NULL || len == 0 || len >= FS_INVAL_TOP_N)
        return;
    pthread_mutex_lock(&v->mu);
    for (i = 0; i < v->n; i++)
        if (strncmp(v->top[i], path, len) == 0 && v->top[i][len] == '\0')
            break;
    if (i == v->n && v->n < FS_INVAL_MAX) {
        memcpy(v->top[v->n], path, len);
        v->top[v->n++][len] = '\0';
    }
    v->queued++;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
}

void fs_inval_wait(struct fs_ctx *c)
{
    struct fs_inval *v = c->inval;
    struct timespec end;

    if (v == NULL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += FS_INVAL_WAIT / 1000;
    pthread_mutex_lock(&v->mu);
    for (uint64_t want = v->queued; v->sent < want && !v->stop;)
        if (pthread_cond_timedwait(&v->done, &v->mu, &end) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&v->mu);
}

/* Has OLD a rules file that S has not? */
static int fs_inval_rules_gone(const struct fs_rules_set *old, const struct fs_rules_set *s)
{
    for (size_t i = 0; i < old->n; i++)
        if (fs_rules_find(s, old->v[i]->name) == NULL)
            return 1;
    return 0;
}

void fs_inval_installed(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s)
{
    if (c->inval == NULL || old == NULL)
        return;
    /* The nodes, their properties and which files a node has (it runs or not), and the inputs,
     * are the parsed topology's (with inputs.yaml): a level write keeps it. */
    if (old->model != s->model) {
        fs_inval_top(c, "nodes");
        fs_inval_top(c, "inputs");
    }
    for (int f = 0; f < FS_FILE_N; f++)
        if (old->file[f].data != NULL && s->file[f].data == NULL)
            fs_inval_top(c, fs_file_path(f));
    if (fs_inval_rules_gone(&old->acld, &s->acld))
        fs_inval_top(c, "policy");
}
