/* boot.c — the guest's entry point, its boot information and clocks. */
#include "libos.h"
#include "libos_int.h"

#include "common/crc32c.h"

static const struct unisec_boot_info *libos_bi;

const struct unisec_boot_info *libos_boot_info(void)
{
    return libos_bi;
}

/* The rules region of linked code: the header alone, which the builder's copy replaces. */
__attribute__((section(UNISEC_RULES_SECTION), used,
               aligned(16))) static const struct unisec_rules libos_rules_none = {
    UNISEC_RULES_MAGIC, 0, 0, 0};

int libos_rules(const void **data, size_t *len)
{
    /* The segment may have moved in the file but not in memory: the section's address is
     * the linker's, and what the tender loaded there is the builder's header. */
    const struct unisec_rules *r = &libos_rules_none;
    __asm__("" : "+r"(r)); /* not the initializer above: the compiler may not fold it */
    uintptr_t start = (uintptr_t)(r + 1), end = (uintptr_t)libos_bi->heap_start;
    uint64_t n = r->len;

    *data = NULL;
    *len = 0;
    if (memcmp(r->magic, UNISEC_RULES_MAGIC, 8) != 0 || start > end)
        return -UNISEC_EINVAL;
    if (n == 0)
        return -UNISEC_ENOENT;
    if (n > end - start || r->reserved != 0)
        return -UNISEC_EINVAL; /* past the region: the heap, not rules */
    /* The tender's sum, made as it wrote these bytes, stands for ours (abi.h): it is our host. */
    int summed = (libos_bi->flags & UNISEC_BOOT_RULES_SUMMED) != 0;
    if (!summed && engine_crc32c((const void *)start, (size_t)n) != r->crc32c)
        return -UNISEC_EIO; /* not the bytes the builder placed */
    *data = (const void *)start;
    *len = (size_t)n;
    return summed;
}

uint64_t libos_clock_monotonic(void)
{
    struct unisec_hc_clock a = {0, 0, 0};
    libos_hypercall(UNISEC_HC_CLOCK, &a);
    return a.monotonic_ns;
}

uint64_t libos_clock_wall(void)
{
    struct unisec_hc_clock a = {0, 0, 0};
    libos_hypercall(UNISEC_HC_CLOCK, &a);
    return a.wall_ns;
}

__attribute__((section(".text.boot"), noreturn, used)) void _start(struct unisec_boot_info *bi)
{
    libos_bi = bi;
    libos_bind_init(bi);
    if (bi->magic != UNISEC_BOOT_MAGIC || bi->abi_version != UNISEC_ABI_VERSION)
        libos_exit(254); /* the tender and the image disagree on the ABI: nothing is safe */
    libos_heap_init((uintptr_t)bi->heap_start, (uintptr_t)bi->heap_end);
    libos_exit(libos_main((const char *)(uintptr_t)bi->cmdline) & 0xff);
}
