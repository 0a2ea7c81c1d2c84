/* mailbox.c — hostile test guest for hvt's mailbox (contract/abi.h): posts in the way its boot
 * argument names: "arg" (an argument struct outside guest memory), "recv" (a POLL whose
 * receive buffer lies outside), "race" (every mailbox word scribbled, posts taken back and
 * made again, each post raced by a POLL exit of its own: the tender must serve both, one at a
 * time, and live on). Prints "no mailbox" where the tender offers none (spt). */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_LISTEN("in"));

static struct unisec_sqe sq[1];
static struct unisec_event ev[8];

/* Asks the tender to watch the mailbox: WANT, then an exit (a clock read). */
static void kick(struct unisec_mailbox *m)
{
    __atomic_store_n(&m->want, 1u, __ATOMIC_RELAXED);
    (void)libos_clock_monotonic();
}

/* Posts ARG until the tender takes it (re-asking it to watch after each miss); then waits
 * for DONE. */
static void post(struct unisec_mailbox *m, uint32_t arg)
{
    for (;;) {
        kick(m);
        __atomic_store_n(&m->arg, arg, __ATOMIC_RELAXED);
        __atomic_store_n(&m->state, UNISEC_MAILBOX_POSTED, __ATOMIC_RELEASE);
        for (int i = 0; i < 1 << 20; i++)
            if (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != UNISEC_MAILBOX_POSTED)
                break;
        uint32_t posted = UNISEC_MAILBOX_POSTED;
        if (!__atomic_compare_exchange_n(&m->state, &posted, UNISEC_MAILBOX_IDLE, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    while (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != UNISEC_MAILBOX_DONE)
        ;
}

int libos_main(const char *cmdline)
{
    struct unisec_mailbox *m = (struct unisec_mailbox *)(uintptr_t)libos_boot_info()->mailbox;
    printf("hostile guest: %s\n", cmdline);
    libos_console_flush();
    if (m == NULL) {
        printf("no mailbox\n");
        return 0;
    }
    struct unisec_hc_poll a = {
        .sq = (uint64_t)(uintptr_t)sq, .events = (uint64_t)(uintptr_t)ev, .cap = 8};
    if (strcmp(cmdline, "arg") == 0) {
        post(m, 0xfffffff0u);
    } else if (strcmp(cmdline, "recv") == 0) {
        sq[0] = (struct unisec_sqe){UNISEC_OP_RECV, 0, 0xfffff000ull, 8192};
        a.sq_count = 1;
        post(m, (uint32_t)(uintptr_t)&a);
    } else if (strcmp(cmdline, "race") == 0) {
        uint64_t served = 0;
        for (uint32_t i = 0; i < 2000; i++) {
            struct unisec_hc_poll b = a;
            /* Scribble: a state the tender never set, another ARG, WANT and IDLE. */
            __atomic_store_n(&m->state, i % 7 == 3 ? UNISEC_MAILBOX_TAKEN : 5u + i,
                             __ATOMIC_RELAXED);
            __atomic_store_n(&m->idle, i, __ATOMIC_RELAXED);
            kick(m);
            __atomic_store_n(&m->arg, (uint32_t)(uintptr_t)&a, __ATOMIC_RELAXED);
            __atomic_store_n(&m->state, UNISEC_MAILBOX_POSTED, __ATOMIC_RELEASE);
            /* The same POLL by an exit, while the tender may be serving the post. */
            libos_hypercall(UNISEC_HC_POLL, &b);
            /* Take the post back if it was not taken; else wait until it is served. */
            uint32_t posted = UNISEC_MAILBOX_POSTED;
            if (!__atomic_compare_exchange_n(&m->state, &posted, UNISEC_MAILBOX_IDLE, 0,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                while (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE) != UNISEC_MAILBOX_DONE)
                    ;
                served++;
            }
            if (a.ret != 0 || b.ret != 0) {
                printf("a POLL failed\n");
                return 1;
            }
        }
        printf("race: %llu of 2000 posts served\n", (unsigned long long)served);
    }
    printf("still alive\n");
    return 0;
}
