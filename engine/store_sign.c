/* store_sign.c — signed commits: the store's commits are signed with its key when it has one
 * (git's SSH signature format, a `gpgsig` header), and outside commits are checked against
 * the allowed signers that git's own gpg.ssh.allowedSignersFile names. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PATH of the store's signing key (BUF of PATH_MAX bytes). */
static int store_key_path(const struct engine_store *s, char *buf)
{
    if ((size_t)snprintf(buf, PATH_MAX, "%s%s", git_repository_path(s->repo),
                         ENGINE_STORE_KEY_FILE) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* 1 when KEY is a usable signing key, 0 when absent; -EPERM (with a message) when others may
 * read it or it is not ours: the key is refused rather than used or ignored. */
static int store_key_check(const char *dir, const char *key, struct engine_diag *diag)
{
    struct stat st;

    if (lstat(key, &st) < 0)
        return errno == ENOENT
                   ? 0
                   : store_err(diag, dir, -errno, "signing key %s: %s", key, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
        return store_err(diag, dir, -EPERM,
                         "signing key %s: must be a regular file of the store's owner, mode "
                         "0600 (chmod 600 it)",
                         key);
    return 1;
}

int store_commit_make(git_oid *out, struct engine_store *s, const git_signature *sig,
                      const char *msg, git_tree *tree, git_commit *parent, const char *op,
                      struct engine_diag *diag)
{
    return store_commit_make_on(out, s, ENGINE_STORE_BRANCH, sig, msg, tree, parent, op, diag);
}

/* The commit object of TREE with the N parents PARENTS by SIG with message MSG, signed when
 * SIGNED (the store's key at KEY); main does not move. */
static int store_commit_object(git_oid *out, struct engine_store *s, int signed_, const char *key,
                               const git_signature *sig, const char *msg, git_tree *tree, size_t n,
                               const git_commit **parents, const char *op, struct engine_diag *diag)
{
    git_buf buf = {0};
    char *armored = NULL;
    int error;

    if (!signed_) {
        if ((error = git_commit_create(out, s->repo, NULL, sig, sig, NULL, msg, tree, n, parents)) <
            0)
            return store_git_err(diag, s->dir, error, op);
        return 0;
    }
    if ((error = git_commit_create_buffer(&buf, s->repo, sig, sig, NULL, msg, tree, n, parents)) <
        0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    if ((error = store_ssh_sign(s->dir, key, buf.ptr, buf.size, &armored, diag)) < 0)
        goto cleanup;
    if ((error = git_commit_create_with_signature(out, s->repo, buf.ptr, armored, "gpgsig")) < 0)
        error = store_git_err(diag, s->dir, error, op);

cleanup:
    git_buf_dispose(&buf);
    free(armored);
    return error;
}

/* The commit object's bytes that git_commit_create_buffer() makes with the one parent PARENT,
 * made without reading PARENT: git's format puts the parents' lines right after the tree's. */
static int store_commit_bytes(char **out, size_t *len, struct engine_store *s,
                              const git_signature *sig, const char *msg, git_tree *tree,
                              const git_oid *parent, const char *op, struct engine_diag *diag)
{
    enum { TREE_LINE = 5 + GIT_OID_HEXSZ + 1, PARENT_LINE = 7 + GIT_OID_HEXSZ + 1 };
    char line[PARENT_LINE + 1];
    git_buf buf = {0};
    int error;

    if ((error = git_commit_create_buffer(&buf, s->repo, sig, sig, NULL, msg, tree, 0, NULL)) < 0)
        return store_git_err(diag, s->dir, error, op);
    if (buf.size < TREE_LINE || memcmp(buf.ptr, "tree ", 5) != 0 ||
        buf.ptr[TREE_LINE - 1] != '\n') {
        error = store_err(diag, s->dir, -EINVAL, "%s: a commit without its tree line", op);
        goto cleanup;
    }
    if ((*out = malloc(buf.size + PARENT_LINE)) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
        goto cleanup;
    }
    memcpy(line, "parent ", 7);
    git_oid_fmt(line + 7, parent);
    line[PARENT_LINE - 1] = '\n';
    memcpy(*out, buf.ptr, TREE_LINE);
    memcpy(*out + TREE_LINE, line, PARENT_LINE);
    memcpy(*out + TREE_LINE + PARENT_LINE, buf.ptr + TREE_LINE, buf.size - TREE_LINE);
    *len = buf.size + PARENT_LINE;

cleanup:
    git_buf_dispose(&buf);
    return error;
}

int store_commit_write(git_oid *out, char **bytes, size_t *len, struct engine_store *s,
                       const git_signature *sig, const char *msg, git_tree *tree,
                       const git_oid *parent, const char *op, struct engine_diag *diag)
{
    git_commit *p = NULL;
    char key[PATH_MAX];
    int error;

    *bytes = NULL;
    *len = 0;
    if ((error = store_key_path(s, key)) < 0)
        return store_err(diag, s->dir, error, "%s: the signing key's path is too long", op);
    if ((error = store_key_check(s->dir, key, diag)) < 0)
        return error;
    if (error == 0)
        return store_commit_bytes(bytes, len, s, sig, msg, tree, parent, op, diag);
    if ((error = git_commit_lookup(&p, s->repo, parent)) < 0)
        return store_git_err(diag, s->dir, error, op);
    error =
        store_commit_object(out, s, 1, key, sig, msg, tree, 1, (const git_commit *[]){p}, op, diag);
    git_commit_free(p);
    return error;
}

int store_commit_make_on(git_oid *out, struct engine_store *s, const char *refname,
                         const git_signature *sig, const char *msg, git_tree *tree,
                         git_commit *parent, const char *op, struct engine_diag *diag)
{
    /* main's first commit goes through HEAD, which names main; another ref by its name. */
    const char *first = strcmp(refname, ENGINE_STORE_BRANCH) == 0 ? "HEAD" : refname;
    const git_commit *parents[1] = {parent};
    git_reference *ref = NULL;
    char key[PATH_MAX], *reflog = NULL;
    int error, n = parent != NULL;

    if ((error = store_key_path(s, key)) < 0)
        return store_err(diag, s->dir, error, "%s: the signing key's path is too long", op);
    if ((error = store_key_check(s->dir, key, diag)) < 0)
        return error;
    if (error == 0 && n == 0) {
        if ((error =
                 git_commit_create(out, s->repo, first, sig, sig, NULL, msg, tree, 0, parents)) < 0)
            return store_git_err(diag, s->dir, error, op);
        return 0;
    }
    if (asprintf(&reflog, "commit%s: %.*s", n ? "" : " (initial)", (int)strcspn(msg, "\n"), msg) <
        0) {
        reflog = NULL;
        error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
        goto cleanup;
    }
    /* Without a key, the ref is moved below too, as for a signed commit (libgit2's own move
     * would read the commit back for its reflog message). */
    if ((error = store_commit_object(out, s, error, key, sig, msg, tree, (size_t)n, parents, op,
                                     diag)) < 0)
        goto cleanup;
    /* Compare-and-swap, as git_commit_create() does: the ref moves only from PARENT. */
    if ((error = n ? git_reference_create_matching(&ref, s->repo, refname, out, 1,
                                                   git_commit_id(parent), reflog)
                   : git_reference_create(&ref, s->repo, refname, out, 0, reflog)) < 0)
        error = store_git_err(diag, s->dir, error, op);

cleanup:
    git_reference_free(ref);
    free(reflog);
    return error;
}

int store_key_install(const char *dir, const char *gitdir, const char *from,
                      struct engine_diag *diag)
{
    char path[PATH_MAX], buf[16384];
    ssize_t got;
    int in, out, rc = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s%s", gitdir, ENGINE_STORE_KEY_FILE) >= sizeof(path))
        return store_err(diag, dir, -ENAMETOOLONG, "signing key: path too long");
    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
        return store_err(diag, dir, -errno, "signing key %s: %s", from, strerror(errno));
    if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = store_err(diag, dir, -errno, "signing key %s: %s", path, strerror(errno));
        close(in);
        return rc;
    }
    while (rc == 0 && (got = read(in, buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || write(out, buf, (size_t)got) != got)
            rc = store_err(diag, dir, -errno ? -errno : -EIO, "signing key %s: %s", path,
                           strerror(errno));
    }
    if (rc == 0 && fsync(out) < 0)
        rc = store_err(diag, dir, -errno, "signing key %s: %s", path, strerror(errno));
    explicit_bzero(buf, sizeof(buf));
    close(in);
    close(out);
    return rc;
}

int store_key_try(const char *dir, const char *key, struct engine_diag *diag)
{
    char *armored = NULL;
    int rc;

    if ((rc = store_key_check(dir, key, diag)) <= 0)
        return rc < 0 ? rc : store_err(diag, dir, -ENOENT, "signing key %s: no such file", key);
    rc = store_ssh_sign(dir, key, "unisec\n", 7, &armored, diag);
    free(armored);
    return rc;
}

/* ---- what the store's git configuration says ---- */

int engine_store_signed_only(const struct engine_store *s)
{
    git_config *cfg = NULL;
    int v = 0;

    store_lock(s);
    if (git_repository_config_snapshot(&cfg, s->repo) == 0 &&
        git_config_get_bool(&v, cfg, ENGINE_STORE_SIGNED_ONLY) < 0)
        v = 0;
    git_config_free(cfg);
    store_unlock(s);
    return v != 0;
}

/* The allowed signers file, as git's gpg.ssh.allowedSignersFile names it (relative to the
 * store's directory when relative). -EINVAL with a message when it is not set. */
static int store_allowed(char *out, const struct engine_store *s, struct engine_diag *diag)
{
    git_config *cfg = NULL;
    git_buf buf = {0};
    int error;

    if ((error = git_repository_config_snapshot(&cfg, s->repo)) == 0)
        error = git_config_get_path(&buf, cfg, "gpg.ssh.allowedSignersFile");
    git_config_free(cfg);
    if (error < 0) {
        git_buf_dispose(&buf);
        return store_err(diag, s->dir, -EINVAL,
                         "no allowed signers: set them with `git -C %s config "
                         "gpg.ssh.allowedSignersFile FILE`",
                         s->dir);
    }
    if ((size_t)snprintf(out, PATH_MAX, "%s%s%s", buf.ptr[0] == '/' ? "" : s->dir,
                         buf.ptr[0] == '/' ? "" : "/", buf.ptr) >= PATH_MAX)
        error = store_err(diag, s->dir, -ENAMETOOLONG, "allowed signers: path too long");
    git_buf_dispose(&buf);
    return error;
}

/* Checks commit ID's signature, its signer's validity judged at the commit's time when
 * AT_COMMIT (as git does: was the key allowed when the commit was made), else now; the store
 * is locked. */
static int store_verify_locked(struct engine_store *s, const git_oid *id, const char *allowed,
                               int at_commit, char principal[256], struct engine_diag *diag)
{
    int64_t at = 0;
    if (at_commit) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, s->repo, id) == 0)
            at = (int64_t)git_commit_time(c);
        git_commit_free(c);
        if (at <= 0)
            at = 1; /* unknown: the epoch, never "now" (ssh-keygen: 0 would mean now) */
    }
    git_buf sig = {0}, data = {0};
    char what[32];
    int error;

    snprintf(what, sizeof(what), "commit %.12s", git_oid_tostr_s(id));
    error = git_commit_extract_signature(&sig, &data, s->repo, (git_oid *)id, NULL);
    if (error == GIT_ENOTFOUND && git_error_last() != NULL &&
        strstr(git_error_last()->message, "not signed") != NULL)
        error = store_err(diag, s->dir, -EPERM, "%s is not signed", what);
    else if (error < 0)
        error = store_git_err(diag, s->dir, error, "verify");
    else
        error = store_ssh_verify(s->dir, what, allowed, sig.ptr, data.ptr, data.size, at, principal,
                                 diag);
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
    return error;
}

int engine_store_verify_commit(struct engine_store *s, const char *id, char principal[256],
                               struct engine_diag *diag)
{
    char allowed[PATH_MAX];
    git_oid oid;
    int error;

    principal[0] = '\0';
    if (git_oid_fromstr(&oid, id) < 0)
        return store_err(diag, s->dir, -EINVAL, "verify: %s is not a commit id", id);
    if ((error = store_allowed(allowed, s, diag)) < 0)
        return error;
    store_lock(s);
    error = store_verify_locked(s, &oid, allowed, 1, principal, diag);
    store_unlock(s);
    return error;
}

int engine_store_verify_new(struct engine_store *s, const char *from, const char *to, char bad[41],
                            struct engine_diag *diag)
{
    char allowed[PATH_MAX], principal[256];
    git_revwalk *walk = NULL;
    git_oid oid, hide;
    int error;

    bad[0] = '\0';
    if (git_oid_fromstr(&oid, to) < 0 || (from[0] && git_oid_fromstr(&hide, from) < 0))
        return store_err(diag, s->dir, -EINVAL, "verify: not a commit id");
    if ((error = store_allowed(allowed, s, diag)) < 0) {
        snprintf(bad, 41, "%s", to);
        return error;
    }
    store_lock(s);
    /* TO itself always (a reset to an older commit brings no new one), then every commit
     * that only TO reaches. */
    if ((error = store_verify_locked(s, &oid, allowed, 0, principal, diag)) < 0) {
        git_oid_tostr(bad, 41, &oid);
        goto cleanup;
    }
    if ((error = git_revwalk_new(&walk, s->repo)) < 0 ||
        (error = git_revwalk_push(walk, &oid)) < 0 ||
        (from[0] && (error = git_revwalk_hide(walk, &hide)) < 0)) {
        error = store_git_err(diag, s->dir, error, "verify");
        goto cleanup;
    }
    while ((error = git_revwalk_next(&oid, walk)) == 0) {
        if (git_oid_streq(&oid, to) == 0)
            continue; /* checked above */
        if ((error = store_verify_locked(s, &oid, allowed, 0, principal, diag)) < 0) {
            git_oid_tostr(bad, 41, &oid);
            goto cleanup;
        }
    }
    error = error == GIT_ITEROVER ? 0 : store_git_err(diag, s->dir, error, "verify");

cleanup:
    git_revwalk_free(walk);
    store_unlock(s);
    return error;
}
