/* fs_ops.c — the FUSE file system: the operations on the tree (fs_tree.c), the write rules. */
#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_int.h"

static struct fs_ctx *fs_ctx_get(void)
{
    return fuse_get_context()->private_data;
}

/* Hands H to the kernel as FI's file handle; it is counted in C until its release. */
static void fs_handle_give(struct fs_ctx *c, struct fs_handle *h, struct fuse_file_info *fi)
{
    fs_handle_track(c, h);
    fi->fh = (uintptr_t)h;
}

static struct fs_handle *fs_fh(struct fuse_file_info *fi)
{
    return fi != NULL ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
}

/* ---- operations ---- */

/* The mode and owner of tree path P: the table's, or what chmod / chown made them. */
static void fs_perm_of(struct fs_ctx *c, const char *p, mode_t *mode, uid_t *uid, gid_t *gid)
{
    const struct fs_perm *pm;

    *uid = c->owner_uid;
    *gid = c->owner_gid;
    pthread_mutex_lock(&c->mu);
    if ((pm = fs_perm_find(c, p)) != NULL) {
        *mode = (*mode & S_IFMT) | pm->mode;
        *uid = pm->uid;
        *gid = pm->gid;
    }
    pthread_mutex_unlock(&c->mu);
}

static void fs_stat_fill(struct fs_ctx *c, struct stat *st, mode_t mode, size_t size,
                         const struct timespec *mtime)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = mode;
    st->st_nlink = S_ISDIR(mode) ? 2 : 1;
    st->st_uid = c->owner_uid;
    st->st_gid = c->owner_gid;
    st->st_size = (off_t)size;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((size + 511) / 512);
    st->st_atim = st->st_mtim = st->st_ctim = *mtime;
}

static int fs_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if (h != NULL && h->kind == FS_H_TEMP) {
        pthread_mutex_lock(&c->mu);
        t = h->temp;
        goto temp;
    }
    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e != NULL) {
        struct timespec mt = c->started;
        size_t size = 0;
        if (S_ISLNK(w.e->mode)) {
            char link[PATH_MAX];
            if ((rc = fs_image_link(c, w.node, link, sizeof(link))) < 0)
                return rc;
            size = strlen(link);
        } else if (S_ISREG(w.e->mode) && w.e->at_open) {
            size = 0; /* settle: reading it waits; stat must not */
        } else if (S_ISREG(w.e->mode) && w.e->live) {
            struct fs_log *l = fs_live_log(c, w.e);
            pthread_mutex_lock(&c->mu);
            size = l->len;
            if (l->mtime != 0)
                mt.tv_sec = l->mtime, mt.tv_nsec = 0;
            pthread_mutex_unlock(&c->mu);
        } else if (S_ISREG(w.e->mode)) {
            char *buf;
            struct fs_snap *s = fs_snap_get(c);
            mt = s->since;
            fs_snap_put(c, s);
            if ((rc = fs_generate(c, &w, &buf, &size)) < 0)
                return rc;
            free(buf);
        }
        fs_stat_fill(c, st, w.e->mode, size, &mt);
        fs_perm_of(c, path[0] == '/' ? path + 1 : path, &st->st_mode, &st->st_uid, &st->st_gid);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    t = fs_temp_find(c, w.dir, w.name);
    if (t == NULL) {
        pthread_mutex_unlock(&c->mu);
        return -ENOENT;
    }
temp:
    fs_stat_fill(c, st, S_IFREG | (t->mode & 07777), t->body.len, &t->mtime);
    st->st_uid = t->uid;
    st->st_gid = t->gid;
    st->st_atim = t->atime;
    st->st_ctim = t->ctime;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int fs_op_readlink(const char *path, char *buf, size_t size)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_where w;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e == NULL || !S_ISLNK(w.e->mode))
        return w.e == NULL ? -ENOENT : -EINVAL;
    return fs_image_link(c, w.node, buf, size);
}

/* The kernel's filler as an fs_list_fn. */
struct fs_filler {
    void *buf;
    fuse_fill_dir_t fill;
};

static void fs_fill_one(void *arg, const char *name)
{
    struct fs_filler *f = arg;

    f->fill(f->buf, name, NULL, 0, 0);
}

static int fs_op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct fs_ctx *c = fs_ctx_get();
    const char *p = path[0] == '/' ? path + 1 : path;
    struct fs_filler f = {.buf = buf, .fill = fill};
    int rc;

    (void)off, (void)fi, (void)flags;
    if ((rc = fs_tree_list(c, p, fs_fill_one, &f)) < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    fs_temp_list(c, p, fs_fill_one, &f);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int fs_op_open(const char *path, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    int acc = fi->flags & O_ACCMODE, wr = acc != O_RDONLY, rc;
    struct fs_handle *h = NULL;
    struct fs_where w;
    struct fs_temp *t;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    fi->direct_io = 1;
    if (w.e == NULL) {
        pthread_mutex_lock(&c->mu);
        if ((t = fs_temp_find(c, w.dir, w.name)) == NULL) {
            pthread_mutex_unlock(&c->mu);
            return -ENOENT;
        }
        if ((h = fs_handle_new(FS_H_TEMP, path, &w, fuse_get_context()->uid)) == NULL) {
            pthread_mutex_unlock(&c->mu);
            return -ENOMEM;
        }
        if (wr && (fi->flags & O_TRUNC))
            fs_temp_truncate(c, t, 0);
        h->temp = t;
        h->append = (fi->flags & O_APPEND) != 0;
        t->opens++;
        pthread_mutex_unlock(&c->mu);
        fs_handle_give(c, h, fi);
        return 0;
    }
    if (S_ISDIR(w.e->mode))
        return -EISDIR;
    if (wr && !fs_writable(w.e))
        return -EACCES; /* read-only, even for root */
    if (w.e->live) {
        if ((h = fs_handle_new(FS_H_LIVE, path, &w, fuse_get_context()->uid)) == NULL)
            return -ENOMEM;
        fs_handle_give(c, h, fi);
        return 0;
    }
    if ((h = fs_handle_new(wr ? FS_H_CONTROL : FS_H_SNAPSHOT, path, &w, fuse_get_context()->uid)) ==
        NULL)
        return -ENOMEM;
    if (wr && (fi->flags & O_TRUNC)) {
        h->trunc = 1; /* empty; applied as such at release if nothing is written */
    } else if ((rc = fs_generate(c, &w, &h->buf, &h->len)) < 0) {
        fs_handle_free(h);
        return rc;
    }
    h->cap = h->len;
    h->append = (fi->flags & O_APPEND) != 0;
    fs_handle_give(c, h, fi);
    return 0;
}

static int fs_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    const struct fuse_context *ctx = fuse_get_context();
    const struct fs_entry *d;
    struct fs_handle *h;
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e != NULL) {
        if (fi->flags & O_EXCL)
            return -EEXIST;
        return fs_op_open(path, fi);
    }
    if ((rc = fs_name_check(w.name)) < 0)
        return rc;
    if ((d = fs_dir_entry(c, w.dir)) == NULL)
        return -ENOENT;
    if (!d->temp_dir || !fs_name_is_temp(w.name)) {
        fs_error(c,
                 "refused creating %s (EPERM) by uid %lu: no such file here; only editors' "
                 "temporary files (see fs/MOUNT.md) may be created%s",
                 path + 1, (unsigned long)ctx->uid,
                 d->temp_dir ? "" : ", and not in this directory");
        return -EPERM;
    }
    pthread_mutex_lock(&c->mu);
    if ((t = fs_temp_find(c, w.dir, w.name)) != NULL) {
        pthread_mutex_unlock(&c->mu);
        if (fi->flags & O_EXCL)
            return -EEXIST;
        return fs_op_open(path, fi);
    }
    if (c->temp_count >= FS_TEMP_COUNT_MAX) {
        pthread_mutex_unlock(&c->mu);
        return -ENOSPC;
    }
    t = calloc(1, sizeof(*t));
    h = fs_handle_new(FS_H_TEMP, path, &w, fuse_get_context()->uid);
    if (t == NULL || h == NULL || (t->dir = strdup(w.dir)) == NULL ||
        (t->name = strdup(w.name)) == NULL) {
        pthread_mutex_unlock(&c->mu);
        if (t != NULL)
            fs_temp_free(t);
        fs_handle_free(h);
        return -ENOMEM;
    }
    t->mode = mode & 07777;
    t->uid = ctx->uid;
    t->gid = ctx->gid;
    clock_gettime(CLOCK_REALTIME, &t->mtime);
    t->atime = t->ctime = t->mtime;
    t->linked = 1;
    t->opens = 1;
    t->next = c->temps;
    c->temps = t;
    c->temp_count++;
    h->temp = t;
    h->append = (fi->flags & O_APPEND) != 0;
    pthread_mutex_unlock(&c->mu);
    fi->direct_io = 1;
    fs_handle_give(c, h, fi);
    return 0;
}

static int fs_copy_out(char *buf, size_t size, off_t off, const char *data, size_t len)
{
    if (off < 0 || (size_t)off >= len)
        return 0;
    if (size > len - (size_t)off)
        size = len - (size_t)off;
    memcpy(buf, data + off, size);
    return (int)size;
}

static int fs_op_read(const char *path, char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    int n;

    (void)path;
    if (size > INT_MAX)
        size = INT_MAX;
    switch (h->kind) {
    case FS_H_TEMP:
        pthread_mutex_lock(&c->mu);
        n = fs_copy_out(buf, size, off, h->temp->body.data, h->temp->body.len);
        pthread_mutex_unlock(&c->mu);
        return n;
    case FS_H_LIVE: {
        struct fs_log *l = fs_live_log(c, h->w.e);
        pthread_mutex_lock(&c->mu);
        n = fs_copy_out(buf, size, off, l->buf, l->len);
        pthread_mutex_unlock(&c->mu);
        return n;
    }
    default:
        pthread_mutex_lock(&h->mu);
        n = fs_copy_out(buf, size, off, h->buf, h->len);
        pthread_mutex_unlock(&h->mu);
        return n;
    }
}

static int fs_op_write(const char *path, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    size_t end;
    int rc;

    (void)path;
    if (size > INT_MAX || off < 0)
        return -EINVAL;
    if (h->kind == FS_H_TEMP) {
        struct fs_temp *t = h->temp;
        pthread_mutex_lock(&c->mu);
        if (h->append)
            off = (off_t)t->body.len;
        end = (size_t)off + size;
        if (end > t->body.len && (rc = fs_temp_truncate(c, t, end)) < 0) {
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        memcpy(t->body.data + off, buf, size);
        clock_gettime(CLOCK_REALTIME, &t->mtime);
        pthread_mutex_unlock(&c->mu);
        return (int)size;
    }
    if (h->kind != FS_H_CONTROL)
        return -EBADF;
    return fs_handle_write(c, h, buf, size, off, fuse_get_context()->uid);
}

static int fs_op_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    return fs_handle_apply(fs_ctx_get(), fs_fh(fi), fuse_get_context()->uid);
}

static int fs_op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path, (void)datasync;
    return fs_handle_apply(fs_ctx_get(), fs_fh(fi), fuse_get_context()->uid);
}

static int fs_op_release(const char *path, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);

    (void)path;
    fs_handle_release(c, h);
    return 0;
}

static int fs_op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if (size < 0)
        return -EINVAL;
    if (h != NULL && h->kind == FS_H_CONTROL)
        return fs_handle_truncate(h, (size_t)size);
    if (h != NULL && h->kind == FS_H_TEMP) {
        pthread_mutex_lock(&c->mu);
        rc = fs_temp_truncate(c, h->temp, (size_t)size);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e == NULL) {
        pthread_mutex_lock(&c->mu);
        t = fs_temp_find(c, w.dir, w.name);
        rc = t != NULL ? fs_temp_truncate(c, t, (size_t)size) : -ENOENT;
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    if (S_ISDIR(w.e->mode))
        return -EISDIR;
    if (!fs_writable(w.e))
        return -EACCES;
    /* truncate(2) by path is a write of its own: the shortened content, applied now. */
    {
        struct fs_target tg;
        char *buf;
        size_t len;
        if ((rc = fs_generate(c, &w, &buf, &len)) < 0)
            return rc;
        if ((size_t)size < len) {
            len = (size_t)size;
        } else if ((size_t)size > len) {
            char *nb = realloc(buf, (size_t)size);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            memset(nb + len, 0, (size_t)size - len);
            buf = nb;
            len = (size_t)size;
        }
        fs_target_of(&tg, &w, path);
        rc = fs_apply(c, &tg, buf, len, fuse_get_context()->uid);
        free(buf);
        return rc;
    }
}

static int fs_op_unlink(const char *path)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e != NULL) {
        fs_error(c,
                 "refused removing %s (EPERM) by uid %lu: the files of the tree cannot be "
                 "removed",
                 path + 1, (unsigned long)fuse_get_context()->uid);
        return -EPERM;
    }
    pthread_mutex_lock(&c->mu);
    t = fs_temp_find(c, w.dir, w.name);
    if (t != NULL)
        fs_temp_unlink(c, t);
    pthread_mutex_unlock(&c->mu);
    return t != NULL ? 0 : -ENOENT;
}

static int fs_op_rename(const char *from, const char *to, unsigned int flags)
{
    struct fs_ctx *c = fs_ctx_get();
    uid_t uid = fuse_get_context()->uid;
    struct fs_where wf, wt;
    const struct fs_entry *d;
    struct fs_temp *tf, *tt;
    int rc;

    if (flags & RENAME_EXCHANGE)
        return -EINVAL;
    if ((rc = fs_resolve(c, from, &wf)) < 0 || (rc = fs_resolve(c, to, &wt)) < 0)
        return rc;
    if (wt.e != NULL && S_ISDIR(wt.e->mode))
        return -EISDIR;
    if (wf.e != NULL && S_ISDIR(wf.e->mode))
        return -EPERM;

    if (wf.e == NULL) {
        /* From a temporary file. */
        pthread_mutex_lock(&c->mu);
        if ((tf = fs_temp_find(c, wf.dir, wf.name)) == NULL) {
            pthread_mutex_unlock(&c->mu);
            return -ENOENT;
        }
        if (wt.e != NULL) {
            /* Onto a file of the tree: the temporary file's content is the write. */
            struct fs_target tg;
            char *data = NULL;
            size_t len = tf->body.len;
            if (!fs_writable(wt.e)) {
                pthread_mutex_unlock(&c->mu);
                return -EACCES;
            }
            if (flags & RENAME_NOREPLACE) {
                pthread_mutex_unlock(&c->mu);
                return -EEXIST;
            }
            if ((data = malloc(len + 1)) == NULL) {
                pthread_mutex_unlock(&c->mu);
                return -ENOMEM;
            }
            if (len > 0)
                memcpy(data, tf->body.data, len);
            tf->opens++; /* kept alive while the change is applied without the lock */
            pthread_mutex_unlock(&c->mu);
            fs_target_of(&tg, &wt, to);
            rc = fs_apply(c, &tg, data, len, uid);
            free(data);
            pthread_mutex_lock(&c->mu);
            tf->opens--;
            if (rc == 0 && tf->linked)
                fs_temp_unlink(c, tf);
            else if (!tf->linked && tf->opens == 0)
                fs_temp_free(tf);
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        /* Onto another temporary name. */
        d = fs_dir_entry(c, wt.dir);
        if (d == NULL || !d->temp_dir || !fs_name_is_temp(wt.name)) {
            pthread_mutex_unlock(&c->mu);
            return -EPERM;
        }
        tt = fs_temp_find(c, wt.dir, wt.name);
        if (tt == tf) {
            pthread_mutex_unlock(&c->mu);
            return 0;
        }
        if (tt != NULL && (flags & RENAME_NOREPLACE)) {
            pthread_mutex_unlock(&c->mu);
            return -EEXIST;
        }
        if (tt != NULL)
            fs_temp_unlink(c, tt);
        {
            char *nd = strdup(wt.dir), *nn = strdup(wt.name);
            if (nd == NULL || nn == NULL) {
                free(nd);
                free(nn);
                pthread_mutex_unlock(&c->mu);
                return -ENOMEM;
            }
            free(tf->dir);
            free(tf->name);
            tf->dir = nd;
            tf->name = nn;
            clock_gettime(CLOCK_REALTIME, &tf->ctime);
        }
        pthread_mutex_unlock(&c->mu);
        return 0;
    }

    /* From a file of the tree: only onto a temporary name (an editor's backup by rename),
     * which gets a copy of the content; the file itself stays, as it cannot be removed. */
    d = fs_dir_entry(c, wt.dir);
    if (wt.e != NULL || d == NULL || !d->temp_dir || !fs_name_is_temp(wt.name)) {
        fs_error(c,
                 "refused renaming %s to %s (EPERM) by uid %lu: the files of the tree stay "
                 "where they are",
                 from + 1, to + 1, (unsigned long)uid);
        return -EPERM;
    }
    {
        char *buf;
        size_t len;
        if ((rc = fs_generate(c, &wf, &buf, &len)) < 0)
            return rc;
        pthread_mutex_lock(&c->mu);
        tt = fs_temp_find(c, wt.dir, wt.name);
        if (tt != NULL && (flags & RENAME_NOREPLACE))
            rc = -EEXIST;
        else {
            if (tt != NULL)
                fs_temp_unlink(c, tt);
            rc = fs_temp_make(c, wt.dir, wt.name, buf, len, wf.e->mode & 07777, c->owner_uid,
                              c->owner_gid);
        }
        pthread_mutex_unlock(&c->mu);
        free(buf);
        return rc;
    }
}

/*
 * chmod and chown of a file or directory of the tree: the kernel has checked that the caller
 * may (default_permissions: the owner for chmod and chgrp, root for chown). The new mode and
 * owner are kept across remounts (fs_perm.c). A read-only file stays read-only: a mode with a
 * write bit on one is refused (EPERM). MODE is -1 to keep the mode. Setuid, setgid and sticky
 * bits are dropped.
 */
static int fs_tree_setattr(struct fs_ctx *c, const char *path, const struct fs_entry *e, int mode,
                           uid_t uid, gid_t gid)
{
    const char *p = path[0] == '/' ? path + 1 : path;
    mode_t cur = e->mode;
    uid_t cu;
    gid_t cg;
    int rc;

    if (mode >= 0 && S_ISREG(e->mode) && !fs_writable(e) && (mode & 0222) != 0)
        return -EPERM;
    fs_perm_of(c, p, &cur, &cu, &cg);
    if (mode >= 0)
        cur = (cur & S_IFMT) | ((mode_t)mode & 0777);
    if (uid != (uid_t)-1)
        cu = uid;
    if (gid != (gid_t)-1)
        cg = gid;
    pthread_mutex_lock(&c->mu);
    rc = fs_perm_set(c, p, cur & 0777, cu, cg);
    pthread_mutex_unlock(&c->mu);
    return rc == -ENOMEM ? rc : 0;
}

/* chmod, chown and utimens of temporary files change them; see fs_tree_setattr() for the
 * tree's files. */
static int fs_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    t = h != NULL && h->kind == FS_H_TEMP ? h->temp
        : w.e == NULL                     ? fs_temp_find(c, w.dir, w.name)
                                          : NULL;
    if (t != NULL) {
        t->mode = mode & 07777;
        clock_gettime(CLOCK_REALTIME, &t->ctime);
    }
    pthread_mutex_unlock(&c->mu);
    if (t != NULL)
        return 0;
    if (w.e == NULL)
        return -ENOENT;
    return fs_tree_setattr(c, path, w.e, (int)(mode & 07777), (uid_t)-1, (gid_t)-1);
}

static int fs_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    t = h != NULL && h->kind == FS_H_TEMP ? h->temp
        : w.e == NULL                     ? fs_temp_find(c, w.dir, w.name)
                                          : NULL;
    if (t != NULL) {
        if (uid != (uid_t)-1)
            t->uid = uid;
        if (gid != (gid_t)-1)
            t->gid = gid;
        clock_gettime(CLOCK_REALTIME, &t->ctime);
    }
    pthread_mutex_unlock(&c->mu);
    if (t != NULL)
        return 0;
    if (w.e == NULL)
        return -ENOENT;
    return fs_tree_setattr(c, path, w.e, -1, uid, gid);
}

static int fs_op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    struct timespec now;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&c->mu);
    t = h != NULL && h->kind == FS_H_TEMP ? h->temp
        : w.e == NULL                     ? fs_temp_find(c, w.dir, w.name)
                                          : NULL;
    if (t != NULL) {
        t->atime = tv[0].tv_nsec == UTIME_NOW ? now : tv[0];
        t->mtime = tv[1].tv_nsec == UTIME_NOW ? now : tv[1];
    }
    pthread_mutex_unlock(&c->mu);
    if (t == NULL && w.e == NULL)
        return -ENOENT;
    return 0; /* the tree's times are those of the state they show */
}

static int fs_op_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    memset(st, 0, sizeof(*st));
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namemax = FS_NAME_MAX;
    return 0;
}

static int fs_op_refuse(const char *path, mode_t mode)
{
    (void)path, (void)mode;
    return -EPERM;
}

static int fs_op_refuse2(const char *a, const char *b)
{
    (void)a, (void)b;
    return -EPERM;
}

static int fs_op_rmdir(const char *path)
{
    (void)path;
    return -EPERM;
}

static void *fs_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* O_TRUNC arrives with open(), so truncating and writing are one change. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
    /* Content and attributes change with every accepted change: nothing is cached. */
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->direct_io = 1;
    cfg->hard_remove = 1; /* unlinked temporary files live in their handles */
    cfg->use_ino = 0;
    return fuse_get_context()->private_data;
}

static const struct fuse_operations fs_ops = {
    .init = fs_op_init,
    .getattr = fs_op_getattr,
    .readdir = fs_op_readdir,
    .readlink = fs_op_readlink,
    .open = fs_op_open,
    .create = fs_op_create,
    .read = fs_op_read,
    .write = fs_op_write,
    .flush = fs_op_flush,
    .fsync = fs_op_fsync,
    .release = fs_op_release,
    .truncate = fs_op_truncate,
    .unlink = fs_op_unlink,
    .rename = fs_op_rename,
    .chmod = fs_op_chmod,
    .chown = fs_op_chown,
    .utimens = fs_op_utimens,
    .statfs = fs_op_statfs,
    .mkdir = fs_op_refuse,
    .rmdir = fs_op_rmdir,
    .symlink = fs_op_refuse2,
    .link = fs_op_refuse2,
};

int fs_serve(struct fs_ctx *c, const char *mountpoint, int foreground, const char *fuse_opts,
             const char *log_path)
{
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    struct fuse_loop_config *lc = NULL;
    struct fuse *f = NULL;
    char *opts = NULL;
    int rc = 1, mounted = 0, handlers = 0;

    if (asprintf(&opts, "fsname=unisec,subtype=unisec,default_permissions%s%s",
                 fuse_opts != NULL && fuse_opts[0] ? "," : "",
                 fuse_opts != NULL ? fuse_opts : "") < 0) {
        opts = NULL;
        goto out;
    }
    if (fuse_opt_add_arg(&args, "unisec") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
        fuse_opt_add_arg(&args, opts) < 0)
        goto out;
    if ((f = fuse_new(&args, &fs_ops, sizeof(fs_ops), c)) == NULL) {
        fprintf(stderr, "unisec mount: libfuse refused the options '%s'\n", opts);
        goto out;
    }
    if (fuse_mount(f, mountpoint) != 0) {
        fprintf(stderr,
                "unisec mount: cannot mount on %s (is it an empty directory you may "
                "write, not already mounted? `fusermount3 -u %s` ends a stale mount)\n",
                mountpoint, mountpoint);
        goto out;
    }
    mounted = 1;
    if (!foreground) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "unisec mount: cannot open the log %s: %s\n", log_path,
                    strerror(errno));
            goto out;
        }
        if (fuse_daemonize(0) != 0) {
            close(fd);
            goto out;
        }
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
        goto out;
    handlers = 1;
    {
        struct engine_diag d = {0};
        if (fs_watch_start(c, &d) < 0) {
            char *t = engine_diag_join(&d);
            engine_log("warning",
                       "changes made in the store from outside are noticed only "
                       "at the next write: %s",
                       t != NULL ? t : "");
            free(t);
        }
        engine_diag_free(&d);
    }
    fs_event(c, "mounted %s on %s", c->store_dir, mountpoint);
    {
        /* After daemonising: the orchestrator and the supervisor run threads. */
        struct engine_diag d = {0};
        if (fs_orch_start(c, &d) < 0) {
            char *t = engine_diag_join(&d);
            engine_log("error", "instances cannot be started: %s", t != NULL ? t : "");
            fs_error(c, "instances cannot be started: %s", t != NULL ? t : "");
            free(t);
        }
        engine_diag_free(&d);
    }
    if ((lc = fuse_loop_cfg_create()) == NULL)
        goto out;
    fuse_loop_cfg_set_clone_fd(lc, 0);
    fuse_loop_cfg_set_max_threads(lc, 64);
    rc = fuse_loop_mt(f, lc) == 0 ? 0 : 1;
    fs_watch_stop(c);
    fs_handles_drop(c);
    fs_orch_stop(c);
    engine_log("info", "unmounted %s", mountpoint);

out:
    if (lc != NULL)
        fuse_loop_cfg_destroy(lc);
    if (handlers)
        fuse_remove_signal_handlers(fuse_get_session(f));
    if (mounted)
        fuse_unmount(f);
    if (f != NULL)
        fuse_destroy(f);
    fuse_opt_free_args(&args);
    free(opts);
    return rc;
}
