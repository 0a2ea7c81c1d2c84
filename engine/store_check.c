/* store_check.c — what the store checks before it writes: paths, authors and messages, a
 * change list against itself, against the head's tree and against the work tree. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int store_path_check_in(const char *dir, const char *path, struct engine_diag *diag)
{
    size_t len, seg;
    const char *start;

    if (path == NULL || path[0] == '\0')
        return store_err(diag, dir, -EINVAL, "empty path; give a path such as state/levels");
    len = strnlen(path, ENGINE_STORE_PATH_MAX + 1);
    if (len > ENGINE_STORE_PATH_MAX)
        return store_err(diag, dir, -EINVAL, "path longer than %d bytes", ENGINE_STORE_PATH_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f)
            return store_err(diag, dir, -EINVAL,
                             "path has a control character (byte 0x%02x at offset %zu)", c, i);
    }
    if (path[0] == '/')
        return store_err(diag, dir, -EINVAL,
                         "path %s is absolute; store paths are relative to the store's root", path);
    for (start = path;; start += seg + 1) {
        const char *slash = strchr(start, '/');
        seg = slash != NULL ? (size_t)(slash - start) : strlen(start);
        if (seg == 0)
            return store_err(diag, dir, -EINVAL, "path %s has an empty segment", path);
        if (seg > ENGINE_STORE_SEGMENT_MAX)
            return store_err(diag, dir, -EINVAL, "path %s has a segment longer than %d bytes", path,
                             ENGINE_STORE_SEGMENT_MAX);
        if ((seg == 1 && start[0] == '.') || (seg == 2 && start[0] == '.' && start[1] == '.'))
            return store_err(diag, dir, -EINVAL, "path %s has a . or .. segment", path);
        if (seg == 4 && strncasecmp(start, ".git", 4) == 0)
            return store_err(diag, dir, -EINVAL, "path %s names the repository's .git", path);
        if (slash == NULL)
            return 0;
    }
}

int engine_store_path_check(const char *path, struct engine_diag *diag)
{
    return store_path_check_in(NULL, path, diag);
}

/* A name or email a git signature holds exactly: no '<', '>', control character, nor
 * surrounding space (libgit2 would trim it). */
static int store_sig_field_ok(const char *v, size_t max)
{
    size_t len;

    if (v == NULL || v[0] == '\0' || (len = strnlen(v, max)) >= max)
        return 0;
    if (v[0] == ' ' || v[len - 1] == ' ')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
            return 0;
    }
    return 1;
}

int store_author_check(const char *dir, const struct engine_store_author *a, const char *message,
                       struct engine_diag *diag)
{
    if (a == NULL || !store_sig_field_ok(a->name, 256))
        return store_err(diag, dir, -EINVAL,
                         "author name is empty, too long, or has '<', '>', a control character "
                         "or surrounding spaces");
    if (!store_sig_field_ok(a->email, 513))
        return store_err(diag, dir, -EINVAL,
                         "author email is empty, too long, or has '<', '>', a control character "
                         "or surrounding spaces");
    if (message == NULL || message[0] == '\0')
        return store_err(diag, dir, -EINVAL, "commit message is empty; say what changed");
    return 0;
}

int engine_store_author_from_uid(struct engine_store_author_buf *out, uid_t uid)
{
    struct passwd pw, *res = NULL;
    char *buf = NULL, host[256];
    size_t cap = 1024;
    int rc, named = 0;

    for (;;) {
        if ((buf = malloc(cap)) == NULL)
            return -ENOMEM;
        rc = getpwuid_r(uid, &pw, buf, cap, &res);
        if (rc != ERANGE || cap >= (1u << 20))
            break;
        free(buf);
        cap *= 2;
    }
    /* POSIX allows these codes for "no such user" besides 0 with a NULL result. */
    if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
        free(buf);
        return -EIO;
    }
    if (rc == 0 && res != NULL && store_sig_field_ok(pw.pw_name, sizeof(out->name))) {
        strcpy(out->name, pw.pw_name);
        named = 1;
    }
    free(buf);
    if (!named)
        snprintf(out->name, sizeof(out->name), "uid-%lu", (unsigned long)uid);

    /* A host name only when it is a plain DNS name; anything else would make a bad address. */
    if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0' ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            strnlen(host, sizeof(host)) ||
        strnlen(host, sizeof(host)) == sizeof(host))
        strcpy(host, "localhost");
    snprintf(out->email, sizeof(out->email), "%s@%s", out->name, host);
    out->author.name = out->name;
    out->author.email = out->email;
    return 0;
}

/* Checks a change list on its own: paths, flags, no path twice, none inside another. */
int store_changes_check(const char *dir, const struct engine_store_change *c, size_t n,
                        int allow_remove, struct engine_diag *diag)
{
    int error;

    if (n > 0 && c == NULL)
        return store_err(diag, dir, -EINVAL, "no changes given");
    for (size_t i = 0; i < n; i++) {
        if ((error = store_path_check_in(dir, c[i].path, diag)) < 0)
            return error;
        if ((c[i].remove || c[i].from_worktree) && !allow_remove)
            return store_err(diag, dir, -EINVAL, "%s: a new store %s", c[i].path,
                             c[i].remove ? "cannot remove files" : "has no work-tree edit to take");
        if (!c[i].remove && c[i].data == NULL && c[i].len > 0)
            return store_err(diag, dir, -EINVAL, "%s: %zu bytes of data but no buffer", c[i].path,
                             c[i].len);
    }
    for (size_t i = 0; i < n; i++) {
        size_t li = strlen(c[i].path);
        for (size_t j = i + 1; j < n; j++) {
            size_t lj = strlen(c[j].path), l = li < lj ? li : lj;
            const char *longer = li < lj ? c[j].path : c[i].path;
            if (strcmp(c[i].path, c[j].path) == 0)
                return store_err(diag, dir, -EINVAL, "%s appears twice in one change", c[i].path);
            if (memcmp(c[i].path, c[j].path, l) == 0 && longer[l] == '/')
                return store_err(diag, dir, -EINVAL, "%s and %s: one is inside the other",
                                 c[i].path, c[j].path);
        }
    }
    return 0;
}

/* Checks that change C fits BASE: parents are directories, the path itself is not one, and
 * a removed path exists. */
int store_change_fits(struct engine_store *s, git_tree *base, const struct engine_store_change *c,
                      struct engine_diag *diag)
{
    char buf[ENGINE_STORE_PATH_MAX + 1];
    git_tree_entry *e = NULL;
    git_object_t type;
    int error;

    strcpy(buf, c->path);
    for (char *p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        error = git_tree_entry_bypath(&e, base, buf);
        if (error == GIT_ENOTFOUND)
            break;
        if (error < 0)
            return store_git_err(diag, s->dir, error, "commit: looking up a path");
        type = git_tree_entry_type(e);
        git_tree_entry_free(e);
        e = NULL;
        if (type != GIT_OBJECT_TREE)
            return store_err(diag, s->dir, -ENOTDIR, "%s: %s is a file, not a directory", c->path,
                             buf);
        *p = '/';
    }
    error = git_tree_entry_bypath(&e, base, c->path);
    if (error == GIT_ENOTFOUND) {
        if (c->remove)
            return store_err(diag, s->dir, -ENOENT, "%s: cannot remove, no such file", c->path);
        return 0;
    }
    if (error < 0)
        return store_git_err(diag, s->dir, error, "commit: looking up a path");
    type = git_tree_entry_type(e);
    git_tree_entry_free(e);
    if (type == GIT_OBJECT_TREE)
        return store_err(diag, s->dir, -EISDIR, "%s is a directory; only files can change",
                         c->path);
    return 0;
}

/* IE's stat is ST's (the fields the store records in an index entry, as the index keeps them). */
static int store_stat_matches(const git_index_entry *ie, const struct stat *st)
{
    return ie->mtime.seconds == (int32_t)st->st_mtim.tv_sec &&
           ie->mtime.nanoseconds == (uint32_t)st->st_mtim.tv_nsec &&
           ie->ctime.seconds == (int32_t)st->st_ctim.tv_sec &&
           ie->ctime.nanoseconds == (uint32_t)st->st_ctim.tv_nsec &&
           ie->dev == (uint32_t)st->st_dev && ie->ino == (uint32_t)st->st_ino &&
           ie->uid == (uint32_t)st->st_uid && ie->gid == (uint32_t)st->st_gid &&
           ie->file_size == (uint32_t)st->st_size;
}

void store_keep_drop(struct engine_store *s)
{
    free(s->kept_path);
    free(s->kept_data);
    s->kept_path = s->kept_data = NULL;
    s->kept_len = 0;
}

void store_keep(struct engine_store *s, const struct engine_store_change *c, const git_oid *id)
{
    store_keep_drop(s);
    if (c->remove || c->len > STORE_KEEP_MAX || (s->kept_path = strdup(c->path)) == NULL ||
        (s->kept_data = malloc(c->len > 0 ? c->len : 1)) == NULL) {
        store_keep_drop(s);
        return;
    }
    memcpy(s->kept_data, c->data, c->len);
    s->kept_len = c->len;
    git_oid_cpy(&s->kept_id, id);
}

/* 1 when plain file FULL (SIZE bytes when lstat()ed; work-tree path PATH) holds blob ID, without
 * git's filters: when those bytes are the index entry's blob, the file holds what was
 * committed, whatever attributes say (a file equal to its blob loses nothing when a commit
 * rewrites it), and looking the attributes up costs a level write more than reading the file.
 * The bytes are compared with the copy store_keep() made when it is of blob ID (they hash to
 * it), else hashed. */
static int store_holds_blob(const struct engine_store *s, const char *path, const git_oid *id,
                            const char *full, off_t size)
{
    int kept = s->kept_data != NULL && strcmp(path, s->kept_path) == 0 &&
               git_oid_equal(id, &s->kept_id),
        same;
    char *buf = NULL;
    size_t len = 0;
    git_oid got;

    if ((kept && (size_t)size != s->kept_len) ||
        store_read_plain(full, (size_t)size, &buf, &len) < 0)
        return 0;
    if (kept)
        same = len == s->kept_len && memcmp(buf, s->kept_data, len) == 0;
    else
        same = git_odb_hash(&got, buf, len, GIT_OBJECT_BLOB) == 0 && git_oid_equal(&got, id);
    free(buf);
    return same;
}

/*
 * 1 when PATH (work-tree file FULL) is known clean without git's status machinery, which
 * costs a level write more than the rest of this check (configuration, ignore rules, a walk of
 * the directory): its index entry (stage 0, no extended flags) holds BASE's blob and mode, and
 * the file is a plain, non-executable file whose stat the entry recorded and that is older
 * than the index (not racily clean), or whose bytes hash to that blob. 0 when this cannot
 * tell: git_status_file() decides.
 */
static int store_path_clean_fast(struct engine_store *s, git_tree *base, const char *path,
                                 const char *full)
{
    git_tree_entry *te = NULL;
    git_index *index = NULL;
    const git_index_entry *ie;
    struct stat st, ix;
    char ipath[PATH_MAX];
    int clean = 0;

    if (base == NULL || (size_t)snprintf(ipath, sizeof(ipath), "%sindex",
                                         git_repository_path(s->repo)) >= sizeof(ipath))
        return 0;
    /* The index's time before it is read: an index written meanwhile only makes more entries
     * racy. */
    if (lstat(ipath, &ix) < 0 || git_repository_index(&index, s->repo) < 0 ||
        git_index_read(index, 0) < 0 || (ie = git_index_get_bypath(index, path, 0)) == NULL ||
        ie->flags_extended != 0 || ie->mode != GIT_FILEMODE_BLOB ||
        git_tree_entry_bypath(&te, base, path) < 0 ||
        git_tree_entry_filemode(te) != GIT_FILEMODE_BLOB ||
        !git_oid_equal(git_tree_entry_id(te), &ie->id) || lstat(full, &st) < 0 ||
        !S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) != 0)
        goto out;
    if (store_stat_matches(ie, &st) &&
        (st.st_mtim.tv_sec < ix.st_mtim.tv_sec ||
         (st.st_mtim.tv_sec == ix.st_mtim.tv_sec && st.st_mtim.tv_nsec < ix.st_mtim.tv_nsec)))
        clean = 1;
    else
        clean = store_holds_blob(s, path, &ie->id, full, st.st_size);

out:
    git_tree_entry_free(te);
    git_index_free(index);
    return clean;
}

/* Fails with -EBUSY when PATH has uncommitted edits in the work tree or the index, or when a
 * directory leading to it is something else in the work tree (a link would take the write
 * outside the store). BASE (may be NULL) is the tree of the store's head. */
int store_path_clean_in(struct engine_store *s, git_tree *base, const char *path,
                        struct engine_diag *diag)
{
    char buf[PATH_MAX];
    size_t root = strlen(s->dir);
    unsigned int flags = 0;
    struct stat st;
    int error;

    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", s->dir, path) >= sizeof(buf))
        return store_err(diag, s->dir, -ENAMETOOLONG, "commit: %s: path too long", path);
    for (char *p = buf + root + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        error = lstat(buf, &st) == 0 && !S_ISDIR(st.st_mode);
        *p = '/';
        if (error)
            return store_err(diag, s->dir, -EBUSY,
                             "commit: %s: %.*s in the work tree is not a directory (a link or a "
                             "file is in the way); remove it first",
                             path, (int)(p - buf - root - 1), buf + root + 1);
    }
    if (store_path_clean_fast(s, base, path, buf))
        return 0;
    error = git_status_file(&flags, s->repo, path);

    /* Absent everywhere (a new file): nothing to lose. */
    if (error == GIT_ENOTFOUND)
        return 0;
    if (error < 0)
        return store_git_err(diag, s->dir, error, "commit: checking the work tree");
    if ((flags & ~(unsigned int)GIT_STATUS_IGNORED) != 0)
        return store_err(diag, s->dir, -EBUSY,
                         "commit: %s has uncommitted edits in the work tree; commit or restore "
                         "them first",
                         path);
    return 0;
}

int store_path_clean(struct engine_store *s, const char *path, struct engine_diag *diag)
{
    return store_path_clean_in(s, NULL, path, diag);
}

/* Fails with -EBUSY unless the work-tree file of C holds exactly C's data (or is absent when C
 * removes it): the edit the caller read and validated is the one committed. */
int store_worktree_holds(struct engine_store *s, const struct engine_store_change *c,
                         struct engine_diag *diag)
{
    char path[PATH_MAX], *buf = NULL;
    size_t len = 0;
    int rc, same;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, c->path) >= sizeof(path))
        return store_err(diag, s->dir, -ENAMETOOLONG, "commit: %s: path too long", c->path);
    /* Not a plain file, larger than the change or growing: not the change. */
    rc = store_read_plain(path, c->len, &buf, &len);
    if (rc < 0 && rc != -ENOENT && rc != -EINVAL && rc != -EFBIG && rc != -EAGAIN)
        return store_err(diag, s->dir, rc, "commit: reading %s: %s", c->path, strerror(-rc));
    same = rc == -ENOENT ? c->remove
                         : rc == 0 && !c->remove && len == c->len &&
                               (len == 0 || memcmp(buf, c->data, len) == 0);
    free(buf);
    if (!same)
        return store_err(diag, s->dir, -EBUSY,
                         "commit: %s changed in the work tree since it was read; read it again",
                         c->path);
    return 0;
}
