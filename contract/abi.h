/*
 * abi.h — the one interface between a unisec guest and its tender (runtime/hvt, runtime/spt).
 * Both sides include this header; nothing else crosses the boundary.
 *
 * The image. A static, non-PIE x86_64 ELF linked at UNISEC_IMAGE_BASE (guest/libos/unisec.ld)
 * carrying two ELF notes named "UNISEC" in a PT_NOTE segment:
 *   - UNISEC_NOTE_TARGET (struct unisec_target), emitted by the target binding object, says
 *     whether the image runs on hvt or spt;
 *   - UNISEC_NOTE_MANIFEST (struct unisec_manifest), emitted by UNISEC_MANIFEST() in the
 *     image's configuration, lists the devices the image uses. A tender enables exactly
 *     those; a hypercall naming any other device kills the guest.
 *
 * Guest memory. Guest addresses [mem_lo, mem_hi) are guest memory (hvt: mem_lo 0, the VM's
 * physical memory; spt: a region of the tender's address space mapped at the same
 * addresses). Everything the guest hands the tender is a guest address inside that range;
 * the tender checks every (address, length) pair for bounds and overflow and kills the guest
 * on a bad one. mem_hi never exceeds UNISEC_MEM_MAX, so an address fits in 32 bits.
 *
 * Boot. The tender loads the PT_LOAD segments (their bytes beyond the file are zero, as is
 * all guest memory it does not write: the heap starts zero), writes the NUL-terminated
 * command line and a struct unisec_boot_info at the top of memory, points the stack just
 * below them (and the mailbox's cache line) and enters the ELF entry point as the C function
 *     void _start(struct unisec_boot_info *bi)
 * (System V ABI: BI in %rdi, %rsp + 8 aligned to 16). hvt enters in 64-bit long mode at
 * CPL 3 with paging (identity map), no IDT, interrupts off, SSE enabled. spt calls it on the
 * guest's stack.
 * _start never returns; the guest ends with UNISEC_HC_HALT.
 * The boot info also says what a guest would otherwise ask for with an exit of its own at
 * start (each costs tens of microseconds on nested KVM): both clocks at the moment the guest
 * is entered, and the processor's instruction sets it may use (so it need not execute CPUID,
 * which exits on hvt).
 *
 * Hypercalls. A hypercall is a number and one guest address of an argument struct. The
 * tender copies the struct in, checks it, acts, and copies the result out (field `ret`: 0 or
 * a byte count on success, a negative UNISEC_E* value on failure).
 *   hvt: a 32-bit store of the struct's address to guest-physical UNISEC_HVT_MMIO_BASE +
 *        4 * number, a page the tender maps for the guest but backs with no memory, so the
 *        store exits to the tender (an MMIO exit). The guest runs at CPL 3: on nested KVM
 *        (kvm-pvm) only user-mode guest code runs natively, and port I/O from CPL 3 faults;
 *        an MMIO exit works on every KVM.
 *   spt: a call to the host function whose address is boot_info.spt_hypercall, as
 *        void fn(uint32_t number, uint64_t address).
 * Any other VM exit (hvt), or any system call outside the image's seccomp set (spt), kills
 * the guest with a message naming what it did.
 *
 * Streams. The tender terminates TCP on the host. A listening device accepts connections
 * into streams; an upstream or PDP device connects one. A stream is a handle (generation in
 * the high 16 bits, slot in the low 16). Stream I/O is batched, because an exit is dear on
 * hvt (tens of microseconds on nested KVM): the guest queues operations (struct unisec_sqe)
 * in its own memory and hands the whole queue to one POLL, which performs them, waits, and
 * returns every completion and readiness event (struct unisec_event) that is ready. A
 * keep-alive request and its response cost one exit (none on hvt through the mailbox below).
 *   ACCEPT arms a listening device: from then on the tender accepts each connection as it
 *          arrives and reports it as UNISEC_EV_ACCEPTED (new handle, peer address).
 *   RECV   lends BUF[0..LEN) to the tender until a UNISEC_EV_RECV completion says what it
 *          holds (bytes; 0 at end of stream; or an error). One RECV per stream at a time.
 *   WRITE  sends BUF[0..LEN) during this POLL, as much as the socket takes now; UNISEC_EV_SENT
 *          says how much. The rest waits for a UNISEC_EV_STREAM WRITE event.
 *   CLOSE  closes the stream; a RECV it had lent is returned silently.
 * The tender copies stream data straight between guest memory and its sockets and buffers
 * none itself, so a slow or hostile client costs it one socket and one table slot.
 *
 * Readiness is edge-triggered: a UNISEC_EV_STREAM WRITE event says the socket became
 * writable again after a WRITE could not send everything.
 *
 * The mailbox (hvt, images with streams). On one connection even one exit per request is
 * dear (it costs more than nginx's whole request on nested KVM), so hvt also takes a POLL
 * without an exit: boot_info.mailbox is the guest address of a struct unisec_mailbox that a
 * tender thread watches for a while after each POLL it serves (UNISEC_MAILBOX_SPIN_NS; not
 * after one that ended IDLE, as the guest's next POLL is then an exit) and after each exit
 * the guest asks it to with WANT. The guest writes the address of a filled
 * struct unisec_hc_poll to ARG, then STATE = POSTED (release order); the tender claims it by
 * changing POSTED to TAKEN (compare-and-swap), reads ARG once, serves it exactly as the POLL
 * hypercall (same checks, same copy of the argument struct), except that its wait ends at
 * UNISEC_MAILBOX_WAIT_NS at the latest (IDLE then says it ended so with nothing to act on),
 * and stores STATE = DONE. A guest whose post is not taken soon takes it back (POSTED to
 * IDLE, compare-and-swap: if that fails the tender has it, and the guest waits for DONE) and
 * makes the hypercall instead. Meanwhile the guest spins on STATE, on its own vCPU. The
 * tender treats every word of the mailbox as hostile: it
 * reads each once, never trusts STATE beyond its own compare-and-swap, and checks ARG as any
 * hypercall argument; a POLL served from the mailbox and one served by an exit never run at
 * once (a lock), so a guest that posts and exits together gains nothing. 0 in boot_info:
 * no mailbox (spt, whose hypercall is a call; an image without streams).
 *
 * Secrets. The boot info's SEED is 32 bytes the tender read from the host's getrandom() for
 * this instance alone, at its start: never in the image, never shared with another instance
 * (the guest seeds a DRBG from it and should erase it). The stack protector's canary of code
 * built for x86_64 Linux (the word at %fs:0x28; Debian's static libraries use it) is random
 * too: hvt leaves FS's base at 0 and writes a random word at guest address 0x28 (below the
 * image, in no segment); spt runs the guest on the tender's own thread, whose canary the C
 * library drew. A TLS device (UNISEC_DEV_TLS) hands the guest its server credentials
 * (contract/tls_creds.h) once: the tender holds them only until the guest takes them.
 */
#ifndef UNISEC_CONTRACT_ABI_H
#define UNISEC_CONTRACT_ABI_H

#include <stdint.h>

#define UNISEC_ABI_VERSION 5u

/* ---- layout ---- */

#define UNISEC_IMAGE_BASE    0x100000ull    /* link address of every image */
#define UNISEC_MEM_MIN       (8ull << 20)   /* smallest guest memory a tender gives */
#define UNISEC_MEM_DEFAULT   (256ull << 20) /* when the run command names none */
#define UNISEC_MEM_MAX       (2ull << 30)   /* guest addresses fit in 32 bits */
#define UNISEC_STACK_SIZE    (1ull << 20)   /* at the top of guest memory */
#define UNISEC_CMDLINE_MAX   4096           /* bytes, NUL included */
#define UNISEC_HVT_MMIO_BASE 0xf0000000ull  /* hvt: hypercall N is a 32-bit store to this + 4N */
#define UNISEC_STREAMS_MAX   4096           /* open streams per guest; slot = handle & 0xffff */

/* ---- errors: negative Linux errno values (the guest has no errno.h) ---- */

#define UNISEC_ENOENT       2   /* no such device, no blob pending */
#define UNISEC_EBADF        9   /* not an open stream handle */
#define UNISEC_EAGAIN       11  /* nothing can move now; wait for an event */
#define UNISEC_ENOMEM       12  /* out of memory (guest allocator) */
#define UNISEC_EINVAL       22  /* malformed request */
#define UNISEC_EMFILE       24  /* the tender's stream table is full */
#define UNISEC_EPIPE        32  /* the peer closed; writing is over */
#define UNISEC_ENOSYS       38  /* no such hypercall */
#define UNISEC_EMSGSIZE     90  /* buffer too small (the needed size is returned) */
#define UNISEC_ECONNRESET   104 /* connection reset by peer */
#define UNISEC_ENOTCONN     107 /* connect still in progress */
#define UNISEC_ETIMEDOUT    110 /* connect timed out */
#define UNISEC_ECONNREFUSED 111 /* upstream refused the connection */
#define UNISEC_EIO          5   /* any other host-side failure */

/* ---- ELF notes and the manifest ---- */

#define UNISEC_NOTE_NAME     "UNISEC" /* namesz 7, padded to 8 */
#define UNISEC_NOTE_MANIFEST 1u
#define UNISEC_NOTE_TARGET   2u

#define UNISEC_TARGET_HVT 1u
#define UNISEC_TARGET_SPT 2u

struct unisec_target {
    uint32_t abi_version; /* UNISEC_ABI_VERSION */
    uint32_t target;      /* UNISEC_TARGET_* */
};

enum unisec_device_type {
    UNISEC_DEV_END = 0,      /* terminates the list */
    UNISEC_DEV_LISTEN = 1,   /* a TCP port the tender listens on; streams are accepted */
    UNISEC_DEV_UPSTREAM = 2, /* a named TCP destination the guest may connect to */
    UNISEC_DEV_POLICY = 3,   /* the policy channel: versioned blobs in, acks out */
    UNISEC_DEV_PDP = 4,      /* a stream to the policy decision point (pull mode) */
    UNISEC_DEV_TLS = 5,      /* the TLS server credentials, taken once (UNISEC_HC_TLS_CREDS) */
};

#define UNISEC_DEVICE_NAME_MAX 32 /* bytes, NUL included; [a-z0-9_-], non-empty */
#define UNISEC_MANIFEST_MAX    16 /* devices per image */

struct unisec_device {
    uint32_t type;     /* enum unisec_device_type */
    uint32_t reserved; /* 0 */
    char name[UNISEC_DEVICE_NAME_MAX];
};

/* A device is named by its index in dev[]; names are unique within the manifest. */
struct unisec_manifest {
    uint32_t abi_version; /* UNISEC_ABI_VERSION */
    uint32_t reserved;    /* 0 */
    struct unisec_device dev[UNISEC_MANIFEST_MAX];
};

/* ---- the rules region ----
 *
 * Every image ends, in memory, with a read-only PT_LOAD segment holding the section
 * UNISEC_RULES_SECTION (guest/libos/unisec.ld): a struct unisec_rules and LEN bytes after it
 * (an internal PDP's compiled rules, contract/acl_blob.h, and after the blob, at the next
 * 8-byte boundary, nothing or a patch over it, contract/acl_patch.h: common/acl_patch.h,
 * engine_acl_region_split(); 24 bytes in, so 8-byte aligned),
 * whose CRC-32C (common/crc32c.h) the header holds: the guest checks the rules by it, not by
 * the blob's SHA-256 again (41 MB at a million rules; the builder took the blob from the
 * compiler that sealed it). Linked code holds the header alone (LEN 0, CRC32C 0); the builder makes
 * an image by appending a header and the rules to the file and pointing that segment at them,
 * without relinking (builder/README.md). Being the last segment, it ends where the heap begins: a
 * guest reads LEN bytes only when they end at or before the boot info's heap_start (libos_rules()).
 */
#define UNISEC_RULES_MAGIC   "UNIRULES" /* 8 bytes, no NUL */
#define UNISEC_RULES_SECTION ".unisec_rules"

struct unisec_rules {
    uint8_t magic[8];  /* UNISEC_RULES_MAGIC */
    uint64_t len;      /* bytes that follow; 0 in linked code */
    uint32_t crc32c;   /* of those bytes */
    uint32_t reserved; /* 0 */
};

/* An ELF note as laid out in the image: header, name padded to 4, descriptor. */
#define UNISEC_NOTE(desc_type)                                                                     \
    struct {                                                                                       \
        uint32_t namesz, descsz, type;                                                             \
        char name[8];                                                                              \
        desc_type desc;                                                                            \
    }

/* ---- boot ---- */

#define UNISEC_BOOT_MAGIC 0x554e4953u /* "UNIS" */
#define UNISEC_SEED_LEN   32
#define UNISEC_HVT_CANARY 0x28ull /* hvt: guest address of the stack protector's canary */
/* The tender copied the rules region (the header at the start of the image's last segment in
 * memory, and its LEN bytes) into guest memory and summed the bytes as it wrote them: they
 * have the header's CRC-32C, and the guest need not pass over them again (libos_rules()). The
 * tender is the guest's host (it writes all of guest memory before the guest runs), and the
 * CRC-32C guards against a damaged file, not against whoever can rewrite it: the guest trusts
 * its tender's sum as it trusts its tender's copy. Without the flag (spt maps those pages from
 * the file and never reads them; a sum that differs) the guest sums them itself. */
#define UNISEC_BOOT_RULES_SUMMED 1u

struct unisec_boot_info {
    uint32_t magic;         /* UNISEC_BOOT_MAGIC */
    uint32_t abi_version;   /* UNISEC_ABI_VERSION */
    uint64_t mem_lo;        /* guest memory is [mem_lo, mem_hi) */
    uint64_t mem_hi;        /* the command line, the boot info, the mailbox, the stack below */
    uint64_t heap_start;    /* first free byte after the image, page aligned */
    uint64_t heap_end;      /* end of the heap: UNISEC_STACK_SIZE and more below mem_hi */
    uint64_t cmdline;       /* guest address of the NUL-terminated boot arguments */
    uint64_t spt_hypercall; /* spt: host function to call; hvt: 0 */
    uint64_t tsc_khz;       /* TSC frequency if the tender knows it, else 0 */
    /* The clocks of UNISEC_HC_CLOCK, read just before the tender entered the guest. */
    uint64_t monotonic_ns;
    uint64_t wall_ns;
    /* x86 instruction sets the guest may use, as CPUID would report them: leaf 1 ECX and EDX,
     * leaf 7 (subleaf 0) EBX. hvt: the host's user-mode ones (SSE to SSE4.2, AES, SHA...),
     * which the vCPU's own CPUID does not list (its leaves 1 to 7 read as zeros); spt: the
     * host's, which CPUID reports too. */
    uint32_t cpuid1_ecx;
    uint32_t cpuid1_edx;
    uint32_t cpuid7_ebx;
    uint32_t flags; /* UNISEC_BOOT_* */
    /* Fresh random bytes for this instance alone (see "Secrets" above). */
    uint8_t seed[UNISEC_SEED_LEN];
    /* Guest address of the mailbox (struct unisec_mailbox, 64-byte aligned, on a cache line
     * of its own just below the boot info), or 0: see "The mailbox" above. */
    uint64_t mailbox;
};

#define UNISEC_MAILBOX_IDLE   0u /* free: the guest may post */
#define UNISEC_MAILBOX_POSTED 1u /* the guest posted ARG */
#define UNISEC_MAILBOX_TAKEN  2u /* the tender serves it */
#define UNISEC_MAILBOX_DONE   3u /* served: the argument struct holds the result */

/* The longest a POLL served from the mailbox waits (the guest spins meanwhile). */
#define UNISEC_MAILBOX_WAIT_NS 50000ull
/* How long the tender watches the mailbox after a POLL it served or a kick. */
#define UNISEC_MAILBOX_SPIN_NS 200000ull

struct unisec_mailbox {
    uint32_t state; /* UNISEC_MAILBOX_*: the guest sets POSTED, the tender TAKEN and DONE */
    uint32_t arg;   /* guest address of a struct unisec_hc_poll (guest memory is below 4 GiB) */
    uint32_t want;  /* the guest: watch the mailbox after my next exit (1) or not (0) */
    uint32_t idle;  /* the tender, with DONE: the wait ended at UNISEC_MAILBOX_WAIT_NS, idle */
};

/* ---- hypercalls ---- */

enum unisec_hypercall {
    UNISEC_HC_CONSOLE = 1,     /* struct unisec_hc_console */
    UNISEC_HC_CLOCK = 2,       /* struct unisec_hc_clock */
    UNISEC_HC_POLL = 3,        /* struct unisec_hc_poll: stream I/O and waiting */
    UNISEC_HC_CONNECT = 4,     /* struct unisec_hc_connect */
    UNISEC_HC_POLICY_RECV = 5, /* struct unisec_hc_policy_recv */
    UNISEC_HC_POLICY_ACK = 6,  /* struct unisec_hc_policy_ack */
    UNISEC_HC_HALT = 7,        /* struct unisec_hc_halt */
    UNISEC_HC_TLS_CREDS = 8,   /* struct unisec_hc_tls_creds */
    UNISEC_HC_COUNT
};

/* Writes DATA[0..LEN) to the console. ret: 0. */
struct unisec_hc_console {
    uint64_t data; /* guest address */
    uint64_t len;
    int64_t ret;
};

/* ret: 0; monotonic_ns counts from an arbitrary origin, wall_ns from the Unix epoch. */
struct unisec_hc_clock {
    uint64_t monotonic_ns;
    uint64_t wall_ns;
    int64_t ret;
};

enum unisec_op {
    UNISEC_OP_ACCEPT = 1, /* handle: a listening device's index */
    UNISEC_OP_RECV = 2,   /* handle: a stream; buf, len: the buffer lent */
    UNISEC_OP_WRITE = 3,  /* handle: a stream; buf, len: the bytes to send */
    UNISEC_OP_CLOSE = 4,  /* handle: a stream */
};

struct unisec_sqe {
    uint32_t op; /* enum unisec_op */
    uint32_t handle;
    uint64_t buf; /* guest address */
    uint64_t len;
};

#define UNISEC_AF_INET  4
#define UNISEC_AF_INET6 6

struct unisec_addr {
    uint16_t family; /* UNISEC_AF_INET or UNISEC_AF_INET6 */
    uint16_t port;   /* host byte order */
    uint8_t addr[16];
};

enum unisec_event_kind {
    UNISEC_EV_STREAM = 1,   /* readiness of stream HANDLE: flags */
    UNISEC_EV_POLICY = 3,   /* handle: the policy device; a blob is pending */
    UNISEC_EV_ACCEPTED = 4, /* handle: the new stream; res: the listening device; peer */
    UNISEC_EV_RECV = 5,     /* a RECV on HANDLE completed: res bytes, 0 end, or -error */
    UNISEC_EV_SENT = 6,     /* a WRITE on HANDLE sent res bytes (or failed: -error) */
};

#define UNISEC_EV_READ  1u /* readable (only reported for a stream with no RECV lent) */
#define UNISEC_EV_WRITE 2u /* writable again, or a connect completed */
#define UNISEC_EV_HUP   4u /* the peer closed or reset */
#define UNISEC_EV_ERR   8u /* an error is pending: the next RECV or WRITE returns it */

struct unisec_event {
    uint32_t kind;   /* enum unisec_event_kind */
    uint32_t handle; /* see the kind */
    uint32_t flags;  /* UNISEC_EV_* for UNISEC_EV_STREAM */
    uint32_t reserved;
    int64_t res;             /* RECV, SENT, ACCEPTED */
    struct unisec_addr peer; /* ACCEPTED */
    uint32_t reserved2;
};

/*
 * First writes CONSOLE[0..CONSOLE_LEN) to the console, as UNISEC_HC_CONSOLE would (so a guest
 * that logs per request needs no exit of its own for it; CONSOLE_LEN 0: nothing). Then
 * performs SQ[0..SQ_COUNT) in order, stopping early when the events array cannot hold their
 * completions (sq_done says how many were performed; the guest resubmits the rest). WRITEs
 * are the exception: those queued since the last ACCEPT or CLOSE are sent together after
 * them, so a RECV may be filled, and complete, before an earlier WRITE's SENT (the two
 * directions of a stream are independent; no CLOSE overtakes a WRITE). Then,
 * unless something the guest must act on already happened, waits until it does or the
 * monotonic clock reaches DEADLINE_NS (0: do not wait; UINT64_MAX: no deadline). Stores up
 * to CAP events at EVENTS. A WRITE that sent everything completes without cutting the wait
 * short. count: events stored; now_ns: the monotonic clock on return. ret: 0.
 * A RECV or WRITE naming a closed or stale stream completes with -UNISEC_EBADF; an ACCEPT
 * naming a device that is not a declared listener kills the guest.
 */
struct unisec_hc_poll {
    uint64_t deadline_ns;
    uint64_t sq; /* guest address of struct unisec_sqe[sq_count] */
    uint32_t sq_count;
    uint32_t sq_done;
    uint64_t events; /* guest address of struct unisec_event[cap] */
    uint32_t cap;
    uint32_t count;
    uint64_t now_ns;
    uint64_t console; /* guest address of console output, CONSOLE_LEN bytes */
    uint64_t console_len;
    int64_t ret;
};

/*
 * Starts a connection to upstream or PDP device DEVICE. ret: 0 and handle set, or an
 * immediate failure (-UNISEC_ECONNREFUSED, -UNISEC_EMFILE...). The stream reports a WRITE
 * event once connected; a failure later completes its RECV with the reason.
 */
struct unisec_hc_connect {
    uint32_t device;
    uint32_t handle;
    int64_t ret;
};

/*
 * Takes the pending policy blob: copies it to BUF (8-byte aligned, CAP bytes). ret: 0 and
 * len set; -UNISEC_ENOENT when none is pending; -UNISEC_EMSGSIZE with len set to the size
 * needed (the blob stays pending). The tender never interprets the blob.
 */
struct unisec_hc_policy_recv {
    uint64_t buf;
    uint64_t cap;
    uint64_t len;
    int64_t ret;
};

/*
 * Answers the last blob taken: STATUS 0 accepts it as VERSION; a negative UNISEC_E* value
 * refuses it, with REASON[0..REASON_LEN) (at most 256 bytes) saying why. ret: 0.
 */
#define UNISEC_REASON_MAX 256
struct unisec_hc_policy_ack {
    uint64_t version;
    int32_t status;
    uint32_t reason_len;
    uint64_t reason; /* guest address */
    int64_t ret;
};

/*
 * Takes the TLS credentials (contract/tls_creds.h) of the image's TLS device: copies them to
 * BUF (CAP bytes). ret: 0 and len set; -UNISEC_EMSGSIZE with len set to the size needed (they
 * stay); -UNISEC_ENOENT once they were taken: the tender erased its copy. A guest that
 * declares no TLS device is killed.
 */
struct unisec_hc_tls_creds {
    uint64_t buf;
    uint64_t cap;
    uint64_t len;
    int64_t ret;
};

/* Ends the guest; STATUS (0..255) becomes the tender's exit status. Does not return. */
struct unisec_hc_halt {
    int32_t status;
    uint32_t reserved;
};

#endif
