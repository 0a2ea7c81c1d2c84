/* fs_cmd.c — the mount's subcommand mount (and its mount(8) helper form), and the context it
 * serves; init is fs_init.c, status fs_status.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fs_int.h"
#include "fs_tls.h"
#include "fs_remote.h"
#include "fs_watch.h"
#include "orch/orch.h"

/* Opens the store in DIR and reads its head as the state to serve. */
int fs_ctx_open(struct fs_ctx *c, const char *dir, enum engine_target target, const char *cmd)
{
    struct engine_diag diag = {0};
    struct fs_text file[FS_FILE_N] = {{0}};
    struct fs_rules_set acld;
    char head[41];
    int rc;

    memset(c, 0, sizeof(*c));
    c->watch_fd = c->stop_fd = -1;
    c->remote_fd = c->remote_kick = c->remote_stop = -1;
    c->http_fd = c->http_stop_fd = -1;
    c->touch_fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->apply_mu, NULL);
    pthread_mutex_init(&c->keys_mu, NULL);
    pthread_cond_init(&c->keys_cv, NULL);
    fs_log_init(&c->events, FS_EVENTS_MAX, 0);
    fs_log_init(&c->errors, 0, FS_ERRORS_KEEP);
    fs_log_init(&c->events_json, FS_EVENTS_MAX, 0);
    clock_gettime(CLOCK_REALTIME, &c->started);
    c->target = target;
    c->owner_uid = getuid();
    c->owner_gid = getgid();
    if ((c->store_dir = realpath(dir, NULL)) == NULL) {
        fprintf(stderr, "unisec %s: the store %s: %s\n", cmd, dir, strerror(errno));
        return -errno;
    }
    rc = engine_store_open(&c->store, c->store_dir, &diag);
    if (rc < 0)
        goto fail;
    engine_store_on_sync(c->store, fs_store_synced, c);
    engine_store_head(c->store, head, NULL);
    if ((rc = fs_perm_load(c)) < 0) {
        engine_diag_add(&diag, c->store_dir, 0, 0, "cannot read .git/%s: %s", FS_PERM_FILE,
                        strerror(-rc));
        goto fail;
    }
    if ((rc = fs_snap_read_store(file, &acld, c->store, NULL, &diag)) < 0 ||
        (rc = fs_snap_build(&c->snap, file, &acld, head, NULL, NULL, NULL, target, &diag)) < 0 ||
        (rc = fs_tls_load(c, &c->snap->tls)) < 0)
        goto fail;
    c->served_is_head = 1;
    engine_diag_free(&diag);
    return 0;
fail:
    engine_diag_print(&diag, stderr);
    /* A store that opened but cannot be served says why above; `init` is for no store at all. */
    fprintf(stderr, "unisec %s: cannot serve the store %s%s\n", cmd, dir,
            c->store == NULL ? " (create one with `unisec init`)" : "");
    engine_diag_free(&diag);
    return rc < 0 ? rc : -EINVAL;
}

void fs_ctx_close(struct fs_ctx *c)
{
    if (c->store != NULL)
        engine_store_on_sync(c->store, NULL, NULL); /* before what a report reaches goes */
    /* Temporary files live in memory only: they end with the mount. */
    fs_temp_free_all(c);
    fs_perm_free_all(c);
    fs_keys_stop(c);
    fs_snap_free(c->snap);
    engine_store_free(c->store);
    fs_log_free(&c->events);
    fs_log_free(&c->errors);
    fs_log_free(&c->events_json);
    free(c->refused_wt_sig);
    fs_staged_free(c->staged, c->nstaged);
    free(c->store_dir);
    free(c->image_dir);
    free(c->log_dir);
    fs_http_stop(c);
    fs_touch_stop(c);
    fs_text_free(&c->history);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->apply_mu);
    pthread_mutex_destroy(&c->keys_mu);
    pthread_cond_destroy(&c->keys_cv);
}

/* A store that applies only signed commits is served only from a signed head. */
static int fs_signed_head(struct fs_ctx *c)
{
    struct engine_diag diag = {0};
    char who[256];
    int rc;

    if (!engine_store_signed_only(c->store) ||
        (rc = engine_store_verify_commit(c->store, c->snap->head, who, &diag)) == 0)
        return 0;
    engine_diag_print(&diag, stderr);
    fprintf(stderr,
            "unisec mount: the store applies only signed commits (%s) and its main is not "
            "signed by an allowed signer; reset main to the last good commit first\n",
            ENGINE_STORE_SIGNED_ONLY);
    engine_diag_free(&diag);
    return rc;
}

/* What `unisec mount` takes besides libfuse's options. */
struct fs_mount_opts {
    int foreground, no_run;
    int target_set;
    enum engine_target target;
    char host[256];        /* -o host=ADDR: the address instances listen on ("" loopback) */
    char host_name[256];   /* -o host=NAME: the Compute node this daemon serves ("" every node) */
    char *log;             /* -o log=FILE (owned) */
    char *remote;          /* -o remote=URL (owned): the repository whose main the store tracks */
    int fetch_interval;    /* -o fetch_interval=SECONDS */
    size_t nodelog_max;    /* -o nodelog_max=BYTES: one file of a node's console or access log */
    unsigned nodelog_keep; /* -o nodelog_keep=N: files kept of each */
    char *metrics;         /* -o metrics=HOST:PORT (owned): the HTTP listener of `metrics` */
    int no_notify;         /* without -o notify: inotify watchers are not told of changes */
};

/*
 * The store holds the credentials' salted hashes, in its work tree, its git objects and the
 * images with an internal PDP: nobody but its owner may enter it. The image cache is made
 * now, before anything is built into it, and a store made before (or opened up since) is
 * closed again, saying so. (The daemon's umask stays: instances' files are made under it.)
 */
static void fs_store_private(const struct fs_ctx *c)
{
    const char *dirs[] = {c->store_dir, c->image_dir};
    struct stat st;

    if (mkdir(c->image_dir, 0700) < 0 && errno != EEXIST)
        fprintf(stderr, "unisec mount: cannot make the image cache %s: %s\n", c->image_dir,
                strerror(errno));
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (stat(dirs[i], &st) < 0 || (st.st_mode & 077) == 0)
            continue;
        if (chmod(dirs[i], st.st_mode & 0700) < 0)
            fprintf(stderr, "unisec mount: %s is readable by others and chmod failed: %s\n",
                    dirs[i], strerror(errno));
        else
            fprintf(stderr, "unisec mount: %s was open to others (mode %04o): made %04o\n", dirs[i],
                    (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 0700));
    }
}

/* The core of `unisec mount` and of the mount helper. */
static int fs_mount_run(const char *store, const char *mountpoint, const struct fs_mount_opts *mo,
                        const char *fuse_opts, const char *log_path)
{
    struct fs_ctx c;
    char *log_default = NULL;
    enum engine_target target = mo->target_set ? mo->target : orch_target_best();
    int rc;

    if (fs_ctx_open(&c, store, target, "mount") < 0 || fs_signed_head(&c) < 0) {
        fs_ctx_close(&c);
        return 1;
    }
    c.no_run = mo->no_run;
    c.remote = mo->remote;
    c.fetch_interval = mo->fetch_interval;
    if (c.remote != NULL) {
        /* The remote's main is what is served: converge to it before the mount answers. */
        fs_apply_remote(&c);
        engine_log("info", "main follows the remote %s (fetched every %d s, and when told)",
                   c.remote, c.fetch_interval);
    }
    c.listen_host = mo->host[0] ? mo->host : NULL;
    c.host_name = mo->host_name[0] ? mo->host_name : NULL;
    if (c.host_name && c.snap->model && !engine_topology_node_find(c.snap->model->t, c.host_name))
        engine_log("warning",
                   "-o host=%s: the topology has no such node; no node runs here "
                   "until it places one on %s",
                   c.host_name, c.host_name);
    if (asprintf(&c.image_dir, "%s/.git/unisec-images", c.store_dir) < 0)
        c.image_dir = NULL;
    if (asprintf(&c.log_dir, "%s/.git/unisec-logs", c.store_dir) < 0)
        c.log_dir = NULL;
    if (c.image_dir == NULL || c.log_dir == NULL) {
        fs_ctx_close(&c);
        return 1;
    }
    c.no_notify = mo->no_notify;
    c.log_max = mo->nodelog_max;
    c.log_keep = mo->nodelog_keep;
    if (mo->metrics != NULL) {
        const char *why;
        int r = fs_http_bind(&c, mo->metrics, &why);
        if (r < 0) {
            fprintf(stderr, "unisec mount: -o metrics=%s: %s (%s)\n", mo->metrics, why,
                    strerror(-r));
            fs_ctx_close(&c);
            return 1;
        }
    }
    fs_store_private(&c);
    /* One arena per FUSE thread kept each thread's peak (a large policy file left the daemon
     * at 1.1 GB); two arenas keep threads from contending while bounding what is kept. */
    mallopt(M_ARENA_MAX, 2);
    /* glibc raises its mmap and trim thresholds each time a large block is freed (up to 32 and
     * 64 MiB): after a large policy file, what it freed stayed at the top of an arena, resident,
     * where malloc_trim() does not reach in a thread's arena. Fixed thresholds: a large block
     * is mapped and unmapped whole, and an arena gives back more than 1 MiB free at its top. */
    mallopt(M_MMAP_THRESHOLD, FS_MMAP_MIN);
    mallopt(M_TRIM_THRESHOLD, FS_TRIM_MIN);
    /* In the foreground the log is stderr unless one was named. */
    if (log_path == NULL && !mo->foreground) {
        if (asprintf(&log_default, "%s/.git/unisec.log", c.store_dir) < 0) {
            fs_ctx_close(&c);
            return 1;
        }
        log_path = log_default;
    }
    engine_log("info", "serving %s (commit %.12s) on %s%s%s", c.store_dir, c.snap->head, mountpoint,
               log_path != NULL ? "; log: " : "", log_path != NULL ? log_path : "");
    if (mo->no_run)
        engine_log("info", "--no-run: no image is built and no instance started");
    else
        engine_log("info", "instances run on %s; `cat %s/settle` waits for them",
                   engine_target_name(target), mountpoint);
    /* Edits made in the store while nothing served it are looked at before serving. */
    fs_apply_external(&c, NULL);
    rc = fs_serve(&c, mountpoint, mo->foreground, fuse_opts, log_path);
    fs_ctx_close(&c);
    free(log_default);
    return rc;
}

/* A remote's URL: libgit2's transports the daemon can authenticate to (file://, a path,
 * git://, ssh:// with ssh-agent), and no password (it would reach the log and errors). */
static int fs_remote_url_check(const char *url)
{
    static const char *const schemes[] = {"file:///", "git://", "ssh://", "/"};
    const char *at, *colon, *rest = NULL;

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && rest == NULL; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            rest = url + strlen(schemes[i]);
    for (const char *p = url; rest != NULL && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ',')
            rest = NULL;
    if (rest == NULL || strlen(url) > 4096) {
        fprintf(stderr, "unisec mount: -o remote= is a bare repository's URL: file:///PATH, "
                        "/PATH, git://HOST/PATH or ssh://[USER@]HOST/PATH\n");
        return -EINVAL;
    }
    at = strchr(rest, '@');
    colon = strchr(rest, ':');
    if (strncmp(url, "ssh://", 6) == 0 && at != NULL && colon != NULL && colon < at) {
        fprintf(stderr, "unisec mount: -o remote= holds a password: the daemon authenticates "
                        "with ssh-agent's keys\n");
        return -EINVAL;
    }
    return 0;
}

/* Takes unisec's own options out of the -o list O (target=hvt|spt, host=ADDR|NAME, norun,
 * log=FILE); the others are appended to *FUSE_OPTS unless DROP says mount(8) handles them.
 * Returns 0, -EINVAL (message printed) or -ENOMEM. */
static int fs_opts_add(char **list, const char *opt);
static int fs_mount_opt(struct fs_mount_opts *mo, char **fuse_opts, const char *o,
                        int (*drop)(const char *))
{
    char *list = strdup(o), *save = NULL;
    int r = 0;

    if (list == NULL)
        return -ENOMEM;
    for (char *x = strtok_r(list, ",", &save); x != NULL && r == 0;
         x = strtok_r(NULL, ",", &save)) {
        if (strncmp(x, "target=", 7) == 0) {
            if (engine_target_parse(&mo->target, x + 7) < 0) {
                fprintf(stderr, "unisec mount: -o target= is hvt or spt\n");
                r = -EINVAL;
            }
            mo->target_set = 1;
        } else if (strncmp(x, "host=", 5) == 0) {
            unsigned char a[16]; /* an IP address, else the name of a host of the topology */
            int ip = inet_pton(AF_INET, x + 5, a) == 1 || inet_pton(AF_INET6, x + 5, a) == 1;
            if (strlen(x + 5) >= sizeof(mo->host) || x[5] == 0) {
                fprintf(stderr, "unisec mount: -o host= wants an address or a host's name\n");
                r = -EINVAL;
            }
            snprintf(ip ? mo->host : mo->host_name, sizeof(mo->host), "%s", x + 5);
        } else if (strncmp(x, "metrics=", 8) == 0) {
            free(mo->metrics);
            if ((mo->metrics = strdup(x + 8)) == NULL)
                r = -ENOMEM;
        } else if (strncmp(x, "log=", 4) == 0) {
            free(mo->log);
            if ((mo->log = strdup(x + 4)) == NULL)
                r = -ENOMEM;
        } else if (strncmp(x, "remote=", 7) == 0) {
            free(mo->remote);
            mo->remote = NULL;
            if ((r = fs_remote_url_check(x + 7)) == 0 && (mo->remote = strdup(x + 7)) == NULL)
                r = -ENOMEM;
        } else if (strncmp(x, "fetch_interval=", 15) == 0) {
            char *end = NULL;
            long v = strtol(x + 15, &end, 10);
            if (x[15] == '\0' || *end != '\0' || v < 0 || v > 86400) {
                fprintf(stderr, "unisec mount: -o fetch_interval= is seconds, 0 to 86400\n");
                r = -EINVAL;
            }
            mo->fetch_interval = (int)v;
        } else if (strncmp(x, "nodelog_max=", 12) == 0 || strncmp(x, "nodelog_keep=", 13) == 0) {
            /* The size of one file (4 KiB to 1 GiB) and how many are kept (1 to 16). */
            int keep = x[8] == 'k';
            char *end;
            unsigned long long v = strtoull(strchr(x, '=') + 1, &end, 10);
            if (*end != '\0' || end == strchr(x, '=') + 1 ||
                (keep ? v < 1 || v > ENGINE_RLOG_KEEP_MAX : v < 4096 || v > (1ull << 30))) {
                fprintf(stderr, "unisec mount: -o %s: %s\n", x,
                        keep ? "nodelog_keep is 1 to 16 files"
                             : "nodelog_max is 4096 to 1073741824 bytes");
                r = -EINVAL;
            } else if (keep) {
                mo->nodelog_keep = (unsigned)v;
            } else {
                mo->nodelog_max = (size_t)v;
            }
        } else if (strcmp(x, "notify") == 0 || strcmp(x, "nonotify") == 0) {
            mo->no_notify = x[0] == 'n' && x[1] == 'o' && x[2] == 'n';
        } else if (strcmp(x, "norun") == 0) {
            mo->no_run = 1;
        } else if (drop == NULL || !drop(x)) {
            r = fs_opts_add(fuse_opts, x);
        }
    }
    free(list);
    return r;
}

/* Appends OPT to the comma-separated list *LIST. */
static int fs_opts_add(char **list, const char *opt)
{
    char *n = NULL;

    if (asprintf(&n, "%s%s%s", *list != NULL ? *list : "", *list != NULL ? "," : "", opt) < 0)
        return -ENOMEM;
    free(*list);
    *list = n;
    return 0;
}

int fs_cmd_mount(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "store", .has_arg = required_argument, .val = 'S'},
        {.name = "no-run", .has_arg = no_argument, .val = 'N'},
        {.name = "log", .has_arg = required_argument, .val = 'L'},
        {.name = "target", .has_arg = required_argument, .val = 'T'},
        {0},
    };
    struct engine_cmd cmd = {
        .name = "unisec mount",
        .usage = "unisec mount [-f] [-o OPTIONS] [--no-run] [--log=FILE] [--target=hvt|spt]\n"
                 "         --store=STORE MOUNTPOINT",
        .shorts = "fo:",
        .longs = opts};
    const char *store = NULL, *log_path = NULL;
    struct fs_mount_opts mo = {.fetch_interval = FS_FETCH_INTERVAL, .no_notify = 1};
    char *fuse_opts = NULL;
    int opt, rc;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        switch (opt) {
        case 'f':
            mo.foreground = 1;
            break;
        case 'o':
            if (fs_mount_opt(&mo, &fuse_opts, optarg, NULL) < 0) {
                free(fuse_opts);
                return 2;
            }
            break;
        case 'S':
            store = optarg;
            break;
        case 'N':
            mo.no_run = 1;
            break;
        case 'L':
            log_path = optarg;
            break;
        case 'T':
            mo.target_set = 1;
            if (engine_target_parse(&mo.target, optarg) < 0) {
                free(fuse_opts);
                return engine_cmd_usage(&cmd, "--target '%s': expected hvt or spt", optarg);
            }
            break;
        default:
            free(fuse_opts);
            return 2;
        }
    }
    if (store == NULL || optind != argc - 1) {
        free(fuse_opts);
        return engine_cmd_usage(&cmd, store == NULL    ? "expected --store=STORE"
                                      : optind == argc ? "expected MOUNTPOINT"
                                                       : "one MOUNTPOINT at a time");
    }
    rc = fs_mount_run(store, argv[optind], &mo, fuse_opts, log_path ? log_path : mo.log);
    free(fuse_opts);
    free(mo.log);
    free(mo.remote);
    free(mo.metrics);
    return rc;
}

/* fstab options that mount(8) or mount.fuse3 handle and libfuse does not know. */
static int fs_opt_dropped(const char *o)
{
    static const char *const drop[] = {"defaults", "auto",   "noauto", "nofail", "_netdev", "user",
                                       "users",    "nouser", "owner",  "group",  "rw"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcmp(o, drop[i]) == 0)
            return 1;
    return strncmp(o, "x-", 2) == 0 || strncmp(o, "comment=", 8) == 0;
}

int fs_cmd_mount_helper(int argc, char **argv)
{
    /* mount(8)'s helper conventions: "STORE MOUNTPOINT [-sfnvrw] [-N NS] [-o OPTS] [-t TYPE]". */
    static const struct option none[] = {{0}};
    struct engine_cmd cmd = {.name = argv[0],
                             .usage = "mount.unisec STORE MOUNTPOINT [-o OPTIONS]",
                             .shorts = "o:t:N:fnsvrw",
                             .longs = none};
    struct fs_mount_opts mo = {.fetch_interval = FS_FETCH_INTERVAL, .no_notify = 1};
    char *fuse_opts = NULL;
    int opt, fake = 0, rc = ENGINE_CMD_USAGE;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'o' && fs_mount_opt(&mo, &fuse_opts, optarg, fs_opt_dropped) < 0)
            goto out;
        if (opt == 'f')
            fake = 1; /* mount(8)'s "fake": do everything but mount */
        if (opt == '?')
            goto out;
        /* -t (the type), -N (a namespace mount(8) entered already), -s -n -v -r -w: nothing
         * for unisec to do */
    }
    if (argc - optind != 2) {
        engine_cmd_usage(&cmd, "expected STORE and MOUNTPOINT");
        goto out;
    }
    rc = fake ? 0 : fs_mount_run(argv[optind], argv[optind + 1], &mo, fuse_opts, mo.log);
out:
    free(fuse_opts);
    free(mo.log);
    free(mo.remote);
    free(mo.metrics);
    return rc;
}
