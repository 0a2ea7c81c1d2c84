/* spt_bind.c — the spt binding: a hypercall is a call into the tender's handler. */
#include "libos.h"
#include "libos_int.h"

__attribute__((section(".note.unisec"), used, aligned(4)))
const UNISEC_NOTE(struct unisec_target) libos_target_note = {
    sizeof(UNISEC_NOTE_NAME),
    sizeof(struct unisec_target),
    UNISEC_NOTE_TARGET,
    UNISEC_NOTE_NAME,
    {UNISEC_ABI_VERSION, UNISEC_TARGET_SPT}};

/* The tender's hypercall entry, from the boot info: kept here so that the binding, the
 * lowest file of the library OS, calls nothing above it. */
static void (*spt_hypercall)(uint32_t, uint64_t);

void libos_bind_init(const struct unisec_boot_info *bi)
{
    spt_hypercall = (void (*)(uint32_t, uint64_t))(uintptr_t)bi->spt_hypercall;
}

void libos_hypercall(uint32_t nr, void *arg)
{
    spt_hypercall(nr, (uint64_t)(uintptr_t)arg);
}
