/*
 * fs.h — what the rest of unisec may use of the mount (fs/MOUNT.md is its reference): the
 * subcommands that create a store, serve it as a FUSE file system, and report on it, and
 * the entry point for mount(8) and mount.fuse3 (/etc/fstab).
 *
 * Each command takes the arguments after the subcommand name (argv[0] is the subcommand's
 * name), prints its own output and errors, and returns the process exit status (0 success,
 * 1 failure, 2 usage error). Nothing else of fs/ is for callers: fs_int.h is private to fs/
 * and its tests.
 */
#ifndef UNISEC_FS_H
#define UNISEC_FS_H

/* unisec init STORE --from TOPOLOGY [--policy DIR] */
int fs_cmd_init(int argc, char **argv);

/* unisec mount [-f] [-o OPTIONS] [--no-run] [--log FILE] --store STORE MOUNTPOINT */
int fs_cmd_mount(int argc, char **argv);

/* unisec status --store STORE */
int fs_cmd_status(int argc, char **argv);

/* unisec hook pre-receive [--target T] | install [--target T] [--force] REPOSITORY: the
 * server side of a store's remote (fs_hook.c). */
int fs_cmd_hook(int argc, char **argv);

/*
 * The mount helper form: `STORE MOUNTPOINT [-o OPTIONS] [-s] [-f] [-n] [-v]`, as mount(8)
 * runs /sbin/mount.unisec and as mount.fuse3 runs the program of type `fuse.unisec`. ARGV[0]
 * is the program's name. fstab options that only mount(8) understands are dropped.
 */
int fs_cmd_mount_helper(int argc, char **argv);

/* The process of the mount that touches changed files through it so that inotify watchers hear
 * of them (fs/fs_touch.c): the daemon runs its own executable as FS_TOUCH_ARGV0 ROOT with the
 * paths to touch on standard input, one a line. Not for users. */
#define FS_TOUCH_ARGV0 "unisec-touch"
int fs_touch_main(int argc, char **argv);

#endif
