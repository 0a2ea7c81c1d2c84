/* spt_bind.c — the spt binding: a hypercall is a call into the tender's handler. */
#include "libos.h"

__attribute__((section(".note.unisec"), used, aligned(4)))
const UNISEC_NOTE(struct unisec_target) libos_target_note = {
    sizeof(UNISEC_NOTE_NAME),
    sizeof(struct unisec_target),
    UNISEC_NOTE_TARGET,
    UNISEC_NOTE_NAME,
    {UNISEC_ABI_VERSION, UNISEC_TARGET_SPT}};

void libos_hypercall(uint32_t nr, void *arg)
{
    void (*fn)(uint32_t, uint64_t) =
        (void (*)(uint32_t, uint64_t))(uintptr_t)libos_boot_info()->spt_hypercall;
    fn(nr, (uint64_t)(uintptr_t)arg);
}
