/* console.c — the guest's console buffer, printf, exit and panic: the way out of the guest. */
#include "libos.h"
#include "libos_int.h"

/* Guest console output waits here until a flush; one hypercall per buffer, not per line. */
static char libos_console_buf[4096];
static size_t libos_console_len;

void libos_console_flush(void)
{
    if (libos_console_len == 0)
        return;
    struct unisec_hc_console a = {(uint64_t)(uintptr_t)libos_console_buf, libos_console_len, 0};
    libos_hypercall(UNISEC_HC_CONSOLE, &a);
    libos_console_len = 0;
}

const char *libos_console_pending(size_t *len)
{
    *len = libos_console_len;
    return libos_console_buf;
}

void libos_console_taken(void)
{
    libos_console_len = 0;
}

void libos_console_write(const char *buf, size_t len)
{
    if (len >= sizeof(libos_console_buf)) {
        libos_console_flush();
        struct unisec_hc_console a = {(uint64_t)(uintptr_t)buf, len, 0};
        libos_hypercall(UNISEC_HC_CONSOLE, &a);
        return;
    }
    if (libos_console_len + len > sizeof(libos_console_buf))
        libos_console_flush();
    memcpy(libos_console_buf + libos_console_len, buf, len);
    libos_console_len += len;
}

int printf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return n;
    libos_console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

void libos_exit(int status)
{
    libos_console_flush();
    struct unisec_hc_halt a = {status, 0};
    libos_hypercall(UNISEC_HC_HALT, &a);
    for (;;) /* the tender never returns from HALT */
        ;
}

void libos_panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("panic: %s\n", buf);
    libos_exit(255);
}
