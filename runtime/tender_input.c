/* tender_input.c — the one bounded reader of what the command line names for the tender to
 * read whole before the guest starts (--policy-blob, --tls-cert, --tls-key, --tls-fd): a
 * file, "-" for standard input (a pipe has no size, so the bound is counted, not stat'ed),
 * or an inherited descriptor. Reading ends before the lockdown: none of it is allowed after. */
#include "tender_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frees BUF of CAP bytes, wiping it first when SECRET. */
static void tender_input_free(uint8_t *buf, size_t cap, int secret)
{
    if (buf && secret)
        explicit_bzero(buf, cap);
    free(buf);
}

/* The next block of FD at offset HAVE: pread where FD seeks (an inherited memory file's
 * position may be at its end), read where it does not (a pipe, a terminal). */
static ssize_t tender_input_block(int fd, uint8_t *p, size_t n, size_t have, int *seekable)
{
    for (;;) {
        ssize_t got = *seekable ? pread(fd, p, n, (off_t)have) : read(fd, p, n);
        if (got < 0 && errno == ESPIPE && *seekable) {
            *seekable = 0;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        return got;
    }
}

int tender_input_fd(int fd, size_t max, int secret, uint8_t **out, size_t *len)
{
    size_t cap = max < 4096 ? max + 1 : 4096, have = 0;
    uint8_t *buf = malloc(cap);
    int seekable = 1;
    while (buf) {
        if (have == cap) {
            if (have > max)
                break;
            /* Grown by hand, not realloc: a secret's old copy is wiped, not left behind. */
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            uint8_t *nbuf = malloc(ncap);
            if (nbuf)
                memcpy(nbuf, buf, have);
            tender_input_free(buf, cap, secret);
            buf = nbuf;
            cap = ncap;
            continue;
        }
        ssize_t got = tender_input_block(fd, buf + have, cap - have, have, &seekable);
        if (got <= 0) {
            if (got == 0) {
                *out = buf;
                *len = have;
                return 0;
            }
            int e = errno;
            tender_input_free(buf, cap, secret);
            return -e;
        }
        have += (size_t)got;
    }
    if (buf == NULL)
        return -ENOMEM;
    tender_input_free(buf, cap, secret);
    return -EFBIG;
}

int tender_input_read(const char *opt, const char *path, size_t max, int secret, uint8_t **out,
                      size_t *len, struct engine_diag *d)
{
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "standard input" : path;
    int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        engine_diag_add(d, path, 0, 0, "%s: cannot open: %s", opt, strerror(e));
        return -e;
    }
    int rc = tender_input_fd(fd, max, secret, out, len);
    if (!from_stdin)
        close(fd);
    if (rc == -EFBIG)
        engine_diag_add(d, name, 0, 0, "%s: over %zu bytes, the most it takes", opt, max);
    else if (rc < 0)
        engine_diag_add(d, name, 0, 0, "%s: cannot read: %s", opt, strerror(-rc));
    return rc;
}
