/*
 * fs_temp.c — editors' temporary files: kept in memory, never committed, counted against the
 * mount's bounds (fs/MOUNT.md, "Temporary files"). Every function here is called with
 * ctx->mu held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "fs_int.h"

struct fs_temp *fs_temp_find(struct fs_ctx *c, const char *dir, const char *name)
{
    for (struct fs_temp *t = c->temps; t != NULL; t = t->next)
        if (t->linked && strcmp(t->dir, dir) == 0 && strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* When a temporary file was last made, removed or renamed in each directory. */
struct fs_dir_time {
    struct fs_dir_time *next;
    struct timespec mtime;
    char dir[];
};

/* Records that DIR's entries changed now (best effort: out of memory, its time stays). */
static void fs_temp_dir_touch(struct fs_ctx *c, const char *dir)
{
    struct fs_dir_time *d;
    size_t n = strlen(dir) + 1;

    for (d = c->dir_times; d != NULL; d = d->next)
        if (strcmp(d->dir, dir) == 0)
            break;
    if (d == NULL) {
        if ((d = malloc(sizeof(*d) + n)) == NULL)
            return;
        memcpy(d->dir, dir, n);
        d->next = c->dir_times;
        c->dir_times = d;
    }
    clock_gettime(CLOCK_REALTIME, &d->mtime);
}

void fs_temp_dir_mtime(struct fs_ctx *c, const char *dir, struct timespec *mtime)
{
    for (const struct fs_dir_time *d = c->dir_times; d != NULL; d = d->next)
        if (strcmp(d->dir, dir) == 0) {
            if (d->mtime.tv_sec > mtime->tv_sec ||
                (d->mtime.tv_sec == mtime->tv_sec && d->mtime.tv_nsec > mtime->tv_nsec))
                *mtime = d->mtime;
            return;
        }
}

static void fs_temp_free(struct fs_temp *t)
{
    size_t cap = t->cap;

    free(t->dir);
    free(t->name);
    if (t->body.data != NULL) /* it may be a key renamed onto nodes/NODE/tls/key */
        explicit_bzero(t->body.data, t->cap);
    free(t->body.data);
    free(t);
    fs_memory_trim(cap);
}

void fs_temp_unlink(struct fs_ctx *c, struct fs_temp *t)
{
    struct fs_temp **pp;

    if (t->linked)
        fs_temp_dir_touch(c, t->dir);
    t->linked = 0;
    for (pp = &c->temps; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = NULL;
    c->temp_count--;
    c->temp_bytes -= t->cap;
    if (t->opens == 0)
        fs_temp_free(t);
}

/*
 * Makes T's buffer hold LEN bytes (caller holds c->mu): -EFBIG, -ENOSPC, -ENOMEM or 0. The
 * bound of all temporary files together counts their buffers' capacity: a growth that takes
 * it past FS_TEMP_TOTAL_MAX is given back (LEN alone past it is refused before allocating).
 */
static int fs_temp_reserve(struct fs_ctx *c, struct fs_temp *t, size_t len)
{
    size_t old = t->cap;
    int rc;

    if (len > FS_POLICY_MAX)
        return -EFBIG;
    if (len <= old)
        return 0;
    if (t->linked && c->temp_bytes - old + len > FS_TEMP_TOTAL_MAX)
        return -ENOSPC;
    if ((rc = ENGINE_GROW(&t->body.data, &t->cap, len)) < 0)
        return rc;
    if (!t->linked)
        return 0;
    if (c->temp_bytes - old + t->cap > FS_TEMP_TOTAL_MAX) {
        char *nb = old > 0 ? realloc(t->body.data, old) : NULL;
        if (old == 0) { /* then body.len is 0 */
            free(t->body.data);
            t->body.data = NULL;
        } else if (nb != NULL) {
            t->body.data = nb;
        }
        t->cap = old;
        return -ENOSPC;
    }
    c->temp_bytes = c->temp_bytes - old + t->cap;
    return 0;
}

int fs_temp_truncate(struct fs_ctx *c, struct fs_temp *t, size_t len)
{
    int rc;

    if ((rc = fs_temp_reserve(c, t, len)) < 0)
        return rc;
    if (len > t->body.len)
        memset(t->body.data + t->body.len, 0, len - t->body.len);
    t->body.len = len;
    clock_gettime(CLOCK_REALTIME, &t->mtime);
    t->ctime = t->mtime;
    return 0;
}

int fs_temp_make(struct fs_ctx *c, struct fs_temp **out, const char *dir, const char *name,
                 const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
    struct fs_temp *t;
    int rc;

    if (c->temp_count >= FS_TEMP_COUNT_MAX)
        return -ENOSPC;
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->dir = strdup(dir)) == NULL ||
        (t->name = strdup(name)) == NULL) {
        if (t != NULL)
            fs_temp_free(t);
        return -ENOMEM;
    }
    t->linked = 1;
    t->mode = mode;
    t->uid = uid;
    t->gid = gid;
    t->next = c->temps;
    c->temps = t;
    c->temp_count++;
    fs_temp_dir_touch(c, dir);
    if ((rc = fs_temp_truncate(c, t, len)) < 0) {
        fs_temp_unlink(c, t);
        return rc;
    }
    if (len > 0)
        memcpy(t->body.data, data, len);
    t->atime = t->mtime;
    *out = t;
    return 0;
}

void fs_temp_put(struct fs_temp *t)
{
    if (--t->opens == 0 && !t->linked)
        fs_temp_free(t);
}

void fs_temp_free_all(struct fs_ctx *c)
{
    while (c->temps != NULL) {
        struct fs_temp *t = c->temps;
        c->temps = t->next;
        fs_temp_free(t);
    }
    while (c->dir_times != NULL) {
        struct fs_dir_time *d = c->dir_times;
        c->dir_times = d->next;
        free(d);
    }
}

int fs_temp_write(struct fs_ctx *c, struct fs_temp *t, const char *buf, size_t size, off_t off,
                  int append)
{
    size_t end;
    int rc;

    if (append)
        off = (off_t)t->body.len;
    end = (size_t)off + size;
    if (end > t->body.len && (rc = fs_temp_truncate(c, t, end)) < 0)
        return rc;
    memcpy(t->body.data + off, buf, size);
    clock_gettime(CLOCK_REALTIME, &t->mtime);
    return (int)size;
}

int fs_temp_rename(struct fs_ctx *c, struct fs_temp *t, const char *dir, const char *name)
{
    char *nd = strdup(dir), *nn = strdup(name);

    if (nd == NULL || nn == NULL) {
        free(nd);
        free(nn);
        return -ENOMEM;
    }
    fs_temp_dir_touch(c, t->dir);
    fs_temp_dir_touch(c, dir);
    free(t->dir);
    free(t->name);
    t->dir = nd;
    t->name = nn;
    clock_gettime(CLOCK_REALTIME, &t->ctime);
    return 0;
}

void fs_temp_list(struct fs_ctx *c, const char *dir, fs_list_fn fn, void *arg)
{
    for (struct fs_temp *t = c->temps; t != NULL; t = t->next)
        if (strcmp(t->dir, dir) == 0)
            fn(arg, t->name);
}
