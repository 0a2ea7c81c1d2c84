/* store_worktree.c — the work tree and the index brought to a tree: checkout of paths, or
 * index entries adopted for files that already hold the tree's content; durable. */
#include "store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    ie->ctime.seconds = (int32_t)a.st_ctim.tv_sec;
    ie->ctime.nanoseconds = (uint32_t)a.st_ctim.tv_nsec;
    ie->mtime.seconds = (int32_t)a.st_mtim.tv_sec;
    ie->mtime.nanoseconds = (uint32_t)a.st_mtim.tv_nsec;
    ie->dev = (uint32_t)a.st_dev;
    ie->ino = (uint32_t)a.st_ino;
    ie->uid = (uint32_t)a.st_uid;
    ie->gid = (uint32_t)a.st_gid;
    ie->file_size = (uint32_t)a.st_size;
}

/*
 * Makes the index entries of PATHS (N of them) equal to TREE without touching the work tree,
 * whose files already hold TREE's content (a hand edit the commit took as it is): each entry
 * gets TREE's blob and its file's stat (store_index_stat()), or is removed when TREE lacks the
 * path. Durable.
 */
static int store_index_adopt(struct engine_store *s, git_tree *tree, char **paths, size_t n,
                             const char *op, struct engine_diag *diag)
{
    git_index *index = NULL;
    git_tree_entry *e = NULL;
    int error;

    if ((error = git_repository_index(&index, s->repo)) < 0 ||
        (error = git_index_read(index, 0)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        git_index_entry ie;
        if ((error = git_tree_entry_bypath(&e, tree, paths[i])) == GIT_ENOTFOUND) {
            error = git_index_remove_bypath(index, paths[i]);
        } else if (error == 0) {
            memset(&ie, 0, sizeof(ie));
            ie.path = paths[i];
            ie.mode = git_tree_entry_filemode(e);
            git_oid_cpy(&ie.id, git_tree_entry_id(e));
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
    if ((error = git_index_write(index)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    if ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0)
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
        error = store_index_adopt(s, tree, adopt, na, op, diag);
    return error;
}
