/*
 * test_stream.c — the tender's stream table (runtime/tender_stream.h) against a simple model:
 * random sequences of opens and releases, on tables of 1 to 4,096 slots, each step checked.
 * The model scans every slot where the table takes its ring's head: the slot taken is the one
 * free the longest, its handle its generation (the releases it has seen, modulo 65,536) and
 * its number, every open handle names its stream and no other, and a released handle names
 * none. And a handle recurs only after its slot has served 65,536 streams.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "contract/abi.h"
#include "runtime/tender_stream.h"

struct model {
    uint32_t n;
    int open[UNISEC_STREAMS_MAX];          /* the descriptor given, or -1 */
    uint64_t freed_at[UNISEC_STREAMS_MAX]; /* the step that released it (slot order at first) */
    uint64_t releases[UNISEC_STREAMS_MAX];
    uint32_t handle[UNISEC_STREAMS_MAX]; /* of the open stream */
    uint32_t stale[64], nstale;          /* handles released lately */
    uint64_t stale_serves[64];           /* their slot's releases when released */
};

static uint64_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Checks every slot's lookup, and the stale handles, against the model. */
static void check_all(const struct tender_streams *st, const struct model *m)
{
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        if (m->open[i] < 0) {
            nfree++;
            continue;
        }
        const struct tender_stream *s = tender_stream_of(st, m->handle[i]);
        assert_ptr_equal(s, &st->slot[i]);
        assert_int_equal(s->fd, m->open[i]);
        assert_int_equal(tender_stream_handle(st, s), m->handle[i]);
    }
    assert_int_equal(st->count, nfree);
    for (uint32_t k = 0; k < m->nstale; k++) {
        uint32_t h = m->stale[k], slot = h & 0xffff;
        if (m->open[slot] >= 0 && m->handle[slot] == h)
            continue; /* its slot served 65,536 streams since: checked at the open */
        assert_null(tender_stream_of(st, h));
    }
}

static void open_one(struct tender_streams *st, struct model *m, uint64_t step)
{
    uint32_t want = UINT32_MAX;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->open[i] < 0 && (want == UINT32_MAX || m->freed_at[i] < m->freed_at[want]))
            want = i;
    struct tender_stream *s = tender_stream_next(st);
    if (want == UINT32_MAX) {
        assert_null(s);
        return;
    }
    assert_ptr_equal(s, &st->slot[want]);
    assert_ptr_equal(tender_stream_next(st), s); /* a peek changes nothing */
    int fd = (int)(step % 100000) + 3;
    uint32_t h = tender_stream_handle(st, s);
    assert_ptr_equal(tender_stream_open(st, fd), s);
    assert_int_equal(h, (uint32_t)(m->releases[want] % 65536) << 16 | want);
    assert_int_equal(s->fd, fd);
    assert_int_equal(s->rx_ready, 1);
    assert_int_equal(s->rx_lent, 0);
    assert_int_equal(s->tx_blocked, 0);
    for (uint32_t k = 0; k < m->nstale; k++)
        if (m->stale[k] == h)
            assert_true(m->releases[want] + 1 - m->stale_serves[k] >= 65536);
    m->open[want] = fd;
    m->handle[want] = h;
    s->rx_lent = 1; /* dirtied as tender_net.c would: the next open must reset it */
    s->tx_blocked = 1;
}

static void release_one(struct tender_streams *st, struct model *m, uint32_t pick, uint64_t step)
{
    uint32_t nopen = 0, slot = UINT32_MAX;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->open[i] >= 0 && nopen++ == pick % (m->n ? m->n : 1))
            slot = i;
    if (slot == UINT32_MAX)
        for (uint32_t i = 0; i < m->n && slot == UINT32_MAX; i++)
            if (m->open[i] >= 0)
                slot = i;
    if (slot == UINT32_MAX)
        return;
    tender_stream_release(st, tender_stream_of(st, m->handle[slot]));
    m->open[slot] = -1;
    m->freed_at[slot] = step;
    m->releases[slot]++;
    m->stale[m->nstale % 64] = m->handle[slot];
    m->stale_serves[m->nstale % 64] = m->releases[slot];
    m->nstale = m->nstale < 64 ? m->nstale + 1 : 64;
}

/* STEPS random operations on a table of N slots; opens are chosen with probability BIAS/256
 * (below 128 the table tends to empty, above to fill). */
static void run_model(uint32_t n, uint64_t steps, uint32_t bias, uint64_t seed)
{
    static struct model m;
    struct tender_streams st;
    assert_int_equal(tender_streams_init(&st, n), 0);
    m = (struct model){.n = n};
    for (uint32_t i = 0; i < n; i++) {
        m.open[i] = -1;
        m.freed_at[i] = i;
    }
    rng_state = seed;
    for (uint64_t step = n; step < n + steps; step++) {
        uint32_t r = rng();
        if ((r & 0xff) < bias)
            open_one(&st, &m, step);
        else
            release_one(&st, &m, r >> 8, step);
        if (n <= 64 || step % 257 == 0)
            check_all(&st, &m);
    }
    check_all(&st, &m);
    tender_streams_fini(&st);
}

static void test_stream_random_against_model(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {1, 2, 3, 8, 64, 1000, UNISEC_STREAMS_MAX};
    static const uint32_t biases[] = {64, 128, 192, 250};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t b = 0; b < sizeof(biases) / sizeof(biases[0]); b++) {
            uint64_t seed = 0x9e3779b97f4a7c15ull ^ (i << 8 | b);
            run_model(sizes[i], sizes[i] > 64 ? 40000 : 20000, biases[b], seed);
        }
}

/* One slot reused again and again: its handle comes back only at its 65,536th stream. */
static void test_stream_generation_wraps_late(void **state)
{
    (void)state;
    run_model(1, 3 * 65536 * 2 + 10, 128, 7);
    struct tender_streams st;
    assert_int_equal(tender_streams_init(&st, 2), 0);
    uint32_t first = tender_stream_handle(&st, tender_stream_open(&st, 3));
    tender_stream_release(&st, tender_stream_of(&st, first));
    /* the other slot, free longer, is taken first; then the released one, a new generation */
    uint32_t other = tender_stream_handle(&st, tender_stream_open(&st, 4));
    assert_int_equal(other & 0xffff, 1);
    uint32_t again = tender_stream_handle(&st, tender_stream_open(&st, 5));
    assert_int_equal(again & 0xffff, 0);
    assert_int_not_equal(again, first);
    assert_null(tender_stream_of(&st, first));
    assert_null(tender_stream_next(&st)); /* full */
    for (uint32_t k = 1; k < 65536; k++) {
        struct tender_stream *s = tender_stream_of(&st, again);
        assert_non_null(s);
        tender_stream_release(&st, s);
        again = tender_stream_handle(&st, tender_stream_open(&st, 5));
        if (k < 65535)
            assert_int_not_equal(again, first);
    }
    assert_int_equal(again, first); /* the 65,536th stream of slot 0 */
    tender_streams_fini(&st);
}

static void test_stream_bounds(void **state)
{
    (void)state;
    struct tender_streams st;
    assert_int_equal(tender_streams_init(&st, 0), -EINVAL);
    assert_int_equal(tender_streams_init(&st, UNISEC_STREAMS_MAX + 1), -EINVAL);
    tender_streams_fini(&st);
    assert_int_equal(tender_streams_init(&st, 4), 0);
    assert_null(tender_stream_of(&st, 0)); /* free */
    assert_null(tender_stream_of(&st, 4)); /* past the table */
    assert_null(tender_stream_of(&st, 0xffffffffu));
    uint32_t h = tender_stream_handle(&st, tender_stream_open(&st, 3));
    assert_non_null(tender_stream_of(&st, h));
    assert_null(tender_stream_of(&st, h | 4));       /* another slot number, same generation */
    assert_null(tender_stream_of(&st, h + 0x10000)); /* a later generation */
    tender_streams_fini(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_random_against_model),
        cmocka_unit_test(test_stream_generation_wraps_late),
        cmocka_unit_test(test_stream_bounds),
    };
    return cmocka_run_group_tests_name("tender_stream", tests, NULL, NULL);
}
