/* web.c — test guest for the supervisor: a minimal HTTP responder on the "http" listener
 * that answers every request with "NAME policy=V\n" (NAME its first boot argument, V the
 * version of the last policy blob it accepted, 0 before any) and closes the connection.
 * Blobs on its policy channel are validated like a PEP would, and a blob whose version is 0
 * is refused. The second boot argument picks a misbehaviour:
 *     crash       exits with status 3 a tenth of a second after it starts serving
 *     never       never waits for events (so never becomes ready)
 *     slow        answers each request 200 ms after reading it
 *   and a request for /hang makes the loop spin forever (a hung instance). */
#include "libos.h"

#include "common/acl_lookup.h"
#include "common/acl_patch.h"

UNISEC_MANIFEST(UNISEC_LISTEN("http"), UNISEC_POLICY("policy"));

static const char *web_name = "web";
static int web_slow;
static uint64_t web_version;

struct web_conn {
    char in[2048];
    size_t have;
    char out[256];
    size_t len, sent;
    int answered;
    struct libos_timer timer;
    struct libos_stream *s;
};

static void web_readable(struct libos_stream *s, void *ctx);
static void web_writable(struct libos_stream *s, void *ctx);
static const struct libos_stream_ops web_ops = {web_readable, web_writable};

static void web_close(struct web_conn *c)
{
    libos_timer_disarm(&c->timer);
    libos_stream_close(c->s);
    free(c);
}

static void web_writable(struct libos_stream *s, void *ctx)
{
    struct web_conn *c = ctx;
    while (c->sent < c->len) {
        long n = libos_stream_write(s, c->out + c->sent, c->len - c->sent);
        if (n == -UNISEC_EAGAIN) {
            libos_stream_want(s, LIBOS_WANT_WRITE);
            return;
        }
        if (n < 0) {
            web_close(c);
            return;
        }
        c->sent += (size_t)n;
    }
    web_close(c);
}

static void web_answer(struct web_conn *c)
{
    char body[96];
    int blen =
        snprintf(body, sizeof(body), "%s policy=%llu\n", web_name, (unsigned long long)web_version);
    c->len = (size_t)snprintf(c->out, sizeof(c->out),
                              "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n"
                              "\r\n%s",
                              blen, body);
    web_writable(c->s, c);
}

static void web_timer(struct libos_timer *t, void *ctx)
{
    (void)t;
    web_answer(ctx);
}

static void web_readable(struct libos_stream *s, void *ctx)
{
    struct web_conn *c = ctx;
    if (c->answered) {
        char sink[256];
        long n = libos_stream_read(s, sink, sizeof(sink));
        if (n == 0 || (n < 0 && n != -UNISEC_EAGAIN))
            web_close(c);
        return;
    }
    long n = libos_stream_read(s, c->in + c->have, sizeof(c->in) - 1 - c->have);
    if (n == -UNISEC_EAGAIN)
        return;
    if (n <= 0) {
        web_close(c);
        return;
    }
    c->have += (size_t)n;
    c->in[c->have] = 0;
    if (strstr(c->in, "\r\n\r\n") == NULL && c->have < sizeof(c->in) - 1)
        return;
    c->answered = 1;
    if (strncmp(c->in, "GET /hang ", 10) == 0)
        for (;;)
            __asm__ __volatile__("" ::: "memory");
    libos_stream_want(s, 0);
    if (web_slow)
        libos_timer_arm(&c->timer, libos_loop_now() + 200000000ull, web_timer, c);
    else
        web_answer(c);
}

static void web_accept(struct libos_stream *s, void *ctx)
{
    (void)ctx;
    struct web_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        libos_stream_close(s);
        return;
    }
    c->s = s;
    libos_stream_set_ops(s, &web_ops, c);
}

/* The blob in force (kept: a patch applies over it) and the patch over it, if any. */
static void *web_blob, *web_patch;
static struct engine_acl_blob web_b;

static void web_policy(void *ctx)
{
    (void)ctx;
    void *blob;
    size_t len;
    if (libos_policy_take(&blob, &len) < 0)
        return;
    struct engine_acl_blob b;
    struct engine_acl_patch p;
    const char *why = "";
    int patch = engine_acl_is_patch(blob, len), rc;
    uint64_t v = 0;
    if (patch && web_blob == NULL) {
        rc = -UNISEC_EINVAL;
        why = "a patch, but no blob";
    } else if (patch) {
        rc = engine_acl_patch_open(&p, blob, len, &web_b, web_version, &why);
        v = rc == 0 ? p.hdr->version : 0;
    } else {
        rc = engine_acl_blob_open(&b, blob, len, &why);
        v = rc == 0 ? b.hdr->policy_version : 0;
    }
    if (rc == 0 && v == 0) {
        rc = -UNISEC_EINVAL;
        why = "version 0 is refused by this test guest";
    }
    if (rc == 0) {
        web_version = v;
        printf("%s: policy v%llu in force%s\n", web_name, (unsigned long long)web_version,
               patch ? " (a patch)" : "");
        libos_policy_ack(web_version);
        free(patch ? web_patch : web_blob);
        free(patch ? NULL : web_patch);
        if (!patch) {
            web_blob = blob;
            web_b = b;
            web_patch = NULL;
        } else {
            web_patch = blob;
        }
    } else {
        printf("%s: policy refused: %s\n", web_name, why);
        /* A patch is refused by the version it claims, as the acl_pep does. */
        libos_policy_refuse(patch && len >= sizeof(struct engine_acl_patch_header)
                                ? ((const struct engine_acl_patch_header *)blob)->version
                                : 0,
                            rc, why);
        free(blob);
    }
}

static void web_crash(struct libos_timer *t, void *ctx)
{
    (void)t;
    (void)ctx;
    printf("%s: crashing as asked\n", web_name);
    libos_loop_stop(3);
}

int libos_main(const char *cmdline)
{
    static char name[64];
    const char *sp = strchr(cmdline, ' ');
    size_t n = sp ? (size_t)(sp - cmdline) : strlen(cmdline);
    if (n > 0 && n < sizeof(name)) {
        memcpy(name, cmdline, n);
        web_name = name;
    }
    const char *mode = sp ? sp + 1 : "";
    printf("%s: up (%s)\n", web_name, *mode ? mode : "normal");
    if (strcmp(mode, "never") == 0)
        for (;;)
            __asm__ __volatile__("" ::: "memory");
    web_slow = strcmp(mode, "slow") == 0;
    static struct libos_timer crash;
    if (strcmp(mode, "crash") == 0)
        libos_timer_arm(&crash, libos_clock_monotonic() + 100000000ull, web_crash, NULL);
    if (libos_listen("http", web_accept, NULL) < 0 ||
        libos_policy_watch("policy", web_policy, NULL) < 0)
        return 1;
    return libos_loop_run();
}
