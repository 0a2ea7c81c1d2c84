/* store_diff.c — the paths a commit changed: a tree diff against its first parent, which
 * compares object ids and reads neither an unchanged subtree nor any blob. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int engine_store_changes(const struct engine_store *s, const char *commit, int whole,
                         int (*cb)(const char *path, int removed, void *arg), void *arg,
                         struct engine_diag *diag)
{
    git_diff_options o = GIT_DIFF_OPTIONS_INIT;
    git_commit *c = NULL, *p = NULL;
    git_tree *t = NULL, *pt = NULL;
    git_diff *d = NULL;
    git_oid cid;
    char **paths = NULL;
    unsigned char *removed = NULL;
    size_t n = 0;
    int error;

    if (git_oid_fromstr(&cid, commit) < 0)
        return store_err(diag, s->dir, -EINVAL, "changes: %s is not a commit id", commit);
    o.flags = GIT_DIFF_SKIP_BINARY_CHECK;
    store_lock(s);
    if ((error = git_commit_lookup(&c, s->repo, &cid)) < 0 ||
        (error = git_commit_tree(&t, c)) < 0 ||
        (!whole && git_commit_parentcount(c) > 0 &&
         ((error = git_commit_parent(&p, c, 0)) < 0 || (error = git_commit_tree(&pt, p)) < 0)) ||
        (error = git_diff_tree_to_tree(&d, s->repo, pt, t, &o)) < 0) {
        error = store_git_err(diag, s->dir, error, "changes");
        goto unlock;
    }
    /* Copied out: CB runs without the store's lock, so that it may read the store. */
    n = git_diff_num_deltas(d);
    if (n > 0 && ((paths = calloc(n, sizeof(*paths))) == NULL ||
                  (removed = calloc(n, sizeof(*removed))) == NULL)) {
        error = store_err(diag, s->dir, -ENOMEM, "changes: out of memory");
        goto unlock;
    }
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *x = git_diff_get_delta(d, i);
        removed[i] = x->status == GIT_DELTA_DELETED;
        if ((paths[i] = strdup(removed[i] ? x->old_file.path : x->new_file.path)) == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "changes: out of memory");
            goto unlock;
        }
    }
unlock:
    git_diff_free(d);
    git_tree_free(pt);
    git_tree_free(t);
    git_commit_free(p);
    git_commit_free(c);
    store_unlock(s);
    for (size_t i = 0; i < n && error >= 0; i++)
        error = cb(paths[i], removed[i], arg);
    for (size_t i = 0; paths != NULL && i < n; i++)
        free(paths[i]);
    free(paths);
    free(removed);
    return error < 0 ? error : 0;
}
