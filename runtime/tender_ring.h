/*
 * tender_ring.h — hvt's mailbox: a tender thread that serves the guest's POLLs without an exit.
 *
 * On nested KVM an exit costs more than nginx's whole keep-alive request, so at one
 * connection the exit is the request's cost. contract/abi.h ("The mailbox") gives the
 * protocol: the guest posts the address of a POLL's argument struct in a mailbox on its own
 * cache line of guest memory and spins; this thread, which watches the mailbox for
 * UNISEC_MAILBOX_SPIN_NS after each POLL it served (and after each exit whose guest set WANT),
 * claims the post, serves it with tender_hypercall() and marks it done. Past that window, or
 * as soon as a POLL it served idled out (the guest's next is an exit), it sleeps in a futex
 * wait, and a guest that posts then finds its post untaken and makes the hypercall.
 *
 * Ownership: whoever serves a hypercall owns the tender (struct tender, the stream table,
 * the epoll set, the tender_io batch): the vCPU's thread between tender_ring_enter() and
 * tender_ring_leave(), this thread while it serves a post. A mutex makes the two exclusive,
 * so a hostile guest that posts and exits at once only waits on itself. The mailbox is guest
 * memory: each of its words is read once (an atomic load or compare-and-swap), ARG is checked
 * by tender_hypercall() like any hypercall argument, and a POLL served from it waits at most
 * UNISEC_MAILBOX_WAIT_NS, so this thread never waits on the guest for longer than that.
 *
 * A POLL served here that kills or ends the guest ends the process from this thread
 * (tender_finish's message, then exit_group), as the vCPU's thread would. The thread is
 * started before the lockdown and covered by its filter (TSYNC); it needs nothing beyond
 * what serving a POLL and tender_io need (futex wait and wake, clock_gettime). It never
 * calls malloc: a first allocation on a thread of its own would map an arena with mprotect,
 * which the lockdown forbids, so what a POLL may have to buffer (a policy frame) is mapped
 * (tender_policy.c), and the stream table and tender_io's batch are allocated at set-up. No
 * allocator setting is needed, so any allocator (a sanitizer's) serves.
 */
#ifndef UNISEC_RUNTIME_TENDER_RING_H
#define UNISEC_RUNTIME_TENDER_RING_H

#include "tender.h"

/* Starts the thread for T, whose boot info is laid out (t->mailbox set). Returns 0 or a
 * negative errno. */
int tender_ring_start(struct tender *t);

/* Returns once the thread started by tender_ring_start() runs its loop (its C library
 * start-up calls are over), so the filter loaded next covers it. Then offers the mailbox to
 * the guest (boot_info.mailbox). */
void tender_ring_wait_started(struct tender *t);

/* Brackets a hypercall served by the vCPU's thread. Without a thread, nothing. LEAVE wakes the
 * thread when the guest's WANT asks for it. */
void tender_ring_enter(void);
void tender_ring_leave(void);

/* Returns once the thread no longer touches guest memory (it sleeps until the process ends):
 * the backend calls it before unmapping guest memory. */
void tender_ring_stop(void);

#endif
