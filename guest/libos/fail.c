/*
 * fail.c — how Nettle's and GMP's static archives (the tls module's EC code) report a failure
 * they do not return from: an assertion, an allocation GMP cannot make, an overflow. Each
 * prints a line to stderr and aborts; here the line goes to the console and the guest panics.
 * Exactly the calls their linked objects make: abort, __assert_fail, and for the message
 * stderr, __fprintf_chk (a fortified fprintf) and fwrite. There is no other stdio: stderr
 * only names the console, and nothing can write anywhere else.
 */
#include "libos.h"

struct libos_file {
    int unused;
};

static struct libos_file libos_console_file;
struct libos_file *stderr = &libos_console_file;

__attribute__((noreturn)) void abort(void);
__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file, unsigned line,
                                             const char *func);
int __fprintf_chk(struct libos_file *f, int flag, const char *fmt, ...);
size_t fwrite(const void *p, size_t size, size_t n, struct libos_file *f);

void abort(void)
{
    libos_panic("abort");
}

void __assert_fail(const char *expr, const char *file, unsigned line, const char *func)
{
    libos_panic("%s:%u: %s: assertion '%s' failed", file, line, func, expr);
}

int __fprintf_chk(struct libos_file *f, int flag, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    (void)f;
    (void)flag;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    libos_console_write(buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

size_t fwrite(const void *p, size_t size, size_t n, struct libos_file *f)
{
    (void)f;
    if (size != 0 && n > SIZE_MAX / size)
        return 0;
    libos_console_write(p, size * n);
    return n;
}
