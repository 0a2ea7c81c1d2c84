/*
 * harden.c — what a library built with stack protection and _FORTIFY_SOURCE calls (Debian
 * builds its static libraries so, libbearssl.a included): the canary check's failure and the
 * checked copies. Each failure is an attack or a bug: the guest panics rather than go on.
 * The canary itself is the tender's (abi.h, "Secrets"). The library OS's own code is
 * compiled without either.
 */
#include "libos.h"

__attribute__((noreturn)) void __stack_chk_fail(void);
void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_size);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t dst_size);
void *__memset_chk(void *dst, int c, size_t n, size_t dst_size);

void __stack_chk_fail(void)
{
    libos_panic("stack smashing detected");
}

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_size)
{
    if (n > dst_size)
        libos_panic("memcpy of %zu bytes into %zu", n, dst_size);
    return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dst_size)
{
    if (n > dst_size)
        libos_panic("memmove of %zu bytes into %zu", n, dst_size);
    return memmove(dst, src, n);
}

void *__memset_chk(void *dst, int c, size_t n, size_t dst_size)
{
    if (n > dst_size)
        libos_panic("memset of %zu bytes into %zu", n, dst_size);
    return memset(dst, c, n);
}
