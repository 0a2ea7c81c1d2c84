/* fs_remote.c — a remote as the source of truth (-o remote=URL): each change is pushed before
 * it is acknowledged, a commit the remote does not take is taken back, and main follows the
 * remote's. fs_apply.c calls in here; the store does the git; fs_remote_watch.c says when. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "fs_remote.h"
#include "fs_tls.h"

/* Joins DIAG's messages on one line (caller frees; NULL when none). */
static char *fs_remote_text(const struct engine_diag *diag)
{
    char *text = diag->n > 0 ? engine_diag_join(diag) : NULL;

    for (char *p = text; p != NULL && *p; p++)
        if (*p == '\n')
            *p = ';';
    return text;
}

int fs_remote_publish(struct fs_ctx *c, const char *parent, struct engine_diag *diag)
{
    struct engine_diag back = {0};
    int rc = engine_store_push(c->store, c->remote, diag);

    if (rc == 0)
        return 0;
    if (engine_store_move(c->store, parent, 1, &back) < 0) {
        char *text = fs_remote_text(&back);
        /* main keeps a commit the remote lacks: the next look drops it (not served). */
        c->served_is_head = 0;
        fs_error(c, "cannot take back the commit the remote did not take: %s",
                 text != NULL ? text : "error");
        free(text);
    }
    engine_diag_free(&back);
    return rc;
}

/* Pushes main, which the remote lacks, saying so in events. */
static int fs_remote_push_ours(struct fs_ctx *c, const char *why, struct engine_diag *diag)
{
    char head[41];
    int rc = engine_store_push(c->store, c->remote, diag);

    engine_store_head(c->store, head, NULL);
    if (rc == 0)
        fs_event(c, "pushed %.12s to the remote %s, %s", head, c->remote, why);
    return rc;
}

int fs_remote_follow_locked(struct fs_ctx *c)
{
    struct engine_diag diag = {0};
    enum engine_store_remote_rel rel;
    char id[41], head[41];
    int rc = engine_store_fetch(c->store, c->remote, id, &rel, &diag);

    if (rc == -ENOENT) {
        engine_diag_free(&diag);
        rc = c->served_is_head ? fs_remote_push_ours(c, "which had no main", &diag) : -ENOENT;
    } else if (rc == 0 && rel != ENGINE_STORE_REMOTE_SAME) {
        engine_store_head(c->store, head, NULL);
        if (rel == ENGINE_STORE_REMOTE_OLDER && c->served_is_head) {
            /* A commit made in the store itself (or left by a crash before its push). */
            rc = fs_remote_push_ours(c, "whose main lacked it", &diag);
            goto out;
        }
        if (rel == ENGINE_STORE_REMOTE_DIVERGED)
            fs_event(c,
                     "main (%.12s) and the remote's main (%.12s) have diverged: the remote's is "
                     "taken, as it is the source of truth (`git reflog main` in the store keeps "
                     "ours)",
                     head, id);
        else if (rel == ENGINE_STORE_REMOTE_OLDER)
            fs_event(c,
                     "main (%.12s) holds a commit that is not served and the remote lacks: "
                     "main goes back to the remote's (%.12s)",
                     head, id);
        /* The caller validates it and serves it (or refuses it) like an outside commit. */
        if ((rc = engine_store_move(c->store, id, 0, &diag)) >= 0)
            rc = 1;
    }
out:
    if (rc < 0 && !c->remote_down) {
        char *text = fs_remote_text(&diag);
        fs_error(c,
                 "cannot follow the remote %s: %s; until it answers, writes fail (%s) and "
                 "reads and running instances go on",
                 c->remote, text != NULL ? text : strerror(-rc),
                 rc == -EHOSTUNREACH ? "EHOSTUNREACH" : "refused");
        free(text);
    } else if (rc == 0 && c->remote_down) {
        fs_event(c, "the remote %s answers again", c->remote);
    }
    c->remote_down = rc < 0;
    engine_diag_free(&diag);
    return rc;
}

static int fs_remote_text_same(const struct fs_text *a, const struct fs_text *b)
{
    if (a->data == NULL || b->data == NULL)
        return a->data == b->data;
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Equal strings, either possibly NULL. */
static int fs_str_same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether what a write of T replaces is the same in BASE and NOW, by kind of T. */
static int fs_remote_same_file(const struct fs_target *t, const struct fs_snap *base,
                               const struct fs_snap *now)
{
    return fs_remote_text_same(&base->file[t->file], &now->file[t->file]);
}

static int fs_remote_same_rules(const struct fs_target *t, const struct fs_snap *base,
                                const struct fs_snap *now)
{
    const struct fs_rules *was = fs_rules_find(&base->acld, t->node);
    const struct fs_rules *is = fs_rules_find(&now->acld, t->node);

    return fs_rules_same(was, is);
}

static int fs_remote_same_level(const struct fs_target *t, const struct fs_snap *base,
                                const struct fs_snap *now)
{
    return fs_str_same(engine_topology_state_level(base->state, t->node),
                       engine_topology_state_level(now->state, t->node));
}

static int fs_remote_same_property(const struct fs_target *t, const struct fs_snap *base,
                                   const struct fs_snap *now)
{
    return fs_str_same(engine_topology_state_property(base->state, t->node, t->prop),
                       engine_topology_state_property(now->state, t->node, t->prop));
}

/* tls/cert or tls/key: the node's committed chain and key fingerprint (what a renewal or a
 * rotation replaces; the key itself is checked again with the chain on the new state). */
static int fs_remote_same_tls(const struct fs_target *t, const struct fs_snap *base,
                              const struct fs_snap *now)
{
    const struct fs_tls_node *was = fs_tls_find(base->tls, t->node);
    const struct fs_tls_node *is = fs_tls_find(now->tls, t->node);
    static const struct fs_tls_node none = {0};

    was = was != NULL ? was : &none;
    is = is != NULL ? is : &none;
    return fs_remote_text_same(&was->cert, &is->cert) &&
           fs_remote_text_same(&was->fingerprint, &is->fingerprint);
}

static int (*const fs_remote_same[FS_TARGET_N])(const struct fs_target *, const struct fs_snap *,
                                                const struct fs_snap *) = {
    [FS_TARGET_FILE] = fs_remote_same_file,
    [FS_TARGET_INPUT] = fs_remote_same_file, /* inputs/NAME: inputs.yaml */
    [FS_TARGET_RULES] = fs_remote_same_rules,
    [FS_TARGET_LEVEL] = fs_remote_same_level,
    [FS_TARGET_PROPERTY] = fs_remote_same_property,
    [FS_TARGET_TLS_CERT] = fs_remote_same_tls,
    [FS_TARGET_TLS_KEY] = fs_remote_same_tls,
};

/*
 * A write made on BASE is replayed on the served state after main moved on the remote, unless
 * what it replaces (the file; the node's level, property, or TLS chain and key) changed there too:
 * then the write would undo another's acknowledged change unseen, and is refused (-EAGAIN) instead.
 */
int fs_remote_conflict(struct fs_ctx *c, const struct fs_target *t, const struct fs_snap *base,
                       struct engine_diag *diag)
{
    struct fs_snap *now = fs_snap_get(c);
    int same = fs_remote_same[t->kind] == NULL || fs_remote_same[t->kind](t, base, now);

    if (!same)
        engine_diag_add(diag, t->path, 0, 0,
                        "changed on the remote while this write was made (now commit %.12s): "
                        "read it again and write anew",
                        now->head);
    fs_snap_put(c, now);
    return same ? 0 : -EAGAIN;
}

void fs_remote_records(struct fs_ctx *c, int *failed)
{
    struct engine_store_records_sync did;
    struct engine_diag diag = {0};
    char own[ENGINE_STORE_REF_MAX];
    int rc;

    if (engine_store_deployed_ref(own, fs_record_host(c)) < 0)
        return; /* fs_apply_record() says so at each record */
    rc = engine_store_records_sync(c->store, c->remote, own, &did, &diag);
    if (rc < 0 && !*failed) {
        char *text = fs_remote_text(&diag);
        if (rc == -EHOSTUNREACH)
            fs_event(c,
                     "deployment records not exchanged with the remote %s: %s; tried again "
                     "at the next look",
                     c->remote, text != NULL ? text : strerror(-rc));
        else
            fs_error(c,
                     "deployment records not exchanged with the remote %s: %s; tried again "
                     "at the next look",
                     c->remote, text != NULL ? text : strerror(-rc));
        free(text);
    } else if (rc == 0 && *failed) {
        fs_event(c, "deployment records are exchanged with the remote %s again", c->remote);
    }
    if (rc == 0 && did.again)
        fs_event(c,
                 "the remote held records of host %s that the store lacked: taken, and the "
                 "host's last record made again on them",
                 fs_record_host(c));
    *failed = rc < 0;
    engine_diag_free(&diag);
}
