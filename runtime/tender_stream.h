/*
 * tender_stream.h — the tender's stream table: one slot per open stream (an accepted or an
 * upstream connection), named to the guest by a handle, the slot's generation in the high 16
 * bits and its number in the low 16 (contract/abi.h).
 *
 * Taking and releasing a slot costs the same however many are open: the free slots wait in a
 * ring, least recently released first, so a burst of a thousand accepts is a thousand steps,
 * not a scan of the table for each. The order is also what keeps handles apart: a released
 * slot is taken again only after every slot that was free before it (at once only when it is
 * the last free one), and its generation is bumped on release, so a handle names one stream
 * only. It recurs only after its slot has served 65,536 streams; a guest forgets a handle in
 * the POLL that closes it (guest/libos/loop.c), and a slot is taken at most once per POLL for
 * each CLOSE the guest queued, so no reference to the old stream can reach the new one.
 * tender_net.c owns the table and the sockets; this part knows no descriptor beyond its
 * number.
 */
#ifndef UNISEC_RUNTIME_TENDER_STREAM_H
#define UNISEC_RUNTIME_TENDER_STREAM_H

#include <stdint.h>

struct tender_stream {
    int fd;                  /* -1 when the slot is free */
    uint16_t gen;            /* bumped on release, so a stale handle never matches */
    uint8_t inbound;         /* accepted from a listener (counted in t->ninbound) */
    uint8_t rx_ready;        /* not read dry since its last read edge */
    uint8_t rx_hup;          /* the peer's end or an error was reported: reads never block */
    int tx_blocked;          /* a WRITE could not send everything: report the next WRITE edge */
    int rx_lent;             /* the guest lent a RECV buffer: */
    uint64_t rx_buf, rx_len; /* its guest address and size, checked when lent */
};

struct tender_streams {
    struct tender_stream *slot; /* N slots */
    uint32_t *ring;             /* the free slots' numbers, from HEAD, COUNT of them */
    uint32_t n, head, count;
};

/* Sets up N (1 to UNISEC_STREAMS_MAX) free slots. Returns 0 or -ENOMEM (then *ST is empty,
 * and tender_streams_fini() may still be called). */
int tender_streams_init(struct tender_streams *st, uint32_t n);

/* Frees the table; closes nothing (the owner closes the open slots' descriptors first). */
void tender_streams_fini(struct tender_streams *st);

/* The handle slot S would be named by now. */
uint32_t tender_stream_handle(const struct tender_streams *st, const struct tender_stream *s);

/* The slot free the longest, or NULL when every slot is open. It stays free until
 * tender_stream_open(): a caller that fails in between leaves the table as it was. */
struct tender_stream *tender_stream_next(const struct tender_streams *st);

/* Opens the slot tender_stream_next() returns (there is one) with descriptor FD (>= 0), its
 * other fields reset: ready to be read, nothing lent or blocked. Returns it. */
struct tender_stream *tender_stream_open(struct tender_streams *st, int fd);

/* The open slot HANDLE names, or NULL (a free slot, another generation, out of range). */
struct tender_stream *tender_stream_of(const struct tender_streams *st, uint32_t handle);

/* Frees open slot S: its descriptor is forgotten (the caller closed it), its generation bumped,
 * and it goes to the back of the free ring. */
void tender_stream_release(struct tender_streams *st, struct tender_stream *s);

#endif
