/* store_object.c — a level write's objects (its commit, and the new blob and trees libgit2 makes
 * for it, through a backend of libgit2's object database placed before its own) written loose
 * without a sync of their own: the journal, synced before main moves, carries their bytes
 * (store_journal.c; the records' format is here), the syncer makes the files durable later
 * (store_defer.c), and a recovery after a crash of the machine writes them again from the
 * journal. libgit2 cannot be told to skip its syncs for one write (the store turns them on for
 * the whole process), so the loose format is written here: zlib's deflate of "TYPE SIZE\0" and
 * the bytes, in a temporary file renamed to its name, as git and libgit2 write it, so that a
 * reader sees the whole object or none. */
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
#include <git2/sys/odb_backend.h>

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

/* The deflated loose form of an object of TYPE and LEN bytes at DATA, into *OUT (caller
 * frees). */
static int store_object_deflate(git_object_t type, const char *data, size_t len,
                                unsigned char **out, uLongf *n)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "%s %zu", git_object_type2string(type), len) +
             1; /* with its NUL */
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

/* store_object_write() of the object whose id OUT the caller has computed. */
static int store_object_put(struct engine_store *s, git_object_t type, const char *data, size_t len,
                            int replace, const git_oid *out, struct engine_diag *diag)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    unsigned char *z = NULL;
    uLongf zn = 0;
    struct stat st;
    int fd, error;

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
    if ((error = store_object_deflate(type, data, len, &z, &zn)) < 0)
        return store_err(diag, s->dir, error, "commit: compressing an object");
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

int store_object_write(struct engine_store *s, git_object_t type, const char *data, size_t len,
                       int replace, git_oid *out, struct engine_diag *diag)
{
    int error = git_odb_hash(out, data, len, type);

    return error < 0 ? store_git_err(diag, s->dir, error, "commit: hashing an object")
                     : store_object_put(s, type, data, len, replace, out, diag);
}

int store_object_sync_add(struct store_sync *b, const struct engine_store *s, const git_oid *ids,
                          size_t n)
{
    char path[PATH_MAX];
    int error;

    if (n == 0)
        return 0;
    /* Each object's file, its directory (objects/XX: the batch's syncs of one directory share
     * their flush) and objects/. */
    for (size_t i = 0; i < n; i++)
        for (int dir = 0; dir <= 1; dir++)
            if ((error = store_object_path(path, sizeof(path), s, &ids[i], dir)) < 0 ||
                (error = store_sync_add(b, "%s", path)) < 0)
                return error;
    return store_sync_add(b, "%sobjects", git_repository_path(s->repo));
}

int store_object_sync(const struct engine_store *s, const git_oid *ids, size_t n)
{
    struct store_sync b = {0};
    int error;

    if (n == 0)
        return 0;
    if ((error = store_object_sync_add(&b, s, ids, n)) == 0)
        error = store_sync_run(&b);
    store_sync_free(&b);
    return error;
}

int store_object_restore(struct engine_store *s, git_object_t type, const char *data, size_t len,
                         const char *op, struct engine_diag *diag)
{
    git_odb_object *obj = NULL;
    git_odb *odb = NULL;
    git_oid id;
    int error;

    if ((error = git_odb_hash(&id, data, len, type)) < 0 ||
        (error = git_repository_odb(&odb, s->repo)) < 0)
        return store_git_err(diag, s->dir, error, op);
    /* Read back whole (libgit2 checks the hash): a file the crash left empty or cut short is
     * written again. */
    error = git_odb_read(&obj, odb, &id);
    git_odb_object_free(obj);
    git_odb_free(odb);
    if (error == 0)
        return 0;
    if ((error = store_object_write(s, type, data, len, 1, &id, diag)) < 0)
        return error;
    if ((error = store_object_sync(s, &id, 1)) < 0)
        return store_err(diag, s->dir, error, "%s: syncing an object: %s", op, strerror(-error));
    return 0;
}

/* The kinds of the journal's records (store_int.h). */
static const struct {
    const char *kind;
    git_object_t type;
} store_object_kinds[] = {
    {"object ", GIT_OBJECT_COMMIT},
    {"tree ", GIT_OBJECT_TREE},
    {"blob ", GIT_OBJECT_BLOB},
};
#define STORE_OBJECT_KINDS (sizeof(store_object_kinds) / sizeof(store_object_kinds[0]))

int store_object_record_kind(const char *buf, size_t n, git_object_t *type)
{
    for (size_t k = 0; k < STORE_OBJECT_KINDS; k++) {
        size_t at = strlen(store_object_kinds[k].kind), d;
        if (n < at + GIT_OID_HEXSZ + 3 || memcmp(buf, store_object_kinds[k].kind, at) != 0 ||
            strspn(buf + at, "0123456789abcdef") < GIT_OID_HEXSZ || buf[at + GIT_OID_HEXSZ] != ' ')
            continue;
        at += GIT_OID_HEXSZ + 1;
        for (d = 0; at + d < n && d < 20 && buf[at + d] >= '0' && buf[at + d] <= '9'; d++)
            ;
        if (d > 0 && at + d < n && buf[at + d] == '\n') {
            *type = store_object_kinds[k].type;
            return (int)strlen(store_object_kinds[k].kind);
        }
    }
    return -1;
}

int store_object_record_add(char **buf, size_t *len, git_object_t type, const git_oid *id,
                            const char *data, size_t n)
{
    char hex[GIT_OID_HEXSZ + 1], head[64];
    const char *kind = NULL;
    size_t hl;
    char *v;

    for (size_t k = 0; k < STORE_OBJECT_KINDS; k++)
        if (store_object_kinds[k].type == type)
            kind = store_object_kinds[k].kind;
    if (kind == NULL)
        return -EINVAL;
    hl = (size_t)snprintf(head, sizeof(head), "%s%s %zu\n", kind,
                          git_oid_tostr(hex, sizeof(hex), id), n);
    if ((v = realloc(*buf, *len + hl + n + 1)) == NULL)
        return -ENOMEM;
    memcpy(v + *len, head, hl);
    memcpy(v + *len + hl, data, n);
    v[*len + hl + n] = '\n';
    *buf = v;
    *len += hl + n + 1;
    return 0;
}

/* libgit2's object database calls this backend first: while the store carries a level write's
 * objects (store_carry_start()), each object libgit2 writes (the new blob and trees; one it
 * holds already is not written again) is written here without a sync and its journal record
 * kept; otherwise, or when that fails, libgit2's loose backend writes it, synced. */
struct store_carry {
    git_odb_backend parent; /* first: libgit2 passes it back */
    struct engine_store *s;
    int on;
    git_oid *ids; /* the objects written while on */
    size_t n;
    char *recs; /* their journal records */
    size_t len;
};

static int store_carry_write(git_odb_backend *b, const git_oid *id, const void *data, size_t len,
                             git_object_t type)
{
    struct store_carry *c = (struct store_carry *)b;
    git_oid *v;

    /* At most STORE_CARRY_MAX bytes a commit: a larger one (a policy of many rules) is synced
     * by libgit2, the journal stays small. */
    if (!c->on || c->len + len > STORE_CARRY_MAX ||
        (v = realloc(c->ids, (c->n + 1) * sizeof(*v))) == NULL)
        return GIT_PASSTHROUGH;
    c->ids = v;
    /* ID is the hash libgit2 has just made of these bytes. */
    if (store_object_put(c->s, type, data, len, 0, id, NULL) < 0 ||
        store_object_record_add(&c->recs, &c->len, type, id, data, len) < 0)
        return GIT_PASSTHROUGH; /* libgit2's loose backend writes it, synced */
    git_oid_cpy(&c->ids[c->n++], id);
    return 0;
}

/* Streams (libgit2's blobs from a file or a buffer, packs) go to libgit2's own backends. */
static int store_carry_stream(git_odb_stream **out, git_odb_backend *b, git_object_size_t size,
                              git_object_t type)
{
    (void)out;
    (void)b;
    (void)size;
    (void)type;
    return GIT_PASSTHROUGH;
}

/* Lists nothing: the objects are libgit2's loose backend's (git_odb_foreach() calls every
 * backend's). */
static int store_carry_foreach(git_odb_backend *b, git_odb_foreach_cb cb, void *payload)
{
    (void)b;
    (void)cb;
    (void)payload;
    return 0;
}

static void store_carry_free(git_odb_backend *b)
{
    struct store_carry *c = (struct store_carry *)b;

    free(c->ids);
    free(c->recs);
    free(c);
}

int store_carry_add(struct engine_store *s, struct engine_diag *diag)
{
    struct store_carry *c = calloc(1, sizeof(*c));
    git_odb *odb = NULL;
    int error;

    if (c == NULL)
        return store_err(diag, s->dir, -ENOMEM, "out of memory");
    git_odb_init_backend(&c->parent, GIT_ODB_BACKEND_VERSION);
    c->parent.write = store_carry_write;
    c->parent.writestream = store_carry_stream;
    c->parent.foreach = store_carry_foreach;
    c->parent.free = store_carry_free;
    c->s = s;
    if ((error = git_repository_odb(&odb, s->repo)) < 0 ||
        (error = git_odb_add_backend(odb, &c->parent, STORE_CARRY_PRIORITY)) < 0) {
        free(c);
        git_odb_free(odb);
        return store_git_err(diag, s->dir, error, "opening the object database");
    }
    git_odb_free(odb);
    s->carry = c;
    return 0;
}

void store_carry_start(struct engine_store *s)
{
    if (s->carry == NULL)
        return;
    s->carry->on = 1;
    s->carry->n = s->carry->len = 0;
}

void store_carry_stop(struct engine_store *s, int reset)
{
    if (s->carry == NULL)
        return;
    s->carry->on = 0;
    if (reset) {
        free(s->carry->ids);
        free(s->carry->recs);
        s->carry->ids = NULL;
        s->carry->recs = NULL;
        s->carry->n = s->carry->len = 0;
    }
}

const git_oid *store_carried(const struct engine_store *s, size_t *n, const char **recs,
                             size_t *len)
{
    *n = s->carry != NULL ? s->carry->n : 0;
    *recs = *n > 0 ? s->carry->recs : NULL;
    *len = *n > 0 ? s->carry->len : 0;
    return *n > 0 ? s->carry->ids : NULL;
}

int store_carry_also(struct engine_store *s, git_object_t type, const git_oid *id, const char *data,
                     size_t len)
{
    git_oid *v;

    if (s->carry == NULL || (v = realloc(s->carry->ids, (s->carry->n + 1) * sizeof(*v))) == NULL)
        return -ENOMEM;
    s->carry->ids = v;
    if (store_object_record_add(&s->carry->recs, &s->carry->len, type, id, data, len) < 0)
        return -ENOMEM;
    git_oid_cpy(&v[s->carry->n++], id);
    return 0;
}
