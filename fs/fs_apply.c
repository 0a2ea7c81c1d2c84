/* fs_apply.c — one change at a time: validate the new state, commit it, serve it. A state it
 * installs is reported through ctx->installed (calls go one way: fs_orch.c -> fs_apply.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"
#include "fs_inputs.h"
#include "fs_tls.h"
#include "fs_remote.h"

size_t fs_target_max(const struct fs_target *t)
{
    if (t->kind == FS_TARGET_TLS_CERT || t->kind == FS_TARGET_TLS_KEY)
        return FS_TLS_MAX;
    if (t->kind == FS_TARGET_RULES)
        return FS_POLICY_MAX;
    if (t->kind != FS_TARGET_FILE)
        return FS_VALUE_MAX;
    return t->file == FS_FILE_TOPOLOGY || t->file == FS_FILE_INPUTS ? FS_TOPOLOGY_MAX
                                                                    : FS_POLICY_MAX;
}

static const char *fs_errno_name(int rc)
{
    switch (-rc) {
    case EINVAL:
        return "EINVAL";
    case ENOENT:
        return "ENOENT";
    case EFBIG:
        return "EFBIG";
    case EBUSY:
        return "EBUSY";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EAGAIN:
        return "EAGAIN";
    case ENOMEM:
        return "ENOMEM";
    case ENOSPC:
        return "ENOSPC";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    default:
        return "EIO";
    }
}

/* Records a refused change of PATH by UID in errors, events and the log; returns RC. */
int fs_apply_refuse(struct fs_ctx *c, const char *path, uid_t uid, int rc, const char *why,
                    const struct engine_diag *diag)
{
    struct engine_store_author_buf who;
    char *text = NULL;

    if (diag != NULL && diag->n > 0 && (text = engine_diag_join(diag)) != NULL) {
        for (char *p = text; *p; p++)
            if (*p == '\n')
                *p = ';';
    }
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
    fs_touch_installed(c, old, ns);
    fs_snap_put(c, old);
    if (c->installed != NULL)
        c->installed(c, ns); /* still under apply_mu, which `settle` waits for */
}

/* Copies every file of S into FILE[] (for a candidate state). */
int fs_snap_files_copy(struct fs_text file[FS_FILE_N], const struct fs_snap *s)
{
    for (int f = 0; f < FS_FILE_N; f++) {
        file[f].data = NULL;
        file[f].len = 0;
    }
    for (int f = 0; f < FS_FILE_N; f++) {
        if (s->file[f].data == NULL)
            continue;
        if (fs_text_set(&file[f], s->file[f].data, s->file[f].len) < 0) {
            for (int g = 0; g < FS_FILE_N; g++)
                fs_text_free(&file[g]);
            return -ENOMEM;
        }
    }
    return 0;
}

/*
 * Commits NS's files that differ from the store's head (usually just the changed one; after
 * a refused outside change, also the files that put the last good state back). CUR is the
 * served snapshot: while it is the store's head (c->served_is_head), its files are the head's
 * and need not be read again; an acl.d file that CUR holds too is the same entry, compared
 * by pointer. FROM_WORKTREE[f] (and D_FROM_WORKTREE for acl.d files) says a file is committed
 * from the work tree. OUT_ID is "" when nothing differs. Caller holds apply_mu.
 */
static int fs_commit(struct fs_ctx *c, const struct fs_snap *cur, const struct fs_snap *ns,
                     const int *from_worktree, int d_from_worktree,
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
        if (fs_text_same(&base[f], &ns->file[f]))
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
    fixed = n; /* the paths after these are the acl.d files', allocated */
    if ((rc = fs_rules_changes(&ch, &n, &cap, base_d, &ns->acld, d_from_worktree)) == 0 && n > 0 &&
        (rc = engine_store_commit(c->store, ch, n, author, msg, out_id, diag)) >= 0)
        engine_fault(ENGINE_FAULT_AFTER_COMMIT); /* tests: killed with the commit durable */
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

static const char *fs_file_unit(enum fs_file f)
{
    switch (f) {
    case FS_FILE_ACL:
        return "rules";
    case FS_FILE_GROUPS:
        return "groups";
    case FS_FILE_CREDENTIALS:
        return "credentials";
    default:
        return "bytes";
    }
}

static size_t fs_file_count(const struct fs_snap *s, enum fs_file f)
{
    switch (f) {
    case FS_FILE_ACL:
        return s->acl_stats.rules;
    case FS_FILE_GROUPS:
        return s->acl_stats.groups;
    case FS_FILE_CREDENTIALS:
        return s->acl_stats.credentials;
    default:
        return s->file[f].len;
    }
}

static void fs_files_free(struct fs_text file[FS_FILE_N])
{
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&file[f]);
}

/* Replaces CAND's state files by S's text. */
static int fs_cand_state(struct fs_text cand[FS_FILE_N], const struct engine_topology_state *s)
{
    struct fs_text lv = {0}, pr = {0};

    if (engine_topology_state_format_levels(s, &lv.data, &lv.len) < 0)
        return -ENOMEM;
    if (engine_topology_state_format_properties(s, &pr.data, &pr.len) < 0) {
        free(lv.data);
        return -ENOMEM;
    }
    fs_text_free(&cand[FS_FILE_LEVELS]);
    fs_text_free(&cand[FS_FILE_PROPERTIES]);
    cand[FS_FILE_LEVELS] = lv;
    cand[FS_FILE_PROPERTIES] = pr;
    return 0;
}

/*
 * Turns the write of DATA into T into the candidate files CAND (a copy of CUR's): the file
 * itself, or the state files for a level or a property. *MODEL receives the parsed new
 * topology for topology.yaml; *MSG the commit message when it is known before validation.
 * Returns 1 when nothing changes, 0, or a negative errno with the reason in DIAG.
 */
static int fs_candidate(const struct fs_target *t, const struct fs_snap *cur,
                        struct fs_text cand[FS_FILE_N], struct fs_rules_set *cand_d,
                        const char *data, size_t len, struct fs_model **model,
                        struct engine_topology_state **state, char **msg, struct engine_diag *diag)
{
    struct engine_topology_state *st = NULL;
    const char *why = NULL, *old;
    char *value = NULL;
    int rc;

    if (t->kind == FS_TARGET_RULES)
        return fs_rules_candidate(cand_d, t->node, data, len, t->remove);
    if (t->kind == FS_TARGET_FILE || t->kind == FS_TARGET_INPUT) { /* inputs/NAME: in inputs.yaml */
        if ((rc = fs_cand_text(&cand[t->file], t, data, len, msg, diag)) < 0)
            return rc;
        if (fs_text_same(&cand[t->file], &cur->file[t->file]))
            return 1;
        if (t->file != FS_FILE_TOPOLOGY && t->file != FS_FILE_INPUTS)
            return 0;
        /* A new topology, or new values of its inputs (which get_input may put in a node's
         * properties), keeps the levels and overrides that still apply to it. */
        if ((rc = fs_model_load(model, cand[FS_FILE_TOPOLOGY].data, cand[FS_FILE_TOPOLOGY].len,
                                &cand[FS_FILE_INPUTS], diag)) < 0)
            return rc;
        if (t->file == FS_FILE_INPUTS) {
            rc = engine_topology_state_carry(&st, (*model)->t, cur->state, NULL);
            if (rc == 0 && (rc = fs_cand_state(cand, st)) == 0) {
                *state = st;
                st = NULL;
            }
            goto out;
        }
        if ((rc = engine_topology_state_carry(&st, (*model)->t, cur->state, NULL)) < 0 ||
            (rc = fs_cand_state(cand, st)) < 0)
            goto out;
        *state = st;
        st = NULL;
        *msg = fs_msg_replace("topology.yaml", engine_topology_node_count(cur->model->t),
                              engine_topology_node_count((*model)->t), "nodes");
        rc = *msg != NULL ? 0 : -ENOMEM;
        goto out;
    }
    if ((rc = fs_value_parse(&value, data, len, &why)) < 0) {
        if (rc == -EINVAL)
            engine_diag_add(diag, t->path, 1, 0, "%s", why);
        return rc;
    }
    /* A copy of the served state, changed by the engine's validating setter. */
    if ((rc = engine_topology_state_carry(&st, cur->model->t, cur->state, NULL)) < 0)
        goto out;
    if (t->kind == FS_TARGET_LEVEL) {
        old = engine_topology_state_level(cur->state, t->node);
        if (old != NULL && strcmp(old, value) == 0) {
            rc = 1;
            goto out;
        }
        if ((rc = engine_topology_state_set_level(st, t->node, value, diag)) < 0)
            goto out;
        *msg = fs_msg_value(t->node, "security_level", old, value);
    } else {
        const char *now;
        old = engine_topology_state_property(cur->state, t->node, t->prop);
        if ((rc = engine_topology_state_set_property(st, t->node, t->prop, value, diag)) < 0)
            goto out;
        now = engine_topology_state_property(st, t->node, t->prop);
        if (old != NULL && now != NULL && strcmp(old, now) == 0) {
            rc = 1;
            goto out;
        }
        *msg = fs_msg_value(t->node, t->prop, old, now);
    }
    if (*msg == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = fs_cand_state(cand, st)) == 0) {
        *state = st; /* parsed already: the snapshot takes it */
        st = NULL;
    }
out:
    engine_topology_state_free(st);
    free(value);
    return rc;
}

/* Why a commit failed, as the writer is told (errno and reason); the last entry is the rest. */
struct fs_commit_failure {
    int rc;
    const char *why;
};

static const struct fs_commit_failure fs_commit_failures[] = {
    {-EBUSY, "the store's work tree has an uncommitted edit of this file (see errors); commit "
             "or restore it first"},
    {-ENOSPC, "the store's disk is full"},
    {-EHOSTUNREACH, "the remote cannot be reached: nothing is changed (reads and running "
                    "instances go on)"},
    {-EPERM, "the remote refused the change"},
    {-EAGAIN, "main kept moving on the remote: write again"},
    {-EIO, "the store could not commit"},
};

static const struct fs_commit_failure *fs_commit_failure_of(int rc)
{
    size_t n = sizeof(fs_commit_failures) / sizeof(fs_commit_failures[0]);

    for (size_t i = 0; i + 1 < n; i++)
        if (fs_commit_failures[i].rc == rc)
            return &fs_commit_failures[i];
    return &fs_commit_failures[n - 1];
}

static int fs_apply_do(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                       uid_t uid, int check_only)
{
    struct engine_store_author_buf who;
    struct engine_diag diag = {0};
    struct fs_text cand[FS_FILE_N];
    struct fs_rules_set cand_d = {0};
    struct fs_snap *cur = NULL, *ns = NULL, *base = NULL;
    struct fs_model *model = NULL;
    struct engine_topology_state *state = NULL;
    char id[41] = "", *msg = NULL;
    int rc, attempt;

    if (len > fs_target_max(t))
        return fs_apply_refuse(c, t->path, uid, -EFBIG, "larger than the bound of this file", NULL);
    if ((rc = engine_store_author_from_uid(&who, uid)) < 0)
        return fs_apply_refuse(c, t->path, uid, rc, "cannot name the writer's user", NULL);

    pthread_mutex_lock(&c->apply_mu);
    for (attempt = 0;; attempt++) {
        cur = fs_snap_get(c);
        if ((rc = fs_snap_files_copy(cand, cur)) < 0)
            goto done;
        if ((rc = fs_rules_set_copy(&cand_d, &cur->acld)) < 0) {
            fs_files_free(cand);
            goto done;
        }
        free(msg);
        msg = NULL;
        rc = fs_candidate(t, cur, cand, &cand_d, data, len, &model, &state, &msg, &diag);
        if (rc != 0) {
            fs_files_free(cand);
            fs_rules_set_free(&cand_d);
            engine_topology_state_free(state);
            state = NULL;
            if (rc < 0)
                rc = fs_apply_refuse(c, t->path, uid, rc == -ENOENT ? -ENOENT : rc, NULL, &diag);
            else
                rc = 0; /* the same value again: nothing to commit */
            goto done;
        }
        rc = fs_snap_build(&ns, cand, &cand_d, "", cur, model, state, c->target, &diag);
        state = NULL;
        fs_model_put(model);
        model = NULL;
        if (rc < 0) {
            rc = fs_apply_refuse(c, t->path, uid, rc, NULL, &diag);
            goto done;
        }
        if (check_only)
            goto done;
        if (msg == NULL && t->kind == FS_TARGET_RULES)
            msg = fs_rules_msg(&cur->acld, &ns->acld, t->node);
        else if (msg == NULL)
            msg = fs_msg_replace(fs_file_path(t->file), fs_file_count(cur, t->file),
                                 fs_file_count(ns, t->file), fs_file_unit(t->file));
        if (msg == NULL) {
            rc = -ENOMEM;
            goto done;
        }
        rc = fs_commit(c, cur, ns, NULL, 0, &who.author, msg, id, &diag);
        if (rc != -EAGAIN || attempt + 1 >= (c->remote != NULL ? FS_REMOTE_TRIES : 3))
            break;
        /* main moved (outside the mount, or on the remote): take that change in (or refuse
         * it) and redo ours on top of what is then served. */
        engine_diag_free(&diag);
        fs_snap_free(ns);
        ns = NULL;
        if (base == NULL)
            base = cur; /* what this write replaced when it was made */
        else
            fs_snap_put(c, cur);
        cur = NULL;
        if (c->remote == NULL)
            fs_apply_external_locked(c);
        else if ((rc = fs_apply_remote_locked(c)) < 0)
            break;
        if (c->remote != NULL && (rc = fs_remote_conflict(c, t, base, &diag)) < 0) {
            rc = fs_apply_refuse(c, t->path, uid, rc, NULL, &diag);
            goto done;
        }
    }
    if (rc < 0) {
        const struct fs_commit_failure *why = fs_commit_failure_of(rc);
        rc = fs_apply_refuse(c, t->path, uid, why->rc, why->why, &diag);
        goto done;
    }
    snprintf(ns->head, sizeof(ns->head), "%s", id[0] ? id : cur->head);
    fs_apply_install(c, ns);
    ns = NULL;
    if (id[0]) {
        fs_count(&c->commits[FS_SRC_MOUNT]);
        fs_event(c, "commit %.12s by %s: %s", id, who.name, msg);
    }

done:
    pthread_mutex_unlock(&c->apply_mu);
    fs_snap_put(c, base);
    fs_model_put(model);
    fs_snap_free(ns);
    fs_snap_put(c, cur);
    engine_diag_free(&diag);
    free(msg);
    return rc;
}

int fs_apply(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len, uid_t uid)
{
    return fs_apply_do(c, t, data, len, uid, 0);
}

int fs_apply_check(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                   uid_t uid)
{
    return fs_apply_do(c, t, data, len, uid, 1);
}

/* ---- changes made in the store from outside ---- */

/* The author of commit ID's summary, for events. */
struct fs_head_info {
    char author[256];
    char summary[256];
};

static int fs_head_info_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct fs_head_info *hi = arg;

    snprintf(hi->author, sizeof(hi->author), "%s", info->author_name);
    snprintf(hi->summary, sizeof(hi->summary), "%s", info->summary);
    return 1;
}

/* A new commit on main: serve it if valid (and, in a store that applies only signed commits,
 * if it and every commit since FROM, the last good state's, are signed by an allowed signer),
 * else keep the last good state and say why. */
static void fs_external_head(struct fs_ctx *c, const char *id, const char *from)
{
    struct engine_diag diag = {0};
    struct fs_text file[FS_FILE_N];
    struct fs_rules_set acld;
    struct fs_head_info hi = {"?", "?"};
    struct fs_snap *ns = NULL;
    char *text = NULL, bad[41];
    int rc = 0;

    engine_store_log(c->store, 1, fs_head_info_cb, &hi, NULL);
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
        if ((text = engine_diag_join(&diag)) != NULL)
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    *p = ';';
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

/* Reads the work-tree file REL of the store (absent: data NULL). */
static int fs_read_worktree(struct fs_ctx *c, const char *rel, struct fs_text *out, uid_t *owner)
{
    char path[4096];
    struct stat st;
    char *buf;
    ssize_t got;
    size_t len = 0;
    int fd, rc = 0;

    out->data = NULL;
    out->len = 0;
    snprintf(path, sizeof(path), "%s/%s", c->store_dir, rel);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > FS_POLICY_MAX) {
        close(fd);
        return -EINVAL;
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

/* Edits in the store's work tree of the files the mount serves: validated, then committed. */
static void fs_external_worktree(struct fs_ctx *c)
{
    struct engine_store_wtchange *wt = NULL;
    struct engine_diag diag = {0};
    struct fs_text cand[FS_FILE_N];
    struct fs_rules_set cand_d = {0};
    struct fs_snap *cur = NULL, *ns = NULL;
    struct engine_store_author_buf who;
    char sig[2048] = "", paths[1024] = "", id[41] = "", *text = NULL, *msg = NULL;
    int touched[FS_FILE_N] = {0}, any = 0, rc;
    uid_t owner = 0;
    size_t n = 0;

    if (engine_store_worktree_changes(c->store, &wt, &n, &diag) < 0 || n == 0)
        goto out;
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
        if (f < 0 || fs_read_worktree(c, wt[i].path, &got, &owner) < 0)
            continue;
        if (f == FS_FILE_N) {
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
            got.data = NULL;
            touched[f] = 1;
        }
        any = 1;
        snprintf(paths + strlen(paths), sizeof(paths) - strlen(paths), "%s%s", paths[0] ? ", " : "",
                 wt[i].path);
        {
            const struct fs_text *t = f == FS_FILE_N ? &got : &cand[f];
            uint8_t d[ENGINE_SHA256_LEN];
            engine_sha256(d, t->data != NULL ? t->data : "", t->len);
            snprintf(sig + strlen(sig), sizeof(sig) - strlen(sig), "%s:", wt[i].path);
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
    /* An edit is no signed commit: committing it would sign it with the store's key. */
    if (engine_store_signed_only(c->store)) {
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
        if ((text = engine_diag_join(&diag)) != NULL)
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    *p = ';';
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
    rc = fs_commit(c, cur, ns, touched, 1, &who.author, msg, id, &diag);
    if (rc < 0) {
        if ((text = engine_diag_join(&diag)) != NULL)
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    *p = ';';
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
    free(msg);
    free(text);
    fs_snap_free(ns);
    fs_snap_put(c, cur);
    engine_store_wtchanges_free(wt, n);
    engine_diag_free(&diag);
}

int fs_apply_external_locked(struct fs_ctx *c)
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
    fs_external_worktree(c);
    return changed;
}

void fs_apply_external(struct fs_ctx *c)
{
    struct fs_snap *s;
    size_t before, after;

    pthread_mutex_lock(&c->apply_mu);
    s = fs_snap_get(c);
    before = fs_snap_bytes(s);
    fs_snap_put(c, s);
    /* An operator's commit in the store goes to the remote, as a write would. */
    if (fs_apply_external_locked(c) && c->remote != NULL)
        fs_apply_remote_locked(c);
    s = fs_snap_get(c);
    after = fs_snap_bytes(s);
    fs_snap_put(c, s);
    pthread_mutex_unlock(&c->apply_mu);
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
}
