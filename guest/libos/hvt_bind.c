/* hvt_bind.c — the hvt binding: a hypercall is a store of the argument's address to the
 * hypercall page, which exits to the tender. */
#include "libos.h"
#include "libos_int.h"

LIBOS_TARGET_NOTE(UNISEC_TARGET_HVT);

/* The tender's mailbox (contract/abi.h), or NULL. */
static struct unisec_mailbox *hvt_mailbox;
/* The next POLL goes through the mailbox when the last one was light (few events) and the
 * tender watches: it served the last POLL from the mailbox and that one did not idle out (the
 * tender's thread then sleeps), or the last exit asked it to (WANT, set when the last POLL was
 * light, as the one after it will likely be light too). */
static uint32_t hvt_light, hvt_watched;
/* POLLs left that take the exit without asking the tender to watch: after a post it did not
 * take (its thread did not wake in time: a loaded host), HVT_MAILBOX_BACKOFF; after a post
 * that idled out (the client was late: the guest spun the whole cap for nothing),
 * 2^hvt_late, where hvt_late counts up with each such post and down with each that found
 * work. So where requests follow each other closely the mailbox holds, and where they trickle
 * or the host is too loaded for the client to be on time (every late post a spin of the
 * cap, and a wake-up of the tender's thread) it is tried once in 64 POLLs at most. */
static uint32_t hvt_backoff, hvt_late;
#define HVT_MAILBOX_BACKOFF 64
#define HVT_MAILBOX_LATE    6

/* A POLL goes through the mailbox only while the load is light: with more operations or
 * events than these, the tender's work would keep the guest spinning longer than an exit
 * costs, on a CPU the host's other threads need. */
#define HVT_MAILBOX_OPS    8
#define HVT_MAILBOX_EVENTS 8
/* Pause loops (some 18 ns each here: 300 us) the guest waits for the tender to take a post
 * before it takes it back: as long as a sleeping tender thread may take to wake after the
 * exit that asked it to watch (35 to 65 us on this kind of host, hundreds under load). A
 * miss costs that once per HVT_MAILBOX_BACKOFF POLLs at most. */
#define HVT_MAILBOX_TAKE 16384

void libos_bind_init(const struct unisec_boot_info *bi)
{
    /* The hypercalls are stores to a fixed address; the mailbox is the tender's offer. */
    hvt_mailbox = (struct unisec_mailbox *)(uintptr_t)bi->mailbox;
}

void libos_hypercall(uint32_t nr, void *arg)
{
    /* Guest memory lies below UNISEC_MEM_MAX, so the address fits in 32 bits. The "memory"
     * clobber makes the compiler store ARG before the exit and reload it after. */
    volatile uint32_t *port = (volatile uint32_t *)(uintptr_t)(UNISEC_HVT_MMIO_BASE + 4ull * nr);
    __asm__ __volatile__("movl %1, %0" : "=m"(*port) : "r"((uint32_t)(uintptr_t)arg) : "memory");
}

/* Posts A in mailbox M; returns 1 once the tender served it, 0 when it did not take it (then
 * the post is withdrawn and A untouched). */
static int hvt_post(struct unisec_mailbox *m, struct unisec_hc_poll *a)
{
    __atomic_store_n(&m->arg, (uint32_t)(uintptr_t)a, __ATOMIC_RELAXED);
    __atomic_store_n(&m->state, UNISEC_MAILBOX_POSTED, __ATOMIC_RELEASE);
    for (int i = 0; i < HVT_MAILBOX_TAKE; i++) {
        if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != UNISEC_MAILBOX_POSTED)
            break;
        __builtin_ia32_pause();
    }
    uint32_t posted = UNISEC_MAILBOX_POSTED;
    if (__atomic_compare_exchange_n(&m->state, &posted, UNISEC_MAILBOX_IDLE, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return 0;
    /* Taken: the tender's wait is bounded (UNISEC_MAILBOX_WAIT_NS), so is this spin. */
    while (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != UNISEC_MAILBOX_DONE)
        __builtin_ia32_pause();
    __atomic_store_n(&m->state, UNISEC_MAILBOX_IDLE, __ATOMIC_RELAXED);
    return 1;
}

void libos_poll(struct unisec_hc_poll *a)
{
    struct unisec_mailbox *m = hvt_mailbox;
    int posted = 0;
    if (m && hvt_watched && hvt_light && a->sq_count <= HVT_MAILBOX_OPS) {
        posted = hvt_post(m, a);
        hvt_backoff = posted ? 0 : HVT_MAILBOX_BACKOFF;
    }
    if (posted && __atomic_load_n(&m->idle, __ATOMIC_RELAXED)) {
        hvt_late += hvt_late < HVT_MAILBOX_LATE;
        hvt_backoff = 1u << hvt_late;
        hvt_watched = 0;
    } else if (posted) {
        hvt_late -= hvt_late > 0;
    } else {
        hvt_backoff -= hvt_backoff > 0;
        hvt_watched = hvt_light && hvt_backoff == 0;
        if (m)
            __atomic_store_n(&m->want, hvt_watched, __ATOMIC_RELAXED);
        libos_hypercall(UNISEC_HC_POLL, a);
    }
    hvt_light = a->count <= HVT_MAILBOX_EVENTS;
}
