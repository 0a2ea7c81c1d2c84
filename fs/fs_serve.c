/*
 * fs_serve.c — serving the mount with libfuse: the table of operations (fs_ops.c, fs_io.c),
 * what the kernel may cache, mounting, daemonising, the loop, and the end of the mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_fuse.h"
#include "fs_inval.h"
#include "fs_remote.h"
#include "fs_watch.h"

/* FUSE workers: at most 64 serve at once; beyond 4 idle ones, a worker that finishes a request
 * exits, giving back its request buffer (1 MiB and a page) and stack. libfuse's default keeps
 * every worker a burst made for good. */
#define FS_WORKERS_MAX  64
#define FS_WORKERS_IDLE 4

/* Seconds the kernel keeps a name it looked up: one the daemon does not drop (an image
 * collected, a node's image link gone, which no one may create again) is looked up again
 * after that; meanwhile a call on it finds nothing (ENOENT), as its attributes are read anew. */
#define FS_ENTRY_TIMEOUT 60.0

static void *fs_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct fs_ctx *c = fuse_get_context()->private_data;

    /* O_TRUNC arrives with open(), so truncating and writing are one change. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
    /* The kernel keeps the names it looked up (a path walk then costs no lookup request): a
     * name that vanishes other than through the kernel is dropped from its cache
     * (fs_inval.c), and one that appears is found, as no absence is kept. Content and
     * attributes change with every accepted change, and the logs grow: neither is cached (an
     * attribute timeout is the same for every file of the high-level API). */
    cfg->entry_timeout = c->inval != NULL ? FS_ENTRY_TIMEOUT : 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->direct_io = 1;
    cfg->hard_remove = 1; /* unlinked temporary files live in their handles */
    cfg->use_ino = 0;
    return c;
}

static const struct fuse_operations fs_ops = {
    .init = fs_op_init,
    .getattr = fs_op_getattr,
    .readdir = fs_op_readdir,
    .readlink = fs_op_readlink,
    .open = fs_op_open,
    .create = fs_op_create,
    .read = fs_op_read,
    .write = fs_op_write,
    .flush = fs_op_flush,
    .fsync = fs_op_fsync,
    .release = fs_op_release,
    .truncate = fs_op_truncate,
    .unlink = fs_op_unlink,
    .rename = fs_op_rename,
    .chmod = fs_op_chmod,
    .chown = fs_op_chown,
    .utimens = fs_op_utimens,
    .statfs = fs_op_statfs,
    .mknod = fs_op_mknod,
    .mkdir = fs_op_refuse,
    .rmdir = fs_op_rmdir,
    .symlink = fs_op_refuse2,
    .link = fs_op_refuse2,
    .poll = fs_op_poll,
};

/* libfuse's own messages, as lines of the daemon's log. */
static void fs_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
    char *msg = NULL;
    size_t n;

    if (vasprintf(&msg, fmt, ap) < 0)
        return;
    n = strlen(msg);
    if (n > 0 && msg[n - 1] == '\n')
        msg[n - 1] = '\0';
    engine_log(level <= FUSE_LOG_ERR       ? "error"
               : level <= FUSE_LOG_WARNING ? "warning"
                                           : "info",
               "libfuse: %s", msg);
    free(msg);
}

static void fs_on_hup(int sig)
{
    int e = errno;

    (void)sig;
    engine_log_reopen();
    errno = e;
}

int fs_serve(struct fs_ctx *c, const char *mountpoint, int foreground, const char *fuse_opts,
             const char *log_path)
{
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    struct fuse_loop_config *lc = NULL;
    struct fuse *f = NULL;
    char *opts = NULL, root[PATH_MAX];
    int rc = 1, mounted = 0, handlers = 0;

    if (fs_notify_init() < 0)
        engine_log("warning",
                   "%s is neither a path nor @NAME: the service manager is not told "
                   "when the mount is ready",
                   FS_NOTIFY_ENV);
    /* The store's path is the mount's source in /proc/self/mountinfo (`unisec status` finds
     * the mount serving a store by it, as `mount` shows it); libfuse splits options at
     * commas unless escaped. */
    char fsname[2 * PATH_MAX];
    size_t k = 0;
    for (const char *p = c->store_dir; *p != '\0' && k + 3 < sizeof(fsname); p++) {
        if (*p == ',' || *p == '\\')
            fsname[k++] = '\\';
        fsname[k++] = *p;
    }
    fsname[k] = '\0';
    if (asprintf(&opts, "fsname=%s,subtype=unisec,default_permissions%s%s", fsname,
                 fuse_opts != NULL && fuse_opts[0] ? "," : "",
                 fuse_opts != NULL ? fuse_opts : "") < 0) {
        opts = NULL;
        goto out;
    }
    if (fuse_opt_add_arg(&args, "unisec") < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
        fuse_opt_add_arg(&args, opts) < 0)
        goto out;
    if ((f = fuse_new(&args, &fs_ops, sizeof(fs_ops), c)) == NULL) {
        fprintf(stderr, "unisec mount: libfuse refused the options '%s'\n", opts);
        goto out;
    }
    /* Absolute, for the process that touches files through the mount (fs_touch.c), which
     * starts after fuse_daemonize() has left the directory; resolved before the mount
     * answers nothing yet. */
    if (realpath(mountpoint, root) == NULL)
        snprintf(root, sizeof(root), "%s", mountpoint);
    if (fuse_mount(f, mountpoint) != 0) {
        fprintf(stderr,
                "unisec mount: cannot mount on %s (is it an empty directory you may "
                "write, not already mounted? `fusermount3 -u %s` ends a stale mount)\n",
                mountpoint, mountpoint);
        goto out;
    }
    mounted = 1;
    {
        int r = engine_log_open(log_path);
        if (r < 0) {
            fprintf(stderr, "unisec mount: cannot open the log %s: %s\n", log_path, strerror(-r));
            goto out;
        }
    }
    fuse_set_log_func(fs_fuse_log);
    /* fuse_daemonize() points stderr at /dev/null: the log file is made stderr again. */
    if (!foreground && (fuse_daemonize(0) != 0 || engine_log_reopen() < 0))
        goto out;
    if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
        goto out;
    handlers = 1;
    {
        /* SIGHUP reopens the log (logrotate) instead of ending the mount as libfuse's would. */
        struct sigaction sa = {.sa_handler = fs_on_hup, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, NULL);
    }
    if (fs_times_load(c) < 0)
        engine_log("warning", "the files' times start at the mount: the history cannot be read");
    if (fs_poll_start(c) < 0)
        goto out;
    if (fs_inval_start(c, fuse_get_session(f)) < 0)
        engine_log("warning", "the kernel caches no names: every path walk asks the daemon");
    /* Forked before the first thread of the daemon. */
    if (!c->no_notify && (root[0] != '/' || fs_touch_start(c, root) < 0))
        engine_log("warning", "inotify watchers of the mount will not be told of changes");
    {
        struct engine_diag d = {0};
        if (fs_watch_start(c, &d) < 0) {
            char *t = engine_diag_join(&d);
            engine_log("warning",
                       "changes made in the store from outside are noticed only "
                       "at the next write: %s",
                       t != NULL ? t : "");
            free(t);
        }
        engine_diag_free(&d);
    }
    if (c->remote != NULL) {
        struct engine_diag d = {0};
        if (fs_remote_watch_start(c, &d) < 0) {
            char *t = engine_diag_join(&d);
            engine_log("warning", "the remote is looked at only at the next write: %s",
                       t != NULL ? t : "");
            free(t);
        }
        engine_diag_free(&d);
    }
    {
        int r = fs_http_start(c);
        if (r < 0)
            engine_log("error", "the metrics listener cannot start: %s", strerror(-r));
    }
    fs_event(c, "mounted %s on %s", c->store_dir, mountpoint);
    {
        /* The served policy's rules by key, for the first change of a rules file: made by a
         * thread, which may start now (after daemonising). */
        struct fs_snap *s = fs_snap_get(c);
        pthread_mutex_lock(&c->keys_mu);
        c->keys_allowed = 1;
        pthread_mutex_unlock(&c->keys_mu);
        fs_keys_warm(c, s);
        fs_snap_put(c, s);
    }
    {
        /* After daemonising: the orchestrator and the supervisor run threads. */
        struct engine_diag d = {0};
        if (fs_orch_start(c, &d) < 0) {
            char *t = engine_diag_join(&d);
            engine_log("error", "instances cannot be started: %s", t != NULL ? t : "");
            fs_error(c, "instances cannot be started: %s", t != NULL ? t : "");
            free(t);
        }
        engine_diag_free(&d);
    }
    if ((lc = fuse_loop_cfg_create()) == NULL)
        goto out;
    fuse_loop_cfg_set_clone_fd(lc, 0);
    fuse_loop_cfg_set_max_threads(lc, FS_WORKERS_MAX);
    fuse_loop_cfg_set_idle_threads(lc, FS_WORKERS_IDLE);
    {
        /* Mounted, and answering as soon as the loop runs: a Type=notify unit is started. The
         * pid is this process's, after fuse_daemonize() (a forking daemon's manager needs it). */
        char *ready = NULL;
        int r = -ENOMEM;
        if (asprintf(&ready, "READY=1\nSTATUS=serving %s on %s\nMAINPID=%ld", c->store_dir,
                     mountpoint, (long)getpid()) >= 0) {
            r = fs_notify(ready);
            free(ready);
        }
        if (r < 0)
            engine_log("warning", "cannot tell the service manager that the mount is ready: %s",
                       strerror(-r));
    }
    /* 0, -errno, or the signal that ended the loop (SIGTERM, SIGINT: a clean stop, exit 0, as
     * a service manager expects of `systemctl stop`). */
    rc = fuse_loop_mt(f, lc) < 0 ? 1 : 0;
    /* Before anything else: a call of its own to the mount that nobody serves now would keep
     * the mount busy (killed, a call that no thread read ends at once). */
    fs_touch_stop(c);
    fs_notify("STOPPING=1\nSTATUS=unmounting, stopping every instance");
    fs_watch_stop(c);
    fs_remote_watch_stop(c);
    fs_http_stop(c);
    fs_handles_drop(c);
    fs_orch_stop(c);
    fs_poll_stop(c);
    fs_inval_stop(c); /* after everything that installs a state */
    engine_log("info", "unmounted %s", mountpoint);

out:
    fs_inval_stop(c);
    if (lc != NULL)
        fuse_loop_cfg_destroy(lc);
    if (handlers)
        fuse_remove_signal_handlers(fuse_get_session(f));
    if (mounted)
        fuse_unmount(f);
    if (f != NULL)
        fuse_destroy(f);
    fuse_opt_free_args(&args);
    free(opts);
    return rc;
}
