/*
 * fs_inval.h — the kernel's cache of the tree's names (fs_inval.c): the kernel keeps the names
 * it looked up; a name that vanishes other than through the kernel's own unlink or rename is
 * dropped from that cache with a FUSE notice, sent by a thread of fs_inval.c.
 */
#ifndef UNISEC_FS_INVAL_H
#define UNISEC_FS_INVAL_H

#include "fs_int.h"

struct fuse_session;

/* Starts the thread that sends SE's notices (fs_serve.c, once mounted); 0 or a negative errno
 * (then nothing is dropped: the mount must not let the kernel keep names). Stopped, after
 * everything that installs a state, before the session ends; a second stop does nothing. */
int fs_inval_start(struct fs_ctx *c, struct fuse_session *se);
void fs_inval_stop(struct fs_ctx *c);

/* Queues dropping the top-level name of PATH (its first component) and every name under it
 * from the kernel's cache; nothing when the mount is not served. */
void fs_inval_top(struct fs_ctx *c, const char *path);
/* S was installed in place of OLD: queues the top-level names under which a name vanished. */
void fs_inval_installed(struct fs_ctx *c, const struct fs_snap *old, const struct fs_snap *s);
/* Waits until what was queued before the call is dropped (at most a second). Not while holding
 * apply_mu or mu, nor in a FUSE call on a directory's names (rename, unlink, create): the
 * kernel takes the root directory's lock for a notice. */
void fs_inval_wait(struct fs_ctx *c);

#endif
