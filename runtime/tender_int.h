/* tender_int.h — what the tender core's files share: the device hypercall handlers and the
 * set-up of each device family. Backends use tender.h only. */
#ifndef UNISEC_RUNTIME_TENDER_INT_H
#define UNISEC_RUNTIME_TENDER_INT_H

#include <time.h>

#include "tender.h"

/* Hypercall handlers: ARG is the tender's copy of the guest's argument struct. */
int tender_hc_poll(struct tender *t, void *arg);
int tender_hc_connect(struct tender *t, void *arg);
int tender_hc_policy_recv(struct tender *t, void *arg);
int tender_hc_policy_ack(struct tender *t, void *arg);

/* Writes guest bytes [DATA, DATA + LEN) to the console (a bad range kills the guest).
 * Returns TENDER_CONTINUE or TENDER_KILL. */
int tender_console_out(struct tender *t, uint64_t data, uint64_t len);

/* Listening sockets, upstream addresses, the stream table and the epoll set. */
int tender_net_init(struct tender *t, struct engine_diag *d);
void tender_net_fini(struct tender *t);
int tender_net_seccomp(struct tender *t, scmp_filter_ctx ctx);

/* The policy channel: the boot blob and the control socket. */
int tender_policy_init(struct tender *t, struct engine_diag *d);
void tender_policy_fini(struct tender *t);
/* Reads what policy_fd has ready; sets t->policy_notify when a whole blob is in. */
void tender_policy_input(struct tender *t);

/* The control socket: set-up, reading commands, and the work due at each POLL. */
int tender_control_init(struct tender *t, struct engine_diag *d);
void tender_control_input(struct tender *t);
/* Called by POLL before it waits: says "ready" once, answers a ping, starts a drain; returns
 * TENDER_HALT (status 0) once a drain has no stream left, else TENDER_CONTINUE. */
int tender_control_poll(struct tender *t);
/* Closes the listening sockets (after taking them out of the epoll set). */
void tender_net_close_listeners(struct tender *t);

/* Whether the image has stream devices (a listener, an upstream or a PDP): then POLL
 * shares its socket work with a helper thread (tender_io.h). */
int tender_net_streams(const struct tender *t);

/* The index of the manifest's first device of TYPE, or -1. */
int tender_device_first(const struct tender *t, uint32_t type);

/* Ends the process now with STATUS: the exit_group system call itself, which the lockdown
 * allows, rather than _exit, which sanitizer runtimes intercept with calls it does not.
 * Deliberately not declared noreturn: AddressSanitizer instruments calls to noreturn
 * functions, and on spt's guest stack that makes it report (with getpid) before dying. */
void tender_exit_now(int status);

/* Nanoseconds on CLOCK. */
uint64_t tender_now(clockid_t clock);

/* epoll data: kind in the high 32 bits, handle or device in the low. */
#define TENDER_EP_STREAM   1ull
#define TENDER_EP_LISTENER 2ull
#define TENDER_EP_POLICY   3ull
#define TENDER_EP_CONTROL  4ull

#endif
