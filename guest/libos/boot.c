/* boot.c — the guest's entry point, boot information, console buffer, exit and panic. */
#include "libos.h"
#include "libos_int.h"

static const struct unisec_boot_info *libos_bi;

/* Guest console output waits here until a flush; one hypercall per buffer, not per line. */
static char libos_console_buf[4096];
static size_t libos_console_len;

const struct unisec_boot_info *libos_boot_info(void)
{
    return libos_bi;
}

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

uint64_t libos_clock_monotonic(void)
{
    struct unisec_hc_clock a = {0, 0, 0};
    libos_hypercall(UNISEC_HC_CLOCK, &a);
    return a.monotonic_ns;
}

uint64_t libos_clock_wall(void)
{
    struct unisec_hc_clock a = {0, 0, 0};
    libos_hypercall(UNISEC_HC_CLOCK, &a);
    return a.wall_ns;
}

__attribute__((section(".text.boot"), noreturn, used)) void _start(struct unisec_boot_info *bi)
{
    libos_bi = bi;
    if (bi->magic != UNISEC_BOOT_MAGIC || bi->abi_version != UNISEC_ABI_VERSION)
        libos_exit(254); /* the tender and the image disagree on the ABI: nothing is safe */
    libos_heap_init((uintptr_t)bi->heap_start, (uintptr_t)bi->heap_end);
    libos_exit(libos_main((const char *)(uintptr_t)bi->cmdline) & 0xff);
}
