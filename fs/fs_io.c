/*
 * fs_io.c — the FUSE operations on open files: open and create (a handle per open, fs_handle.c),
 * read, write, flush, fsync, release, and truncate (by handle or by path).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_fuse.h"
#include "fs_tls.h"

/* Hands H to the kernel as FI's file handle; it is counted in C until its release. */
static void fs_handle_give(struct fs_ctx *c, struct fs_handle *h, struct fuse_file_info *fi)
{
    fs_handle_track(c, h);
    fi->fh = (uintptr_t)h;
}

int fs_op_open(const char *path, struct fuse_file_info *fi)
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
    if (w.absent && !(fi->flags & O_CREAT))
        return -ENOENT;
    if (wr && !fs_writable(w.e))
        return -EACCES; /* read-only, even for root */
    if (acc != O_WRONLY && w.e->write == FS_W_TLS_KEY)
        return -EACCES; /* a private key is never read back, even by root */
    if (w.e->live) {
        if ((h = fs_handle_new(FS_H_LIVE, path, &w, fuse_get_context()->uid)) == NULL)
            return -ENOMEM;
        fs_handle_give(c, h, fi);
        return 0;
    }
    if (w.e->disk) { /* an image of 50 MB is not copied per open: read where asked */
        int fd = fs_disk_open(c, &w);
        if (fd < 0)
            return fd;
        if ((h = fs_handle_new(FS_H_DISK, path, &w, fuse_get_context()->uid)) == NULL) {
            close(fd);
            return -ENOMEM;
        }
        h->fd = fd;
        fs_handle_give(c, h, fi);
        return 0;
    }
    if ((h = fs_handle_new(wr ? FS_H_CONTROL : FS_H_SNAPSHOT, path, &w, fuse_get_context()->uid)) ==
        NULL)
        return -ENOMEM;
    if (wr && ((fi->flags & O_TRUNC) || w.absent)) {
        /* empty (a rules file being made too); applied as such at release if nothing is
         * written */
        h->trunc = 1;
    } else if (!wr && w.e->text != NULL) {
        /* read where the state holds it, as it is never written through this handle */
        if ((rc = fs_served_text(c, &w, &h->text)) < 0) {
            fs_handle_free(h);
            return rc;
        }
        h->buf = h->text.data, h->len = h->text.len;
    } else if ((rc = fs_generate(c, &w, &h->buf, &h->len)) < 0) {
        fs_handle_free(h);
        return rc;
    } else if (rc == FS_GEN_FAILED) {
        h->eof_error = EIO;
    }
    if (h->text.data == NULL) /* its own copy, wiped at free; a shared text is neither */
        h->cap = h->held = h->len;
    if (wr && w.e->write == FS_W_TLS_KEY) {
        /* Room for the largest key write at once: the buffer is never moved by a realloc,
         * which would leave a copy of the key in freed memory (fs_handle_free() wipes it). */
        free(h->buf);
        h->len = h->held = 0;
        if ((h->buf = malloc(FS_TLS_MAX)) == NULL) {
            fs_handle_free(h);
            return -ENOMEM;
        }
        h->cap = FS_TLS_MAX;
    }
    h->append = (fi->flags & O_APPEND) != 0;
    fs_handle_give(c, h, fi);
    return 0;
}

int fs_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
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
        if ((fi->flags & O_EXCL) && !w.absent)
            return -EEXIST;
        if (w.absent && (fi->flags & O_ACCMODE) == O_RDONLY)
            return -EACCES; /* a rules file is made by writing it */
        fi->flags |= O_CREAT;
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
    if ((h = fs_handle_new(FS_H_TEMP, path, &w, ctx->uid)) == NULL) {
        pthread_mutex_unlock(&c->mu);
        return -ENOMEM;
    }
    if ((rc = fs_temp_make(c, &t, w.dir, w.name, NULL, 0, mode & 07777, ctx->uid, ctx->gid)) < 0) {
        pthread_mutex_unlock(&c->mu);
        fs_handle_free(h);
        return rc;
    }
    t->opens = 1;
    h->temp = t;
    h->append = (fi->flags & O_APPEND) != 0;
    pthread_mutex_unlock(&c->mu);
    fi->direct_io = 1;
    fs_handle_give(c, h, fi);
    return 0;
}

int fs_op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
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
    case FS_H_LIVE:
        n = fs_live_read(c, &h->w, buf, size, off);
        fs_poll_read(c, h, off, n);
        return n;
    case FS_H_DISK:
        return fs_disk_read(h->fd, buf, size, off);
    default:
        pthread_mutex_lock(&h->mu);
        n = fs_copy_out(buf, size, off, h->buf, h->len);
        if (n == 0 && h->eof_error && off >= 0 && (size_t)off >= h->len)
            n = -h->eof_error;
        pthread_mutex_unlock(&h->mu);
        return n;
    }
}

int fs_op_write(const char *path, const char *buf, size_t size, off_t off,
                struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    int rc;

    (void)path;
    if (size > INT_MAX || off < 0)
        return -EINVAL;
    if (h->kind == FS_H_TEMP) {
        pthread_mutex_lock(&c->mu);
        rc = fs_temp_write(c, h->temp, buf, size, off, h->append);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    if (h->kind != FS_H_CONTROL)
        return -EBADF;
    return fs_handle_write(c, h, buf, size, off, fuse_get_context()->uid);
}

int fs_op_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    return fs_handle_apply(fs_ctx_get(), fs_fh(fi), fuse_get_context()->uid);
}

int fs_op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path, (void)datasync;
    return fs_handle_apply(fs_ctx_get(), fs_fh(fi), fuse_get_context()->uid);
}

int fs_op_release(const char *path, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);

    (void)path;
    fs_poll_forget(c, h);
    fs_handle_release(c, h);
    return 0;
}

int fs_op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_where w;
    struct fs_temp *t;
    int rc;

    if (size < 0)
        return -EINVAL;
    if (h != NULL && h->kind == FS_H_CONTROL)
        return fs_handle_truncate(c, h, (size_t)size, fuse_get_context()->uid);
    if (h != NULL && h->kind == FS_H_TEMP) {
        pthread_mutex_lock(&c->mu);
        rc = fs_temp_truncate(c, h->temp, (size_t)size);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    if ((rc = fs_resolve(c, path, &w)) < 0)
        return rc;
    if (w.e != NULL && w.absent)
        return -ENOENT;
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
        fs_target_of(&tg, &w, path);
        if ((size_t)size > fs_target_max(&tg)) /* before anything that size is allocated */
            return fs_apply(c, &tg, NULL, (size_t)size, fuse_get_context()->uid);
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
        rc = fs_apply(c, &tg, buf, len, fuse_get_context()->uid);
        free(buf);
        return rc;
    }
}
