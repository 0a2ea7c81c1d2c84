/*
 * tender_kvm.c — bench/tender's exit-mechanism figures: a bare vCPU set up as hvt sets one up
 * (hvt_vm_open, hvt_x86_64_setup: 64-bit, CPL 3) runs small loops (tender_kvm_guest.S), each
 * turn one guest-to-host round trip of a different kind. What they show decides how hvt's
 * hypercalls are made (runtime/README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench/tender_kvm.h"
#include "runtime/hvt.h"

extern const unsigned char bench_kvm_code[], bench_kvm_code_end[];
extern const unsigned char bench_kvm_store[], bench_kvm_kick[], bench_kvm_ring[], bench_kvm_block[],
    bench_kvm_out[];

#define BK_MEM    (8ull << 20)
#define BK_SHARED 0x200000ull /* request at +0, answer at +0x40 */
#define BK_DONE   (UNISEC_HVT_MMIO_BASE + 0x100)
#define BK_KICK   (UNISEC_HVT_MMIO_BASE + 0x800)
#define BK_TURNS  20000

static double bk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop at ENTRY for TURNS turns: microseconds per turn, or -1 with WHY filled when
 * the guest stopped any other way. */
static double bk_loop(struct hvt *h, const unsigned char *entry, long turns, uint64_t rflags,
                      char *why, size_t size)
{
    struct kvm_regs regs = {.rip = UNISEC_IMAGE_BASE + (uint64_t)(entry - bench_kvm_code),
                            .rsp = BK_MEM - 64,
                            .rsi = (uint64_t)turns,
                            .rbx = UNISEC_HVT_MMIO_BASE,
                            .rdi = BK_SHARED,
                            .rflags = rflags};
    if (ioctl(h->vcpu, KVM_SET_REGS, &regs) < 0) {
        snprintf(why, size, "KVM_SET_REGS: %s", strerror(errno));
        return -1;
    }
    double t0 = bk_now();
    for (;;) {
        if (ioctl(h->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            snprintf(why, size, "KVM_RUN: %s", strerror(errno));
            return -1;
        }
        uint32_t reason = h->run->exit_reason;
        if (reason == KVM_EXIT_MMIO && h->run->mmio.phys_addr == BK_DONE)
            break;
        if (reason == KVM_EXIT_MMIO || reason == KVM_EXIT_IO)
            continue;
        snprintf(why, size,
                 reason == KVM_EXIT_SHUTDOWN ? "faults (the vCPU shuts down)"
                                             : "ends with exit reason %u",
                 reason);
        return -1;
    }
    return (bk_now() - t0) / turns * 1e6;
}

struct bk_server {
    struct hvt *h;
    int efd, spin;
    volatile int stop;
};

/* The host side of the ring loop: answers each request the guest writes. */
static void *bk_serve(void *arg)
{
    struct bk_server *s = arg;
    volatile uint64_t *req = (volatile uint64_t *)(s->h->mem + BK_SHARED);
    volatile uint64_t *ans = req + 8;
    uint64_t last = 0, v;
    while (!s->stop) {
        if (!s->spin && read(s->efd, &v, sizeof(v)) != sizeof(v))
            continue;
        uint64_t seq = *req;
        if (seq != last)
            *ans = last = seq;
    }
    return NULL;
}

static double bk_ring(struct hvt *h, int efd, int spin, char *why, size_t size)
{
    memset(h->mem + BK_SHARED, 0, 128);
    struct bk_server s = {h, efd, spin, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, bk_serve, &s) != 0) {
        snprintf(why, size, "no thread");
        return -1;
    }
    double us = bk_loop(h, bench_kvm_ring, BK_TURNS, 0x2, why, size);
    s.stop = 1;
    uint64_t one = 1;
    if (write(efd, &one, sizeof(one)) < 0)
        us = -1;
    pthread_join(th, NULL);
    return us;
}

struct bk_pager {
    struct hvt *h;
    int uffd, stopfd;
};

/* The host side of the block loop: supplies each page the guest waits for, with the turn's
 * number in it, after removing the other page (which the guest is done with). */
static void *bk_page(void *arg)
{
    struct bk_pager *p = arg;
    static uint64_t page[4096 / 8];
    uint8_t *wait = p->h->mem + BK_SHARED + 0x1000;
    uint64_t turn = 0;
    for (;;) {
        struct pollfd fds[2] = {{p->uffd, POLLIN, 0}, {p->stopfd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 || fds[1].revents)
            return NULL;
        struct uffd_msg m;
        if (read(p->uffd, &m, sizeof(m)) != sizeof(m) || m.event != UFFD_EVENT_PAGEFAULT)
            continue;
        uint8_t *at = (uint8_t *)(uintptr_t)(m.arg.pagefault.address & ~4095ull);
        madvise(at == wait ? wait + 4096 : wait, 4096, MADV_DONTNEED);
        page[0] = ++turn;
        struct uffdio_copy c = {(uint64_t)(uintptr_t)at, (uint64_t)(uintptr_t)page, 4096, 0, 0};
        if (ioctl(p->uffd, UFFDIO_COPY, &c) < 0 && errno == EEXIST) {
            turn--; /* a second report of a fault already served */
            struct uffdio_range w = {(uint64_t)(uintptr_t)at, 4096};
            ioctl(p->uffd, UFFDIO_WAKE, &w);
        }
    }
}

/* A guest read that blocks inside KVM until a host thread supplies the page: what waiting
 * without an exit would cost (two thread wakes, a page removal and a copy per turn). */
static double bk_block(struct hvt *h, char *why, size_t size)
{
    uint8_t *wait = h->mem + BK_SHARED + 0x1000;
    madvise(wait, 2 * 4096, MADV_DONTNEED);
    struct bk_pager p = {h, (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK),
                         eventfd(0, EFD_CLOEXEC)};
    struct uffdio_api api = {.api = UFFD_API};
    struct uffdio_register reg = {.range = {(uint64_t)(uintptr_t)wait, 2 * 4096},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING};
    double us = -1;
    pthread_t th;
    if (p.uffd < 0 || p.stopfd < 0 || ioctl(p.uffd, UFFDIO_API, &api) < 0 ||
        ioctl(p.uffd, UFFDIO_REGISTER, &reg) < 0) {
        snprintf(why, size, "userfaultfd: %s", strerror(errno));
    } else if (pthread_create(&th, NULL, bk_page, &p) != 0) {
        snprintf(why, size, "no thread");
    } else {
        us = bk_loop(h, bench_kvm_block, BK_TURNS, 0x2, why, size);
        uint64_t one = 1;
        if (write(p.stopfd, &one, sizeof(one)) < 0)
            us = -1;
        pthread_join(th, NULL);
    }
    if (p.uffd >= 0)
        close(p.uffd);
    if (p.stopfd >= 0)
        close(p.stopfd);
    return us;
}

int bench_kvm_mechanisms(struct bench_kvm_result *r)
{
    memset(r, 0, sizeof(*r));
    struct hvt h = {.kvm = -1, .vm = -1, .vcpu = -1};
    struct engine_diag d;
    engine_diag_init(&d);
    int rc = -1, efd = -1;
    if (hvt_vm_open(&h, BK_MEM, &d) < 0 ||
        hvt_x86_64_setup(&h, UNISEC_IMAGE_BASE, 0, BK_MEM, &d) < 0)
        goto out;
    memcpy(h.mem + UNISEC_IMAGE_BASE, bench_kvm_code,
           (size_t)(bench_kvm_code_end - bench_kvm_code));
    char why[64];
    bk_loop(&h, bench_kvm_store, 100, 0x2, why, sizeof(why)); /* warm up */
    r->store_us = bk_loop(&h, bench_kvm_store, BK_TURNS, 0x2, why, sizeof(why));

    h.run->immediate_exit = 1;
    double t0 = bk_now();
    for (int i = 0; i < BK_TURNS; i++)
        ioctl(h.vcpu, KVM_RUN, 0);
    r->floor_us = (bk_now() - t0) / BK_TURNS * 1e6;
    h.run->immediate_exit = 0;

    if ((efd = eventfd(0, EFD_CLOEXEC)) < 0)
        goto out;
    struct kvm_ioeventfd io = {.addr = BK_KICK, .len = 4, .fd = efd};
    if (ioctl(h.vm, KVM_IOEVENTFD, &io) < 0)
        goto out;
    r->kick_us = bk_loop(&h, bench_kvm_kick, BK_TURNS, 0x2, why, sizeof(why));
    r->ring_wake_us = bk_ring(&h, efd, 0, why, sizeof(why));
    r->ring_spin_us = bk_ring(&h, efd, 1, why, sizeof(why));
    r->block_us = bk_block(&h, r->block_why, sizeof(r->block_why));
    /* Last, as it may shut the vCPU down: port I/O at CPL 3, allowed by IOPL 3 in RFLAGS. */
    r->out_us = bk_loop(&h, bench_kvm_out, BK_TURNS, 0x3002, r->out_why, sizeof(r->out_why));
    rc = 0;
out:
    if (rc < 0)
        engine_diag_print(&d, stderr);
    if (efd >= 0)
        close(efd);
    hvt_vm_close(&h);
    engine_diag_free(&d);
    return rc;
}
