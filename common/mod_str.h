/*
 * mod_str.h — the few byte-string helpers the modules and common/ share. Freestanding: no libc, so
 * the same code compiles into a unikernel image and into the host's unit tests and fuzzers.
 */
#ifndef UNISEC_COMMON_MOD_STR_H
#define UNISEC_COMMON_MOD_STR_H

#include <stddef.h>
#include <stdint.h>

static inline int mod_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* A[0..N) equals B[0..N), byte for byte. */
static inline int mod_mem_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* A[0..AN) equals the NUL-terminated LIT, ignoring ASCII case. */
static inline int mod_ci_eq(const char *a, size_t an, const char *lit)
{
    size_t i = 0;
    for (; i < an && lit[i]; i++)
        if (mod_lower((unsigned char)a[i]) != mod_lower((unsigned char)lit[i]))
            return 0;
    return i == an && lit[i] == '\0';
}

static inline size_t mod_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static inline void mod_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

/* Is C an RFC 9110 tchar (a byte of a token: method, header name)? A bitmap of
 * letters, digits and !#$%&'*+-.^_`|~ over the 128 ASCII codes. */
static inline int mod_is_tchar(unsigned char c)
{
    static const uint64_t tchar[2] = {0x3ff6cfa00000000ull, 0x57ffffffc7fffffeull};
    return c < 128 && (tchar[c >> 6] >> (c & 63) & 1);
}

#endif
