/*
 * fs_tls.c — a write to nodes/NODE/tls/cert or key (fs/MOUNT.md "TLS"): checked (the chain
 * valid now, the key its, nothing of a key in cert), the key kept in the store's private area
 * under its fingerprint, then the chain and that fingerprint committed in one commit (which puts
 * the key in force), older keys removed, the new state served (and so handed to the orchestrator,
 * which swaps the node's instance). These are the hooks the TLS kinds plug into the change
 * pipeline (fs_apply.h), which holds the lock, commits, publishes and records: fs_apply.c ->
 * fs_tls.c.
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
#include "fs_apply.h"

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

/* What a write changes, made from the text written and the served state (a write's priv). */
struct fs_tls_change {
    struct fs_tls_node n; /* the node's new state (moved into the new state's fs_tls) */
    struct fs_text key;   /* the private key to install (NULL: the key stays) */
    char fp[ENGINE_TLS_FP_TEXT + 1];
    char msg[512];
    int new_cert;
    char hex[65], old_hex[65]; /* the new key's and the served key's fingerprints ("": none) */
    int kept, existed;         /* the key is kept in the private area; it was already */
    char cert_path[ENGINE_STORE_PATH_MAX], fp_path[ENGINE_STORE_PATH_MAX];
};

static void fs_tls_change_free(struct fs_tls_change *ch)
{
    fs_tls_node_free(&ch->n);
    fs_tls_wipe(ch->key.data, ch->key.len);
    ch->key.data = NULL;
}

/* Checks the write of DATA to T against OLD (NODE's served entry, may be NULL) into CH.
 * Returns 0, 1 when nothing changes, or a negative errno with the reasons in D. */
static int fs_tls_check(struct fs_ctx *c, const struct fs_target *t, const struct fs_tls_node *old,
                        const char *data, size_t len, struct fs_tls_change *ch,
                        struct engine_diag *d)
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

int fs_tls_candidate(struct fs_change *w, struct engine_diag *d)
{
    const struct fs_tls_node *old = fs_tls_find(w->cur->tls, w->t->node);
    struct fs_tls_change *ch = calloc(1, sizeof(*ch));
    int rc;

    if ((w->priv = ch) == NULL)
        return -ENOMEM;
    if ((rc = fs_tls_check(w->c, w->t, old, w->data, w->len, ch, d)) != 0)
        return rc;
    if (old == NULL || fs_tls_fp_hex(&old->fingerprint, ch->old_hex) < 0)
        ch->old_hex[0] = 0;
    return (w->msg = strdup(ch->msg)) != NULL ? 0 : -ENOMEM;
}

int fs_tls_prepare(struct fs_change *w, struct fs_snap *ns, struct engine_diag *d)
{
    struct fs_tls_change *ch = w->priv;
    const char *node = w->t->node;
    int rc = 0;

    /* The key is kept under its fingerprint before the commit that names it: the commit is
     * the switch, so a crash on either side leaves a pair that matches. */
    if (ch->key.data != NULL &&
        (fs_tls_fp_hex(&ch->n.fingerprint, ch->hex) < 0 ||
         (rc = fs_tls_key_put(w->c, node, ch->hex, ch->key.data, ch->key.len, &ch->existed)) < 0))
        return engine_diag_add(d, w->t->path, 0, 0, "the key cannot be kept in .git/%s: %s",
                               FS_TLS_KEYS, strerror(rc < 0 ? -rc : EINVAL)),
               rc < 0 ? rc : -EIO;
    ch->kept = ch->key.data != NULL;
    /* The new state: the served certificates and keys with the node's new ones. */
    struct fs_tls *tls = fs_tls_with(w->cur->tls, &ch->n);
    if (tls == NULL)
        return -ENOMEM;
    fs_tls_put(ns->tls);
    ns->tls = tls;
    const struct fs_tls_node *n = fs_tls_find(tls, node);
    snprintf(ch->cert_path, sizeof(ch->cert_path), "tls/%s/cert", node);
    snprintf(ch->fp_path, sizeof(ch->fp_path), "tls/%s/key.fingerprint", node);
    if (ch->new_cert)
        w->extra[w->n_extra++] = (struct engine_store_change){
            .path = ch->cert_path, .data = n->cert.data, .len = n->cert.len};
    if (ch->key.data != NULL)
        w->extra[w->n_extra++] = (struct engine_store_change){
            .path = ch->fp_path, .data = n->fingerprint.data, .len = n->fingerprint.len};
    return 0;
}

void fs_tls_finish(struct fs_change *w, int rc)
{
    struct fs_tls_change *ch = w->priv;
    const char *old = ch != NULL && ch->old_hex[0] ? ch->old_hex : NULL;

    if (ch == NULL)
        return;
    if (ch->kept && rc < 0 && !ch->existed)
        fs_tls_key_prune(w->c, w->t->node, old, NULL); /* not in force */
    else if (ch->kept && rc == 0)
        fs_tls_key_prune(w->c, w->t->node, ch->hex, old);
    fs_tls_change_free(ch);
    free(ch);
    w->priv = NULL;
}
