/* creds.c — test guest of the TLS device: takes the TLS credentials the tender hands it,
 * prints what they hold (sizes, never bytes) and whether a second take is refused, then waits
 * for connections on "http" and closes each (so a supervisor sees it ready), or with the boot
 * argument "once" exits with 0. Exits with 3 when there are none, 4 when they are malformed. */
#include "common/tls_creds.h"
#include "libos.h"

UNISEC_MANIFEST(UNISEC_LISTEN("http"), UNISEC_TLS("tls"));

static void creds_accept(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    libos_stream_close(s);
}

int libos_main(const char *cmdline)
{
    void *blob, *again;
    size_t len, len2;
    struct tls_creds cr;
    const char *why;
    int e = libos_tls_creds_take(&blob, &len);
    if (e < 0) {
        printf("creds: none (%d)\n", e);
        return 3;
    }
    if (tls_creds_parse(blob, len, &cr, &why) < 0) {
        printf("creds: malformed: %s\n", why);
        return 4;
    }
    printf("creds: %zu bytes, key type %u, %u certificate(s), %s\n", len, cr.key_type, cr.ncerts,
           libos_tls_creds_take(&again, &len2) == -UNISEC_ENOENT ? "taken once" : "TAKEN TWICE");
    libos_wipe(blob, len);
    free(blob);
    if (strcmp(cmdline, "once") == 0)
        return 0;
    if (libos_listen("http", creds_accept, NULL) < 0)
        return 5;
    return libos_loop_run();
}
