/* tender_stream.c — the stream table (tender_stream.h): slots taken from a ring of the free
 * ones, least recently released first. */
#include "tender_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "contract/abi.h"

int tender_streams_init(struct tender_streams *st, uint32_t n)
{
    *st = (struct tender_streams){0};
    if (n == 0 || n > UNISEC_STREAMS_MAX)
        return -EINVAL;
    st->slot = calloc(n, sizeof(*st->slot));
    st->ring = calloc(n, sizeof(*st->ring));
    if (st->slot == NULL || st->ring == NULL) {
        tender_streams_fini(st);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        st->slot[i].fd = -1;
        st->ring[i] = i;
    }
    st->n = st->count = n;
    return 0;
}

void tender_streams_fini(struct tender_streams *st)
{
    free(st->slot);
    free(st->ring);
    *st = (struct tender_streams){0};
}

uint32_t tender_stream_handle(const struct tender_streams *st, const struct tender_stream *s)
{
    return (uint32_t)s->gen << 16 | (uint32_t)(s - st->slot);
}

struct tender_stream *tender_stream_next(const struct tender_streams *st)
{
    return st->count ? &st->slot[st->ring[st->head]] : NULL;
}

struct tender_stream *tender_stream_open(struct tender_streams *st, int fd)
{
    struct tender_stream *s = &st->slot[st->ring[st->head]];
    st->head = st->head + 1 == st->n ? 0 : st->head + 1;
    st->count--;
    uint16_t gen = s->gen;
    *s = (struct tender_stream){.fd = fd, .gen = gen, .rx_ready = 1};
    return s;
}

struct tender_stream *tender_stream_of(const struct tender_streams *st, uint32_t handle)
{
    uint32_t slot = handle & 0xffff;
    if (slot >= st->n || st->slot[slot].fd < 0 || st->slot[slot].gen != handle >> 16)
        return NULL;
    return &st->slot[slot];
}

void tender_stream_release(struct tender_streams *st, struct tender_stream *s)
{
    uint32_t tail = st->head + st->count;
    st->ring[tail >= st->n ? tail - st->n : tail] = (uint32_t)(s - st->slot);
    st->count++;
    s->fd = -1;
    s->gen++;
    s->inbound = 0;
    s->rx_lent = 0;
}
