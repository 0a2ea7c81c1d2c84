/* store_path.c — one file's history along main's first parents: the version a file had before
 * the one in force, found by comparing the ids of tree entries (no blob is read but the one
 * returned), so that its cost is a commit and the trees on the file's path per commit walked,
 * bounded by the caller. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int engine_store_path_before(const struct engine_store *s, const char *from, const char *path,
                             const char *id, size_t max, size_t max_bytes, char **data, size_t *len,
                             char at[41], size_t *walked, struct engine_diag *diag)
{
    git_commit *c = NULL, *p = NULL;
    git_tree *t = NULL;
    git_tree_entry *e = NULL;
    git_oid cid, want;
    int have = id != NULL && id[0] != '\0', error;
    size_t n = 0;

    *data = NULL;
    *len = 0;
    at[0] = '\0';
    if ((error = store_path_check_in(s->dir, path, diag)) < 0)
        return error;
    if (from != NULL && git_oid_fromstr(&cid, from) < 0)
        return store_err(diag, s->dir, -EINVAL, "history: %s is not a commit id", from);
    if (have && git_oid_fromstr(&want, id) < 0)
        return store_err(diag, s->dir, -EINVAL, "history: %s is not an object id", id);
    store_lock(s);
    if (from == NULL)
        git_oid_cpy(&cid, &s->head);
    if (git_oid_is_zero(&cid)) {
        error = 0; /* no commit yet */
        goto out;
    }
    if ((error = git_commit_lookup(&c, s->repo, &cid)) < 0) {
        error = error == GIT_ENOTFOUND ? store_err(diag, s->dir, -ENOENT, "history: no commit %s",
                                                   from ? from : "at the head")
                                       : store_git_err(diag, s->dir, error, "history");
        goto out;
    }
    for (;; n++) {
        if (n >= max) {
            error = -E2BIG;
            break;
        }
        if ((error = git_commit_tree(&t, c)) < 0) {
            error = store_git_err(diag, s->dir, error, "history");
            break;
        }
        error = git_tree_entry_bypath(&e, t, path);
        if (error < 0 && error != GIT_ENOTFOUND) {
            error = store_git_err(diag, s->dir, error, "history");
            break;
        }
        if (e != NULL ? !have || !git_oid_equal(git_tree_entry_id(e), &want) : have) {
            /* the version before: none, or only a regular file counts as one */
            git_oid_tostr(at, 41, git_commit_id(c));
            git_filemode_t m = e != NULL ? git_tree_entry_filemode(e) : GIT_FILEMODE_UNREADABLE;
            error = m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE
                        ? store_blob_read(s, git_tree_entry_id(e), path, max_bytes, data, len, diag)
                        : 0;
            error = error < 0 ? error : 1;
            n++;
            break;
        }
        git_tree_entry_free(e);
        git_tree_free(t);
        e = NULL;
        t = NULL;
        if (git_commit_parentcount(c) == 0) {
            error = 0;
            n++;
            break;
        }
        if ((error = git_commit_parent(&p, c, 0)) < 0) {
            error = store_git_err(diag, s->dir, error, "history");
            break;
        }
        git_commit_free(c);
        c = p;
        p = NULL;
    }
out:
    git_tree_entry_free(e);
    git_tree_free(t);
    git_commit_free(c);
    store_unlock(s);
    if (walked != NULL)
        *walked = n;
    return error;
}
