/* builder_files.c — the builder's small helpers: formatting, whole files, files' hashes (kept
 * while the files stay as they were), atomic writes. */
#include "builder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
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

/* Files hashed before, by path: a builder is made for each change the orchestrator builds,
 * and hashes again only the sources, headers and libraries that changed since. An entry holds
 * while the file's device, inode, size and modification and change times are those it was
 * hashed with, and is made only when those times were over a second old then: a write in the
 * clock tick of the hash could leave them as they were. */
#define BUILDER_MEMO_MAX 1024

struct builder_memo {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
    uint8_t hash[32];
};

static pthread_mutex_t builder_memo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct builder_memo builder_memo[BUILDER_MEMO_MAX];
static size_t builder_nmemo;

static int builder_memo_same(const struct builder_memo *m, const struct stat *st)
{
    return m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size &&
           m->mtim.tv_sec == st->st_mtim.tv_sec && m->mtim.tv_nsec == st->st_mtim.tv_nsec &&
           m->ctim.tv_sec == st->st_ctim.tv_sec && m->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* The entry of PATH, or where it goes (NULL: the memo is full). builder_memo_mu held. */
static struct builder_memo *builder_memo_slot(const char *path)
{
    for (size_t i = 0; i < builder_nmemo; i++)
        if (strcmp(builder_memo[i].path, path) == 0)
            return &builder_memo[i];
    if (builder_nmemo == BUILDER_MEMO_MAX)
        return NULL;
    return &builder_memo[builder_nmemo];
}

static int builder_memo_get(const char *path, const struct stat *st, uint8_t out[32])
{
    int hit = 0;
    pthread_mutex_lock(&builder_memo_mu);
    struct builder_memo *m = builder_memo_slot(path);
    if (m != NULL && m->path != NULL && builder_memo_same(m, st)) {
        memcpy(out, m->hash, 32);
        hit = 1;
    }
    pthread_mutex_unlock(&builder_memo_mu);
    return hit;
}

static void builder_memo_put(const char *path, const struct stat *st, const uint8_t hash[32],
                             const struct timespec *then)
{
    if (st->st_mtim.tv_sec + 1 >= then->tv_sec || st->st_ctim.tv_sec + 1 >= then->tv_sec)
        return; /* too recent to be told from a write in the same tick */
    pthread_mutex_lock(&builder_memo_mu);
    struct builder_memo *m = builder_memo_slot(path);
    if (m != NULL && (m->path != NULL || (m->path = strdup(path)) != NULL)) {
        if (m == &builder_memo[builder_nmemo])
            builder_nmemo++;
        m->dev = st->st_dev;
        m->ino = st->st_ino;
        m->size = st->st_size;
        m->mtim = st->st_mtim;
        m->ctim = st->st_ctim;
        memcpy(m->hash, hash, 32);
    }
    pthread_mutex_unlock(&builder_memo_mu);
}

int builder_hash_file(uint8_t out[32], const char *path)
{
    struct timespec then;
    struct stat st;
    int fd, e = 0;

    clock_gettime(CLOCK_REALTIME, &then);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        e = -errno;
        close(fd);
        return e;
    }
    if (builder_memo_get(path, &st, out)) {
        close(fd);
        return 0;
    }
    struct engine_sha256 h;
    char buf[16384];
    engine_sha256_init(&h);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            e = r < 0 ? -errno : 0;
            break;
        }
        engine_sha256_update(&h, buf, (size_t)r);
    }
    close(fd);
    if (e < 0)
        return e;
    engine_sha256_final(&h, out);
    builder_memo_put(path, &st, out, &then);
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
int builder_pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

int builder_write_atomic_fill(const char *path, int (*fill)(int fd, void *arg), void *arg)
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
    e = fill(fd, arg);
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

struct builder_buf {
    const void *data;
    size_t len;
};

static int builder_buf_fill(int fd, void *arg)
{
    const struct builder_buf *b = arg;
    return builder_pwrite_all(fd, b->data, b->len, 0);
}

int builder_write_atomic(const char *path, const void *data, size_t len)
{
    struct builder_buf b = {data, len};
    return builder_write_atomic_fill(path, builder_buf_fill, &b);
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
