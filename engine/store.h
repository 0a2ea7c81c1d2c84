/*
 * store.h — the store: the git repository (with a work tree) that holds unisec's desired
 * state. Every accepted change is one commit on branch `main`; operators audit it with
 * `git log` and may change it from outside (`git revert`, `git pull`, an edit in the work
 * tree), which the daemon notices with engine_store_refresh() and
 * engine_store_worktree_changes().
 *
 * Layout of main's tree (DESIGN.md section 2): topology.yaml, state/levels,
 * state/properties, policy/acl, policy/groups, policy/credentials; each host's deployment
 * records are commits on its own ref beside main (ENGINE_STORE_DEPLOYED_PREFIX HOST, below),
 * each holding state/deployed (older stores have it on main). The store itself does not
 * interpret file contents; it only checks paths.
 *
 * Errors: every function returns 0 (or a documented positive code) on success and a negative
 * errno on failure: -EINVAL (bad argument or path), -ENOENT (no such file at HEAD), -ENOTDIR,
 * -EISDIR, -EEXIST, -EBUSY, -EAGAIN (see each function), -ENOMEM, -EIO (any other libgit2 or
 * file-system failure). Functions that take a `struct engine_diag *diag` append one message
 * naming the store's directory (as the entry's file) and the operation; DIAG may be NULL when
 * the caller does not want the text. The store never prints and never exits.
 *
 * The store's head: main's commit as the store last saw it, i.e. its own last commit or what
 * engine_store_open() or engine_store_refresh() found. Reads, the log and the work-tree
 * comparison are relative to it, so an outside change is invisible until the caller has
 * refreshed (and can validate it).
 *
 * Thread-safety: one store may be used from many threads. Every call that touches the
 * repository takes the store's mutex, so commits are serialised (one change at a time) and
 * readers wait while a commit is being made. Distinct store objects are independent: open
 * one per directory per process, and let one process (the daemon) write a store.
 *
 * Signatures: when the git directory holds a private SSH key, .git/unisec-signing-key (mode
 * 0600, the store owner's; engine_store_init() can install it), every commit the store makes
 * is signed with it in git's SSH signature format (a `gpgsig` header holding an armored
 * sshsig over the commit, namespace "git", made by `ssh-keygen -Y sign`), so that
 * `git verify-commit` and `git log --show-signature` check it. The key never leaves that file:
 * ssh-keygen reads it; the store never reads, logs or commits it. Signatures are checked with
 * `ssh-keygen -Y find-principals` and `-Y verify` against the allowed signers file named by
 * git's own `gpg.ssh.allowedSignersFile` in the store's configuration, as git does.
 *
 * libgit2: the store initialises libgit2 itself (one git_libgit2_init() per open store, the
 * matching shutdown in engine_store_free()) and, once per process, turns on libgit2's fsync
 * of objects, refs and reflogs (GIT_OPT_ENABLE_FSYNC_GITDIR). That option is global: other
 * libgit2 users in the same process get it too. The index and the work tree the store fsyncs
 * itself.
 *
 * Durability: engine_store_init(), engine_store_commit() and engine_store_restore() return
 * only after the objects and the ref they wrote are on stable storage, and the index and the
 * work-tree files and directories too, except for a commit that only rewrites existing files
 * (a level write): their syncs and the index's are made by a thread of the store within
 * engine_store_sync_delay() (200 ms), one for all the commits of the same paths meanwhile,
 * and the journal, synced before main moved, names those paths until then. A commit that is
 * interrupted (kill -9, power loss) leaves either the old `main` or the new one, never a
 * broken ref; a work tree left half-updated is finished by the next engine_store_open(),
 * engine_store_commit() or engine_store_refresh() (the store keeps a small journal,
 * .git/unisec-sync, which names the paths while it updates the work tree and is marked
 * finished otherwise). engine/STORE.md gives the argument, step by step.
 */
#ifndef UNISEC_ENGINE_STORE_H
#define UNISEC_ENGINE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"

/* Longest path accepted inside the store, and longest single path segment. */
#define ENGINE_STORE_PATH_MAX    1024
#define ENGINE_STORE_SEGMENT_MAX 255

/* The store's signing key, inside its git directory. */
#define ENGINE_STORE_KEY_FILE "unisec-signing-key"

/* The store's git configuration key that makes the mount apply only commits signed by an
 * allowed signer (engine_store_signed_only()). */
#define ENGINE_STORE_SIGNED_ONLY "unisec.signedOnly"

/* The branch every commit goes to. */
#define ENGINE_STORE_BRANCH "refs/heads/main"

/*
 * Success, but the work tree and index are not yet equal to main for the paths of a commit
 * (e.g. another git process holds .git/index.lock); DIAG says why. The store keeps the update
 * pending and retries it at the next engine_store_commit(), engine_store_refresh() or
 * engine_store_open(). Returned by those three.
 */
#define ENGINE_STORE_WORKTREE_STALE 1

/* An opened store. Opaque; see engine_store_open(). */
struct engine_store;

/* Who made a change. Both strings are borrowed; neither may be empty or contain '<', '>' or
 * control characters. */
struct engine_store_author {
    const char *name;
    const char *email;
};

/* Storage for an author made by engine_store_author_from_uid(); `author` points into it. */
struct engine_store_author_buf {
    struct engine_store_author author;
    char name[256];
    char email[256 + 1 + 256];
};

/*
 * Fills OUT with the author for UID: the user name from the password database
 * (getpwuid_r), or `uid-UID` (e.g. `uid-1234`) when the uid has no entry; the email is
 * `NAME@HOST` with HOST this machine's host name (gethostname), or `NAME@localhost` when the
 * host name is unavailable or not a plain DNS name. A user name containing characters a git
 * signature cannot hold is replaced by `uid-UID` too.
 * Returns 0, or -EIO when the password database itself fails (not for an unknown uid).
 * Thread-safe.
 */
int engine_store_author_from_uid(struct engine_store_author_buf *out, uid_t uid);

/* One file of a change: write DATA (LEN bytes, borrowed; may hold any bytes) at PATH, or,
 * when REMOVE is nonzero, delete PATH (DATA and LEN are ignored). PATH is relative to the
 * root of the store, '/'-separated, e.g. "state/levels".
 * FROM_WORKTREE nonzero takes an operator's hand edit as it is: DATA is what the caller read
 * (and validated) from PATH's work-tree file (REMOVE: the file is gone). The commit checks
 * that the file still holds exactly that, commits it and brings the index to it, with the
 * file's stat (so `git status` need not read it again); the work-tree file is never
 * rewritten, so no crash can lose the edit. */
struct engine_store_change {
    const char *path;
    const char *data;
    size_t len;
    int remove;
    int from_worktree;
};

/*
 * Checks PATH as a store path: relative, non-empty, '/'-separated, no empty segment, no `.`
 * or `..` segment, no segment named `.git` (in any case), no control character, at most
 * ENGINE_STORE_PATH_MAX bytes and ENGINE_STORE_SEGMENT_MAX per segment. Returns 0 or -EINVAL
 * (with a message naming PATH in DIAG, which may be NULL). Every function below that takes a
 * path applies this check.
 */
int engine_store_path_check(const char *path, struct engine_diag *diag);

/*
 * Creates DIR as a git repository with a work tree, writes FILES (N entries; `remove` must be
 * 0; N may be 0 for an empty tree) and makes the first commit on branch main, with AUTHOR as
 * author and committer and MESSAGE as message (see engine_store_commit()). SIGNING_KEY (may
 * be NULL) is a private SSH key file (mode 0600) copied to .git/unisec-signing-key before
 * that commit, which is then signed like every later one; it is tried before anything is
 * created (-EPERM when others may read it, -EIO when ssh-keygen cannot sign with it, e.g. a
 * key with a passphrase). DIR is created if
 * it does not exist (its parent must); an existing DIR must be an empty directory, otherwise
 * -EEXIST. On success *OUT is the opened store (free with engine_store_free()). On failure
 * *OUT is NULL and DIR may hold a partial repository: remove it before trying again.
 */
int engine_store_init(struct engine_store **out, const char *dir,
                      const struct engine_store_change *files, size_t n,
                      const struct engine_store_author *author, const char *message,
                      const char *signing_key, struct engine_diag *diag);

/*
 * Opens the store in DIR (the work tree; the repository is DIR/.git). DIR must be a
 * non-bare repository whose HEAD is branch main with at least one commit (-EINVAL
 * otherwise, -ENOENT when DIR is not a repository). Finishes a work-tree update that an
 * interrupted commit left (see Durability): when the writer of that commit is no longer
 * running, the lock files it left behind (.git/index.lock, .git/refs/heads/main.lock, those
 * not older than its journal) are removed first. Returns ENGINE_STORE_WORKTREE_STALE (with
 * *OUT set) when that update cannot be finished now. The store remembers main's commit as
 * the one the caller has seen (see engine_store_refresh()). One process at a time may have a
 * store open for writing. *OUT is NULL on failure.
 */
int engine_store_open(struct engine_store **out, const char *dir, struct engine_diag *diag);

/* Closes the store and releases its libgit2 reference. Accepts NULL. No other thread may be
 * using the store. */
void engine_store_free(struct engine_store *s);

/* The store's directory as given to init/open (borrowed, valid until engine_store_free()). */
const char *engine_store_dir(const struct engine_store *s);

/*
 * Reads the file PATH as it is in the store's head (not the work tree). On success *DATA
 * is a new buffer of *LEN bytes plus a terminating NUL (not counted; the caller frees it).
 * -ENOENT when PATH is absent, -EISDIR when it is a directory, -ENOTDIR when a parent is a
 * file, -EINVAL when it is a symbolic link or a submodule (a link's blob is its target's name,
 * never read as the file's text), each named in DIAG. *DATA is NULL on failure.
 */
int engine_store_read(const struct engine_store *s, const char *path, char **data, size_t *len,
                      struct engine_diag *diag);

/* engine_store_read() of PATH as it is in commit COMMIT (40 hex digits; any commit of the
 * repository) instead of the head; -ENOENT also for an unknown commit. */
int engine_store_read_at(const struct engine_store *s, const char *commit, const char *path,
                         char **data, size_t *len, struct engine_diag *diag);

/* engine_store_read_at() (COMMIT NULL: the head) of a file that may hold at most MAX bytes:
 * a larger one is -EFBIG, named in DIAG, and is never read (what an outside commit or a pull
 * brings is bounded as a write through the mount is). */
int engine_store_read_max(const struct engine_store *s, const char *commit, const char *path,
                          size_t max, char **data, size_t *len, struct engine_diag *diag);
/* The largest file a store serves (a policy file): the mount's bound of policy files and of
 * every file `unisec verify` reads (fs/MOUNT.md, Limits). */
#define ENGINE_STORE_FILE_MAX (64u << 20)
/* How a file past its bound is named (its size, then the bound: two size_t). */
#define ENGINE_STORE_TOO_LARGE "%zu bytes, more than the %zu this file may hold"

/* 1 when commit ID (40 hex digits) is the store's head or one of its ancestors, 0 when not
 * (or unknown), a negative errno on failure. */
int engine_store_in_main(const struct engine_store *s, const char *id, struct engine_diag *diag);

/* An entry of a directory listing. */
struct engine_store_dirent {
    char *name;  /* owned by the array; one segment, no '/' */
    int is_dir;  /* 1 for a directory, 0 for a file */
    int is_link; /* 1 for a symbolic link (a file whose blob is the link's target) */
    size_t size; /* bytes of a file; 0 for a directory */
    char id[41]; /* its git object id (a file's blob id: the same content, the same id) */
};

/*
 * Lists directory DIR ("" or NULL for the root) of the store's head, sorted by name
 * (git's order). *OUT is a new array of *N entries (NULL when *N is 0); free it with
 * engine_store_list_free(). -ENOENT when DIR is absent, -ENOTDIR when it is a file.
 */
int engine_store_list(const struct engine_store *s, const char *dir,
                      struct engine_store_dirent **out, size_t *n, struct engine_diag *diag);
/* The same for commit COMMIT (40 hex digits; NULL: the head). */
int engine_store_list_at(const struct engine_store *s, const char *commit, const char *dir,
                         struct engine_store_dirent **out, size_t *n, struct engine_diag *diag);
/* The blob id git gives DATA[0..LEN) as a file (40 hex digits and a NUL): hashes DATA only,
 * writes nothing. */
void engine_store_blob_id(const char *data, size_t len, char out[41]);
void engine_store_list_free(struct engine_store_dirent *v, size_t n);

/*
 * Makes one commit on main from the store's head plus CHANGES (N >= 1 entries, paths
 * distinct and none inside another). Author and committer are both AUTHOR, with the current
 * time; the design makes the writer the committer. The message is MESSAGE, with a newline
 * appended when it has none (git's convention); it must not be empty. The index and the work
 * tree are updated for the changed paths, so `git status` stays clean.
 *
 * OUT_ID receives the new commit's id (40 hex digits and a NUL). A change that leaves the tree
 * identical makes no commit: returns 0 with OUT_ID set to "" (empty string).
 *
 * Refusals, each with a message in DIAG and nothing committed:
 *  -EINVAL  a bad path, author or message, duplicate or nested paths;
 *  -ENOENT  removing a path that is absent; -EISDIR/-ENOTDIR writing over a directory or
 *           below a file (or removing a directory);
 *  -EBUSY   a changed path has uncommitted edits in the work tree or index (an operator's
 *           hand edit, which the store does not overwrite: commit it with FROM_WORKTREE or
 *           restore it first); or a FROM_WORKTREE path whose file no longer holds DATA (it
 *           was edited again: read it again);
 *  -EAGAIN  main moved outside the store since it was last seen (call engine_store_refresh(),
 *           validate, and try again), or another git process holds main's lock.
 * ENGINE_STORE_WORKTREE_STALE (positive): the commit is made and durable (OUT_ID is set) but
 * the work tree or index could not be updated (see there). A pending update that an earlier
 * commit left and that still cannot be finished makes this commit fail with its error.
 * Durable before it returns (see the top of this file). Thread-safe (serialised).
 */
int engine_store_commit(struct engine_store *s, const struct engine_store_change *changes, size_t n,
                        const struct engine_store_author *author, const char *message,
                        char out_id[41], struct engine_diag *diag);

/* The steps of engine_store_commit(), for engine_store_step_cpu(): the checks (main, the pending
 * update, the work tree's hand edits), the blobs and trees, the journal (made and marked
 * finished), the commit object with main moved, the work tree and index brought to it. */
enum engine_store_step {
    ENGINE_STORE_STEP_CHECK,
    ENGINE_STORE_STEP_OBJECTS,
    ENGINE_STORE_STEP_JOURNAL,
    ENGINE_STORE_STEP_COMMIT,
    ENGINE_STORE_STEP_WORKTREE,
    ENGINE_STORE_STEP_N
};

/* The step's name as metrics show it ("check", "objects", ...). */
const char *engine_store_step_name(enum engine_store_step step);

/* The CPU time (user and system, of the committing thread) each step of every commit since the
 * store was opened took, in nanoseconds, into OUT. Thread-safe. */
void engine_store_step_cpu(const struct engine_store *s, uint64_t out[ENGINE_STORE_STEP_N]);

/* The calling thread's CPU time (user and system) in nanoseconds: the clock the steps are
 * measured with, for a caller that times its own steps alike. */
uint64_t engine_store_cpu_now(void);

/* Is NAME, in the store's git directory, a file that only the store writes (its journal, the
 * spare of main's ref)? A watcher of that directory need not look at the store for it. */
int engine_store_own_file(const char *name);

/* The id of the store's head (40 hex digits and a NUL). Never fails. */
int engine_store_head(const struct engine_store *s, char out_id[41], struct engine_diag *diag);

/* One commit, as the log walk reports it. Every pointer is borrowed for the callback only. */
struct engine_store_commit_info {
    char id[41];
    const char *author_name;
    const char *author_email;
    int64_t time;        /* author time, seconds since the epoch */
    int tz_offset;       /* author's time-zone offset from UTC, in minutes */
    const char *summary; /* the first paragraph of the message, on one line */
    const char *message; /* the whole message */
    char parent[41];     /* the first parent's id; "" for the first commit */
    unsigned parents;    /* how many parents it has (more than one: a merge) */
};

/*
 * Calls CB(PATH, REMOVED, ARG) for each file commit COMMIT (40 hex digits) added, changed or
 * removed against its first parent (WHOLE: against nothing, so every file it holds; a first
 * commit is always compared with nothing). A tree diff: objects are compared by id, and
 * neither an unchanged subtree nor a blob is read. CB runs without the store's mutex (it may
 * read the store); a negative result stops the calls and is returned. 0, or a negative errno
 * (-EINVAL for a bad id, -ENOENT for an unknown commit) with DIAG filled.
 */
int engine_store_changes(const struct engine_store *s, const char *commit, int whole,
                         int (*cb)(const char *path, int removed, void *arg), void *arg,
                         struct engine_diag *diag);

/*
 * Calls CB for at most MAX commits reachable from the store's head, newest first (every commit
 * before its parents, otherwise by commit time). Stops early when CB returns nonzero and returns
 * that value. CB runs with the store's mutex held: it must not call the store.
 */
int engine_store_log(const struct engine_store *s, size_t max,
                     int (*cb)(const struct engine_store_commit_info *info, void *arg), void *arg,
                     struct engine_diag *diag);

/* The author and summary of a commit, copied out of its engine_store_commit_info. */
struct engine_store_commit_line {
    char author[256];
    char summary[512];
};

/* The store's head commit's author and summary into *OUT, which is left as the caller set it
 * when there is none (an empty store) or it cannot be read. */
void engine_store_head_line(const struct engine_store *s, struct engine_store_commit_line *out);

/*
 * Notices that main moved outside the store (an operator's `git commit`, `git revert`,
 * `git pull`): *CHANGED is 1 when main's commit differs from the one the store last saw, 0
 * otherwise; OUT_ID (may be NULL) receives main's commit id; the store then takes it as
 * seen, so the next engine_store_commit() builds on it. The caller validates the new state
 * (engine_store_read()) before applying it. Also finishes a pending work-tree update, or
 * returns ENGINE_STORE_WORKTREE_STALE (with *CHANGED and OUT_ID set) when it still cannot.
 * -EINVAL when HEAD no longer points at main.
 */
int engine_store_refresh(struct engine_store *s, int *changed, char out_id[41],
                         struct engine_diag *diag);

/* How a work-tree file differs from the store's head. */
enum engine_store_wt_kind {
    ENGINE_STORE_WT_MODIFIED = 1, /* content (or file type) differs */
    ENGINE_STORE_WT_ADDED,        /* in the work tree only (untracked, not ignored) */
    ENGINE_STORE_WT_DELETED,      /* in the commit only */
};

struct engine_store_wtchange {
    char *path; /* owned by the array; relative to the store's directory */
    enum engine_store_wt_kind kind;
    int staged; /* 1 when the index's entry differs from the head's (git add, git rm) */
};

/*
 * Lists the work-tree files that differ from the store's head (an operator's hand edit),
 * sorted by path; files that .gitignore ignores are left out. STAGED marks a change the index
 * holds (its entry differs from the head's, or is gone): an operator's git operation under way,
 * whose commit may follow. *OUT is a new array of *N
 * entries (NULL when *N is 0); free it with engine_store_wtchanges_free(). The caller reads
 * the files from engine_store_dir() and either commits them in place with
 * engine_store_commit() (changes marked FROM_WORKTREE) or puts HEAD's content back with
 * engine_store_restore().
 */
int engine_store_worktree_changes(struct engine_store *s, struct engine_store_wtchange **out,
                                  size_t *n, struct engine_diag *diag);
void engine_store_wtchanges_free(struct engine_store_wtchange *v, size_t n);

/*
 * Puts PATH in the work tree and the index back to its content in the store's head,
 * discarding a hand edit; a PATH absent from the commit is deleted from the work tree. Durable
 * before it returns.
 */
int engine_store_restore(struct engine_store *s, const char *path, struct engine_diag *diag);

/* ---- signatures (see the top of this file) ---- */

/* 1 when the store's configuration sets ENGINE_STORE_SIGNED_ONLY (git config --bool), else
 * 0. Read anew at every call. */
int engine_store_signed_only(const struct engine_store *s);

/*
 * Checks the signature of commit ID (40 hex digits) against the allowed signers. Returns 0
 * with PRINCIPAL set to the signer's name as the allowed signers file gives it. A signer's
 * valid-after and valid-before are judged at the commit's committer time, as git does (was
 * the key allowed when the commit was made). -EPERM when
 * the commit is unsigned, signed by a key that is not an allowed signer, or its signature
 * does not verify (DIAG says which and names the commit); -EINVAL when the store's
 * configuration names no allowed signers file; -ENOENT for an unknown commit; -EIO when
 * ssh-keygen cannot be run.
 */
int engine_store_verify_commit(struct engine_store *s, const char *id, char principal[256],
                               struct engine_diag *diag);

/*
 * Checks TO and every commit TO reaches that FROM does not ("" for every one), newest first,
 * as engine_store_verify_commit() does but with signers' validity judged now (a key that is
 * no longer valid brings no new commit, whatever time the commit claims), stopping at the
 * first that fails: its id goes to
 * BAD ("" when all hold) and its error is returned.
 */
int engine_store_verify_new(struct engine_store *s, const char *from, const char *to, char bad[41],
                            struct engine_diag *diag);

/* ---- beside main: records on side refs, a repository read only, a tree checked ---- */

/* Each host records its deployments on its own ref, ENGINE_STORE_DEPLOYED_PREFIX HOST (HOST
 * the daemon's `-o host=NAME`, or ENGINE_STORE_HOST_LOCAL without one), one commit per
 * record whose parent is the host's previous record: main holds only people's decisions.
 * The record's tree holds one file, ENGINE_STORE_DEPLOYED_PATH. */
#define ENGINE_STORE_DEPLOYED_PREFIX "refs/unisec/deployed/"
#define ENGINE_STORE_DEPLOYED_PATH   "state/deployed"
#define ENGINE_STORE_HOST_LOCAL      "local"
/* Longest full ref name the store makes. */
#define ENGINE_STORE_REF_MAX (sizeof(ENGINE_STORE_DEPLOYED_PREFIX) + ENGINE_STORE_SEGMENT_MAX)

/* 0 when NAME can name a host in a ref: 1 to ENGINE_STORE_SEGMENT_MAX of [A-Za-z0-9._-], not
 * starting with '.' or '-', no "..", not ending ".lock"; else -EINVAL. */
int engine_store_host_check(const char *name);

/* OUT = ENGINE_STORE_DEPLOYED_PREFIX HOST; -EINVAL when engine_store_host_check() refuses. */
int engine_store_deployed_ref(char out[ENGINE_STORE_REF_MAX], const char *host);

/*
 * Makes one commit on REFNAME (a full ref name under refs/, not main) whose tree holds only
 * the file PATH with DATA (LEN bytes) and whose parent is REFNAME's commit (none when REFNAME
 * does not exist yet); signed as main's commits are. REFNAME moves only from that commit:
 * -EAGAIN when another process moved it meanwhile. AUTHOR and MESSAGE as for
 * engine_store_commit(). OUT_ID receives the new commit's id. Main, the index and the work
 * tree are not touched. Thread-safe (serialised with every other use of the store).
 */
int engine_store_commit_ref(struct engine_store *s, const char *refname, const char *path,
                            const char *data, size_t len, const struct engine_store_author *author,
                            const char *message, char out_id[41], struct engine_diag *diag);

/* A file of a commit made on a ref. */
struct engine_store_file {
    const char *path;
    const void *data;
    size_t len;
};

/* The same with the N files FILES (distinct paths; at most 8) in the commit's tree. */
int engine_store_commit_ref_files(struct engine_store *s, const char *refname,
                                  const struct engine_store_file *files, size_t n,
                                  const struct engine_store_author *author, const char *message,
                                  char out_id[41], struct engine_diag *diag);

/* The commit REFNAME points at into OUT_ID; -ENOENT when there is no such ref. */
int engine_store_ref_id(const struct engine_store *s, const char *refname, char out_id[41],
                        struct engine_diag *diag);

/* Calls CB for every ref whose name starts with PREFIX (sorted by name) with its commit id;
 * stops when CB returns nonzero and returns that value. CB may call the store. */
int engine_store_refs(const struct engine_store *s, const char *prefix,
                      int (*cb)(const char *refname, const char *id, void *arg), void *arg,
                      struct engine_diag *diag);

/* engine_store_log() from commit FROM (40 hex digits) instead of the head. */
int engine_store_log_from(const struct engine_store *s, const char *from, size_t max,
                          int (*cb)(const struct engine_store_commit_info *info, void *arg),
                          void *arg, struct engine_diag *diag);

/*
 * The version of PATH before the one of blob ID (40 hex digits; NULL or "": PATH absent) along
 * the first parents of commit FROM (NULL: the head), so only what main held: the newest of FROM
 * and its first ancestors whose PATH is not ID, at most MAX commits looked at. 1 when found, its
 * id in AT, and *DATA its PATH's bytes (NUL-terminated, *LEN of them; the caller frees), or NULL
 * when PATH is absent there or no regular file (a link, a directory, a submodule); 0 when no
 * commit before holds another version; -E2BIG past MAX; -EFBIG when that version is over
 * MAX_BYTES (named in DIAG); another negative errno. *WALKED (may be NULL): the commits looked
 * at. Reads no blob but the one returned: a commit and the trees on PATH's way per commit.
 */
int engine_store_path_before(const struct engine_store *s, const char *from, const char *path,
                             const char *id, size_t max, size_t max_bytes, char **data, size_t *len,
                             char at[41], size_t *walked, struct engine_diag *diag);

/* 1 when commit ID is TIP or one of its ancestors, 0 when not (or unknown), or -errno. */
int engine_store_descends(const struct engine_store *s, const char *tip, const char *id,
                          struct engine_diag *diag);

/*
 * Opens the repository DIR (bare or not) to be read only, or, when DIR is NULL, the one git's
 * environment names as git does for a hook: GIT_DIR, with GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES (a pre-receive hook finds the pushed objects, still in
 * quarantine, only so). The head is main's commit, or none when main does not exist yet
 * (engine_store_head() then gives 40 zeros). For engine_store_read_at(), the log functions,
 * engine_store_in_main(), engine_store_descends(), the refs, the signature functions and
 * engine_store_tree_check(); the functions that write refuse it with -EINVAL.
 */
int engine_store_open_repo(struct engine_store **out, const char *dir, struct engine_diag *diag);

/* The repository's git directory (a bare repository's own directory), ending with '/'
 * (borrowed, valid until engine_store_free()). */
const char *engine_store_git_dir(const struct engine_store *s);

/* Bounds of engine_store_tree_check(). */
struct engine_store_tree_limits {
    size_t entries;    /* files and directories in the whole tree */
    size_t depth;      /* directories nested below the root */
    size_t tree_bytes; /* the size of one directory's git object (its list of entries) */
    size_t blob_bytes; /* the size of one file */
};

/*
 * Walks the tree of COMMIT without reading any file's content (sizes come from the objects'
 * headers), so that its cost is bounded by LIM whatever the commit holds: refuses a symbolic
 * link, a submodule or any other entry that is not a regular file or a directory, a name that
 * engine_store_path_check() refuses, and anything past LIM (-EFBIG), each with a message whose
 * file is the entry's path. CB (may be NULL) is called with every file's path and size, with
 * the store's mutex held (it must not call the store); a nonzero return stops the walk and is
 * returned.
 */
int engine_store_tree_check(const struct engine_store *s, const char *commit,
                            const struct engine_store_tree_limits *lim,
                            int (*cb)(const char *path, size_t size, void *arg), void *arg,
                            struct engine_diag *diag);

/* A file a change brings: the commit (40 hex digits) it is in, its path, its bytes
 * (NUL-terminated; LEN without the NUL; DATA NULL: the change removes the file). Called with the
 * store's mutex held (it must not call the store); nonzero stops the walk and is returned. */
typedef int (*engine_store_file_cb)(const char *commit, const char *path, const char *data,
                                    size_t len, void *arg);

/* CB with every file of commit TO that differs from commit FROM's (NULL or "": every file).
 * A file over MAX_BYTES is refused (-EFBIG, naming its path) before it is read. */
int engine_store_diff_files(const struct engine_store *s, const char *from, const char *to,
                            size_t max_bytes, engine_store_file_cb cb, void *arg,
                            struct engine_diag *diag);

/* CB with every file that a commit reachable from TIP and from no ref of the repository adds or
 * changes against its first parent (in a pre-receive hook: every file a push brings, those of
 * intermediate commits too). More than MAX_COMMITS such commits: -E2BIG; a file over
 * MAX_BYTES: -EFBIG, naming its path, before it is read. */
int engine_store_new_files(const struct engine_store *s, const char *tip, size_t max_commits,
                           size_t max_bytes, engine_store_file_cb cb, void *arg,
                           struct engine_diag *diag);

/* ---- a remote that holds main (fs/MOUNT.md, "A remote as the source of truth") ---- */

/* Where engine_store_fetch() keeps the remote's main, so that `git log origin/main` in the
 * store shows it. */
#define ENGINE_STORE_REMOTE_REF "refs/remotes/origin/main"

/* How the remote's main stands to the store's main. */
enum engine_store_remote_rel {
    ENGINE_STORE_REMOTE_SAME,     /* the same commit */
    ENGINE_STORE_REMOTE_NEWER,    /* the remote's descends from ours: move to it */
    ENGINE_STORE_REMOTE_OLDER,    /* ours descends from the remote's: ours is ahead */
    ENGINE_STORE_REMOTE_DIVERGED, /* neither: each has commits the other lacks */
};

/*
 * Fetches branch main of the repository at URL through libgit2's transports (file://, a
 * local path, git://, ssh://; ssh keys come from ssh-agent, host keys from
 * ~/.ssh/known_hosts) into ENGINE_STORE_REMOTE_REF (best effort: that ref is for operators),
 * the objects downloaded only when the store lacks the remote's commit. OUT_ID receives that
 * commit's id and *REL how it stands to the store's main. Does not move main. -ENOENT when the
 * remote has no main (an empty bare repository); -EHOSTUNREACH when the remote cannot be reached or
 * read (DIAG holds libgit2's words); -ENOMEM, -EIO.
 */
int engine_store_fetch(struct engine_store *s, const char *url, char out_id[41],
                       enum engine_store_remote_rel *rel, struct engine_diag *diag);

/*
 * How long a remote reached over the network (git://, ssh://) may stay silent: connecting, or
 * between two pieces of its answer (default 20 s; SECONDS <= 0 restores it). libgit2 sets no
 * timeout of its own: a call that waits longer is interrupted (a timer signals the calling
 * thread, SIGRTMIN+4, whose handler the store installs) and fails with -EHOSTUNREACH. An ssh
 * server that accepts the connection but never starts the session is not given up on
 * (libgit2 1.5 retries its handshake when interrupted). Returns the previous value.
 */
int engine_store_remote_timeout(int seconds);

/*
 * How long the syncs of a commit that only rewrote existing files may be deferred, in
 * milliseconds (default 200; MS <= 0 restores it); the bound on what a crash of the machine
 * can take back of an operator's uncommitted edit of such a file (engine/STORE.md). For tests
 * and benchmarks. Returns the previous value.
 */
int engine_store_sync_delay(int ms);

/*
 * What the store's syncer (the thread that makes a level write's deferred syncs) reports: a
 * failed attempt (ERROR a negative errno, WHY the store's message naming the directory and
 * the file, borrowed for the call) once when its syncs start failing, and ERROR 0 (WHY NULL)
 * once they succeed again; meanwhile the journal stays pending and the syncer tries again
 * after engine_store_sync_delay() (engine/STORE.md). Called on the syncer's thread without
 * the store's mutex held: CB may call the store, but for engine_store_on_sync(). Not called
 * for the syncs a commit or engine_store_free() makes (a commit returns their error). CB NULL
 * stops the reports; engine_store_on_sync() returns once a report under way has returned.
 */
typedef void (*engine_store_sync_cb)(int error, const char *why, void *arg);
void engine_store_on_sync(struct engine_store *s, engine_store_sync_cb cb, void *arg);

/* The syncer's attempts that failed since the store was opened (each is tried again).
 * Thread-safe. */
uint64_t engine_store_sync_failures(const struct engine_store *s);

/* The bare repository's directory of a file:// URL or a path (borrowed from URL); NULL for
 * another transport. */
const char *engine_store_remote_dir(const char *url);

/* The commit REF (a full ref name) names in the bare repository of a file:// URL or a path,
 * read without a transport (a look at a repository on this machine that costs no fetch): 0;
 * -EINVAL for another transport; -EHOSTUNREACH when there is no repository; -ENOENT when it
 * has no such ref; -EIO. Needs a store opened (libgit2 initialised). */
int engine_store_remote_peek(const char *url, const char *ref, char out_id[41]);

/*
 * Pushes the store's main to URL's main (libgit2's push; with file:// or a path, without a
 * transport: the objects the bare repository lacks written into it, loose and durably, then
 * its main moved only from the value read, a compare-and-swap under the ref's lock). Returns
 * once the remote has
 * the commit: 0; -EAGAIN when the remote's main is not an ancestor of ours (it moved:
 * fetch, and build on it) or its ref was locked; -EHOSTUNREACH when the remote cannot be
 * reached; -EPERM when the remote refused the update (a hook: DIAG holds what it said);
 * -EIO.
 */
int engine_store_push(struct engine_store *s, const char *url, struct engine_diag *diag);

/* What engine_store_records_sync() did. */
struct engine_store_records_sync {
    int fetched; /* other hosts' refs moved to the remote's */
    int pushed;  /* the store's own ref pushed */
    int again;   /* the own ref's last record made again on the remote's (see below) */
};

/*
 * Exchanges deployment records (ENGINE_STORE_DEPLOYED_PREFIX HOST) with URL, in one fetch and at
 * most one push: every host's ref but OWN (a full ref name, this host's) is brought to the
 * remote's, downloading only the records the store lacks (a ref the remote lacks is kept);
 * OWN is pushed when the remote lacks some of its records. When the remote's OWN holds records
 * the store lacks (a store made anew for the host), the store takes them, and when both have
 * records the other lacks its last record is made again on the remote's (records only grow).
 * 0; -EHOSTUNREACH when the remote cannot be reached; -EAGAIN, -EPERM as engine_store_push();
 * -ENOMEM, -EIO. Thread-safe.
 */
int engine_store_records_sync(struct engine_store *s, const char *url, const char *own,
                              struct engine_store_records_sync *out, struct engine_diag *diag);

/*
 * Moves main to commit ID (40 hex digits; a commit the repository holds: fetched, or an
 * ancestor) and brings the work tree and the index to it for every path that differs,
 * durably (journaled like a commit). -EBUSY (nothing moved) when one of those paths has an
 * uncommitted edit in the work tree; -EAGAIN when another git process moved main meanwhile.
 * SEEN nonzero: the store takes ID as seen, so the next commit builds on it (taking back a
 * commit of its own); zero: engine_store_refresh() then reports the move as a change, for the
 * caller to validate. Thread-safe.
 */
int engine_store_move(struct engine_store *s, const char *id, int seen, struct engine_diag *diag);

/*
 * Runs git's own housekeeping, `git gc --auto`, in GITDIR (a store's .git, or a bare
 * repository) and waits for it: libgit2 leaves each fetch as a small pack of its own, and a
 * push to a file:// remote leaves loose objects there, which slow lookups as they pile up;
 * git packs them together once there are more than gc.autoPackLimit (50) packs or gc.auto
 * (6700) loose objects, and does nothing otherwise. Safe
 * beside the store's own writes (git locks what it rewrites). 0; -ENOENT when git is not
 * installed; -EIO when it failed.
 */
int engine_store_gc(const char *gitdir, struct engine_diag *diag);

#endif
