/*
 * fs_fuse.h — the mount's FUSE operations, shared by fs_ops.c (names and attributes), fs_io.c
 * (open files and their contents) and fs_serve.c (the operations table, mounting, the loop).
 * Apart from fs_int.h so that the rest of fs/ and its tests do not see libfuse.
 */
#ifndef UNISEC_FS_FUSE_H
#define UNISEC_FS_FUSE_H

#define FUSE_USE_VERSION 312
#include <fuse.h>

#include "fs_int.h"

/* The daemon the calling FUSE thread serves. */
static inline struct fs_ctx *fs_ctx_get(void)
{
    return fuse_get_context()->private_data;
}

/* The handle of FI (NULL when FI is: a call by path). */
static inline struct fs_handle *fs_fh(struct fuse_file_info *fi)
{
    return fi != NULL ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
}

/* fs_ops.c: names and attributes. */
int fs_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int fs_op_readlink(const char *path, char *buf, size_t size);
int fs_op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                  struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int fs_op_unlink(const char *path);
int fs_op_rename(const char *from, const char *to, unsigned int flags);
int fs_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int fs_op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int fs_op_statfs(const char *path, struct statvfs *st);
/* mknod: a regular file is made as a temporary file (fs_op_create); anything else is
 * refused (EPERM). */
int fs_op_mknod(const char *path, mode_t mode, dev_t dev);
/* mkdir; symlink and link; rmdir: the tree's shape is the table's (EPERM). */
int fs_op_refuse(const char *path, mode_t mode);
int fs_op_refuse2(const char *a, const char *b);
int fs_op_rmdir(const char *path);

/* fs_io.c: open files. */
int fs_op_open(const char *path, struct fuse_file_info *fi);
int fs_op_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int fs_op_write(const char *path, const char *buf, size_t size, off_t off,
                struct fuse_file_info *fi);
int fs_op_flush(const char *path, struct fuse_file_info *fi);
int fs_op_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int fs_op_release(const char *path, struct fuse_file_info *fi);
int fs_op_truncate(const char *path, off_t size, struct fuse_file_info *fi);

/* fs_poll.c: poll(2) of an open file; a live file is ready when it holds bytes its handle has
 * not read (fs_live.h). */
int fs_op_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
               unsigned *reventsp);

#endif
