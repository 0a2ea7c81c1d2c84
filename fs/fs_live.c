/* fs_live.c — the files read as they grow: `events`, `events.json` and `errors` (in memory,
 * fs_log.c), and each node's `console` and `access_log` (on disk, in the store's git
 * directory, where the supervisor writes them: engine/rlog.h). A reader sees what is there when it
 * reads, as `tail -f` expects: the size grows between two stats. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs_int.h"

int fs_copy_out(char *buf, size_t size, off_t off, const char *data, size_t len)
{
    if (off < 0 || (size_t)off >= len)
        return 0;
    if (size > len - (size_t)off)
        size = len - (size_t)off;
    memcpy(buf, data + off, size);
    return (int)size;
}

/* The memory log of W's row, or NULL for a node's log on disk. */
static struct fs_log *fs_live_mem(struct fs_ctx *c, const struct fs_where *w)
{
    switch (w->e->live) {
    case FS_LIVE_EVENTS:
        return &c->events;
    case FS_LIVE_EVENTS_JSON:
        return &c->events_json;
    case FS_LIVE_ERRORS:
        return &c->errors;
    default:
        return NULL;
    }
}

/* LOG_DIR/NODE and the log's name there, or -ENOENT when the node keeps none. */
static int fs_live_disk(struct fs_ctx *c, const struct fs_where *w, char *dir, size_t size,
                        const char **name)
{
    *name = w->e->live == FS_LIVE_ACCESS ? "access" : "console";
    if (c->log_dir == NULL || strcmp(w->node, ".") == 0 || strcmp(w->node, "..") == 0 ||
        strchr(w->node, '/') != NULL)
        return -ENOENT;
    if ((size_t)snprintf(dir, size, "%s/%s", c->log_dir, w->node) >= size)
        return -ENAMETOOLONG;
    return 0;
}

void fs_live_stat(struct fs_ctx *c, const struct fs_where *w, size_t *size, struct timespec *mt)
{
    struct fs_log *l = fs_live_mem(c, w);
    char dir[PATH_MAX];
    const char *name;
    time_t t = 0;

    *size = 0;
    if (l != NULL) {
        pthread_mutex_lock(&c->mu);
        *size = l->len;
        t = l->mtime;
        pthread_mutex_unlock(&c->mu);
    } else if (fs_live_disk(c, w, dir, sizeof(dir), &name) == 0) {
        engine_rlog_stat(dir, name, c->log_keep, size, &t);
    }
    if (t != 0)
        mt->tv_sec = t, mt->tv_nsec = 0;
}

int fs_live_read(struct fs_ctx *c, const struct fs_where *w, char *buf, size_t size, off_t off)
{
    struct fs_log *l = fs_live_mem(c, w);
    char dir[PATH_MAX];
    const char *name;
    int n;

    if (l != NULL) {
        pthread_mutex_lock(&c->mu);
        n = fs_copy_out(buf, size, off, l->buf, l->len);
        pthread_mutex_unlock(&c->mu);
        return n;
    }
    if (fs_live_disk(c, w, dir, sizeof(dir), &name) < 0)
        return 0; /* a node that never ran has said nothing */
    return (int)engine_rlog_read(dir, name, c->log_keep, off, buf, size);
}

void fs_live_touched(struct fs_ctx *c, const struct fs_log *l)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (l == &c->errors) {
        fs_touch(c, "errors", &now);
    } else {
        fs_touch(c, "events", &now);
        fs_touch(c, "events.json", &now);
    }
}
