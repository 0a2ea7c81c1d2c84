/*
 * fs_ops.c — the FUSE operations on names and attributes: getattr, readlink, readdir, unlink,
 * rename, chmod, chown, utimens, statfs, and the refusals (mkdir, rmdir, symlink, link).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_fuse.h"
#include "fs_tls.h"

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

/* An image with an internal PDP carries the credentials' salted hashes: images/ID/image may
 * be read by those who may read policy/credentials (its owner, group and read bits), no one
 * else. */
static void fs_image_perm(struct fs_ctx *c, struct stat *st)
{
    struct fs_where w;
    mode_t mode;

    if (fs_resolve(c, "/policy/credentials", &w) < 0 || w.e == NULL) {
        st->st_mode &= ~(mode_t)0077;
        return;
    }
    mode = w.e->mode;
    fs_perm_of(c, "policy/credentials", &mode, &st->st_uid, &st->st_gid);
    st->st_mode = (st->st_mode & ~(mode_t)07777) | (mode & 0444);
}

int fs_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc, held = -1;

    if (h != NULL && h->kind == FS_H_TEMP) {
        pthread_mutex_lock(&c->mu);
        t = h->temp;
        goto temp;
    }
    if (h != NULL && h->kind == FS_H_DISK)
        w = h->w; /* by its handle: the image may have been removed since the open */
    else if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e == NULL && h == NULL) /* fstat of an image's file removed since its open, if held */
        held = fs_handle_disk_dup(c, path, &w);
    if (w.e != NULL && w.absent) {
        /* A rules file being made (the kernel asks by path too): empty until it is applied. */
        struct timespec now;
        int pending;
        pthread_mutex_lock(&c->mu);
        pending = (h != NULL && h->kind == FS_H_CONTROL) || fs_handle_making(c, w.node);
        pthread_mutex_unlock(&c->mu);
        if (!pending)
            return -ENOENT;
        clock_gettime(CLOCK_REALTIME, &now);
        fs_stat_fill(c, st, w.e->mode, 0, &now);
        return 0;
    }
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
            fs_live_stat(c, &w, &size, &mt);
        } else if (S_ISREG(w.e->mode) && w.e->disk) {
            rc = fs_disk_stat(c, &w, h != NULL && h->kind == FS_H_DISK ? h->fd : held, &size, &mt);
            if (held >= 0)
                close(held);
            if (rc < 0)
                return rc;
        } else if (S_ISREG(w.e->mode)) {
            struct fs_text text;
            char *buf;
            if (!fs_touch_file_mtime(c, &w, path[0] == '/' ? path + 1 : path, &mt)) {
                struct fs_snap *s = fs_snap_get(c);
                mt = s->since; /* tosca/, README: the last change of anything */
                fs_snap_put(c, s);
            }
            if (w.e->text != NULL && (rc = fs_served_text(c, &w, &text)) == 0) {
                size = text.len; /* no copy of a file of 40 MB for a stat */
                fs_text_free(&text);
            } else if (w.e->text == NULL && (rc = fs_generate(c, &w, &buf, &size)) >= 0) {
                free(buf);
            }
            if (rc < 0)
                return rc;
        } else if (S_ISDIR(w.e->mode)) {
            pthread_mutex_lock(&c->mu);
            fs_temp_dir_mtime(c, path[0] == '/' ? path + 1 : path, &mt);
            pthread_mutex_unlock(&c->mu);
        }
        fs_stat_fill(c, st, w.e->mode, size, &mt);
        fs_perm_of(c, path[0] == '/' ? path + 1 : path, &st->st_mode, &st->st_uid, &st->st_gid);
        if (strcmp(w.e->pattern, "images/*/image") == 0)
            fs_image_perm(c, st);
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

int fs_op_readlink(const char *path, char *buf, size_t size)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_where w;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e == NULL || !S_ISLNK(w.e->mode))
        return w.e == NULL || w.absent ? -ENOENT : -EINVAL;
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

int fs_op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
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

int fs_op_unlink(const char *path)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e != NULL && w.absent)
        return -ENOENT;
    if (w.e != NULL && (w.e->write == FS_W_RULES || w.e->write == FS_W_INPUT)) {
        /* Removing a rules file, or an input's value, is a change of its own: validated,
         * committed (inputs/NAME stays, its default in force). */
        struct fs_target tg;
        fs_target_of(&tg, &w, path);
        tg.remove = 1;
        return fs_apply_in_dir(c, &tg, NULL, 0, fuse_get_context()->uid);
    }
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

int fs_op_rename(const char *from, const char *to, unsigned int flags)
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
    if (wf.e != NULL && wf.absent)
        return -ENOENT;

    if (wf.e == NULL) {
        /* From a temporary file. The target's directory is looked up before the lock: a
         * node's directory is found in the state snapshot, which takes the lock itself. */
        d = fs_dir_entry(c, wt.dir);
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
            if ((flags & RENAME_NOREPLACE) && !wt.absent) {
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
            rc = fs_apply_in_dir(c, &tg, data, len, uid);
            fs_tls_wipe(data, len);
            pthread_mutex_lock(&c->mu);
            if (rc == 0 && tf->linked)
                fs_temp_unlink(c, tf);
            fs_temp_put(tf);
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
        /* Onto another temporary name. */
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
        rc = fs_temp_rename(c, tf, wt.dir, wt.name);
        pthread_mutex_unlock(&c->mu);
        return rc;
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
            rc = fs_temp_make(c, &tt, wt.dir, wt.name, buf, len, wf.e->mode & 07777, c->owner_uid,
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

/* The temporary file a call on H (may be NULL) or at W is about, or NULL. Caller holds
 * c->mu. */
static struct fs_temp *fs_temp_at(struct fs_ctx *c, struct fs_handle *h, const struct fs_where *w)
{
    if (h != NULL && h->kind == FS_H_TEMP)
        return h->temp;
    return w->e == NULL ? fs_temp_find(c, w->dir, w->name) : NULL;
}

/* chmod, chown and utimens of temporary files change them; see fs_tree_setattr() for the
 * tree's files. */
int fs_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    t = fs_temp_at(c, h, &w);
    if (t != NULL) {
        t->mode = mode & 07777;
        clock_gettime(CLOCK_REALTIME, &t->ctime);
    }
    pthread_mutex_unlock(&c->mu);
    if (t != NULL)
        return 0;
    if (w.e == NULL || w.absent)
        return -ENOENT;
    return fs_tree_setattr(c, path, w.e, (int)(mode & 07777), (uid_t)-1, (gid_t)-1);
}

int fs_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    t = fs_temp_at(c, h, &w);
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
    if (w.e == NULL || w.absent)
        return -ENOENT;
    return fs_tree_setattr(c, path, w.e, -1, uid, gid);
}

int fs_op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
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
    t = fs_temp_at(c, h, &w);
    if (t != NULL) {
        t->atime = tv[0].tv_nsec == UTIME_NOW ? now : tv[0];
        t->mtime = tv[1].tv_nsec == UTIME_NOW ? now : tv[1];
    }
    pthread_mutex_unlock(&c->mu);
    if (t == NULL && (w.e == NULL || w.absent))
        return -ENOENT;
    if (t == NULL && fs_touch_by_toucher(c))
        return 0; /* fs_touch.c: the time shown is the one it recorded */
    /* The tree's times are those of the state they show: setting them would succeed and
     * change nothing, so it is refused (asking for no change at all is no change). */
    if (t == NULL && !(tv[0].tv_nsec == UTIME_OMIT && tv[1].tv_nsec == UTIME_OMIT))
        return -EPERM;
    return 0;
}

int fs_op_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    memset(st, 0, sizeof(*st));
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namemax = FS_NAME_MAX;
    return 0;
}

int fs_op_mknod(const char *path, mode_t mode, dev_t dev)
{
    struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
    int rc;

    (void)dev;
    /* A regular file is a temporary file made as create(2) makes it; FIFOs, sockets and
     * devices have no place in the tree. */
    if (!S_ISREG(mode)) {
        fs_error(fs_ctx_get(),
                 "refused making %s (EPERM) by uid %lu: FIFOs, sockets and device files cannot be "
                 "made",
                 path + 1, (unsigned long)fuse_get_context()->uid);
        return -EPERM;
    }
    if ((rc = fs_op_create(path, mode, &fi)) < 0)
        return rc;
    return fs_op_release(path, &fi);
}

int fs_op_refuse(const char *path, mode_t mode)
{
    (void)path, (void)mode;
    return -EPERM;
}

int fs_op_refuse2(const char *a, const char *b)
{
    (void)a, (void)b;
    return -EPERM;
}

int fs_op_rmdir(const char *path)
{
    (void)path;
    return -EPERM;
}
