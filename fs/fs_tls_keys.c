/*
 * fs_tls_keys.c — the nodes' certificates and private keys as a state holds them: read from
 * the store's head (tls/NODE/cert, tls/NODE/key.fingerprint) and from the store's private area
 * (.git/FS_TLS_KEYS/NODE/HEX, the key of fingerprint sha256:HEX, 0600, in 0700 directories:
 * never committed; the one in force and the previous one are kept), checked together into
 * the credentials an instance takes; and served as nodes/NODE/tls/ (fs/MOUNT.md "TLS"). Every
 * buffer that held a key is wiped before it is freed.
 */
#include <dirent.h>
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

/* ---- the private keys' files ---- */

/* .git/FS_TLS_KEYS, its directory NODE, or the file NAME in it: one directory per node, each
 * key named by its fingerprint's hex digits (what tls/NODE/key.fingerprint commits). */
static void fs_tls_key_path(char *buf, size_t size, const struct fs_ctx *c, const char *node,
                            const char *name)
{
    if (node == NULL)
        snprintf(buf, size, "%s/.git/%s", c->store_dir, FS_TLS_KEYS);
    else if (name == NULL)
        snprintf(buf, size, "%s/.git/%s/%s", c->store_dir, FS_TLS_KEYS, node);
    else
        snprintf(buf, size, "%s/.git/%s/%s/%s", c->store_dir, FS_TLS_KEYS, node, name);
}

int fs_tls_fp_hex(const struct fs_text *fp, char hex[65])
{
    static const char pre[] = "sha256:";
    const char *p;

    if (fp->data == NULL || fp->len < sizeof(pre) - 1 + 64 ||
        memcmp(fp->data, pre, sizeof(pre) - 1) != 0)
        return -EINVAL;
    p = fp->data + sizeof(pre) - 1;
    for (int i = 0; i < 64; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return -EINVAL;
    if (fp->len != sizeof(pre) - 1 + 64 && strcmp(p + 64, "\n") != 0)
        return -EINVAL;
    memcpy(hex, p, 64);
    hex[64] = 0;
    return 0;
}

/* Makes directory PATH 0700 (a directory, not a link: -ENOTDIR), closing it again when it is
 * open to others. */
static int fs_tls_key_dir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((st.st_mode & 077) != 0 && chmod(path, 0700) < 0)
        return -errno;
    return 0;
}

/* Puts directory PATH's entries on disk. */
static void fs_tls_dir_sync(const char *path)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int fs_tls_key_read(const struct fs_ctx *c, const char *node, const char *hex, struct fs_text *out)
{
    char path[PATH_MAX];
    struct stat st;
    int fd, rc = 0;

    *out = (struct fs_text){0};
    fs_tls_key_path(path, sizeof(path), c, node, hex);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)FS_TLS_MAX) {
        close(fd);
        return -EINVAL;
    }
    if ((out->data = calloc(1, (size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (out->len < (size_t)st.st_size) {
        ssize_t k = read(fd, out->data + out->len, (size_t)st.st_size - out->len);
        if (k <= 0) {
            rc = -EIO;
            break;
        }
        out->len += (size_t)k;
    }
    close(fd);
    if (rc < 0) {
        fs_tls_wipe(out->data, out->len);
        out->data = NULL;
    }
    return rc;
}

int fs_tls_key_put(const struct fs_ctx *c, const char *node, const char *hex, const char *key,
                   size_t len, int *existed)
{
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 8];
    struct stat st;
    int fd, rc = 0;

    fs_tls_key_path(dir, sizeof(dir), c, NULL, NULL);
    if ((rc = fs_tls_key_dir(dir)) < 0)
        return rc;
    fs_tls_key_path(dir, sizeof(dir), c, node, NULL);
    if ((rc = fs_tls_key_dir(dir)) < 0)
        return rc;
    fs_tls_key_path(path, sizeof(path), c, node, hex);
    *existed = lstat(path, &st) == 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp); /* a link planted there is removed, not followed */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return -errno;
    for (size_t off = 0; off < len && rc == 0;) {
        ssize_t k = write(fd, key + off, len - off);
        if (k < 0)
            rc = errno == ENOSPC ? -ENOSPC : -EIO;
        else
            off += (size_t)k;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    else
        fs_tls_dir_sync(dir);
    return rc;
}

void fs_tls_key_prune(const struct fs_ctx *c, const char *node, const char *keep1,
                      const char *keep2)
{
    char dir[PATH_MAX], path[PATH_MAX];
    struct dirent *e;
    DIR *d;

    fs_tls_key_path(dir, sizeof(dir), c, node, NULL);
    if ((d = opendir(dir)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (keep1 && strcmp(e->d_name, keep1) == 0) ||
            (keep2 && strcmp(e->d_name, keep2) == 0))
            continue;
        fs_tls_key_path(path, sizeof(path), c, node, e->d_name);
        unlink(path);
    }
    closedir(d);
    fs_tls_dir_sync(dir);
}

/* ---- one node's state ---- */

/* Checks CERT with KEY (either may be absent) now: N's credentials, or why not. */
static int fs_tls_node_creds(struct fs_tls_node *n, const struct fs_text *key)
{
    char cert_name[PATH_MAX], key_name[PATH_MAX];
    struct engine_diag d;
    int rc;

    if (n->cert.data == NULL || key->data == NULL) {
        snprintf(n->why, sizeof(n->why), "node %s has no %s: write nodes/%s/tls/%s", n->node,
                 n->cert.data == NULL ? "certificate" : "private key", n->node,
                 n->cert.data == NULL ? "cert" : "key");
        return 0;
    }
    snprintf(cert_name, sizeof(cert_name), "tls/%s/cert", n->node);
    snprintf(key_name, sizeof(key_name), "the key %.*s of .git/%s/%s", (int)n->fingerprint.len - 1,
             n->fingerprint.data ? n->fingerprint.data : "", FS_TLS_KEYS, n->node);
    struct engine_tls_input in = {.cert = n->cert.data,
                                  .cert_len = n->cert.len,
                                  .key = key->data,
                                  .key_len = key->len,
                                  .cert_name = cert_name,
                                  .key_name = key_name,
                                  .now = (int64_t)time(NULL)};
    engine_diag_init(&d);
    rc = engine_tls_check(&in, NULL, &n->creds, &n->creds_len, &d);
    if (rc == -EINVAL) {
        char *why = engine_diag_join(&d);
        snprintf(n->why, sizeof(n->why), "node %s: %s", n->node, why ? why : "invalid");
        free(why);
        rc = 0;
    }
    engine_diag_free(&d);
    return rc;
}

/* Reads tls/NODE/NAME of the store's head into OUT (absent: data NULL); one that is no file (a
 * link, whose blob is its target's name; a submodule; from an outside commit) or is larger
 * than a write through the mount may make it is none, the reason in N's why: the node fails
 * with it. */
static int fs_tls_store_read(struct fs_ctx *c, struct fs_tls_node *n, const char *name,
                             struct fs_text *out)
{
    char path[ENGINE_STORE_PATH_MAX];
    struct engine_diag d;
    int rc;

    snprintf(path, sizeof(path), "tls/%s/%s", n->node, name);
    engine_diag_init(&d);
    rc = engine_store_read_max(c->store, NULL, path, FS_TLS_MAX, &out->data, &out->len, &d);
    if ((rc == -EINVAL || rc == -EFBIG) && !n->why[0] && d.n > 0)
        snprintf(n->why, sizeof(n->why), "node %.100s: %.200s: %.150s", n->node, path, d.v[0].msg);
    engine_diag_free(&d);
    if (rc == -ENOENT || rc == -ENOTDIR || rc == -EISDIR || rc == -EINVAL || rc == -EFBIG) {
        *out = (struct fs_text){0};
        return 0;
    }
    return rc;
}

int fs_tls_load(struct fs_ctx *c, struct fs_tls **out)
{
    struct engine_store_dirent *d = NULL;
    size_t nd = 0;
    struct fs_tls *t = calloc(1, sizeof(*t));
    int rc = 0;

    *out = NULL;
    if (t == NULL)
        return -ENOMEM;
    t->refs = 1;
    rc = engine_store_list(c->store, "tls", &d, &nd, NULL);
    if (rc == -ENOENT || rc == -ENOTDIR)
        rc = 0, nd = 0;
    if (rc == 0 && nd > 0 && (t->v = calloc(nd, sizeof(*t->v))) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; i < nd && rc == 0; i++) {
        struct fs_tls_node *n = &t->v[t->n];
        struct fs_text key = {0};
        char hex[65];
        if (!d[i].is_dir)
            continue;
        if ((n->node = strdup(d[i].name)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        t->n++;
        if ((rc = fs_tls_store_read(c, n, "cert", &n->cert)) < 0 ||
            (rc = fs_tls_store_read(c, n, "key.fingerprint", &n->fingerprint)) < 0)
            break;
        if (n->why[0])
            continue;
        /* The key the commit names; a fingerprint that is not one names none. */
        if (fs_tls_fp_hex(&n->fingerprint, hex) == 0 &&
            fs_tls_key_read(c, n->node, hex, &key) == -ENOENT) {
            snprintf(n->why, sizeof(n->why),
                     "node %.100s: the key its key.fingerprint names (sha256:%.12s...) is not kept "
                     "in .git/%s/%.100s: write it again to nodes/%.100s/tls/key",
                     n->node, hex, FS_TLS_KEYS, n->node, n->node);
            continue;
        }
        rc = fs_tls_node_creds(n, &key);
        fs_tls_wipe(key.data, key.len);
    }
    engine_store_list_free(d, nd);
    if (rc < 0) {
        fs_tls_put(t);
        return rc;
    }
    *out = t;
    return 0;
}

int fs_gen_tls(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out)
{
    const struct fs_tls_node *n = fs_tls_find(s->tls, w->node);
    const struct fs_text *t = n == NULL                                 ? NULL
                              : strcmp(w->name, "cert") == 0            ? &n->cert
                              : strcmp(w->name, "key.fingerprint") == 0 ? &n->fingerprint
                                                                        : NULL; /* key */
    (void)c;
    if (t != NULL && t->data != NULL)
        fwrite(t->data, 1, t->len, out);
    return 0;
}
