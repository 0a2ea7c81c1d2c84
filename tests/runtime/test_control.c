/*
 * test_control.c — the control socket's messages (runtime/control.h): whole messages reach
 * their handler however the stream splits them; a message of a type the receiver does not
 * take, of a length its type does not take, longer than any, or with a value its handler
 * refuses is refused and skipped, and what follows it still arrives; the end of the stream
 * is told apart from "nothing more for now".
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/control.h"

/* What the handlers saw, in order: type * 1000 + the payload's value (or its length). */
static struct {
    uint64_t got[16];
    int n;
} seen;

static int on_ping(void *ctx, const void *payload, uint32_t len)
{
    struct ctl_seq q;
    (void)ctx, (void)len;
    memcpy(&q, payload, sizeof(q));
    if (q.n == 0)
        return -EINVAL;
    seen.got[seen.n++] = CTL_PING * 1000 + q.n;
    return 0;
}

static int on_drain(void *ctx, const void *payload, uint32_t len)
{
    (void)ctx, (void)payload;
    seen.got[seen.n++] = CTL_DRAIN * 1000 + len;
    return 0;
}

static const struct ctl_handler table[CTL_TYPES] = {
    [CTL_PING] = {sizeof(struct ctl_seq), sizeof(struct ctl_seq), on_ping},
    [CTL_DRAIN] = {0, 0, on_drain},
};

static int sv[2];

static int setup(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(sv[0]);
    close(sv[1]);
    return 0;
}

static void put(const void *p, size_t n)
{
    assert_int_equal(write(sv[0], p, n), (ssize_t)n);
}

static void put_msg(uint32_t type, uint32_t len, const void *payload)
{
    struct ctl_hdr h = {type, len};
    put(&h, sizeof(h));
    if (len)
        put(payload, len);
}

static void test_control_split(void **state)
{
    (void)state;
    struct ctl_in in;
    struct ctl_hdr bad;
    memset(&in, 0, sizeof(in));
    /* Two messages, the first in three pieces across reads. */
    uint8_t buf[2 * CTL_MSG_MAX];
    struct ctl_hdr h = {CTL_PING, sizeof(struct ctl_seq)};
    struct ctl_seq q = {42};
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), &q, sizeof(q));
    put(buf, 3);
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 1);
    assert_int_equal(seen.n, 0);
    put(buf + 3, 7);
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 1);
    assert_int_equal(seen.n, 0);
    put(buf + 10, sizeof(h) + sizeof(q) - 10);
    put_msg(CTL_DRAIN, 0, NULL);
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 1);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.got[0], CTL_PING * 1000 + 42);
    assert_int_equal(seen.got[1], CTL_DRAIN * 1000);

    /* ctl_send writes what ctl_read takes. */
    q.n = 7;
    assert_int_equal(ctl_send(sv[0], CTL_PING, &q, sizeof(q)), sizeof(h) + sizeof(q));
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 1);
    assert_int_equal(seen.got[2], CTL_PING * 1000 + 7);
    uint8_t big[CTL_PAYLOAD_MAX + 1] = {0};
    errno = 0;
    assert_int_equal(ctl_send(sv[0], CTL_PING, big, sizeof(big)), -1);
    assert_int_equal(errno, EMSGSIZE);

    /* The end of the stream. */
    close(sv[0]);
    sv[0] = -1;
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 0);
}

/* Each refused message is reported once and skipped; the message after it arrives. */
static void test_control_refused(void **state)
{
    (void)state;
    struct ctl_in in;
    struct ctl_hdr bad;
    memset(&in, 0, sizeof(in));
    struct ctl_seq zero = {0}, one = {1};
    uint8_t junk[3 * CTL_MSG_MAX];
    memset(junk, 0xab, sizeof(junk));
    put_msg(CTL_READY, 0, NULL);            /* a type this side does not take */
    put_msg(CTL_TYPES + 5, 4, junk);        /* a type nobody knows */
    put_msg(CTL_DRAIN, 4, junk);            /* a length its type does not take */
    put_msg(CTL_PING, 0, NULL);             /* too short */
    put_msg(CTL_PING, sizeof(zero), &zero); /* a value the handler refuses */
    put_msg(CTL_DRAIN, sizeof(junk), junk); /* longer than the buffer: skipped across reads */
    put_msg(CTL_PING, sizeof(one), &one);
    static const uint32_t want[][2] = {
        {CTL_READY, 0}, {CTL_TYPES + 5, 4},       {CTL_DRAIN, 4},
        {CTL_PING, 0},  {CTL_PING, sizeof(zero)}, {CTL_DRAIN, sizeof(junk)},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        memset(&bad, 0, sizeof(bad));
        assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), -EPROTO);
        assert_int_equal(bad.type, want[i][0]);
        assert_int_equal(bad.len, want[i][1]);
        assert_int_equal(seen.n, 0);
    }
    assert_int_equal(ctl_read(sv[1], &in, table, CTL_TYPES, NULL, &bad), 1);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.got[0], CTL_PING * 1000 + 1);
    assert_int_equal(in.have, 0);
    assert_int_equal(in.skip, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
