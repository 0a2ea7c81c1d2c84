/* tender_kvm.h — bench/tender's exit-mechanism figures on a bare hvt vCPU (tender_kvm.c). */
#ifndef UNISEC_BENCH_TENDER_KVM_H
#define UNISEC_BENCH_TENDER_KVM_H

/* Microseconds per guest-to-host round trip; -1 when the mechanism did not work. */
struct bench_kvm_result {
    double store_us;     /* MMIO store, exit to the tender: hvt's hypercall */
    double out_us;       /* port I/O with IOPL 3, exit to the tender */
    char out_why[64];    /* why port I/O did not work */
    double floor_us;     /* KVM_RUN that returns at once (immediate_exit): no guest entry */
    double kick_us;      /* MMIO store claimed by an ioeventfd: handled in the kernel */
    double ring_wake_us; /* kick, then a host thread woken by the eventfd answers in memory */
    double ring_spin_us; /* kick, then a host thread polling memory answers */
    double block_us;     /* a read that blocks inside KVM until a host thread supplies the
                            page (userfaultfd): how a guest could wait without an exit */
    char block_why[64];  /* why that did not work */
};

/* Measures each mechanism; 0, or -1 (with a message on stderr) without a usable KVM. */
int bench_kvm_mechanisms(struct bench_kvm_result *r);

#endif
