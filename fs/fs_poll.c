/*
 * fs_poll.c — poll(2), select(2) and epoll on the files that grow (events, events.json,
 * errors, a node's console and access_log). Such a file is ready to read when it holds bytes
 * its handle has not read yet: its size differs from where the handle's last read ended (a
 * log that rotated shrinks: the reader is woken and finds out with fstat; once it has read
 * at its old offset and got nothing, it waits for the file to grow past its new end). Otherwise the
 * kernel's poll handle is kept until the file grows, then libfuse tells the kernel
 * (fuse_notify_poll), which polls again. The memory logs say when they grow (fs_live_touched());
 * the nodes' logs are written by the supervisor, so their directories are watched with inotify, and
 * only while someone waits on one of them.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_fuse.h"

/* One wait: a poll of handle H that found nothing new. */
struct fs_poller {
    struct fs_poller *next;
    const struct fs_handle *h;
    enum fs_live live;
    char node[FS_NAME_MAX + 1]; /* "" for the mount's own logs */
    struct fuse_pollhandle *ph;
};

/* A watched log directory of a node. */
struct fs_poll_dir {
    int wd;
    char node[FS_NAME_MAX + 1];
};

struct fs_poll {
    pthread_mutex_t mu;
    struct fs_poller *waiting; /* mu */
    struct fs_poll_dir *dirs;  /* mu: the nodes whose logs someone waits on */
    size_t ndirs, capdirs;
    int ino_fd;  /* inotify of those directories; -1 until the first */
    int stop_fd; /* ends the thread that reads ino_fd */
    pthread_t thread;
    int running;
};

#define FS_POLL_DISK (1u << FS_LIVE_CONSOLE | 1u << FS_LIVE_ACCESS)

int fs_poll_start(struct fs_ctx *c)
{
    struct fs_poll *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    p->ino_fd = p->stop_fd = -1;
    c->poll = p;
    return 0;
}

/* mu held. The watch of NODE's directory, or NULL. */
static struct fs_poll_dir *fs_poll_dir_find(struct fs_poll *p, const char *node, int wd)
{
    for (size_t i = 0; i < p->ndirs; i++)
        if (node != NULL ? strcmp(p->dirs[i].node, node) == 0 : p->dirs[i].wd == wd)
            return &p->dirs[i];
    return NULL;
}

/* mu held. Does anyone still wait on NODE's logs? */
static int fs_poll_dir_wanted(struct fs_poll *p, const char *node)
{
    for (struct fs_poller *q = p->waiting; q != NULL; q = q->next)
        if ((FS_POLL_DISK >> q->live & 1) && strcmp(q->node, node) == 0)
            return 1;
    return 0;
}

/* The watching thread: each change in a watched directory wakes the waiters of that node's
 * log of the file's name (console, console.1, access, ...). */
static void *fs_poll_thread(void *arg)
{
    struct fs_ctx *c = arg;
    struct fs_poll *p = c->poll;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    struct pollfd pf[2] = {{.fd = p->ino_fd, .events = POLLIN},
                           {.fd = p->stop_fd, .events = POLLIN}};

    for (;;) {
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        if (pf[1].revents)
            break;
        ssize_t n = read(p->ino_fd, buf, sizeof(buf));
        for (ssize_t off = 0; n > 0 && off < n;) {
            const struct inotify_event *ev = (const void *)(buf + off);
            char node[FS_NAME_MAX + 1] = "";
            off += (ssize_t)(sizeof(*ev) + ev->len);
            pthread_mutex_lock(&p->mu);
            struct fs_poll_dir *d = fs_poll_dir_find(p, NULL, ev->wd);
            if (d != NULL)
                memcpy(node, d->node, sizeof(node));
            pthread_mutex_unlock(&p->mu);
            if (node[0] == '\0' || ev->len == 0)
                continue;
            unsigned live = strncmp(ev->name, "console", 7) == 0  ? 1u << FS_LIVE_CONSOLE
                            : strncmp(ev->name, "access", 6) == 0 ? 1u << FS_LIVE_ACCESS
                                                                  : 0;
            if (live)
                fs_poll_wake(c, live, node);
        }
    }
    return NULL;
}

/* mu held. Watches NODE's log directory (made if missing, as the supervisor makes it: mode
 * 0700), starting the thread at the first. 0 or a negative errno (the waiter is then woken at
 * once, and polls as if the file had no poll support). */
static int fs_poll_watch(struct fs_ctx *c, struct fs_poll *p, const char *node)
{
    char dir[PATH_MAX];
    int wd;

    if (fs_poll_dir_find(p, node, -1) != NULL)
        return 0;
    if (c->log_dir == NULL || strchr(node, '/') != NULL || strcmp(node, ".") == 0 ||
        strcmp(node, "..") == 0)
        return -ENOENT;
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->log_dir, node) >= sizeof(dir))
        return -ENAMETOOLONG;
    if ((mkdir(c->log_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return -errno;
    if (p->ino_fd < 0) {
        if ((p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
            (p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
            int e = -errno;
            if (p->ino_fd >= 0)
                close(p->ino_fd);
            p->ino_fd = -1;
            return e;
        }
    }
    if (!p->running) {
        if (pthread_create(&p->thread, NULL, fs_poll_thread, c) != 0)
            return -EAGAIN;
        p->running = 1;
    }
    if (ENGINE_GROW(&p->dirs, &p->capdirs, p->ndirs + 1) < 0)
        return -ENOMEM;
    if ((wd = inotify_add_watch(p->ino_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO)) < 0)
        return -errno;
    p->dirs[p->ndirs].wd = wd;
    snprintf(p->dirs[p->ndirs].node, sizeof(p->dirs[p->ndirs].node), "%s", node);
    p->ndirs++;
    return 0;
}

/* mu held. Takes H's wait out of the list: its poll handle, or NULL when there is none. */
static struct fuse_pollhandle *fs_poll_take(struct fs_poll *p, const struct fs_handle *h)
{
    for (struct fs_poller **q = &p->waiting; *q != NULL; q = &(*q)->next)
        if ((*q)->h == h) {
            struct fs_poller *x = *q;
            struct fuse_pollhandle *ph = x->ph;
            *q = x->next;
            free(x);
            return ph;
        }
    return NULL;
}

/* mu held. Stops watching the directories nobody waits on any more. */
static void fs_poll_unwatch(struct fs_poll *p)
{
    for (size_t i = 0; i < p->ndirs;)
        if (!fs_poll_dir_wanted(p, p->dirs[i].node)) {
            inotify_rm_watch(p->ino_fd, p->dirs[i].wd);
            p->dirs[i] = p->dirs[--p->ndirs];
        } else {
            i++;
        }
}

void fs_poll_wake(struct fs_ctx *c, unsigned lives, const char *node)
{
    struct fs_poll *p = c->poll;
    struct fs_poller *woken = NULL;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    for (struct fs_poller **q = &p->waiting; *q != NULL;) {
        struct fs_poller *x = *q;
        if ((lives >> x->live & 1) && strcmp(x->node, node != NULL ? node : "") == 0) {
            *q = x->next;
            x->next = woken;
            woken = x;
        } else {
            q = &x->next;
        }
    }
    if (woken != NULL && (lives & FS_POLL_DISK))
        fs_poll_unwatch(p);
    pthread_mutex_unlock(&p->mu);
    while (woken != NULL) {
        struct fs_poller *x = woken;
        woken = x->next;
        fuse_notify_poll(x->ph);
        fuse_pollhandle_destroy(x->ph);
        free(x);
    }
}

void fs_poll_forget(struct fs_ctx *c, const struct fs_handle *h)
{
    struct fs_poll *p = c->poll;
    struct fuse_pollhandle *ph;

    if (p == NULL || h == NULL || h->kind != FS_H_LIVE)
        return;
    pthread_mutex_lock(&p->mu);
    ph = fs_poll_take(p, h);
    if (ph != NULL)
        fs_poll_unwatch(p);
    pthread_mutex_unlock(&p->mu);
    if (ph != NULL)
        fuse_pollhandle_destroy(ph);
}

/* Does H's file hold bytes H has not read? */
static int fs_poll_ready(struct fs_ctx *c, const struct fs_handle *h)
{
    struct timespec mt = {0};
    size_t size;

    fs_live_stat(c, &h->w, &size, &mt);
    return size != __atomic_load_n(&h->seen, __ATOMIC_ACQUIRE);
}

void fs_poll_read(struct fs_ctx *c, struct fs_handle *h, off_t off, int n)
{
    size_t end = (size_t)off + (size_t)n;

    if (n < 0 || off < 0)
        return;
    if (n == 0) {
        /* At the end, or past it after the file shrank (a rotation): new is what comes past
         * the end as it is now, so that a reader still at its old offset does not spin. */
        struct timespec mt = {0};
        size_t size;
        fs_live_stat(c, &h->w, &size, &mt);
        if (size < end)
            end = size;
    }
    __atomic_store_n(&h->seen, end, __ATOMIC_RELEASE);
}

int fs_op_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
               unsigned *reventsp)
{
    struct fs_ctx *c = fs_ctx_get();
    struct fs_handle *h = fs_fh(fi);
    struct fs_poll *p = c->poll;
    struct fuse_pollhandle *old = NULL;
    struct fs_poller *x = NULL;
    int ready;

    (void)path;
    /* Every other file is always ready, as on a file system without poll. */
    *reventsp = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
    if (h == NULL || h->kind != FS_H_LIVE || p == NULL || ph == NULL) {
        if (h != NULL && h->kind == FS_H_LIVE && !fs_poll_ready(c, h))
            *reventsp = 0;
        if (ph != NULL)
            fuse_pollhandle_destroy(ph);
        return 0;
    }
    /* Kept before looking, so that a growth between the look and the wait is not missed. */
    if ((x = calloc(1, sizeof(*x))) != NULL) {
        x->h = h;
        x->live = h->w.e->live;
        x->ph = ph;
        if (FS_POLL_DISK >> x->live & 1)
            snprintf(x->node, sizeof(x->node), "%s", h->w.node);
    }
    pthread_mutex_lock(&p->mu);
    old = fs_poll_take(p, h); /* a poll replaces the handle's previous wait */
    if (x != NULL && (!(FS_POLL_DISK >> x->live & 1) || fs_poll_watch(c, p, x->node) == 0)) {
        x->next = p->waiting;
        p->waiting = x;
        x = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (old != NULL)
        fuse_pollhandle_destroy(old);
    if (x != NULL) {
        /* Cannot wait (out of memory, no watch): ready, as without poll support. */
        fuse_pollhandle_destroy(ph);
        free(x);
        return 0;
    }
    ready = fs_poll_ready(c, h);
    if (ready) {
        pthread_mutex_lock(&p->mu);
        struct fuse_pollhandle *mine = fs_poll_take(p, h);
        pthread_mutex_unlock(&p->mu);
        if (mine != NULL)
            fuse_pollhandle_destroy(mine);
        *reventsp = POLLIN | POLLRDNORM;
    } else {
        *reventsp = 0;
    }
    return 0;
}

void fs_poll_stop(struct fs_ctx *c)
{
    struct fs_poll *p = c->poll;

    if (p == NULL)
        return;
    if (p->running) {
        uint64_t one = 1;
        if (write(p->stop_fd, &one, sizeof(one)) < 0)
            engine_log("warning", "cannot stop the poll watcher: %s", strerror(errno));
        pthread_join(p->thread, NULL);
    }
    c->poll = NULL;
    /* The session has ended: the kernel has woken every waiter (POLLERR). */
    while (p->waiting != NULL) {
        struct fs_poller *x = p->waiting;
        p->waiting = x->next;
        fuse_pollhandle_destroy(x->ph);
        free(x);
    }
    if (p->ino_fd >= 0)
        close(p->ino_fd);
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    free(p->dirs);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
