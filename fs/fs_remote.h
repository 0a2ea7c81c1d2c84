/*
 * fs_remote.h — a remote as the source of truth (fs_remote.c, fs_remote_watch.c;
 * fs/MOUNT.md).
 * Same contract as fs_int.h (threads, ownership, errors), which it extends.
 */
#ifndef UNISEC_FS_REMOTE_H
#define UNISEC_FS_REMOTE_H

#include "fs_int.h"

/* How many times a write is committed again on the remote's newer main before it is
 * refused (EAGAIN). */
#define FS_REMOTE_TRIES 8

/* How often the remote is fetched anyway, by default (seconds): -o fetch_interval=. */
#define FS_FETCH_INTERVAL 30

/*
 * Pushes the commit just made on main (whose parent is PARENT) to the remote; when the
 * remote does not take it, the commit is taken back (main moved back to PARENT), so the
 * store is never ahead of the remote with a change nobody acknowledged. Returns 0 or
 * engine_store_push()'s error (-EAGAIN: main moved on the remote). Caller holds apply_mu.
 */
int fs_remote_publish(struct fs_ctx *c, const char *parent, struct engine_diag *diag);

/*
 * Brings main to the remote's: fetched, and main moved to it (returns 1: the caller validates
 * and serves it, or refuses it, as an outside commit); a main of ours the remote lacks is
 * pushed when it is the served state, else dropped (the remote wins); an empty remote is given
 * our main. Says in errors once when the remote cannot be reached, and in events when it can
 * again. Returns 0, 1, or a negative errno (-EHOSTUNREACH). Caller holds apply_mu.
 */
int fs_remote_follow_locked(struct fs_ctx *c);

/* fs_remote_follow_locked(), then the moved main validated and served (fs_apply.c): 0 or a
 * negative errno. fs_apply_remote() takes apply_mu itself. */
int fs_apply_remote_locked(struct fs_ctx *c);
void fs_apply_remote(struct fs_ctx *c);

/*
 * A write made on BASE is replayed on the served state after main moved on the remote, unless
 * what it replaces (the file; the node's level or property) changed there too: then it would
 * undo another's acknowledged change unseen. Returns 0, or -EAGAIN with the reason in DIAG.
 */
int fs_remote_conflict(struct fs_ctx *c, const struct fs_target *t, const struct fs_snap *base,
                       struct engine_diag *diag);

/*
 * Exchanges deployment records with the remote (engine_store_records_sync()): pushes this
 * host's ref when the remote lacks some of its records, and brings the other hosts' refs to
 * the remote's, which the nodes' status reads. Never under apply_mu: a write does not wait for
 * it. A failure is said once (in errors, unless the remote is unreachable, which the look at
 * main says) while *FAILED stays set; the next look tries again. Called by the watcher only.
 */
void fs_remote_records(struct fs_ctx *c, int *failed);

/* What fs_apply_record() adds to the watcher's kick (an eventfd): records to push, which it
 * exchanges after a short wait (a burst of records, one exchange); SIGUSR1 adds 1, a full look. */
#define FS_REMOTE_KICK_RECORDS (1ull << 32)

/* Starts / stops the thread (fs_remote_watch.c) that looks at the remote: at once when a file://
 * remote's main moves (inotify), on SIGUSR1, and every fetch_interval seconds. */
int fs_remote_watch_start(struct fs_ctx *c, struct engine_diag *diag);
void fs_remote_watch_stop(struct fs_ctx *c);

#endif
