/*
 * cmd_pdp.c — `unisec pdp`: the daemon's pull PDP (orch_pdp.c) on its own, on a TCP address,
 * answering acl_pep's queries (contract/pdp.h) from a policy directory. SIGHUP
 * compiles the directory again as the next policy version and tells every connected guest to
 * drop its cache; stderr says when every guest has acknowledged it ("policy version N
 * acknowledged by every guest": no answer of an older version comes after it).
 */
#include "orch_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int orch_cmd_pdp_usage(void)
{
    fprintf(stderr, "usage: unisec pdp POLICYDIR --listen [HOST:]PORT [--version N]\n");
    return 2;
}

/* Every policy of DIR compiled at VERSION into *OUT; prints why not on stderr. */
static int orch_cmd_pdp_load(struct orch_blob **out, const char *dir, uint64_t version)
{
    struct engine_acl *a = NULL;
    struct engine_diag d;
    int r;

    engine_diag_init(&d);
    if ((r = engine_acl_new(&a)) == 0 && (r = engine_acl_load_dir(a, dir, &d)) == 0)
        r = orch_policy_compile(out, a, NULL, NULL, version, &d);
    engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    engine_acl_free(a);
    return r;
}

/* Puts B in force and says so on stderr. */
static void orch_cmd_pdp_update(struct orch_pdp *p, struct orch_blob *b, const char *dir)
{
    int r = orch_pdp_update(p, b);

    fprintf(stderr, "pdp: policy version %llu from %s\n", (unsigned long long)b->version, dir);
    if (r == 0)
        fprintf(stderr, "pdp: policy version %llu acknowledged by every guest\n",
                (unsigned long long)b->version);
    else
        fprintf(stderr, "pdp: policy version %llu not acknowledged by every guest in %d ms\n",
                (unsigned long long)b->version, ORCH_PDP_TAKE_MS);
}

int orch_cmd_pdp(int argc, char **argv)
{
    const char *dir = NULL, *listen_at = NULL, *colon, *port;
    char host[64] = "127.0.0.1", *end;
    struct orch_blob *b = NULL;
    struct orch_pdp *p = NULL;
    struct engine_diag d;
    uint64_t version = 1;
    unsigned long n;
    sigset_t mask;
    int sig;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen_at = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            errno = 0;
            version = strtoull(v, &end, 10);
            if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || version == 0) {
                fprintf(stderr, "unisec pdp: --version '%s': a positive number is needed\n", v);
                return 2;
            }
        } else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else
            return orch_cmd_pdp_usage();
    }
    if (dir == NULL || listen_at == NULL)
        return orch_cmd_pdp_usage();
    colon = strrchr(listen_at, ':');
    port = colon ? colon + 1 : listen_at;
    if (colon && (size_t)(colon - listen_at) >= sizeof(host))
        return orch_cmd_pdp_usage();
    if (colon)
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_at), listen_at);
    n = strtoul(port, &end, 10);
    if (*port == '\0' || *end != '\0' || n > 65535)
        return orch_cmd_pdp_usage();
    if (orch_cmd_pdp_load(&b, dir, version) < 0)
        return 1;
    /* SIGHUP is taken with sigwait(), by this thread only: blocked before the PDP's thread
     * starts, which inherits the mask. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    engine_diag_init(&d);
    if (orch_pdp_new(&p, host, (uint16_t)n, &d) < 0) {
        engine_diag_print(&d, stderr);
        engine_diag_free(&d);
        orch_blob_put(b);
        return 1;
    }
    engine_diag_free(&d);
    fprintf(stderr, "pdp: listening on %s:%d\n", host, orch_pdp_port(p));
    orch_cmd_pdp_update(p, b, dir);
    for (;;) {
        struct orch_blob *next = NULL;
        if (sigwait(&mask, &sig) != 0)
            continue;
        if (orch_cmd_pdp_load(&next, dir, b->version + 1) < 0)
            continue; /* the version in force stays */
        orch_blob_put(b);
        b = next;
        orch_cmd_pdp_update(p, b, dir);
    }
}
