/* fs_apply.c — a write through the mount, one change at a time: the candidate state made, the
 * whole of it validated, committed (and published), served; on -EAGAIN (main moved) made again
 * on the new state. Each kind of write plugs its part into this one pipeline (fs_kinds[],
 * fs_apply.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_inputs.h"
#include "fs_tls.h"
#include "fs_apply.h"
#include "fs_inval.h"
#include "fs_remote.h"

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

/* Replaces W's candidate state files by S's text: state/levels edited where the served one is
 * its state formatted (the lines of the levels that changed), else formatted whole. */
static int fs_cand_state(struct fs_change *w, const struct engine_topology_state *s)
{
    struct fs_text *cand = w->cand, lv = {0}, pr = {0};
    const struct fs_snap *cur = w->cur;
    int rc = cur->levels_made ? engine_topology_state_format_levels_from(
                                    s, cur->state, cur->file[FS_FILE_LEVELS].data,
                                    cur->file[FS_FILE_LEVELS].len, &lv.data, &lv.len)
                              : engine_topology_state_format_levels(s, &lv.data, &lv.len);

    if (rc < 0)
        return -ENOMEM;
    if (engine_topology_state_format_properties(s, &pr.data, &pr.len) < 0) {
        free(lv.data);
        return -ENOMEM;
    }
    fs_text_free(&cand[FS_FILE_LEVELS]);
    fs_text_free(&cand[FS_FILE_PROPERTIES]);
    cand[FS_FILE_LEVELS] = lv;
    cand[FS_FILE_PROPERTIES] = pr;
    w->levels_made = 1;
    return 0;
}

/* A rules file of policy/acl.d: written, made or removed. */
static int fs_cand_rules(struct fs_change *w, struct engine_diag *diag)
{
    (void)diag;
    return fs_rules_candidate(&w->cand_d, w->t->node, w->data, w->len, w->t->remove);
}

/* A whole file, or inputs/NAME in inputs.yaml (fs_inputs.h): the file; a new topology or
 * inputs also the state files (W->model, W->state). */
static int fs_cand_file(struct fs_change *w, struct engine_diag *diag)
{
    const struct fs_target *t = w->t;
    const struct fs_snap *cur = w->cur;
    struct fs_text *cand = w->cand;
    struct engine_topology_state *st = NULL;
    int rc;

    if ((rc = fs_cand_text(&cand[t->file], t, w->data, w->len, &w->msg, diag)) < 0)
        return rc;
    if (fs_text_same(&cand[t->file], &cur->file[t->file]))
        return 1;
    if (t->file != FS_FILE_TOPOLOGY && t->file != FS_FILE_INPUTS)
        return 0;
    /* A new topology, or new values of its inputs (which get_input may put in a node's
     * properties), keeps the levels and overrides that still apply to it. */
    if ((rc = fs_model_load(&w->model, cand[FS_FILE_TOPOLOGY].data, cand[FS_FILE_TOPOLOGY].len,
                            &cand[FS_FILE_INPUTS], diag)) < 0)
        return rc;
    if ((rc = engine_topology_state_carry(&st, w->model->t, cur->state, NULL)) < 0 ||
        (rc = fs_cand_state(w, st)) < 0)
        goto out;
    w->state = st;
    st = NULL;
    if (t->file == FS_FILE_INPUTS)
        goto out;
    w->msg = fs_msg_replace("topology.yaml", engine_topology_node_count(cur->model->t),
                            engine_topology_node_count(w->model->t), "nodes");
    rc = w->msg != NULL ? 0 : -ENOMEM;
out:
    engine_topology_state_free(st);
    return rc;
}

/* A level or a property: the state files with the value set by the engine's validating
 * setter. */
static int fs_cand_value(struct fs_change *w, struct engine_diag *diag)
{
    const struct fs_target *t = w->t;
    const struct fs_snap *cur = w->cur;
    struct engine_topology_state *st = NULL;
    const char *why = NULL, *old;
    char *value = NULL;
    int rc;

    if ((rc = fs_value_parse(&value, w->data, w->len, &why)) < 0) {
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
        w->msg = fs_msg_value(t->node, "security_level", old, value);
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
        /* as the property reads: a secret input's value is not in the message */
        w->msg = fs_msg_value(t->node, t->prop,
                              engine_topology_state_property_shown(cur->state, t->node, t->prop),
                              engine_topology_state_property_shown(st, t->node, t->prop));
    }
    if (w->msg == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = fs_cand_state(w, st)) == 0) {
        w->state = st; /* parsed already: the snapshot takes it */
        st = NULL;
    }
out:
    engine_topology_state_free(st);
    free(value);
    return rc;
}

/* What each kind of write plugs into the pipeline (fs_apply.h). */
static const struct fs_kind fs_kinds[FS_TARGET_N] = {
    [FS_TARGET_FILE] = {.candidate = fs_cand_file},
    [FS_TARGET_LEVEL] = {.max = FS_VALUE_MAX, .candidate = fs_cand_value},
    [FS_TARGET_PROPERTY] = {.max = FS_VALUE_MAX, .candidate = fs_cand_value},
    [FS_TARGET_TLS_CERT] = {.max = FS_TLS_MAX,
                            .candidate = fs_tls_candidate,
                            .prepare = fs_tls_prepare,
                            .finish = fs_tls_finish},
    [FS_TARGET_TLS_KEY] = {.max = FS_TLS_MAX,
                           .candidate = fs_tls_candidate,
                           .prepare = fs_tls_prepare,
                           .finish = fs_tls_finish},
    [FS_TARGET_RULES] = {.max = FS_POLICY_MAX, .candidate = fs_cand_rules},
    [FS_TARGET_INPUT] = {.max = FS_VALUE_MAX, .candidate = fs_cand_file},
};

size_t fs_target_max(const struct fs_target *t)
{
    return fs_kinds[t->kind].max ? fs_kinds[t->kind].max : fs_file_bound(t->file);
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

/* Charges the CPU time since *SINCE to STEP of the mount's writes, and restarts *SINCE. */
static void fs_write_step(struct fs_ctx *c, enum fs_write_step step, uint64_t *since)
{
    uint64_t now = engine_store_cpu_now();

    __atomic_fetch_add(&c->write_cpu[step], now - *since, __ATOMIC_RELAXED);
    *since = now;
}

/* Ends an attempt of W (of kind K; RC 0 when its state is served), ready for another. */
static void fs_write_end(struct fs_change *w, const struct fs_kind *k, int rc)
{
    if (k->finish != NULL)
        k->finish(w, rc);
    fs_files_free(w->cand);
    fs_rules_set_free(&w->cand_d);
    fs_model_put(w->model);
    engine_topology_state_free(w->state);
    free(w->msg);
    *w = (struct fs_change){.c = w->c, .t = w->t, .data = w->data, .len = w->len};
}

static int fs_apply_do(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                       uid_t uid, int check_only)
{
    const struct fs_kind *k = &fs_kinds[t->kind];
    struct engine_store_author_buf who;
    struct engine_diag diag = {0};
    struct fs_change w = {.c = c, .t = t, .data = data, .len = len};
    struct fs_snap *cur = NULL, *ns = NULL, *base = NULL;
    char id[41] = "";
    uint64_t t0 = engine_store_cpu_now();
    int rc, attempt;

    if (len > fs_target_max(t))
        return fs_apply_refuse(c, t->path, uid, -EFBIG, "larger than the bound of this file", NULL);
    if ((rc = engine_store_author_from_uid(&who, uid)) < 0)
        return fs_apply_refuse(c, t->path, uid, rc, "cannot name the writer's user", NULL);

    pthread_mutex_lock(&c->apply_mu);
    for (attempt = 0;; attempt++) {
        w.cur = cur = fs_snap_get(c);
        if ((rc = fs_snap_files_copy(w.cand, cur)) < 0 ||
            (rc = fs_rules_set_copy(&w.cand_d, &cur->acld)) < 0)
            goto done;
        rc = k->candidate(&w, &diag);
        if (rc != 0) {
            /* invalid; or the same value again: nothing to commit */
            rc = rc < 0 ? fs_apply_refuse(c, t->path, uid, rc, NULL, &diag) : 0;
            goto done;
        }
        rc = fs_snap_build(&ns, w.cand, &w.cand_d, "", cur, w.model, w.state, c->target, &diag);
        w.state = NULL; /* the snapshot took it */
        if (rc == 0)
            ns->levels_made = w.levels_made; /* not published yet */
        if (rc < 0) {
            rc = fs_apply_refuse(c, t->path, uid, rc, NULL, &diag);
            goto done;
        }
        if (check_only)
            goto done;
        if (w.msg == NULL && t->kind == FS_TARGET_RULES)
            w.msg = fs_rules_msg(&cur->acld, &ns->acld, t->node);
        else if (w.msg == NULL)
            w.msg = fs_msg_replace(fs_file_path(t->file), fs_file_count(cur, t->file),
                                   fs_file_count(ns, t->file), fs_file_unit(t->file));
        if (w.msg == NULL) {
            rc = -ENOMEM;
            goto done;
        }
        if ((rc = k->prepare != NULL ? k->prepare(&w, ns, &diag) : 0) == 0) {
            fs_write_step(c, FS_WRITE_VALIDATE, &t0);
            rc = fs_commit(c, cur, ns, NULL, 0, w.extra, w.n_extra, &who.author, w.msg, id, &diag);
            fs_write_step(c, FS_WRITE_COMMIT, &t0);
        }
        if (rc != -EAGAIN || attempt + 1 >= (c->remote != NULL ? FS_REMOTE_TRIES : 3))
            break;
        /* main moved (outside the mount, or on the remote): take that change in (or refuse
         * it) and redo ours on top of what is then served. */
        fs_write_end(&w, k, rc);
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
        fs_event(c, "commit %.12s by %s: %s", id, who.name, w.msg);
    }
    fs_write_step(c, FS_WRITE_SERVE, &t0);

done:
    fs_write_end(&w, k, rc);
    pthread_mutex_unlock(&c->apply_mu);
    fs_snap_put(c, base);
    fs_snap_free(ns);
    fs_snap_put(c, cur);
    engine_diag_free(&diag);
    /* A refused or unchanged write was all validation; a served one's old state freed. */
    fs_write_step(c, rc == 0 && id[0] ? FS_WRITE_SERVE : FS_WRITE_VALIDATE, &t0);
    return rc;
}

int fs_apply(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len, uid_t uid)
{
    int rc = fs_apply_do(c, t, data, len, uid, 0);

    fs_inval_wait(c); /* a name the change removed is gone for the writer's next call */
    return rc;
}

int fs_apply_in_dir(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                    uid_t uid)
{
    return fs_apply_do(c, t, data, len, uid, 0);
}

int fs_apply_check(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                   uid_t uid)
{
    return fs_apply_do(c, t, data, len, uid, 1);
}
