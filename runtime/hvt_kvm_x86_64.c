/*
 * hvt_kvm_x86_64.c — x86_64 long-mode set-up of the hvt vCPU: page tables, GDT, registers.
 *
 * The guest runs in 64-bit mode at CPL 3 with no IDT: it needs no privilege (it never
 * touches control registers or devices), and on nested KVM (kvm-pvm) only user-mode guest
 * code runs natively; CPL 0 code is emulated instruction by instruction. Any exception
 * becomes a triple fault, which the tender reports.
 */
#include "hvt.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>

/* Guest-physical layout below the image. */
#define HVT_GDT_BASE  0x1000ull
#define HVT_PML4_BASE 0x2000ull
#define HVT_PDPT_BASE 0x3000ull
#define HVT_PD_BASE   0x4000ull /* one page per GiB, 4 pages for 4 GiB */

#define HVT_PTE_P  (1ull << 0)
#define HVT_PTE_RW (1ull << 1)
#define HVT_PTE_US (1ull << 2)
#define HVT_PTE_PS (1ull << 7)

#define HVT_CR0_PE (1ull << 0)
#define HVT_CR0_MP (1ull << 1)
#define HVT_CR0_ET (1ull << 4)
#define HVT_CR0_NE (1ull << 5)
#define HVT_CR0_WP (1ull << 16)
#define HVT_CR0_PG (1ull << 31)

#define HVT_CR4_PAE        (1ull << 5)
#define HVT_CR4_OSFXSR     (1ull << 9)
#define HVT_CR4_OSXMMEXCPT (1ull << 10)

#define HVT_EFER_LME (1ull << 8)
#define HVT_EFER_LMA (1ull << 10)

#define HVT_MSR_LSTAR 0xc0000082u
#define HVT_MSR_CSTAR 0xc0000083u
/* Where a SYSCALL instruction lands: canonical, never mapped (PML4 slot 256 stays empty). */
#define HVT_SYSCALL_TRAP 0xffff800000000000ull

static void hvt_put64(struct hvt *h, uint64_t gpa, uint64_t v)
{
    memcpy(h->mem + gpa, &v, sizeof(v));
}

/* CPUID bits the guest may use (the boot info's), and long mode and NX for the vCPU. */
#define HVT_CPUID1_ECX (1u << 0 | 1u << 1 | 1u << 9 | 1u << 19 | 1u << 20 | 1u << 23 | 1u << 25)
#define HVT_CPUID1_EDX                                                                             \
    (1u << 0 | 1u << 3 | 1u << 4 | 1u << 6 | 1u << 8 | 1u << 15 | 1u << 23 | 1u << 24 | 1u << 25 | \
     1u << 26)
#define HVT_CPUID7_EBX  (1u << 3 | 1u << 8 | 1u << 19 | 1u << 29)
#define HVT_CPUIDX1_ECX (1u << 0 | 1u << 5)
#define HVT_CPUIDX1_EDX (1u << 20 | 1u << 29)

/*
 * The vCPU's CPUID: the host processor's vendor and address sizes, long mode and NX (which KVM
 * needs to accept the long-mode EFER), and nothing else. The instruction sets a guest may use
 * at CPL 3 (SSE to SSE4.2, PCLMULQDQ, AES, POPCNT, BMI1/2, ADX, SHA, LZCNT; nothing it would
 * have to enable, so no AVX; nothing of the platform) go to it in the boot info (h->cpu)
 * instead: on this nested host a table with leaf 1 or 7 made KVM_SET_CPUID2 cost 65 us more
 * (kvm_pvm's vcpu_after_set_cpuid executes CPUID on the host for them, and each CPUID traps
 * to the outer hypervisor), and a guest that reads the boot info makes no CPUID exit. Leaves
 * 1 to 7 are in range but absent, so a guest that executes CPUID anyway sees zeros there (no
 * extensions: slower, still correct). Read with the CPUID instruction (6 leaves) rather than
 * KVM_GET_SUPPORTED_CPUID, which executes every leaf and took 0.3 ms of each boot here; these
 * bits are instruction sets the hardware runs without KVM's help, so KVM's support of them is
 * not in question.
 */
static int hvt_cpuid_set(struct hvt *h, struct engine_diag *d)
{
    union {
        struct kvm_cpuid2 hdr;
        char bytes[sizeof(struct kvm_cpuid2) + 4 * sizeof(struct kvm_cpuid_entry2)];
    } c;
    struct kvm_cpuid_entry2 *e = c.hdr.entries;
    unsigned a, b, cx, dx, max, xmax;
    int n = 0;
    memset(&c, 0, sizeof(c));
    __cpuid(0, max, b, cx, dx);
    e[n++] = (struct kvm_cpuid_entry2){
        .function = 0, .eax = max < 7 ? max : 7, .ebx = b, .ecx = cx, .edx = dx};
    __cpuid(1, a, b, cx, dx);
    h->cpu[0] = cx & HVT_CPUID1_ECX;
    h->cpu[1] = dx & HVT_CPUID1_EDX;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, cx, dx);
        h->cpu[2] = b & HVT_CPUID7_EBX;
    }
    __cpuid(0x80000000, xmax, b, cx, dx);
    if (xmax < 0x80000001)
        return engine_diag_add(d, NULL, 0, 0, "KVM: the processor reports no long mode"), -ENODEV;
    e[n++] = (struct kvm_cpuid_entry2){.function = 0x80000000,
                                       .eax = xmax < 0x80000008 ? 0x80000001 : 0x80000008,
                                       .ebx = b,
                                       .ecx = cx,
                                       .edx = dx};
    __cpuid(0x80000001, a, b, cx, dx);
    e[n++] = (struct kvm_cpuid_entry2){
        .function = 0x80000001, .eax = a, .ecx = cx & HVT_CPUIDX1_ECX, .edx = dx & HVT_CPUIDX1_EDX};
    if (xmax >= 0x80000008) {
        __cpuid(0x80000008, a, b, cx, dx);
        e[n++] = (struct kvm_cpuid_entry2){.function = 0x80000008, .eax = a & 0xffff};
    }
    c.hdr.nent = (unsigned)n;
    if (ioctl(h->vcpu, KVM_SET_CPUID2, &c.hdr) < 0)
        return hvt_fail(d, "KVM_SET_CPUID2");
    return 0;
}

int hvt_x86_64_setup(struct hvt *h, uint64_t entry, uint64_t boot_info, uint64_t stack_top,
                     struct engine_diag *d)
{
    /* Identity map of guest memory with 2 MiB pages; nothing above it is mapped, so a
     * stray access faults (and, with no IDT, ends the guest as a triple fault). */
    hvt_put64(h, HVT_PML4_BASE, HVT_PDPT_BASE | HVT_PTE_P | HVT_PTE_RW | HVT_PTE_US);
    for (uint64_t gib = 0; gib < 4; gib++)
        hvt_put64(h, HVT_PDPT_BASE + gib * 8,
                  (HVT_PD_BASE + gib * 4096) | HVT_PTE_P | HVT_PTE_RW | HVT_PTE_US);
    for (uint64_t pa = 0; pa < h->mem_size; pa += 2ull << 20)
        hvt_put64(h, HVT_PD_BASE + (pa >> 21) * 8,
                  pa | HVT_PTE_P | HVT_PTE_RW | HVT_PTE_US | HVT_PTE_PS);
    /* The hypercall page: mapped, but no memory slot behind it, so a store exits. */
    hvt_put64(h, HVT_PD_BASE + (UNISEC_HVT_MMIO_BASE >> 21) * 8,
              UNISEC_HVT_MMIO_BASE | HVT_PTE_P | HVT_PTE_RW | HVT_PTE_US | HVT_PTE_PS);

    /* The stack protector's canary, %fs:0x28 with FS's base 0 (abi.h, "Secrets"). */
    if (getrandom(h->mem + UNISEC_HVT_CANARY, 8, 0) != 8)
        return hvt_fail(d, "getrandom");

    /* GDT: null, 64-bit code (0x08), data (0x10). */
    hvt_put64(h, HVT_GDT_BASE, 0);
    hvt_put64(h, HVT_GDT_BASE + 8, 0x00affb000000ffffull);
    hvt_put64(h, HVT_GDT_BASE + 16, 0x00cff3000000ffffull);

    int rc = hvt_cpuid_set(h, d);
    if (rc < 0)
        return rc;

    /* EFER.SCE is clear, yet on nested KVM (kvm-pvm) SYSCALL from CPL 3 is how a guest kernel
     * is entered: it jumps to LSTAR at CPL 0. Left at 0, that ran the random canary at 0x28 as
     * code (a fault, an exit, or a loop, at random); at an unmapped address it is always a
     * triple fault. */
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[2];
    } msrs = {.hdr.nmsrs = 2,
              .e = {{.index = HVT_MSR_LSTAR, .data = HVT_SYSCALL_TRAP},
                    {.index = HVT_MSR_CSTAR, .data = HVT_SYSCALL_TRAP}}};
    if (ioctl(h->vcpu, KVM_SET_MSRS, &msrs) != 2)
        return hvt_fail(d, "KVM_SET_MSRS");

    struct kvm_sregs sregs;
    if (ioctl(h->vcpu, KVM_GET_SREGS, &sregs) < 0)
        return hvt_fail(d, "KVM_GET_SREGS");
    struct kvm_segment code = {.base = 0,
                               .limit = 0xffffffff,
                               .selector = 0x08 | 3,
                               .type = 11,
                               .present = 1,
                               .dpl = 3,
                               .db = 0,
                               .s = 1,
                               .l = 1,
                               .g = 1};
    struct kvm_segment data = {.base = 0,
                               .limit = 0xffffffff,
                               .selector = 0x10 | 3,
                               .type = 3,
                               .present = 1,
                               .dpl = 3,
                               .db = 1,
                               .s = 1,
                               .l = 0,
                               .g = 1};
    /* VMX wants a usable task register (a busy 64-bit TSS type) even though no task switch
     * ever happens; otherwise KVM falls back to emulating every instruction. */
    struct kvm_segment tr = {
        .base = 0, .limit = 0x67, .selector = 0x18, .type = 11, .present = 1, .s = 0};
    struct kvm_segment ldt = {.selector = 0, .type = 2, .present = 1, .s = 0, .limit = 0xffff};
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = tr;
    sregs.ldt = ldt;
    sregs.gdt.base = HVT_GDT_BASE;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.cr3 = HVT_PML4_BASE;
    sregs.cr4 = HVT_CR4_PAE | HVT_CR4_OSFXSR | HVT_CR4_OSXMMEXCPT;
    sregs.cr0 = HVT_CR0_PE | HVT_CR0_MP | HVT_CR0_ET | HVT_CR0_NE | HVT_CR0_WP | HVT_CR0_PG;
    sregs.efer = HVT_EFER_LME | HVT_EFER_LMA;
    if (ioctl(h->vcpu, KVM_SET_SREGS, &sregs) < 0)
        return hvt_fail(d, "KVM_SET_SREGS");

    /* The FPU and SSE control words as after FNINIT / reset. */
    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    if (ioctl(h->vcpu, KVM_SET_FPU, &fpu) < 0)
        return hvt_fail(d, "KVM_SET_FPU");

    struct kvm_regs regs = {
        .rip = entry,
        .rsp = stack_top - 8, /* as if _start had been called */
        .rdi = boot_info,
        .rflags = 0x2, /* IOPL 0: port I/O at CPL 3 faults; hypercalls are MMIO stores */
    };
    if (ioctl(h->vcpu, KVM_SET_REGS, &regs) < 0)
        return hvt_fail(d, "KVM_SET_REGS");
    return 0;
}

void hvt_x86_64_describe(struct hvt *h, char *buf, size_t size)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(h->vcpu, KVM_GET_REGS, &regs) < 0 || ioctl(h->vcpu, KVM_GET_SREGS, &sregs) < 0) {
        snprintf(buf, size, "registers unavailable");
        return;
    }
    snprintf(buf, size, "rip=0x%llx rsp=0x%llx cr2=0x%llx cr0=0x%llx cr4=0x%llx",
             (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
             (unsigned long long)sregs.cr2, (unsigned long long)sregs.cr0,
             (unsigned long long)sregs.cr4);
}
