/*
 * store_int.h — what the pieces of the store share (not for other parts: they use store.h).
 *
 * The pieces, and the direction of their calls (each calls only the ones below it):
 *   store.c           open, create, free; read, list, head, log          (store.h)
 *   store_commit.c    commit, refresh, work-tree changes, restore         (store.h)
 *   store_remote.c    a remote: fetch, push, main moved to a commit       (store.h)
 *   store_defer.c     the syncs of a level write's work-tree file and index, made later
 *   store_journal.c   the journal of a work-tree update, and its recovery
 *   store_main.c      main moved by a level write without syncing the ref, and its recovery
 *   store_object.c    a level write's objects, written without a sync (journal: their bytes)
 *   store_memo.c      the states of the last level writes, their blob and tree ids
 *   store_worktree.c  the work tree and the index brought to a tree
 *   store_check.c     paths, authors, change lists; a change against the tree and work tree
 *   store_sign.c      a commit made (signed with the store's key when it has one); signatures
 *                     checked against the allowed signers
 *   store_ssh.c       ssh-keygen run to sign and to verify
 *   store_scan.c      the files a change (two commits, or a push) brings, read
 *   store_local.c     a push to a bare repository on this machine, without a transport
 *   store_watchdog.c  how long a remote over the network may stay silent
 *   store_ref.c       side refs (each host's deployment records), a repository opened to be
 *                     read only (a hook's), a commit's tree checked without reading its blobs
 *   store_diff.c      the paths a commit changed (a tree diff)
 *   store_path.c      a file's version before the one in force, along main's first parents
 *   store_util.c      errors, fsync, commits, trees and blobs
 *   store_sync.c      a batch of paths synced together (their flushes shared)
 * Every function here that takes a store expects its mutex held by the caller (the public
 * functions take it), or the store not yet shared (engine_store_init(), engine_store_open()).
 */
#ifndef UNISEC_ENGINE_STORE_INT_H
#define UNISEC_ENGINE_STORE_INT_H

#include <git2.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "store.h"

/* store_memo.c: one state a level write made: BASE (a tree) with PATH's bytes DATA (LEN) is
 * tree TREE, those bytes blob BLOB. */
struct store_memo {
    char *path, *data;
    size_t len;
    git_oid base, blob, tree;
};

/* The store's own files in the git directory, which git ignores: the paths whose work-tree
 * update a commit has not finished yet (store_journal.c), and main's ref's file before the
 * store's last move of main, kept (store_main.c). */
#define STORE_JOURNAL    "unisec-sync"
#define STORE_MAIN_SPARE "unisec-main-spare"

#define STORE_MEMO_N   4
#define STORE_MEMO_MAX (256 * 1024)

struct engine_store {
    pthread_mutex_t lock; /* serialises every use of repo and head */
    git_repository *repo; /* lock */
    git_oid head;         /* lock: main's commit as the store last saw it */
    char *dir;            /* immutable: the work tree as given */
    int git_ref;          /* immutable: holds one git_libgit2_init() reference */
    int read_only;        /* immutable: opened by engine_store_open_repo() (no work tree) */
    uint64_t step_cpu[ENGINE_STORE_STEP_N]; /* lock: engine_store_step_cpu() */
    /* store_defer.c: the work-tree files the last commits rewrote in place, whose syncs (and
     * the index's) are made later; the journal names them, pending, meanwhile. */
    char **deferred;      /* lock */
    size_t ndeferred;     /* lock */
    uint64_t deferred_at; /* lock: CLOCK_MONOTONIC ns of the first commit not yet synced; 0: due */
    int deferred_main;    /* lock: main's ref too (store_main.c) */
    /* store_main.c: the file main's ref was in before the store's last move of it, kept under
     * another name for the next move to reuse, while main is still SPARE_OF. */
    git_oid spare_of; /* lock */
    int spare_ok;     /* lock */
    /* The commit objects written without a sync (store_object.c): the journal carries their
     * bytes, in JOURNAL_SIZE bytes in all, until the syncer made them durable. */
    git_oid *objects;             /* lock */
    size_t nobjects;              /* lock */
    size_t journal_size;          /* lock */
    pthread_cond_t wake;          /* lock: the syncer, when there is something to sync or stop */
    pthread_t syncer;             /* started at the first deferred commit */
    int syncer_on, stopping;      /* lock */
    engine_store_sync_cb on_sync; /* lock: engine_store_on_sync() */
    void *on_sync_arg;            /* lock */
    uint64_t sync_failures;       /* atomic: the syncer's failed attempts */
    int sync_failing;             /* the syncer's thread: its last attempt failed */
    int reporting;                /* lock: the syncer is calling on_sync (without the lock) */
    /* store_check.c: a copy of the file the last commit wrote (a level write's), with its
     * path and blob id: a racily clean file is compared with it instead of hashed. */
    struct store_carry *carry;   /* lock: store_object.c (freed with the repository) */
    char *kept_path, *kept_data; /* lock */
    size_t kept_len;             /* lock */
    git_oid kept_id;             /* lock */
    /* store_memo.c: the last states the store's commits made, valid while main is MEMO_HEAD. */
    struct store_memo memo[STORE_MEMO_N]; /* lock */
    size_t memo_next;                     /* lock: the entry to replace next */
    git_oid memo_head;                    /* lock */
    git_oid memo_head_tree;               /* lock: MEMO_HEAD's tree */
    int memo_valid;                       /* lock */
};

/* libgit2's object cache (store.c): trees of at most STORE_CACHE_TREE bytes each, at most
 * STORE_CACHE_BYTES of objects in all. libgit2 counts their raw size: a small parsed tree
 * takes about 2 KiB of heap (room for 31 entries), so the cache holds about 400 KiB at most. */
#define STORE_CACHE_BYTES (32 * 1024)
#define STORE_CACHE_TREE  (8 * 1024)

/* The mutex is not part of the store's value: readers that take a const store lock it too. */
static inline void store_lock(const struct engine_store *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
}

static inline void store_unlock(const struct engine_store *s)
{
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
}

/* ---- store.c ---- */

/* A new store object for DIR holding one git_libgit2_init() reference, no repository yet. */
int store_new(struct engine_store **out, const char *dir, struct engine_diag *diag);

/* ---- store_util.c ---- */

/* Appends a message naming DIR to DIAG (when not NULL) and returns RC. */
int store_err(struct engine_diag *diag, const char *dir, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Turns libgit2's error GERR of operation OP into a negative errno and a message. */
int store_git_err(struct engine_diag *diag, const char *dir, int gerr, const char *op);
/* The text of blob ID, the file PATH (for messages), into *DATA (*LEN bytes and a NUL; the
 * caller frees it): -EFBIG, named in DIAG, for more than MAX bytes (SIZE_MAX: no bound), seen in
 * the object's header before anything is inflated; -EINVAL when ID is not a blob. Caller holds
 * the store's lock. */
int store_blob_read(const struct engine_store *s, const git_oid *id, const char *path, size_t max,
                    char **data, size_t *len, struct engine_diag *diag);

/* fsync of PATH (a missing PATH is not an error); of work-tree file REL of ROOT and, when
 * NAMES, the directories up to ROOT; of REL inside the git directory ("" for itself). Each
 * returns 0 or a negative errno. */
int store_fsync_one(const char *path);
int store_fsync_worktree(const char *root, const char *rel, int names);
int store_fsync_git(const struct engine_store *s, const char *rel);

/* A batch of paths to fsync together (store_sync.c): added (a printf format), then all synced
 * at once by a few threads, so that their flushes of the disk's cache are shared. A missing
 * path is not an error. No order among the paths of one batch. */
struct store_sync {
    char **paths;
    size_t n, cap;
    size_t next;   /* atomic, while running: the next path to take */
    int error;     /* atomic: the first failure (of an add: -ENOMEM) */
    size_t failed; /* its path's index */
};
int store_sync_add(struct store_sync *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 0, or the first failure (negative errno; store_sync_failed() names its path). */
int store_sync_run(struct store_sync *b);
/* The failed path, relative to ROOT when under it. */
const char *store_sync_failed(const struct store_sync *b, const char *root);
void store_sync_free(struct store_sync *b);

/* The bytes of the plain file PATH (not followed when a link), at most MAX of them, into *OUT
 * (caller frees; NUL-terminated beyond *LEN). 0; -EINVAL when it is no plain file, -EFBIG when
 * larger, -EAGAIN when it grew while read, or another negative errno. */
int store_read_plain(const char *path, size_t max, char **out, size_t *len);

/* *OUT is the tree of commit ID (caller frees). */
int store_commit_tree(git_tree **out, struct engine_store *s, const git_oid *id, const char *op,
                      struct engine_diag *diag);

/* Reads main's commit id, checking that HEAD still points at main. */
int store_main_lookup(git_oid *out, struct engine_store *s, const char *op,
                      struct engine_diag *diag);

/* MESSAGE ending with a newline, as a new string; NULL when memory runs out. */
char *store_message(const char *message);

/* Writes a blob for every non-removal change of C and fills UPD (N entries). */
int store_updates(git_tree_update *upd, struct engine_store *s, const struct engine_store_change *c,
                  size_t n, const char *op, struct engine_diag *diag);

/* ---- store_check.c ---- */

/* engine_store_path_check() with messages naming DIR. */
int store_path_check_in(const char *dir, const char *path, struct engine_diag *diag);

/* The author A and the commit MESSAGE are usable. */
int store_author_check(const char *dir, const struct engine_store_author *a, const char *message,
                       struct engine_diag *diag);

/* The change list C (N entries) on its own; ALLOW_REMOVE: removals and work-tree edits are
 * allowed (not in a new store). */
int store_changes_check(const char *dir, const struct engine_store_change *c, size_t n,
                        int allow_remove, struct engine_diag *diag);

/* Change C fits tree BASE. */
int store_change_fits(struct engine_store *s, git_tree *base, const struct engine_store_change *c,
                      struct engine_diag *diag);

/* Keeps a copy of C's data, of blob ID (nothing when C removes its file or is larger than
 * STORE_KEEP_MAX), in place of the copy kept before; store_keep_drop() frees it. */
#define STORE_KEEP_MAX (1 << 20)
void store_keep(struct engine_store *s, const struct engine_store_change *c, const git_oid *id);
void store_keep_drop(struct engine_store *s);

/* -EBUSY when PATH has uncommitted edits; when C's work-tree file does not hold C's data.
 * store_path_clean_in() is given BASE, the tree of the store's head, and then tells a clean
 * path from its index entry and stat where it can. */
int store_path_clean(struct engine_store *s, const char *path, struct engine_diag *diag);
int store_path_clean_in(struct engine_store *s, git_tree *base, const char *path,
                        struct engine_diag *diag);
int store_worktree_holds(struct engine_store *s, const struct engine_store_change *c,
                         struct engine_diag *diag);

/* ---- store_memo.c ---- */

/* 1 when the N changes C on tree BASE make a state one of the store's last commits made, main
 * not moved by anything else since: UPD (C's entry) and *TREE are set to its ids, the objects
 * stored already. 0 otherwise (nothing set). */
int store_memo_find(const struct engine_store *s, const git_oid *base,
                    const struct engine_store_change *c, size_t n, git_tree_update *upd,
                    git_oid *tree);
/* After the store moved main from FROM to TO with the N changes C on tree BASE (UPD their
 * entries, TREE the result): remembers that state; the memory made for another head than FROM
 * is dropped first. */
void store_memo_moved(struct engine_store *s, const git_oid *from, const git_oid *to,
                      const git_oid *base, const struct engine_store_change *c, size_t n,
                      const git_tree_update *upd, const git_oid *tree);
void store_memo_drop(struct engine_store *s);
/* 1 with *TREE set to HEAD's tree when HEAD is the commit the store's last commit made, main not
 * moved by anything else since (its tree remembered: main's commit need not be read); else 0. */
int store_memo_head_tree(const struct engine_store *s, const git_oid *head, git_oid *tree);

/* ---- store_worktree.c ---- */

/* Makes PATHS (N; all of the tree when N is 0) in the work tree and the index equal to TREE. */
int store_checkout(struct engine_store *s, git_tree *tree, char **paths, size_t n, const char *op,
                   struct engine_diag *diag);

/* Brings CHECKOUT (N paths, rewritten) and ADOPT (NA paths whose files already hold TREE's
 * content: index only) to TREE. */
int store_finish_paths(struct engine_store *s, git_tree *tree, char **checkout, size_t n,
                       char **adopt, size_t na, const char *op, struct engine_diag *diag);

/* Brings the work tree and the index to TREE for the N changes C (UPD: TREE's entries of them,
 * as store_updates() made them; PATHS: their paths, the NW
 * not FROM_WORKTREE first): writes the bytes of each change the store makes itself (git's
 * checkout only for a path that is not a plain file under plain directories), then gives the
 * index every path with its file's stat. Durable, or with LAZY, when every file was
 * rewritten in place, written but not synced (*DEFERRED set: store_defer.c syncs them). */
int store_finish_changes(struct engine_store *s, git_tree *tree,
                         const struct engine_store_change *c, const git_tree_update *upd, size_t n,
                         char **paths, size_t nw, int lazy, int *deferred, const char *op,
                         struct engine_diag *diag);

/* ---- store_local.c ---- */

/* Pushes REF (a full ref name) of REPO to the same ref of the bare repository at PATH (URL's,
 * for messages; DIR names the store): the objects it lacks written into it, then its ref moved
 * only from the value read. 0; -EAGAIN when the remote's ref is not in our history or moved
 * meanwhile; -EHOSTUNREACH when there is no repository at PATH; -EIO. */
int store_local_push(git_repository *repo, const char *dir, const char *url, const char *path,
                     const char *ref, struct engine_diag *diag);

/* The refs of the bare repository at PATH that match GLOB (at most MAX), into *OUT (N of them:
 * name and oid; free with store_local_heads_free()), each one's objects the store REPO lacks
 * copied in first (loose: no pack of its own per fetch). 0; -EHOSTUNREACH when there is no
 * repository at PATH; -EIO; -ENOMEM. */
int store_local_fetch(git_repository *repo, const char *dir, const char *url, const char *path,
                      const char *glob, size_t max, git_remote_head **out, size_t *n,
                      struct engine_diag *diag);
void store_local_heads_free(git_remote_head *h, size_t n);

/* ---- store_watchdog.c ---- */

/* How long a remote reached over the network (git://, ssh://) may stay silent, by default
 * (engine_store_remote_timeout()). */
#define STORE_REMOTE_IDLE_S 20
/* The signal that interrupts the calling thread's blocked call once that passed. */
#define STORE_WATCHDOG_SIG (SIGRTMIN + 4)

struct store_watchdog {
    timer_t timer;
    int on;
};

/* Starts W for a remote call by the calling thread (nothing unless NETWORK: a local
 * repository's calls use no socket); feed it
 * whenever the remote answers; stop it when the call returned: 1 when it fired (the call was
 * interrupted: the remote stayed silent for STORE_REMOTE_IDLE_S), else 0. */
void store_watchdog_start(struct store_watchdog *w, int network);
void store_watchdog_feed(struct store_watchdog *w);
int store_watchdog_stop(struct store_watchdog *w);
/* The silence allowed now, in seconds. */
int store_watchdog_idle(void);

/* ---- store_sign.c ---- */

/* Makes the commit of TREE with PARENT (NULL: the first commit) by SIG with message MSG and
 * moves main to it, only from PARENT (-EAGAIN when main moved). Signed when the store has a
 * key (.git/ENGINE_STORE_KEY_FILE); a key others may read is refused (-EPERM). */
int store_commit_make(git_oid *out, struct engine_store *s, const git_signature *sig,
                      const char *msg, git_tree *tree, git_commit *parent, const char *op,
                      struct engine_diag *diag);

/* Makes the commit of TREE with the parent PARENT (an id: the commit is read only for a store
 * that signs) by SIG with message MSG (signed as store_commit_make()'s), without moving any
 * ref. For a store that does not sign its commits, the object's bytes are put in *BYTES (a new
 * string of *LEN bytes, the caller's to free) instead, for the caller to write
 * (store_object.c), and *OUT is left alone (*BYTES tells which was done). */
int store_commit_write(git_oid *out, char **bytes, size_t *len, struct engine_store *s,
                       const git_signature *sig, const char *msg, git_tree *tree,
                       const git_oid *parent, const char *op, struct engine_diag *diag);

/* store_commit_make() onto REFNAME (a full ref name) instead of main. */
int store_commit_make_on(git_oid *out, struct engine_store *s, const char *refname,
                         const git_signature *sig, const char *msg, git_tree *tree,
                         git_commit *parent, const char *op, struct engine_diag *diag);

/* Copies the key FROM to GITDIR/ENGINE_STORE_KEY_FILE, mode 0600 (GITDIR ends with '/'). */
int store_key_install(const char *dir, const char *gitdir, const char *from,
                      struct engine_diag *diag);

/* Signs a test buffer with KEY: 0 when it can sign, else why not. */
int store_key_try(const char *dir, const char *key, struct engine_diag *diag);

/* ---- store_ssh.c ---- */

/* Signs DATA (LEN bytes) with the private key file KEY in namespace "git": *ARMORED is the
 * armored SSH signature (caller frees). */
int store_ssh_sign(const char *dir, const char *key, const char *data, size_t len, char **armored,
                   struct engine_diag *diag);

/* Checks the armored SIG over DATA (of WHAT, for messages) against the allowed signers file
 * ALLOWED, whose keys' validity (valid-after, valid-before) is judged at AT (seconds since
 * the epoch; 0: now): 0 with the signer's PRINCIPAL, -EPERM when the key is not allowed or
 * the signature does not verify, another negative errno when ssh-keygen cannot be run. */
int store_ssh_verify(const char *dir, const char *what, const char *allowed, const char *sig,
                     const char *data, size_t len, int64_t at, char principal[256],
                     struct engine_diag *diag);

/* ---- store_object.c ---- */

/* Writes the object of TYPE and LEN bytes at DATA as a loose object (*OUT its id), without
 * syncing it: the caller's journal holds the bytes until store_object_sync() made it durable.
 * REPLACE: over a file of that name already there (a recovery's, of one a crash left cut
 * short). */
int store_object_write(struct engine_store *s, git_object_t type, const char *data, size_t len,
                       int replace, git_oid *out, struct engine_diag *diag);

/* The journal's record of an object (store_journal.c carries them): "KIND ID LEN", a newline,
 * the object's LEN bytes and a newline; KIND "object" for a commit (as journals written before
 * trees and blobs were carried have it), "tree" or "blob". store_object_record_add() appends to
 * *BUF (*LEN bytes; realloc'd) the record of object ID of TYPE and N bytes at DATA: 0, or a
 * negative errno with *BUF unchanged. store_object_record_kind() gives the length of the
 * "KIND " that starts the record header line at BUF (N bytes) and *TYPE, or -1 when BUF holds
 * no such line (a path of the journal's text, say). */
int store_object_record_add(char **buf, size_t *len, git_object_t type, const git_oid *id,
                            const char *data, size_t n);
int store_object_record_kind(const char *buf, size_t n, git_object_t *type);

/* The loose objects IDS (N) made durable: each file, its directory and objects/, in one batch
 * (store_sync.c). 0 or -errno. _add: their paths added to the batch B instead. */
int store_object_sync(const struct engine_store *s, const git_oid *ids, size_t n);
int store_object_sync_add(struct store_sync *b, const struct engine_store *s, const git_oid *ids,
                          size_t n);

/* After a crash of the machine: the object of TYPE and LEN bytes at DATA (a journal's record)
 * written again, durably, unless the object database reads it whole. */
int store_object_restore(struct engine_store *s, git_object_t type, const char *data, size_t len,
                         const char *op, struct engine_diag *diag);

/* The objects libgit2 writes for a level write (its new blob and trees), carried by the journal
 * as its commit is: store_carry_add() puts a backend before libgit2's own in S's object
 * database (at open); between store_carry_start() and store_carry_stop() every object libgit2
 * writes is written there without a sync (store_object_write()) and its journal record kept
 * (else libgit2 writes it, synced), STORE_CARRY_MAX bytes at most; RESET frees what was kept.
 * store_carried() gives their ids (*N) and records (RECS, LEN bytes), store_carry_also() adds
 * the commit's. */
#define STORE_CARRY_PRIORITY 100 /* before the loose (1) and packed (2) backends */
#define STORE_CARRY_MAX      (256 * 1024)
/* The journal's size beyond which a level write makes the deferred syncs first, and a quarter
 * of it, beyond which the syncer goes at once instead of at its delay (store_defer.c): a write
 * of a new state carries its blob and trees (13 KB at 1,000 nodes), so without the early syncer
 * every 20th or so such write made every deferred sync itself (tens of ms). The journal read
 * back holds at most this, one commit's objects and its paths (STORE_JOURNAL_MAX). */
#define STORE_DEFER_JOURNAL_MAX  (1024 * 1024)
#define STORE_DEFER_JOURNAL_SOON (STORE_DEFER_JOURNAL_MAX / 4)
int store_carry_add(struct engine_store *s, struct engine_diag *diag);
void store_carry_start(struct engine_store *s);
void store_carry_stop(struct engine_store *s, int reset);
const git_oid *store_carried(const struct engine_store *s, size_t *n, const char **recs,
                             size_t *len);
int store_carry_also(struct engine_store *s, git_object_t type, const git_oid *id, const char *data,
                     size_t len);

/* ---- store_journal.c ---- */

/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unknown: a journal written in
 * another boot was left by a crash of the machine, not of the daemon. */
const char *store_boot_id(void);

/* Records durably that the work tree is about to be updated for the paths of C (N), once the
 * caller has made deferred syncs (store_defer_sync()). LAZY: the update's syncs may be
 * deferred (store_defer.c); the journal says so, with this boot's id. MAIN (may be NULL; only
 * with LAZY): main moves to that commit without syncing the ref (store_main.c); RECS (may be
 * NULL), RECSLEN bytes of records (store_object_record_add()) of the objects written without a
 * sync for it (store_object.c): the journal carries them until the syncer made the objects
 * durable. A journal of the same paths is rewritten in place (its first line) and the records
 * added. */
int store_journal_write(struct engine_store *s, const struct engine_store_change *c, size_t n,
                        int lazy, const git_oid *main, const char *recs, size_t recslen,
                        struct engine_diag *diag);

/* After a crash of the machine, main moved to the commit a pending journal names when the
 * disk lost that move (store_main_recover()); called before main is read at open. */
int store_journal_main(struct engine_store *s, struct engine_diag *diag);

/* Marks the journal finished, and with SYNC makes the mark durable. */
int store_journal_mark(struct engine_store *s, int sync, struct engine_diag *diag);

/* Marks the journal finished (in place: its text stays, its first byte says done); not synced:
 * store_journal.c says why a recovery needs no more. */
int store_journal_remove(struct engine_store *s, struct engine_diag *diag);

/* Finishes a work-tree update that the journal names (the caller has made deferred syncs
 * first); AT_OPEN: the store was just opened, and a dead writer's lock files are removed
 * first. */
int store_journal_finish(struct engine_store *s, int at_open, const char *op,
                         struct engine_diag *diag);

/* ---- store_main.c ---- */

/* 1 when main may be moved without syncing its ref: a loose ref in a plain file, no reflog. */
int store_main_lazy_ok(struct engine_store *s);

/* Moves main from FROM (NULL: from whatever its file holds) to TO (-EAGAIN when it is locked
 * or not FROM), as git's lock-file protocol does, without syncing: the caller's journal names
 * TO, synced, first. */
int store_main_move(struct engine_store *s, const git_oid *from, const git_oid *to, const char *op,
                    struct engine_diag *diag);

/* fsyncs main's ref and its directory; _add: adds them to the batch B instead. */
int store_main_sync(const struct engine_store *s);
int store_main_sync_add(struct store_sync *b, const struct engine_store *s);

/* Moves main to TO, durably, when the disk holds commit TO and main is TO's ancestor or
 * unreadable (a crash of the machine lost the move); leaves it otherwise. */
int store_main_recover(struct engine_store *s, const git_oid *to, const char *op,
                       struct engine_diag *diag);

/* ---- store_defer.c ---- */

/* 1 when the N changes C may have their work-tree update's syncs deferred: each rewrites a
 * file (none removed, none an operator's edit) and this boot's id is known. */
int store_defer_lazy(const struct engine_store_change *c, size_t n);

/* 1 when syncs are deferred for exactly the paths of C (N), as the journal names them: a
 * commit of them needs no journal write. */
int store_defer_same(const struct engine_store *s, const struct engine_store_change *c, size_t n);

/* 1 when the journal has grown so long with the commits it carries that the next commit
 * makes the deferred syncs first (a journal of the same paths is written anew). */
int store_defer_full(const struct engine_store *s);

/* Records that the work-tree files of C (N) and the index, and with MAIN main's ref, were
 * written, not synced, and the files of the NOBJ OBJECTS (the journal carries them); starts
 * the syncer, which makes them durable and marks the journal finished within
 * engine_store_sync_delay(). */
int store_defer_add(struct engine_store *s, const struct engine_store_change *c, size_t n, int main,
                    const git_oid *objects, size_t nobj, struct engine_diag *diag);

/* Makes the deferred files, the index and main's ref durable and marks the journal finished,
 * durably. */
int store_defer_sync(struct engine_store *s, struct engine_diag *diag);

/* Stops the syncer and syncs what is deferred (engine_store_free()). */
void store_defer_stop(struct engine_store *s);

#endif
