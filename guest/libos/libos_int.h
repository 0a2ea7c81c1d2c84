/* libos_int.h — what the library OS's own files share; not for modules. */
#ifndef UNISEC_GUEST_LIBOS_INT_H
#define UNISEC_GUEST_LIBOS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "contract/abi.h"

/* The target note of a binding (contract/abi.h): which tender runs the image. */
#define LIBOS_TARGET_NOTE(target)                                                                  \
    __attribute__((section(".note.unisec"), used, aligned(4)))                                     \
    const UNISEC_NOTE(struct unisec_target) libos_target_note = {sizeof(UNISEC_NOTE_NAME),         \
                                                                 sizeof(struct unisec_target),     \
                                                                 UNISEC_NOTE_TARGET,               \
                                                                 UNISEC_NOTE_NAME,                 \
                                                                 {UNISEC_ABI_VERSION, (target)}}

/* Gives the target binding what it needs of the boot info (spt: the tender's hypercall
 * entry). Called first by _start, before any hypercall. */
void libos_bind_init(const struct unisec_boot_info *bi);

/* Performs a POLL (struct unisec_hc_poll): hvt, at light load, through the mailbox without
 * an exit where the tender offers one (contract/abi.h); otherwise the hypercall. */
void libos_poll(struct unisec_hc_poll *a);

/* Gives the allocator the heap [START, END). Called once by _start. */
void libos_heap_init(uintptr_t start, uintptr_t end);

/* The console output buffered so far (*LEN bytes), for the loop to hand to its POLL, which
 * writes it like a flush; libos_console_taken() empties the buffer once the POLL is back. */
const char *libos_console_pending(size_t *len);
void libos_console_taken(void);

/* The device index named NAME with TYPE in the image's manifest, or -UNISEC_ENOENT. */
int libos_manifest_find(uint32_t type, const char *name);

#endif
