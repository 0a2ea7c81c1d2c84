/* badptr.c — hostile test guest: breaks the hypercall ABI in the way its boot argument
 * names: "console" (a buffer outside guest memory), "arg" (an argument struct outside),
 * "hc" (an unknown hypercall), "port" (port I/O that is no hypercall; hvt only). */
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
    } else if (strcmp(cmdline, "port") == 0) {
        __asm__ __volatile__("outb %%al, $0x80" : : "a"(0));
    }
    printf("still alive\n");
    return 0;
}
