/* store_worktree.c — the work tree and the index brought to a tree: checkout of paths, or
 * index entries adopted for files that already hold the tree's content; durable. */
#include "store_int.h"
#include "fault.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The inode of work-tree file REL of S (0 when it is absent or not a regular file). */
static ino_t store_worktree_inode(const struct engine_store *s, const char *rel, dev_t *dev)
{
    char buf[PATH_MAX];
    struct stat st;

    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", s->dir, rel) >= sizeof(buf) ||
        lstat(buf, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    *dev = st.st_dev;
    return st.st_ino;
}

/*
 * Makes PATHS (N of them; all of the tree when N is 0) in the work tree and the index equal to
 * TREE: writes, replaces, deletes (also untracked files at those paths), then fsyncs them. A
 * file rewritten in place (same inode before and after) is synced alone: the names leading to
 * it did not change; any other path syncs its directories up to the root too.
 */
int store_checkout(struct engine_store *s, git_tree *tree, char **paths, size_t n, const char *op,
                   struct engine_diag *diag)
{
    git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
    git_index *index = NULL;
    ino_t *before = NULL;
    dev_t *dev = NULL;
    int error;

    if (n > 0 && ((before = calloc(n, sizeof(*before))) == NULL ||
                  (dev = calloc(n, sizeof(*dev))) == NULL)) {
        error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        before[i] = store_worktree_inode(s, paths[i], &dev[i]);
    /* What the index tracks is what was checked out: with it as the baseline, a path the
     * index has and TREE lacks is deleted. */
    if ((error = git_repository_index(&index, s->repo)) < 0 ||
        (error = git_index_read(index, 0)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    opts.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (n > 0)
        opts.checkout_strategy |=
            GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    opts.paths.strings = paths;
    opts.paths.count = n;
    opts.baseline_index = index;
    if ((error = git_checkout_tree(s->repo, (const git_object *)tree, &opts)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        dev_t d = 0;
        ino_t after = store_worktree_inode(s, paths[i], &d);
        if (before[i] != 0 && after == before[i] && d == dev[i])
            error = store_fsync_worktree(s->dir, paths[i], 0);
        else
            error = store_fsync_worktree(s->dir, paths[i], 1);
        if (error < 0) {
            error = store_err(diag, s->dir, error, "%s: fsync of %s: %s", op, paths[i],
                              strerror(-error));
            goto cleanup;
        }
    }
    /* libgit2 1.5 renames the new index into place without fsync. */
    if ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0)
        error = store_err(diag, s->dir, error, "%s: fsync of the index: %s", op, strerror(-error));

cleanup:
    free(before);
    free(dev);
    git_index_free(index);
    return error;
}

/*
 * Fills IE's file fields (times, device, inode, owner, size) from its work-tree file when that
 * file holds IE's blob, so that git and libgit2 find it unchanged from its stat alone instead
 * of reading it again at every status; otherwise they stay zero (content is compared). The
 * file is hashed between two lstat()s that must agree: an edit made meanwhile is never
 * recorded as clean.
 */
static void store_index_stat_set(git_index_entry *ie, const struct stat *a)
{
    ie->ctime.seconds = (int32_t)a->st_ctim.tv_sec;
    ie->ctime.nanoseconds = (uint32_t)a->st_ctim.tv_nsec;
    ie->mtime.seconds = (int32_t)a->st_mtim.tv_sec;
    ie->mtime.nanoseconds = (uint32_t)a->st_mtim.tv_nsec;
    ie->dev = (uint32_t)a->st_dev;
    ie->ino = (uint32_t)a->st_ino;
    ie->uid = (uint32_t)a->st_uid;
    ie->gid = (uint32_t)a->st_gid;
    ie->file_size = (uint32_t)a->st_size;
}

static void store_index_stat(struct engine_store *s, git_index_entry *ie)
{
    char path[PATH_MAX];
    struct stat a, b;
    git_oid id;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, ie->path) >= sizeof(path) ||
        lstat(path, &a) < 0 || !S_ISREG(a.st_mode) ||
        git_repository_hashfile(&id, s->repo, ie->path, GIT_OBJECT_BLOB, NULL) < 0 ||
        !git_oid_equal(&id, &ie->id) || lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev || a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
        a.st_mtim.tv_nsec != b.st_mtim.tv_nsec || a.st_ctim.tv_sec != b.st_ctim.tv_sec ||
        a.st_ctim.tv_nsec != b.st_ctim.tv_nsec)
        return;
    store_index_stat_set(ie, &a);
}

/* How often the index is read and changed again when git wrote it meanwhile. */
#define STORE_INDEX_TRIES 4

/*
 * Has the index file changed since INDEX was read from it? The checksum that ends the file
 * against the one libgit2 read. The store reads, changes and writes the index, while git takes
 * the index's lock before it reads: a `git add` or `git rm` that wrote it in between would be
 * overwritten, the operator's staged change lost. Checked just before the write, what is left
 * is the time from here to libgit2's taking of the lock.
 */
static int store_index_moved(const struct engine_store *s, git_index *index)
{
    char path[PATH_MAX];
    unsigned char sum[GIT_OID_RAWSZ];
    const git_oid *was = git_index_checksum(index);
    struct stat st;
    int fd, moved = 0;

    if ((size_t)snprintf(path, sizeof(path), "%sindex", git_repository_path(s->repo)) >=
        sizeof(path))
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT && !git_oid_is_zero(was); /* removed since */
    if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(sum) &&
        pread(fd, sum, sizeof(sum), st.st_size - (off_t)sizeof(sum)) == (ssize_t)sizeof(sum))
        moved = memcmp(sum, was->id, sizeof(sum)) != 0;
    close(fd);
    return moved;
}

/*
 * Makes the index entries of PATHS (N of them) equal to TREE without touching the work tree,
 * whose files already hold TREE's content (a hand edit the commit took as it is): each entry
 * gets TREE's blob and its file's stat (store_index_stat()), or is removed when TREE lacks the
 * path. WRITTEN (may be NULL) holds, for each path the store has just written itself, the
 * stat of that file taken on its descriptor (st_ino 0: none), which is used as it is, as git's
 * checkout does. KNOWN (may be NULL) holds TREE's entry of each path as the commit just made
 * it, so that TREE's objects are not read again. Durable, or, without SYNC, written only.
 */
static int store_index_adopt(struct engine_store *s, git_tree *tree, char **paths, size_t n,
                             const struct stat *written, const git_tree_update *known, int sync,
                             const char *op, struct engine_diag *diag)
{
    git_index *index = NULL;
    git_tree_entry *e = NULL;
    int error = 0;

    for (int attempt = 0;; attempt++) {
        /* Again from the file when git wrote it meanwhile (store_index_moved()). */
        if ((error = git_repository_index(&index, s->repo)) < 0 ||
            (error = git_index_read(index, attempt > 0)) < 0) {
            error = store_git_err(diag, s->dir, error, op);
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            git_index_entry ie;
            if (known != NULL)
                error = known[i].action == GIT_TREE_UPDATE_REMOVE ? GIT_ENOTFOUND : 0;
            else
                error = git_tree_entry_bypath(&e, tree, paths[i]);
            if (error == GIT_ENOTFOUND) {
                error = git_index_remove_bypath(index, paths[i]);
            } else if (error == 0) {
                memset(&ie, 0, sizeof(ie));
                ie.path = paths[i];
                ie.mode = known != NULL ? known[i].filemode : git_tree_entry_filemode(e);
                git_oid_cpy(&ie.id, known != NULL ? &known[i].id : git_tree_entry_id(e));
                if (written != NULL && written[i].st_ino != 0)
                    store_index_stat_set(&ie, &written[i]);
                else
                    store_index_stat(s, &ie);
                error = git_index_add(index, &ie);
            }
            git_tree_entry_free(e);
            e = NULL;
            if (error < 0) {
                error = store_git_err(diag, s->dir, error, op);
                goto cleanup;
            }
        }
        engine_fault(ENGINE_FAULT_INDEX); /* tests: a git command writes the index now */
        if (attempt + 1 >= STORE_INDEX_TRIES || !store_index_moved(s, index))
            break;
        git_index_free(index);
        index = NULL;
    }
    if ((error = git_index_write(index)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    if (sync && ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0))
        error = store_err(diag, s->dir, error, "%s: fsync of the index: %s", op, strerror(-error));

cleanup:
    git_index_free(index);
    return error;
}

/* Brings the work tree and the index to TREE for CHECKOUT (N paths, rewritten) and ADOPT (NA
 * paths whose work-tree files already hold TREE's content: index only). */
int store_finish_paths(struct engine_store *s, git_tree *tree, char **checkout, size_t n,
                       char **adopt, size_t na, const char *op, struct engine_diag *diag)
{
    int error = 0;

    if (n > 0 && (error = store_checkout(s, tree, checkout, n, op, diag)) < 0)
        return error;
    if (na > 0)
        error = store_index_adopt(s, tree, adopt, na, NULL, NULL, 1, op, diag);
    return error;
}

/* The largest file rewritten in place from its first changed byte; a larger one is truncated
 * and written whole. */
#define STORE_INPLACE_MAX (1 << 20)

/* Writes DATA (LEN bytes) to FD, from offset AT. */
static int store_pwrite_all(int fd, const char *data, size_t len, size_t at)
{
    while (at < len) {
        ssize_t w = pwrite(fd, data + at, len - at, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        at += (size_t)w;
    }
    return 0;
}

/*
 * Rewrites the existing plain file FD (SIZE bytes) with DATA (LEN bytes) in place: from the
 * first byte that differs, then cut to LEN. A level write changes one line of state/levels:
 * one block is written and none is freed or allocated, where a truncation freed and wrote them
 * all. A crash meanwhile leaves a mixed file, as a truncation left a short one: the journal
 * names the path and the recovery rewrites it from the head.
 */
static int store_rewrite_in_place(int fd, off_t size, const char *data, size_t len)
{
    size_t at = 0, old = (size_t)size;
    char *buf;
    int rc;

    if (old > STORE_INPLACE_MAX || (buf = malloc(old > 0 ? old : 1)) == NULL) {
        if (ftruncate(fd, 0) < 0)
            return -errno;
        return store_pwrite_all(fd, data, len, 0);
    }
    if (pread(fd, buf, old, 0) == (ssize_t)old)
        while (at < old && at < len && buf[at] == data[at])
            at++;
    free(buf);
    if ((rc = store_pwrite_all(fd, data, len, at)) < 0)
        return rc;
    return old > len && ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

/*
 * Puts C's bytes in its work-tree file (or removes it), creating missing parent directories,
 * and makes it durable: a file rewritten in place is synced alone (fdatasync: its names did
 * not change), a created or removed one with its directories. With LAZY a file rewritten in
 * place is not synced (*UNSYNCED set). Returns 0, 1 when the path is not a plain file under
 * plain directories (a link, a directory: git's checkout is the one to replace those), or a
 * negative errno.
 */
static int store_write_change(const struct engine_store *s, const struct engine_store_change *c,
                              int lazy, struct stat *out, int *unsynced)
{
    char path[PATH_MAX];
    size_t root = strlen(s->dir);
    struct stat st;
    int fd, names = 0, rc = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, c->path) >= sizeof(path))
        return -ENAMETOOLONG;
    for (char *p = path + root + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (lstat(path, &st) == 0)
            rc = S_ISDIR(st.st_mode) ? 0 : 1;
        else if (errno != ENOENT)
            rc = -errno;
        else if (c->remove)
            rc = 2; /* below a missing directory: nothing to remove */
        else if (mkdir(path, 0755) < 0)
            rc = -errno;
        else
            names = 1;
        *p = '/';
        if (rc != 0)
            return rc == 2 ? 0 : rc;
    }
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT)
            return -errno;
        if (c->remove)
            return 0;
        names = 1;
    } else if (!S_ISREG(st.st_mode)) {
        return 1;
    }
    if (c->remove) {
        if (unlink(path) < 0)
            return -errno;
        return store_fsync_worktree(s->dir, c->path, 1);
    }
    fd = open(path, O_CLOEXEC | O_NOFOLLOW | (names ? O_WRONLY | O_CREAT | O_EXCL : O_RDWR), 0644);
    if (fd < 0 && errno == EACCES && !names) /* a file the store may write but not read */
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC);
    if (fd < 0)
        return -errno;
    if (names || (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY)
        rc = store_pwrite_all(fd, c->data, c->len, 0);
    else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        rc = -EBUSY; /* replaced since the lstat() above */
    else
        rc = store_rewrite_in_place(fd, st.st_size, c->data, c->len);
    *unsynced = rc == 0 && !names && lazy;
    if (rc == 0 && !names && !lazy && fdatasync(fd) < 0)
        rc = -errno;
    if (rc == 0 && fstat(fd, out) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc < 0 || !names ? rc : store_fsync_worktree(s->dir, c->path, 1);
}

int store_finish_changes(struct engine_store *s, git_tree *tree,
                         const struct engine_store_change *c, const git_tree_update *upd, size_t n,
                         char **paths, size_t nw, int lazy, int *deferred, const char *op,
                         struct engine_diag *diag)
{
    struct stat *written = calloc(n, sizeof(*written));
    git_tree_update *known = calloc(n, sizeof(*known));
    char *unsynced = calloc(n, 1);
    int rc = 0, all = lazy, u = 0;

    *deferred = 0;
    if (written == NULL || known == NULL || unsynced == NULL) {
        rc = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
        goto done;
    }
    /* UPD in the order of PATHS. */
    for (size_t i = 0, j = 0, k = nw; i < n; i++)
        known[c[i].from_worktree ? k++ : j++] = upd[i];
    /* PATHS lists the changes in C's order, those the store writes first. */
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        if (c[i].from_worktree)
            continue;
        if ((rc = store_write_change(s, &c[i], lazy, &written[k++], &u)) > 0)
            rc = store_finish_paths(s, tree, paths, nw, paths + nw, n - nw, op, diag);
        else if (rc < 0)
            store_err(diag, s->dir, rc, "%s: writing %s: %s", op, c[i].path, strerror(-rc));
        else {
            unsynced[i] = (char)u;
            all &= u;
            continue;
        }
        /* Every path synced by git's checkout, the unsynced ones written before too. */
        goto done;
    }
    /* Some file was not rewritten in place (created): those that were are synced now. */
    for (size_t i = 0; !all && rc == 0 && i < n; i++)
        if (unsynced[i] && (rc = store_fsync_worktree(s->dir, c[i].path, 0)) < 0)
            store_err(diag, s->dir, rc, "%s: fsync of %s: %s", op, c[i].path, strerror(-rc));
    /* Every file holds the tree's content now: the index takes it with the files' stat. */
    if (rc == 0)
        rc = store_index_adopt(s, tree, paths, n, written, known, !all, op, diag);
    *deferred = rc == 0 && all;
done:
    free(written);
    free(known);
    free(unsynced);
    return rc;
}
