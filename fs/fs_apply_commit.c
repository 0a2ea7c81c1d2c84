/* fs_apply_commit.c — what every change shares (fs_apply.c's writes, fs_apply_outside.c's
 * outside changes): its commit (and publish to a remote), serving the new state, recording a
 * refusal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "fs_apply.h"
#include "fs_inval.h"
#include "fs_remote.h"

/* The names a refusal's errno is recorded with; any other is recorded as EIO. */
static const char *const fs_errno_names[] = {
    [EINVAL] = "EINVAL", [ENOENT] = "ENOENT",
    [EFBIG] = "EFBIG",   [EBUSY] = "EBUSY",
    [EACCES] = "EACCES", [EPERM] = "EPERM",
    [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
    [ENOSPC] = "ENOSPC", [EHOSTUNREACH] = "EHOSTUNREACH",
};

static const char *fs_errno_name(int rc)
{
    size_t e = rc < 0 ? (size_t)-rc : 0;

    if (e < sizeof(fs_errno_names) / sizeof(fs_errno_names[0]) && fs_errno_names[e] != NULL)
        return fs_errno_names[e];
    return "EIO";
}

char *fs_diag_line(const struct engine_diag *diag)
{
    char *text = engine_diag_join(diag);

    for (char *p = text; p != NULL && *p; p++)
        if (*p == '\n')
            *p = ';';
    return text;
}

/* Records a refused change of PATH by UID in errors, events and the log; returns RC. */
int fs_apply_refuse(struct fs_ctx *c, const char *path, uid_t uid, int rc, const char *why,
                    const struct engine_diag *diag)
{
    struct engine_store_author_buf who;
    char *text = NULL;

    if (diag != NULL && diag->n > 0)
        text = fs_diag_line(diag);
    if (engine_store_author_from_uid(&who, uid) < 0)
        snprintf(who.name, sizeof(who.name), "uid-%lu", (unsigned long)uid);
    fs_count(&c->refusals[FS_SRC_MOUNT]);
    fs_error(c, "refused %s (%s) written by %s: %s%s%s", path, fs_errno_name(rc), who.name,
             why != NULL ? why : "", why != NULL && text != NULL ? ": " : "",
             text != NULL ? text : "");
    free(text);
    return rc;
}

/* Serves NS (taking the caller's reference) in place of the current snapshot. */
void fs_apply_install(struct fs_ctx *c, struct fs_snap *ns)
{
    struct fs_snap *old;

    pthread_mutex_lock(&c->mu);
    old = c->snap;
    c->snap = ns;
    c->changes++;
    pthread_mutex_unlock(&c->mu);
    fs_keys_installed(ns);
    fs_keys_warm(c, ns);
    fs_touch_installed(c, old, ns);
    fs_inval_installed(c, old, ns);
    fs_snap_put(c, old);
    if (c->installed != NULL)
        c->installed(c, ns); /* still under apply_mu, which `settle` waits for */
    /* Handed on (or nobody to hand it to: --no-run), the change is done with, whatever the
     * orchestrator did with it: the next state's change is over this policy, and the rules file
     * it replaced (a large one, replaced whole) would stay in memory as long as NS is served. */
    if (ns->policy != NULL)
        fs_policy_change_done(ns->policy);
}

/* Shares every file of S with FILE[] (for a candidate state: a file it changes is replaced). */
int fs_snap_files_copy(struct fs_text file[FS_FILE_N], const struct fs_snap *s)
{
    for (int f = 0; f < FS_FILE_N; f++)
        file[f] = (struct fs_text){0};
    for (int f = 0; f < FS_FILE_N; f++) {
        if (fs_text_share(&file[f], &s->file[f]) < 0) {
            for (int g = 0; g < FS_FILE_N; g++)
                fs_text_free(&file[g]);
            return -ENOMEM;
        }
    }
    return 0;
}

void fs_own_index(struct fs_ctx *c)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/.git/index", c->store_dir);
    if (lstat(path, &c->own_index) < 0)
        c->own_index.st_ino = 0;
}

/*
 * Commits NS's files that differ from the store's head (usually just the changed one; after
 * a refused outside change, also the files that put the last good state back). CUR is the
 * served snapshot: while it is the store's head (c->served_is_head), its files are the head's
 * and need not be read again; an acl.d file that CUR holds too is the same entry, compared
 * by pointer. FROM_WORKTREE[f] (and D_FROM_WORKTREE for acl.d files) says a file is committed
 * from the work tree. EXTRA[0..N_EXTRA) are committed with them (a write's store paths outside
 * the state's files: tls/). OUT_ID is "" when nothing differs. Caller holds apply_mu.
 */
int fs_commit(struct fs_ctx *c, const struct fs_snap *cur, const struct fs_snap *ns,
              const int *from_worktree, int d_from_worktree,
              const struct engine_store_change *extra, size_t n_extra,
              const struct engine_store_author *author, const char *msg, char out_id[41],
              struct engine_diag *diag)
{
    struct engine_store_change *ch = NULL;
    struct fs_text head[FS_FILE_N] = {{0}};
    struct fs_rules_set head_d = {0};
    const struct fs_text *base = head;
    const struct fs_rules_set *base_d = &head_d;
    char parent[41];
    size_t n = 0, cap = 0, fixed;
    int rc = 0;

    out_id[0] = '\0';
    engine_store_head(c->store, parent, NULL);
    if (c->served_is_head && cur == c->snap) {
        base = cur->file;
        base_d = &cur->acld;
    } else if ((rc = fs_snap_read_store(head, &head_d, c->store, &cur->acld, diag)) < 0) {
        return rc;
    }
    for (int f = 0; f < FS_FILE_N; f++) {
        if (base == cur->file ? fs_snap_file_same(cur, ns, f)
                              : fs_text_same(&base[f], &ns->file[f]))
            continue;
        if (engine_grow((void **)&ch, &cap, n + 1, sizeof(*ch)) < 0) {
            rc = -ENOMEM;
            goto out;
        }
        ch[n] = (struct engine_store_change){
            .path = fs_file_path(f),
            .data = ns->file[f].data,
            .len = ns->file[f].len,
            .remove = ns->file[f].data == NULL,
            .from_worktree = from_worktree != NULL && from_worktree[f],
        };
        n++;
    }
    if (n_extra > 0 && engine_grow((void **)&ch, &cap, n + n_extra, sizeof(*ch)) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_extra; i++)
        ch[n++] = extra[i];
    fixed = n; /* the paths after these are the acl.d files', allocated */
    if ((rc = fs_rules_changes(&ch, &n, &cap, base_d, &ns->acld, d_from_worktree)) == 0 && n > 0 &&
        (rc = engine_store_commit(c->store, ch, n, author, msg, out_id, diag)) >= 0) {
        engine_fault(ENGINE_FAULT_AFTER_COMMIT); /* tests: killed with the commit durable */
        fs_own_index(c);                         /* the watcher need not look at the store for it */
    }
    for (size_t i = fixed; i < n; i++)
        free((char *)ch[i].path);
out:
    free(ch);
    fs_rules_set_free(&head_d);
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&head[f]);
    /* The commit is made and durable; only the work tree lags (the store retries). */
    if (rc == ENGINE_STORE_WORKTREE_STALE)
        rc = 0;
    /* With a remote, a change is made only once the remote has it. */
    if (rc == 0 && out_id[0] && c->remote != NULL && (rc = fs_remote_publish(c, parent, diag)) < 0)
        out_id[0] = '\0';
    if (rc == 0)
        c->served_is_head = 1; /* NS is served next, and it is now what main holds */
    return rc;
}

void fs_files_free(struct fs_text file[FS_FILE_N])
{
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&file[f]);
}
