/* fs_watch.c — notices changes made in the store from outside (inotify) and hands them to
 * fs_apply_external(). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fs_watch.h"

/* A burst of file events (git writes several files) is handled once it has been quiet this
 * long, or at the latest after FS_WATCH_MAX_MS; with no event at all, the store is looked at
 * every FS_WATCH_IDLE_MS anyway (a directory created after the start has no watch yet). */
#define FS_WATCH_QUIET_MS 40
#define FS_WATCH_MAX_MS   400
#define FS_WATCH_IDLE_MS  5000
/* Within a burst, the events are read at most this often: a commit writes several files, and
 * the mount's own commits (every write) came as several wake-ups each, all for nothing. */
#define FS_WATCH_COALESCE_MS 10

#define FS_WATCH_MASK                                                                              \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB)

/* The directories watched, relative to the store. */
static const char *const fs_watch_dirs[FS_WATCH_DIRS] = {"",           "state", "policy",
                                                         FS_RULES_DIR, ".git",  ".git/refs/heads"};

static void fs_watch_add(struct fs_ctx *c)
{
    char path[4096];

    for (int i = 0; i < FS_WATCH_DIRS; i++) {
        snprintf(path, sizeof(path), "%s/%s", c->store_dir, fs_watch_dirs[i]);
        c->watch_wd[i] = inotify_add_watch(c->watch_fd, path, FS_WATCH_MASK | IN_ONLYDIR);
    }
}

/* Adds EV to burst B, once: its directory and name, or the burst explains nothing (an event
 * lost, of a directory no longer watched, of a directory itself, or too many names). */
static void fs_watch_note(const struct fs_ctx *c, struct fs_watch_burst *b,
                          const struct inotify_event *ev)
{
    const char *dir = NULL;

    for (int i = 0; i < FS_WATCH_DIRS; i++)
        if (c->watch_wd[i] >= 0 && c->watch_wd[i] == ev->wd)
            dir = fs_watch_dirs[i];
    if (dir == NULL || ev->len == 0 || (ev->mask & (IN_Q_OVERFLOW | IN_ISDIR)) ||
        strlen(ev->name) >= sizeof(b->ev[0].name)) {
        b->overflow = 1;
        return;
    }
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->ev[i].dir, dir) == 0 && strcmp(b->ev[i].name, ev->name) == 0)
            return;
    if (b->n == FS_WATCH_BURST_MAX) {
        b->overflow = 1;
        return;
    }
    b->ev[b->n].dir = dir;
    strcpy(b->ev[b->n++].name, ev->name);
}

/* Does this event say something the mount must look at? Lock files come and go during
 * every git operation; the rename that ends one is what counts. */
static int fs_watch_relevant(const struct inotify_event *ev)
{
    size_t n;

    if (ev->len == 0)
        return 1;
    n = strlen(ev->name);
    if (n > 5 && strcmp(ev->name + n - 5, ".lock") == 0)
        return 0;
    return 1;
}

/* Reads every pending event, the relevant ones noted in B; returns 1 when one is relevant. */
static int fs_watch_drain(struct fs_ctx *c, struct fs_watch_burst *b)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int relevant = 0;
    ssize_t n;

    while ((n = read(c->watch_fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (fs_watch_relevant(ev)) {
                relevant = 1;
                fs_watch_note(c, b, ev);
            }
            p += sizeof(*ev) + ev->len;
        }
    }
    return relevant;
}

static void *fs_watch_main(void *arg)
{
    struct fs_ctx *c = arg;
    struct pollfd pf[2] = {{.fd = c->stop_fd, .events = POLLIN},
                           {.fd = c->watch_fd, .events = POLLIN}};
    int64_t first = 0; /* when the pending burst began, 0 when none */
    struct fs_watch_burst burst = {0};

    for (;;) {
        int timeout = FS_WATCH_IDLE_MS;
        /* An edit the operator has staged is looked at again when its grace ends. */
        int64_t due = __atomic_load_n(&c->staged_due, __ATOMIC_RELAXED), wait = due - fs_now_ms();
        if (due != 0 && wait < timeout)
            timeout = wait < 0 ? 0 : (int)wait;
        if (first != 0) {
            int64_t left = first + FS_WATCH_MAX_MS - fs_now_ms();
            timeout = left < FS_WATCH_QUIET_MS ? (left < 0 ? 0 : (int)left) : FS_WATCH_QUIET_MS;
        }
        int n = poll(pf, 2, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[0].revents & POLLIN)
            break;
        if (n > 0 && (pf[1].revents & POLLIN)) {
            if (fs_watch_drain(c, &burst) && first == 0)
                first = fs_now_ms();
            if (first == 0 || fs_now_ms() - first < FS_WATCH_MAX_MS) {
                poll(pf, 1, FS_WATCH_COALESCE_MS); /* the rest of the burst queues; stop wakes */
                continue;
            }
        }
        /* Quiet now (or the burst has lasted long enough, or the idle period ended, or a
         * grace). */
        fs_watch_add(c);
        fs_apply_external(c, first != 0 ? &burst : NULL);
        first = 0;
        burst = (struct fs_watch_burst){0};
    }
    return NULL;
}

int fs_watch_start(struct fs_ctx *c, struct engine_diag *diag)
{
    int rc;

    for (int i = 0; i < FS_WATCH_DIRS; i++)
        c->watch_wd[i] = -1;
    c->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    c->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (c->watch_fd < 0 || c->stop_fd < 0) {
        rc = -errno;
        engine_diag_add(diag, c->store_dir, 0, 0, "inotify: %s", strerror(errno));
        goto fail;
    }
    fs_watch_add(c);
    if ((rc = pthread_create(&c->watcher, NULL, fs_watch_main, c)) != 0) {
        engine_diag_add(diag, c->store_dir, 0, 0, "cannot start the watcher: %s", strerror(rc));
        rc = -rc;
        goto fail;
    }
    c->watcher_running = 1;
    return 0;
fail:
    if (c->watch_fd >= 0)
        close(c->watch_fd);
    if (c->stop_fd >= 0)
        close(c->stop_fd);
    c->watch_fd = c->stop_fd = -1;
    return rc;
}

void fs_watch_stop(struct fs_ctx *c)
{
    uint64_t one = 1;

    if (!c->watcher_running)
        return;
    if (write(c->stop_fd, &one, sizeof(one)) < 0)
        engine_log("warning", "cannot stop the store watcher: %s", strerror(errno));
    pthread_join(c->watcher, NULL);
    c->watcher_running = 0;
    close(c->watch_fd);
    close(c->stop_fd);
    c->watch_fd = c->stop_fd = -1;
}
