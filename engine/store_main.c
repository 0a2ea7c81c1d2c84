/* store_main.c — main moved by a level write without syncing the ref: the journal, synced,
 * names the new commit instead (store_journal.c), the syncer makes the ref durable later
 * (store_defer.c), and a recovery after a crash of the machine moves main to the journal's
 * commit when the disk lost the move. git's lock-file protocol as libgit2 follows it: the ref
 * is written to refs/heads/main.lock, made exclusively, and renamed over the ref, so that git
 * and libgit2 elsewhere see either the old main or the new one. The lock file is the ref's file
 * of the move before, when the store kept it (store_main_spare()): a file created and one freed
 * per move cost ext4 more than the rest of the move. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

/* The ref's file inside the git directory. */
#define STORE_MAIN_FILE ENGINE_STORE_BRANCH

static int store_main_path(char *buf, size_t size, const struct engine_store *s, const char *rel)
{
    if ((size_t)snprintf(buf, size, "%s%s", git_repository_path(s->repo), rel) >= size)
        return -ENAMETOOLONG;
    return 0;
}

int store_main_lazy_ok(struct engine_store *s)
{
    char path[PATH_MAX];
    git_config *cfg = NULL;
    struct stat st;
    int log = 1;

    /* A loose ref, a plain file (packed, linked or missing: libgit2 moves it); no reflog to
     * append to (the store turns it off; an operator may turn it on: libgit2 then writes it). */
    if (store_main_path(path, sizeof(path), s, STORE_MAIN_FILE) < 0 || lstat(path, &st) < 0 ||
        !S_ISREG(st.st_mode) ||
        store_main_path(path, sizeof(path), s, "logs/" STORE_MAIN_FILE) < 0 ||
        lstat(path, &st) == 0 || errno != ENOENT)
        return 0;
    /* The repository's live configuration, not a snapshot: a snapshot copies every entry of
     * every level on each call, where a lookup only stats the files to see whether one
     * changed (and reads it again then). */
    if (git_repository_config(&cfg, s->repo) < 0)
        return 0;
    if (git_config_get_bool(&log, cfg, "core.logAllRefUpdates") == GIT_ENOTFOUND)
        log = 1; /* git's default for a repository with a work tree */
    git_config_free(cfg);
    return !log;
}

/* 0 when the ref file PATH holds exactly FROM (hex and a newline), else -EAGAIN. */
static int store_main_holds(const char *path, const git_oid *from)
{
    char want[GIT_OID_HEXSZ + 2], got[GIT_OID_HEXSZ + 3];
    ssize_t n;
    int fd;

    git_oid_fmt(want, from);
    want[GIT_OID_HEXSZ] = '\n';
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -EAGAIN;
    n = read(fd, got, sizeof(got));
    close(fd);
    return n == GIT_OID_HEXSZ + 1 && memcmp(got, want, GIT_OID_HEXSZ + 1) == 0 ? 0 : -EAGAIN;
}

int engine_store_own_file(const char *name)
{
    return strcmp(name, STORE_JOURNAL) == 0 || strcmp(name, STORE_MAIN_SPARE) == 0;
}

/*
 * Takes main's lock LOCK by renaming the spare SPARE to it, as exclusively as git's O_EXCL
 * creation (RENAME_NOREPLACE), when the spare holds main's value before FROM: main has not
 * moved since the store moved it to FROM (so that, after a crash of the machine that lost this
 * move's write, main's file holds FROM's ancestor, which the recovery moves forward, or nothing
 * readable). Returns the open lock (*SIZE its length), -1 when there is no spare to take (the
 * caller creates the lock), -2 when the lock is held.
 */
static int store_main_take_spare(struct engine_store *s, const git_oid *from, const char *spare,
                                 const char *lock, off_t *size)
{
    struct stat st;
    int fd;

    if (!s->spare_ok || from == NULL || !git_oid_equal(&s->spare_of, from))
        return -1;
    s->spare_ok = 0;
    if (renameat2(AT_FDCWD, spare, AT_FDCWD, lock, RENAME_NOREPLACE) < 0)
        return errno == EEXIST ? -2 : -1;
    /* Written only when it is a plain file of no other name (never main's own). */
    if ((fd = open(lock, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_nlink == 1) {
        *size = st.st_size;
        return fd;
    }
    if (fd >= 0)
        close(fd);
    unlink(lock);
    return -1;
}

int store_main_move(struct engine_store *s, const git_oid *from, const git_oid *to, const char *op,
                    struct engine_diag *diag)
{
    char ref[PATH_MAX], lock[PATH_MAX], spare[PATH_MAX], line[GIT_OID_HEXSZ + 1];
    off_t size = 0;
    int fd, error = 0, kept = 0;

    if (store_main_path(ref, sizeof(ref), s, STORE_MAIN_FILE) < 0 ||
        store_main_path(lock, sizeof(lock), s, STORE_MAIN_FILE ".lock") < 0 ||
        store_main_path(spare, sizeof(spare), s, STORE_MAIN_SPARE) < 0)
        return store_err(diag, s->dir, -ENAMETOOLONG, "%s: git directory path too long", op);
    if ((fd = store_main_take_spare(s, from, spare, lock, &size)) == -2)
        errno = EEXIST;
    else if (fd < 0)
        fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return store_err(diag, s->dir, errno == EEXIST ? -EAGAIN : -errno, "%s: cannot lock %s: %s",
                         op, ref, strerror(errno));
    if (size > 0)
        engine_fault(ENGINE_FAULT_MAIN_LOCK); /* tests: killed with the spare's old lock taken */
    git_oid_fmt(line, to);
    line[GIT_OID_HEXSZ] = '\n';
    /* Compare-and-swap under the lock, as libgit2's move does: only from FROM. */
    if (from != NULL && (error = store_main_holds(ref, from)) < 0)
        store_err(diag, s->dir, error, "%s: main moved outside the store", op);
    else if (pwrite(fd, line, sizeof(line), 0) != (ssize_t)sizeof(line) ||
             (size > (off_t)sizeof(line) && ftruncate(fd, sizeof(line)) < 0))
        error = store_err(diag, s->dir, errno ? -errno : -EIO, "%s: writing %s: %s", op, lock,
                          strerror(errno ? errno : EIO));
    if (close(fd) < 0 && error == 0)
        error = store_err(diag, s->dir, -errno, "%s: writing %s: %s", op, lock, strerror(errno));
    /* The file holding FROM kept as the next move's lock (a spare left by an earlier run
     * replaced). */
    if (error == 0 && from != NULL) {
        unlink(spare);
        kept = link(ref, spare) == 0;
    }
    if (error == 0 && rename(lock, ref) < 0)
        error = store_err(diag, s->dir, -errno, "%s: moving %s: %s", op, ref, strerror(errno));
    if (error < 0) {
        unlink(lock);
        if (kept)
            unlink(spare);
    } else if (kept) {
        git_oid_cpy(&s->spare_of, to);
        s->spare_ok = 1;
    }
    return error;
}

int store_main_sync(const struct engine_store *s)
{
    int error = store_fsync_git(s, STORE_MAIN_FILE);

    return error < 0 ? error : store_fsync_git(s, "refs/heads");
}

int store_main_sync_add(struct store_sync *b, const struct engine_store *s)
{
    const char *git = git_repository_path(s->repo);
    int error = store_sync_add(b, "%s%s", git, STORE_MAIN_FILE);

    return error < 0 ? error : store_sync_add(b, "%srefs/heads", git);
}

int store_main_recover(struct engine_store *s, const git_oid *to, const char *op,
                       struct engine_diag *diag)
{
    git_reference *ref = NULL;
    git_odb *odb = NULL;
    git_oid now;
    int error, found, readable;

    /* Only to a commit the disk holds, and only forward: a main that moved on from it since
     * (an outside commit on top) or elsewhere is left as it is. An unreadable main (the ref's
     * new content lost with its sync) is TO. */
    if ((error = git_repository_odb(&odb, s->repo)) < 0)
        return store_git_err(diag, s->dir, error, op);
    found = git_odb_exists(odb, to);
    git_odb_free(odb);
    readable = git_reference_name_to_id(&now, s->repo, ENGINE_STORE_BRANCH) == 0;
    if (!found ||
        (readable && (git_oid_equal(&now, to) || git_graph_descendant_of(s->repo, to, &now) != 1)))
        return 0;
    /* libgit2 does not replace a ref file it cannot read: the store's own move does. */
    if (!readable)
        return (error = store_main_move(s, NULL, to, op, diag)) < 0 ? error
               : (error = store_main_sync(s)) < 0
                   ? store_err(diag, s->dir, error, "%s: syncing main: %s", op, strerror(-error))
                   : 0;
    error = git_reference_create_matching(&ref, s->repo, ENGINE_STORE_BRANCH, to, 1, &now,
                                          "main recovered from the journal");
    git_reference_free(ref);
    return error < 0 ? store_git_err(diag, s->dir, error, op) : 0;
}
