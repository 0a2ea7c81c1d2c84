/* ports.c — test guest of --port's choice: declares the listening devices "admin", "http" and
 * "https" in that order (or, built with PORTS_NO_FRONT, "admin" and "metrics": no front),
 * accepts on each and closes every connection. */
#include "libos.h"

#ifdef PORTS_NO_FRONT
UNISEC_MANIFEST(UNISEC_LISTEN("admin"), UNISEC_LISTEN("metrics"));
static const char *const ports_names[] = {"admin", "metrics"};
#else
UNISEC_MANIFEST(UNISEC_LISTEN("admin"), UNISEC_LISTEN("http"), UNISEC_LISTEN("https"));
static const char *const ports_names[] = {"admin", "http", "https"};
#endif

static void ports_accept(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    libos_stream_close(s);
}

int libos_main(const char *cmdline)
{
    (void)cmdline;
    for (size_t i = 0; i < sizeof(ports_names) / sizeof(ports_names[0]); i++)
        if (libos_listen(ports_names[i], ports_accept, NULL) < 0)
            return 5;
    return libos_loop_run();
}
