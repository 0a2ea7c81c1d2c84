/*
 * fs_watch.h — the store watched for changes made from outside (fs_watch.c) and looked at
 * (fs_apply_outside.c). The watcher thread reads the inotify events of a burst, and once it is
 * quiet hands them to fs_apply_external(), which looks at the store under apply_mu: main
 * (cheap) and git's status of the work tree (not cheap: every file's stat, attributes and
 * filters, a racy file hashed). The mount's own commits make such a burst (the files they
 * write); when every event of one is explained by what the mount served and wrote, the status
 * is not asked.
 */
#ifndef UNISEC_FS_WATCH_H
#define UNISEC_FS_WATCH_H

#include "fs_int.h"

/* The events of a burst that may say something: at most FS_WATCH_BURST_MAX distinct names,
 * beyond which (or after a lost event) the burst explains nothing. */
#define FS_WATCH_BURST_MAX 16
struct fs_watch_burst {
    int n, overflow;
    struct {
        const char *dir; /* the directory watched, relative to the store ("": its root) */
        char name[256];
    } ev[FS_WATCH_BURST_MAX];
};

/* Starts / stops the inotify thread that calls fs_apply_external(). */
int fs_watch_start(struct fs_ctx *c, struct engine_diag *diag);
void fs_watch_stop(struct fs_ctx *c);

/*
 * Looks for changes made in the store from outside (a commit on main, an edit of the work
 * tree), validates them, and serves them or reports why not. Serialised with fs_apply(). An
 * edit the operator has staged is left to their `git commit` for a grace (FS_STAGED_GRACE_MS);
 * staged_due says when the watcher must look again. BURST (NULL: a look for its own sake, the
 * idle period's or a grace's end) is what made the watcher look: when main has not moved and
 * the burst names only files that hold what the mount serves, the mount's own files in .git,
 * and an index the mount left as it is, the work tree's status is not asked.
 */
void fs_apply_external(struct fs_ctx *c, const struct fs_watch_burst *burst);

#endif
