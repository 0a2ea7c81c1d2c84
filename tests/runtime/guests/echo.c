/* echo.c — test guest: echoes every stream on the "echo" listener (a client sending "quit"
 * stops the guest with status 0, after it prints the most streams it read in one turn of its
 * loop; one sending "kill" makes it break the ABI: a WRITE from outside its memory); with
 * boot argument "connect", instead sends a line to the "up" upstream and prints the answer. */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_LISTEN("echo"), UNISEC_UPSTREAM("up"));

struct echo_conn {
    char buf[16384];
    size_t have, sent;
    unsigned messages; /* reads that returned data */
};

static void echo_readable(struct libos_stream *s, void *ctx);
static void echo_writable(struct libos_stream *s, void *ctx);
static const struct libos_stream_ops echo_ops = {echo_readable, echo_writable};

static void echo_close(struct libos_stream *s, struct echo_conn *c)
{
    libos_stream_close(s);
    free(c);
}

/* Flushes what is buffered; then wants to read again. */
static void echo_writable(struct libos_stream *s, void *ctx)
{
    struct echo_conn *c = ctx;
    while (c->sent < c->have) {
        long n = libos_stream_write(s, c->buf + c->sent, c->have - c->sent);
        if (n == -UNISEC_EAGAIN) {
            libos_stream_want(s, LIBOS_WANT_WRITE);
            return;
        }
        if (n < 0) {
            echo_close(s, c);
            return;
        }
        c->sent += (size_t)n;
    }
    c->have = c->sent = 0;
    libos_stream_want(s, LIBOS_WANT_READ);
}

/* The most streams that had a message in one turn of the loop (a turn's POLL returns its
 * clock, which no other turn has), from each stream's second message on: the tender returns
 * a bounded part of a busy keep-alive round per POLL, so that answers leave before the last
 * request of the round is read (a burst of new connections is read as it is accepted). */
static unsigned turn_most, turn_read;
static uint64_t turn_now;

static void echo_count_turn(void)
{
    if (libos_loop_now() != turn_now) {
        turn_now = libos_loop_now();
        turn_read = 0;
    }
    if (++turn_read > turn_most)
        turn_most = turn_read;
}

static void echo_readable(struct libos_stream *s, void *ctx)
{
    struct echo_conn *c = ctx;
    long n = libos_stream_read(s, c->buf, sizeof(c->buf));
    if (n == -UNISEC_EAGAIN)
        return;
    if (n > 0 && c->messages++ > 0)
        echo_count_turn();
    if (n <= 0) {
        echo_close(s, c);
        return;
    }
    if (n == 4 && memcmp(c->buf, "quit", 4) == 0) {
        printf("quit requested; at most %u streams read in one turn\n", turn_most);
        echo_close(s, c);
        libos_loop_stop(0);
        return;
    }
    if (n == 4 && memcmp(c->buf, "kill", 4) == 0) {
        static struct unisec_sqe sq[1] = {{UNISEC_OP_WRITE, 0, 0xfffff000ull, 16}};
        static struct unisec_event ev[4];
        struct unisec_hc_poll a = {
            0, (uint64_t)(uintptr_t)sq, 1, 0, (uint64_t)(uintptr_t)ev, 4, 0, 0, 0};
        libos_hypercall(UNISEC_HC_POLL, &a);
    }
    c->have = (size_t)n;
    c->sent = 0;
    echo_writable(s, c);
}

static void echo_accept(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    char peer[64];
    libos_addr_format(peer, sizeof(peer), libos_stream_peer(s));
    printf("accepted %s\n", peer);
    struct echo_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        libos_stream_close(s);
        return;
    }
    libos_stream_set_ops(s, &echo_ops, c);
}

/* ---- the "connect" mode ---- */

static int up_sent;
static char up_buf[256];
static size_t up_have;

static void up_writable(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    static const char line[] = "hello upstream\n";
    long n = libos_stream_write(s, line, sizeof(line) - 1);
    if (n == -UNISEC_EAGAIN)
        return;
    if (n != (long)sizeof(line) - 1) {
        printf("upstream write failed: %ld\n", n);
        libos_stream_close(s);
        libos_loop_stop(1);
        return;
    }
    up_sent = 1;
    libos_stream_want(s, LIBOS_WANT_READ);
}

static void up_readable(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    long n = libos_stream_read(s, up_buf + up_have, sizeof(up_buf) - 1 - up_have);
    if (n == -UNISEC_EAGAIN)
        return;
    if (n > 0)
        up_have += (size_t)n;
    if (n > 0 && !memchr(up_buf, '\n', up_have) && up_have < sizeof(up_buf) - 1)
        return;
    up_buf[up_have] = 0;
    printf("upstream said: %s", up_buf);
    libos_stream_close(s);
    libos_loop_stop(up_sent && up_have > 0 ? 0 : 1);
}

static const struct libos_stream_ops up_ops = {up_readable, up_writable};

static void echo_tick(struct libos_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    printf("timer fired\n");
}

int libos_main(const char *cmdline)
{
    if (strcmp(cmdline, "connect") == 0) {
        struct libos_stream *s;
        int rc = libos_connect(&s, "up");
        if (rc < 0) {
            printf("connect failed: %d\n", rc);
            return 1;
        }
        libos_stream_set_ops(s, &up_ops, NULL);
        return libos_loop_run();
    }
    static struct libos_timer tick;
    libos_timer_arm(&tick, libos_clock_monotonic() + 1000000, echo_tick, NULL);
    if (libos_listen("echo", echo_accept, NULL) < 0)
        return 1;
    return libos_loop_run();
}
