/* store_commit.c — changes to the store: a commit, taking main as moved from outside
 * (refresh), the work tree's hand edits listed, and one put back (restore). */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const store_step_names[ENGINE_STORE_STEP_N] = {
    [ENGINE_STORE_STEP_CHECK] = "check",       [ENGINE_STORE_STEP_OBJECTS] = "objects",
    [ENGINE_STORE_STEP_JOURNAL] = "journal",   [ENGINE_STORE_STEP_COMMIT] = "commit",
    [ENGINE_STORE_STEP_WORKTREE] = "worktree",
};

const char *engine_store_step_name(enum engine_store_step step)
{
    return step < ENGINE_STORE_STEP_N ? store_step_names[step] : "";
}

void engine_store_step_cpu(const struct engine_store *s, uint64_t out[ENGINE_STORE_STEP_N])
{
    store_lock(s);
    memcpy(out, s->step_cpu, sizeof(s->step_cpu));
    store_unlock(s);
}

/* What a step cost the daemon, whatever else the machine runs meanwhile. */
uint64_t engine_store_cpu_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Charges the time since *T to step *CUR, then starts step NEXT. */
static void store_step(struct engine_store *s, enum engine_store_step *cur, uint64_t *t,
                       enum engine_store_step next)
{
    uint64_t now = engine_store_cpu_now();

    s->step_cpu[*cur] += now - *t;
    *t = now;
    *cur = next;
}

/* main's move, and the N OBJECTS written without a sync for it, made durable. */
static int store_main_durable(struct engine_store *s, const git_oid *objects, size_t n)
{
    int error = store_object_sync(s, objects, n);

    return error < 0 ? error : store_main_sync(s);
}

/* The body of engine_store_commit(), with the store locked and the arguments checked. */
static int store_commit_locked(struct engine_store *s, const struct engine_store_change *changes,
                               size_t n, git_tree_update *upd, char **paths, size_t nw,
                               const struct engine_store_author *author, const char *msg,
                               char out_id[41], struct engine_diag *diag)
{
    git_tree *base = NULL, *tree = NULL;
    git_commit *parent = NULL;
    git_signature *sig = NULL;
    char *obj = NULL; /* the commit object's bytes, when the store writes it itself */
    size_t objlen = 0;
    git_oid main_id, base_id, tree_id, id;
    const git_oid *carried = NULL; /* the objects written without a sync (NC), their records */
    const char *recs = NULL;
    size_t nc = 0, recslen = 0;
    int error, journal = 0, deferred = 0, moved = 0, carrying = 0;
    /* The paths whose syncs are deferred, again (every level write after the first): the
     * journal names them already, pending, durably. */
    int lazy = store_defer_lazy(changes, n),
        same = store_defer_same(s, changes, n) && !store_defer_full(s);
    /* main's move not synced either: the journal names the commit, synced, instead. */
    int lazy_main = lazy && store_main_lazy_ok(s);
    enum engine_store_step step = ENGINE_STORE_STEP_CHECK;
    uint64_t t = engine_store_cpu_now();

    if ((error = store_main_lookup(&main_id, s, "commit", diag)) < 0)
        goto cleanup;
    /* Checked before finishing a pending update, which writes the head's content: after an
     * outside move that content is no longer main's. */
    if (!git_oid_equal(&main_id, &s->head)) {
        char seen[GIT_OID_HEXSZ + 1], now[GIT_OID_HEXSZ + 1];
        git_oid_tostr(seen, sizeof(seen), &s->head);
        git_oid_tostr(now, sizeof(now), &main_id);
        error = store_err(diag, s->dir, -EAGAIN,
                          "commit: main moved outside the store (now %s, last seen %s); "
                          "refresh and validate it first",
                          now, seen);
        goto cleanup;
    }
    /* Other paths: the deferred syncs made, then an earlier unfinished update finished. */
    if (!same &&
        ((error = store_defer_sync(s, diag)) < 0 ||
         (error = store_journal_finish(s, 0, "commit: finishing an earlier commit", diag)) < 0))
        goto cleanup;
    /* main's tree: remembered when main is the store's last commit (a level write after a
     * level write), else read from main's commit. */
    if (store_memo_head_tree(s, &s->head, &base_id))
        error = git_tree_lookup(&base, s->repo, &base_id);
    else if ((error = git_commit_lookup(&parent, s->repo, &s->head)) == 0)
        error = git_commit_tree(&base, parent);
    if (error < 0) {
        error = store_git_err(diag, s->dir, error, "commit: reading main");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if ((error = store_change_fits(s, base, &changes[i], diag)) < 0 ||
            (error = changes[i].from_worktree
                         ? store_worktree_holds(s, &changes[i], diag)
                         : store_path_clean_in(s, base, changes[i].path, diag)) < 0)
            goto cleanup;
    }
    store_step(s, &step, &t, ENGINE_STORE_STEP_OBJECTS);
    /* The new blobs and trees of a commit that moves main without a sync: written without a
     * sync either, the journal carries them too. */
    if ((carrying = lazy_main))
        store_carry_start(s);
    /* A state one of the last commits made (a level set back): its objects are stored. */
    if (store_memo_find(s, git_tree_id(base), changes, n, upd, &tree_id))
        ;
    else if ((error = store_updates(upd, s, changes, n, "commit: writing a file", diag)) < 0)
        goto cleanup;
    else if ((error = git_tree_create_updated(&tree_id, s->repo, base, n, upd)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit: building the tree");
        goto cleanup;
    }
    store_carry_stop(s, 0);
    if (git_oid_equal(&tree_id, git_tree_id(base)))
        goto cleanup; /* nothing changed: no commit, empty id */
    if ((error = git_tree_lookup(&tree, s->repo, &tree_id)) < 0 ||
        (error = git_signature_now(&sig, author->name, author->email)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit");
        goto cleanup;
    }
    store_step(s, &step, &t, ENGINE_STORE_STEP_COMMIT);
    /* The commit object first, for the journal to name it: written without a sync when the
     * journal carries its bytes (an unsigned commit), else durable (libgit2 syncs it). */
    if (lazy_main && ((error = store_commit_write(&id, &obj, &objlen, s, sig, msg, tree, &s->head,
                                                  "commit", diag)) < 0 ||
                      (obj != NULL && (error = store_object_write(s, GIT_OBJECT_COMMIT, obj, objlen,
                                                                  0, &id, diag)) < 0)))
        goto cleanup;
    if (lazy_main && obj != NULL &&
        (error = store_carry_also(s, GIT_OBJECT_COMMIT, &id, obj, objlen)) < 0) {
        error = store_err(diag, s->dir, error, "commit: out of memory");
        goto cleanup;
    }
    if (lazy_main)
        carried = store_carried(s, &nc, &recs, &recslen);
    store_step(s, &step, &t, ENGINE_STORE_STEP_JOURNAL);
    if ((!same || lazy_main) &&
        (error = store_journal_write(s, changes, n, lazy, lazy_main ? &id : NULL, recs, recslen,
                                     diag)) < 0)
        goto cleanup;
    journal = !same || lazy_main;
    store_step(s, &step, &t, ENGINE_STORE_STEP_COMMIT);
    if (!lazy_main && parent == NULL &&
        (error = git_commit_lookup(&parent, s->repo, &s->head)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit: reading main");
        goto cleanup;
    }
    /* Moves main only if it is still PARENT (compared under the ref's lock). */
    if ((error = lazy_main ? store_main_move(s, &s->head, &id, "commit: moving main", diag)
                           : store_commit_make(&id, s, sig, msg, tree, parent,
                                               "commit: moving main", diag)) < 0)
        goto cleanup;
    store_memo_moved(s, &s->head, &id, git_tree_id(base), changes, n, upd, &tree_id);
    git_oid_cpy(&s->head, &id);
    moved = lazy_main;
    git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &id);
    journal = 0;
    store_step(s, &step, &t, ENGINE_STORE_STEP_WORKTREE);
    /* The journal is marked finished only once the work tree and index are, durably: now, or
     * by the syncer when their syncs are deferred. */
    if (store_finish_changes(s, tree, changes, upd, n, paths, nw, lazy, &deferred,
                             "commit: updating the work tree", diag) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    else if (n == 1 && !changes[0].from_worktree)
        store_keep(s, &changes[0], &upd[0].id); /* the next level write's check */
    store_step(s, &step, &t, ENGINE_STORE_STEP_JOURNAL);
    /* A move of main (and the commit object) the syncer does not own is made durable now,
     * before the journal that names it is marked finished. */
    if (moved && !deferred && store_main_durable(s, carried, nc) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    if (error == 0 && (deferred ? store_defer_add(s, changes, n, moved, carried, nc, diag)
                       : same   ? store_defer_sync(s, diag)
                                : store_journal_remove(s, diag)) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    if (moved && deferred && error < 0 && store_main_durable(s, carried, nc) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;

cleanup:
    store_carry_stop(s, 0);
    /* Objects written without a sync for a commit that failed are synced now: a later commit
     * that finds one stored would not write it again, nor carry it. */
    if (error != 0 && carrying)
        store_object_sync(s, store_carried(s, &nc, &recs, &recslen), nc);
    store_carry_stop(s, 1);
    store_step(s, &step, &t, step);
    /* The ref did not move: the journal's paths were never touched, and a recovery must not
     * take its commit for main's (durably, when it names one). A journal still pending for
     * deferred syncs of the same paths names main's commit again. */
    if (journal && !same)
        store_journal_mark(s, lazy_main, NULL);
    else if (journal)
        store_journal_write(s, changes, n, lazy, &s->head, NULL, 0, NULL);
    free(obj);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base);
    git_commit_free(parent);
    return error;
}

int engine_store_commit(struct engine_store *s, const struct engine_store_change *changes, size_t n,
                        const struct engine_store_author *author, const char *message,
                        char out_id[41], struct engine_diag *diag)
{
    git_tree_update *upd = NULL;
    char **paths = NULL, *msg = NULL;
    size_t nw = 0;
    int error;

    out_id[0] = '\0';
    if (s->read_only)
        return store_err(diag, s->dir, -EINVAL, "commit: the store is open read-only");
    if (n == 0)
        return store_err(diag, s->dir, -EINVAL, "commit: no changes given");
    if ((error = store_changes_check(s->dir, changes, n, 1, diag)) < 0 ||
        (error = store_author_check(s->dir, author, message, diag)) < 0)
        return error;
    if ((upd = calloc(n, sizeof(*upd))) == NULL || (paths = calloc(n, sizeof(*paths))) == NULL ||
        (msg = store_message(message)) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "commit: out of memory");
        goto cleanup;
    }
    /* The paths to rewrite in the work tree first, then those it already holds. */
    for (size_t i = 0; i < n; i++)
        if (!changes[i].from_worktree)
            paths[nw++] = (char *)changes[i].path;
    for (size_t i = 0, j = nw; i < n; i++)
        if (changes[i].from_worktree)
            paths[j++] = (char *)changes[i].path;
    store_lock(s);
    error = store_commit_locked(s, changes, n, upd, paths, nw, author, msg, out_id, diag);
    store_unlock(s);

cleanup:
    free(upd);
    free(paths);
    free(msg);
    return error;
}

int engine_store_refresh(struct engine_store *s, int *changed, char out_id[41],
                         struct engine_diag *diag)
{
    git_oid main_id;
    int error;

    *changed = 0;
    store_lock(s);
    if ((error = store_main_lookup(&main_id, s, "refresh", diag)) < 0)
        goto cleanup;
    if (!git_oid_equal(&main_id, &s->head)) {
        git_oid_cpy(&s->head, &main_id);
        *changed = 1;
    }
    /* A work-tree update of ours left unfinished is finished against the head now seen. One
     * whose syncs only are deferred is left to the syncer while main is ours (a refresh
     * follows every commit of the mount: its watcher sees main move). */
    if ((*changed || s->ndeferred == 0) &&
        (store_defer_sync(s, diag) < 0 ||
         store_journal_finish(s, 0, "refresh: finishing an earlier commit", diag) < 0))
        error = ENGINE_STORE_WORKTREE_STALE;
    if (out_id != NULL)
        git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &s->head);

cleanup:
    store_unlock(s);
    return error;
}

void engine_store_wtchanges_free(struct engine_store_wtchange *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].path);
    free(v);
}

/* Marks the changes of V (COUNT) that the index holds: TREE (the head's) against the index. */
static int store_wt_staged(struct engine_store *s, git_tree *tree, struct engine_store_wtchange *v,
                           size_t count, struct engine_diag *diag)
{
    git_diff *diff = NULL;
    int error;

    if (count == 0)
        return 0;
    if ((error = git_diff_tree_to_index(&diff, s->repo, tree, NULL, NULL)) < 0)
        return store_git_err(diag, s->dir, error, "worktree changes: reading the index");
    for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        const char *path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
        /* What an operator stages is a few paths: a scan of V each. */
        for (size_t j = 0; j < count; j++)
            if (strcmp(v[j].path, path) == 0)
                v[j].staged = 1;
    }
    git_diff_free(diff);
    return 0;
}

int engine_store_worktree_changes(struct engine_store *s, struct engine_store_wtchange **out,
                                  size_t *n, struct engine_diag *diag)
{
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    struct engine_store_wtchange *v = NULL;
    git_tree *tree = NULL;
    git_diff *diff = NULL;
    size_t count = 0;
    int error;

    *out = NULL;
    *n = 0;
    opts.flags =
        GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS | GIT_DIFF_INCLUDE_TYPECHANGE;
    store_lock(s);
    if ((error = store_commit_tree(&tree, s, &s->head, "worktree changes", diag)) < 0)
        goto cleanup;
    if ((error = git_diff_tree_to_workdir_with_index(&diff, s->repo, tree, &opts)) < 0) {
        error = store_git_err(diag, s->dir, error, "worktree changes");
        goto cleanup;
    }
    count = git_diff_num_deltas(diff);
    if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "worktree changes: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        const char *path = d->new_file.path;
        switch (d->status) {
        case GIT_DELTA_ADDED:
        case GIT_DELTA_UNTRACKED:
            v[i].kind = ENGINE_STORE_WT_ADDED;
            break;
        case GIT_DELTA_DELETED:
            v[i].kind = ENGINE_STORE_WT_DELETED;
            path = d->old_file.path;
            break;
        default:
            v[i].kind = ENGINE_STORE_WT_MODIFIED;
            break;
        }
        if ((v[i].path = strdup(path)) == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "worktree changes: out of memory");
            goto cleanup;
        }
    }
    if ((error = store_wt_staged(s, tree, v, count, diag)) < 0)
        goto cleanup;
    *out = v;
    *n = count;
    v = NULL;

cleanup:
    engine_store_wtchanges_free(v, count);
    git_diff_free(diff);
    git_tree_free(tree);
    store_unlock(s);
    return error;
}

int engine_store_restore(struct engine_store *s, const char *path, struct engine_diag *diag)
{
    git_tree *tree = NULL;
    char *paths[1];
    int error;

    if ((error = store_path_check_in(s->dir, path, diag)) < 0)
        return error;
    paths[0] = (char *)path;
    store_lock(s);
    if ((error = store_commit_tree(&tree, s, &s->head, "restore", diag)) < 0)
        goto cleanup;
    error = store_checkout(s, tree, paths, 1, "restore", diag);

cleanup:
    git_tree_free(tree);
    store_unlock(s);
    return error;
}
