/*
 * fs_tls.c — a write to nodes/NODE/tls/cert or key (fs/MOUNT.md "TLS"): checked (the chain
 * valid now, the key its, nothing of a key in cert), the key kept in the store's private area
 * under its fingerprint, then the chain and that fingerprint committed in one commit (which puts
 * the key in force), older keys removed, the new state served (and so handed to the orchestrator,
 * which swaps the node's instance). Also the one entry of every write of the tree
 * (fs_change_apply()), so that calls go one way: fs_handle.c, fs_ops.c -> fs_tls.c -> fs_apply.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs_int.h"
#include "fs_tls.h"
#include "fs_remote.h"

/* A copy of T (may be NULL) whose entry for NODE is N (moved in; N is left empty). */
static struct fs_tls *fs_tls_with(const struct fs_tls *t, struct fs_tls_node *n)
{
    size_t cap = (t ? t->n : 0) + 1, k = 0;
    struct fs_tls *o = calloc(1, sizeof(*o));

    if (o == NULL || (o->v = calloc(cap, sizeof(*o->v))) == NULL) {
        free(o);
        return NULL;
    }
    o->refs = 1;
    for (size_t i = 0; t != NULL && i < t->n; i++) {
        const struct fs_tls_node *s = &t->v[i];
        struct fs_tls_node *d = &o->v[k];
        if (strcmp(s->node, n->node) == 0)
            continue;
        o->n = ++k;
        if ((d->node = strdup(s->node)) == NULL ||
            (s->cert.data && fs_text_set(&d->cert, s->cert.data, s->cert.len) < 0) ||
            (s->fingerprint.data &&
             fs_text_set(&d->fingerprint, s->fingerprint.data, s->fingerprint.len) < 0) ||
            (s->creds && (d->creds = malloc(s->creds_len)) == NULL)) {
            fs_tls_put(o);
            return NULL;
        }
        if (s->creds) {
            memcpy(d->creds, s->creds, s->creds_len);
            d->creds_len = s->creds_len;
        }
        memcpy(d->why, s->why, sizeof(d->why));
    }
    o->v[k] = *n;
    o->n = k + 1;
    memset(n, 0, sizeof(*n));
    return o;
}

/* ---- a write ---- */

/* What a write changes, made from the text written and the served state. */
struct fs_tls_change {
    struct fs_tls_node n; /* the node's new state */
    struct fs_text key;   /* the private key to install (NULL: the key stays) */
    char fp[ENGINE_TLS_FP_TEXT + 1];
    char msg[512];
    int new_cert;
};

static void fs_tls_change_free(struct fs_tls_change *ch)
{
    fs_tls_node_free(&ch->n);
    fs_tls_wipe(ch->key.data, ch->key.len);
    ch->key.data = NULL;
}

/* Checks the write of DATA to T against OLD (NODE's served entry, may be NULL) into CH.
 * Returns 0, 1 when nothing changes, or a negative errno with the reasons in D. */
static int fs_tls_candidate(struct fs_ctx *c, const struct fs_target *t,
                            const struct fs_tls_node *old, const char *data, size_t len,
                            struct fs_tls_change *ch, struct engine_diag *d)
{
    char *key = NULL, *cert = NULL, until[32];
    size_t key_len = 0, cert_len = 0;
    struct engine_tls_info info;
    struct fs_text cur_key = {0};
    int nkeys, rc;
    char cert_path[PATH_MAX], key_path[PATH_MAX], hex[65];

    snprintf(cert_path, sizeof(cert_path), "nodes/%s/tls/cert", t->node);
    snprintf(key_path, sizeof(key_path), "nodes/%s/tls/key", t->node);
    if ((nkeys = engine_tls_split(data, len, &key, &key_len, &cert, &cert_len)) < 0)
        return nkeys;
    if (t->kind == FS_TARGET_TLS_CERT && nkeys > 0) {
        rc = engine_diag_add(d, cert_path, 0, 0,
                             "holds a private key: a private key is never committed; write it "
                             "to %s (alone, or followed by its certificate chain)",
                             key_path);
        goto out;
    }
    if (t->kind == FS_TARGET_TLS_KEY && nkeys != 1) {
        rc = engine_diag_add(d, key_path, 0, 0,
                             "must hold one private key in PEM (-----BEGIN PRIVATE KEY-----), "
                             "alone or with its certificate chain; it holds %d",
                             nkeys);
        goto out;
    }
    if ((ch->n.node = strdup(t->node)) == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    /* The chain: the one written (cert, or key with its chain), else the served one. */
    if (t->kind == FS_TARGET_TLS_CERT || cert_len > 0) {
        ch->new_cert = 1;
        rc = fs_text_set(&ch->n.cert, t->kind == FS_TARGET_TLS_CERT ? data : cert,
                         t->kind == FS_TARGET_TLS_CERT ? len : cert_len);
    } else if (old != NULL && old->cert.data != NULL) {
        rc = fs_text_set(&ch->n.cert, old->cert.data, old->cert.len);
    } else {
        rc = engine_diag_add(d, key_path, 0, 0,
                             "node %s has no certificate yet: write %s first, or the key and its "
                             "chain together (cat KEY CHAIN > %s)",
                             t->node, cert_path, key_path);
    }
    if (rc < 0)
        goto out;
    /* The key: the one written, else the installed one (a new chain must be its). */
    if (t->kind == FS_TARGET_TLS_KEY) {
        ch->key.data = key, ch->key.len = key_len;
        key = NULL;
    } else if (old != NULL && fs_tls_fp_hex(&old->fingerprint, hex) == 0) {
        fs_tls_key_read(c, t->node, hex, &cur_key);
    }
    const struct fs_text *k = ch->key.data ? &ch->key : &cur_key;
    struct engine_tls_input in = {.cert = ch->n.cert.data,
                                  .cert_len = ch->n.cert.len,
                                  .key = k->data,
                                  .key_len = k->len,
                                  .cert_name = cert_path,
                                  .key_name = ch->key.data ? key_path : "the installed key",
                                  .now = (int64_t)time(NULL)};
    size_t before = d->n;
    rc = engine_tls_check(&in, &info, k->data ? &ch->n.creds : NULL, &ch->n.creds_len, d);
    if (rc == -EINVAL && t->kind == FS_TARGET_TLS_CERT && k->data != NULL && d->n > before &&
        strstr(d->v[d->n - 1].msg, "key") != NULL)
        engine_diag_add(d, cert_path, 0, 0,
                        "a new certificate with a new key is written in one step: cat NEW.key "
                        "NEW.crt > %s",
                        key_path);
    if (rc < 0)
        goto out;
    if (k->data == NULL)
        snprintf(ch->n.why, sizeof(ch->n.why),
                 "node %.200s has no private key: write its "
                 "nodes/NODE/tls/key",
                 t->node);
    /* The fingerprint: the key's (the chain's first public key, which the key matches). */
    if (t->kind == FS_TARGET_TLS_KEY || k->data != NULL) {
        engine_tls_fingerprint_text(info.fingerprint, ch->fp);
        strcat(ch->fp, "\n");
    }
    if (t->kind == FS_TARGET_TLS_KEY) {
        if ((rc = fs_text_set(&ch->n.fingerprint, ch->fp, strlen(ch->fp))) < 0)
            goto out;
    } else if (old != NULL && old->fingerprint.data != NULL &&
               (rc = fs_text_set(&ch->n.fingerprint, old->fingerprint.data, old->fingerprint.len)) <
                   0) {
        goto out;
    }
    int same_cert = old != NULL && old->cert.data != NULL && old->cert.len == ch->n.cert.len &&
                    memcmp(old->cert.data, ch->n.cert.data, old->cert.len) == 0;
    int same_fp = old != NULL && old->fingerprint.data != NULL && ch->n.fingerprint.data &&
                  strcmp(old->fingerprint.data, ch->n.fingerprint.data) == 0;
    if (same_cert && (t->kind == FS_TARGET_TLS_CERT || (same_fp && old->creds != NULL))) {
        rc = 1; /* the same chain (and key) again */
        goto out;
    }
    fs_time_format(until, sizeof(until), (time_t)info.not_after);
    ch->fp[strcspn(ch->fp, "\n")] = 0;
    if (t->kind == FS_TARGET_TLS_CERT)
        snprintf(ch->msg, sizeof(ch->msg),
                 "%s: tls certificate replaced (%zu in the chain, valid "
                 "until %s)",
                 t->node, info.ncerts, until);
    else if (ch->new_cert)
        snprintf(ch->msg, sizeof(ch->msg),
                 "%s: tls certificate and key replaced (key %s, valid "
                 "until %s)",
                 t->node, ch->fp, until);
    else
        snprintf(ch->msg, sizeof(ch->msg), "%s: tls key installed (%s)", t->node, ch->fp);
    rc = 0;
out:
    fs_tls_wipe(key, key_len);
    fs_tls_wipe(cur_key.data, cur_key.len);
    free(cert);
    return rc;
}

/* Commits CH and serves it; apply_mu held. Returns 0 or a negative errno (refusal recorded). */
static int fs_tls_commit(struct fs_ctx *c, const struct fs_target *t, struct fs_snap *cur,
                         struct fs_tls_change *ch, const struct engine_store_author *who,
                         char id[41], struct engine_diag *d)
{
    char cert_path[ENGINE_STORE_PATH_MAX], fp_path[ENGINE_STORE_PATH_MAX];
    struct engine_store_change changes[2];
    struct fs_text file[FS_FILE_N];
    struct fs_snap *ns = NULL;
    const struct fs_tls_node *old = fs_tls_find(cur->tls, t->node);
    char hex[65] = "", old_hex[65] = "", parent[41] = "";
    size_t n = 0;
    int rc = 0, existed = 0;

    if (old == NULL || fs_tls_fp_hex(&old->fingerprint, old_hex) < 0)
        old_hex[0] = 0;
    snprintf(cert_path, sizeof(cert_path), "tls/%s/cert", t->node);
    snprintf(fp_path, sizeof(fp_path), "tls/%s/key.fingerprint", t->node);
    if (ch->new_cert)
        changes[n++] = (struct engine_store_change){cert_path, ch->n.cert.data, ch->n.cert.len};
    if (ch->key.data != NULL)
        changes[n++] =
            (struct engine_store_change){fp_path, ch->n.fingerprint.data, ch->n.fingerprint.len};
    /* The key is kept under its fingerprint before the commit that names it: the commit is
     * the switch, so a crash on either side leaves a pair that matches. */
    if (ch->key.data != NULL &&
        (fs_tls_fp_hex(&ch->n.fingerprint, hex) < 0 ||
         (rc = fs_tls_key_put(c, t->node, hex, ch->key.data, ch->key.len, &existed)) < 0))
        return engine_diag_add(d, t->path, 0, 0, "the key cannot be kept in .git/%s: %s",
                               FS_TLS_KEYS, strerror(rc < 0 ? -rc : EINVAL)),
               rc < 0 ? rc : -EIO;
    engine_store_head(c->store, parent, NULL);
    rc = engine_store_commit(c->store, changes, n, who, ch->msg, id, d);
    if (rc == ENGINE_STORE_WORKTREE_STALE)
        rc = 0;
    /* With a remote, the pair is in force only once the remote has it (the commit is taken
     * back otherwise). */
    if (rc == 0 && id[0] && c->remote != NULL && (rc = fs_remote_publish(c, parent, d)) < 0)
        id[0] = '\0';
    if (ch->key.data != NULL && rc < 0 && !existed)
        fs_tls_key_prune(c, t->node, old_hex[0] ? old_hex : NULL, NULL); /* not in force */
    else if (ch->key.data != NULL && rc == 0)
        fs_tls_key_prune(c, t->node, hex, old_hex[0] ? old_hex : NULL);
    if (rc < 0)
        return rc;
    /* The new state: the served files with the new certificates and keys. */
    struct fs_tls *tls = fs_tls_with(cur->tls, &ch->n);
    struct fs_rules_set acld = {0};
    if (tls == NULL || (rc = fs_snap_files_copy(file, cur)) < 0 ||
        (rc = fs_rules_set_copy(&acld, &cur->acld)) < 0 ||
        (rc = fs_snap_build(&ns, file, &acld, id[0] ? id : cur->head, cur, NULL, NULL, c->target,
                            d)) < 0) {
        fs_rules_set_free(&acld);
        fs_tls_put(tls);
        fs_error(c, "%s: committed as %.12s, but not served: out of memory", t->node, id);
        return -ENOMEM;
    }
    fs_tls_put(ns->tls);
    ns->tls = tls;
    fs_apply_install(c, ns);
    return 0;
}

/* The errno a refusal gives the writer: those a user can act on, else EIO. */
static int fs_tls_errno(int rc)
{
    return rc == -EINVAL || rc == -ENOSPC || rc == -ENOMEM || rc == -EBUSY || rc == -EHOSTUNREACH ||
                   rc == -EPERM || rc == -EAGAIN
               ? rc
               : -EIO;
}

int fs_tls_apply(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                 uid_t uid)
{
    struct engine_store_author_buf who;
    struct engine_diag d = {0};
    char id[41] = "";
    int rc;

    if (len > FS_TLS_MAX)
        return fs_apply_refuse(c, t->path, uid, -EFBIG, "larger than the bound of this file", NULL);
    if ((rc = engine_store_author_from_uid(&who, uid)) < 0)
        return fs_apply_refuse(c, t->path, uid, rc, "cannot name the writer's user", NULL);
    pthread_mutex_lock(&c->apply_mu);
    for (int attempt = 0;; attempt++) {
        struct fs_tls_change ch = {0};
        struct fs_snap *cur = fs_snap_get(c);
        rc = fs_tls_candidate(c, t, fs_tls_find(cur->tls, t->node), data, len, &ch, &d);
        if (rc == 0)
            rc = fs_tls_commit(c, t, cur, &ch, &who.author, id, &d);
        if (rc == 0 && id[0]) {
            fs_count(&c->commits[FS_SRC_MOUNT]);
            fs_event(c, "commit %.12s by %s: %s", id, who.name, ch.msg);
        }
        fs_tls_change_free(&ch);
        fs_snap_put(c, cur);
        if (rc != -EAGAIN || attempt >= 2)
            break;
        /* main moved outside the mount: take that in first, then this change on top. */
        engine_diag_free(&d);
        if (c->remote == NULL)
            fs_apply_external_locked(c);
        else if ((rc = fs_apply_remote_locked(c)) < 0)
            break;
    }
    if (rc == 1)
        rc = 0;
    else if (rc < 0)
        rc =
            fs_apply_refuse(c, t->path, uid, fs_tls_errno(rc),
                            rc == -EBUSY ? "the store's work tree has an uncommitted edit of tls/; "
                                           "commit it with git or restore it first"
                                         : NULL,
                            &d);
    pthread_mutex_unlock(&c->apply_mu);
    engine_diag_free(&d);
    return rc;
}

int fs_change_apply(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                    uid_t uid)
{
    if (t->kind == FS_TARGET_TLS_CERT || t->kind == FS_TARGET_TLS_KEY)
        return fs_tls_apply(c, t, data, len, uid);
    return fs_apply(c, t, data, len, uid);
}
