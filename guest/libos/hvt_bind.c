/* hvt_bind.c — the hvt binding: a hypercall is a store of the argument's address to the
 * hypercall page, which exits to the tender. */
#include "libos.h"
#include "libos_int.h"

LIBOS_TARGET_NOTE(UNISEC_TARGET_HVT);

void libos_bind_init(const struct unisec_boot_info *bi)
{
    (void)bi; /* hvt's hypercalls are stores to a fixed address: nothing to keep */
}

void libos_hypercall(uint32_t nr, void *arg)
{
    /* Guest memory lies below UNISEC_MEM_MAX, so the address fits in 32 bits. The "memory"
     * clobber makes the compiler store ARG before the exit and reload it after. */
    volatile uint32_t *port = (volatile uint32_t *)(uintptr_t)(UNISEC_HVT_MMIO_BASE + 4ull * nr);
    __asm__ __volatile__("movl %1, %0" : "=m"(*port) : "r"((uint32_t)(uintptr_t)arg) : "memory");
}
