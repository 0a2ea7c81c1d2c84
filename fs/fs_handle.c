/*
 * fs_handle.c — open files: what a handle holds (fs_int.h), the handles a mount has open, and
 * the write buffer of a control file, checked early and applied at flush or release.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "fs_int.h"

/* Frees P (N bytes), wiped first: a control file's bytes may be a private key. */
static void fs_handle_wipe(void *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
    free(p);
}

void fs_handle_free(struct fs_handle *h)
{
    size_t cap;

    if (h == NULL)
        return;
    cap = h->cap;
    if (h->kind == FS_H_DISK && h->fd >= 0)
        close(h->fd);
    pthread_mutex_destroy(&h->mu);
    if (h->text.data != NULL)
        fs_text_free(&h->text); /* buf is its bytes, shared */
    else
        fs_handle_wipe(h->buf, h->held); /* the room past them was never written: not touched */
    free(h->path);
    free(h);
    fs_memory_trim(cap);
}

struct fs_handle *fs_handle_new(enum fs_handle_kind kind, const char *path,
                                const struct fs_where *w, uid_t uid)
{
    struct fs_handle *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    if ((h->path = strdup(path[0] == '/' ? path + 1 : path)) == NULL) {
        free(h);
        return NULL;
    }
    h->kind = kind;
    h->w = *w;
    h->uid = uid;
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void fs_handle_track(struct fs_ctx *c, struct fs_handle *h)
{
    pthread_mutex_lock(&c->mu);
    h->prev = NULL;
    h->next = c->handles;
    if (c->handles != NULL)
        c->handles->prev = h;
    c->handles = h;
    pthread_mutex_unlock(&c->mu);
}

/* Takes H out of C's list (at its release). Caller holds c->mu. */
static void fs_handle_untrack(struct fs_ctx *c, struct fs_handle *h)
{
    if (h->prev != NULL)
        h->prev->next = h->next;
    else if (c->handles == h)
        c->handles = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

/* The end of H: out of C's list, its temporary file's open ended, freed. Caller holds
 * c->mu. */
static void fs_handle_end(struct fs_ctx *c, struct fs_handle *h)
{
    fs_handle_untrack(c, h);
    if (h->kind == FS_H_TEMP)
        fs_temp_put(h->temp);
    fs_handle_free(h);
}

int fs_handle_disk_dup(struct fs_ctx *c, const char *path, struct fs_where *w)
{
    int fd = -ENOENT;

    if (path[0] == '/')
        path++;
    pthread_mutex_lock(&c->mu);
    for (const struct fs_handle *h = c->handles; h != NULL; h = h->next)
        if (h->kind == FS_H_DISK && h->fd >= 0 && strcmp(h->path, path) == 0) {
            /* a duplicate: the handle may be released while the caller uses it */
            if ((fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0)) < 0)
                fd = -errno;
            else
                *w = h->w;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    return fd;
}

int fs_handle_making(struct fs_ctx *c, const char *name)
{
    for (const struct fs_handle *h = c->handles; h != NULL; h = h->next)
        if (h->kind == FS_H_CONTROL && h->w.absent && strcmp(h->w.node, name) == 0)
            return 1;
    return 0;
}

void fs_handles_drop(struct fs_ctx *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->handles != NULL)
        fs_handle_end(c, c->handles);
    pthread_mutex_unlock(&c->mu);
}

void fs_handle_release(struct fs_ctx *c, struct fs_handle *h)
{
    /* `: > FILE` opens with O_TRUNC and writes nothing: the empty content is the change.
     * Applied here, after the last close, as no flush can tell it from the close that a
     * shell makes before writing (its error is recorded in errors, close(2) cannot see it). */
    if (h->kind == FS_H_CONTROL && h->trunc && !h->wrote && !h->applied && !h->failed) {
        struct fs_target t;
        fs_target_of(&t, &h->w, h->path);
        fs_apply(c, &t, "", 0, h->uid);
    }
    pthread_mutex_lock(&c->mu);
    fs_handle_end(c, h);
    pthread_mutex_unlock(&c->mu);
}

int fs_handle_apply(struct fs_ctx *c, struct fs_handle *h, uid_t uid)
{
    struct fs_target t;
    int rc = 0;

    pthread_mutex_lock(&h->mu);
    if (h->kind == FS_H_CONTROL && h->failed) {
        /* What remains is what the writer did not mean to apply (e.g. vim truncates, then
         * its write is refused): all of it or nothing, and here nothing. */
        h->dirty = 0;
        rc = h->failed;
    } else if (h->kind == FS_H_CONTROL && h->dirty) {
        h->dirty = 0;
        h->applied = 1;
        fs_target_of(&t, &h->w, h->path);
        rc = fs_apply(c, &t, h->buf != NULL ? h->buf : "", h->len, uid);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/*
 * The early check of a write (see fs_apply_check()): made when the buffer ends a line and is
 * small, for every writable file but topology.yaml and inputs.yaml. For these files a prefix
 * that ends a line of a valid file is valid itself, so the check never refuses what the whole
 * write would make valid. A YAML prefix can be invalid on its own (and a prefix of
 * inputs.yaml may lack a required input): the YAML files are checked at close only. Caller holds
 * h->mu.
 */
#define FS_EARLY_CHECK_MAX (64u << 10)

static int fs_handle_check(struct fs_ctx *c, struct fs_handle *h, uid_t uid)
{
    struct fs_target t;
    int rc;

    fs_target_of(&t, &h->w, h->path);
    if (h->len == 0 || h->len > FS_EARLY_CHECK_MAX || h->buf[h->len - 1] != '\n' ||
        (t.kind == FS_TARGET_FILE && (t.file == FS_FILE_TOPOLOGY || t.file == FS_FILE_INPUTS)) ||
        t.kind == FS_TARGET_TLS_CERT || t.kind == FS_TARGET_TLS_KEY)
        return 0;
    if (t.kind == FS_TARGET_FILE || t.kind == FS_TARGET_RULES)
        return fs_apply_check(c, &t, h->buf, h->len, uid);
    /* A level or a property is one line: once it is written whole, any further write could
     * only make it invalid. So it is applied (committed) now, and the write returns once the
     * change is durable, also for a shell builtin that never looks at close(2). */
    if ((rc = fs_apply(c, &t, h->buf, h->len, uid)) < 0)
        return rc;
    h->applied = 1;
    return 1;
}

/* Refuses END bytes for H's file when past its bound (EFBIG, recorded in errors); a refusal
 * fails the handle: nothing of it is applied any more. Caller holds h->mu. */
static int fs_handle_bound(struct fs_ctx *c, struct fs_handle *h, size_t end, uid_t uid)
{
    struct fs_target t;

    fs_target_of(&t, &h->w, h->path);
    if (end <= fs_target_max(&t))
        return 0;
    fs_error(c, "refused %s (EFBIG) written by uid %lu: larger than %zu bytes", h->path,
             (unsigned long)uid, fs_target_max(&t));
    return h->failed = -EFBIG;
}

int fs_handle_write(struct fs_ctx *c, struct fs_handle *h, const char *buf, size_t size, off_t off,
                    uid_t uid)
{
    size_t end;
    int rc;

    pthread_mutex_lock(&h->mu);
    h->wrote = 1;
    if (h->failed) {
        /* A write was refused: the content can no longer be what the writer meant, so no
         * later write may complete it (a level's line would be applied at once). */
        rc = h->failed;
        pthread_mutex_unlock(&h->mu);
        return rc;
    }
    if (h->append)
        off = (off_t)h->len;
    end = (size_t)off + size;
    if ((rc = fs_handle_bound(c, h, end, uid)) == 0 && ENGINE_GROW(&h->buf, &h->cap, end) < 0)
        rc = h->failed = -ENOMEM;
    if (rc < 0) {
        pthread_mutex_unlock(&h->mu);
        return rc;
    }
    {
        /* What this write overwrites, to put it back if the early check refuses it. */
        size_t old_len = h->len, over = (size_t)off < old_len ? old_len - (size_t)off : 0;
        char *saved = NULL;
        if (over > size)
            over = size;
        if (over > 0 && (saved = malloc(over)) == NULL) {
            pthread_mutex_unlock(&h->mu);
            return -ENOMEM;
        }
        if (over > 0)
            memcpy(saved, h->buf + off, over);
        if ((size_t)off > h->len)
            memset(h->buf + h->len, 0, (size_t)off - h->len);
        memcpy(h->buf + off, buf, size);
        if (end > h->len)
            h->len = end;
        if (end > h->held)
            h->held = end;
        rc = fs_handle_check(c, h, uid);
        if (rc > 0) {
            /* applied already: nothing left for flush */
            fs_handle_wipe(saved, over);
            h->dirty = 0;
            pthread_mutex_unlock(&h->mu);
            return (int)size;
        }
        if (rc < 0) {
            if (over > 0)
                memcpy(h->buf + off, saved, over);
            h->len = old_len;
            h->failed = rc;
            fs_handle_wipe(saved, over);
            pthread_mutex_unlock(&h->mu);
            return rc;
        }
        fs_handle_wipe(saved, over);
    }
    h->dirty = 1;
    pthread_mutex_unlock(&h->mu);
    return (int)size;
}

int fs_handle_truncate(struct fs_ctx *c, struct fs_handle *h, size_t size, uid_t uid)
{
    int rc;

    pthread_mutex_lock(&h->mu);
    /* Bounded now: the buffer is not grown to whatever size is asked before the close. */
    if ((rc = h->failed) < 0 || (rc = fs_handle_bound(c, h, size, uid)) < 0) {
        pthread_mutex_unlock(&h->mu);
        return rc;
    }
    if (size > h->cap) {
        char *nb = realloc(h->buf, size);
        if (nb == NULL) {
            rc = h->failed = -ENOMEM;
            pthread_mutex_unlock(&h->mu);
            return rc;
        }
        h->buf = nb;
        h->cap = size;
    }
    if (size > h->len)
        memset(h->buf + h->len, 0, size - h->len);
    h->len = size;
    if (size > h->held)
        h->held = size;
    h->dirty = 1;
    h->wrote = 1;
    pthread_mutex_unlock(&h->mu);
    return 0;
}
