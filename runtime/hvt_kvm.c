/* hvt_kvm.c — the hvt tender: one KVM VM with one vCPU, guest memory, the run loop that
 * turns stores to the hypercall page (MMIO exits) into hypercalls, and the lockdown. */
#include "hvt.h"
#include "tender_int.h"
#include "tender_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int hvt_vm_open(struct hvt *h, uint64_t mem_size, struct engine_diag *d)
{
    h->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (h->kvm < 0)
        return engine_diag_add(d, "/dev/kvm", 0, 0,
                               "cannot open: %s (hvt needs KVM; build the image for spt where "
                               "KVM is missing)",
                               strerror(errno)),
               -ENODEV;
    if (ioctl(h->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return engine_diag_add(d, "/dev/kvm", 0, 0, "unexpected KVM API version"), -ENODEV;
    if ((h->vm = ioctl(h->kvm, KVM_CREATE_VM, 0)) < 0)
        return hvt_fail(d, "KVM_CREATE_VM");
    h->mem_size = mem_size;
    /* Aligned on a huge page, so that KVM can map the guest's huge pages whole (hvt_mem_huge):
     * the mapping is made a huge page longer, and what lies outside the aligned part goes. */
    uint8_t *m = mmap(NULL, h->mem_size + HVT_HUGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return hvt_fail(d, "mapping guest memory");
    size_t head = (size_t)(-(uintptr_t)m & (HVT_HUGE - 1));
    if (head > 0)
        munmap(m, head);
    munmap(m + head + h->mem_size, HVT_HUGE - head);
    h->mem = m + head;
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = h->mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)h->mem,
    };
    if (ioctl(h->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return hvt_fail(d, "KVM_SET_USER_MEMORY_REGION");
    if ((h->vcpu = ioctl(h->vm, KVM_CREATE_VCPU, 0)) < 0)
        return hvt_fail(d, "KVM_CREATE_VCPU");
    int n = ioctl(h->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (n < (int)sizeof(struct kvm_run))
        return hvt_fail(d, "KVM_GET_VCPU_MMAP_SIZE");
    h->run_size = (size_t)n;
    h->run = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, h->vcpu, 0);
    if (h->run == MAP_FAILED) {
        h->run = NULL;
        return hvt_fail(d, "mapping the vCPU's run area");
    }
    return 0;
}

void hvt_mem_huge(struct hvt *h, uint64_t end)
{
    uint64_t whole = (end < h->mem_size ? end : h->mem_size) & ~(uint64_t)(HVT_HUGE - 1);

    /* Advice only: without huge pages (none free, or THP off) the pages are small, as before. */
    if (whole > 0)
        madvise(h->mem, whole, MADV_HUGEPAGE);
}

void hvt_vm_close(struct hvt *h)
{
    if (h->run)
        munmap(h->run, h->run_size);
    if (h->mem)
        munmap(h->mem, h->mem_size);
    if (h->vcpu >= 0)
        close(h->vcpu);
    if (h->vm >= 0)
        close(h->vm);
    if (h->kvm >= 0)
        close(h->kvm);
}

/* After set-up the tender needs KVM_RUN (and register reads for kill messages) on its one
 * vCPU, and what its devices need; nothing else. */
static int hvt_seccomp_rules(scmp_filter_ctx ctx, void *arg)
{
    const struct hvt *h = arg;
    static const unsigned long ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS};
    int rc = 0;
    for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                               SCMP_A0(SCMP_CMP_EQ, (unsigned)h->vcpu),
                               SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
    return rc < 0 ? -EINVAL : 0;
}

static int hvt_lockdown(struct hvt *h, struct tender *t, struct engine_diag *d)
{
    return tender_lockdown(t, hvt_seccomp_rules, h, d);
}

static int hvt_loop(struct hvt *h, struct tender *t)
{
    char regs[128];
    for (;;) {
        if (ioctl(h->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return tender_kill(t, "KVM_RUN failed: %s", strerror(errno));
        }
        struct kvm_run *r = h->run;
        switch (r->exit_reason) {
        case KVM_EXIT_MMIO: {
            uint64_t off = r->mmio.phys_addr - UNISEC_HVT_MMIO_BASE;
            if (r->mmio.phys_addr < UNISEC_HVT_MMIO_BASE || off >= 4ull * UNISEC_HC_COUNT ||
                off % 4 != 0 || !r->mmio.is_write || r->mmio.len != 4) {
                hvt_x86_64_describe(h, regs, sizeof(regs));
                return tender_kill(t,
                                   "the guest %s %u bytes at 0x%llx, which is neither its "
                                   "memory nor a hypercall (%s)",
                                   r->mmio.is_write ? "wrote" : "read", r->mmio.len,
                                   (unsigned long long)r->mmio.phys_addr, regs);
            }
            uint32_t gpa;
            memcpy(&gpa, r->mmio.data, sizeof(gpa));
            tender_ring_enter();
            int how = tender_hypercall(t, (uint32_t)(off / 4), gpa);
            tender_ring_leave();
            if (how != TENDER_CONTINUE)
                return how;
            break;
        }
        case KVM_EXIT_IO:
            hvt_x86_64_describe(h, regs, sizeof(regs));
            return tender_kill(t, "port I/O %s port 0x%x is not a hypercall (%s)",
                               r->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from",
                               r->io.port, regs);
        case KVM_EXIT_HLT:
            hvt_x86_64_describe(h, regs, sizeof(regs));
            return tender_kill(t, "the guest executed hlt instead of the halt hypercall (%s)",
                               regs);
        case KVM_EXIT_SHUTDOWN:
            hvt_x86_64_describe(h, regs, sizeof(regs));
            return tender_kill(t,
                               "the guest triple-faulted: an exception with no handler, "
                               "e.g. an access outside its memory or a privileged "
                               "instruction (%s)",
                               regs);
        case KVM_EXIT_FAIL_ENTRY:
            return tender_kill(t, "KVM could not enter the guest (hardware reason 0x%llx)",
                               (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        case KVM_EXIT_INTERNAL_ERROR:
            hvt_x86_64_describe(h, regs, sizeof(regs));
            return tender_kill(t, "KVM internal error (suberror %u) (%s)", r->internal.suberror,
                               regs);
        default:
            hvt_x86_64_describe(h, regs, sizeof(regs));
            return tender_kill(t, "unexpected VM exit %u (%s)", r->exit_reason, regs);
        }
    }
}

int tender_hvt_run(struct tender *t, struct engine_diag *d)
{
    struct hvt h = {.kvm = -1, .vm = -1, .vcpu = -1};
    uint64_t stack_top, bi;
    int rc = hvt_vm_open(&h, t->cfg.mem_size, d);
    if (rc < 0)
        goto cleanup;
    t->mem = h.mem;
    t->mem_lo = 0;
    t->mem_hi = h.mem_size;
    hvt_mem_huge(&h, t->img.end); /* before the image is copied in: the copy faults them in */
    if ((rc = tender_image_load(&t->img, h.mem, 0, h.mem_size, 0, d)) < 0)
        goto cleanup;
    t->boot_flags = (uint32_t)rc; /* the rules summed as copied: the guest need not */
    if ((bi = tender_boot_info(t, 0, &stack_top, d)) == 0) {
        rc = -ENOMEM;
        goto cleanup;
    }
    /* With streams, a thread serves the POLLs the guest posts in its mailbox, without an exit
     * (tender_ring.h); it starts now, so that its start overlaps the rest of the set-up. */
    if (tender_has_streams(t) && (rc = tender_ring_start(t)) < 0) {
        engine_diag_add(d, NULL, 0, 0, "cannot start the mailbox thread: %s", strerror(-rc));
        goto cleanup;
    }
    if ((rc = hvt_x86_64_setup(&h, t->img.entry, bi, stack_top, d)) < 0)
        goto cleanup;
    /* The image file and /dev/kvm are no longer needed once the vCPU exists. */
    tender_image_free(&t->img);
    close(h.kvm);
    h.kvm = -1;
    tender_ring_wait_started(t);
    if ((rc = hvt_lockdown(&h, t, d)) < 0)
        goto cleanup;
    tender_boot_start(t, h.cpu);
    rc = tender_finish(t, hvt_loop(&h, t));
cleanup:
    tender_ring_stop();
    hvt_vm_close(&h);
    return rc;
}
