/*
 * control.h — the messages between a supervisor (supervisor_thread.c) and a tender
 * (tender_control.c) on the control socket (`unisec-tender --control-fd N`, one end of a
 * stream socket pair on one host), in the spirit of OpenBSD's imsg: each message is a
 * header (its type and the length of its payload, host byte order) and the payload.
 *
 *     type          from          payload           meaning
 *     CTL_PING      supervisor    struct ctl_seq    N > 0: answer with PONG N
 *     CTL_DRAIN     supervisor    none              stop accepting, finish the accepted
 *                                                   streams, then end
 *     CTL_READY     tender        none              the guest waits for events for the
 *                                                   first time
 *     CTL_PONG      tender        struct ctl_seq    answer to PING N, at the guest's next POLL
 *     CTL_DRAINING  tender        struct ctl_count  listeners closed; N accepted streams open
 *     CTL_DRAINED   tender        none              none left: the tender ends with status 0
 *
 * The receiving side keeps a table of handlers by type (struct ctl_handler), each with the
 * payload lengths it takes; ctl_read() refuses a message of a type its table lacks, or
 * whose length that type does not take, before any handler sees it. The policy socket
 * (--policy-fd) is not this: its frames and answer lines are `unisec run`'s documented
 * interface (tender_policy.c).
 */
#ifndef UNISEC_RUNTIME_CONTROL_H
#define UNISEC_RUNTIME_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ctl_type {
    CTL_PING = 1,
    CTL_DRAIN = 2,
    CTL_READY = 3,
    CTL_PONG = 4,
    CTL_DRAINING = 5,
    CTL_DRAINED = 6,
    CTL_TYPES
};

struct ctl_hdr {
    uint32_t type; /* enum ctl_type */
    uint32_t len;  /* payload bytes after the header */
};

struct ctl_seq {
    uint64_t n;
};

struct ctl_count {
    uint32_t n;
};

/* The longest payload any side accepts: a longer message is refused and skipped. */
#define CTL_PAYLOAD_MAX 56
#define CTL_MSG_MAX     (sizeof(struct ctl_hdr) + CTL_PAYLOAD_MAX)

/* How a receiver takes one type: payloads of MIN to MAX (<= CTL_PAYLOAD_MAX) bytes go to
 * FN, which returns 0, or a negative errno to refuse the message (a value it cannot take). */
struct ctl_handler {
    uint32_t min, max;
    int (*fn)(void *ctx, const void *payload, uint32_t len);
};

/* A receiver's buffer: what has arrived of the next messages. Zero it before use. */
struct ctl_in {
    uint8_t buf[CTL_MSG_MAX];
    size_t have;
    uint64_t skip; /* bytes still to come of a refused message longer than BUF */
};

/*
 * Reads what FD (non-blocking) has ready into IN and hands each whole message to its
 * handler in TABLE (NTYPES entries, indexed by type; fn NULL: a type this side refuses),
 * with CTX. Returns 1 once FD has nothing more for now, 0 at its end or on a read error,
 * or -EPROTO at a refused message, whose header goes to *REFUSED: it is skipped, and
 * calling again goes on after it.
 */
int ctl_read(int fd, struct ctl_in *in, const struct ctl_handler *table, uint32_t ntypes, void *ctx,
             struct ctl_hdr *refused);

/* Writes one message of TYPE with LEN (<= CTL_PAYLOAD_MAX) bytes of PAYLOAD to FD in one
 * write. Returns what write returned, or -1 with errno EMSGSIZE for a longer payload. */
ssize_t ctl_send(int fd, uint32_t type, const void *payload, uint32_t len);

#endif
