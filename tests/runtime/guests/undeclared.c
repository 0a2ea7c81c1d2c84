/* undeclared.c — hostile test guest: asks for devices its manifest does not declare,
 * bypassing libos's own check: accept on a device index that is no listener. */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_UPSTREAM("up"));

int libos_main(const char *cmdline)
{
    (void)cmdline;
    printf("accepting on undeclared device 0\n");
    libos_console_flush();
    static struct unisec_sqe sq[1] = {{UNISEC_OP_ACCEPT, 0, 0, 0}};
    static struct unisec_event ev[4];
    struct unisec_hc_poll a = {0, (uint64_t)(uintptr_t)sq, 1, 0, (uint64_t)(uintptr_t)ev, 4, 0, 0,
                               0};
    libos_hypercall(UNISEC_HC_POLL, &a);
    printf("still alive\n");
    return 0;
}
