/* store_remote.c — a remote that holds main: fetched, pushed to, and main moved to its commit,
 * all through libgit2 (its transports: file://, git://, ssh://). */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the remote said while pushing (its hooks' lines come as sideband text). */
#define STORE_REMOTE_SAID_MAX 2048

struct store_remote_cb {
    int cred_tries; /* credentials asked for: ssh-agent is tried once */
    char said[STORE_REMOTE_SAID_MAX];
    char status[512]; /* the remote's word on main's update; "" when it took it */
    int refused;      /* the remote answered main's update with a refusal */
};

static int store_remote_cred(git_credential **out, const char *url, const char *user,
                             unsigned int allowed, void *payload)
{
    struct store_remote_cb *cb = payload;
    const char *name = user != NULL ? user : getenv("USER");

    (void)url;
    if (cb->cred_tries++ > 0 || !(allowed & GIT_CREDENTIAL_SSH_KEY) || name == NULL)
        return GIT_PASSTHROUGH;
    return git_credential_ssh_key_from_agent(out, name);
}

static int store_remote_sideband(const char *str, int len, void *payload)
{
    struct store_remote_cb *cb = payload;
    size_t have = strlen(cb->said), room = sizeof(cb->said) - 1 - have;

    size_t take = len > 0 ? ((size_t)len < room ? (size_t)len : room) : 0;

    memcpy(cb->said + have, str, take);
    cb->said[have + take] = '\0';
    return 0;
}

static int store_remote_update(const char *refname, const char *status, void *payload)
{
    struct store_remote_cb *cb = payload;

    if (status != NULL && strcmp(refname, ENGINE_STORE_BRANCH) == 0) {
        cb->refused = 1;
        snprintf(cb->status, sizeof(cb->status), "%s", status);
    }
    return 0;
}

static void store_remote_callbacks(git_remote_callbacks *cbs, struct store_remote_cb *cb)
{
    memset(cb, 0, sizeof(*cb));
    cbs->credentials = store_remote_cred;
    cbs->sideband_progress = store_remote_sideband;
    cbs->push_update_reference = store_remote_update;
    cbs->payload = cb;
}

/* libgit2's last message, or WHAT. */
static const char *store_remote_why(const char *what)
{
    const git_error *e = git_error_last();
    return e != NULL && e->message != NULL ? e->message : what;
}

/* Opens the remote URL and connects in DIRECTION: -EHOSTUNREACH (with libgit2's words) when it
 * cannot be reached. */
static int store_remote_connect(git_remote **out, struct engine_store *s, const char *url,
                                git_direction direction, const git_remote_callbacks *cbs,
                                const char *op, struct engine_diag *diag)
{
    git_remote_create_options co = GIT_REMOTE_CREATE_OPTIONS_INIT;
    int error;

    *out = NULL;
    /* url.*.insteadOf is not applied: the URL is the mount's, as given. (Looking it up
     * matched a regular expression against every configuration entry, and libgit2 1.5 leaks
     * the match data of each that does not match: about 20 KiB a look at the remote.) */
    co.repository = s->repo;
    co.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if ((error = git_remote_create_with_opts(out, url, &co)) < 0)
        return store_err(diag, s->dir, -EINVAL, "%s: the remote %s: %s", op, url,
                         store_remote_why("not a remote URL"));
    if ((error = git_remote_connect(*out, direction, cbs, NULL, NULL)) < 0)
        return store_err(diag, s->dir, -EHOSTUNREACH, "%s: cannot reach the remote %s: %s", op, url,
                         store_remote_why("connection failed"));
    return 0;
}

/* The remote's main among the refs it advertised: 0, or -ENOENT when it has none. */
static int store_remote_main(git_oid *out, git_remote *r)
{
    const git_remote_head **heads = NULL;
    size_t n = 0;

    if (git_remote_ls(&heads, &n, r) < 0)
        return -EIO;
    for (size_t i = 0; i < n; i++)
        if (strcmp(heads[i]->name, ENGINE_STORE_BRANCH) == 0) {
            git_oid_cpy(out, &heads[i]->oid);
            return 0;
        }
    return -ENOENT;
}

int engine_store_fetch(struct engine_store *s, const char *url, char out_id[41],
                       enum engine_store_remote_rel *rel, struct engine_diag *diag)
{
    git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
    char *spec = "+" ENGINE_STORE_BRANCH ":" ENGINE_STORE_REMOTE_REF;
    git_strarray specs = {&spec, 1};
    struct store_remote_cb cb;
    git_remote *r = NULL;
    git_reference *ref = NULL;
    git_commit *have = NULL;
    git_oid theirs, ours, tracked;
    int error;

    out_id[0] = '\0';
    *rel = ENGINE_STORE_REMOTE_SAME;
    store_remote_callbacks(&fo.callbacks, &cb);
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    store_lock(s);
    if ((error = store_remote_connect(&r, s, url, GIT_DIRECTION_FETCH, &fo.callbacks, "fetch",
                                      diag)) < 0)
        goto cleanup;
    if ((error = store_remote_main(&theirs, r)) < 0) {
        error = store_err(diag, s->dir, error, "fetch: the remote %s has %s", url,
                          error == -ENOENT ? "no branch main yet" : "no readable refs");
        goto cleanup;
    }
    /* Most looks find nothing new: the objects are downloaded only when they are missing. */
    if (git_commit_lookup(&have, s->repo, &theirs) == 0) {
        git_commit_free(have);
    } else if ((error = git_remote_download(r, &specs, &fo)) < 0) {
        error = store_err(diag, s->dir, -EHOSTUNREACH, "fetch: from the remote %s: %s", url,
                          store_remote_why("download failed"));
        goto cleanup;
    }
    /* For operators only (`git log origin/main`): a lock left by a killed fetch, or an
     * operator's own `git fetch`, does not stop the daemon from following the remote. */
    if (git_reference_name_to_id(&tracked, s->repo, ENGINE_STORE_REMOTE_REF) < 0 ||
        !git_oid_equal(&tracked, &theirs))
        git_reference_create(&ref, s->repo, ENGINE_STORE_REMOTE_REF, &theirs, 1, "unisec: fetch");
    if ((error = store_main_lookup(&ours, s, "fetch", diag)) < 0)
        goto cleanup;
    if (git_oid_equal(&ours, &theirs))
        *rel = ENGINE_STORE_REMOTE_SAME;
    else if (git_graph_descendant_of(s->repo, &theirs, &ours) == 1)
        *rel = ENGINE_STORE_REMOTE_NEWER;
    else if (git_graph_descendant_of(s->repo, &ours, &theirs) == 1)
        *rel = ENGINE_STORE_REMOTE_OLDER;
    else
        *rel = ENGINE_STORE_REMOTE_DIVERGED;
    git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &theirs);

cleanup:
    git_reference_free(ref);
    if (r != NULL)
        git_remote_disconnect(r);
    git_remote_free(r);
    store_unlock(s);
    return error;
}

const char *engine_store_remote_dir(const char *url)
{
    if (strncmp(url, "file://", 7) == 0)
        return url + 7;
    return url[0] == '/' ? url : NULL;
}

int engine_store_push(struct engine_store *s, const char *url, struct engine_diag *diag)
{
    git_push_options po = GIT_PUSH_OPTIONS_INIT;
    char *spec = ENGINE_STORE_BRANCH ":" ENGINE_STORE_BRANCH;
    git_strarray specs = {&spec, 1};
    const char *local = engine_store_remote_dir(url);
    struct store_remote_cb cb;
    git_remote *r = NULL;
    int error, lock = -1;

    store_remote_callbacks(&po.callbacks, &cb);
    store_lock(s);
    /* libgit2's local transport sets the remote's ref without comparing its old value: the
     * daemons pushing to one bare repository take turns, each checking afresh that the
     * remote's main is its commit's ancestor. */
    if (local != NULL) {
        if ((lock = open(local, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
            flock(lock, LOCK_EX) < 0) {
            error = store_err(diag, s->dir, -EHOSTUNREACH, "push: cannot reach the remote %s: %s",
                              url, strerror(errno));
            goto cleanup;
        }
    }
    if ((error =
             store_remote_connect(&r, s, url, GIT_DIRECTION_PUSH, &po.callbacks, "push", diag)) < 0)
        goto cleanup;
    error = git_remote_upload(r, &specs, &po);
    if (error == GIT_ENONFASTFORWARD) {
        error = store_err(diag, s->dir, -EAGAIN,
                          "push: main moved on the remote %s (fetch, and build on it)", url);
    } else if (error < 0) {
        error = store_err(diag, s->dir, -EHOSTUNREACH, "push: to the remote %s: %s", url,
                          store_remote_why("upload failed"));
    } else if (cb.refused) {
        /* A hook's refusal is final; a lost race for the ref (moved, locked) is tried again. */
        int hook = strstr(cb.status, "hook") != NULL || strstr(cb.status, "declined") != NULL;
        error = store_err(diag, s->dir, hook ? -EPERM : -EAGAIN,
                          "push: the remote %s refused main's update: %s%s%s", url, cb.status,
                          cb.said[0] ? "; it said: " : "", cb.said);
    }

cleanup:
    if (r != NULL)
        git_remote_disconnect(r);
    git_remote_free(r);
    if (lock >= 0)
        close(lock); /* ends the flock */
    store_unlock(s);
    return error;
}

int engine_store_move(struct engine_store *s, const char *id, int seen, struct engine_diag *diag)
{
    struct engine_store_change *ch = NULL;
    git_tree *old = NULL, *new = NULL;
    git_reference *ref = NULL;
    git_diff *d = NULL;
    char **paths = NULL;
    git_oid to, from;
    size_t n = 0;
    int error, journal = 0;

    if (strlen(id) != GIT_OID_HEXSZ || git_oid_fromstr(&to, id) < 0)
        return store_err(diag, s->dir, -EINVAL, "move: '%s' is not a commit id", id);
    store_lock(s);
    if ((error = store_main_lookup(&from, s, "move", diag)) < 0)
        goto cleanup;
    if (git_oid_equal(&from, &to))
        goto moved;
    if ((error = store_commit_tree(&old, s, &from, "move", diag)) < 0 ||
        (error = store_commit_tree(&new, s, &to, "move", diag)) < 0)
        goto cleanup;
    if ((error = git_diff_tree_to_tree(&d, s->repo, old, new, NULL)) < 0) {
        error = store_git_err(diag, s->dir, error, "move: comparing the trees");
        goto cleanup;
    }
    n = git_diff_num_deltas(d);
    if (n > 0 &&
        ((paths = calloc(n, sizeof(*paths))) == NULL || (ch = calloc(n, sizeof(*ch))) == NULL)) {
        error = store_err(diag, s->dir, -ENOMEM, "move: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *dd = git_diff_get_delta(d, i);
        paths[i] =
            (char *)(dd->status == GIT_DELTA_DELETED ? dd->old_file.path : dd->new_file.path);
        ch[i].path = paths[i];
        /* An operator's uncommitted edit is never overwritten. */
        if ((error = store_path_clean(s, paths[i], diag)) < 0)
            goto cleanup;
    }
    if (n > 0 && (error = store_journal_write(s, ch, n, diag)) < 0)
        goto cleanup;
    journal = n > 0;
    /* Only from the commit just read: another git process may not be overtaken. */
    if ((error = git_reference_create_matching(&ref, s->repo, ENGINE_STORE_BRANCH, &to, 1, &from,
                                               "unisec: main moved to the remote's")) < 0) {
        error = store_git_err(diag, s->dir, error, "move: moving main");
        goto cleanup;
    }
    journal = 0;
    if (n > 0 && (store_checkout(s, new, paths, n, "move: updating the work tree", diag) < 0 ||
                  store_journal_remove(s, diag) < 0))
        error = ENGINE_STORE_WORKTREE_STALE;
moved:
    if (seen)
        git_oid_cpy(&s->head, &to);

cleanup:
    if (journal)
        store_journal_remove(s, NULL);
    git_reference_free(ref);
    git_diff_free(d);
    git_tree_free(old);
    git_tree_free(new);
    free(paths);
    free(ch);
    store_unlock(s);
    return error;
}

int engine_store_gc(const char *gitdir, struct engine_diag *diag)
{
    /* No detaching: the caller waits, and nothing is left running. */
    char *argv[] = {"git",       "-c",           "gc.autoDetach=false",
                    "--git-dir", (char *)gitdir, "gc",
                    "--auto",    "--quiet",      NULL};
    posix_spawn_file_actions_t fa;
    extern char **environ;
    int rc, status = 0;
    pid_t pid;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return store_err(diag, gitdir, -ENOMEM, "gc: out of memory");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return store_err(diag, gitdir, rc == ENOENT ? -ENOENT : -EIO, "gc: cannot run git: %s",
                         strerror(rc));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return store_err(diag, gitdir, -EIO, "gc: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return store_err(diag, gitdir, -EIO, "gc: `git gc --auto` failed (status %d)", status);
    return 0;
}
