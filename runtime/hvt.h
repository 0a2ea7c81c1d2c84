/* hvt.h — what the hvt tender's files share: the KVM handles of one single-vCPU VM. */
#ifndef UNISEC_RUNTIME_HVT_H
#define UNISEC_RUNTIME_HVT_H

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "tender.h"

struct hvt {
    int kvm, vm, vcpu; /* -1 when closed */
    struct kvm_run *run;
    size_t run_size;
    uint8_t *mem; /* guest physical 0 .. mem_size */
    uint64_t mem_size;
    uint32_t cpu[3]; /* the guest's instruction sets for the boot info (hvt_x86_64_setup) */
};

/*
 * Opens /dev/kvm and creates a VM with MEM_SIZE bytes of guest memory at guest-physical 0 and
 * one vCPU whose run area is mapped. H's descriptors start at -1. Returns 0 or a negative
 * errno with D filled; hvt_vm_close() releases what was made either way.
 */
int hvt_vm_open(struct hvt *h, uint64_t mem_size, struct engine_diag *d);
void hvt_vm_close(struct hvt *h);

/* A huge page (2 MiB): guest memory is aligned on one. */
#define HVT_HUGE (2u << 20)

/*
 * Asks for huge pages under guest memory [0, END) where they fit whole, END being the end of
 * the image: its bytes (an internal PDP's rules: 41 MB at a million) are copied in and read
 * by the guest at once, and each small page the vCPU touches first costs an EPT violation
 * (a nested exit on a nested host), 10,000 for 41 MB; a huge page costs one per 2 MiB. The
 * heap and the stack above the image stay small pages, touched as the guest needs them.
 */
void hvt_mem_huge(struct hvt *h, uint64_t end);

/*
 * Puts the vCPU in 64-bit long mode at CPL 3 at ENTRY: identity page tables over all guest
 * memory and the hypercall page, a flat GDT, SSE enabled, a CPUID of the host's vendor, long
 * mode and NX; the host's user-mode instruction sets are left in h->cpu for the boot info,
 * %rdi = BOOT_INFO, %rsp = STACK_TOP - 8.
 * The tables live below UNISEC_IMAGE_BASE. Returns 0 or a negative errno with D filled.
 */
int hvt_x86_64_setup(struct hvt *h, uint64_t entry, uint64_t boot_info, uint64_t stack_top,
                     struct engine_diag *d);

/* Describes the vCPU's state (rip, rsp, cr2...) for a kill message. */
void hvt_x86_64_describe(struct hvt *h, char *buf, size_t size);

/* Reports that the KVM step WHAT failed (with errno) to D; returns the negative errno. */
static inline int hvt_fail(struct engine_diag *d, const char *what)
{
    int e = errno;
    engine_diag_add(d, NULL, 0, 0, "KVM: %s failed: %s", what, strerror(e));
    return -e;
}

#endif
