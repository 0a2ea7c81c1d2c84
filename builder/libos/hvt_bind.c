/* hvt_bind.c — the hvt binding: a hypercall is an outl of the argument's address. */
#include "libos.h"

__attribute__((section(".note.unisec"), used, aligned(4)))
const UNISEC_NOTE(struct unisec_target) libos_target_note = {
    sizeof(UNISEC_NOTE_NAME),
    sizeof(struct unisec_target),
    UNISEC_NOTE_TARGET,
    UNISEC_NOTE_NAME,
    {UNISEC_ABI_VERSION, UNISEC_TARGET_HVT}};

void libos_hypercall(uint32_t nr, void *arg)
{
    /* Guest memory lies below UNISEC_MEM_MAX, so the address fits in 32 bits. The "memory"
     * clobber makes the compiler store ARG before the exit and reload it after. */
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)arg), "d"((uint16_t)(UNISEC_HVT_PIO_BASE + nr))
                         : "memory");
}
