/* store_scan.c — the files a change brings, read: those that differ between two commits, and
 * those that the commits new to a repository add or change (what a push brings, seen from its
 * pre-receive hook), each bounded before it is read. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct scan {
    const struct engine_store *s;
    const char *commit; /* the commit whose files these are */
    size_t max_bytes;
    engine_store_file_cb cb;
    void *arg;
    struct engine_diag *diag;
    int error;
};

/* One file of the diff: its size from the object's header, then its bytes, NUL-terminated. */
static int scan_file(const git_diff_delta *d, float progress, void *payload)
{
    struct scan *sc = payload;
    git_odb *odb = NULL;
    git_odb_object *o = NULL;
    git_object_t type;
    size_t size;
    char *copy;
    int error;

    (void)progress;
    if (d->status == GIT_DELTA_DELETED) {
        sc->error = sc->cb(sc->commit, d->old_file.path, NULL, 0, sc->arg);
        return sc->error != 0 ? GIT_EUSER : 0;
    }
    if (!(d->new_file.mode == GIT_FILEMODE_BLOB ||
          d->new_file.mode == GIT_FILEMODE_BLOB_EXECUTABLE))
        return 0;
    if ((error = git_repository_odb(&odb, sc->s->repo)) == 0 &&
        (error = git_odb_read_header(&size, &type, odb, &d->new_file.id)) == 0 &&
        size > sc->max_bytes)
        error = store_err(sc->diag, d->new_file.path, -EFBIG,
                          "%zu bytes in commit %.12s (at most %zu are read)", size, sc->commit,
                          sc->max_bytes);
    else if (error == 0 && (error = git_odb_read(&o, odb, &d->new_file.id)) == 0) {
        if ((copy = malloc(size + 1)) == NULL)
            error = store_err(sc->diag, sc->s->dir, -ENOMEM, "scan: out of memory");
        else {
            memcpy(copy, git_odb_object_data(o), size);
            copy[size] = '\0';
            error = sc->cb(sc->commit, d->new_file.path, copy, size, sc->arg);
            free(copy);
        }
        git_odb_object_free(o);
    } else if (error < 0)
        error = store_git_err(sc->diag, sc->s->dir, error, "scan");
    git_odb_free(odb);
    sc->error = error;
    return error != 0 ? GIT_EUSER : 0;
}

/* The files that differ between trees A (NULL: none) and B, to SC's callback. */
static int scan_trees(struct scan *sc, git_tree *a, git_tree *b)
{
    git_diff_options opt = GIT_DIFF_OPTIONS_INIT;
    git_diff *d = NULL;
    int error;

    opt.flags = GIT_DIFF_SKIP_BINARY_CHECK;
    if ((error = git_diff_tree_to_tree(&d, sc->s->repo, a, b, &opt)) < 0)
        return store_git_err(sc->diag, sc->s->dir, error, "scan");
    sc->error = 0;
    error = git_diff_foreach(d, scan_file, NULL, NULL, NULL, sc);
    git_diff_free(d);
    return error == GIT_EUSER ? sc->error
           : error < 0        ? store_git_err(sc->diag, sc->s->dir, error, "scan")
                              : 0;
}

/* The tree of commit ID (its first parent's when PARENT), or NULL for a root's parent. */
static int scan_tree(git_tree **out, const struct engine_store *s, const git_oid *id, int parent)
{
    git_commit *c = NULL, *p = NULL;
    int error;

    *out = NULL;
    if ((error = git_commit_lookup(&c, s->repo, id)) < 0)
        return error;
    if (parent && git_commit_parentcount(c) == 0) {
        git_commit_free(c);
        return 0;
    }
    if (parent && (error = git_commit_parent(&p, c, 0)) < 0) {
        git_commit_free(c);
        return error;
    }
    error = git_commit_tree(out, parent ? p : c);
    git_commit_free(p);
    git_commit_free(c);
    return error;
}

int engine_store_diff_files(const struct engine_store *s, const char *from, const char *to,
                            size_t max_bytes, engine_store_file_cb cb, void *arg,
                            struct engine_diag *diag)
{
    struct scan sc = {
        .s = s, .commit = to, .max_bytes = max_bytes, .cb = cb, .arg = arg, .diag = diag};
    git_tree *a = NULL, *b = NULL;
    git_oid f, t;
    int error;

    if (git_oid_fromstr(&t, to) < 0 || (from != NULL && from[0] && git_oid_fromstr(&f, from) < 0))
        return store_err(diag, s->dir, -EINVAL, "scan: not a commit id");
    store_lock(s);
    if ((from != NULL && from[0] && (error = scan_tree(&a, s, &f, 0)) < 0) ||
        (error = scan_tree(&b, s, &t, 0)) < 0)
        error = store_git_err(diag, s->dir, error, "scan");
    else
        error = scan_trees(&sc, a, b);
    git_tree_free(a);
    git_tree_free(b);
    store_unlock(s);
    return error;
}

int engine_store_new_files(const struct engine_store *s, const char *tip, size_t max_commits,
                           size_t max_bytes, engine_store_file_cb cb, void *arg,
                           struct engine_diag *diag)
{
    struct scan sc = {.s = s, .max_bytes = max_bytes, .cb = cb, .arg = arg, .diag = diag};
    git_revwalk *w = NULL;
    char hex[GIT_OID_HEXSZ + 1];
    size_t n = 0;
    git_oid t, id;
    int error;

    if (git_oid_fromstr(&t, tip) < 0)
        return store_err(diag, s->dir, -EINVAL, "scan: not a commit id");
    store_lock(s);
    /* What no ref reaches yet: in a pre-receive hook, what the push brings. */
    if ((error = git_revwalk_new(&w, s->repo)) < 0 || (error = git_revwalk_push(w, &t)) < 0 ||
        (error = git_revwalk_hide_glob(w, "refs/*")) < 0) {
        error = store_git_err(diag, s->dir, error, "scan");
        goto out;
    }
    while ((error = git_revwalk_next(&id, w)) == 0) {
        git_tree *a = NULL, *b = NULL;
        if (++n > max_commits) {
            error = store_err(diag, s->dir, -E2BIG, "more than %zu new commits", max_commits);
            goto out;
        }
        git_oid_tostr(hex, sizeof(hex), &id);
        sc.commit = hex;
        if ((error = scan_tree(&a, s, &id, 1)) < 0 || (error = scan_tree(&b, s, &id, 0)) < 0)
            error = store_git_err(diag, s->dir, error, "scan");
        else
            error = scan_trees(&sc, a, b);
        git_tree_free(a);
        git_tree_free(b);
        if (error != 0)
            goto out;
    }
    error = error == GIT_ITEROVER ? 0 : store_git_err(diag, s->dir, error, "scan");
out:
    git_revwalk_free(w);
    store_unlock(s);
    return error;
}
