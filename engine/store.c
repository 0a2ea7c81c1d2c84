/* store.c — the store: unisec's desired state as commits on branch main of a git repository
 * with a work tree, made and read with libgit2. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* In the git directory: the paths whose work-tree update a commit has not finished yet. */
#define STORE_JOURNAL     "unisec-sync"
#define STORE_JOURNAL_END "end\n"
#define STORE_JOURNAL_MAX (1 << 20)

struct engine_store {
    pthread_mutex_t lock; /* serialises every use of repo and head */
    git_repository *repo; /* lock */
    git_oid head;         /* lock: main's commit as the store last saw it */
    char *dir;            /* immutable: the work tree as given */
    int git_ref;          /* immutable: holds one git_libgit2_init() reference */
};

static pthread_once_t store_once = PTHREAD_ONCE_INIT;

static void store_once_init(void)
{
    /* Objects, refs and the index are fsync'd by libgit2 itself; the work tree is ours. */
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

/* The mutex is not part of the store's value: readers that take a const store lock it too. */
static void store_lock(const struct engine_store *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
}

static void store_unlock(const struct engine_store *s)
{
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
}

static int store_err(struct engine_diag *diag, const char *dir, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int store_err(struct engine_diag *diag, const char *dir, int rc, const char *fmt, ...)
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
static int store_git_err(struct engine_diag *diag, const char *dir, int gerr, const char *op)
{
    const git_error *e = git_error_last();
    int rc = -EIO;

    if (gerr == GIT_ENOTFOUND)
        rc = -ENOENT;
    else if (gerr == GIT_ELOCKED || gerr == GIT_EMODIFIED)
        rc = -EAGAIN;
    else if (e != NULL && e->klass == GIT_ERROR_NOMEMORY)
        rc = -ENOMEM;
    return store_err(diag, dir, rc, "%s: %s", op,
                     e != NULL && e->message != NULL ? e->message : "libgit2 failed");
}

static int store_path_check_in(const char *dir, const char *path, struct engine_diag *diag)
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

static int store_author_check(const char *dir, const struct engine_store_author *a,
                              const char *message, struct engine_diag *diag)
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
static int store_changes_check(const char *dir, const struct engine_store_change *c, size_t n,
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
static int store_change_fits(struct engine_store *s, git_tree *base,
                             const struct engine_store_change *c, struct engine_diag *diag)
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

/* fsyncs PATH, a file or a directory; a missing PATH is not an error. */
static int store_fsync_one(const char *path)
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
static int store_fsync_worktree(const char *root, const char *rel, int names)
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
static int store_fsync_git(const struct engine_store *s, const char *rel)
{
    char buf[PATH_MAX];

    if ((size_t)snprintf(buf, sizeof(buf), "%s%s", git_repository_path(s->repo), rel) >=
        sizeof(buf))
        return -ENAMETOOLONG;
    return store_fsync_one(buf);
}

static int store_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int store_journal_path(char *buf, size_t size, const struct engine_store *s)
{
    if ((size_t)snprintf(buf, size, "%s%s", git_repository_path(s->repo), STORE_JOURNAL) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/*
 * Records, durably, that the work tree is about to be updated for the paths of C. The journal is
 * one file kept for the store's life: written in place and emptied when done (an empty journal is
 * no journal), so that a commit neither creates nor deletes a file for it and only a journal
 * made now needs its directory synced.
 */
static int store_journal_write(struct engine_store *s, const struct engine_store_change *c,
                               size_t n, struct engine_diag *diag)
{
    char path[PATH_MAX], head[64];
    int fd = -1, error, made = 0;

    if ((error = store_journal_path(path, sizeof(path), s)) < 0)
        return store_err(diag, s->dir, error, "commit: git directory path too long");
    if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        made = 1;
    }
    if (fd < 0) {
        error = -errno;
        goto cleanup;
    }
    snprintf(head, sizeof(head), "pid %ld\n", (long)getpid());
    if ((error = store_write_all(fd, head, strlen(head))) < 0)
        goto cleanup;
    /* A path whose work-tree file already holds the commit's content is marked with a leading
     * tab (no store path holds one): only its index entry is finished. */
    for (size_t i = 0; i < n; i++) {
        if ((c[i].from_worktree && (error = store_write_all(fd, "\t", 1)) < 0) ||
            (error = store_write_all(fd, c[i].path, strlen(c[i].path))) < 0 ||
            (error = store_write_all(fd, "\n", 1)) < 0)
            goto cleanup;
    }
    if ((error = store_write_all(fd, STORE_JOURNAL_END, strlen(STORE_JOURNAL_END))) < 0)
        goto cleanup;
    if (fsync(fd) < 0) {
        error = -errno;
        goto cleanup;
    }
    if (made)
        error = store_fsync_git(s, "");

cleanup:
    if (fd >= 0)
        close(fd);
    if (error < 0)
        store_err(diag, s->dir, error, "commit: writing %s: %s", path, strerror(-error));
    return error;
}

/* Empties the journal, durably, so that a later recovery does not redo an update over newer
 * hand edits. */
static int store_journal_remove(struct engine_store *s, struct engine_diag *diag)
{
    char path[PATH_MAX];
    int fd, error = 0;

    if ((error = store_journal_path(path, sizeof(path), s)) < 0)
        return store_err(diag, s->dir, error, "git directory path too long");
    if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
        return errno == ENOENT
                   ? 0
                   : store_err(diag, s->dir, -errno, "emptying %s: %s", path, strerror(errno));
    if (fsync(fd) < 0)
        error = store_err(diag, s->dir, -errno, "fsync of %s: %s", path, strerror(errno));
    close(fd);
    return error;
}

static int store_commit_tree(git_tree **out, struct engine_store *s, const git_oid *id,
                             const char *op, struct engine_diag *diag)
{
    git_commit *c = NULL;
    int error;

    *out = NULL;
    if ((error = git_commit_lookup(&c, s->repo, id)) < 0 || (error = git_commit_tree(out, c)) < 0)
        error = store_git_err(diag, s->dir, error, op);
    git_commit_free(c);
    return error;
}

/* The inode of work-tree file REL of S (0 when it is absent or not a regular file). */
static ino_t store_worktree_inode(const struct engine_store *s, const char *rel, dev_t *dev)
{
    char buf[PATH_MAX];
    struct stat st;

    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", s->dir, rel) >= sizeof(buf) ||
        lstat(buf, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    *dev = st.st_dev;
    return st.st_ino;
}

/*
 * Makes PATHS (N of them; all of the tree when N is 0) in the work tree and the index equal to
 * TREE: writes, replaces, deletes (also untracked files at those paths), then fsyncs them. A
 * file rewritten in place (same inode before and after) is synced alone: the names leading to
 * it did not change; any other path syncs its directories up to the root too.
 */
static int store_checkout(struct engine_store *s, git_tree *tree, char **paths, size_t n,
                          const char *op, struct engine_diag *diag)
{
    git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
    git_index *index = NULL;
    ino_t *before = NULL;
    dev_t *dev = NULL;
    int error;

    if (n > 0 && ((before = calloc(n, sizeof(*before))) == NULL ||
                  (dev = calloc(n, sizeof(*dev))) == NULL)) {
        error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        before[i] = store_worktree_inode(s, paths[i], &dev[i]);
    /* What the index tracks is what was checked out: with it as the baseline, a path the
     * index has and TREE lacks is deleted. */
    if ((error = git_repository_index(&index, s->repo)) < 0 ||
        (error = git_index_read(index, 0)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    opts.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (n > 0)
        opts.checkout_strategy |=
            GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    opts.paths.strings = paths;
    opts.paths.count = n;
    opts.baseline_index = index;
    if ((error = git_checkout_tree(s->repo, (const git_object *)tree, &opts)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        dev_t d = 0;
        ino_t after = store_worktree_inode(s, paths[i], &d);
        if (before[i] != 0 && after == before[i] && d == dev[i])
            error = store_fsync_worktree(s->dir, paths[i], 0);
        else
            error = store_fsync_worktree(s->dir, paths[i], 1);
        if (error < 0) {
            error = store_err(diag, s->dir, error, "%s: fsync of %s: %s", op, paths[i],
                              strerror(-error));
            goto cleanup;
        }
    }
    /* libgit2 1.5 renames the new index into place without fsync. */
    if ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0)
        error = store_err(diag, s->dir, error, "%s: fsync of the index: %s", op, strerror(-error));

cleanup:
    free(before);
    free(dev);
    git_index_free(index);
    return error;
}

/*
 * Fills IE's file fields (times, device, inode, owner, size) from its work-tree file when that
 * file holds IE's blob, so that git and libgit2 find it unchanged from its stat alone instead
 * of reading it again at every status; otherwise they stay zero (content is compared). The
 * file is hashed between two lstat()s that must agree: an edit made meanwhile is never
 * recorded as clean.
 */
static void store_index_stat(struct engine_store *s, git_index_entry *ie)
{
    char path[PATH_MAX];
    struct stat a, b;
    git_oid id;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, ie->path) >= sizeof(path) ||
        lstat(path, &a) < 0 || !S_ISREG(a.st_mode) ||
        git_repository_hashfile(&id, s->repo, ie->path, GIT_OBJECT_BLOB, NULL) < 0 ||
        !git_oid_equal(&id, &ie->id) || lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev || a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec ||
        a.st_mtim.tv_nsec != b.st_mtim.tv_nsec || a.st_ctim.tv_sec != b.st_ctim.tv_sec ||
        a.st_ctim.tv_nsec != b.st_ctim.tv_nsec)
        return;
    ie->ctime.seconds = (int32_t)a.st_ctim.tv_sec;
    ie->ctime.nanoseconds = (uint32_t)a.st_ctim.tv_nsec;
    ie->mtime.seconds = (int32_t)a.st_mtim.tv_sec;
    ie->mtime.nanoseconds = (uint32_t)a.st_mtim.tv_nsec;
    ie->dev = (uint32_t)a.st_dev;
    ie->ino = (uint32_t)a.st_ino;
    ie->uid = (uint32_t)a.st_uid;
    ie->gid = (uint32_t)a.st_gid;
    ie->file_size = (uint32_t)a.st_size;
}

/*
 * Makes the index entries of PATHS (N of them) equal to TREE without touching the work tree,
 * whose files already hold TREE's content (a hand edit the commit took as it is): each entry
 * gets TREE's blob and its file's stat (store_index_stat()), or is removed when TREE lacks the
 * path. Durable.
 */
static int store_index_adopt(struct engine_store *s, git_tree *tree, char **paths, size_t n,
                             const char *op, struct engine_diag *diag)
{
    git_index *index = NULL;
    git_tree_entry *e = NULL;
    int error;

    if ((error = git_repository_index(&index, s->repo)) < 0 ||
        (error = git_index_read(index, 0)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        git_index_entry ie;
        if ((error = git_tree_entry_bypath(&e, tree, paths[i])) == GIT_ENOTFOUND) {
            error = git_index_remove_bypath(index, paths[i]);
        } else if (error == 0) {
            memset(&ie, 0, sizeof(ie));
            ie.path = paths[i];
            ie.mode = git_tree_entry_filemode(e);
            git_oid_cpy(&ie.id, git_tree_entry_id(e));
            store_index_stat(s, &ie);
            error = git_index_add(index, &ie);
        }
        git_tree_entry_free(e);
        e = NULL;
        if (error < 0) {
            error = store_git_err(diag, s->dir, error, op);
            goto cleanup;
        }
    }
    if ((error = git_index_write(index)) < 0) {
        error = store_git_err(diag, s->dir, error, op);
        goto cleanup;
    }
    if ((error = store_fsync_git(s, "index")) < 0 || (error = store_fsync_git(s, "")) < 0)
        error = store_err(diag, s->dir, error, "%s: fsync of the index: %s", op, strerror(-error));

cleanup:
    git_index_free(index);
    return error;
}

/* Brings the work tree and the index to TREE for CHECKOUT (N paths, rewritten) and ADOPT (NA
 * paths whose work-tree files already hold TREE's content: index only). */
static int store_finish_paths(struct engine_store *s, git_tree *tree, char **checkout, size_t n,
                              char **adopt, size_t na, const char *op, struct engine_diag *diag)
{
    int error = 0;

    if (n > 0 && (error = store_checkout(s, tree, checkout, n, op, diag)) < 0)
        return error;
    if (na > 0)
        error = store_index_adopt(s, tree, adopt, na, op, diag);
    return error;
}

/* Removes a lock file left by the crashed writer of a journal dated JOURNAL_MTIME. */
static void store_remove_stale_lock(struct engine_store *s, const char *rel,
                                    const struct timespec *journal_mtime)
{
    char path[PATH_MAX];
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s%s", git_repository_path(s->repo), rel) >=
        sizeof(path))
        return;
    if (stat(path, &st) < 0)
        return;
    /* Older than the journal: somebody else's lock, not ours. */
    if (st.st_mtim.tv_sec < journal_mtime->tv_sec ||
        (st.st_mtim.tv_sec == journal_mtime->tv_sec && st.st_mtim.tv_nsec < journal_mtime->tv_nsec))
        return;
    unlink(path);
}

/*
 * Finishes a work-tree update that a commit left unfinished (the journal exists): puts the
 * journal's paths in the work tree and index to the store's head. AT_OPEN: the store was just
 * opened, so a journal whose writer is no longer running was left by a crash, and the lock
 * files that writer made after the journal are removed.
 */
static int store_journal_finish(struct engine_store *s, int at_open, const char *op,
                                struct engine_diag *diag)
{
    char path[PATH_MAX], *text = NULL, **paths = NULL, *line, *end;
    size_t n = 0, nw = 0, cap = 0;
    git_tree *tree = NULL;
    struct stat st;
    long pid;
    int fd = -1, error;
    ssize_t len;

    if ((error = store_journal_path(path, sizeof(path), s)) < 0)
        return store_err(diag, s->dir, error, "%s: git directory path too long", op);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            return 0;
        return store_err(diag, s->dir, -errno, "%s: opening %s: %s", op, path, strerror(errno));
    }
    if (fstat(fd, &st) < 0 || st.st_size > STORE_JOURNAL_MAX ||
        (text = malloc((size_t)st.st_size + 1)) == NULL) {
        error = store_err(diag, s->dir, -EIO, "%s: cannot read %s", op, path);
        goto cleanup;
    }
    if ((len = read(fd, text, (size_t)st.st_size)) != st.st_size) {
        error = store_err(diag, s->dir, -EIO, "%s: short read of %s", op, path);
        goto cleanup;
    }
    text[len] = '\0';
    if (len == 0)
        goto cleanup; /* emptied: nothing pending */
    /* Without its end line the journal was cut short: the commit never got past it, the ref
     * and the work tree are untouched. */
    if (len < (ssize_t)strlen(STORE_JOURNAL_END) ||
        strcmp(text + len - strlen(STORE_JOURNAL_END), STORE_JOURNAL_END) != 0 ||
        sscanf(text, "pid %ld\n", &pid) != 1) {
        error = store_journal_remove(s, diag);
        goto cleanup;
    }
    if (at_open && pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
        store_remove_stale_lock(s, "index.lock", &st.st_mtim);
        store_remove_stale_lock(s, ENGINE_STORE_BRANCH ".lock", &st.st_mtim);
    }
    /* One path a line between the pid line and the end line; anything else is skipped. */
    text[len - strlen(STORE_JOURNAL_END)] = '\0';
    for (line = strchr(text, '\n'); line != NULL; line = end) {
        *line++ = '\0';
        if ((end = strchr(line, '\n')) == NULL)
            break;
        *end = '\0';
        if (store_path_check_in(s->dir, line + (line[0] == '\t'), NULL) < 0)
            continue;
        if (n == cap) {
            char **v = realloc(paths, (cap = cap ? 2 * cap : 8) * sizeof(*v));
            if (v == NULL) {
                error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
                goto cleanup;
            }
            paths = v;
        }
        paths[n++] = line;
    }
    /* Paths to rewrite first, then those marked as already in the work tree (tab). */
    for (size_t i = 0, j = 0; i < n; i++)
        if (paths[i][0] != '\t') {
            char *p = paths[i];
            paths[i] = paths[j];
            paths[j++] = p;
            nw = j;
        }
    for (size_t i = nw; i < n; i++)
        paths[i]++;
    if (n > 0) {
        if ((error = store_commit_tree(&tree, s, &s->head, op, diag)) < 0 ||
            (error = store_finish_paths(s, tree, paths, nw, paths + nw, n - nw, op, diag)) < 0)
            goto cleanup;
    }
    error = store_journal_remove(s, diag);

cleanup:
    if (fd >= 0)
        close(fd);
    git_tree_free(tree);
    free(paths);
    free(text);
    return error;
}

/* Reads main's commit id, checking that HEAD still points at main. */
static int store_main_lookup(git_oid *out, struct engine_store *s, const char *op,
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

static int store_new(struct engine_store **out, const char *dir, struct engine_diag *diag)
{
    struct engine_store *s;
    int error;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return store_err(diag, dir, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    if ((error = git_libgit2_init()) < 0) {
        error = store_git_err(diag, dir, error, "initialising libgit2");
        engine_store_free(s);
        return error;
    }
    s->git_ref = 1;
    pthread_once(&store_once, store_once_init);
    *out = s;
    return 0;
}

void engine_store_free(struct engine_store *s)
{
    if (s == NULL)
        return;
    git_repository_free(s->repo);
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    if (s->git_ref)
        git_libgit2_shutdown();
    free(s);
}

const char *engine_store_dir(const struct engine_store *s)
{
    return s->dir;
}

/* Returns 1 when DIR exists and holds something, 0 when it is absent or empty. */
static int store_dir_nonempty(const char *dir, struct engine_diag *diag)
{
    struct dirent *de;
    DIR *d;
    int found = 0;

    if ((d = opendir(dir)) == NULL) {
        if (errno == ENOENT)
            return 0;
        return store_err(diag, dir, errno == ENOTDIR ? -EEXIST : -errno,
                         "init: %s exists and is not a usable directory: %s", dir, strerror(errno));
    }
    while (!found && (de = readdir(d)) != NULL)
        found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return found;
}

/* Turns MESSAGE into a commit message: as given, ending with a newline. */
static char *store_message(const char *message)
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
static int store_updates(git_tree_update *upd, struct engine_store *s,
                         const struct engine_store_change *c, size_t n, const char *op,
                         struct engine_diag *diag)
{
    int error;

    for (size_t i = 0; i < n; i++) {
        memset(&upd[i], 0, sizeof(upd[i]));
        upd[i].path = c[i].path;
        if (c[i].remove) {
            upd[i].action = GIT_TREE_UPDATE_REMOVE;
            continue;
        }
        upd[i].action = GIT_TREE_UPDATE_UPSERT;
        upd[i].filemode = GIT_FILEMODE_BLOB;
        if ((error = git_blob_create_from_buffer(&upd[i].id, s->repo, c[i].len ? c[i].data : "",
                                                 c[i].len)) < 0)
            return store_git_err(diag, s->dir, error, op);
    }
    return 0;
}

/* Makes what git_repository_init() wrote, and the new directory's name, durable: libgit2
 * fsyncs only what it writes afterwards. */
static int store_fsync_skeleton(const struct engine_store *s)
{
    static const char *const skel[] = {"config", "HEAD", "refs/heads", "refs", "objects", ""};
    char parent[PATH_MAX], *slash;
    int error;

    for (size_t i = 0; i < sizeof(skel) / sizeof(skel[0]); i++) {
        if ((error = store_fsync_git(s, skel[i])) < 0)
            return error;
    }
    if ((error = store_fsync_one(s->dir)) < 0)
        return error;
    if ((size_t)snprintf(parent, sizeof(parent), "%s", s->dir) >= sizeof(parent))
        return -ENAMETOOLONG;
    for (size_t len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--)
        parent[len - 1] = '\0';
    if ((slash = strrchr(parent, '/')) == NULL)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    return store_fsync_one(parent);
}

int engine_store_init(struct engine_store **out, const char *dir,
                      const struct engine_store_change *files, size_t n,
                      const struct engine_store_author *author, const char *message,
                      struct engine_diag *diag)
{
    git_repository_init_options iopts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    struct engine_store *s = NULL;
    git_treebuilder *tb = NULL;
    git_tree_update *upd = NULL;
    git_tree *empty = NULL, *tree = NULL;
    git_signature *sig = NULL;
    char **paths = NULL, *msg = NULL;
    git_oid empty_id, tree_id;
    int error;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return store_err(diag, NULL, -EINVAL, "init: no directory given");
    if ((error = store_changes_check(dir, files, n, 0, diag)) < 0 ||
        (error = store_author_check(dir, author, message, diag)) < 0)
        return error;
    if ((error = store_dir_nonempty(dir, diag)) != 0)
        return error < 0 ? error
                         : store_err(diag, dir, -EEXIST,
                                     "init: %s exists and is not empty; a new store needs a new "
                                     "or empty directory",
                                     dir);
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return store_err(diag, dir, -errno, "init: creating %s: %s", dir, strerror(errno));
    if ((error = store_new(&s, dir, diag)) < 0)
        return error;

    iopts.flags = GIT_REPOSITORY_INIT_NO_REINIT;
    iopts.initial_head = "main";
    if ((error = git_repository_init_ext(&s->repo, dir, &iopts)) < 0) {
        error = store_git_err(diag, dir, error, "init: creating the repository");
        goto cleanup;
    }
    if ((upd = calloc(n + 1, sizeof(*upd))) == NULL ||
        (paths = calloc(n + 1, sizeof(*paths))) == NULL || (msg = store_message(message)) == NULL) {
        error = store_err(diag, dir, -ENOMEM, "init: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        paths[i] = (char *)files[i].path;
    if ((error = store_updates(upd, s, files, n, "init: writing a file", diag)) < 0)
        goto cleanup;
    if ((error = git_treebuilder_new(&tb, s->repo, NULL)) < 0 ||
        (error = git_treebuilder_write(&empty_id, tb)) < 0 ||
        (error = git_tree_lookup(&empty, s->repo, &empty_id)) < 0 ||
        (error = git_tree_create_updated(&tree_id, s->repo, empty, n, upd)) < 0 ||
        (error = git_tree_lookup(&tree, s->repo, &tree_id)) < 0 ||
        (error = git_signature_now(&sig, author->name, author->email)) < 0 ||
        (error = git_commit_create(&s->head, s->repo, "HEAD", sig, sig, NULL, msg, tree, 0, NULL)) <
            0) {
        error = store_git_err(diag, dir, error, "init: making the first commit");
        goto cleanup;
    }
    if ((error = store_checkout(s, tree, NULL, 0, "init: writing the work tree", diag)) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if ((error = store_fsync_worktree(dir, paths[i], 1)) < 0) {
            error =
                store_err(diag, dir, error, "init: fsync of %s: %s", paths[i], strerror(-error));
            goto cleanup;
        }
    }
    if ((error = store_fsync_skeleton(s)) < 0) {
        error = store_err(diag, dir, error, "init: fsync: %s", strerror(-error));
        goto cleanup;
    }
    *out = s;
    s = NULL;

cleanup:
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(empty);
    git_treebuilder_free(tb);
    engine_store_free(s); /* after the objects: they belong to its repository */
    free(upd);
    free(paths);
    free(msg);
    return error;
}

int engine_store_open(struct engine_store **out, const char *dir, struct engine_diag *diag)
{
    struct engine_store *s = NULL;
    int error;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0')
        return store_err(diag, NULL, -EINVAL, "open: no directory given");
    if ((error = store_new(&s, dir, diag)) < 0)
        return error;
    if ((error = git_repository_open_ext(&s->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) < 0) {
        error = store_git_err(diag, dir, error, "open: not a store (no git repository there)");
        goto cleanup;
    }
    if (git_repository_is_bare(s->repo)) {
        error = store_err(diag, dir, -EINVAL,
                          "open: the repository is bare; a store has a "
                          "work tree");
        goto cleanup;
    }
    if ((error = store_main_lookup(&s->head, s, "open", diag)) < 0)
        goto cleanup;
    /* The store is usable even if the work tree cannot be finished now (a foreign lock). */
    if (store_journal_finish(s, 1, "open: finishing an interrupted commit", diag) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    *out = s;
    s = NULL;

cleanup:
    engine_store_free(s);
    return error;
}

/* Looks PATH up in the store's head: *OUT is the entry (caller frees). */
static int store_entry(git_tree_entry **out, const struct engine_store *s, const char *path,
                       const char *op, struct engine_diag *diag)
{
    git_tree *tree = NULL;
    int error;

    *out = NULL;
    if ((error = store_commit_tree(&tree, (struct engine_store *)s, &s->head, op, diag)) < 0)
        return error;
    error = git_tree_entry_bypath(out, tree, path);
    if (error == GIT_ENOTFOUND) {
        /* -ENOTDIR when a parent is a file, as the file system would say. */
        char buf[ENGINE_STORE_PATH_MAX + 1];
        git_tree_entry *e = NULL;
        strcpy(buf, path);
        error = -ENOENT;
        for (char *p = strchr(buf, '/'); p != NULL; p = strchr(p + 1, '/')) {
            *p = '\0';
            if (git_tree_entry_bypath(&e, tree, buf) < 0)
                break;
            if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
                error = -ENOTDIR;
            git_tree_entry_free(e);
            e = NULL;
            *p = '/';
            if (error == -ENOTDIR)
                break;
        }
        store_err(diag, s->dir, error, "%s: %s: %s", op, path, strerror(-error));
    } else if (error < 0) {
        error = store_git_err(diag, s->dir, error, op);
    }
    git_tree_free(tree);
    return error;
}

int engine_store_read(const struct engine_store *s, const char *path, char **data, size_t *len,
                      struct engine_diag *diag)
{
    git_tree_entry *e = NULL;
    git_blob *blob = NULL;
    int error;

    *data = NULL;
    *len = 0;
    if ((error = store_path_check_in(s->dir, path, diag)) < 0)
        return error;
    store_lock(s);
    if ((error = store_entry(&e, s, path, "read", diag)) < 0)
        goto cleanup;
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        error = store_err(diag, s->dir, -EISDIR, "read: %s is a directory", path);
        goto cleanup;
    }
    if ((error = git_blob_lookup(&blob, s->repo, git_tree_entry_id(e))) < 0) {
        error = store_git_err(diag, s->dir, error, "read");
        goto cleanup;
    }
    *len = (size_t)git_blob_rawsize(blob);
    if ((*data = malloc(*len + 1)) == NULL) {
        *len = 0;
        error = store_err(diag, s->dir, -ENOMEM, "read: %s: out of memory", path);
        goto cleanup;
    }
    memcpy(*data, git_blob_rawcontent(blob), *len);
    (*data)[*len] = '\0';

cleanup:
    git_blob_free(blob);
    git_tree_entry_free(e);
    store_unlock(s);
    return error;
}

void engine_store_list_free(struct engine_store_dirent *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].name);
    free(v);
}

int engine_store_list(const struct engine_store *s, const char *dir,
                      struct engine_store_dirent **out, size_t *n, struct engine_diag *diag)
{
    struct engine_store_dirent *v = NULL;
    git_tree_entry *e = NULL;
    git_tree *tree = NULL, *sub = NULL;
    git_odb *odb = NULL;
    size_t count = 0;
    int error;

    *out = NULL;
    *n = 0;
    if (dir != NULL && dir[0] != '\0' && (error = store_path_check_in(s->dir, dir, diag)) < 0)
        return error;
    store_lock(s);
    if (dir == NULL || dir[0] == '\0') {
        if ((error = store_commit_tree(&tree, (struct engine_store *)s, &s->head, "list", diag)) <
            0)
            goto cleanup;
    } else {
        if ((error = store_entry(&e, s, dir, "list", diag)) < 0)
            goto cleanup;
        if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
            error = store_err(diag, s->dir, -ENOTDIR, "list: %s is a file", dir);
            goto cleanup;
        }
        if ((error = git_tree_lookup(&sub, s->repo, git_tree_entry_id(e))) < 0) {
            error = store_git_err(diag, s->dir, error, "list");
            goto cleanup;
        }
    }
    if ((error = git_repository_odb(&odb, s->repo)) < 0) {
        error = store_git_err(diag, s->dir, error, "list");
        goto cleanup;
    }
    count = git_tree_entrycount(sub != NULL ? sub : tree);
    if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "list: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const git_tree_entry *te = git_tree_entry_byindex(sub != NULL ? sub : tree, i);
        git_object_t type;
        if ((v[i].name = strdup(git_tree_entry_name(te))) == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "list: out of memory");
            goto cleanup;
        }
        v[i].is_dir = git_tree_entry_type(te) == GIT_OBJECT_TREE;
        if (!v[i].is_dir &&
            (error = git_odb_read_header(&v[i].size, &type, odb, git_tree_entry_id(te))) < 0) {
            error = store_git_err(diag, s->dir, error, "list: reading a file's size");
            goto cleanup;
        }
    }
    *out = v;
    *n = count;
    v = NULL;

cleanup:
    engine_store_list_free(v, count);
    git_odb_free(odb);
    git_tree_free(sub);
    git_tree_free(tree);
    git_tree_entry_free(e);
    store_unlock(s);
    return error;
}

/* Fails with -EBUSY when PATH has uncommitted edits in the work tree or the index. */
static int store_path_clean(struct engine_store *s, const char *path, struct engine_diag *diag)
{
    unsigned int flags = 0;
    int error = git_status_file(&flags, s->repo, path);

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

/* Fails with -EBUSY unless the work-tree file of C holds exactly C's data (or is absent when C
 * removes it): the edit the caller read and validated is the one committed. */
static int store_worktree_holds(struct engine_store *s, const struct engine_store_change *c,
                                struct engine_diag *diag)
{
    char path[PATH_MAX], *buf = NULL;
    struct stat st;
    size_t len = 0;
    int fd, same = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, c->path) >= sizeof(path))
        return store_err(diag, s->dir, -ENAMETOOLONG, "commit: %s: path too long", c->path);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        if (errno != ENOENT)
            return store_err(diag, s->dir, -errno, "commit: reading %s: %s", c->path,
                             strerror(errno));
        same = c->remove;
    } else if (!c->remove && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               (size_t)st.st_size == c->len && (buf = malloc(c->len + 1)) != NULL) {
        while (len < c->len) {
            ssize_t r = read(fd, buf + len, c->len - len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        same = len == c->len && (c->len == 0 || memcmp(buf, c->data, c->len) == 0);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    if (!same)
        return store_err(diag, s->dir, -EBUSY,
                         "commit: %s changed in the work tree since it was read; read it again",
                         c->path);
    return 0;
}

/* The body of engine_store_commit(), with the store locked and the arguments checked. */
static int store_commit_locked(struct engine_store *s, const struct engine_store_change *changes,
                               size_t n, git_tree_update *upd, char **paths, size_t nw,
                               const struct engine_store_author *author, const char *msg,
                               char out_id[41], struct engine_diag *diag)
{
    git_tree *base = NULL, *tree = NULL;
    git_commit *parent = NULL;
    git_signature *sig = NULL;
    git_oid main_id, tree_id, id;
    int error, journal = 0;

    if ((error = store_main_lookup(&main_id, s, "commit", diag)) < 0)
        goto cleanup;
    /* Checked before finishing a pending update, which writes the head's content: after an
     * outside move that content is no longer main's. */
    if (!git_oid_equal(&main_id, &s->head)) {
        char seen[GIT_OID_HEXSZ + 1], now[GIT_OID_HEXSZ + 1];
        git_oid_tostr(seen, sizeof(seen), &s->head);
        git_oid_tostr(now, sizeof(now), &main_id);
        error = store_err(diag, s->dir, -EAGAIN,
                          "commit: main moved outside the store (now %s, last seen %s); "
                          "refresh and validate it first",
                          now, seen);
        goto cleanup;
    }
    if ((error = store_journal_finish(s, 0, "commit: finishing an earlier commit", diag)) < 0)
        goto cleanup;
    if ((error = git_commit_lookup(&parent, s->repo, &s->head)) < 0 ||
        (error = git_commit_tree(&base, parent)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit: reading main");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if ((error = store_change_fits(s, base, &changes[i], diag)) < 0 ||
            (error = changes[i].from_worktree ? store_worktree_holds(s, &changes[i], diag)
                                              : store_path_clean(s, changes[i].path, diag)) < 0)
            goto cleanup;
    }
    if ((error = store_updates(upd, s, changes, n, "commit: writing a file", diag)) < 0)
        goto cleanup;
    if ((error = git_tree_create_updated(&tree_id, s->repo, base, n, upd)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit: building the tree");
        goto cleanup;
    }
    if (git_oid_equal(&tree_id, git_tree_id(base)))
        goto cleanup; /* nothing changed: no commit, empty id */
    if ((error = git_tree_lookup(&tree, s->repo, &tree_id)) < 0 ||
        (error = git_signature_now(&sig, author->name, author->email)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit");
        goto cleanup;
    }
    if ((error = store_journal_write(s, changes, n, diag)) < 0)
        goto cleanup;
    journal = 1;
    /* Moves main only if it is still PARENT (libgit2 compares under the ref's lock). */
    if ((error = git_commit_create(&id, s->repo, ENGINE_STORE_BRANCH, sig, sig, NULL, msg, tree, 1,
                                   (const git_commit **)&parent)) < 0) {
        error = store_git_err(diag, s->dir, error, "commit: moving main");
        goto cleanup;
    }
    git_oid_cpy(&s->head, &id);
    git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &id);
    journal = 0;
    if (store_finish_paths(s, tree, paths, nw, paths + nw, n - nw, "commit: updating the work tree",
                           diag) < 0 ||
        store_journal_remove(s, diag) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;

cleanup:
    /* The ref did not move: the journal's paths were never touched. */
    if (journal)
        store_journal_remove(s, NULL);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base);
    git_commit_free(parent);
    return error;
}

int engine_store_commit(struct engine_store *s, const struct engine_store_change *changes, size_t n,
                        const struct engine_store_author *author, const char *message,
                        char out_id[41], struct engine_diag *diag)
{
    git_tree_update *upd = NULL;
    char **paths = NULL, *msg = NULL;
    size_t nw = 0;
    int error;

    out_id[0] = '\0';
    if (n == 0)
        return store_err(diag, s->dir, -EINVAL, "commit: no changes given");
    if ((error = store_changes_check(s->dir, changes, n, 1, diag)) < 0 ||
        (error = store_author_check(s->dir, author, message, diag)) < 0)
        return error;
    if ((upd = calloc(n, sizeof(*upd))) == NULL || (paths = calloc(n, sizeof(*paths))) == NULL ||
        (msg = store_message(message)) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "commit: out of memory");
        goto cleanup;
    }
    /* The paths to rewrite in the work tree first, then those it already holds. */
    for (size_t i = 0; i < n; i++)
        if (!changes[i].from_worktree)
            paths[nw++] = (char *)changes[i].path;
    for (size_t i = 0, j = nw; i < n; i++)
        if (changes[i].from_worktree)
            paths[j++] = (char *)changes[i].path;
    store_lock(s);
    error = store_commit_locked(s, changes, n, upd, paths, nw, author, msg, out_id, diag);
    store_unlock(s);

cleanup:
    free(upd);
    free(paths);
    free(msg);
    return error;
}

int engine_store_head(const struct engine_store *s, char out_id[41], struct engine_diag *diag)
{
    (void)diag;
    store_lock(s);
    git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &s->head);
    store_unlock(s);
    return 0;
}

int engine_store_log(const struct engine_store *s, size_t max,
                     int (*cb)(const struct engine_store_commit_info *info, void *arg), void *arg,
                     struct engine_diag *diag)
{
    struct engine_store_commit_info info;
    git_revwalk *walk = NULL;
    git_commit *c = NULL;
    git_oid id;
    int error;

    store_lock(s);
    if ((error = git_revwalk_new(&walk, s->repo)) < 0 ||
        (error = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME)) < 0 ||
        (error = git_revwalk_push(walk, &s->head)) < 0) {
        error = store_git_err(diag, s->dir, error, "log");
        goto cleanup;
    }
    for (size_t i = 0; i < max; i++) {
        const git_signature *a;
        if ((error = git_revwalk_next(&id, walk)) == GIT_ITEROVER) {
            error = 0;
            break;
        }
        if (error < 0 || (error = git_commit_lookup(&c, s->repo, &id)) < 0) {
            error = store_git_err(diag, s->dir, error, "log");
            goto cleanup;
        }
        a = git_commit_author(c);
        git_oid_tostr(info.id, sizeof(info.id), &id);
        info.author_name = a->name;
        info.author_email = a->email;
        info.time = (int64_t)a->when.time;
        info.tz_offset = a->when.offset;
        info.summary = git_commit_summary(c);
        if (info.summary == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "log: out of memory");
            goto cleanup;
        }
        if ((error = cb(&info, arg)) != 0)
            goto cleanup;
        git_commit_free(c);
        c = NULL;
    }

cleanup:
    git_commit_free(c);
    git_revwalk_free(walk);
    store_unlock(s);
    return error;
}

int engine_store_refresh(struct engine_store *s, int *changed, char out_id[41],
                         struct engine_diag *diag)
{
    git_oid main_id;
    int error;

    *changed = 0;
    store_lock(s);
    if ((error = store_main_lookup(&main_id, s, "refresh", diag)) < 0)
        goto cleanup;
    if (!git_oid_equal(&main_id, &s->head)) {
        git_oid_cpy(&s->head, &main_id);
        *changed = 1;
    }
    /* A work-tree update of ours left unfinished is finished against the head now seen. */
    if (store_journal_finish(s, 0, "refresh: finishing an earlier commit", diag) < 0)
        error = ENGINE_STORE_WORKTREE_STALE;
    if (out_id != NULL)
        git_oid_tostr(out_id, GIT_OID_HEXSZ + 1, &s->head);

cleanup:
    store_unlock(s);
    return error;
}

void engine_store_wtchanges_free(struct engine_store_wtchange *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].path);
    free(v);
}

int engine_store_worktree_changes(struct engine_store *s, struct engine_store_wtchange **out,
                                  size_t *n, struct engine_diag *diag)
{
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    struct engine_store_wtchange *v = NULL;
    git_tree *tree = NULL;
    git_diff *diff = NULL;
    size_t count = 0;
    int error;

    *out = NULL;
    *n = 0;
    opts.flags =
        GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS | GIT_DIFF_INCLUDE_TYPECHANGE;
    store_lock(s);
    if ((error = store_commit_tree(&tree, s, &s->head, "worktree changes", diag)) < 0)
        goto cleanup;
    if ((error = git_diff_tree_to_workdir_with_index(&diff, s->repo, tree, &opts)) < 0) {
        error = store_git_err(diag, s->dir, error, "worktree changes");
        goto cleanup;
    }
    count = git_diff_num_deltas(diff);
    if (count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
        error = store_err(diag, s->dir, -ENOMEM, "worktree changes: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        const char *path = d->new_file.path;
        switch (d->status) {
        case GIT_DELTA_ADDED:
        case GIT_DELTA_UNTRACKED:
            v[i].kind = ENGINE_STORE_WT_ADDED;
            break;
        case GIT_DELTA_DELETED:
            v[i].kind = ENGINE_STORE_WT_DELETED;
            path = d->old_file.path;
            break;
        default:
            v[i].kind = ENGINE_STORE_WT_MODIFIED;
            break;
        }
        if ((v[i].path = strdup(path)) == NULL) {
            error = store_err(diag, s->dir, -ENOMEM, "worktree changes: out of memory");
            goto cleanup;
        }
    }
    *out = v;
    *n = count;
    v = NULL;

cleanup:
    engine_store_wtchanges_free(v, count);
    git_diff_free(diff);
    git_tree_free(tree);
    store_unlock(s);
    return error;
}

int engine_store_restore(struct engine_store *s, const char *path, struct engine_diag *diag)
{
    git_tree *tree = NULL;
    char *paths[1];
    int error;

    if ((error = store_path_check_in(s->dir, path, diag)) < 0)
        return error;
    paths[0] = (char *)path;
    store_lock(s);
    if ((error = store_commit_tree(&tree, s, &s->head, "restore", diag)) < 0)
        goto cleanup;
    error = store_checkout(s, tree, paths, 1, "restore", diag);

cleanup:
    git_tree_free(tree);
    store_unlock(s);
    return error;
}
