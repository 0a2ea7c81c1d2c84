/* mailbox.c — hostile test guest for hvt's mailbox (contract/abi.h): posts in the way its boot
 * argument names: "arg" (an argument struct outside guest memory), "recv" (a POLL whose
 * receive buffer lies outside), "race" (every mailbox word scribbled, posts taken back and
 * made again, each post raced by a POLL exit of its own: the tender must serve both, one at a
 * time, and live on), "policy" (every POLL a post, each announced policy blob taken, until
 * one of 256 KiB: the tender's mailbox thread reads the frames). Prints "no mailbox" where the
 * tender offers none (spt). */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_LISTEN("in"), UNISEC_POLICY("policy"));

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
    } else if (strcmp(cmdline, "policy") == 0) {
        /* Until the last blob the test sends (256 KiB) is in: each announced blob is taken. */
        static uint8_t blob[256 << 10];
        uint64_t posts = 0, len = 0;
        while (len != sizeof(blob)) {
            a.deadline_ns = UINT64_MAX; /* the mailbox's cap ends each wait */
            post(m, (uint32_t)(uintptr_t)&a);
            posts++;
            for (uint32_t i = 0; i < a.count && i < 8; i++) {
                if (ev[i].kind != UNISEC_EV_POLICY)
                    continue;
                struct unisec_hc_policy_recv r = {.buf = (uint64_t)(uintptr_t)blob,
                                                  .cap = sizeof(blob)};
                libos_hypercall(UNISEC_HC_POLICY_RECV, &r);
                if (r.ret == 0)
                    printf("policy blob of %llu bytes\n", (unsigned long long)(len = r.len));
            }
        }
        printf("policy taken after %llu posts\n", (unsigned long long)posts);
    }
    printf("still alive\n");
    return 0;
}
