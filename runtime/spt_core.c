/* spt_core.c — the spt tender: the guest runs in this process, in a region mapped at its
 * link addresses, with hypercalls as plain calls into the shared tender core and the
 * process confined by seccomp to what the image's declared devices need. */
#include "tender_int.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The one guest of this process, for the hypercall entry (the guest passes no context). */
static struct tender *spt_tender;

static void spt_hypercall(uint32_t nr, uint64_t arg)
{
    int how = tender_hypercall(spt_tender, nr, arg);
    if (how != TENDER_CONTINUE)
        tender_exit_now(tender_finish(spt_tender, how)); /* no host stack to return to */
}

/* Text read-only and executable, read-only data read-only, the rest read-write. */
static int spt_protect(struct tender *t, struct engine_diag *d)
{
    Elf64_Ehdr eh;
    memcpy(&eh, t->img.buf, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, t->img.buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W))
            continue;
        int prot = PROT_READ | ((ph.p_flags & PF_X) ? PROT_EXEC : 0);
        uint64_t len = (ph.p_memsz + 4095) & ~4095ull;
        void *p = tender_guest_ptr(t, ph.p_vaddr, len);
        if (p == NULL || mprotect(p, len, prot) < 0)
            return engine_diag_add(d, NULL, 0, 0, "mprotect: %s", strerror(errno)), -errno;
    }
    return 0;
}

static int spt_lockdown(struct tender *t, struct engine_diag *d)
{
    return tender_lockdown(t, NULL, NULL, d);
}

/* Switches to the guest's stack and calls _start(bi); the guest ends in a hypercall. */
__attribute__((noreturn)) static void spt_launch(uint64_t entry, uint64_t stack, uint64_t bi)
{
    __asm__ __volatile__("mov %0, %%rsp\n\t"
                         "xor %%ebp, %%ebp\n\t"
                         "call *%1\n\t"
                         "ud2"
                         :
                         : "r"(stack), "r"(entry), "D"(bi)
                         : "memory");
    __builtin_unreachable();
}

int tender_spt_run(struct tender *t, struct engine_diag *d)
{
    t->mem_lo = UNISEC_IMAGE_BASE;
    t->mem_hi = t->cfg.mem_size;
    void *want = (void *)(uintptr_t)t->mem_lo;
    void *p = mmap(want, t->mem_hi - t->mem_lo, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != want) {
        if (p != MAP_FAILED)
            munmap(p, t->mem_hi - t->mem_lo);
        return engine_diag_add(d, NULL, 0, 0, "spt: cannot map guest memory at 0x%llx: %s",
                               (unsigned long long)t->mem_lo,
                               p == MAP_FAILED ? strerror(errno) : "address in use"),
               -ENOMEM;
    }
    t->mem = p;
    uint64_t stack_top, bi;
    int rc = tender_image_load(&t->img, t->mem, t->mem_lo, t->mem_hi, 1, d);
    if (rc < 0)
        goto fail;
    t->boot_flags = (uint32_t)rc; /* a region mapped from the file is the guest's to sum */
    if ((bi = tender_boot_info(t, (uint64_t)(uintptr_t)spt_hypercall, &stack_top, d)) == 0) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = spt_protect(t, d)) < 0)
        goto fail;
    uint64_t entry = t->img.entry;
    tender_image_free(&t->img);
    /* The guest runs on the host's processor: it may use whatever the host has. */
    uint32_t cpu[3] = {0, 0, 0}, a, b, c, dx;
    if (__get_cpuid(1, &a, &b, &c, &dx)) {
        cpu[0] = c;
        cpu[1] = dx;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &dx))
        cpu[2] = b;
    if ((rc = spt_lockdown(t, d)) < 0)
        goto fail;
    spt_tender = t;
    fflush(NULL);
    tender_boot_start(t, cpu);
    spt_launch(entry, stack_top, bi);
fail:
    munmap(t->mem, t->mem_hi - t->mem_lo);
    t->mem = NULL;
    return rc;
}
