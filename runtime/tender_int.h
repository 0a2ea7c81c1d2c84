/*
 * tender_int.h — what the tender's devices are to its core, and what they may call.
 *
 * A device (tender_console.c, tender_net.c, tender_policy.c, tender_control.c) declares
 * everything it adds in one const struct tender_dev: its set-up and release, its system calls
 * after the lockdown, its hypercalls, and its part of the wait in POLL. tender_devices.c
 * lists the devices; the core (tender_core.c, tender_seccomp.c) walks that list and hands it
 * down to the hooks that need the other devices (struct tender_devs), so a device names no
 * other device and nothing of the core. What every device may call on a running guest (its
 * memory, its console, the clock, killing it) is below the devices, in tender_guest.c.
 * Adding a device: its file and one line in tender_devices.c.
 *
 * Backends use tender.h (and tender_exit_now()).
 */
#ifndef UNISEC_RUNTIME_TENDER_INT_H
#define UNISEC_RUNTIME_TENDER_INT_H

#include <string.h>
#include <time.h>

#include "tender.h"

struct tender_dev;

/* The devices in the order of tender_devices.c: set up, asked before each wait and locked
 * down in this order, released in the reverse. */
struct tender_devs {
    const struct tender_dev *const *dev;
    uint32_t n;
};

/* The events being gathered for one POLL: the guest's array, checked, and what is in it. */
struct tender_batch {
    struct unisec_event *ev; /* host address of the guest's array */
    uint32_t cap, count;
    int wake; /* the guest has something to act on: do not wait */
};

/* The largest hypercall argument struct the core copies in. */
#define TENDER_HC_ARG_MAX 128

/* A hypercall a device serves. FN gets the tender's copy of the guest's argument struct
 * (SIZE bytes; copied back unless the guest halts or is killed) and the devices. */
struct tender_hc {
    const char *name;
    size_t size;
    int (*fn)(struct tender *t, void *arg, const struct tender_devs *all);
};

/* An entry of a device's hypercall table, ARGS its argument struct; a struct larger than
 * TENDER_HC_ARG_MAX makes the array size negative and the build fail. */
#define TENDER_HC(NAME, ARGS, FN)                                                                  \
    {                                                                                              \
        .name = (NAME),                                                                            \
        .size = sizeof(ARGS) + 0 * sizeof(char[sizeof(ARGS) <= TENDER_HC_ARG_MAX ? 1 : -1]),       \
        .fn = (FN)                                                                                 \
    }

/* One device. Every member may be NULL (hc[nr].fn NULL: not this device's hypercall). */
struct tender_dev {
    const char *name;
    /* Acquires what the device needs before the guest starts, or refuses the configuration
     * with a message in D. ID tags the device's descriptors in the epoll set
     * (TENDER_EP_DEVICE << 32 | ID): their readiness calls EVENT. */
    int (*init)(struct tender *t, uint32_t id, struct engine_diag *d);
    /* Releases what INIT acquired, also after INIT failed half-way. */
    void (*fini)(struct tender *t);
    /* Adds to CTX the system calls the device makes after the lockdown. */
    int (*seccomp)(const struct tender *t, scmp_filter_ctx ctx);
    /* Called by POLL before each wait: may add events to B (within its capacity); returns
     * TENDER_CONTINUE, or TENDER_HALT / TENDER_KILL to end the guest. */
    int (*poll)(struct tender *t, struct tender_batch *b, const struct tender_devs *all);
    /* A descriptor the device registered under its ID is ready (called from POLL's wait). */
    void (*event)(struct tender *t);
    /* Stop taking new work: the supervisor asked the tender to drain. */
    void (*drain)(struct tender *t);
    struct tender_hc hc[UNISEC_HC_COUNT];
};

/* The list of tender_devices.c, for the core only: devices get it as an argument. */
extern const struct tender_devs tender_devices;

/* Appends an event to B, which has room (the caller checked). WAKE: POLL returns without
 * waiting. Inline: POLL emits one per completion. */
static inline void tender_emit(struct tender_batch *b, uint32_t kind, uint32_t handle,
                               uint32_t flags, int64_t res, const struct unisec_addr *peer,
                               int wake)
{
    struct unisec_event e = {kind, handle, flags, 0, res, {0, 0, {0}}, 0};
    if (peer)
        e.peer = *peer;
    memcpy(&b->ev[b->count++], &e, sizeof(e));
    b->wake |= wake;
}

/* ---- what every device may call (tender_guest.c) ---- */

/* Writes guest bytes [DATA, DATA + LEN) to the console (a bad range kills the guest).
 * Returns TENDER_CONTINUE or TENDER_KILL. */
int tender_console_out(struct tender *t, uint64_t data, uint64_t len);

/* The index of the manifest's first device of TYPE, or -1. */
int tender_device_first(const struct tender *t, uint32_t type);

/* Nanoseconds on CLOCK. */
uint64_t tender_now(clockid_t clock);

/* Ends the process now with STATUS: the exit_group system call itself, which the lockdown
 * allows, rather than _exit, which sanitizer runtimes intercept with calls it does not.
 * Deliberately not declared noreturn: AddressSanitizer instruments calls to noreturn
 * functions, and on spt's guest stack that makes it report (with getpid) before dying. */
void tender_exit_now(int status);

/* ---- reading an input whole before the guest starts (tender_input.c) ---- */

/* Reads FD to its end (from offset 0 where it seeks) into a new buffer *OUT of *LEN bytes,
 * at most MAX. SECRET: every copy is wiped before it is freed (the caller wipes *OUT too).
 * Returns 0, -EFBIG past MAX, or another negative errno; *OUT is set only on 0. */
int tender_input_fd(int fd, size_t max, int secret, uint8_t **out, size_t *len);

/* The same of PATH, "-" standard input (left open), with the error in D naming OPT (the
 * option that gave PATH) and the bound. Returns 0 or a negative errno. */
int tender_input_read(const char *opt, const char *path, size_t max, int secret, uint8_t **out,
                      size_t *len, struct engine_diag *d);

/* epoll data: kind in the high 32 bits, stream handle, listener or device ID in the low. */
#define TENDER_EP_STREAM   1ull
#define TENDER_EP_LISTENER 2ull
#define TENDER_EP_DEVICE   3ull

#endif
