/* fs_remote_watch.c — when to look at the remote (-o remote=URL): at once when a file://
 * remote's main moves (inotify), on SIGUSR1, and every fetch_interval seconds; the look is
 * fs_apply_remote(). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "fs_int.h"
#include "fs_remote.h"

/* A file:// remote's ref moves in a burst (lock, rename, reflog): looked at once it has been
 * quiet this long. */
#define FS_REMOTE_QUIET_MS 10
/* ... or at the latest this long after it began (pushes back to back never go quiet). */
#define FS_REMOTE_MAX_MS 100

/* The hosts' records of one change come in a burst: exchanged once they have been quiet this
 * long, at the latest this long after the first (the status of other hosts' nodes is not in a
 * hurry; each exchange is a fetch and a push, which at 10 hosts on 2 cores slowed the next
 * change's propagation 3-fold when made for every record). */
#define FS_REMOTE_RECORDS_QUIET_MS 1000
#define FS_REMOTE_RECORDS_MAX_MS   5000

/* How often git's housekeeping may run on the store and a file:// remote (fs_remote_gc()). */
#define FS_REMOTE_GC_MS 60000

/* Watches where a local remote's main moves (refs/heads/main, packed-refs) and where the hosts'
 * records land; returns the records directory's watch, -1 when none (not made yet). */
static int fs_remote_watch_add(struct fs_ctx *c)
{
    const char *dir = engine_store_remote_dir(c->remote);
    char path[4096];

    if (dir == NULL || c->remote_fd < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/refs/heads", dir);
    inotify_add_watch(c->remote_fd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    inotify_add_watch(c->remote_fd, dir, IN_MOVED_TO | IN_ONLYDIR);
    snprintf(path, sizeof(path), "%s/%.*s", dir, (int)strlen(ENGINE_STORE_DEPLOYED_PREFIX) - 1,
             ENGINE_STORE_DEPLOYED_PREFIX);
    /* libgit2 makes a new ref by link(2) of its lock file (IN_CREATE), moves it by rename(2) */
    return inotify_add_watch(c->remote_fd, path, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
}

/* What a look does: fetch main; exchange records; MOVED: a file:// remote's main moved, which
 * is fetched unless it is our own push (fs_remote_ours()). */
enum { FS_REMOTE_MAIN = 1, FS_REMOTE_RECORDS = 2, FS_REMOTE_MOVED = 4 };

/* A file:// remote's main is the store's: the move seen was this daemon's own push, and a
 * fetch (which would hold the next write) has nothing to bring. */
static int fs_remote_ours(struct fs_ctx *c)
{
    char theirs[41], ours[41];

    if (engine_store_remote_peek(c->remote, ENGINE_STORE_BRANCH, theirs) < 0)
        return 0;
    engine_store_head(c->store, ours, NULL);
    return strcmp(theirs, ours) == 0;
}

/* A ref's lock file (NAME.lock): a host's name never ends so. */
static int fs_remote_lock_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".lock") == 0;
}

/* fs_remote_watch_add() again (the repository may have come back, or its records' directory
 * been made): FS_REMOTE_RECORDS when the records' directory is watched from now on, for a look
 * at what landed there before. */
static int fs_remote_rewatch(struct fs_ctx *c, int *records)
{
    int was = *records;

    *records = fs_remote_watch_add(c);
    return was < 0 && *records >= 0 ? FS_REMOTE_RECORDS : 0;
}

/* Reads every pending event: FS_REMOTE_MAIN when main or packed-refs moved, FS_REMOTE_RECORDS
 * when another host's records did (in RECORDS, the records directory's watch). */
static int fs_remote_drain(const struct fs_ctx *c, int records)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int moved = 0;
    ssize_t n;

    while ((n = read(c->remote_fd, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len == 0)
                ;
            else if (ev->wd == records)
                moved |= strcmp(ev->name, fs_record_host(c)) != 0 && !fs_remote_lock_name(ev->name)
                             ? FS_REMOTE_RECORDS
                             : 0;
            else if (strcmp(ev->name, "main") == 0 || strcmp(ev->name, "packed-refs") == 0)
                moved |= FS_REMOTE_MAIN;
            p += sizeof(*ev) + ev->len;
        }
    return moved;
}

/* Runs `git gc --auto` (engine_store_gc()) on the store and on a file:// remote, outside every
 * lock of the mount: each fetch and each push through libgit2 adds a pack. Says once when
 * git cannot be run. */
static void fs_remote_gc(struct fs_ctx *c, int *warned)
{
    const char *local = engine_store_remote_dir(c->remote);
    char gitdir[4096];
    int rc;

    snprintf(gitdir, sizeof(gitdir), "%s/.git", c->store_dir);
    for (int i = 0; i < 2; i++) {
        struct engine_diag d = {0};
        if (i == 1 && local == NULL)
            break;
        if ((rc = engine_store_gc(i == 0 ? gitdir : local, &d)) < 0 && !*warned) {
            char *t = engine_diag_join(&d);
            engine_log("warning",
                       "packs that libgit2's fetches and pushes add are not packed together: "
                       "%s",
                       t != NULL ? t : strerror(-rc));
            free(t);
            *warned = 1;
        }
        engine_diag_free(&d);
    }
}

static int fs_remote_kick_fd = -1;

/* SIGUSR1: look at the remote now (a post-receive hook's notification). */
static void fs_on_usr1(int sig)
{
    uint64_t one = 1;
    int e = errno;

    (void)sig;
    if (fs_remote_kick_fd >= 0 && write(fs_remote_kick_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: a look is pending already */
    }
    errno = e;
}

/* When a pending exchange of records is due: RECORDS_QUIET_MS after the last record seen (the
 * hosts' records of one change come in a burst), at the latest RECORDS_MAX_MS after the first;
 * -1 when none is pending. */
static int64_t fs_remote_records_due(int64_t first, int64_t last)
{
    if (first == 0)
        return -1;
    return last + FS_REMOTE_RECORDS_QUIET_MS < first + FS_REMOTE_RECORDS_MAX_MS
               ? last + FS_REMOTE_RECORDS_QUIET_MS
               : first + FS_REMOTE_RECORDS_MAX_MS;
}

static void *fs_remote_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct pollfd pf[3] = {{.fd = c->remote_stop, .events = POLLIN},
                           {.fd = c->remote_kick, .events = POLLIN},
                           {.fd = c->remote_fd, .events = POLLIN}};
    int64_t first = 0; /* when the pending burst of ref events began, 0 when none */
    int64_t rec_first = 0, rec_last = 0; /* the pending records' first and last sign, or 0 */
    int64_t gc = fs_now_ms();            /* when git's housekeeping last ran */
    int gc_warned = 0, records_failed = 0;
    int records = -1;
    /* a host that comes back pushes what it recorded meanwhile */
    int look = FS_REMOTE_RECORDS | fs_remote_rewatch(c, &records);

    for (;;) {
        int64_t now = fs_now_ms(), due = fs_remote_records_due(rec_first, rec_last);
        int timeout = c->fetch_interval > 0 ? c->fetch_interval * 1000 : -1;
        if (first != 0 && (timeout < 0 || timeout > FS_REMOTE_QUIET_MS))
            timeout = FS_REMOTE_QUIET_MS;
        if (due >= 0 && (timeout < 0 || due - now < timeout))
            timeout = due > now ? (int)(due - now) : 0;
        if (look != 0)
            timeout = 0;                                /* the poll only collects what is pending */
        int quiet = look == 0 && first == 0 && due < 0; /* a timeout is fetch_interval's */
        int n = poll(pf, 3, timeout);
        uint64_t v;

        if (n < 0 && errno == EINTR)
            continue; /* SIGUSR1: its handler made the kick readable */
        if (n < 0 || (pf[0].revents & POLLIN))
            break;
        now = fs_now_ms();
        if (n == 0 && quiet)
            look |= FS_REMOTE_MAIN | FS_REMOTE_RECORDS;
        if (n == 0 && first != 0 && now - first >= FS_REMOTE_QUIET_MS)
            look |= FS_REMOTE_MOVED; /* the burst went quiet */
        if (n > 0 && (pf[1].revents & POLLIN) && read(c->remote_kick, &v, sizeof(v)) > 0) {
            if (v % FS_REMOTE_KICK_RECORDS != 0) /* SIGUSR1 */
                look |= FS_REMOTE_MAIN | FS_REMOTE_RECORDS;
            if (v / FS_REMOTE_KICK_RECORDS != 0) /* records of ours to push */
                rec_last = now;
        }
        if (n > 0 && (pf[2].revents & POLLIN)) {
            int moved = fs_remote_drain(c, records);
            if (moved & FS_REMOTE_RECORDS) /* another host's */
                rec_last = now;
            if ((moved & FS_REMOTE_MAIN) && first == 0)
                first = now;
            if (first != 0 && now - first >= FS_REMOTE_MAX_MS)
                look |= FS_REMOTE_MOVED;
        }
        if (rec_last != 0 && rec_first == 0)
            rec_first = rec_last;
        due = fs_remote_records_due(rec_first, rec_last);
        if (due >= 0 && now >= due)
            look |= FS_REMOTE_RECORDS;
        if (look == 0)
            continue;
        look |= fs_remote_rewatch(c, &records);
        if (look & (FS_REMOTE_MAIN | FS_REMOTE_MOVED))
            first = 0; /* the burst is looked at */
        if (look & FS_REMOTE_RECORDS)
            rec_first = rec_last = 0;
        if ((look & FS_REMOTE_MOVED) && !(look & FS_REMOTE_MAIN) && fs_remote_ours(c))
            look &= ~FS_REMOTE_MOVED;
        if (look & (FS_REMOTE_MAIN | FS_REMOTE_MOVED))
            fs_apply_remote(c);
        if (look & FS_REMOTE_RECORDS)
            fs_remote_records(c, &records_failed);
        look = fs_remote_rewatch(c, &records); /* our first push may have made it */
        if (fs_now_ms() - gc >= FS_REMOTE_GC_MS) {
            fs_remote_gc(c, &gc_warned);
            gc = fs_now_ms();
        }
    }
    return NULL;
}

int fs_remote_watch_start(struct fs_ctx *c, struct engine_diag *diag)
{
    struct sigaction sa = {.sa_handler = fs_on_usr1, .sa_flags = SA_RESTART};
    int rc;

    c->remote_stop = eventfd(0, EFD_CLOEXEC);
    c->remote_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->remote_stop < 0 || c->remote_kick < 0) {
        rc = -errno;
        engine_diag_add(diag, c->store_dir, 0, 0, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (engine_store_remote_dir(c->remote) != NULL)
        c->remote_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    fs_remote_kick_fd = c->remote_kick;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    if ((rc = pthread_create(&c->remote_watcher, NULL, fs_remote_main, c)) != 0) {
        engine_diag_add(diag, c->store_dir, 0, 0, "cannot start the remote's watcher: %s",
                        strerror(rc));
        rc = -rc;
        goto fail;
    }
    c->remote_running = 1;
    return 0;
fail:
    fs_remote_watch_stop(c);
    return rc;
}

void fs_remote_watch_stop(struct fs_ctx *c)
{
    uint64_t one = 1;

    if (c->remote_running) {
        if (write(c->remote_stop, &one, sizeof(one)) < 0)
            engine_log("warning", "cannot stop the remote's watcher: %s", strerror(errno));
        pthread_join(c->remote_watcher, NULL);
        c->remote_running = 0;
    }
    signal(SIGUSR1, SIG_IGN);
    fs_remote_kick_fd = -1;
    int *fds[] = {&c->remote_fd, &c->remote_kick, &c->remote_stop};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}
