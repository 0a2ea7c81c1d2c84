/*
 * fs_apply.h — the change pipeline's pieces (fs_apply.c writes, fs_apply_outside.c outside
 * changes, fs_apply_commit.c what both share), and what a kind of write plugs into it: one
 * write as it goes through, and the hooks of its kind (fs/MOUNT.md "Writing", "TLS").
 * Same contract as fs_int.h (threads, ownership, errors), which it extends: every hook runs
 * under apply_mu.
 */
#ifndef UNISEC_FS_APPLY_H
#define UNISEC_FS_APPLY_H

#include "fs_int.h"

/* One attempt of a change: the write of DATA[0..LEN) to T on the served state CUR. */
struct fs_change {
    struct fs_ctx *c;
    const struct fs_target *t;
    const char *data;
    size_t len;
    const struct fs_snap *cur;
    struct fs_text cand[FS_FILE_N];      /* the new state's files (a copy of CUR's to change) */
    struct fs_rules_set cand_d;          /* its acl.d files */
    struct fs_model *model;              /* the parsed new topology, when it is new (else NULL) */
    struct engine_topology_state *state; /* the parsed new state files, when known */
    int levels_made;                     /* cand's state/levels is STATE formatted */
    char *msg;                           /* the commit message when known before validation */
    struct engine_store_change extra[2]; /* store paths committed besides the state's files */
    size_t n_extra;
    void *priv; /* the kind's own, freed by its finish hook */
};

/* What a kind of write does beyond the shared pipeline (lock, retry after main moved,
 * validation, commit, remote publish, refusal, event, counters). */
struct fs_kind {
    size_t max; /* largest write (0: the file's bound) */
    /* Turns W->data into W's candidate: 0, 1 when nothing changes, or a negative errno with
     * the reason in D. */
    int (*candidate)(struct fs_change *w, struct engine_diag *d);
    /* On the validated new state NS, before its commit (may be NULL): 0 or a negative errno
     * with the reason in D (nothing committed). */
    int (*prepare)(struct fs_change *w, struct fs_snap *ns, struct engine_diag *d);
    /* After each attempt, whatever came of it (may be NULL): RC is 0 when the new state is
     * served (committed, or nothing to commit), else negative. Frees W->priv. */
    void (*finish)(struct fs_change *w, int rc);
};

/* ---- what changes share (fs_apply_commit.c) ---- */

/* DIAG's reasons on one line, for errors (caller frees; NULL: out of memory). */
char *fs_diag_line(const struct engine_diag *diag);
/* Shares every file of S with FILE[] (for a candidate state; fs_text_share()): 0 or -ENOMEM. */
int fs_snap_files_copy(struct fs_text file[FS_FILE_N], const struct fs_snap *s);
/* Records a refused change of PATH by UID in errors, events and the log (WHY and DIAG may be
 * NULL); returns RC. */
int fs_apply_refuse(struct fs_ctx *c, const char *path, uid_t uid, int rc, const char *why,
                    const struct engine_diag *diag);
/* Serves NS (taking the caller's reference) and tells ctx->installed. */
void fs_apply_install(struct fs_ctx *c, struct fs_snap *ns);
/* Frees every file of FILE[]. */
void fs_files_free(struct fs_text file[FS_FILE_N]);
/*
 * Commits NS's files that differ from the store's head, and EXTRA[0..N_EXTRA) (a write's store
 * paths outside the state's files: tls/), as AUTHOR with MSG into OUT_ID ("" when nothing
 * differs); with a remote, publishes it (taken back when the remote does not take it). CUR is
 * the served snapshot; FROM_WORKTREE[f] (may be NULL) and D_FROM_WORKTREE (acl.d files) say a
 * file is committed from the work tree. Returns 0 or a negative errno (-EAGAIN: main moved).
 */
int fs_commit(struct fs_ctx *c, const struct fs_snap *cur, const struct fs_snap *ns,
              const int *from_worktree, int d_from_worktree,
              const struct engine_store_change *extra, size_t n_extra,
              const struct engine_store_author *author, const char *msg, char out_id[41],
              struct engine_diag *diag);

/* Notes .git/index as the mount leaves it, after its commit or its look at the store: a burst
 * of events that names it then needs no look (fs_watch.h). */
void fs_own_index(struct fs_ctx *c);

/* fs_apply_external() with apply_mu held (fs_apply_outside.c). */
int fs_apply_external_locked(struct fs_ctx *c);

/* nodes/NODE/tls/cert and key (fs_tls.c): the pair checked, the key kept in the private area
 * before the commit (prepare) and the older keys pruned after it (finish). */
int fs_tls_candidate(struct fs_change *w, struct engine_diag *d);
int fs_tls_prepare(struct fs_change *w, struct fs_snap *ns, struct engine_diag *d);
void fs_tls_finish(struct fs_change *w, int rc);

#endif
