/* fs_disk.c — the files of an image's directory (images/ID/manifest.json, image, build.log),
 * served from the image cache by offset: an image of 50 MB at a million rules is neither read
 * whole per open nor per stat. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_int.h"

int fs_disk_open(struct fs_ctx *c, const struct fs_where *w)
{
    char path[PATH_MAX];
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s/%s", c->image_dir, w->node, w->name) >=
            (int)sizeof(path) ||
        (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return -ENOENT;
    return fd;
}

int fs_disk_stat(struct fs_ctx *c, const struct fs_where *w, int fd, size_t *size,
                 struct timespec *mtime)
{
    struct stat st;
    int own = fd < 0 ? fs_disk_open(c, w) : fd, rc = 0;

    if (own < 0)
        return own;
    if (fstat(own, &st) < 0 || !S_ISREG(st.st_mode))
        rc = -ENOENT;
    else
        *size = (size_t)st.st_size, *mtime = st.st_mtim;
    if (own != fd)
        close(own);
    return rc;
}

/* The whole file: only a rename of it to a temporary file copies it (reads use pread). */
int fs_gen_image_file(struct fs_ctx *c, const struct fs_snap *s, const struct fs_where *w,
                      FILE *out)
{
    char buf[65536];
    ssize_t n;
    int fd = fs_disk_open(c, w);

    (void)s;
    if (fd < 0)
        return fd;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, out);
    close(fd);
    return n < 0 ? -EIO : 0;
}

int fs_disk_read(int fd, char *buf, size_t size, off_t off)
{
    size_t got = 0;

    if (off < 0)
        return -EINVAL;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -EIO;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (int)got;
}
