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

/* How often git's housekeeping may run on the store and a file:// remote (fs_remote_gc()). */
#define FS_REMOTE_GC_MS 60000

static int64_t fs_remote_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Watches where a local remote's main moves: refs/heads/main, packed-refs. */
static void fs_remote_watch_add(struct fs_ctx *c)
{
    const char *dir = engine_store_remote_dir(c->remote);
    char path[4096];

    if (dir == NULL || c->remote_fd < 0)
        return;
    snprintf(path, sizeof(path), "%s/refs/heads", dir);
    inotify_add_watch(c->remote_fd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    inotify_add_watch(c->remote_fd, dir, IN_MOVED_TO | IN_ONLYDIR);
}

/* Reads every pending event; 1 when main or packed-refs moved. */
static int fs_remote_drain(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int moved = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len > 0 &&
                (strcmp(ev->name, "main") == 0 || strcmp(ev->name, "packed-refs") == 0))
                moved = 1;
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

static void *fs_remote_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct pollfd pf[3] = {{.fd = c->remote_stop, .events = POLLIN},
                           {.fd = c->remote_kick, .events = POLLIN},
                           {.fd = c->remote_fd, .events = POLLIN}};
    int64_t first = 0;               /* when the pending burst of ref events began, 0 when none */
    int64_t gc = fs_remote_now_ms(); /* when git's housekeeping last ran */
    int gc_warned = 0;

    for (;;) {
        int timeout = first != 0              ? FS_REMOTE_QUIET_MS
                      : c->fetch_interval > 0 ? c->fetch_interval * 1000
                                              : -1;
        int n = poll(pf, 3, timeout), look = n == 0;
        uint64_t v;

        if (n < 0 && errno == EINTR)
            continue; /* SIGUSR1: its handler made the kick readable */
        if (n < 0 || (pf[0].revents & POLLIN))
            break;
        if (n > 0 && (pf[1].revents & POLLIN) && read(c->remote_kick, &v, sizeof(v)) > 0)
            look = 1;
        if (n > 0 && (pf[2].revents & POLLIN) && fs_remote_drain(c->remote_fd)) {
            if (first == 0)
                first = fs_remote_now_ms();
            if (fs_remote_now_ms() - first < FS_REMOTE_MAX_MS)
                continue;
            look = 1;
        }
        if (!look)
            continue;
        first = 0;
        fs_remote_watch_add(c); /* the repository may have come back */
        fs_apply_remote(c);
        if (fs_remote_now_ms() - gc >= FS_REMOTE_GC_MS) {
            fs_remote_gc(c, &gc_warned);
            gc = fs_remote_now_ms();
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
    if (engine_store_remote_dir(c->remote) != NULL &&
        (c->remote_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0)
        fs_remote_watch_add(c);
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
