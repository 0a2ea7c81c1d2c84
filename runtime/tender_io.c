/* tender_io.c — a second tender thread that shares a POLL's socket work (the sends of its
 * WRITE operations, the reads into lent buffers after a wait) with the thread that serves
 * the hypercall, so that on a busy tender both CPUs do socket work, as nginx's two workers
 * do. See tender_io.h for who owns what. */
#include "tender_io.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TENDER_IO_STACK (256u << 10)
/* A batch whose end waited longer than this for the helper (the host's scheduler took its CPU
 * in the middle of a job, as on a loaded machine: the serving thread then sleeps until the
 * helper runs again, a time slice or more) makes the next TENDER_IO_BACKOFF batches run on the
 * serving thread alone. An idle machine never waits that long: a job takes 5 to 30 us. */
#define TENDER_IO_STALL_NS 200000
#define TENDER_IO_BACKOFF  256

/* The state both threads share. Everything else in the tender belongs to the thread that
 * serves hypercalls (the vCPU's thread on hvt, the guest's own on spt). */
static struct tender_io {
    struct tender_job *jobs; /* the batch being performed; written only between batches */
    /* Batch tag in the high 32 bits, the batch's size in bits 16-31, the next unclaimed
     * job in bits 0-15: a job is claimed by a compare-and-swap, so a helper that wakes late
     * cannot claim a job of a batch that is over. */
    _Atomic uint64_t claim;
    _Atomic uint32_t done;     /* jobs of the current batch performed */
    _Atomic uint32_t kick;     /* bumped per batch: the helper's futex word */
    _Atomic uint32_t sleeping; /* the helper waits on kick: a batch must wake it */
    _Atomic uint32_t waiting;  /* the serving thread waits on done */
    _Atomic uint32_t up;       /* the helper runs its loop: its own start-up calls are over */
    int started;
    uint32_t inline_left; /* batches still run inline after a stall (serving thread only) */
} tender_io;

long tender_futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static uint64_t tender_io_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void tender_job_do(struct tender_job *j)
{
    ssize_t n;
    do
        n = j->op == TENDER_JOB_SEND ? send(j->fd, j->buf, j->len, MSG_NOSIGNAL)
                                     : read(j->fd, j->buf, j->len);
    while (n < 0 && errno == EINTR);
    j->res = n < 0 ? -errno : n;
}

/* Claims and performs jobs of the current batch until none is left unclaimed. */
static void tender_io_work(struct tender_io *io)
{
    uint64_t c = atomic_load(&io->claim);
    for (;;) {
        uint32_t next = (uint32_t)(c & 0xffff), n = (uint32_t)(c >> 16 & 0xffff);
        if (next >= n)
            return;
        if (!atomic_compare_exchange_weak(&io->claim, &c, c + 1))
            continue;
        tender_job_do(&io->jobs[next]);
        if (atomic_fetch_add(&io->done, 1) + 1 == n && atomic_load(&io->waiting))
            tender_futex(&io->done, FUTEX_WAKE, 1);
        c = atomic_load(&io->claim);
    }
}

static void *tender_io_main(void *arg)
{
    struct tender_io *io = arg;
    atomic_store(&io->up, 1);
    tender_futex(&io->up, FUTEX_WAKE, 1);
    for (;;) {
        uint32_t k = atomic_load(&io->kick);
        tender_io_work(io);
        atomic_store(&io->sleeping, 1);
        if (atomic_load(&io->kick) == k)
            tender_futex(&io->kick, FUTEX_WAIT, k);
        atomic_store(&io->sleeping, 0);
    }
    return NULL;
}

int tender_io_start(void)
{
    if (tender_io.started)
        return 0;
    pthread_attr_t attr;
    pthread_t th;
    int rc = pthread_attr_init(&attr);
    if (rc == 0)
        rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0) /* the helper calls nothing deep: a small stack is mapped faster */
        rc = pthread_attr_setstacksize(&attr, TENDER_IO_STACK);
    if (rc == 0)
        rc = pthread_create(&th, &attr, tender_io_main, &tender_io);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    tender_io.started = 1;
    return 0;
}

void tender_io_wait_started(void)
{
    while (tender_io.started && !atomic_load(&tender_io.up))
        tender_futex(&tender_io.up, FUTEX_WAIT, 0);
}

void tender_io_run(struct tender_job *jobs, uint32_t n)
{
    struct tender_io *io = &tender_io;
    if (!io->started || n < TENDER_IO_MIN || n > TENDER_IO_MAX || io->inline_left > 0) {
        io->inline_left -= io->inline_left > 0 && n >= TENDER_IO_MIN;
        for (uint32_t i = 0; i < n; i++)
            tender_job_do(&jobs[i]);
        return;
    }
    /* The last batch is over (done == its size): the helper touches nothing until it claims
     * a job of this one, which it can only do after the claim word below. */
    io->jobs = jobs;
    atomic_store(&io->done, 0);
    uint64_t tag = (atomic_load(&io->claim) >> 32) + 1;
    atomic_store(&io->claim, tag << 32 | (uint64_t)n << 16);
    atomic_fetch_add(&io->kick, 1);
    if (atomic_load(&io->sleeping))
        tender_futex(&io->kick, FUTEX_WAKE, 1);
    tender_io_work(io);
    /* Every job is claimed; the helper may still be performing one. */
    for (int spin = 0; atomic_load(&io->done) != n && spin < 512; spin++)
        __builtin_ia32_pause();
    if (atomic_load(&io->done) == n)
        return;
    uint64_t t0 = tender_io_now();
    atomic_store(&io->waiting, 1);
    for (uint32_t d; (d = atomic_load(&io->done)) != n;)
        tender_futex(&io->done, FUTEX_WAIT, d);
    atomic_store(&io->waiting, 0);
    if (tender_io_now() - t0 > TENDER_IO_STALL_NS)
        io->inline_left = TENDER_IO_BACKOFF;
}

int tender_io_seccomp(scmp_filter_ctx ctx)
{
    int rc = 0;
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1,
                           SCMP_A1(SCMP_CMP_EQ, FUTEX_WAIT | FUTEX_PRIVATE_FLAG));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1,
                           SCMP_A1(SCMP_CMP_EQ, FUTEX_WAKE | FUTEX_PRIVATE_FLAG));
    /* Every thread gets the filter, the helper included. */
    rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    return rc;
}
