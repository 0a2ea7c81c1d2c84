/* store_util.c — what every piece of the store uses: errors in the store's terms, fsync of
 * work-tree and git-directory paths, and the commits, trees and blobs it reads and writes. */
#include "store_int.h"

#include "read.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_err(struct engine_diag *diag, const char *dir, int rc, const char *fmt, ...)
{
    va_list ap;

    if (diag == NULL)
        return rc;
    va_start(ap, fmt);
    engine_diag_vadd(diag, dir, 0, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* Turns libgit2's error GERR of operation OP into a negative errno and a message. */
int store_git_err(struct engine_diag *diag, const char *dir, int gerr, const char *op)
{
    const git_error *e = git_error_last();
    int rc = -EIO, os = errno;

    /* A write that failed on a full disk leaves its errno (libgit2 sets no message for some
     * of them): the caller says ENOSPC, not EIO. */
    if ((e == NULL || e->klass == GIT_ERROR_OS) && (os == ENOSPC || os == EDQUOT))
        rc = -ENOSPC;
    else if (gerr == GIT_ENOTFOUND)
        rc = -ENOENT;
    else if (gerr == GIT_ELOCKED || gerr == GIT_EMODIFIED)
        rc = -EAGAIN;
    else if (e != NULL && e->klass == GIT_ERROR_NOMEMORY)
        rc = -ENOMEM;
    return store_err(diag, dir, rc, "%s: %s", op,
                     e != NULL && e->message != NULL ? e->message
                     : rc == -ENOSPC                 ? strerror(ENOSPC)
                                                     : "libgit2 failed");
}
int store_read_plain(const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    int fd, rc;

    *out = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EINVAL;
    else if ((size_t)st.st_size > max)
        rc = -EFBIG;
    /* Up to one byte past the size seen: a file that grew meanwhile is told apart. */
    else if ((rc = engine_read_fd(fd, (size_t)st.st_size, (size_t)st.st_size, out, len)) == 0 &&
             *len > (size_t)st.st_size) {
        free(*out);
        *out = NULL;
        *len = 0;
        rc = -EAGAIN;
    }
    close(fd);
    return rc;
}

/* fsyncs PATH, a file or a directory; a missing PATH is not an error. */
int store_fsync_one(const char *path)
{
    int fd, rc = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* fsyncs work-tree file REL of ROOT, then, when NAMES, each directory from its parent up to
 * ROOT, so that the file and the names leading to it (or its removal) are durable. */
int store_fsync_worktree(const char *root, const char *rel, int names)
{
    char buf[PATH_MAX];
    size_t rootlen = strlen(root);
    int rc;

    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", root, rel) >= sizeof(buf))
        return -ENAMETOOLONG;
    for (;;) {
        char *slash;
        if ((rc = store_fsync_one(buf)) < 0 || !names)
            return rc;
        slash = strrchr(buf, '/');
        if (slash == NULL || (size_t)(slash - buf) < rootlen)
            return 0;
        *slash = '\0';
        if (buf[0] == '\0')
            return 0;
    }
}

/* fsyncs REL inside the git directory ("" for the directory itself). */
int store_fsync_git(const struct engine_store *s, const char *rel)
{
    char buf[PATH_MAX];

    if ((size_t)snprintf(buf, sizeof(buf), "%s%s", git_repository_path(s->repo), rel) >=
        sizeof(buf))
        return -ENAMETOOLONG;
    return store_fsync_one(buf);
}

int store_commit_tree(git_tree **out, struct engine_store *s, const git_oid *id, const char *op,
                      struct engine_diag *diag)
{
    git_commit *c = NULL;
    int error;

    *out = NULL;
    if ((error = git_commit_lookup(&c, s->repo, id)) < 0 || (error = git_commit_tree(out, c)) < 0)
        error = store_git_err(diag, s->dir, error, op);
    git_commit_free(c);
    return error;
}

/* Reads main's commit id, checking that HEAD still points at main. */
int store_main_lookup(git_oid *out, struct engine_store *s, const char *op,
                      struct engine_diag *diag)
{
    git_reference *head = NULL;
    int error;

    if ((error = git_reference_lookup(&head, s->repo, "HEAD")) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
        strcmp(git_reference_symbolic_target(head), ENGINE_STORE_BRANCH) != 0) {
        error = store_err(diag, s->dir, -EINVAL,
                          "%s: HEAD is not branch main; the store works on main only "
                          "(run `git checkout main` there)",
                          op);
        goto cleanup;
    }
    if ((error = git_reference_name_to_id(out, s->repo, ENGINE_STORE_BRANCH)) < 0) {
        if (error == GIT_ENOTFOUND)
            error = store_err(diag, s->dir, -EINVAL, "%s: branch main has no commit", op);
        else
            error = store_git_err(diag, s->dir, error, op);
    }

cleanup:
    git_reference_free(head);
    return error;
}

/* Turns MESSAGE into a commit message: as given, ending with a newline. */
char *store_message(const char *message)
{
    size_t len = strlen(message);
    char *m = malloc(len + 2);

    if (m == NULL)
        return NULL;
    memcpy(m, message, len);
    if (message[len - 1] != '\n')
        m[len++] = '\n';
    m[len] = '\0';
    return m;
}

/* Writes a blob for every non-removal change and fills UPD (N entries). */
int store_updates(git_tree_update *upd, struct engine_store *s, const struct engine_store_change *c,
                  size_t n, const char *op, struct engine_diag *diag)
{
    git_odb *odb = NULL;
    int error;

    if ((error = git_repository_odb(&odb, s->repo)) < 0)
        return store_git_err(diag, s->dir, error, op);
    for (size_t i = 0; i < n; i++) {
        memset(&upd[i], 0, sizeof(upd[i]));
        upd[i].path = c[i].path;
        if (c[i].remove) {
            upd[i].action = GIT_TREE_UPDATE_REMOVE;
            continue;
        }
        upd[i].action = GIT_TREE_UPDATE_UPSERT;
        upd[i].filemode = GIT_FILEMODE_BLOB;
        /* The object database's write looks for the object first: a content that is stored
         * already (a level set back) costs no temporary file. */
        if ((error = git_odb_write(&upd[i].id, odb, c[i].len ? c[i].data : "", c[i].len,
                                   GIT_OBJECT_BLOB)) < 0)
            break;
    }
    git_odb_free(odb);
    return error < 0 ? store_git_err(diag, s->dir, error, op) : 0;
}
