/* spt_bind.c — the spt binding: a hypercall is a call into the tender's handler. */
#include "libos.h"
#include "libos_int.h"

LIBOS_TARGET_NOTE(UNISEC_TARGET_SPT);

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

void libos_poll(struct unisec_hc_poll *a)
{
    libos_hypercall(UNISEC_HC_POLL, a); /* a call already: no exit to save */
}
