/*
 * fs_int.h — the inside of the mount, shared by the files of fs/ and their tests. Not for
 * other parts of unisec (they use fs.h).
 *
 * Structure. One `struct fs_ctx` per daemon. It serves a `struct fs_snap`: an immutable,
 * reference-counted copy of the store's files as last accepted (the last good state), with
 * what is parsed from them. A change (a write, a rename onto a control file, a change made
 * in the store from outside) builds a new snapshot, validates it as a whole, commits it,
 * and only then installs it; a refused change leaves the served snapshot as it was.
 *
 * Locking (two locks, always taken in this order):
 *  - ctx->apply_mu serialises changes: validate, commit, install, one at a time. Held across
 *    the commit (milliseconds); readers never take it.
 *  - ctx->mu protects the pointer ctx->snap, the temporary files, the events and errors
 *    logs. Held only for short copies; never across a commit or a libgit2 call.
 *  - each open handle has its own mutex for its write buffer.
 *
 * Lifetime of what the kernel sees: this is libfuse's high-level (path) API, so inodes and
 * their lookup counts are libfuse's. Every path is resolved again on every call against the
 * served snapshot; a handle (fuse_file_info.fh) holds what the file's content was at open
 * (read-only files), its own write buffer (control files), or a counted reference to an
 * in-memory temporary file, which stays readable after unlink until its last release.
 */
#ifndef UNISEC_FS_INT_H
#define UNISEC_FS_INT_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "engine/engine.h"
#include "fs_live.h"

/* ---- limits (fs/MOUNT.md, "Limits") ---- */

/* Largest value of nodes/<node>/security_level or a property, newline included. */
#define FS_VALUE_MAX (4u << 10)
/* Largest topology.yaml (the topology loader's own bound). */
#define FS_TOPOLOGY_MAX (4u << 20)
/* Largest policy file (acl, groups, credentials) and largest temporary file. */
#define FS_POLICY_MAX ENGINE_STORE_FILE_MAX
/* All temporary files of a mount together, and how many may exist at once. */
#define FS_TEMP_TOTAL_MAX (256u << 20)
#define FS_TEMP_COUNT_MAX 256
/* Longest name of one file, as the kernel allows. */
#define FS_NAME_MAX 255
/* The events log keeps at most this many bytes (the oldest half is dropped beyond). */
#define FS_EVENTS_MAX (1u << 20)
/* A bounded log's room beyond its bound: lines up to this long never make it grow. */
#define FS_LOG_SLACK (64u << 10)
/* The errors file keeps this many of the most recent entries. */
#define FS_ERRORS_KEEP 100
/* history shows this many of the most recent commits. */
#define FS_HISTORY_MAX 100
/* The directories of the store the watcher watches (fs_watch.c), and its looks at the store,
 * counted by kind (metrics): for a burst of events, git's status asked or not (fs_watch.h); for
 * their own sake (the idle period's end, a grace's), always asked. */
#define FS_WATCH_DIRS 6
enum { FS_LOOK_ASKED, FS_LOOK_SKIPPED, FS_LOOK_TIMER, FS_LOOK_N };

/* ---- the store files the mount serves ---- */

enum fs_file {
    FS_FILE_TOPOLOGY,    /* topology.yaml */
    FS_FILE_LEVELS,      /* state/levels */
    FS_FILE_PROPERTIES,  /* state/properties */
    FS_FILE_ACL,         /* policy/acl */
    FS_FILE_GROUPS,      /* policy/groups */
    FS_FILE_CREDENTIALS, /* policy/credentials */
    FS_FILE_INPUTS,      /* inputs.yaml (absent in stores made before it: no input needs one) */
    FS_FILE_N,
};

/* The path of F inside the store ("policy/acl"). */
const char *fs_file_path(enum fs_file f);
/* The most bytes served file F (FS_FILE_N: a rules file of policy/acl.d) may hold, however it
 * is changed (fs_names.c). */
size_t fs_file_bound(enum fs_file f);

/* A byte string; data is NUL-terminated (not counted in len). A snapshot's files are shared with
 * the candidates made from it (fs_text_share()): shared bytes are only ever replaced whole. */
struct fs_text {
    char *data; /* owned (or shared); NULL when absent */
    size_t len;
    unsigned *refs; /* NULL: DATA is this text's alone; else how many texts share it (atomic) */
};

#include "fs_rules.h" /* rules files: policy/acl.d/NAME; the policy files parsed, kept by key */

/* ---- the served state ---- */

/* A parsed topology, shared by the snapshots whose topology.yaml is the same text. */
struct fs_model {
    unsigned refs; /* atomic */
    struct engine_topology *t;
};

/* Loads BUF[0..LEN) as the store's topology.yaml (no imports: a store holds one file) with
 * the values of INPUTS (inputs.yaml; its data NULL when the store has none). */
int fs_model_load(struct fs_model **out, const char *buf, size_t len, const struct fs_text *inputs,
                  struct engine_diag *diag);
struct fs_model *fs_model_ref(struct fs_model *m);
void fs_model_put(struct fs_model *m);

struct fs_snap {
    unsigned refs;                  /* ctx->mu */
    char head[41];                  /* the commit it was read from or committed as */
    struct fs_text file[FS_FILE_N]; /* owned; data NULL for a file absent from the store */
    struct fs_rules_set acld;       /* owned: policy/acl.d */
    struct fs_policy *policy;       /* counted reference: acl, groups, credentials */
    struct engine_acl_stats acl_stats;
    struct fs_model *model;              /* counted reference: topology.yaml */
    struct engine_topology_state *state; /* owned: state/levels, state/properties */
    struct fs_tls *tls;    /* counted reference: the nodes' certificates and keys (fs_tls.c), the
                            * previous snapshot's unless a TLS change or a new head loads them */
    struct timespec since; /* when it was installed */
    /* Which files are the same as those of the snapshot it was built on, compared once (a
     * topology of 1,000 nodes is about 270 KB): fs_snap_file_same(). */
    uint64_t serial; /* unique in the process */
    uint64_t base;   /* the serial of the snapshot it was built on; 0: none */
    unsigned same;   /* bit f: file[f] holds base's bytes */
    int levels_made; /* state/levels is STATE formatted by a write: the next one edits its lines */
    /* What the interpreters derive, made on first use (fs_snap_derived()) when the snapshot
     * differs from a valid one by levels only: a level picks one of the images that were
     * checked already (the interpreters check every level of every node). */
    pthread_mutex_t derive_mu;
    struct engine_topology_derived *derived;   /* derive_mu; owned: checks and plans */
    struct engine_topology_derived *artifacts; /* derive_mu; owned: with the five artifacts,
                                                * made when tosca/ is read */
    enum engine_target target;
};

/*
 * Parses and checks FILE[] and ACLD (may be NULL: no acl.d file; both moved into the new
 * snapshot whatever the outcome: they are left empty) as a whole: the policy files together (group
 * references included), the topology, the state against it, and the interpreters on TARGET. PREV
 * (may be NULL) lends its parsed topology and policy when their files are the same text; MODEL (may
 * be NULL) is the parsed FILE[FS_FILE_TOPOLOGY] already (the snapshot takes its own reference);
 * STATE (may be NULL) is FILE's state files parsed already, for MODEL or PREV's topology (moved
 * into the snapshot whatever the outcome). HEAD is the commit id to record ("" when not
 * committed yet). Returns 0 with *OUT (refs 1), or -EINVAL with every reason in DIAG, or
 * -ENOMEM.
 */
int fs_snap_build(struct fs_snap **out, struct fs_text file[FS_FILE_N], struct fs_rules_set *acld,
                  const char *head, const struct fs_snap *prev, struct fs_model *model,
                  struct engine_topology_state *state, enum engine_target target,
                  struct engine_diag *diag);

/* S's derived plans / its plans and artifacts (made now if not yet), or NULL when that fails
 * (out of memory). */
const struct engine_topology_derived *fs_snap_derived(struct fs_snap *s);
const struct engine_topology_derived *fs_snap_artifacts(struct fs_snap *s);

/* Reads every file of the store's head into FILE[] (absent files left NULL) and ACLD (PREV's
 * acl.d files, may be NULL, are taken where their blob ids are the head's). */
int fs_snap_read_store(struct fs_text file[FS_FILE_N], struct fs_rules_set *acld,
                       const struct engine_store *store, const struct fs_rules_set *prev,
                       struct engine_diag *diag);

void fs_text_free(struct fs_text *t); /* its bytes freed with the last text sharing them */
int fs_text_set(struct fs_text *t, const char *data, size_t len);
void fs_text_shareable(struct fs_text *t); /* before T is published (not when out of memory) */
/* DST (empty) takes SRC's bytes: shared when SRC is shareable, else copied. 0 or -ENOMEM. */
int fs_text_share(struct fs_text *dst, const struct fs_text *src);
int fs_text_same(const struct fs_text *a, const struct fs_text *b);
/* Do A and B hold the same bytes (or are both absent)? Does file F of snapshot B hold A's bytes
 * (known without a comparison when one was built on the other)? */
int fs_snap_file_same(const struct fs_snap *a, const struct fs_snap *b, int f);

/* ---- names and values (fs_names.c: pure functions, unit-tested) ---- */

/*
 * Is NAME acceptable as the name of one file of the mount: not empty, not `.` or `..`, no
 * '/', no control character, at most FS_NAME_MAX bytes? Returns 0 or -EINVAL (-ENAMETOOLONG
 * for a long one).
 */
int fs_name_check(const char *name);

/*
 * Is NAME one that editors and tools use for a temporary, swap, probe or backup file (so
 * that the mount keeps it in memory)? See fs/MOUNT.md "Temporary files": vim's `4913`
 * probe (digits only), hidden names (`.x.swp`, `.x.tmp`, rsync's `.x.AbC123`), `x~`,
 * `#x#`, sed's `sedXXXXXX`, `tmp*` and `*.tmp`. Returns 1 or 0.
 */
int fs_name_is_temp(const char *name);

/*
 * The value in a write of one value (BUF[0..LEN)): the text with one trailing "\n" (or
 * "\r\n") removed. Refuses an empty value, a NUL byte, a line break or another control
 * character inside, and leading or trailing blanks, with *WHY a static sentence. On success
 * *OUT is a new NUL-terminated string (caller frees).
 */
int fs_value_parse(char **out, const char *buf, size_t len, const char **why);

/*
 * Commit messages (new strings, caller frees; NULL when out of memory):
 *   fs_msg_value("web", "security_level", "default", "critical")
 *       -> "web: security_level default -> critical"
 *   fs_msg_replace("policy/acl", 3, 4, "rules") -> "policy/acl: replaced (3 -> 4 rules)"
 */
char *fs_msg_value(const char *node, const char *what, const char *old, const char *new_value);
char *fs_msg_replace(const char *path, size_t old_n, size_t new_n, const char *unit);

/* "2026-11-24T01:02:03Z" for T into BUF (at least 21 bytes). */
void fs_time_format(char *buf, size_t size, time_t t);

/* ---- modes and owners set with chmod / chown (fs_perm.c) ---- */

/* One file or directory of the tree whose mode or owner the mount's owner changed. */
struct fs_perm {
    struct fs_perm *next;
    char *path;  /* in the mount, "" for the root */
    mode_t mode; /* permission bits (0777 at most) */
    uid_t uid;
    gid_t gid;
};

/* Kept in the store's git directory (never committed): "MODE UID GID PATH" lines. */
#define FS_PERM_FILE "unisec-perms"

struct fs_ctx;
struct fs_handle;
struct fs_dir_time;

/* Reads the kept entries (a missing file is none). Before serving; not thread-safe. */
int fs_perm_load(struct fs_ctx *c);
void fs_perm_free_all(struct fs_ctx *c);
/* PATH's entry or NULL. Caller holds c->mu. */
const struct fs_perm *fs_perm_find(const struct fs_ctx *c, const char *path);
/* Records PATH's new mode and owner and writes them down (fsync, rename). Caller holds
 * c->mu. Returns 0 or a negative errno (the change is in force even when it could not be
 * written down; the log says so). */
int fs_perm_set(struct fs_ctx *c, const char *path, mode_t mode, uid_t uid, gid_t gid);

/* ---- counts for the `metrics` file (fs_metrics.c) ---- */

/* Where a change came from. */
enum fs_source {
    FS_SRC_MOUNT,    /* a write, rename or truncate through the mount */
    FS_SRC_WORKTREE, /* an edit of the store's work tree */
    FS_SRC_EXTERNAL, /* a commit made on main outside the mount */
    FS_SRC_DEPLOY,   /* the orchestrator's deployment record */
    FS_SRC_N,
};

/* The steps of a write through the mount whose CPU time `metrics` shows: the new state made
 * and validated, its commit (engine_store_step_cpu() splits it), the new state served. */
enum fs_write_step {
    FS_WRITE_VALIDATE,
    FS_WRITE_COMMIT,
    FS_WRITE_SERVE,
    FS_WRITE_STEP_N,
};

/* Adds one to *COUNTER (any thread). */
static inline void fs_count(uint64_t *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Milliseconds of CLOCK_MONOTONIC: the daemon's deadlines and intervals. */
static inline int64_t fs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the daemon ---- */

/* A served path whose change the operator has staged (git add, git rm), and when the mount
 * first saw it so (fs_apply_outside.c). */
struct fs_staged {
    char *path;
    int64_t since;
};

struct fs_ctx {
    struct engine_store *store; /* owned; thread-safe itself */
    char *store_dir;            /* owned; absolute */
    uid_t owner_uid;            /* who owns the tree's files: the mount's owner */
    gid_t owner_gid;
    int no_run;                /* 1: --no-run: nothing is built or started */
    enum engine_target target; /* the execution environment the interpreters check */
    char *image_dir;           /* owned: where the orchestrator keeps images */
    char *log_dir;             /* owned: the nodes' consoles and access logs (fs_live.c) */
    size_t log_max;            /* -o nodelog_max: bytes of one file of those logs (0: 1 MiB) */
    unsigned log_keep;         /* -o nodelog_keep: files kept of each (0: 4) */
    const char *listen_host;   /* the address instances listen on (NULL: loopback) */
    const char *host_name; /* the Compute node whose nodes this daemon runs (NULL: every node) */
    struct orch *orch;     /* owned: the orchestrator, NULL with --no-run */
    struct fs_policy *orch_policy; /* apply_mu: the policy last given to the orchestrator */
    /* apply_mu: told of every state the mount installs, under apply_mu (fs_orch.c gives it to
     * the orchestrator); NULL: nobody is */
    void (*installed)(struct fs_ctx *c, struct fs_snap *s);
    struct timespec started;

    pthread_mutex_t apply_mu; /* serialises changes (see the top of this file) */

    pthread_mutex_t mu;
    struct fs_snap *snap;          /* mu: the served state */
    struct fs_temp *temps;         /* mu */
    struct fs_dir_time *dir_times; /* mu: fs_temp.c, when temporary files last changed */
    struct fs_perm *perms;         /* mu: modes and owners set with chmod and chown */
    struct fs_handle *handles;     /* mu: open files (fs_handle.c); any left at unmount are freed */
    size_t temp_bytes;             /* mu */
    size_t temp_count;             /* mu */
    struct fs_log events;          /* mu */
    struct fs_log errors;          /* mu */
    struct fs_log events_json;     /* mu: events as JSON lines */
    uint64_t changes;              /* mu: accepted changes since the start */
    char refused_wt[41];           /* apply_mu: the last refused external head, reported once */
    int served_is_head;            /* apply_mu: the served snapshot's files are main's */
    char *refused_wt_sig;          /* apply_mu: signature of the last refused work-tree edit */
    struct fs_staged *staged;      /* apply_mu: the served paths the index holds changed */
    size_t nstaged;                /* apply_mu */
    int64_t staged_due;            /* atomic: when the first of their graces ends (0: none) */

    /* atomic (fs_count): commits made, and changes refused (none for DEPLOY), by source */
    uint64_t commits[FS_SRC_N];
    uint64_t refusals[FS_SRC_N];
    uint64_t write_cpu[FS_WRITE_STEP_N]; /* atomic: nanoseconds of the mount's writes, by step */

    /* -o remote=URL (fs_remote.c): the repository whose main this store tracks (borrowed;
     * NULL: none), how often it is fetched anyway (seconds; 0: only when told) */
    const char *remote;
    int fetch_interval;
    int remote_down; /* apply_mu: the last look at the remote failed (reported once) */
    int remote_fd;   /* inotify of a file:// remote's refs, -1 when none */
    int remote_kick; /* eventfd: look at the remote now (SIGUSR1), -1 when none */
    int remote_stop; /* eventfd that stops the remote's watcher, -1 when none */
    pthread_t remote_watcher;
    int remote_running;

    int watch_fd; /* inotify descriptor, -1 when none */
    int stop_fd;  /* eventfd that stops the watcher */
    pthread_t watcher;
    int watcher_running;
    int watch_wd[FS_WATCH_DIRS]; /* the watcher's: each directory's watch, -1 when none */
    struct stat own_index;       /* apply_mu: .git/index as the mount left it (st_ino 0: unknown) */
    uint64_t looks[FS_LOOK_N];   /* the watcher's looks at the store, by kind (fs_count) */

    struct fs_text history; /* mu: `history` as made for the store's head HISTORY_HEAD */
    char history_head[41];
    /* fs_touch.c: each file's time, and the process that tells inotify */
    struct fs_mtime *mtimes; /* mu: sorted by path */
    size_t nmtimes, capmtimes;
    int no_notify;   /* without -o notify: no touching process (times are still recorded) */
    int touch_fd;    /* the socket its paths go to, -1 when none */
    pid_t touch_pid; /* the touching process, 0 when none */

    /* -o metrics=ADDR: the HTTP listener of `metrics` (fs_http.c) */
    int http_fd;      /* the listening socket, -1 when none */
    int http_stop_fd; /* eventfd that stops its thread */
    pthread_t http_thread;
    int http_running;

    struct fs_poll *poll; /* fs_poll.c: who waits for a live file to grow; NULL when not served */
    struct fs_inval
        *inval; /* fs_inval.c: drops names from the kernel's cache; NULL when not served */

    /* fs_keys.c: the thread that makes a served policy's rules by key off the write path */
    pthread_mutex_t keys_mu;
    pthread_cond_t keys_cv;
    pthread_t keys_thread;
    int keys_allowed;          /* keys_mu: threads may start (after daemonising) */
    int keys_running;          /* keys_mu */
    int keys_stop;             /* keys_mu (read atomically by the thread as it makes) */
    struct fs_snap *keys_next; /* keys_mu: the snapshot whose policy is made next (a reference) */
};

/* Takes a reference on the served snapshot (never NULL while the daemon runs). */
struct fs_snap *fs_snap_get(struct fs_ctx *c);
void fs_snap_put(struct fs_ctx *c, struct fs_snap *s);
/* Frees a snapshot nobody else holds (refs must be 0 or 1). */
void fs_snap_free(struct fs_snap *s);

/* After FREED bytes of one file were freed: from FS_TRIM_MIN on, the memory glibc keeps is
 * given back to the system (malloc_trim), so that a large file does not leave the daemon at
 * its peak. */
#define FS_TRIM_MIN (1u << 20)
/* Blocks from this size on are mapped on their own (fs_cmd.c: glibc's M_MMAP_THRESHOLD). */
#define FS_MMAP_MIN (256u << 10)
void fs_memory_trim(size_t freed);
/* The size of S's files together. */
size_t fs_snap_bytes(const struct fs_snap *s);

/* Appends to events / errors (and errors to the daemon log too). Thread-safe (takes mu). */
void fs_event(struct fs_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_error(struct fs_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The store's syncer's reports (engine_store_on_sync(); ARG the context) into errors, events
 * and the log: once when a level write's deferred syncs fail, once when they work again. */
void fs_store_synced(int error, const char *why, void *arg);

/* ---- changes (fs_apply.c) ---- */

/* What a change writes. */
enum fs_target_kind {
    FS_TARGET_FILE,     /* a whole store file: topology.yaml, policy/... */
    FS_TARGET_LEVEL,    /* nodes/<node>/security_level */
    FS_TARGET_PROPERTY, /* nodes/<node>/properties/<prop> */
    FS_TARGET_TLS_CERT, /* nodes/<node>/tls/cert */
    FS_TARGET_TLS_KEY,  /* nodes/<node>/tls/key */
    FS_TARGET_RULES,    /* policy/acl.d/<node>: a rules file */
    FS_TARGET_INPUT,    /* inputs/<node>: one input, in file inputs.yaml */
    FS_TARGET_N,
};

struct fs_target {
    enum fs_target_kind kind;
    enum fs_file file; /* FS_TARGET_FILE */
    const char *node;  /* LEVEL, PROPERTY, RULES: the file's name (borrowed) */
    const char *prop;  /* PROPERTY (borrowed) */
    const char *path;  /* the path in the mount, for messages (borrowed) */
    int remove;        /* RULES: the file is removed; INPUT: its value (unlink) */
};

/* Largest write accepted for T (EFBIG beyond). */
size_t fs_target_max(const struct fs_target *t);

/*
 * Validates DATA[0..LEN) as the new content of T, commits it as UID, and serves it.
 * Serialised with every other change. Returns 0 (also when nothing changed: no commit) or a
 * negative errno: -EINVAL (invalid; the reason is in errors), -ENOENT, -EFBIG, -EBUSY (the
 * store's work tree has an edit of that file), -EIO. Every refusal is appended to errors
 * and the daemon log; every commit to events.
 */
int fs_apply(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len, uid_t uid);
/* The same, in a FUSE call on a directory's names (unlink, rename): it does not wait for the
 * names the change removed to be dropped from the kernel's cache (fs_inval_wait()). */
int fs_apply_in_dir(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                    uid_t uid);

/*
 * Validates DATA[0..LEN) as fs_apply() does, without committing or serving it: the check a
 * write() makes early, so that a shell whose builtin ignores close(2)'s error still sees the
 * refusal. A refusal is recorded as fs_apply() records it.
 */
int fs_apply_check(struct fs_ctx *c, const struct fs_target *t, const char *data, size_t len,
                   uid_t uid);

/* Looking at the store for changes made from outside: fs_watch.h. */
void fs_staged_free(struct fs_staged *v, size_t n);

/* ---- deployment records (fs_record.c) ---- */

/* The file of a record, and how many times one is tried when another process moved the
 * host's ref or holds its lock (-EAGAIN). */
#define FS_DEPLOYED_PATH ENGINE_STORE_DEPLOYED_PATH
#define FS_RECORD_TRIES  6

/* The host whose ref this daemon records on: its -o host=NAME, else ENGINE_STORE_HOST_LOCAL. */
const char *fs_record_host(const struct fs_ctx *c);

/*
 * Commits TEXT[0..LEN) as FS_DEPLOYED_PATH with message MSG, authored by the daemon
 * (`unisec`), on this daemon's host's ref (ENGINE_STORE_DEPLOYED_PREFIX HOST), its parent the
 * host's previous record: the orchestrator's record of NODE's deployment. main, the work tree
 * and the users' changes are not touched. On -EAGAIN waits a little longer each time (20 ms,
 * 40 ms, ...) and tries again, FS_RECORD_TRIES times in all. Says in events what became of
 * it. With PATCH (PATCH_LEN bytes; may be NULL) the commit holds it too, as ORCH_RECORD_PATCH:
 * the patch an internal PDP's image carries over its base (orch.h). Returns 0 or the store's
 * last error.
 */
int fs_apply_record(struct fs_ctx *c, const char *node, const char *text, size_t len,
                    const char *msg, const void *patch, size_t patch_len);

/*
 * What HOST last recorded: the text of FS_DEPLOYED_PATH of its ref's commit (*TEXT, caller
 * frees), that commit's id (ID, may be NULL) and time (*WHEN, may be NULL). A store whose
 * host has no ref yet but whose main holds FS_DEPLOYED_PATH (records were committed on main
 * before) gives main's, for HOST ENGINE_STORE_HOST_LOCAL only. -ENOENT when there is none.
 */
int fs_record_last(const struct engine_store *store, const char *host, char **text, size_t *len,
                   char id[41], int64_t *when);

/* Writes the line "last deployed by host H: LINE (record ID, TIME)" for NODE placed on HOST
 * (NULL: ENGINE_STORE_HOST_LOCAL) to OUT, or "host H has recorded no deployment of NODE". */
void fs_record_status(struct fs_ctx *c, const char *node, const char *host, FILE *out);

/* The same as a JSON object {host, record, time, line} (line null when none), or NULL. */
struct json_t;
struct json_t *fs_record_status_json(struct fs_ctx *c, const char *node, const char *host);

/* ---- files' times and inotify (fs_touch.c; fs/MOUNT.md "Times and watchers") ---- */

/* Forks the process that touches changed files through the mount at ROOT (absolute). After
 * daemonising, before any thread is started. Returns 0 or a negative errno. */
int fs_touch_start(struct fs_ctx *c, const char *root);
/* Ends it (the mount may be gone) and forgets every time. */
void fs_touch_stop(struct fs_ctx *c);
/* PATH (in the mount, no leading '/') changed at T: recorded, and touched. mu not held. */
void fs_touch(struct fs_ctx *c, const char *path, const struct timespec *t);
/* T as PATH's time unless it has one already: nothing is touched (the times at the mount). */
void fs_touch_seed(struct fs_ctx *c, const char *path, const struct timespec *t);
/* The time recorded for PATH (a leading '/' allowed) into *T: 1, or 0 when none. */
int fs_touch_mtime(struct fs_ctx *c, const char *path, struct timespec *t);
/* The time of any policy file's last change (a source of nodes/NODE/acl; no file's name). */
#define FS_TOUCH_POLICY ".policy"
/* The mtime of W's file (PATH) into *MT when it is recorded (tracked) or derived from recorded
 * ones (a node's modules, pdp, acl, type, template.yaml, levels, properties): 1, else 0. */
int fs_touch_file_mtime(struct fs_ctx *c, const struct fs_where *w, const char *path,
                        struct timespec *mt);
/* Seeds each file's time with the commit of main that last changed it (fs_times.c): before
 * the mount is served. 0 or a negative errno (the times then start at the mount). */
int fs_times_load(struct fs_ctx *c);
/* Is the FUSE call being served the touching process's? */
int fs_touch_by_toucher(struct fs_ctx *c);
/* S was installed in place of OLD: touches history and what differs. */
void fs_touch_installed(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s);
/* NODE's status may have changed (the orchestrator says so): touches status, status.json. */
void fs_touch_node(struct fs_ctx *c, const char *node);

/* ---- the metrics listener (fs_http.c; fs/MOUNT.md "Metrics") ---- */

/* Connections served at once, the bytes of a request head, the time one may take. */
#define FS_HTTP_CONNS      16
#define FS_HTTP_HEAD_MAX   2048
#define FS_HTTP_TIMEOUT_MS 5000

/* Binds and listens on ADDR ("HOST:PORT", "[IPV6]:PORT") as c->http_fd. Before daemonising;
 * returns 0 or a negative errno with *WHY a static sentence. */
int fs_http_bind(struct fs_ctx *c, const char *addr, const char **why);
/* Starts / stops the thread that answers on c->http_fd (nothing without one). */
int fs_http_start(struct fs_ctx *c);
void fs_http_stop(struct fs_ctx *c);

/* ---- the orchestrator (fs_orch.c) ---- */

struct orch;

/* Starts the orchestrator (unless no_run), gives it the served state and every state installed
 * later (ctx->installed), and has fs_apply_record() commit its deployment records. After
 * daemonising: it runs threads. Returns 0 or a negative errno with D filled. */
int fs_orch_start(struct fs_ctx *c, struct engine_diag *d);
/* Stops every instance and the orchestrator. */
void fs_orch_stop(struct fs_ctx *c);

/* ---- the tree (fs_tree.c) and its paths (fs_path.c) ---- */

struct fs_entry;

/* Where a path points once resolved. */
struct fs_where {
    const struct fs_entry *e;   /* NULL for a temporary file or nothing */
    char dir[PATH_MAX];         /* the parent directory, "" for the root */
    char name[FS_NAME_MAX + 1]; /* the last segment */
    char node[FS_NAME_MAX + 1]; /* the node of a nodes/<node>/... path */
    char prop[FS_NAME_MAX + 1]; /* the property of a nodes/<node>/properties/<prop> path */
    int absent; /* a rules file policy/acl.d/<node> that does not exist yet: a write (create,
                 * rename onto it) makes it; anything else finds nothing (ENOENT) */
};

/* Generates a file's content into OUT (an open_memstream). Returns 0, a negative errno (no
 * content: the open fails), or FS_GEN_FAILED: the content is the report of a failure, read
 * whole, after which a read at its end fails with EIO (`cat settle` exits non-zero). */
#define FS_GEN_FAILED 1
typedef int (*fs_gen_fn)(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                         FILE *out);
/* A file served as the state holds it (a store file, a rules file): its text in S, or NULL. */
typedef const struct fs_text *(*fs_text_fn)(const struct fs_snap *s, const struct fs_where *w);

/* The `metrics` file: C's counts and the orchestrator's, in Prometheus' text format
 * (fs_metrics.c; an fs_gen_fn of the tree). */
int fs_gen_metrics(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out);

/* `settle` and `settle.json`: block until the orchestrator has realised the last accepted
 * change (or failed to: FS_GEN_FAILED), then say so (fs_settle.c; fs_gen_fns of the tree). */
int fs_gen_settle(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out);
int fs_gen_settle_json(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                       FILE *out);

/* nodes/NODE/tls/cert and key.fingerprint: as committed; key: nothing (it is never read
 * back; fs_io.c refuses to open it for reading). An fs_gen_fn of the tree (fs_tls.c). */
int fs_gen_tls(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w, FILE *out);

/* What a write to a file of the tree changes. */
enum fs_write {
    FS_W_NONE,     /* read-only */
    FS_W_FILE,     /* the whole store file `file` */
    FS_W_LEVEL,    /* a node's level */
    FS_W_PROPERTY, /* a node's property */
    FS_W_TLS_CERT, /* a node's certificate chain */
    FS_W_TLS_KEY,  /* a node's private key (write-only: never read back) */
    FS_W_RULES,    /* a rules file of policy/acl.d */
    FS_W_INPUT,    /* one input's value in inputs.yaml (fs_inputs.h) */
};

/* One row of the tree: a path pattern ('*' stands for one segment: a node's name first, a
 * property's name second) and what it is. */
struct fs_entry {
    const char *pattern;
    mode_t mode;         /* S_IFDIR / S_IFREG and permission bits */
    fs_gen_fn gen;       /* regular files: the content (NULL for live logs) */
    fs_text_fn text;     /* or the state's text, as is: stat and read copy none of it */
    enum fs_write write; /* what a write changes */
    enum fs_file file;   /* FS_W_FILE: which store file */
    enum fs_live live;   /* events, errors: read from the log as it grows */
    int temp_dir;        /* directories: editors' temporary files may be created here */
    int at_open;         /* made only when opened (a read may block): stat says size 0 */
    int disk;      /* images/ID/NAME: read from its file by offset (pread), sized by its stat; gen
                    * copies it whole only for a rename to a temporary file */
    int runs_only; /* nodes/NODE/...: only for a node unisec runs (a unikernel) */
    int tracked;   /* its time is when it last changed (fs_touch.c), else the mount's
                    * start; other files show the time of the last change of anything */
};

/* The rows of the tree, in the order a path is matched against them (fs_tree.c). */
extern const struct fs_entry fs_tree[];
extern const size_t fs_tree_n;
/* Node NAME of the state S, or NULL. */
const struct engine_topology_node *fs_node(const struct fs_snap *s, const char *name);

/* Finds PATH's row in the tree (W->e), or leaves it NULL (a temporary file or nothing), with
 * PATH's parts in W (fs_path.c, as are fs_dir_entry, fs_image_link and fs_tree_list). Returns
 * 0 or -ENAMETOOLONG. */
int fs_resolve(struct fs_ctx *c, const char *path, struct fs_where *w);
/* The row of directory DIR ("" for the root), or NULL. */
const struct fs_entry *fs_dir_entry(struct fs_ctx *c, const char *dir);
/* Is E a file a write changes? */
int fs_writable(const struct fs_entry *e);
/* BUF gets up to SIZE bytes at OFF of DATA[0..LEN): the count read. */
int fs_copy_out(char *buf, size_t size, off_t off, const char *data, size_t len);
/* Generates the content of W's file (a regular file, not live) into a new buffer *OUT;
 * returns what the generator did (0, FS_GEN_FAILED with the content, or a negative errno). */
int fs_generate(struct fs_ctx *c, const struct fs_where *w, char **out, size_t *len);
/* The served text of W's file (its row has one: W->e->text), shared into *OUT (fs_text_free()
 * it): 0, -ENOENT (a rules file that is not there) or -ENOMEM. */
int fs_served_text(struct fs_ctx *c, const struct fs_where *w, struct fs_text *out);
/* The change a write to W's row makes (PATH names it in messages; borrowed, as W is). */
void fs_target_of(struct fs_target *t, const struct fs_where *w, const char *path);
/* nodes/NODE/image: "../../images/ID" of the image NODE runs into BUF; -ENOENT when none. */
int fs_image_link(struct fs_ctx *c, const char *node, char *buf, size_t size);
/* A file of an image's directory (W's row is .disk): opened read-only, its descriptor, or
 * -ENOENT; its size and time (when it was built), of FD when it is open (>= 0: a removed
 * image stays readable while open), else of the file W names. */
int fs_disk_open(struct fs_ctx *c, const struct fs_where *w);
int fs_disk_stat(struct fs_ctx *c, const struct fs_where *w, int fd, size_t *size,
                 struct timespec *mtime);
/* SIZE bytes of FD at OFF into BUF, fewer only at its end: the count, or -EIO. */
int fs_disk_read(int fd, char *buf, size_t size, off_t off);
/* The row's content generator: the whole file (only a rename to a temporary file copies it). */
int fs_gen_image_file(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                      FILE *out);

/* Called once per name of a directory listing. */
typedef void (*fs_list_fn)(void *arg, const char *name);
/* Lists the tree's directory P (relative, "" for the root): ".", "..", then its rows, every
 * node, property or image a starred row stands for. Returns 0, -ENOENT or -ENOTDIR. */
int fs_tree_list(struct fs_ctx *c, const char *p, fs_list_fn fn, void *arg);

/* ---- temporary files (fs_temp.c: in memory, never committed) ---- */

struct fs_temp {
    struct fs_temp *next; /* ctx->mu */
    char *dir;            /* the directory, "" for the root, "nodes/web" */
    char *name;
    struct fs_text body; /* bytes written (data may be NULL when len is 0) */
    size_t cap;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec atime, mtime, ctime;
    unsigned opens; /* open handles */
    int linked;     /* 0 once unlinked or renamed over; freed at the last release */
};

/* The functions below are called with c->mu held. */

/* The temporary file DIR/NAME that is still linked, or NULL. */
struct fs_temp *fs_temp_find(struct fs_ctx *c, const char *dir, const char *name);
/* Makes a new temporary file DIR/NAME holding DATA[0..LEN), of MODE, UID and GID, not open
 * (*OUT). Returns 0, -ENOSPC (too many or too large together), -EFBIG or -ENOMEM. */
int fs_temp_make(struct fs_ctx *c, struct fs_temp **out, const char *dir, const char *name,
                 const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid);
/* Unlinks T; frees it now when nothing has it open (else at fs_temp_put()). */
void fs_temp_unlink(struct fs_ctx *c, struct fs_temp *t);
/* Ends one of T's opens (counted in T->opens); frees T after the last when it is unlinked. */
void fs_temp_put(struct fs_temp *t);
/* At the end of the mount: frees every temporary file. */
void fs_temp_free_all(struct fs_ctx *c);
/* Makes T LEN bytes long (zeros added at the end): 0, -EFBIG, -ENOSPC or -ENOMEM. */
int fs_temp_truncate(struct fs_ctx *c, struct fs_temp *t, size_t len);
/* Writes BUF[0..SIZE) at OFF (at the end when APPEND). Returns SIZE or a negative errno as
 * fs_temp_truncate(). */
int fs_temp_write(struct fs_ctx *c, struct fs_temp *t, const char *buf, size_t size, off_t off,
                  int append);
/* Gives T (linked, no other file of that name) the name DIR/NAME: 0 or -ENOMEM. */
int fs_temp_rename(struct fs_ctx *c, struct fs_temp *t, const char *dir, const char *name);
/* Moves *MTIME forward to when a temporary file was last made, removed or renamed in DIR
 * (a directory's mtime changes with its entries, which editors and make look at). */
void fs_temp_dir_mtime(struct fs_ctx *c, const char *dir, struct timespec *mtime);
/* Calls FN(ARG, name) for every temporary file of directory DIR. */
void fs_temp_list(struct fs_ctx *c, const char *dir, fs_list_fn fn, void *arg);

/* ---- open files (fs_handle.c) ---- */

/* What the kernel's file handle (fuse_file_info.fh) points to, from open to release. */
enum fs_handle_kind {
    FS_H_SNAPSHOT, /* a read-only file: its content at open */
    FS_H_CONTROL,  /* a writable store file: a private buffer, applied at flush */
    FS_H_TEMP,     /* an in-memory temporary file (shared by its handles) */
    FS_H_LIVE,     /* events or errors: read as they grow */
    FS_H_DISK,     /* a file of an image's directory, read from it by offset */
};

struct fs_handle {
    enum fs_handle_kind kind;
    struct fs_where w;
    char *path;
    pthread_mutex_t mu; /* protects buf, len, cap, dirty */
    char *buf;          /* SNAPSHOT: text's bytes; else owned, its first HELD bytes wiped at free */
    size_t len, cap, held;
    struct fs_text text;  /* SNAPSHOT: the served text read, shared (fs_served_text()) */
    int dirty;            /* CONTROL: written since the last flush */
    int append;           /* opened with O_APPEND */
    int trunc;            /* CONTROL: opened with O_TRUNC */
    int wrote;            /* CONTROL: write() was called (even if refused) */
    int applied;          /* CONTROL: a change was applied from this handle */
    uid_t uid;            /* who opened it (release comes without the closer's credentials) */
    int failed;           /* CONTROL: a write or ftruncate was refused with this errno: nothing of
                           * the handle is applied any more (no later write, flush or release), every
                           * later write and flush returns it again */
    int eof_error;        /* SNAPSHOT: a read at the end of buf fails with this errno (the content
                           * reports a failure: FS_GEN_FAILED) */
    size_t seen;          /* LIVE: where the last read ended (poll: more to read past it) */
    struct fs_temp *temp; /* TEMP: counted in temp->opens (ctx->mu) */
    int fd;               /* DISK: the file, open from open to release */
    struct fs_handle *prev, *next; /* ctx->mu: ctx->handles, from open to release */
};

/* A handle of KIND on PATH (resolved as W), opened by UID; NULL when out of memory. */
struct fs_handle *fs_handle_new(enum fs_handle_kind kind, const char *path,
                                const struct fs_where *w, uid_t uid);
void fs_handle_free(struct fs_handle *h);
/* Counts H in C's open handles (from its open until fs_handle_release()). */
void fs_handle_track(struct fs_ctx *c, struct fs_handle *h);
/* The kernel's release of H: applies an O_TRUNC open that wrote nothing, then frees H. */
void fs_handle_release(struct fs_ctx *c, struct fs_handle *h);
/* A file of an image's directory at PATH that a handle holds open (FS_H_DISK): a duplicate of
 * its descriptor (caller closes) and its W, or -ENOENT when none is open. For an fstat(2) of
 * it after the collector removed the image: the kernel asks by path, without the handle. */
int fs_handle_disk_dup(struct fs_ctx *c, const char *path, struct fs_where *w);
/* Is a rules file NAME being made: open by a create, not applied yet? Caller holds c->mu. */
int fs_handle_making(struct fs_ctx *c, const char *name);
/* At unmount: frees the handles whose release the kernel had not sent before the session
 * ended. */
void fs_handles_drop(struct fs_ctx *c);
/* Flush and fsync: applies a control handle's buffer as UID when it was written; clears its
 * dirty mark. Returns 0 or the change's error. */
int fs_handle_apply(struct fs_ctx *c, struct fs_handle *h, uid_t uid);
/* A write of BUF[0..SIZE) at OFF to a control handle by UID: kept in its buffer and checked
 * early (a line of a level or a property is applied at once). Returns SIZE or a negative
 * errno (-EFBIG, the check's error). */
int fs_handle_write(struct fs_ctx *c, struct fs_handle *h, const char *buf, size_t size, off_t off,
                    uid_t uid);
/* ftruncate of a control handle to SIZE bytes by UID. Returns 0 or a negative errno: -EFBIG past
 * the file's bound, -ENOMEM, or the error of an earlier refused write; a refusal fails the
 * handle as a refused write does. */
int fs_handle_truncate(struct fs_ctx *c, struct fs_handle *h, size_t size, uid_t uid);

/* ---- the service manager (fs_notify.c) ---- */

/* The socket a service manager (systemd, Type=notify) listens on for the state of the mount. */
#define FS_NOTIFY_ENV "NOTIFY_SOCKET"

/* Reads $NOTIFY_SOCKET (a path, or '@' and an abstract name) and removes it from the
 * environment. Returns 1 when there is one, 0 when not, -EINVAL when it is malformed (then
 * fs_notify() sends nothing). Call once, from the main thread, before any thread starts. */
int fs_notify_init(void);
/* Sends STATE (newline-separated VAR=VALUE: "READY=1", "STOPPING=1", "STATUS=...") in one
 * datagram. Returns 1 when sent, 0 when no manager listens, or a negative errno. */
int fs_notify(const char *state);

/* ---- serving (fs_serve.c; the FUSE operations are in fs_fuse.h) ---- */

/* Serves C at MOUNTPOINT with libfuse; FUSE_OPTS are libfuse's options. Returns the exit
 * status. FOREGROUND 0 daemonises after mounting. LOG_PATH is the log's sink (engine/log.h):
 * NULL stderr (or the journal), "syslog", or a file; SIGHUP reopens a file. */
int fs_serve(struct fs_ctx *c, const char *mountpoint, int foreground, const char *fuse_opts,
             const char *log_path);

/* ---- the commands (fs_cmd.c, fs_init.c, fs_status.c) ---- */

/* Opens the store in DIR and reads its head as the state to serve; prints why not (CMD names
 * the command in messages). fs_ctx_close() frees C either way. Returns 0 or a negative errno. */
int fs_ctx_open(struct fs_ctx *c, const char *dir, enum engine_target target, const char *cmd);
void fs_ctx_close(struct fs_ctx *c);

#endif
