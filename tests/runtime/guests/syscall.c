/* syscall.c — hostile test guest: makes a Linux system call (getpid) itself, with the
 * instruction its boot argument names: SYSCALL (none), "int80" (the 32-bit ABI's int $0x80)
 * or "sysenter". Under spt, seccomp or the fault kills it; under hvt it faults with no
 * handler. */
#include "libos.h"

UNISEC_MANIFEST();

int libos_main(const char *cmdline)
{
    printf("calling getpid directly\n");
    libos_console_flush();
    long ret;
    if (strcmp(cmdline, "int80") == 0)
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    else if (strcmp(cmdline, "sysenter") == 0)
        __asm__ __volatile__("sysenter" : "=a"(ret) : "a"(20L) : "rcx", "r11", "memory");
    else
        __asm__ __volatile__("syscall" : "=a"(ret) : "a"(39L) : "rcx", "r11", "memory");
    printf("still alive: %ld\n", ret);
    return 0;
}
