/*
 * rlog.h — a size-bounded log kept on disk: one directory, a current file NAME and up to
 * KEEP - 1 older ones NAME.1 (the newest) to NAME.(KEEP-1). A write that would take NAME
 * past MAX bytes first shifts the older files down by one (the oldest is dropped) and
 * starts NAME anew, so the log holds at most KEEP * MAX bytes (a write larger than MAX is
 * kept whole in a file of its own).
 *
 * The writer (one thread per log) holds a struct engine_rlog; readers in any thread or
 * process read the files by name (engine_rlog_read()): the log's content is its files
 * concatenated, oldest first, so it shrinks by the dropped file at each rotation.
 */
#ifndef UNISEC_ENGINE_RLOG_H
#define UNISEC_ENGINE_RLOG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define ENGINE_RLOG_KEEP_MAX 16

struct engine_rlog {
    int dirfd; /* the directory; -1 when closed */
    int fd;    /* NAME, opened for appending; -1 until the first write */
    char name[64];
    size_t max, size;
    unsigned keep;
};

/* Opens the log NAME (a plain file name, at most 48 bytes) in DIR, which it makes (mode 0700)
 * if missing, with the parent directories. MAX 0: 1 MiB; KEEP 0: 4 (at most
 * ENGINE_RLOG_KEEP_MAX). Returns 0 or a negative errno (L is then closed). */
int engine_rlog_open(struct engine_rlog *l, const char *dir, const char *name, size_t max,
                     unsigned keep);

/* Appends BUF[0..LEN) (rotating first if needed). Returns 0 or a negative errno (the bytes
 * are then lost; the log goes on with the next write). */
int engine_rlog_write(struct engine_rlog *l, const void *buf, size_t len);

/* Closes L (accepts a closed one). */
void engine_rlog_close(struct engine_rlog *l);

/* The log NAME of KEEP files in DIR: its size (every file's) and the last modification of its
 * current file (0 when it has none). A missing log is empty: 0. */
int engine_rlog_stat(const char *dir, const char *name, unsigned keep, size_t *size, time_t *mtime);

/* Reads up to SIZE bytes at OFF of the log's content into BUF. Returns the count (0 at the
 * end) or a negative errno. */
ssize_t engine_rlog_read(const char *dir, const char *name, unsigned keep, off_t off, char *buf,
                         size_t size);

#endif
