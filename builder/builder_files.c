/* builder_files.c — the builder's small helpers: formatting, whole files, atomic writes. */
#include "builder_int.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/sha256.h"
#include "engine/engine.h"

char *builder_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

void builder_hex(char *out, const uint8_t *h, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * n] = '\0';
}

int builder_read(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (f == NULL)
        return -errno;
    for (;;) {
        if (n == cap && ENGINE_GROW(&buf, &cap, n + 8192) < 0) {
            free(buf);
            fclose(f);
            return -ENOMEM;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = n;
    return 0;
}

int builder_hash_file(uint8_t out[32], const char *path)
{
    char *buf;
    size_t len;
    int e = builder_read(path, &buf, &len);
    if (e < 0)
        return e;
    engine_sha256(out, buf, len);
    free(buf);
    return 0;
}

/* A temporary name beside PATH that no other build uses: this process's id and a counter
 * shared by every builder and thread of the process (two builders of one daemon may write the
 * same cache entry at once). Freed by the caller; NULL when out of memory. */
char *builder_tmp_name(const char *path)
{
    static unsigned long counter;
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    return builder_fmt("%s.tmp-%ld-%lu", path, (long)getpid(), n);
}

/* Writes the buffers of IOV to PATH through a temporary file in the same directory and a
 * rename. */
int builder_write_atomicv(const char *path, const struct iovec *iov, int n)
{
    char *tmp = builder_fmt("%s.tmp-XXXXXX", path);
    int fd, e = 0;
    if (tmp == NULL)
        return -ENOMEM;
    if ((fd = mkstemp(tmp)) < 0) {
        e = -errno;
        free(tmp);
        return e;
    }
    for (int i = 0; i < n && e == 0; i++) {
        const char *p = iov[i].iov_base;
        size_t len = iov[i].iov_len;
        while (len > 0) {
            ssize_t w = write(fd, p, len);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                e = -errno;
                break;
            }
            p += w;
            len -= (size_t)w;
        }
    }
    if (e == 0 && fchmod(fd, 0644) < 0)
        e = -errno;
    if (close(fd) < 0 && e == 0)
        e = -errno;
    if (e == 0 && rename(tmp, path) < 0)
        e = -errno;
    if (e < 0)
        unlink(tmp);
    free(tmp);
    return e;
}

int builder_write_atomic(const char *path, const void *data, size_t len)
{
    struct iovec iov = {(void *)data, len};
    return builder_write_atomicv(path, &iov, 1);
}

int builder_mkdirs(const char *path)
{
    char *p = strdup(path);
    int e = 0;
    if (p == NULL)
        return -ENOMEM;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            e = -errno;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return e;
}

void builder_rmtree(const char *dir)
{
    glob_t g;
    char *pat = builder_fmt("%s/*", dir);
    if (pat && glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    free(pat);
    rmdir(dir);
}
