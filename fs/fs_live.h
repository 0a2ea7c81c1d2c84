/*
 * fs_live.h — the files of the mount that grow: `events`, `events.json` and `errors` (bounded
 * logs in memory, fs_log.c) and each node's `console` and `access_log` (on disk, in the store's
 * git directory: engine/rlog.h); reading them as they grow (fs_live.c) and waking whoever
 * waits for them to grow in poll(2), select(2) or epoll (fs_poll.c). Part of fs_int.h's
 * contract (it includes this file).
 */
#ifndef UNISEC_FS_LIVE_H
#define UNISEC_FS_LIVE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct fs_ctx;
struct fs_where;
struct fs_handle;

/* The files read as they grow. */
enum fs_live {
    FS_LIVE_NONE,
    FS_LIVE_EVENTS,
    FS_LIVE_EVENTS_JSON, /* events.json: events, one JSON object a line */
    FS_LIVE_ERRORS,
    FS_LIVE_CONSOLE, /* nodes/NODE/console: the node's console log on disk */
    FS_LIVE_ACCESS,  /* nodes/NODE/access_log: its access log on disk */
    FS_LIVE_N,
};

/* ---- the logs in memory (fs_log.c) ---- */

/* An append-only log of lines with a size bound; the oldest lines go first. */
struct fs_log {
    char *buf; /* owned; NUL-terminated (not counted in len) once anything is appended */
    size_t len, cap;
    size_t max;       /* bytes kept at most (0: no bound) */
    size_t max_lines; /* lines kept at most (0: no bound) */
    size_t lines;
    time_t mtime;
};

void fs_log_init(struct fs_log *l, size_t max, size_t max_lines);
void fs_log_free(struct fs_log *l);
/* Appends "TIME LINE\n" (TIME as fs_time_format); LINE has no newline (any is replaced by a
 * space). Drops the oldest lines past the bounds. Returns 0 or -ENOMEM. */
int fs_log_append(struct fs_log *l, time_t now, const char *line);
/* Appends {"time": TIME, "level": LEVEL, "message": LINE} on one line (compact JSON; bytes of
 * LINE that are not UTF-8 become '?'; LEVEL is a plain word: "info", "error"). Bounds and result
 * as fs_log_append(). */
int fs_log_append_json(struct fs_log *l, time_t now, const char *level, const char *line);

/* ---- reading (fs_live.c) ---- */

/* A live file W, read as it grows: its size and when it last grew (left as it is when never),
 * and SIZE bytes of it at OFF into BUF (the count, or a negative errno). */
void fs_live_stat(struct fs_ctx *c, const struct fs_where *w, size_t *size, struct timespec *mt);
int fs_live_read(struct fs_ctx *c, const struct fs_where *w, char *buf, size_t size, off_t off);
/* Memory log L (events or errors) grew: its inotify watchers are told (fs_touch.c). */
void fs_live_touched(struct fs_ctx *c, const struct fs_log *l);

/* ---- waiting for them to grow (fs_poll.c; the FUSE operation is in fs_fuse.h) ---- */

/* Before the mount is served: C's pollers can be kept (no thread runs yet). 0 or -ENOMEM. */
int fs_poll_start(struct fs_ctx *c);
/* After the loop ended and every thread that logs has stopped: the watching thread ends, the
 * waits are dropped (the kernel woke their pollers when the session ended), C->poll is freed. */
void fs_poll_stop(struct fs_ctx *c);
/* The live files in mask LIVES (1 << enum fs_live) of NODE (NULL: the mount's own logs) grew:
 * wakes whoever waits on them. Any thread; nothing when C is not served. */
void fs_poll_wake(struct fs_ctx *c, unsigned lives, const char *node);
/* H's read at OFF returned N (bytes, or a negative errno): what lies past it is new to H. */
void fs_poll_read(struct fs_ctx *c, struct fs_handle *h, off_t off, int n);
/* H is released: it waits no more. */
void fs_poll_forget(struct fs_ctx *c, const struct fs_handle *h);

#endif
