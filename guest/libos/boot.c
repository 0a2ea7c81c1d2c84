/* boot.c — the guest's entry point, its boot information and clocks. */
#include "libos.h"
#include "libos_int.h"

static const struct unisec_boot_info *libos_bi;

const struct unisec_boot_info *libos_boot_info(void)
{
    return libos_bi;
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
