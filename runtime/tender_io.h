/*
 * tender_io.h — a helper thread that performs part of a POLL's socket work.
 *
 * A busy POLL sends dozens of responses and reads dozens of requests; on this kind of
 * host most of a request's cost is the kernel's TCP work in those calls. The thread that
 * serves the hypercall gathers them as jobs (a descriptor and a checked host pointer into
 * guest memory) and tender_io_run() performs them on both threads at once, returning when
 * all are done: completion stays synchronous, so neither the guest nor the ABI changed. A
 * POLL's WRITEs are gathered until an ACCEPT, a CLOSE or the end of its operations (abi.h
 * says so: a RECV queued after a WRITE may complete first). Small batches (a connection or
 * two) are performed inline: waking a thread costs more here than the work it would take over.
 * So are the next 256 batches after one whose end waited over 200 us for the helper: on a
 * loaded machine the scheduler may stop the helper in the middle of a job, and the serving
 * thread then sleeps until it runs again.
 *
 * "The serving thread" is whichever thread serves the hypercall: the vCPU's (spt: the guest's
 * own), or on hvt the mailbox thread for a POLL posted there (tender_ring.h), never both
 * at once.
 *
 * Ownership: the helper touches nothing but the job it claimed (the descriptor, the guest
 * bytes it names, its result) and the hand-off words in tender_io.c. Everything else —
 * the stream table, the epoll set, guest state, the decision to kill the guest — stays with
 * the serving thread, which checks every pointer before making a job of it and closes no
 * descriptor while a batch runs. Between batches the helper sleeps in a futex wait.
 *
 * The helper is created when the devices are set up (tender_net_init) and is running its
 * loop before the seccomp filter is loaded; the filter is synchronized to every thread
 * (TSYNC): it keeps what the serving thread may do plus futex wait and wake. A guest killed or
 * halted ends the process with exit_group, which ends the helper too.
 */
#ifndef UNISEC_RUNTIME_TENDER_IO_H
#define UNISEC_RUNTIME_TENDER_IO_H

#include <seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TENDER_JOB_SEND 1 /* send(fd, buf, len, MSG_NOSIGNAL) */
#define TENDER_JOB_READ 2 /* read(fd, buf, len) */

#define TENDER_IO_MIN 4      /* smaller batches are performed inline */
#define TENDER_IO_MAX 0xffff /* larger ones too (never, with the ABI's limits) */

struct tender_job {
    int fd;
    int op;    /* TENDER_JOB_* */
    void *buf; /* host address, inside guest memory (checked by the caller) */
    size_t len;
    ssize_t res; /* out: bytes moved, or -errno */
};

/* Starts the helper (once per process), early, so that its start overlaps the rest of the
 * set-up. Returns 0 or a negative errno. */
int tender_io_start(void);

/* Returns once the helper started by tender_io_start() is past the C library's start-up
 * (its rseq, robust list and signal mask calls, made with every signal blocked: a call the
 * filter refused there would kill the process without a report). The filter is loaded
 * after this. */
void tender_io_wait_started(void);

/* Performs JOBS[0..N) and returns when every job has its result. Without a helper, or for
 * a small batch, on this thread alone. */
void tender_io_run(struct tender_job *jobs, uint32_t n);

/* futex(WORD, OP | FUTEX_PRIVATE_FLAG, VAL) without a timeout: the wait and wake the
 * lockdown keeps, for this helper and hvt's mailbox thread (tender_ring.h). */
long tender_futex(_Atomic uint32_t *word, int op, uint32_t val);

/* Adds the helper's system calls (futex wait and wake) and thread synchronization to CTX. */
int tender_io_seccomp(scmp_filter_ctx ctx);

#endif
