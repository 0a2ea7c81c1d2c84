/*
 * fs_touch.c — each file's mtime, and telling inotify watchers that a file changed.
 *
 * The kernel makes inotify events only for calls made through the mount itself: a FUSE
 * server's invalidation notices make none (fuse_invalidate_path() tried on Linux 6.18). So a
 * child process of the daemon sets the mtime of each changed file through the mount
 * (utimensat(2), the atime left alone), which the kernel reports to watchers as IN_MODIFY;
 * fs_op_utimens() lets that process alone do so, and changes nothing (the time a file shows
 * is the one recorded here when the change was made).
 *
 * A process, not a thread: a thread of the daemon blocked in a call to its own mount could
 * keep the daemon from ending. The child runs the daemon's executable anew
 * (FS_TOUCH_ARGV0, fs.h), keeps nothing of the parent's but the socket it reads paths from
 * (one a line) as its standard input, and dies with the daemon (PR_SET_PDEATHSIG). The daemon never
 * waits for it: a path that does not fit in the socket's buffer is dropped (its time is recorded
 * all the same).
 *
 * What is touched (gathered for 100 ms: fs_touch_child()): a node's security_level when its level
 * changes, a property when its value in force changes, a store file (topology.yaml, policy/...,
 * policy/acl.d/NAME) when its text changes, a node's tls/ files, history at every commit, a
 * node's status and status.json when the orchestrator's view of it changes, events and errors
 * when they grow. Not the derived files (modules, pdp, acl, type, tosca/...): their time is the
 * latest of their sources' (fs_touch_file_mtime()), computed when asked, so a change costs no
 * walk over the nodes it does not touch. The times at the mount come from the history
 * (fs_times.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "fs_fuse.h"
#include "fs_int.h"
#include "fs_tls.h"

/* Files whose time is recorded at most (beyond, a file shows the mount's start time). */
#define FS_MTIMES_MAX 65536

struct fs_mtime {
    char *path; /* in the mount, without the leading '/' */
    struct timespec t;
};

/* The child gathers the paths that come within FS_TOUCH_GATHER_MS of the first, and touches
 * each once: a burst (a commit's files and its events; the steps of a swap) costs the daemon
 * one request per file, not per change. Each touch walks the path (a LOOKUP and a permission
 * check per component: the mount's timeouts are 0); a descriptor kept open instead would
 * keep `fusermount3 -u` from unmounting. */
#define FS_TOUCH_GATHER_MS 100
#define FS_TOUCH_BATCH     256

/* The child: touches the path of every line read from its stdin below ROOT until the daemon
 * closes the socket. */
static int fs_touch_child(const char *root)
{
    const struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_NOW}};
    static char batch[FS_TOUCH_BATCH][PATH_MAX];
    char buf[8192];
    size_t len = 0, rl = strlen(root), nb = 0;
    int64_t until = 0;

    if (rl + 2 >= PATH_MAX)
        return 1;
    for (;;) {
        struct pollfd pf = {.fd = 0, .events = POLLIN};
        int64_t wait = nb == 0 ? -1 : until - fs_now_ms();
        if (nb > 0 && (wait <= 0 || nb == FS_TOUCH_BATCH)) {
            for (size_t i = 0; i < nb; i++)
                utimensat(AT_FDCWD, batch[i], ts, AT_SYMLINK_NOFOLLOW); /* gone: no matter */
            nb = 0;
            continue;
        }
        if (poll(&pf, 1, (int)wait) == 0)
            continue;
        ssize_t n = read(0, buf + len, sizeof(buf) - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return 0;
        len += (size_t)n;
        size_t done = 0;
        for (char *nl; (nl = memchr(buf + done, '\n', len - done)) != NULL;) {
            size_t l = (size_t)(nl - (buf + done)), i = 0;
            if (rl + 1 + l < PATH_MAX && nb < FS_TOUCH_BATCH) {
                char *p = batch[nb];
                memcpy(p, root, rl);
                p[rl] = '/';
                memcpy(p + rl + 1, buf + done, l);
                p[rl + 1 + l] = '\0';
                while (i < nb && strcmp(batch[i], p) != 0)
                    i++;
                if (i == nb && nb++ == 0)
                    until = fs_now_ms() + FS_TOUCH_GATHER_MS;
            }
            done += l + 1;
        }
        if (done == 0 && len == sizeof(buf))
            done = len; /* a line longer than any path of the tree */
        memmove(buf, buf + done, len - done);
        len -= done;
    }
}

int fs_touch_main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] != '/')
        return 2;
    return fs_touch_child(argv[1]);
}

int fs_touch_start(struct fs_ctx *c, const char *root)
{
    int sv[2];
    pid_t parent = getpid(), pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if ((pid = fork()) < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || dup2(sv[1], 0) < 0)
            _exit(0);
        /* Nothing else of the daemon's: not the FUSE device, which would keep the session
         * open, nor the store. */
        close_range(3, ~0u, 0);
        signal(SIGHUP, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        /* A new program: the daemon's memory, which a fork shares copy-on-write, is let go
         * (kept, every first write of the daemon to a page would copy it: that doubled the
         * daemon's CPU per level write). */
        char *const av[] = {FS_TOUCH_ARGV0, (char *)root, NULL};
        execv("/proc/self/exe", av);
        _exit(127);
    }
    close(sv[1]);
    c->touch_fd = sv[0];
    c->touch_pid = pid;
    return 0;
}

void fs_touch_stop(struct fs_ctx *c)
{
    if (c->touch_fd >= 0)
        close(c->touch_fd);
    if (c->touch_pid > 0) {
        kill(c->touch_pid, SIGKILL);
        while (waitpid(c->touch_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    c->touch_fd = -1;
    c->touch_pid = 0;
    for (size_t i = 0; i < c->nmtimes; i++)
        free(c->mtimes[i].path);
    free(c->mtimes);
    c->mtimes = NULL;
    c->nmtimes = c->capmtimes = 0;
}

/* The index of PATH in the sorted table, or where it goes (*FOUND 0). Caller holds mu. */
static size_t fs_mtime_find(const struct fs_ctx *c, const char *path, int *found)
{
    size_t lo = 0, hi = c->nmtimes;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->mtimes[mid].path, path);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int fs_touch_mtime(struct fs_ctx *c, const char *path, struct timespec *t)
{
    int found;
    size_t i;

    if (path[0] == '/')
        path++;
    pthread_mutex_lock(&c->mu);
    i = fs_mtime_find(c, path, &found);
    if (found)
        *t = c->mtimes[i].t;
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* Records T as PATH's time (when KEEP, only if PATH has none yet). */
static void fs_mtime_record(struct fs_ctx *c, const char *path, const struct timespec *t, int keep)
{
    int found;

    pthread_mutex_lock(&c->mu);
    size_t i = fs_mtime_find(c, path, &found);
    if (found) {
        if (!keep)
            c->mtimes[i].t = *t;
    } else if (c->nmtimes < FS_MTIMES_MAX &&
               ENGINE_GROW(&c->mtimes, &c->capmtimes, c->nmtimes + 1) == 0) {
        char *p = strdup(path);
        if (p != NULL) {
            memmove(c->mtimes + i + 1, c->mtimes + i, (c->nmtimes - i) * sizeof(*c->mtimes));
            c->mtimes[i] = (struct fs_mtime){p, *t};
            c->nmtimes++;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

void fs_touch_seed(struct fs_ctx *c, const char *path, const struct timespec *t)
{
    fs_mtime_record(c, path, t, 1);
}

void fs_touch(struct fs_ctx *c, const char *path, const struct timespec *t)
{
    char line[PATH_MAX];
    size_t n = strlen(path);

    fs_mtime_record(c, path, t, 0);
    if (c->touch_fd < 0 || n + 1 > sizeof(line) || path[0] == '.')
        return; /* a source's time (FS_TOUCH_POLICY) names no file */
    memcpy(line, path, n);
    line[n] = '\n';
    /* One line in one send (a stream socket keeps them whole and in order); never waits. */
    send(c->touch_fd, line, n + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int fs_touch_by_toucher(struct fs_ctx *c)
{
    return c->touch_pid > 0 && fuse_get_context()->pid == c->touch_pid;
}

/* The properties whose value in force differs between OLD and S (an override set or removed,
 * or the topology's or an input's value changed): nodes/NODE/properties/NAME touched at T. */
static void fs_touch_properties(struct fs_ctx *c, const struct fs_snap *old,
                                const struct fs_snap *s, const struct timespec *t)
{
    char path[PATH_MAX];

    if (s->model == NULL || old->state == NULL || s->state == NULL)
        return;
    size_t nn = engine_topology_node_count(s->model->t);
    for (size_t i = 0; i < nn; i++) {
        const struct engine_topology_node *nd = engine_topology_node_at(s->model->t, i);
        for (size_t k = 0; k < nd->nprops; k++) {
            const char *a = engine_topology_state_property(old->state, nd->name, nd->props[k].name);
            const char *b = engine_topology_state_property(s->state, nd->name, nd->props[k].name);
            if ((a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0))
                continue;
            if ((size_t)snprintf(path, sizeof(path), "nodes/%s/properties/%s", nd->name,
                                 nd->props[k].name) < sizeof(path))
                fs_touch(c, path, t);
        }
    }
}

/* The rules files of policy/acl.d made, changed or removed between OLD and S, touched at T;
 * returns whether any was. Unchanged files are shared by the two snapshots. */
static int fs_touch_rules(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s,
                          const struct timespec *t)
{
    char path[PATH_MAX];
    size_t i = 0, j = 0;
    int any = 0;

    while (i < old->acld.n || j < s->acld.n) {
        const struct fs_rules *a = i < old->acld.n ? old->acld.v[i] : NULL;
        const struct fs_rules *b = j < s->acld.n ? s->acld.v[j] : NULL;
        int cmp = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->name, b->name);
        if (cmp == 0 && fs_rules_same(a, b)) {
            i++, j++;
            continue;
        }
        const struct fs_rules *x = cmp <= 0 ? a : b;
        if ((size_t)snprintf(path, sizeof(path), FS_RULES_DIR "/%s", x->name) < sizeof(path))
            fs_touch(c, path, t);
        any = 1;
        i += cmp <= 0;
        j += cmp >= 0;
    }
    return any;
}

/* The text of NODE's file F (0 cert, 1 key.fingerprint) in T, or NULL. */
static const struct fs_text *fs_touch_tls_file(const struct fs_tls *t, const char *node, int f)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (strcmp(t->v[i].node, node) == 0)
            return f ? &t->v[i].fingerprint : &t->v[i].cert;
    return NULL;
}

static int fs_touch_text_eq(const struct fs_text *a, const struct fs_text *b)
{
    size_t al = a != NULL && a->data != NULL ? a->len : 0,
           bl = b != NULL && b->data != NULL ? b->len : 0;
    return al == bl && (al == 0 || memcmp(a->data, b->data, al) == 0);
}

/* The nodes' TLS files that differ between OLD and S (shared while unchanged), touched at T:
 * cert, key.fingerprint, and key with the fingerprint. */
static void fs_touch_tls(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s,
                         const struct timespec *t)
{
    static const char *const names[] = {"cert", "key.fingerprint"};
    char path[PATH_MAX];

    if (old->tls == s->tls)
        return;
    for (int side = 0; side < 2; side++) {
        const struct fs_tls *a = side ? old->tls : s->tls, *b = side ? s->tls : old->tls;
        for (size_t i = 0; a != NULL && i < a->n; i++)
            for (int f = 0; f < 2; f++) {
                const char *node = a->v[i].node;
                if (fs_touch_text_eq(fs_touch_tls_file(a, node, f), fs_touch_tls_file(b, node, f)))
                    continue;
                snprintf(path, sizeof(path), "nodes/%s/tls/%s", node, names[f]);
                fs_touch(c, path, t);
                if (f == 1 &&
                    (size_t)snprintf(path, sizeof(path), "nodes/%s/tls/key", node) < sizeof(path))
                    fs_touch(c, path, t);
            }
    }
}

void fs_touch_installed(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s)
{
    char path[PATH_MAX];
    int policy = 0, values = 0;

    if (old == NULL || strcmp(old->head, s->head) == 0)
        return;
    fs_touch(c, "history", &s->since);
    for (int f = 0; f < FS_FILE_N; f++) {
        if (fs_snap_file_same(old, s, f) ||
            (old->file[f].len == 0 && s->file[f].len == 0)) /* absent and empty alike */
            continue;
        if (f == FS_FILE_TOPOLOGY || f >= FS_FILE_ACL)
            fs_touch(c, fs_file_path(f), &s->since);
        policy |= f >= FS_FILE_ACL && f <= FS_FILE_CREDENTIALS;
        values |= f == FS_FILE_TOPOLOGY || f == FS_FILE_PROPERTIES || f == FS_FILE_INPUTS;
        if (f != FS_FILE_LEVELS || s->model == NULL || old->state == NULL || s->state == NULL)
            continue;
        /* The nodes whose level changed: found by their level indexes when both states are of
         * one topology (a level write), else each node compared by name. */
        size_t nn = engine_topology_node_count(s->model->t);
        for (size_t i = engine_topology_state_level_next_change(old->state, s->state, 0); i < nn;
             i = engine_topology_state_level_next_change(old->state, s->state, i + 1)) {
            const char *name = engine_topology_node_at(s->model->t, i)->name;
            const char *la = engine_topology_state_level(old->state, name);
            const char *lb = engine_topology_state_level_at(s->state, i);
            if (la != NULL && lb != NULL && strcmp(la, lb) == 0)
                continue;
            if ((size_t)snprintf(path, sizeof(path), "nodes/%s/security_level", name) <
                sizeof(path))
                fs_touch(c, path, &s->since);
        }
    }
    policy |= fs_touch_rules(c, old, s, &s->since);
    fs_touch_tls(c, old, s, &s->since);
    if (policy)
        fs_touch(c, FS_TOUCH_POLICY, &s->since);
    if (values)
        fs_touch_properties(c, old, s, &s->since);
}

/* What a derived file shows the time of: the latest change among its sources. */
enum {
    FS_SRC_SELF = 1,   /* its own recorded time */
    FS_SRC_LEVEL = 2,  /* the node's level */
    FS_SRC_TOPO = 4,   /* topology.yaml and inputs.yaml */
    FS_SRC_POLICY = 8, /* any policy file */
    FS_SRC_HEAD = 16,  /* the last commit of main (history) */
};

static const struct {
    const char *pattern;
    unsigned src;
} fs_touch_derived[] = {
    {"nodes/*/modules", FS_SRC_LEVEL | FS_SRC_TOPO},
    {"nodes/*/pdp", FS_SRC_LEVEL | FS_SRC_TOPO},
    {"nodes/*/acl", FS_SRC_LEVEL | FS_SRC_TOPO | FS_SRC_POLICY},
    {"nodes/*/type", FS_SRC_TOPO},
    {"nodes/*/template.yaml", FS_SRC_TOPO},
    {"nodes/*/security_levels", FS_SRC_TOPO},
    {"nodes/*/properties/*", FS_SRC_SELF | FS_SRC_TOPO},
    {"tosca/", FS_SRC_HEAD},       /* every file of tosca/: derived from the whole state */
    {"nodes/*/tls/", FS_SRC_SELF}, /* its commits (fs_times.c, fs_touch_tls()) */
};

/* *MT moves forward to PATH's recorded time, if it has one and it is later. */
static void fs_touch_later(struct fs_ctx *c, const char *path, struct timespec *mt)
{
    struct timespec t;

    if (fs_touch_mtime(c, path, &t) &&
        (t.tv_sec > mt->tv_sec || (t.tv_sec == mt->tv_sec && t.tv_nsec > mt->tv_nsec)))
        *mt = t;
}

int fs_touch_file_mtime(struct fs_ctx *c, const struct fs_where *w, const char *path,
                        struct timespec *mt)
{
    char p[PATH_MAX];
    unsigned src = 0;

    if (w->e->tracked)
        src = FS_SRC_SELF;
    for (size_t i = 0; !src && i < sizeof(fs_touch_derived) / sizeof(fs_touch_derived[0]); i++)
        if (fs_touch_derived[i].pattern[strlen(fs_touch_derived[i].pattern) - 1] == '/'
                ? strncmp(w->e->pattern, fs_touch_derived[i].pattern,
                          strlen(fs_touch_derived[i].pattern)) == 0
                : strcmp(w->e->pattern, fs_touch_derived[i].pattern) == 0)
            src = fs_touch_derived[i].src;
    if (!src)
        return 0;
    /* The earliest time anything is recorded for, so that the latest source wins. */
    *mt = (struct timespec){0};
    if (src & FS_SRC_SELF)
        fs_touch_later(c, path, mt);
    if ((src & FS_SRC_LEVEL) &&
        (size_t)snprintf(p, sizeof(p), "nodes/%s/security_level", w->node) < sizeof(p))
        fs_touch_later(c, p, mt);
    if (src & FS_SRC_TOPO) {
        fs_touch_later(c, "topology.yaml", mt);
        fs_touch_later(c, "inputs.yaml", mt);
    }
    if (src & FS_SRC_POLICY)
        fs_touch_later(c, FS_TOUCH_POLICY, mt);
    if (src & FS_SRC_HEAD)
        fs_touch_later(c, "history", mt);
    if (mt->tv_sec == 0 && mt->tv_nsec == 0)
        *mt = c->started; /* nothing recorded: the mount's start */
    return 1;
}

void fs_touch_node(struct fs_ctx *c, const char *node)
{
    char path[PATH_MAX];
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if ((size_t)snprintf(path, sizeof(path), "nodes/%s/status.json", node) >= sizeof(path))
        return;
    fs_touch(c, path, &now);
    path[strlen(path) - 5] = '\0'; /* nodes/NODE/status */
    fs_touch(c, path, &now);
}
