/*
 * nofile.c — the guest has no files. A library that reaches for one anyway gets a clean
 * failure: BearSSL's system seeder opens /dev/urandom when the processor has no RDRAND it can
 * see (the tls module seeds every engine from the tender's seed first, so that failure
 * changes nothing). Exactly the calls libbearssl.a makes: open, read, close, errno.
 */
#include "libos.h"

static int libos_errno;

int *__errno_location(void);
int open(const char *path, int flags, ...);
long read(int fd, void *buf, size_t len);
int close(int fd);

int *__errno_location(void)
{
    return &libos_errno;
}

int open(const char *path, int flags, ...)
{
    (void)path;
    (void)flags;
    libos_errno = UNISEC_ENOSYS;
    return -1;
}

long read(int fd, void *buf, size_t len)
{
    (void)fd;
    (void)buf;
    (void)len;
    libos_errno = UNISEC_EBADF;
    return -1;
}

int close(int fd)
{
    (void)fd;
    libos_errno = UNISEC_EBADF;
    return -1;
}
