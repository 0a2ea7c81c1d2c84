/* syscall.c — hostile test guest: makes a Linux system call (getpid) itself. Under spt,
 * seccomp kills it; under hvt the instruction faults with no handler. */
#include "libos.h"

UNISEC_MANIFEST();

int libos_main(const char *cmdline)
{
    (void)cmdline;
    printf("calling getpid directly\n");
    libos_console_flush();
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(39L) : "rcx", "r11", "memory");
    printf("still alive: %ld\n", ret);
    return 0;
}
