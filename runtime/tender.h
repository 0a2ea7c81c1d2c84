/*
 * tender.h — the tenders that run unisec images: the shared core (image loading, devices,
 * hypercall handlers, seccomp rules for the declared devices) and its two backends, hvt
 * (runtime/hvt_*.c: a KVM monitor) and spt (runtime/spt_*.c: a seccomp-confined process).
 *
 * Life of a tender: tender_image_open() reads and checks the ELF; tender_init() acquires
 * every host resource the manifest's devices need (listening sockets, upstream addresses,
 * the policy blob) and refuses devices the configuration does not provide; the backend maps
 * guest memory, loads the image (tender_image_load), locks the process down with seccomp
 * (its own rules plus tender_seccomp_add()) and runs the guest, handing each hypercall to
 * tender_hypercall(). Nothing after the lockdown opens files or creates listeners.
 *
 * Errors before the guest starts go to a struct engine_diag and return a negative errno.
 * Once it runs, a guest that breaks the ABI is killed: t->why says why, in a sentence.
 */
#ifndef UNISEC_RUNTIME_TENDER_H
#define UNISEC_RUNTIME_TENDER_H

#include <netinet/in.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "contract/abi.h"
#include "control.h"
#include "engine/engine.h"
#include "tender_stream.h"

#define TENDER_EXIT_KILLED 255 /* exit status of a tender whose guest was killed */
/* An image file is mapped, never read whole: its size costs address space only. Its loaded
 * segments must fit in guest memory (at most UNISEC_MEM_MAX, the --mem given), so no larger
 * file can be run. */
#define TENDER_IMAGE_MAX UNISEC_MEM_MAX
/* The whole pages of a read-only data segment (page-aligned in the file, as unisec.ld links
 * them) are mapped from the file into guest memory (private, copy on write) instead of
 * copied: an internal PDP's rules region, 41 MB at a million rules, is never passed over by
 * the tender. */
#define TENDER_MAP_MIN 4096u

/* A checked image: the file's bytes and what its headers and notes say. */
struct tender_image {
    uint8_t *buf; /* owned: the whole file */
    size_t len;
    int mapped; /* BUF is the file mapped (tender_image_open), else malloc'd */
    int fd;     /* the file, open while mapped (segments are mapped from it), else -1 */
    uint64_t entry;
    uint32_t target;                 /* UNISEC_TARGET_* */
    struct unisec_manifest manifest; /* devices; names NUL-terminated and checked */
    uint64_t end;                    /* highest guest address a segment occupies, exclusive */
};

/*
 * Reads and checks the image at PATH: ELF64 x86_64 executable, loadable segments inside
 * [UNISEC_IMAGE_BASE, UNISEC_MEM_MAX) and within the file, one target note and one manifest
 * whose devices are well formed. Fills *IMG (free with tender_image_free) or reports to D.
 */
int tender_image_open(struct tender_image *img, const char *path, struct engine_diag *d);

/* The same checks on BUF[0..LEN), which the image takes over (freed on failure too); NAME
 * names it in messages. */
int tender_image_parse(struct tender_image *img, uint8_t *buf, size_t len, const char *name,
                       struct engine_diag *d);
void tender_image_free(struct tender_image *img);

/*
 * Copies the image's segments into guest memory MEM (host address of guest address MEM_LO,
 * size MEM_HI - MEM_LO); with MAP, maps the whole pages of a read-only data segment from the
 * file there instead (TENDER_MAP_MIN: no pass over an internal PDP's rules; the guest's
 * writes, were its page tables to allow them, go to private copies). spt maps; hvt copies,
 * as a vCPU's first touch of each 4 KiB page of a file costs a nested page fault where
 * copied memory is backed by huge pages (a million rules booted 2.5 times slower mapped,
 * on a loaded 2-core machine). MEM must be fresh
 * anonymous memory, all zero: the rest of each
 * segment (.bss, 300 KiB in a web image) is left untouched rather than zero-filled, so only
 * the pages the guest uses are ever faulted in. The image must fit in guest memory
 * (tender_boot_info then checks that a heap is left). A copied rules region (contract/abi.h)
 * is summed as it is written, 256 KiB at a time while in cache: the copy is the check, and
 * the guest is spared a second pass over 41 MB at a million rules. Returns the boot flags
 * (UNISEC_BOOT_RULES_SUMMED when the copied region has its header's CRC-32C, else 0: the
 * guest then sums it, and refuses it when it differs) or -ENOMEM with a message in D.
 */
int tender_image_load(const struct tender_image *img, uint8_t *mem, uint64_t mem_lo,
                      uint64_t mem_hi, int map, struct engine_diag *d);

/* What the user asked for on the command line. Strings are borrowed. */
struct tender_listen {
    const char *device; /* NULL: the image's front (--port: https, else http, else its only one) */
    const char *addr;   /* "[HOST:]PORT"; host defaults to 127.0.0.1; NULL when FD is given */
    int fd; /* > 2: an inherited listening socket to use instead of ADDR (the supervisor's,
               shared across instance generations); 0: none */
};

struct tender_upstream {
    const char *device; /* an upstream or PDP device */
    const char *addr;   /* "HOST:PORT" */
};

#define TENDER_CONFIG_MAX 16

/*
 * Splits an address of --listen or --upstream, or of a supervisor's port: "[HOST:]PORT",
 * "HOST:PORT" or "[V6]:PORT". With a colon, copies HOST (brackets removed; "" from "[]")
 * into HOST[SIZE], and returns the port's text: SPEC itself without a colon (HOST is left
 * as the caller set it), NULL when the host part is missing or does not fit.
 */
const char *tender_addr_split(const char *spec, char *host, size_t size);

/* The port TEXT names (decimal, 0 to 65535), or -1. */
long tender_port_parse(const char *text);

struct tender_config {
    const char *image;
    uint64_t mem_size; /* bytes; 0: UNISEC_MEM_DEFAULT */
    const char *cmdline;
    struct tender_listen listen[TENDER_CONFIG_MAX];
    size_t nlisten;
    struct tender_upstream upstream[TENDER_CONFIG_MAX];
    size_t nupstream;
    const char *policy_file; /* NULL or a blob delivered at boot */
    int policy_fd;           /* -1 or a stream socket: frames in, ack lines out */
    const char *tls_cert;    /* NULL or the TLS certificate chain (PEM), with TLS_KEY */
    const char *tls_key;     /* NULL or its private key (PEM) */
    int tls_fd;              /* > 2: a descriptor holding the TLS credentials (tender_tls.c) */
    uint32_t max_streams;    /* 0: UNISEC_STREAMS_MAX */
    int console_fd;          /* where the guest's console goes */
    int control_fd;          /* > 2: the supervisor's stream socket (see tender_control.c);
                                0 or -1: none */
    int verbose;             /* report listening addresses and policy acks on stderr */
};

struct tender_device {
    int fd;      /* LISTEN: the listening socket */
    int armed;   /* LISTEN: the guest asked for connections (an ACCEPT operation) */
    int pending; /* LISTEN: connections may be waiting in the backlog */
    struct sockaddr_storage addr;
    socklen_t addrlen; /* UPSTREAM, PDP: where to connect */
};

/* The state of one running guest. Owned by the backend, which calls tender_fini(). */
struct tender {
    const char *name; /* "hvt" or "spt", for messages */
    struct tender_image img;
    struct tender_config cfg;

    uint8_t *mem; /* host address of guest address mem_lo */
    uint64_t mem_lo, mem_hi;
    uint64_t boot_info;  /* guest address of the boot info (tender_boot_info), 0 before */
    uint32_t boot_flags; /* UNISEC_BOOT_*, as tender_image_load returned them */

    struct tender_device dev[UNISEC_MANIFEST_MAX];
    int epfd;
    struct tender_streams streams; /* owned: cfg.max_streams slots (tender_stream.h) */
    struct tender_jobs *jobs;      /* owned: a POLL's gathered socket work (tender_net.c; taken
                                      at set-up) */

    uint8_t *policy_blob; /* owned, mapped (tender_policy.c): the pending blob, NULL when none */
    size_t policy_len;
    uint8_t *policy_in; /* owned, mapped: the frame being read from policy_fd */
    size_t policy_in_len, policy_in_have;
    uint8_t policy_hdr[8];
    size_t policy_hdr_have;
    int policy_notify; /* a blob arrived since the last POLL */

    uint8_t *tls_blob;        /* owned (mapped, TLS_LEN bytes): the TLS credentials until taken */
    size_t tls_len, tls_have; /* the mapping's size; the credentials' */

    uint32_t ninbound; /* open accepted streams: a draining tender ends when none is left */

    /* The control socket (cfg.control_fd; tender_control.c). */
    struct ctl_in control_in; /* what has arrived of the supervisor's messages */
    int ready_sent;           /* READY was written: the guest waits for events */
    int drain_asked;          /* DRAIN arrived and is not yet done */
    int draining;             /* the listeners are closed; the guest finishes its streams */
    uint64_t pong;            /* a ping to answer at the next POLL; 0: none */

    /* The mailbox (abi.h): its guest address, a cache line below the boot info reserved by
     * tender_boot_info (0 before); offered to the guest only when a tender_ring thread
     * watches it. A POLL served from it waits at most POLL_CAP_NS (0: no cap); POLL_IDLE says
     * its wait ended so with nothing for the guest to act on. */
    uint64_t mailbox;
    uint64_t poll_cap_ns;
    int poll_idle;

    uint64_t polls; /* POLL hypercalls served */
    int status;     /* the exit status once halted or killed */
    char why[512];  /* why the guest was killed */
    uint64_t hypercalls;
};

/*
 * Opens cfg->image (tender_image_open) and acquires the host resources CFG asks for its
 * devices. t->name becomes "hvt" or "spt" from the image's target note. CFG's strings are
 * borrowed for the tender's life. On failure everything acquired is released.
 */
int tender_init(struct tender *t, const struct tender_config *cfg, struct engine_diag *d);
void tender_fini(struct tender *t);

/*
 * Lays out guest memory [MEM_LO, MEM_HI) for the loaded image (heap, boot info, command
 * line, stack) and writes the boot info. Returns the guest address of the boot info and sets
 * *STACK_TOP, or 0 with a message in D when the image does not fit.
 */
uint64_t tender_boot_info(struct tender *t, uint64_t spt_hypercall, uint64_t *stack_top,
                          struct engine_diag *d);

/*
 * Completes the boot info just before the backend enters the guest: the processor features
 * CPU (CPUID leaf 1 ECX, leaf 1 EDX, leaf 7 EBX) the guest may use, and both clocks now.
 */
void tender_boot_start(struct tender *t, const uint32_t cpu[3]);

/* Adds to CTX the system calls the core and its devices need after the lockdown. */
int tender_seccomp_add(struct tender *t, scmp_filter_ctx ctx);

/* Installs handlers for SIGSYS (a system call seccomp forbids) and the fault signals that
 * say in one line why the guest died, then end the process with TENDER_EXIT_KILLED. */
int tender_seccomp_report(const char *name);

/*
 * Locks the process down, the one way both backends do it: a filter that traps every system
 * call but the backend's (BACKEND_RULES(CTX, ARG), may be NULL) and the core devices'
 * (tender_seccomp_add), with tender_seccomp_report's handlers installed first. Returns 0, or a
 * negative errno with a message in D; the filter is released either way.
 */
int tender_lockdown(struct tender *t, int (*backend_rules)(scmp_filter_ctx ctx, void *arg),
                    void *arg, struct engine_diag *d);

#define TENDER_CONTINUE 0
#define TENDER_HALT     1 /* t->status is the guest's exit status */
#define TENDER_KILL     2 /* t->why says why; t->status is TENDER_EXIT_KILLED */

/* Whether the image has stream devices (a listener, an upstream or a PDP). */
int tender_has_streams(const struct tender *t);

/* Serves hypercall NR whose argument struct is at guest address ARG. */
int tender_hypercall(struct tender *t, uint32_t nr, uint64_t arg);

/* Kills the guest: formats t->why, returns TENDER_KILL. */
int tender_kill(struct tender *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The host address of guest range [GPA, GPA + LEN), or NULL when any of it lies outside
 * guest memory (overflow included). With LEN 0 any GPA is accepted (nothing is touched) and
 * the result is the start of guest memory.
 */
void *tender_guest_ptr(const struct tender *t, uint64_t gpa, uint64_t len);

/*
 * The backends: run T's guest to its end. hvt returns the tender's exit status (the guest's,
 * or TENDER_EXIT_KILLED), or a negative errno with D filled when set-up fails. spt returns
 * only on set-up failure: once its guest runs, the process exits with the guest.
 */
int tender_hvt_run(struct tender *t, struct engine_diag *d);
int tender_spt_run(struct tender *t, struct engine_diag *d);

/* Prints how the guest ended (killed: t->why) and returns the exit status. */
int tender_finish(struct tender *t, int how);

#define TENDER_EXE_NAME "unisec-tender"

/* unisec-tender's main (`unisec-tender IMAGE [OPTIONS] [-- ARGS]`): parses the command line
 * and runs the image. ARGV[0] names the program in messages: "unisec-tender" when its base
 * name is that, else "unisec run". */
int tender_cmd_run(int argc, char **argv);

/* `unisec run`: executes unisec-tender (tender_exe_path) in this process with the same
 * arguments. Returns only when that fails (1, after printing why). */
int tender_cmd_exec(int argc, char **argv);

/* Writes into BUF (SIZE bytes) the path of unisec-tender beside this process's executable
 * (where meson builds and installs it). Returns 0, or a negative errno with D filled. */
int tender_exe_path(char *buf, size_t size, struct engine_diag *d);

#endif
