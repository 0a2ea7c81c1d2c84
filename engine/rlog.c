/* rlog.c — a size-bounded log on disk, rotated by renaming (rlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rlog.h"

#define RLOG_NAME_MAX 48

/* "NAME" for I 0, "NAME.I" otherwise. */
static void rlog_file(char *out, size_t size, const char *name, unsigned i)
{
    if (i == 0)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%s.%u", name, i);
}

/* mkdir -p DIR, each made 0700. */
static int rlog_mkdirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return -ENAMETOOLONG;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        p[i] = i < n ? '/' : '\0';
    }
    return 0;
}

static unsigned rlog_keep(unsigned keep)
{
    return keep == 0 ? 4 : keep > ENGINE_RLOG_KEEP_MAX ? ENGINE_RLOG_KEEP_MAX : keep;
}

int engine_rlog_open(struct engine_rlog *l, const char *dir, const char *name, size_t max,
                     unsigned keep)
{
    int r;

    memset(l, 0, sizeof(*l));
    l->dirfd = l->fd = -1;
    if (strlen(name) > RLOG_NAME_MAX || strchr(name, '/') || name[0] == '.' || name[0] == '\0')
        return -EINVAL;
    if ((r = rlog_mkdirs(dir)) < 0)
        return r;
    if ((l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -errno;
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->max = max == 0 ? 1u << 20 : max;
    l->keep = rlog_keep(keep);
    return 0;
}

/* NAME.(KEEP-2) -> NAME.(KEEP-1), ..., NAME -> NAME.1; NAME is then made anew. */
static int rlog_rotate(struct engine_rlog *l)
{
    char from[sizeof(((struct engine_rlog *)0)->name) + 16],
        to[sizeof(((struct engine_rlog *)0)->name) + 16];

    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    for (unsigned i = l->keep - 1; i > 0; i--) {
        rlog_file(from, sizeof(from), l->name, i - 1);
        rlog_file(to, sizeof(to), l->name, i);
        if (renameat(l->dirfd, from, l->dirfd, to) < 0 && errno != ENOENT)
            return -errno;
    }
    if (l->keep == 1)
        unlinkat(l->dirfd, l->name, 0);
    return 0;
}

int engine_rlog_write(struct engine_rlog *l, const void *buf, size_t len)
{
    const char *p = buf;
    struct stat st;

    if (l->dirfd < 0)
        return -EBADF;
    if (l->fd < 0) {
        l->fd = openat(l->dirfd, l->name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (l->fd < 0)
            return -errno;
        l->size = fstat(l->fd, &st) == 0 ? (size_t)st.st_size : 0;
    }
    if (l->size > 0 && l->size + len > l->max) {
        int r = rlog_rotate(l);
        if (r < 0)
            return r;
        return engine_rlog_write(l, buf, len);
    }
    while (len > 0) {
        ssize_t n = write(l->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n, len -= (size_t)n, l->size += (size_t)n;
    }
    return 0;
}

void engine_rlog_close(struct engine_rlog *l)
{
    if (l->fd >= 0)
        close(l->fd);
    if (l->dirfd >= 0)
        close(l->dirfd);
    l->fd = l->dirfd = -1;
}

int engine_rlog_stat(const char *dir, const char *name, unsigned keep, size_t *size, time_t *mtime)
{
    char path[PATH_MAX];
    struct stat st;

    *size = 0;
    *mtime = 0;
    if (strlen(name) > RLOG_NAME_MAX)
        return -EINVAL;
    keep = rlog_keep(keep);
    for (unsigned i = 0; i < keep; i++) {
        char f[sizeof(((struct engine_rlog *)0)->name) + 16];
        rlog_file(f, sizeof(f), name, i);
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f) >= sizeof(path))
            return -ENAMETOOLONG;
        if (stat(path, &st) < 0)
            continue;
        *size += (size_t)st.st_size;
        if (i == 0)
            *mtime = st.st_mtime;
    }
    return 0;
}

ssize_t engine_rlog_read(const char *dir, const char *name, unsigned keep, off_t off, char *buf,
                         size_t size)
{
    char path[PATH_MAX];
    size_t done = 0;

    if (off < 0 || strlen(name) > RLOG_NAME_MAX)
        return -EINVAL;
    keep = rlog_keep(keep);
    /* Oldest first: NAME.(KEEP-1) ... NAME.1, NAME. */
    for (unsigned k = keep; k > 0 && done < size; k--) {
        char f[sizeof(((struct engine_rlog *)0)->name) + 16];
        struct stat st = {0};
        int fd;

        rlog_file(f, sizeof(f), name, k - 1);
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f) >= sizeof(path))
            return -ENAMETOOLONG;
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        if (fstat(fd, &st) < 0 || off >= st.st_size) {
            off -= off >= st.st_size ? st.st_size : 0;
            close(fd);
            continue;
        }
        while (done < size) {
            ssize_t n = pread(fd, buf + done, size - done, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            done += (size_t)n;
            off += n;
        }
        off = 0;
        close(fd);
    }
    return (ssize_t)done;
}
