/* tender.c — the guest of bench/tender: "boot" makes its first hypercall at once and exits;
 * "exits N" times N clock hypercalls; otherwise it echoes every stream on "bench" until a
 * client sends "quit". */
#include "libos.h"

UNISEC_MANIFEST(UNISEC_LISTEN("bench"));

struct bench_conn {
    char buf[65536];
    size_t have, sent;
};

static void bench_readable(struct libos_stream *s, void *ctx);
static void bench_writable(struct libos_stream *s, void *ctx);
static const struct libos_stream_ops bench_ops = {bench_readable, bench_writable};

static void bench_writable(struct libos_stream *s, void *ctx)
{
    struct bench_conn *c = ctx;
    while (c->sent < c->have) {
        long n = libos_stream_write(s, c->buf + c->sent, c->have - c->sent);
        if (n == -UNISEC_EAGAIN) {
            libos_stream_want(s, LIBOS_WANT_WRITE);
            return;
        }
        if (n < 0) {
            libos_stream_close(s);
            free(c);
            return;
        }
        c->sent += (size_t)n;
    }
    c->have = c->sent = 0;
    libos_stream_want(s, LIBOS_WANT_READ);
}

static void bench_readable(struct libos_stream *s, void *ctx)
{
    struct bench_conn *c = ctx;
    long n = libos_stream_read(s, c->buf, sizeof(c->buf));
    if (n == -UNISEC_EAGAIN)
        return;
    if (n <= 0 || (n == 4 && memcmp(c->buf, "quit", 4) == 0)) {
        if (n == 4)
            libos_loop_stop(0);
        libos_stream_close(s);
        free(c);
        return;
    }
    c->have = (size_t)n;
    c->sent = 0;
    bench_writable(s, c);
}

static void bench_accept(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    struct bench_conn *c = malloc(sizeof(*c));
    if (c == NULL) {
        libos_stream_close(s);
        return;
    }
    c->have = c->sent = 0;
    libos_stream_set_ops(s, &bench_ops, c);
}

int libos_main(const char *cmdline)
{
    if (strcmp(cmdline, "boot") == 0) {
        struct unisec_hc_console a = {(uint64_t)(uintptr_t) "b\n", 2, 0};
        libos_hypercall(UNISEC_HC_CONSOLE, &a);
        return 0;
    }
    if (strncmp(cmdline, "exits ", 6) == 0) {
        unsigned long n = strtoul(cmdline + 6, NULL, 10);
        uint64_t t0 = libos_clock_monotonic();
        for (unsigned long i = 0; i < n; i++)
            libos_clock_monotonic();
        uint64_t t1 = libos_clock_monotonic();
        printf("exits %lu %llu\n", n, (unsigned long long)(t1 - t0));
        return 0;
    }
    if (libos_listen("bench", bench_accept, NULL) < 0)
        return 1;
    return libos_loop_run();
}
