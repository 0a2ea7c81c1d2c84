/* hello.c — test guest: prints its boot arguments and heap figures, exits with status 7. */
#include "libos.h"

UNISEC_MANIFEST();

int libos_main(const char *cmdline)
{
    struct libos_heap_stats st;
    char *p = malloc(100000);
    libos_heap_stats(&st);
    printf("hello from unisec: cmdline=\"%s\" heap=%zu used=%zu mono=%d\n", cmdline, st.total,
           st.used, libos_clock_monotonic() > 0);
    free(p);
    return 7;
}
