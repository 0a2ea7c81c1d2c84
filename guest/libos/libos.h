/*
 * libos.h — everything a unisec guest (a module, or the builder's generated configuration)
 * may call. The library OS is the guest's only base: no host libc is linked into an image.
 * The same calls work on both targets (hvt and spt); only the binding object differs.
 *
 * Execution model: one thread, one event loop, no preemption, no signals. A callback runs
 * to completion; nothing blocks except libos_loop_run() waiting for events. Every call
 * that can fail returns 0 (or a count) on success and a negative UNISEC_E* value (abi.h)
 * on failure.
 *
 * The image provides libos_main() and declares its devices once with UNISEC_MANIFEST():
 *
 *     UNISEC_MANIFEST(UNISEC_LISTEN("http"), UNISEC_UPSTREAM("web"), UNISEC_POLICY("policy"));
 *
 *     int libos_main(const char *cmdline)
 *     {
 *         libos_listen("http", on_accept, NULL);
 *         return libos_loop_run();
 *     }
 */
#ifndef UNISEC_GUEST_LIBOS_H
#define UNISEC_GUEST_LIBOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/abi.h"

/* ---- the image ---- */

/*
 * The image's entry point, provided by the image. CMDLINE is the boot arguments (`unisec
 * run IMAGE -- ARGS`), never NULL. The return value is the exit status (0..255).
 */
int libos_main(const char *cmdline);

/* Declares the image's devices (at most UNISEC_MANIFEST_MAX), once per image. */
#define UNISEC_LISTEN(n)                                                                           \
    {                                                                                              \
        UNISEC_DEV_LISTEN, 0, n                                                                    \
    }
#define UNISEC_UPSTREAM(n)                                                                         \
    {                                                                                              \
        UNISEC_DEV_UPSTREAM, 0, n                                                                  \
    }
#define UNISEC_POLICY(n)                                                                           \
    {                                                                                              \
        UNISEC_DEV_POLICY, 0, n                                                                    \
    }
#define UNISEC_PDP(n)                                                                              \
    {                                                                                              \
        UNISEC_DEV_PDP, 0, n                                                                       \
    }
#define UNISEC_TLS(n)                                                                              \
    {                                                                                              \
        UNISEC_DEV_TLS, 0, n                                                                       \
    }
#define UNISEC_MANIFEST(...)                                                                       \
    __attribute__((section(".note.unisec"), used, aligned(4)))                                     \
    const UNISEC_NOTE(struct unisec_manifest)                                                      \
        libos_manifest_note = {sizeof(UNISEC_NOTE_NAME),                                           \
                               sizeof(struct unisec_manifest),                                     \
                               UNISEC_NOTE_MANIFEST,                                               \
                               UNISEC_NOTE_NAME,                                                   \
                               {UNISEC_ABI_VERSION, 0, {__VA_ARGS__}}}

/* Ends the guest now with STATUS (0..255), after flushing the console. */
__attribute__((noreturn)) void libos_exit(int status);

/* Prints "panic: MESSAGE" to the console and exits with status 255. */
__attribute__((noreturn, format(printf, 1, 2))) void libos_panic(const char *fmt, ...);

/* ---- console ---- */

/*
 * Appends to the console. Output is buffered in the guest and flushed when the buffer fills
 * and at exit; the loop hands what is buffered to the tender inside its POLL, so logging a
 * line (an access log per request) costs no VM exit.
 */
void libos_console_write(const char *buf, size_t len);
void libos_console_flush(void);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- clocks ---- */

/* Each call is a hypercall, an exit on hvt (tens of microseconds on nested KVM): per request
 * and at start, use libos_loop_now(), which the loop refreshes at every POLL for free (and
 * the boot info's clocks, read when the guest was entered). */
uint64_t libos_clock_monotonic(void); /* nanoseconds from an arbitrary origin */
uint64_t libos_clock_wall(void);      /* nanoseconds since the Unix epoch */

/* ---- libc subset (the usual contracts) ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
unsigned long strtoul(const char *s, char **end, int base);
long strtol(const char *s, char **end, int base);

/* %d %i %u %x %X %o %c %s %p %%, flags "-0+ #", width, precision (also *), length hh h l ll z
 * j t. No floating point. Always NUL-terminates when SIZE > 0; returns the untruncated
 * length. */
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* The allocator: 16-byte aligned blocks from the heap the tender left free. NULL when out of
 * memory. free(NULL) and realloc(NULL, n) behave as in C. */
void *malloc(size_t n);
void *calloc(size_t count, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

/* The guest's one growth rule for a byte buffer: makes *BUF (of *CAP bytes, NULL when *CAP is
 * 0) hold at least NEED bytes, its capacity doubling from FIRST. Returns 0, or
 * -UNISEC_ENOMEM with *BUF and *CAP unchanged (the old buffer stays valid). */
int libos_grow(char **buf, size_t *cap, size_t need, size_t first);

/* Heap usage, for tests and statistics. */
struct libos_heap_stats {
    size_t total; /* bytes the heap spans */
    size_t used;  /* bytes in allocated blocks, headers included */
};
void libos_heap_stats(struct libos_heap_stats *s);

/* ---- streams ---- */

/* A byte stream: an accepted client connection or a connection to an upstream. Opaque. */
struct libos_stream;

struct libos_stream_ops {
    /* Data, end of stream or an error can be read: call libos_stream_read(). */
    void (*readable)(struct libos_stream *s, void *ctx);
    /* libos_stream_write() can make progress (also: a connect completed or failed). */
    void (*writable)(struct libos_stream *s, void *ctx);
};

#define LIBOS_WANT_READ  1u
#define LIBOS_WANT_WRITE 2u

/*
 * Called for each accepted connection. The new stream wants READ and has no ops: set them
 * with libos_stream_set_ops() before returning, or close it.
 */
typedef void (*libos_accept_fn)(struct libos_stream *s, void *ctx);

/*
 * Starts accepting on the listening device named DEVICE (declared with UNISEC_LISTEN).
 * Returns 0, -UNISEC_ENOENT when the manifest declares no such listener.
 */
int libos_listen(const char *device, libos_accept_fn fn, void *ctx);

/*
 * Connects to the upstream or PDP device named DEVICE. On success *OUT is a new stream that
 * wants WRITE: its writable op runs once the connection is up (or failed: then the write
 * returns the error). Returns 0, -UNISEC_ENOENT (undeclared), -UNISEC_EMFILE, -UNISEC_ENOMEM.
 */
int libos_connect(struct libos_stream **out, const char *device);

/*
 * Sets the callbacks and the context they receive. OPS is borrowed (keep it static).
 * Callbacks run only for the directions the stream wants, while the stream is ready in that
 * direction: a callback that leaves data unread (or does not write) while still wanting it
 * runs again at the next turn of the loop.
 */
void libos_stream_set_ops(struct libos_stream *s, const struct libos_stream_ops *ops, void *ctx);

/* Which directions' callbacks may run: LIBOS_WANT_READ | LIBOS_WANT_WRITE, or 0. */
void libos_stream_want(struct libos_stream *s, unsigned want);

/*
 * Reads up to LEN bytes from the stream's receive buffer (no exit: the loop refills the
 * buffer in its next POLL, 1 KiB at a time, 32 KiB while refills come back full). Returns the count
 * (> 0), 0 at end of stream, -UNISEC_EAGAIN when nothing is buffered now (the readable op runs
 * again when data arrives), or another negative error (the stream is dead: close it).
 */
long libos_stream_read(struct libos_stream *s, void *buf, size_t len);

/*
 * Copies up to LEN bytes into the stream's send buffer (taken from the heap as needed, up to
 * 64 KiB, and given back once sent; no exit: the loop sends it in its next POLL); may take
 * fewer. Returns the count (> 0), -UNISEC_EAGAIN when the buffer is full (the writable op
 * runs when it drains), -UNISEC_ENOMEM when the heap has no room for an empty buffer, or
 * another negative error (-UNISEC_EPIPE, -UNISEC_ECONNRESET, -UNISEC_ECONNREFUSED...), which
 * may show only on a later call.
 */
long libos_stream_write(struct libos_stream *s, const void *buf, size_t len);

/*
 * Closes S; S must not be used afterwards. Safe inside S's own callbacks. What was written
 * before is still sent: the stream lingers, invisible, until its send buffer is out (or the
 * peer is gone), then the connection is closed and S freed.
 */
void libos_stream_close(struct libos_stream *s);

/* The client's address (accepted streams) or the upstream's (connected streams). */
const struct unisec_addr *libos_stream_peer(const struct libos_stream *s);

/* Formats ADDR as "a.b.c.d:port" or "[v6]:port" into BUF (NUL-terminated, truncated). */
void libos_addr_format(char *buf, size_t size, const struct unisec_addr *addr);

/* ---- timers ---- */

/* A one-shot timer owned by the caller (fields are private to the loop). */
struct libos_timer {
    uint64_t deadline; /* monotonic ns */
    void (*fn)(struct libos_timer *t, void *ctx);
    void *ctx;
    struct libos_timer *next; /* in the loop's list while armed */
    int armed;
    uint64_t turn; /* the turn of the loop it was armed in */
};

/* Arms T (re-arming moves it) to call FN(T, CTX) once the monotonic clock reaches DEADLINE,
 * at the earliest in the next turn of the loop: a timer armed for libos_loop_now() runs after
 * the streams ready by then, so a long computation can run in slices, one per turn, without
 * holding up the connections. */
void libos_timer_arm(struct libos_timer *t, uint64_t deadline_ns,
                     void (*fn)(struct libos_timer *t, void *ctx), void *ctx);
/* Disarms T if armed; safe to call on a disarmed or fired timer. */
void libos_timer_disarm(struct libos_timer *t);

/* ---- policy channel ---- */

/*
 * Watches the policy device named DEVICE (declared with UNISEC_POLICY): FN runs whenever a
 * blob is pending. Returns 0 or -UNISEC_ENOENT.
 */
int libos_policy_watch(const char *device, void (*fn)(void *ctx), void *ctx);

/*
 * Takes the pending blob into a new 16-byte aligned buffer: *BLOB (caller frees) and *LEN.
 * Returns 0, -UNISEC_ENOENT (nothing pending) or -UNISEC_ENOMEM. Every blob taken must be
 * answered with libos_policy_ack() or libos_policy_refuse().
 */
int libos_policy_take(void **blob, size_t *len);

/* Accepts the blob last taken as VERSION. */
void libos_policy_ack(uint64_t version);

/* Refuses the blob last taken (VERSION as far as known, 0 if unreadable), saying why. */
void libos_policy_refuse(uint64_t version, int error, const char *reason);

/* ---- secrets (abi.h, "Secrets") ---- */

/*
 * Copies the tender's fresh random seed for this instance into OUT and erases it from the
 * boot info. Once per guest: a later call returns -UNISEC_ENOENT. Seed a DRBG with it.
 */
int libos_seed_take(uint8_t out[UNISEC_SEED_LEN]);

/*
 * Takes the TLS credentials (contract/tls_creds.h) of the image's TLS device into a new buffer:
 * *BLOB (caller frees; wipe it first) and *LEN. The tender erases its copy: a second call
 * returns -UNISEC_ENOENT. Also -UNISEC_ENOMEM.
 */
int libos_tls_creds_take(void **blob, size_t *len);

/* Zeroes P[0..N) even where the compiler would see a dead store (a key about to be freed). */
void libos_wipe(void *p, size_t n);

/* ---- the image's rules region (abi.h, "the rules region") ---- */

/*
 * The bytes the builder placed in the image's rules region: *DATA (read-only, 8-byte
 * aligned) and *LEN. -UNISEC_ENOENT when the region is empty (linked code alone);
 * -UNISEC_EINVAL when its header is not UNISEC_RULES_MAGIC or its length runs past the
 * region (into the heap); -UNISEC_EIO when the bytes do not have the header's CRC-32C.
 * Returns 1 when the tender summed them as it copied them in (abi.h, UNISEC_BOOT_RULES_SUMMED:
 * hvt), 0 when the guest did.
 */
int libos_rules(const void **data, size_t *len);

/* ---- the event loop ---- */

/*
 * Runs callbacks until libos_loop_stop() is called or nothing is left to wait for (no
 * listener, stream, timer or policy watch). Returns the status given to libos_loop_stop(),
 * or 0.
 */
int libos_loop_run(void);
void libos_loop_stop(int status);

/* The monotonic time at the start of the current turn of the loop (no hypercall); before the
 * loop's first POLL, the time the guest was entered (the boot info's monotonic_ns). */
uint64_t libos_loop_now(void);

/* ---- raw hypercalls (the binding; modules use the calls above) ---- */

/* Performs hypercall NR with argument struct ARG (a guest address). */
void libos_hypercall(uint32_t nr, void *arg);

/* The boot information the tender passed to _start. */
const struct unisec_boot_info *libos_boot_info(void);

#endif
