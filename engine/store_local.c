/* store_local.c — a push to a bare repository on this machine (file://, a path) without a
 * transport. libgit2's local transport opens the repository anew and reads every
 * configuration file at each push, walks the history to negotiate, builds a pack for the few
 * objects a change makes, and sets the ref without comparing its old value (so the pushers had
 * to take turns on an flock). Here the objects the remote lacks are written into its object
 * database (loose, durably, as git writes them), every commit's trees and blobs before the
 * commit and older commits first, so the remote never holds a commit whose objects it lacks;
 * then its ref is moved by compare-and-swap from the value read. `git gc --auto` packs the
 * loose objects once there are many (fs_remote_watch.c runs it). */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

const char *engine_store_remote_dir(const char *url)
{
    if (strncmp(url, "file://", 7) == 0)
        return url + 7;
    return url[0] == '/' ? url : NULL;
}

/* A copy between the store and a repository on this machine: REPO is the one the objects
 * come from (the store for a push, the remote for a fetch), FROM and TO the object databases. */
struct local_push {
    git_repository *repo, *remote;
    git_odb *from, *to;
};

/* Copies object ID from the store to the remote unless the remote has it. */
static int local_copy(struct local_push *p, const git_oid *id)
{
    git_odb_object *o = NULL;
    git_oid out;
    int error;

    if (git_odb_exists(p->to, id))
        return 0;
    if ((error = git_odb_read(&o, p->from, id)) < 0)
        return error;
    error = git_odb_write(&out, p->to, git_odb_object_data(o), git_odb_object_size(o),
                          git_odb_object_type(o));
    git_odb_object_free(o);
    return error;
}

/* Copies tree ID and what it holds that the remote lacks: a tree the remote has is whole
 * there (git's own invariant), so its entries are not looked at. */
static int local_copy_tree(struct local_push *p, const git_oid *id)
{
    git_tree *t = NULL;
    int error;

    if (git_odb_exists(p->to, id))
        return 0;
    if ((error = git_tree_lookup(&t, p->repo, id)) < 0)
        return error;
    for (size_t i = 0; error == 0 && i < git_tree_entrycount(t); i++) {
        const git_tree_entry *e = git_tree_entry_byindex(t, i);
        if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
            error = local_copy_tree(p, git_tree_entry_id(e));
        else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
            error = local_copy(p, git_tree_entry_id(e));
        /* a submodule's commit is not ours to copy */
    }
    git_tree_free(t);
    return error < 0 ? error : local_copy(p, id);
}

/* Copies the commits from OURS back to THEIRS (NULL: all), oldest first, each after its tree. */
static int local_copy_commits(struct local_push *p, const git_oid *ours, const git_oid *theirs)
{
    git_revwalk *w = NULL;
    git_oid id;
    int error;

    if ((error = git_revwalk_new(&w, p->repo)) < 0 ||
        (error = git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 ||
        (error = git_revwalk_push(w, ours)) < 0 ||
        (theirs != NULL && (error = git_revwalk_hide(w, theirs)) < 0))
        goto out;
    while ((error = git_revwalk_next(&id, w)) == 0) {
        git_commit *c = NULL;
        if ((error = git_commit_lookup(&c, p->repo, &id)) == 0) {
            error = local_copy_tree(p, git_commit_tree_id(c));
            git_commit_free(c);
        }
        if (error < 0 || (error = local_copy(p, &id)) < 0)
            goto out;
    }
    if (error == GIT_ITEROVER)
        error = 0;
out:
    git_revwalk_free(w);
    return error;
}

int store_local_push(git_repository *repo, const char *dir, const char *url, const char *path,
                     const char *ref, struct engine_diag *diag)
{
    struct local_push p = {.repo = repo};
    git_reference *moved = NULL;
    git_oid ours, theirs;
    int error, have;

    if ((error = git_reference_name_to_id(&ours, repo, ref)) < 0)
        return store_git_err(diag, dir, error, "push");
    if ((error = git_repository_open_bare(&p.remote, path)) < 0)
        return store_err(diag, dir, -EHOSTUNREACH, "push: cannot reach the remote %s: %s", url,
                         git_error_last() != NULL ? git_error_last()->message : "no repository");
    have = git_reference_name_to_id(&theirs, p.remote, ref) == 0;
    if (have && git_oid_equal(&ours, &theirs))
        goto out;
    /* Only onto what the remote holds: its ref must be in our history. */
    if (have && git_graph_descendant_of(repo, &ours, &theirs) != 1) {
        error = store_err(diag, dir, -EAGAIN,
                          "push: %s moved on the remote %s (fetch, and build on it)", ref, url);
        goto out;
    }
    if ((error = git_repository_odb(&p.from, repo)) < 0 ||
        (error = git_repository_odb(&p.to, p.remote)) < 0 ||
        (error = local_copy_commits(&p, &ours, have ? &theirs : NULL)) < 0) {
        error = store_err(diag, dir, -EIO, "push: writing to the remote %s: %s", url,
                          git_error_last() != NULL ? git_error_last()->message : "error");
        goto out;
    }
    /* Compare-and-swap under the ref's lock: another pusher's move since we read it wins. */
    error = have ? git_reference_create_matching(&moved, p.remote, ref, &ours, 1, &theirs,
                                                 "unisec: push")
                 : git_reference_create(&moved, p.remote, ref, &ours, 0, "unisec: push");
    if (error == GIT_EMODIFIED || error == GIT_ELOCKED || error == GIT_EEXISTS)
        error = store_err(diag, dir, -EAGAIN,
                          "push: %s moved on the remote %s (fetch, and build on it)", ref, url);
    else if (error < 0)
        error = store_git_err(diag, dir, error, "push");
out:
    git_reference_free(moved);
    git_odb_free(p.from);
    git_odb_free(p.to);
    git_repository_free(p.remote);
    return error;
}

int engine_store_remote_peek(const char *url, const char *ref, char out_id[41])
{
    const char *path = engine_store_remote_dir(url);
    git_repository *r = NULL;
    git_oid id;
    int error;

    out_id[0] = '\0';
    if (path == NULL)
        return -EINVAL;
    if (git_repository_open_bare(&r, path) < 0)
        return -EHOSTUNREACH;
    error = git_reference_name_to_id(&id, r, ref);
    git_repository_free(r);
    if (error < 0)
        return error == GIT_ENOTFOUND ? -ENOENT : -EIO;
    git_oid_tostr(out_id, 41, &id);
    return 0;
}

void store_local_heads_free(git_remote_head *h, size_t n)
{
    for (size_t i = 0; h != NULL && i < n; i++)
        free(h[i].name);
    free(h);
}

/* Copies into the store what the commits from the remote's TIP back to the store's HAVE (NULL,
 * or a commit the remote lacks: all) hold that the store lacks. */
static int local_fetch_one(struct local_push *p, const git_oid *tip, const git_oid *have)
{
    if (have != NULL && !git_odb_exists(p->from, have))
        have = NULL;
    return local_copy_commits(p, tip, have);
}

int store_local_fetch(git_repository *repo, const char *dir, const char *url, const char *path,
                      const char *glob, size_t max, git_remote_head **out, size_t *n,
                      struct engine_diag *diag)
{
    struct local_push p = {0};
    git_reference_iterator *it = NULL;
    git_reference *ref = NULL;
    git_remote_head *h = NULL;
    size_t cap = 0;
    int error;

    *out = NULL;
    *n = 0;
    if ((error = git_repository_open_bare(&p.remote, path)) < 0)
        return store_err(diag, dir, -EHOSTUNREACH, "fetch: cannot reach the remote %s: %s", url,
                         git_error_last() != NULL ? git_error_last()->message : "no repository");
    p.repo = p.remote; /* the objects come from the remote */
    if ((error = git_repository_odb(&p.from, p.remote)) < 0 ||
        (error = git_repository_odb(&p.to, repo)) < 0 ||
        (error = git_reference_iterator_glob_new(&it, p.remote, glob)) < 0)
        goto fail;
    while (*n < max && (error = git_reference_next(&ref, it)) == 0) {
        const git_oid *id = git_reference_target(ref);
        git_oid have;
        int has = id != NULL && git_reference_name_to_id(&have, repo, git_reference_name(ref)) == 0;
        if (id != NULL && !git_odb_exists(p.to, id) &&
            (error = local_fetch_one(&p, id, has ? &have : NULL)) < 0)
            goto fail;
        if (id != NULL &&
            (engine_grow((void **)&h, &cap, *n + 1, sizeof(*h)) < 0 ||
             (h[*n] = (git_remote_head){.name = strdup(git_reference_name(ref))}).name == NULL)) {
            error = -ENOMEM;
            goto fail;
        }
        if (id != NULL)
            git_oid_cpy(&h[(*n)++].oid, id);
        git_reference_free(ref);
        ref = NULL;
    }
    if (error == GIT_ITEROVER || *n == max)
        error = 0;
fail:
    if (error < 0) {
        error = error == -ENOMEM
                    ? store_err(diag, dir, -ENOMEM, "fetch: out of memory")
                    : store_err(diag, dir, -EIO, "fetch: from the remote %s: %s", url,
                                git_error_last() != NULL ? git_error_last()->message : "error");
        store_local_heads_free(h, *n);
        h = NULL;
        *n = 0;
    }
    *out = h;
    git_reference_free(ref);
    git_reference_iterator_free(it);
    git_odb_free(p.from);
    git_odb_free(p.to);
    git_repository_free(p.remote);
    return error;
}
