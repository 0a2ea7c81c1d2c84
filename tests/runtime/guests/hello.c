/* hello.c — test guest: prints the boot info's wall clock (read before any clock hypercall)
 * and whether its monotonic clock and instruction sets are sane, its boot arguments and heap
 * figures, checks that calloc's memory is zero (memory used and freed before, and fresh heap,
 * which calloc does not clear), and exits with status 7. It also prints a tag of its boot seed
 * (not the seed), whether the seed was erased once taken and whether the stack protector's
 * canary is set. With the boot argument "overflow" it makes a checked copy overflow, which
 * must panic. */
#include "libos.h"

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_size);

/* A 32-bit FNV-1a of the seed: equal seeds give equal tags, and the seed stays unprinted. */
static unsigned hello_seed(void)
{
    uint8_t seed[UNISEC_SEED_LEN], again[UNISEC_SEED_LEN];
    unsigned h = 2166136261u, nonzero = 0;
    if (libos_seed_take(seed) < 0)
        return 0;
    for (size_t i = 0; i < sizeof(seed); i++) {
        h = (h ^ seed[i]) * 16777619u;
        nonzero |= seed[i] | libos_boot_info()->seed[i];
    }
    printf("seed: tag %08x, %s, %s\n", h, nonzero ? "set" : "ZERO",
           libos_seed_take(again) == -UNISEC_ENOENT ? "taken once" : "TAKEN TWICE");
    return h;
}

UNISEC_MANIFEST();

/* 1 when every byte of P[0..N) is zero. */
static int hello_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int libos_main(const char *cmdline)
{
    const struct unisec_boot_info *bi = libos_boot_info();
    if (strcmp(cmdline, "overflow") == 0) {
        char small[8], src[16] = "0123456789abcdef";
        __memcpy_chk(small, src, sizeof(src), sizeof(small));
        return 0;
    }
    uint64_t canary;
    __asm__ __volatile__("movq %%fs:0x28, %0" : "=r"(canary));
    printf("canary %s\n", canary ? "set" : "ZERO");
    hello_seed();
    /* SSE2 (leaf 1 EDX bit 26) is part of x86_64: every host has it. */
    printf("boot: wall=%llu s, sse2=%d\n", (unsigned long long)(bi->wall_ns / 1000000000ull),
           (bi->cpuid1_edx >> 26) & 1);
    uint64_t mono = libos_clock_monotonic();
    printf("boot: monotonic %s\n",
           bi->monotonic_ns > 0 && bi->monotonic_ns <= mono && libos_loop_now() == bi->monotonic_ns
               ? "sane"
               : "WRONG");
    struct libos_heap_stats st;
    char *p = malloc(100000);
    libos_heap_stats(&st);
    printf("hello from unisec: cmdline=\"%s\" heap=%zu used=%zu mono=%d\n", cmdline, st.total,
           st.used, libos_clock_monotonic() > 0);
    /* A block written and freed, then a calloc that takes it and fresh memory beyond it. */
    char *dirty = malloc(5000);
    memset(dirty, 0xa5, 5000);
    free(dirty);
    unsigned char *z = calloc(3, 4096);
    int zero = z != NULL && hello_zero(z, 3 * 4096);
    memset(z, 0x5a, 3 * 4096);
    free(z);
    unsigned char *again = calloc(1, 3 * 4096); /* all of it used before */
    zero = zero && again != NULL && hello_zero(again, 3 * 4096);
    printf("calloc %s\n", zero ? "zeroed" : "NOT ZEROED");
    free(again);
    free(p);
    return 7;
}
