/* store_remote.c — a remote that holds main: fetched, pushed to, and main moved to its commit,
 * all through libgit2 (its transports: file://, git://, ssh://). */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the remote said while pushing (its hooks' lines come as sideband text). */
#define STORE_REMOTE_SAID_MAX 2048

struct store_remote_cb {
    const char *ref; /* the ref pushed */
    int cred_tries;  /* credentials asked for: ssh-agent is tried once */
    char said[STORE_REMOTE_SAID_MAX];
    char status[512]; /* the remote's word on REF's update; "" when it took it */
    int refused;      /* the remote answered REF's update with a refusal */
    struct store_watchdog wd;
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

    store_watchdog_feed(&cb->wd);
    size_t have = strlen(cb->said), room = sizeof(cb->said) - 1 - have;

    size_t take = len > 0 ? ((size_t)len < room ? (size_t)len : room) : 0;

    memcpy(cb->said + have, str, take);
    cb->said[have + take] = '\0';
    return 0;
}

static int store_remote_update(const char *refname, const char *status, void *payload)
{
    struct store_remote_cb *cb = payload;

    if (status != NULL && cb->ref != NULL && strcmp(refname, cb->ref) == 0) {
        cb->refused = 1;
        snprintf(cb->status, sizeof(cb->status), "%s", status);
    }
    return 0;
}

/* The remote answers: objects arrive, or the push goes on. */
static int store_remote_fetching(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    store_watchdog_feed(&((struct store_remote_cb *)payload)->wd);
    return 0;
}

static int store_remote_pushing(unsigned int current, unsigned int total, size_t bytes,
                                void *payload)
{
    (void)current;
    (void)total;
    (void)bytes;
    store_watchdog_feed(&((struct store_remote_cb *)payload)->wd);
    return 0;
}

/* CB set up for a call to URL, its watchdog started (store_remote_end() stops it). */
static void store_remote_callbacks(git_remote_callbacks *cbs, struct store_remote_cb *cb,
                                   const char *url)
{
    memset(cb, 0, sizeof(*cb));
    cbs->credentials = store_remote_cred;
    cbs->sideband_progress = store_remote_sideband;
    cbs->transfer_progress = store_remote_fetching;
    cbs->push_transfer_progress = store_remote_pushing;
    cbs->push_update_reference = store_remote_update;
    cbs->payload = cb;
    store_watchdog_start(&cb->wd, engine_store_remote_dir(url) == NULL);
}

/* Ends a call's watchdog: a call that failed because it fired says so in DIAG instead of
 * libgit2's "Interrupted system call", as -EHOSTUNREACH. */
static int store_remote_end(struct store_remote_cb *cb, int error, const char *dir, const char *op,
                            const char *url, struct engine_diag *diag)
{
    if (store_watchdog_stop(&cb->wd) && error < 0)
        return store_err(diag, dir, -EHOSTUNREACH,
                         "%s: the remote %s did not answer for %d s (given up)", op, url,
                         store_watchdog_idle());
    return error;
}

/* libgit2's last message, or WHAT. */
static const char *store_remote_why(const char *what)
{
    const git_error *e = git_error_last();
    return e != NULL && e->message != NULL ? e->message : what;
}

/* Opens the remote URL and connects in DIRECTION: -EHOSTUNREACH (with libgit2's words) when it
 * cannot be reached. */
static int store_remote_connect(git_remote **out, git_repository *repo, const char *dir,
                                const char *url, git_direction direction,
                                const git_remote_callbacks *cbs, const char *op,
                                struct engine_diag *diag)
{
    git_remote_create_options co = GIT_REMOTE_CREATE_OPTIONS_INIT;
    int error;

    *out = NULL;
    /* url.*.insteadOf is not applied: the URL is the mount's, as given. (Looking it up
     * matched a regular expression against every configuration entry, and libgit2 1.5 leaks
     * the match data of each that does not match: about 20 KiB a look at the remote.) */
    co.repository = repo;
    co.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if ((error = git_remote_create_with_opts(out, url, &co)) < 0)
        return store_err(diag, dir, -EINVAL, "%s: the remote %s: %s", op, url,
                         store_remote_why("not a remote URL"));
    if ((error = git_remote_connect(*out, direction, cbs, NULL, NULL)) < 0)
        return store_err(diag, dir, -EHOSTUNREACH, "%s: cannot reach the remote %s: %s", op, url,
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
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    store_lock(s);
    store_remote_callbacks(&fo.callbacks, &cb, url);
    if ((error = store_remote_connect(&r, s->repo, s->dir, url, GIT_DIRECTION_FETCH, &fo.callbacks,
                                      "fetch", diag)) < 0)
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
     * operator's own `git fetch`, does not stop the daemon from following the remote. Only to
     * a commit the download brought: libgit2 does not check it (store.c). */
    if (git_commit_lookup(&have, s->repo, &theirs) == 0 &&
        (git_reference_name_to_id(&tracked, s->repo, ENGINE_STORE_REMOTE_REF) < 0 ||
         !git_oid_equal(&tracked, &theirs)))
        git_reference_create(&ref, s->repo, ENGINE_STORE_REMOTE_REF, &theirs, 1, "unisec: fetch");
    git_commit_free(have);
    have = NULL;
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
    error = store_remote_end(&cb, error, s->dir, "fetch", url, diag);
    store_unlock(s);
    return error;
}

/* Pushes REF (a full ref name) of REPO (the store's, under its lock, or one of its own) to the
 * same ref of URL; DIR names the store in messages. */
static int store_remote_push(git_repository *repo, const char *dir, const char *url,
                             const char *ref, struct engine_diag *diag)
{
    git_push_options po = GIT_PUSH_OPTIONS_INIT;
    char spec[2 * ENGINE_STORE_REF_MAX + 2], *specp = spec;
    git_strarray specs = {&specp, 1};
    const char *local = engine_store_remote_dir(url);
    struct store_remote_cb cb;
    git_remote *r = NULL;
    int error;

    /* A repository on this machine is written directly, its ref compared and swapped. */
    if (local != NULL)
        return store_local_push(repo, dir, url, local, ref, diag);
    store_remote_callbacks(&po.callbacks, &cb, url);
    cb.ref = ref;
    snprintf(spec, sizeof(spec), "%s:%s", ref, ref);
    if ((error = store_remote_connect(&r, repo, dir, url, GIT_DIRECTION_PUSH, &po.callbacks, "push",
                                      diag)) < 0)
        goto cleanup;
    error = git_remote_upload(r, &specs, &po);
    if (error == GIT_ENONFASTFORWARD) {
        error = store_err(diag, dir, -EAGAIN,
                          "push: %s moved on the remote %s (fetch, and build on it)", ref, url);
    } else if (error < 0) {
        error = store_err(diag, dir, -EHOSTUNREACH, "push: to the remote %s: %s", url,
                          store_remote_why("upload failed"));
    } else if (cb.refused) {
        /* A hook's refusal is final; a lost race for the ref (moved, locked) is tried again. */
        int hook = strstr(cb.status, "hook") != NULL || strstr(cb.status, "declined") != NULL;
        error = store_err(diag, dir, hook ? -EPERM : -EAGAIN,
                          "push: the remote %s refused the update of %s: %s%s%s", url, ref,
                          cb.status, cb.said[0] ? "; it said: " : "", cb.said);
    }

cleanup:
    if (r != NULL)
        git_remote_disconnect(r);
    git_remote_free(r);
    return store_remote_end(&cb, error, dir, "push", url, diag);
}

int engine_store_push(struct engine_store *s, const char *url, struct engine_diag *diag)
{
    int error;

    store_lock(s);
    error = store_remote_push(s->repo, s->dir, url, ENGINE_STORE_BRANCH, diag);
    store_unlock(s);
    return error;
}

/* The remote's refs under ENGINE_STORE_DEPLOYED_PREFIX, at most this many: a remote's
 * advertisement is a stranger's input. */
#define STORE_RECORD_REFS_MAX 4096

/* OWN's last record (MINE) made again on THEIRS, the remote's OWN, which holds records the store
 * lacks: OWN is moved to THEIRS, and back when the commit cannot be made. Under the store's lock
 * (the commit is signed with its key, when it has one). */
static int store_records_again(struct engine_store *s, const char *own, const git_oid *mine,
                               const git_oid *theirs, struct engine_diag *diag)
{
    git_commit *tip = NULL, *parent = NULL;
    git_reference *ref = NULL;
    git_tree *tree = NULL;
    git_oid id;
    int error;

    store_lock(s);
    if ((error = git_commit_lookup(&tip, s->repo, mine)) < 0 ||
        (error = git_commit_lookup(&parent, s->repo, theirs)) < 0 ||
        (error = git_commit_tree(&tree, tip)) < 0 ||
        (error = git_reference_create_matching(&ref, s->repo, own, theirs, 1, mine,
                                               "unisec: records taken from the remote")) < 0) {
        error = store_git_err(diag, s->dir, error, "records");
        goto cleanup;
    }
    if ((error = store_commit_make_on(&id, s, own, git_commit_author(tip), git_commit_message(tip),
                                      tree, parent, "records", diag)) < 0) {
        git_reference_free(ref);
        ref = NULL;
        git_reference_create_matching(&ref, s->repo, own, mine, 1, theirs, "unisec: records kept");
    }

cleanup:
    git_reference_free(ref);
    git_tree_free(tree);
    git_commit_free(parent);
    git_commit_free(tip);
    store_unlock(s);
    return error;
}

/* Brings every host's ref but OWN to the remote's (HEADS, N of them: those whose objects REPO
 * has); THEIRS receives the remote's OWN (*HAVE nonzero when it has one). */
static void store_records_take(git_repository *repo, git_odb *odb, const git_remote_head **heads,
                               size_t n, const char *own, git_oid *theirs, int *have,
                               struct engine_store_records_sync *out)
{
    size_t k = strlen(ENGINE_STORE_DEPLOYED_PREFIX);

    *have = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = heads[i]->name;
        git_reference *ref = NULL;
        git_oid cur;

        if (strncmp(name, ENGINE_STORE_DEPLOYED_PREFIX, k) != 0 ||
            engine_store_host_check(name + k) < 0 || !git_odb_exists(odb, &heads[i]->oid))
            continue;
        if (strcmp(name, own) == 0) {
            git_oid_cpy(theirs, &heads[i]->oid);
            *have = 1;
        } else if (git_reference_name_to_id(&cur, repo, name) < 0 ||
                   !git_oid_equal(&cur, &heads[i]->oid)) {
            /* The remote is the truth of other hosts' records. */
            if (git_reference_create(&ref, repo, name, &heads[i]->oid, 1,
                                     "unisec: records fetched") == 0)
                out->fetched++;
            git_reference_free(ref);
        }
    }
}

/* OWN brought to THEIRS, the remote's, which holds every record of the store's (MINE; HAVE_MINE
 * zero when the store has none) and more: from MINE only, as a record may be made meanwhile. */
static int store_records_ff(git_repository *repo, const char *dir, const char *own,
                            const git_oid *theirs, const git_oid *mine, int have_mine,
                            struct engine_diag *diag)
{
    git_reference *ref = NULL;
    int error = have_mine ? git_reference_create_matching(&ref, repo, own, theirs, 1, mine,
                                                          "unisec: records taken from the remote")
                          : git_reference_create(&ref, repo, own, theirs, 0,
                                                 "unisec: records taken from the remote");

    git_reference_free(ref);
    return error < 0 ? store_git_err(diag, dir, error, "records") : 0;
}

int engine_store_records_sync(struct engine_store *s, const char *url, const char *own,
                              struct engine_store_records_sync *out, struct engine_diag *diag)
{
    git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
    const git_remote_head **heads = NULL;
    const char *local = engine_store_remote_dir(url);
    git_remote_head *lheads = NULL, **lptr = NULL;
    size_t n = 0, k = strlen(ENGINE_STORE_DEPLOYED_PREFIX), nspec = 0;
    struct store_remote_cb cb;
    git_repository *repo = NULL;
    git_remote *r = NULL;
    git_odb *odb = NULL;
    char **specs = NULL;
    git_oid mine, theirs;
    int error, have_theirs = 0, have_mine;

    memset(out, 0, sizeof(*out));
    if (s->read_only)
        return store_err(diag, s->dir, -EINVAL, "records: the store is open read-only");
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    store_remote_callbacks(&fo.callbacks, &cb, url);
    /* A repository object of its own, not the store's lock: a write never waits for the
     * records' exchange (which may wait for the network); refs and packs are git's to share. */
    if ((error = git_repository_open_ext(&repo, s->dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0) {
        error = store_git_err(diag, s->dir, error, "records");
        goto cleanup;
    }
    if (local != NULL) {
        /* A repository on this machine: its records copied in directly, no pack per fetch. */
        if ((error = store_local_fetch(repo, s->dir, url, local, ENGINE_STORE_DEPLOYED_PREFIX "*",
                                       STORE_RECORD_REFS_MAX, &lheads, &n, diag)) < 0 ||
            (lptr = calloc(n + 1, sizeof(*lptr))) == NULL ||
            (error = git_repository_odb(&odb, repo)) < 0) {
            error = error < 0 ? error : store_err(diag, s->dir, -ENOMEM, "records: out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++)
            lptr[i] = &lheads[i];
        heads = (const git_remote_head **)lptr;
        goto take;
    }
    if ((error = store_remote_connect(&r, repo, s->dir, url, GIT_DIRECTION_FETCH, &fo.callbacks,
                                      "records", diag)) < 0)
        goto cleanup;
    if (git_remote_ls(&heads, &n, r) < 0 || git_repository_odb(&odb, repo) < 0) {
        error = store_err(diag, s->dir, -EHOSTUNREACH, "records: from the remote %s: %s", url,
                          store_remote_why("no readable refs"));
        goto cleanup;
    }
    if ((specs = calloc(n + 1, sizeof(*specs))) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "records: out of memory");
        goto cleanup;
    }
    /* Only the records the store lacks are downloaded (most looks: none). */
    for (size_t i = 0; i < n; i++)
        if (strncmp(heads[i]->name, ENGINE_STORE_DEPLOYED_PREFIX, k) == 0 &&
            engine_store_host_check(heads[i]->name + k) == 0 &&
            !git_odb_exists(odb, &heads[i]->oid) && nspec < STORE_RECORD_REFS_MAX)
            specs[nspec++] = heads[i]->name;
    if (nspec > 0 && git_remote_download(r, &(git_strarray){specs, nspec}, &fo) < 0) {
        error = store_err(diag, s->dir, -EHOSTUNREACH, "records: from the remote %s: %s", url,
                          store_remote_why("download failed"));
        goto cleanup;
    }
    git_odb_refresh(odb); /* the pack just downloaded */
take:
    store_records_take(repo, odb, heads, n, own, &theirs, &have_theirs, out);
    if (r != NULL)
        git_remote_disconnect(r);
    store_watchdog_stop(&cb.wd); /* the push has its own */
    have_mine = git_reference_name_to_id(&mine, repo, own) == 0;
    if (have_mine && have_theirs && git_oid_equal(&mine, &theirs))
        goto cleanup;
    if (!have_mine || (have_theirs && git_graph_descendant_of(repo, &theirs, &mine) == 1)) {
        /* The remote has every record of the store's, and more (a store made anew). */
        if (have_theirs)
            error = store_records_ff(repo, s->dir, own, &theirs, &mine, have_mine, diag);
        goto cleanup;
    }
    if (have_theirs && git_graph_descendant_of(repo, &mine, &theirs) != 1) {
        /* Each has records the other lacks; a host's records only grow. */
        if ((error = store_records_again(s, own, &mine, &theirs, diag)) < 0)
            goto cleanup;
        out->again = 1;
    }
    if ((error = store_remote_push(repo, s->dir, url, own, diag)) == 0)
        out->pushed = 1;

cleanup:
    free(specs);
    free(lptr);
    store_local_heads_free(lheads, n);
    git_odb_free(odb);
    if (r != NULL)
        git_remote_disconnect(r);
    git_remote_free(r);
    git_repository_free(repo);
    return store_remote_end(&cb, error, s->dir, "records", url, diag);
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
    if (n > 0 && ((error = store_defer_sync(s, diag)) < 0 ||
                  (error = store_journal_write(s, ch, n, 0, NULL, NULL, 0, diag)) < 0))
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
