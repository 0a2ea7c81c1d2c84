/* badptr.c — hostile test guest: breaks the hypercall ABI in the way its boot argument
 * names: "console" (a buffer outside guest memory), "arg" (an argument struct outside),
 * "hc" (an unknown hypercall), "port" (port I/O that is no hypercall), "recv" (a receive
 * buffer outside guest memory). */
#include "libos.h"

UNISEC_MANIFEST();

int libos_main(const char *cmdline)
{
    printf("hostile guest: %s\n", cmdline);
    libos_console_flush();
    if (strcmp(cmdline, "console") == 0) {
        struct unisec_hc_console a = {0xfffff000ull, 4096, 0};
        libos_hypercall(UNISEC_HC_CONSOLE, &a);
    } else if (strcmp(cmdline, "arg") == 0) {
        libos_hypercall(UNISEC_HC_CLOCK, (void *)(uintptr_t)0xfffffff8ull);
    } else if (strcmp(cmdline, "hc") == 0) {
        struct unisec_hc_clock a = {0, 0, 0};
        libos_hypercall(99, &a);
    } else if (strcmp(cmdline, "recv") == 0) {
        static struct unisec_sqe sq[1] = {{UNISEC_OP_RECV, 0, 0xfffff000ull, 8192}};
        static struct unisec_event ev[4];
        struct unisec_hc_poll a = {
            0, (uint64_t)(uintptr_t)sq, 1, 0, (uint64_t)(uintptr_t)ev, 4, 0, 0, 0};
        libos_hypercall(UNISEC_HC_POLL, &a);
    } else if (strcmp(cmdline, "port") == 0) {
        __asm__ __volatile__("outb %%al, $0x80" : : "a"(0));
    }
    printf("still alive\n");
    return 0;
}
