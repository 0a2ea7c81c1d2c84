/* store_object.c — a level write's commit object written loose without a sync of its own: the
 * journal, synced before main moves, carries the object's bytes (store_journal.c), the syncer
 * makes the file durable later (store_defer.c), and a recovery after a crash of the machine
 * writes it again from the journal. libgit2 cannot be told to skip its syncs for one write (the
 * store turns them on for the whole process), so the loose format is written here: zlib's
 * deflate of "commit SIZE\0" and the bytes, in a temporary file renamed to its name, as git and
 * libgit2 write it, so that a reader sees the whole object or none. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The loose object ID's path in the git directory: objects/XX/REST; with DIR, objects/XX. */
static int store_object_path(char *buf, size_t size, const struct engine_store *s,
                             const git_oid *id, int dir)
{
    char hex[GIT_OID_HEXSZ + 1];

    git_oid_tostr(hex, sizeof(hex), id);
    if ((size_t)snprintf(buf, size, "%sobjects/%.2s%s%s", git_repository_path(s->repo), hex,
                         dir ? "" : "/", dir ? "" : hex + 2) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* The deflated loose form of a commit of LEN bytes at DATA, into *OUT (caller frees). */
static int store_object_deflate(const char *data, size_t len, unsigned char **out, uLongf *n)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "commit %zu", len) + 1; /* with its NUL */
    unsigned char *raw = malloc((size_t)hl + len);
    int rc = -ENOMEM;

    *out = NULL;
    if (raw == NULL)
        return -ENOMEM;
    memcpy(raw, head, (size_t)hl);
    memcpy(raw + hl, data, len);
    *n = compressBound((uLong)(hl + len));
    if ((*out = malloc(*n)) != NULL)
        rc = compress2(*out, n, raw, (uLong)hl + len, Z_BEST_SPEED) == Z_OK ? 0 : -EIO;
    free(raw);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int store_object_write(struct engine_store *s, const char *data, size_t len, int replace,
                       git_oid *out, struct engine_diag *diag)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    unsigned char *z = NULL;
    uLongf zn = 0;
    struct stat st;
    int fd, error;

    if ((error = git_odb_hash(out, data, len, GIT_OBJECT_COMMIT)) < 0)
        return store_git_err(diag, s->dir, error, "commit: hashing the commit");
    if ((error = store_object_path(path, sizeof(path), s, out, 0)) < 0 ||
        (error = store_object_path(tmp, sizeof(tmp), s, out, 1)) < 0)
        return store_err(diag, s->dir, error, "commit: git directory path too long");
    if (!replace && stat(path, &st) == 0)
        return 0; /* written already */
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return store_err(diag, s->dir, -errno, "commit: creating %s: %s", tmp, strerror(errno));
    if (strlen(tmp) + sizeof("/tmp_object_XXXXXX") > sizeof(tmp))
        return store_err(diag, s->dir, -ENAMETOOLONG, "commit: git directory path too long");
    strcat(tmp, "/tmp_object_XXXXXX");
    if ((error = store_object_deflate(data, len, &z, &zn)) < 0)
        return store_err(diag, s->dir, error, "commit: compressing the commit");
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        error = store_err(diag, s->dir, -errno, "commit: creating %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    {
        int ok = write(fd, z, zn) == (ssize_t)zn && fchmod(fd, 0444) == 0, why = errno;
        if (close(fd) < 0 && ok)
            ok = 0, why = errno;
        if (ok && rename(tmp, path) < 0)
            ok = 0, why = errno;
        if (!ok) {
            why = why ? why : EIO;
            error = store_err(diag, s->dir, -why, "commit: writing %s: %s", path, strerror(why));
            unlink(tmp);
        }
    }

cleanup:
    free(z);
    return error;
}

int store_object_sync(const struct engine_store *s, const git_oid *ids, size_t n)
{
    char path[PATH_MAX];
    int error;

    if (n == 0)
        return 0;
    /* Each object's file, then its directory (objects/XX), then objects/. */
    for (size_t i = 0; i < n; i++)
        for (int dir = 0; dir <= 1; dir++)
            if ((error = store_object_path(path, sizeof(path), s, &ids[i], dir)) < 0 ||
                (error = store_fsync_one(path)) < 0)
                return error;
    return store_fsync_git(s, "objects");
}

int store_object_restore(struct engine_store *s, const char *data, size_t len, const char *op,
                         struct engine_diag *diag)
{
    git_odb_object *obj = NULL;
    git_odb *odb = NULL;
    git_oid id;
    int error;

    if ((error = git_odb_hash(&id, data, len, GIT_OBJECT_COMMIT)) < 0 ||
        (error = git_repository_odb(&odb, s->repo)) < 0)
        return store_git_err(diag, s->dir, error, op);
    /* Read back whole (libgit2 checks the hash): a file the crash left empty or cut short is
     * written again. */
    error = git_odb_read(&obj, odb, &id);
    git_odb_object_free(obj);
    git_odb_free(odb);
    if (error == 0)
        return 0;
    if ((error = store_object_write(s, data, len, 1, &id, diag)) < 0)
        return error;
    if ((error = store_object_sync(s, &id, 1)) < 0)
        return store_err(diag, s->dir, error, "%s: syncing a commit: %s", op, strerror(-error));
    return 0;
}
