/* store_journal.c — the journal that names the paths of a work-tree update while a commit
 * makes it (.git/unisec-sync), and the recovery that finishes an update left unfinished. */
#include "grow.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_JOURNAL_END "end\n"
#define STORE_JOURNAL_MAX (2 << 20)
_Static_assert(STORE_JOURNAL_MAX >= STORE_DEFER_JOURNAL_MAX + STORE_CARRY_MAX + 64 * 1024,
               "a journal the store writes must read back whole");
/* In the first line, before the commit main moved to, when its ref is not synced yet. */
#define STORE_JOURNAL_MAIN "main "

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

/* The first byte of a journal whose update is finished (it was "pid"'s 'p'): the file keeps
 * its text, so that the next commit of the same paths writes back one byte. */
#define STORE_JOURNAL_DONE '#'

static char store_boot[64];
static pthread_once_t store_boot_once = PTHREAD_ONCE_INIT;

static void store_boot_read(void)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    char buf[64] = "";

    if (f == NULL)
        return;
    /* A UUID: no space, no newline (it is one word of the journal's first line). */
    if (fgets(buf, sizeof(buf), f) != NULL && buf[strspn(buf, "0123456789abcdef-")] == '\n')
        memcpy(store_boot, buf, strcspn(buf, "\n"));
    fclose(f);
}

const char *store_boot_id(void)
{
    pthread_once(&store_boot_once, store_boot_read);
    return store_boot;
}

/* The journal's text for the paths of C (N): "pid PID", with " boot ID" (this boot's) and,
 * when LAZY, " lazy" (the update's syncs may come later) and with MAIN " main ID" (main moved
 * to commit ID without syncing the ref: store_main.c); then one path a line, "end" (caller
 * frees). */
static char *store_journal_text(const struct engine_store_change *c, size_t n, int lazy,
                                const git_oid *main, size_t *len)
{
    char *text = NULL, hex[GIT_OID_HEXSZ + 1];
    FILE *f = open_memstream(&text, len);

    if (f == NULL)
        return NULL;
    fprintf(f, "pid %ld", (long)getpid());
    if (store_boot_id()[0] != '\0')
        fprintf(f, " boot %s%s", store_boot_id(), lazy ? " lazy" : "");
    if (store_boot_id()[0] != '\0' && lazy && main != NULL)
        fprintf(f, " " STORE_JOURNAL_MAIN "%s", git_oid_tostr(hex, sizeof(hex), main));
    fputc('\n', f);
    /* A path whose work-tree file already holds the commit's content is marked with a leading
     * tab (no store path holds one): only its index entry is finished. */
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s\n", c[i].from_worktree ? "\t" : "", c[i].path);
    fputs(STORE_JOURNAL_END, f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Where the id of main's commit starts in the journal's TEXT (LEN bytes), or LEN: in the first
 * line, after " main ", 40 hex digits and the line's end. */
static size_t store_journal_main_at(const char *text, size_t len)
{
    const char *nl = memchr(text, '\n', len), *m;
    size_t at;

    if (nl == NULL)
        return len;
    for (m = text; (m = memmem(m, (size_t)(nl - m), " " STORE_JOURNAL_MAIN,
                               strlen(" " STORE_JOURNAL_MAIN))) != NULL;
         m++) {
        at = (size_t)(m - text) + strlen(" " STORE_JOURNAL_MAIN);
        if (at + GIT_OID_HEXSZ == (size_t)(nl - text) &&
            strspn(text + at, "0123456789abcdef") >= GIT_OID_HEXSZ)
            return at;
    }
    return len;
}

/* The length of the journal's text in BUF (N bytes): up to and with its end line, the one
 * followed by the end of the file or by a commit it carries; 0 when it has none (cut short). */
static size_t store_journal_text_len(const char *buf, size_t n)
{
    const size_t k = strlen(STORE_JOURNAL_END);

    for (const char *p = buf;
         (p = memmem(p, n - (size_t)(p - buf), "\n" STORE_JOURNAL_END, k + 1)) != NULL; p++) {
        size_t at = (size_t)(p - buf) + 1 + k;
        git_object_t type;
        if (at == n || store_object_record_kind(buf + at, n - at, &type) > 0)
            return at;
    }
    return 0;
}

/* Calls FN for every whole object the journal BUF (N bytes, text TEXT bytes) carries whose
 * bytes hash to the id its record names; a record cut short (by a crash before the journal's
 * sync: main never moved to it) ends the list. The first error FN returns, or 0. */
static int store_journal_objects(const char *buf, size_t n, size_t text,
                                 int (*fn)(git_object_t type, const char *data, size_t len,
                                           void *arg),
                                 void *arg)
{
    size_t at = text;

    while (at < n) {
        const char *nl = memchr(buf + at, '\n', n - at), *data;
        git_object_t type = GIT_OBJECT_INVALID;
        int k = store_object_record_kind(buf + at, n - at, &type), error;
        char hex[GIT_OID_HEXSZ + 1];
        unsigned long long len;
        git_oid want, got;
        if (nl == NULL || k < 0 || sscanf(buf + at + k, "%40[0-9a-f] %llu\n", hex, &len) != 2 ||
            git_oid_fromstr(&want, hex) < 0)
            return 0;
        data = nl + 1;
        if (len > n || (size_t)(data - buf) + len + 1 > n || data[len] != '\n')
            return 0;
        if (git_odb_hash(&got, data, (size_t)len, type) == 0 && git_oid_equal(&got, &want) &&
            (error = fn(type, data, (size_t)len, arg)) < 0)
            return error;
        at = (size_t)(data - buf) + (size_t)len + 1;
    }
    return 0;
}

/* The length of the first line of the journal on FD (SIZE bytes) to write when its text is
 * the journal TEXT (LEN bytes) but for its first byte (finished, or not: *FIRST) and main's
 * commit; else 0. Only those LEN bytes are read, whatever the commits the journal carries. */
static size_t store_journal_same(int fd, off_t size, const char *text, size_t len, char *first)
{
    char buf[4096];
    size_t at = store_journal_main_at(text, len), skip;

    if ((size_t)size < len || len > sizeof(buf) || len < 2)
        return 0;
    if (pread(fd, buf, len, 0) != (ssize_t)len)
        return 0;
    if (buf[0] != STORE_JOURNAL_DONE && buf[0] != text[0])
        return 0;
    *first = buf[0];
    if (at == len)
        return memcmp(buf + 1, text + 1, len - 1) == 0 ? 1 : 0;
    skip = at + GIT_OID_HEXSZ;
    if (store_journal_main_at(buf, len) != at || memcmp(buf + 1, text + 1, at - 1) != 0 ||
        memcmp(buf + skip, text + skip, len - skip) != 0)
        return 0;
    return skip;
}

/*
 * Records, durably, that the work tree is about to be updated for the paths of C. The journal is
 * one file kept for the store's life, written in place and marked finished when done (its first
 * byte), so that a commit neither creates nor deletes a file for it and only a journal made now
 * needs its directory synced. A commit of the paths the last one named (every level write)
 * writes back the one byte that marked it finished, and the id of main's commit when it names
 * one, and adds the commit it carries after the others (a finished journal's are dropped):
 * fdatasync; other paths rewrite the file and fsync it. The caller makes an update whose syncs
 * were deferred durable first (store_defer_sync()): the journal names its paths until then.
 */
int store_journal_write(struct engine_store *s, const struct engine_store_change *c, size_t n,
                        int lazy, const git_oid *main, const char *rec, size_t reclen,
                        struct engine_diag *diag)
{
    char path[PATH_MAX], *text = NULL, first;
    size_t len = 0, head;
    struct stat st;
    int fd = -1, error = 0, made = 0;

    if ((error = store_journal_path(path, sizeof(path), s)) < 0)
        return store_err(diag, s->dir, error, "commit: git directory path too long");
    if ((text = store_journal_text(c, n, lazy, main, &len)) == NULL)
        return store_err(diag, s->dir, -ENOMEM, "commit: out of memory");
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        made = 1;
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        error = -errno;
        goto cleanup;
    }
    if ((head = store_journal_same(fd, st.st_size, text, len, &first)) > 0) {
        /* A finished journal's commits are durable: the new one replaces them. */
        off_t at = first == STORE_JOURNAL_DONE ? (off_t)len : st.st_size;
        ssize_t w = 0;
        errno = 0;
        if (pwrite(fd, text, head, 0) != (ssize_t)head) {
            error = errno ? -errno : -EIO;
        } else if (rec != NULL && (w = pwrite(fd, rec, reclen, at)) != (ssize_t)reclen) {
            error = w < 0 ? -errno : -ENOSPC;
            /* No record cut short left behind: the commits added after it would not be read. */
            if (ftruncate(fd, at) < 0)
                error = -errno;
        } else if ((at + (off_t)reclen < st.st_size && ftruncate(fd, at + (off_t)reclen) < 0) ||
                   fdatasync(fd) < 0) {
            error = -errno;
        }
        s->journal_size = error < 0 ? (size_t)st.st_size : (size_t)at + reclen;
        goto cleanup;
    }
    /* The commits a pending journal carries are dropped: durable first. */
    if ((error = store_object_sync(s, s->objects, s->nobjects)) < 0 || ftruncate(fd, 0) < 0 ||
        (error = store_write_all(fd, text, len)) < 0 ||
        (rec != NULL && (error = store_write_all(fd, rec, reclen)) < 0)) {
        error = error < 0 ? error : -errno;
        goto cleanup;
    }
    s->journal_size = len + reclen;
    if (fsync(fd) < 0) {
        error = -errno;
        goto cleanup;
    }
    if (made)
        error = store_fsync_git(s, "");

cleanup:
    if (fd >= 0)
        close(fd);
    free(text);
    if (error < 0)
        store_err(diag, s->dir, error, "commit: writing %s: %s", path, strerror(-error));
    return error;
}

/*
 * Marks the journal finished: its first byte, in place. Not synced (but by a deferred update's
 * syncer, store_defer.c): a recovery that still finds it unfinished after a crash redoes only
 * the paths whose index entry is not the head's (store_path_finished()), and every path of a
 * finished update has the head's entry, durably, before this mark is made.
 */
int store_journal_mark(struct engine_store *s, int sync, struct engine_diag *diag)
{
    char path[PATH_MAX], done = STORE_JOURNAL_DONE;
    struct stat st;
    int fd, error = 0;

    if ((error = store_journal_path(path, sizeof(path), s)) < 0)
        return store_err(diag, s->dir, error, "git directory path too long");
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
        return errno == ENOENT
                   ? 0
                   : store_err(diag, s->dir, -errno, "emptying %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || (st.st_size > 0 && pwrite(fd, &done, 1, 0) != 1) ||
        (sync && fdatasync(fd) < 0))
        error = store_err(diag, s->dir, -errno, "emptying %s: %s", path, strerror(errno));
    close(fd);
    return error;
}

int store_journal_remove(struct engine_store *s, struct engine_diag *diag)
{
    return store_journal_mark(s, 0, diag);
}

/* 1 when PATH's entry in the index IX is TREE's. */
static int store_path_done(git_index *ix, git_tree *tree, const char *path)
{
    const git_index_entry *ie;
    git_tree_entry *te = NULL;
    int rc, done;

    if (ix == NULL)
        return 0;
    ie = git_index_get_bypath(ix, path, 0);
    if ((rc = git_tree_entry_bypath(&te, tree, path)) == GIT_ENOTFOUND)
        return ie == NULL;
    if (rc < 0)
        return 0;
    done = ie != NULL && ie->mode == git_tree_entry_filemode(te) &&
           git_oid_equal(&ie->id, git_tree_entry_id(te));
    git_tree_entry_free(te);
    return done;
}

/*
 * 1 when PATH's entry in the index IX is TREE's (both absent, or the same blob and mode): its
 * update was finished, since a commit writes and syncs the index only after the work-tree file,
 * and a difference in the file since is a hand edit, not the commit's to redo. 0 when IX is
 * NULL (the index could not be read: the path is redone). CONTENT: the update's syncs were
 * deferred and the machine crashed meanwhile, so the index may have reached the disk and the
 * file not: the file must hold TREE's content too (a hand edit made before the crash, within
 * the deferral, is taken back with it).
 */
static int store_path_finished(struct engine_store *s, git_index *ix, git_tree *tree,
                               const char *path, int content)
{
    const git_index_entry *ie;
    git_oid id;

    if (ix == NULL || !store_path_done(ix, tree, path))
        return 0;
    if (!content || (ie = git_index_get_bypath(ix, path, 0)) == NULL)
        return 1;
    return git_repository_hashfile(&id, s->repo, path, GIT_OBJECT_BLOB, NULL) == 0 &&
           git_oid_equal(&id, &ie->id);
}

/* 1 when the journal TEXT (its first line) is of an update whose syncs may have been deferred
 * ("lazy") and was written in another boot: the machine crashed since, and what was not synced
 * may be lost. A crash of the daemon alone loses nothing it wrote. */
static int store_journal_crashed(const char *text)
{
    char line[128], boot[64], lazy[8];
    size_t k = strcspn(text, "\n");

    if (k >= sizeof(line))
        return 0;
    memcpy(line, text, k);
    line[k] = '\0';
    return sscanf(line, "pid %*d boot %63s %7s", boot, lazy) == 2 && strcmp(lazy, "lazy") == 0 &&
           strcmp(boot, store_boot_id()) != 0;
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
    /* Made before the journal: somebody else's lock, not ours. Its change time, not its
     * modification time: main's lock is taken by renaming the spare (store_main.c), which keeps
     * the spare's old mtime until it is written, and a crash in between left it forever. */
    if (st.st_ctim.tv_sec < journal_mtime->tv_sec ||
        (st.st_ctim.tv_sec == journal_mtime->tv_sec && st.st_ctim.tv_nsec < journal_mtime->tv_nsec))
        return;
    unlink(path);
}

/* store_journal_objects()'s call for each object: written again unless the disk holds it. */
static int store_journal_restore(git_object_t type, const char *data, size_t len, void *arg)
{
    void **a = arg;

    return store_object_restore(a[0], type, data, len,
                                "open: an object lost by a crash of the machine", a[1]);
}

/* store_journal_objects()'s call for each object: made durable. */
static int store_journal_sync_one(git_object_t type, const char *data, size_t len, void *arg)
{
    void **a = arg;
    git_oid id;

    if (git_odb_hash(&id, data, len, type) < 0)
        return -EIO;
    return store_object_sync(a[0], &id, 1);
}

int store_journal_main(struct engine_store *s, struct engine_diag *diag)
{
    char path[PATH_MAX], *buf = NULL;
    size_t n = 0, text, at;
    struct stat st;
    git_oid id;
    int error = 0;
    void *arg[2] = {s, diag};

    /* No journal, or one that cannot be read: store_journal_finish() says so. */
    if (store_journal_path(path, sizeof(path), s) < 0 ||
        store_read_plain(path, STORE_JOURNAL_MAX, &buf, &n) < 0)
        return 0;
    /* Finished, cut short (main never moved after it), or a crash of the daemon only (the
     * page cache kept the ref and the commits as written): main on disk is right. */
    if (n == 0 || buf[0] == STORE_JOURNAL_DONE || (text = store_journal_text_len(buf, n)) == 0 ||
        !store_journal_crashed(buf))
        goto cleanup;
    /* The commits it carries first: main's, and those between it and the last synced. */
    if ((error = store_journal_objects(buf, n, text, store_journal_restore, arg)) < 0)
        goto cleanup;
    if ((at = store_journal_main_at(buf, text)) == text ||
        git_oid_fromstrn(&id, buf + at, GIT_OID_HEXSZ) < 0)
        goto cleanup;
    if (stat(path, &st) == 0)
        store_remove_stale_lock(s, ENGINE_STORE_BRANCH ".lock", &st.st_mtim);
    error = store_main_recover(s, &id, "open: main's move lost by a crash of the machine", diag);

cleanup:
    free(buf);
    return error;
}

/*
 * Finishes a work-tree update that a commit left unfinished (the journal exists): puts the
 * journal's paths in the work tree and index to the store's head. AT_OPEN: the store was just
 * opened, so a journal whose writer is no longer running was left by a crash, and the lock
 * files that writer made after the journal are removed.
 */
int store_journal_finish(struct engine_store *s, int at_open, const char *op,
                         struct engine_diag *diag)
{
    char path[PATH_MAX], *text = NULL, **paths = NULL, *line, *end;
    size_t n = 0, nw = 0, cap = 0;
    git_tree *tree = NULL;
    struct stat st;
    long pid;
    int fd = -1, error, content, moved;
    ssize_t len, all;
    void *arg[2] = {s, diag};

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
    if (len == 0 || text[0] == STORE_JOURNAL_DONE)
        goto cleanup; /* finished (an empty journal is an older store's): nothing pending */
    /* Without its end line the journal was cut short: the commit never got past it, the ref
     * and the work tree are untouched. */
    all = len;
    if ((len = (ssize_t)store_journal_text_len(text, (size_t)len)) == 0 ||
        sscanf(text, "pid %ld\n", &pid) != 1) {
        error = store_journal_remove(s, diag);
        goto cleanup;
    }
    content = store_journal_crashed(text);
    moved = store_journal_main_at(text, (size_t)len) < (size_t)len;
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
        if (ENGINE_GROW(&paths, &cap, n + 1) < 0) {
            error = store_err(diag, s->dir, -ENOMEM, "%s: out of memory", op);
            goto cleanup;
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
    if (n > 0 && (error = store_commit_tree(&tree, s, &s->head, op, diag)) < 0)
        goto cleanup;
    /* The paths already finished are left as they are (the mark of a finished journal is not
     * synced). */
    if (n > 0) {
        git_index *ix = NULL;
        char ipath[PATH_MAX];
        size_t k = 0, kw = 0;
        /* The index on disk, not the repository's copy in memory, which holds the entries of
         * an index write that failed. */
        if ((size_t)snprintf(ipath, sizeof(ipath), "%sindex", git_repository_path(s->repo)) >=
                sizeof(ipath) ||
            git_index_open(&ix, ipath) < 0) {
            git_index_free(ix);
            ix = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            if (store_path_finished(s, ix, tree, paths[i], content && i < nw))
                continue;
            kw += i < nw;
            paths[k++] = paths[i];
        }
        git_index_free(ix);
        n = k;
        nw = kw;
    }
    if (n > 0 && (error = store_finish_paths(s, tree, paths, nw, paths + nw, n - nw, op, diag)) < 0)
        goto cleanup;
    /* The commits it carries and main's move, never synced when their writer died: durable
     * before the journal lets them go. */
    if ((error = store_journal_objects(text, (size_t)all, (size_t)len, store_journal_sync_one,
                                       arg)) < 0 ||
        (moved && (error = store_main_sync(s)) < 0)) {
        error = store_err(diag, s->dir, error, "%s: syncing main and its commits: %s", op,
                          strerror(-error));
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
