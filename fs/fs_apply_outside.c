/* fs_apply_outside.c — changes made in the store from outside: a commit on main (also one
 * taken from the remote), an edit of the work tree; validated, then served (and an edit
 * committed), or refused with the last good state served. Serialised with writes (apply_mu). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "fs_int.h"
#include "fs_tls.h"
#include "fs_apply.h"
#include "fs_inval.h"
#include "fs_remote.h"
#include "fs_watch.h"

/* The author of commit ID's summary, for events. */
/* A new commit on main: serve it if valid (and, in a store that applies only signed commits,
 * if it and every commit since FROM, the last good state's, are signed by an allowed signer),
 * else keep the last good state and say why. */
static void fs_external_head(struct fs_ctx *c, const char *id, const char *from)
{
    struct engine_diag diag = {0};
    struct fs_text file[FS_FILE_N] = {{0}};
    struct fs_rules_set acld;
    struct engine_store_commit_line hi = {"?", "?"};
    struct fs_snap *ns = NULL;
    char *text = NULL, bad[41];
    int rc = 0;

    engine_store_head_line(c->store, &hi);
    if (engine_store_signed_only(c->store) &&
        (rc = engine_store_verify_new(c->store, from, id, bad, &diag)) < 0)
        engine_diag_add(&diag, NULL, 0, 0,
                        "the store applies only commits signed by an allowed signer (%s)",
                        ENGINE_STORE_SIGNED_ONLY);
    if (rc == 0 && (rc = fs_snap_read_store(file, &acld, c->store, &c->snap->acld, &diag)) == 0)
        rc = fs_snap_build(&ns, file, &acld, id, c->snap, NULL, NULL, c->target, &diag);
    if (rc == 0) {
        /* Its tls/ files may be new (a revert, a pull): read again with the keys. */
        struct fs_tls *tls = NULL;
        if (fs_tls_load(c, &tls) == 0) {
            fs_tls_put(ns->tls);
            ns->tls = tls;
        }
        fs_apply_install(c, ns);
        c->served_is_head = 1;
        c->refused_wt[0] = '\0';
        fs_count(&c->commits[FS_SRC_EXTERNAL]);
        fs_event(c, "external commit %.12s by %s applied: %s", id, hi.author, hi.summary);
        goto out;
    }
    if (strcmp(c->refused_wt, id) != 0) {
        struct fs_snap *cur = fs_snap_get(c);
        text = fs_diag_line(&diag);
        fs_error(c,
                 "refused external commit %.12s by %s (%s): %s; still serving %.12s; the next "
                 "change made through the mount puts its files back",
                 id, hi.author, hi.summary, text != NULL ? text : "invalid", cur->head);
        fs_snap_put(c, cur);
        snprintf(c->refused_wt, sizeof(c->refused_wt), "%s", id);
        fs_count(&c->refusals[FS_SRC_EXTERNAL]);
    }
    c->served_is_head = 0; /* main holds the refused commit; the last good state is served */
out:
    free(text);
    engine_diag_free(&diag);
}

/* Reads the work-tree file REL of the store (absent: data NULL): -EFBIG, with its size in
 * *SIZE, when it holds more than MAX bytes. */
static int fs_read_worktree(struct fs_ctx *c, const char *rel, size_t max, struct fs_text *out,
                            uid_t *owner, size_t *size)
{
    char path[4096];
    struct stat st;
    char *buf;
    ssize_t got;
    size_t len = 0;
    int fd, rc = 0;

    *out = (struct fs_text){0};
    snprintf(path, sizeof(path), "%s/%s", c->store_dir, rel);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        *size = (size_t)st.st_size;
        return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
    }
    *owner = st.st_uid;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (len < (size_t)st.st_size) {
        got = read(fd, buf + len, (size_t)st.st_size - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? -errno : 0;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return 0;
}

/* The file of work-tree path PATH: an fs_file, FS_FILE_N for a rules file of policy/acl.d
 * (editors' leftovers there are no rules files), or -1 for a path the mount does not serve. */
static int fs_worktree_file(const char *path)
{
    size_t dl = strlen(FS_RULES_DIR);

    for (int f = 0; f < FS_FILE_N; f++)
        if (strcmp(path, fs_file_path(f)) == 0)
            return f;
    if (strncmp(path, FS_RULES_DIR, dl) == 0 && path[dl] == '/' &&
        strchr(path + dl + 1, '/') == NULL && engine_acl_d_name(path + dl + 1) == 0)
        return FS_FILE_N;
    return -1;
}

/* An operator's `git rm PATH` or `git add PATH` changes the work tree before their `git commit`
 * runs: taken as an edit meanwhile, the change would be committed by the mount with its
 * message, and their commit would fail with nothing to commit. A change the index holds is
 * left to that commit this long from when it was first seen staged (longer than a script or a
 * typed command takes between the two), then taken as an edit: nothing stays unserved. */
#define FS_STAGED_GRACE_MS 2000

void fs_staged_free(struct fs_staged *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].path);
    free(v);
}

/* 1 when the staged change of PATH is still in its grace (at NOW). Records in NEXT (*NN
 * entries, NULL: out of memory) when it was first seen staged, and in *DUE the earliest end of
 * a grace still running. */
static int fs_staged_wait(const struct fs_ctx *c, const char *path, struct fs_staged *next,
                          size_t *nn, int64_t now, int64_t *due)
{
    int64_t since = now;

    for (size_t i = 0; i < c->nstaged; i++)
        if (strcmp(c->staged[i].path, path) == 0)
            since = c->staged[i].since;
    if (next == NULL || (next[*nn].path = strdup(path)) == NULL)
        return 0; /* out of memory: taken as an edit, as without a grace */
    next[(*nn)++].since = since;
    if (now - since >= FS_STAGED_GRACE_MS)
        return 0;
    if (*due == 0 || since + FS_STAGED_GRACE_MS < *due)
        *due = since + FS_STAGED_GRACE_MS;
    return 1;
}

/* Edits in the store's work tree of the files the mount serves: validated, then committed. */
static void fs_external_worktree(struct fs_ctx *c)
{
    struct fs_staged *next = NULL;
    size_t nn = 0;
    int64_t now = fs_now_ms(), due = 0;
    int listed = 0, in_git = 0;
    struct engine_store_wtchange *wt = NULL;
    struct engine_diag diag = {0};
    struct fs_text cand[FS_FILE_N] = {{0}};
    struct fs_rules_set cand_d = {0};
    struct fs_snap *cur = NULL, *ns = NULL;
    struct engine_store_author_buf who;
    char sig[2048] = "", paths[1024] = "", id[41] = "", *text = NULL, *msg = NULL;
    int touched[FS_FILE_N] = {0}, any = 0, big = 0, rc;
    uid_t owner = 0;
    size_t n = 0;

    if (engine_store_worktree_changes(c->store, &wt, &n, &diag) < 0)
        goto out;
    listed = 1;
    if (n == 0)
        goto out;
    next = calloc(n, sizeof(*next));
    /* git rm deletes the file before it writes the index: while git holds the index's lock, an
     * operation is under way, and every change is given the grace (a lock left behind too). */
    {
        char lock[4096];
        snprintf(lock, sizeof(lock), "%s/.git/index.lock", c->store_dir);
        in_git = access(lock, F_OK) == 0;
    }
    cur = fs_snap_get(c);
    if (fs_snap_files_copy(cand, cur) < 0)
        goto out;
    if (fs_rules_set_copy(&cand_d, &cur->acld) < 0) {
        fs_files_free(cand);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct fs_text got = {0};
        int f = fs_worktree_file(wt[i].path);
        size_t size = 0;
        if (f < 0 ||
            ((wt[i].staged || in_git) && fs_staged_wait(c, wt[i].path, next, &nn, now, &due)))
            continue;
        int rd = fs_read_worktree(c, wt[i].path, fs_file_bound(f), &got, &owner, &size);
        if (rd == -EFBIG) {
            /* Bounded as a write through the mount is; refused, never read. */
            engine_diag_add(&diag, wt[i].path, 0, 0, ENGINE_STORE_TOO_LARGE, size,
                            fs_file_bound(f));
            big = 1;
        } else if (rd < 0) {
            continue;
        } else if (f == FS_FILE_N) {
            /* a file of policy/acl.d: changed, made or removed */
            const char *name = wt[i].path + strlen(FS_RULES_DIR) + 1;
            int rc2 = fs_rules_candidate(&cand_d, name, got.data != NULL ? got.data : "", got.len,
                                         got.data == NULL);
            if (rc2 < 0 && rc2 != -ENOENT) {
                fs_text_free(&got);
                continue;
            }
        } else {
            fs_text_free(&cand[f]);
            cand[f] = got;
            got = (struct fs_text){0};
            touched[f] = 1;
        }
        any = 1;
        snprintf(paths + strlen(paths), sizeof(paths) - strlen(paths), "%s%s", paths[0] ? ", " : "",
                 wt[i].path);
        /* The edit as read (a file too large: its size), to report a refused one once. */
        snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%s:", wt[i].path);
        if (rd == -EFBIG) {
            snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%zu", size);
        } else {
            const struct fs_text *t = f == FS_FILE_N ? &got : &cand[f];
            uint8_t d[ENGINE_SHA256_LEN];
            engine_sha256(d, t->data != NULL ? t->data : "", t->len);
            for (int b = 0; b < 8; b++)
                snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%02x", d[b]);
        }
        fs_text_free(&got);
    }
    if (!any) {
        fs_files_free(cand);
        fs_rules_set_free(&cand_d);
        goto out;
    }
    if (c->refused_wt_sig != NULL && strcmp(c->refused_wt_sig, sig) == 0) {
        fs_files_free(cand);
        fs_rules_set_free(&cand_d);
        goto out; /* this very edit was refused already */
    }
    if (big) {
        fs_files_free(cand);
        fs_rules_set_free(&cand_d);
        rc = -EFBIG;
    } else if (engine_store_signed_only(c->store)) {
        /* An edit is no signed commit: committing it would sign it with the store's key. */
        fs_files_free(cand);
        fs_rules_set_free(&cand_d);
        engine_diag_add(&diag, paths, 0, 0,
                        "the store applies only commits signed by an allowed signer (%s): "
                        "commit the edit signed (git commit -S) or write through the mount",
                        ENGINE_STORE_SIGNED_ONLY);
        rc = -EPERM;
    } else {
        rc = fs_snap_build(&ns, cand, &cand_d, "", cur, NULL, NULL, c->target, &diag);
    }
    if (rc < 0) {
        text = fs_diag_line(&diag);
        fs_error(c,
                 "refused edit of %s in the store's work tree: %s; still serving %.12s; the "
                 "file stays as edited: fix it, or run `git checkout -- %s` in the store",
                 paths, text != NULL ? text : "invalid", cur->head, paths);
        free(c->refused_wt_sig);
        c->refused_wt_sig = strdup(sig);
        fs_count(&c->refusals[FS_SRC_WORKTREE]);
        goto out;
    }
    if (engine_store_author_from_uid(&who, owner) < 0 ||
        asprintf(&msg, "%s: edited in the store's work tree", paths) < 0) {
        msg = NULL;
        goto out;
    }
    /* The edit is committed as it is in the work tree, which is never rewritten: a crash
     * cannot lose it (the store checks that the files still hold what was read). */
    rc = fs_commit(c, cur, ns, touched, 1, NULL, 0, &who.author, msg, id, &diag);
    if (rc < 0) {
        text = fs_diag_line(&diag);
        fs_error(c, "could not commit the edit of %s in the store's work tree: %s", paths,
                 text != NULL ? text : "error");
        goto out;
    }
    snprintf(ns->head, sizeof(ns->head), "%s", id[0] ? id : cur->head);
    fs_apply_install(c, ns);
    ns = NULL;
    free(c->refused_wt_sig);
    c->refused_wt_sig = NULL;
    if (id[0]) {
        fs_count(&c->commits[FS_SRC_WORKTREE]);
        fs_event(c, "commit %.12s by %s: %s", id, who.name, msg);
    }

out:
    /* The paths staged now, each with when it was first seen so; the watcher wakes at DUE. */
    if (listed) {
        fs_staged_free(c->staged, c->nstaged);
        c->staged = next;
        c->nstaged = nn;
        next = NULL;
    }
    fs_staged_free(next, nn);
    __atomic_store_n(&c->staged_due, due, __ATOMIC_RELAXED);
    free(msg);
    free(text);
    fs_snap_free(ns);
    fs_snap_put(c, cur);
    engine_store_wtchanges_free(wt, n);
    engine_diag_free(&diag);
}

/* Does the work-tree file REL hold what S serves for it (absent from both: yes)? */
static int fs_worktree_holds(struct fs_ctx *c, const struct fs_snap *s, const char *rel)
{
    static const struct fs_text none = {0};
    int f = fs_worktree_file(rel), same;
    const struct fs_text *want = &none;
    struct fs_text got = {0};
    uid_t owner = 0;
    size_t size = 0;

    if (f < 0)
        return 0;
    if (f < FS_FILE_N)
        want = &s->file[f];
    else {
        const struct fs_rules *r = fs_rules_find(&s->acld, rel + strlen(FS_RULES_DIR) + 1);
        if (r != NULL)
            want = &r->text;
    }
    if (fs_read_worktree(c, rel, fs_file_bound(f), &got, &owner, &size) < 0)
        return 0;
    same = fs_text_same(&got, want);
    fs_text_free(&got);
    return same;
}

/* Is .git/index as the mount left it (apply_mu held)? */
static int fs_index_own(const struct fs_ctx *c)
{
    char path[4096];
    struct stat st;
    const struct stat *o = &c->own_index;

    snprintf(path, sizeof(path), "%s/.git/index", c->store_dir);
    return o->st_ino != 0 && lstat(path, &st) == 0 && st.st_ino == o->st_ino &&
           st.st_dev == o->st_dev && st.st_size == o->st_size &&
           st.st_mtim.tv_sec == o->st_mtim.tv_sec && st.st_mtim.tv_nsec == o->st_mtim.tv_nsec &&
           st.st_ctim.tv_sec == o->st_ctim.tv_sec && st.st_ctim.tv_nsec == o->st_ctim.tv_nsec;
}

/* Does every event of burst B say what the mount's own commits and looks explain (main has
 * not moved: the caller asked)? The files of the work tree it names hold what is served (their
 * bytes compared: a stat cannot tell an edit made in the same clock tick), those of .git are
 * the store's own or an index the mount left as it is, main's ref is main's. */
static int fs_burst_ours(struct fs_ctx *c, const struct fs_watch_burst *b)
{
    const char *branch = strrchr(ENGINE_STORE_BRANCH, '/') + 1;
    struct fs_snap *s = fs_snap_get(c);
    int ours = !b->overflow && c->served_is_head;
    char rel[4096];

    for (int i = 0; ours && i < b->n; i++) {
        const char *dir = b->ev[i].dir, *name = b->ev[i].name;
        if (strcmp(dir, ".git/refs/heads") == 0)
            ours = strcmp(name, branch) == 0;
        else if (strcmp(dir, ".git") == 0)
            ours = engine_store_own_file(name) || (strcmp(name, "index") == 0 && fs_index_own(c));
        else {
            snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "", name);
            ours = fs_worktree_holds(c, s, rel);
        }
    }
    fs_snap_put(c, s);
    return ours;
}

/* fs_apply_external_locked() for the events of BURST (NULL: none known). */
static int fs_apply_external_after(struct fs_ctx *c, const struct fs_watch_burst *burst)
{
    struct engine_diag diag = {0};
    char id[41] = "", from[41] = "";
    int changed = 0, rc;

    /* The last good state's commit: every commit since must hold (signatures). */
    {
        struct fs_snap *cur = fs_snap_get(c);
        snprintf(from, sizeof(from), "%s", cur->head);
        fs_snap_put(c, cur);
    }
    rc = engine_store_refresh(c->store, &changed, id, &diag);
    if (rc < 0) {
        char *text = engine_diag_join(&diag);
        fs_error(c, "cannot read the store's main branch: %s", text != NULL ? text : "error");
        free(text);
        engine_diag_free(&diag);
        return 0;
    }
    engine_diag_free(&diag);
    if (changed)
        fs_external_head(c, id, from);
    if (!changed && burst != NULL && fs_burst_ours(c, burst)) {
        fs_count(&c->looks[FS_LOOK_SKIPPED]);
        return 0;
    }
    fs_count(&c->looks[burst != NULL ? FS_LOOK_ASKED : FS_LOOK_TIMER]);
    fs_own_index(c); /* before the status: a change of the index after it is looked at again */
    fs_external_worktree(c);
    return changed;
}

int fs_apply_external_locked(struct fs_ctx *c)
{
    return fs_apply_external_after(c, NULL);
}

void fs_apply_external(struct fs_ctx *c, const struct fs_watch_burst *burst)
{
    struct fs_snap *s;
    size_t before, after;

    pthread_mutex_lock(&c->apply_mu);
    s = fs_snap_get(c);
    before = fs_snap_bytes(s);
    fs_snap_put(c, s);
    /* An operator's commit in the store goes to the remote, as a write would. */
    if (fs_apply_external_after(c, burst) && c->remote != NULL)
        fs_apply_remote_locked(c);
    s = fs_snap_get(c);
    after = fs_snap_bytes(s);
    fs_snap_put(c, s);
    pthread_mutex_unlock(&c->apply_mu);
    fs_inval_wait(c);
    /* The look compared the store's files with the served ones, copies of their size freed
     * in this thread's arena. */
    fs_memory_trim(before > after ? before : after);
}

/* ---- a remote that holds main (fs_remote.c) ---- */

int fs_apply_remote_locked(struct fs_ctx *c)
{
    int rc = fs_remote_follow_locked(c);

    /* main moved to the remote's: validated and served, or refused, as an outside commit */
    if (rc > 0)
        fs_apply_external_locked(c);
    return rc < 0 ? rc : 0;
}

void fs_apply_remote(struct fs_ctx *c)
{
    pthread_mutex_lock(&c->apply_mu);
    fs_apply_remote_locked(c);
    pthread_mutex_unlock(&c->apply_mu);
    fs_inval_wait(c);
}
