/* undeclared.c — hostile test guest: asks for devices its manifest does not declare,
 * bypassing libos's own check: accept on a device index that is no listener. */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_UPSTREAM("up"));

int libos_main(const char *cmdline)
{
    (void)cmdline;
    printf("accepting on undeclared device 0\n");
    libos_console_flush();
    struct unisec_hc_accept a = {0, 0, {0, 0, {0}}, 0};
    libos_hypercall(UNISEC_HC_ACCEPT, &a);
    printf("still alive\n");
    return 0;
}
