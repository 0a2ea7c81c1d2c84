/* tender_ring.c — hvt's mailbox thread: serves the guest's POLLs posted in guest memory, so
 * that a keep-alive request on one connection costs no exit (tender_ring.h). */
#include "tender_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tender_int.h"
#include "tender_io.h"

#define TENDER_RING_STACK (256u << 10)

/* The thread's state. M points into guest memory: the guest may write any of its words at
 * any time, so each is read once, atomically, and none is trusted beyond that read. */
static struct tender_ring {
    struct tender *t;
    struct unisec_mailbox *m; /* host address of the mailbox, checked once at start */
    pthread_mutex_t lock;     /* held by whoever serves a hypercall (tender_ring.h) */
    _Atomic uint32_t kick;    /* bumped to make the thread watch again: its futex word */
    _Atomic uint32_t sleeping;
    _Atomic uint32_t up;
    _Atomic uint32_t stop;    /* the backend is about to unmap guest memory */
    _Atomic uint32_t stopped; /* the thread saw STOP and touches the mailbox no more */
    int started;
} tender_ring = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Serves the post just claimed (STATE is TAKEN, so the guest no longer may take it back).
 * Returns whether its wait ended at the cap with nothing to act on (IDLE). */
static uint32_t tender_ring_serve(struct tender_ring *r)
{
    struct unisec_mailbox *m = r->m;
    uint32_t arg = __atomic_load_n(&m->arg, __ATOMIC_ACQUIRE); /* once: then checked as any */
    pthread_mutex_lock(&r->lock);
    struct tender *t = r->t;
    t->poll_cap_ns = UNISEC_MAILBOX_WAIT_NS;
    t->poll_idle = 0;
    int how = tender_hypercall(t, UNISEC_HC_POLL, arg);
    t->poll_cap_ns = 0;
    if (how != TENDER_CONTINUE) /* still holding the lock: nothing is served after this */
        tender_exit_now(tender_finish(t, how));
    uint32_t idle = t->poll_idle != 0;
    pthread_mutex_unlock(&r->lock);
    __atomic_store_n(&m->idle, idle, __ATOMIC_RELAXED);
    __atomic_store_n(&m->state, UNISEC_MAILBOX_DONE, __ATOMIC_RELEASE);
    return idle;
}

static void *tender_ring_main(void *arg)
{
    struct tender_ring *r = arg;
    atomic_store(&r->up, 1);
    tender_futex(&r->up, FUTEX_WAKE, 1);
    /* It first waits for a kick: none comes before the guest runs, so a set-up that fails
     * after the start may unmap guest memory under a thread that sleeps. */
    for (uint32_t k = 0;;) {
        atomic_store(&r->sleeping, 1);
        if (atomic_load(&r->kick) == k)
            tender_futex(&r->kick, FUTEX_WAIT, k);
        atomic_store(&r->sleeping, 0);
        k = atomic_load(&r->kick);
        uint64_t until = tender_now(CLOCK_MONOTONIC) + UNISEC_MAILBOX_SPIN_NS;
        for (uint32_t i = 1; !atomic_load(&r->stop); i++) {
            uint32_t posted = UNISEC_MAILBOX_POSTED;
            if (__atomic_load_n(&r->m->state, __ATOMIC_RELAXED) == posted &&
                __atomic_compare_exchange_n(&r->m->state, &posted, UNISEC_MAILBOX_TAKEN, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
                /* After an idle POLL the guest's next is an exit (abi.h), whose WANT wakes
                 * this thread again: watching meanwhile would only burn the CPU. */
                if (tender_ring_serve(r))
                    break;
                until = tender_now(CLOCK_MONOTONIC) + UNISEC_MAILBOX_SPIN_NS;
                continue;
            }
            if (i % 64 == 0 && tender_now(CLOCK_MONOTONIC) >= until)
                break;
            __builtin_ia32_pause();
        }
        if (atomic_load(&r->stop)) {
            atomic_store(&r->stopped, 1);
            tender_futex(&r->stopped, FUTEX_WAKE, 1);
            for (;;) /* until the process ends */
                tender_futex(&r->stopped, FUTEX_WAIT, 1);
        }
    }
    return NULL;
}

int tender_ring_start(struct tender *t)
{
    struct tender_ring *r = &tender_ring;
    if (r->started)
        return 0;
    r->t = t;
    r->m = tender_guest_ptr(t, t->mailbox, sizeof(*r->m));
    if (r->m == NULL || t->mailbox % 64 != 0)
        return -EINVAL;
    memset(r->m, 0, sizeof(*r->m));
    pthread_attr_t attr;
    pthread_t th;
    int rc = pthread_attr_init(&attr);
    if (rc == 0)
        rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0)
        rc = pthread_attr_setstacksize(&attr, TENDER_RING_STACK);
    if (rc == 0)
        rc = pthread_create(&th, &attr, tender_ring_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    r->started = 1;
    return 0;
}

void tender_ring_wait_started(struct tender *t)
{
    struct tender_ring *r = &tender_ring;
    if (!r->started)
        return;
    while (!atomic_load(&r->up))
        tender_futex(&r->up, FUTEX_WAIT, 0);
    struct unisec_boot_info *bi = tender_guest_ptr(t, t->boot_info, sizeof(*bi));
    bi->mailbox = t->mailbox;
}

void tender_ring_enter(void)
{
    if (tender_ring.started)
        pthread_mutex_lock(&tender_ring.lock);
}

void tender_ring_leave(void)
{
    struct tender_ring *r = &tender_ring;
    if (!r->started)
        return;
    pthread_mutex_unlock(&r->lock);
    if (__atomic_load_n(&r->m->want, __ATOMIC_RELAXED) == 0)
        return;
    atomic_fetch_add(&r->kick, 1);
    if (atomic_load(&r->sleeping))
        tender_futex(&r->kick, FUTEX_WAKE, 1);
}

void tender_ring_stop(void)
{
    struct tender_ring *r = &tender_ring;
    if (!r->started)
        return;
    atomic_store(&r->stop, 1);
    atomic_fetch_add(&r->kick, 1);
    tender_futex(&r->kick, FUTEX_WAKE, 1);
    for (uint32_t s; (s = atomic_load(&r->stopped)) == 0;)
        tender_futex(&r->stopped, FUTEX_WAIT, s);
}
