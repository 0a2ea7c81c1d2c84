/*
 * cmd_pdp.c — `unisec pdp`: the daemon's pull PDP (orch_pdp.c) on its own, on a TCP address,
 * answering acl_pep's queries (contract/pdp.h) from a policy directory. SIGHUP
 * compiles the directory again as the next policy version and tells every connected guest to
 * drop its cache; stderr says when every guest has acknowledged it ("policy version N
 * acknowledged by every guest": no answer of an older version comes after it).
 */
#include "orch_int.h"
#include "runtime/tender.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ORCH_CMD_PDP_LISTEN = 0x100, ORCH_CMD_PDP_VERSION, ORCH_CMD_PDP_OLD_VERSION };

static const struct option orch_cmd_pdp_opts[] = {
    {.name = "listen", .has_arg = required_argument, .val = ORCH_CMD_PDP_LISTEN},
    {.name = "policy-version", .has_arg = required_argument, .val = ORCH_CMD_PDP_VERSION},
    /* The spelling of the release before; it goes in the next one. */
    {.name = "version", .has_arg = required_argument, .val = ORCH_CMD_PDP_OLD_VERSION},
    {0},
};

/* Every policy of DIR compiled at VERSION into *OUT; prints why not on stderr. */
static int orch_cmd_pdp_load(struct orch_blob **out, const char *dir, uint64_t version)
{
    struct engine_acl *a = NULL;
    struct engine_diag d;
    int r;

    engine_diag_init(&d);
    if ((r = engine_acl_new(&a)) == 0 && (r = engine_acl_load_dir(a, dir, &d)) == 0)
        r = orch_policy_compile(out, &(struct orch_desired){.acl = a}, NULL, NULL, 1, version, &d);
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
    const char *dir = NULL, *listen_at = NULL, *port;
    char host[64] = "127.0.0.1";
    struct orch_blob *b = NULL;
    struct orch_pdp *p = NULL;
    struct engine_diag d;
    uint64_t version = 1;
    long n;
    sigset_t mask;
    int sig, opt;
    struct engine_cmd c = {.name = "unisec pdp",
                           .usage =
                               "unisec pdp POLICYDIR --listen=[HOST:]PORT [--policy-version=N]",
                           .longs = orch_cmd_pdp_opts};

    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        switch (opt) {
        case ORCH_CMD_PDP_LISTEN:
            listen_at = optarg;
            break;
        case ORCH_CMD_PDP_OLD_VERSION:
            engine_cmd_alias(&c, "--version N", "--policy-version N");
            /* fall through */
        case ORCH_CMD_PDP_VERSION:
            if (engine_cmd_u64(&c, "--policy-version", optarg, 1, UINT64_MAX, &version) < 0)
                return ENGINE_CMD_USAGE;
            break;
        default:
            return ENGINE_CMD_USAGE;
        }
    }
    if (engine_cmd_operand(&c, argc, argv, "POLICYDIR", &dir) != 0)
        return ENGINE_CMD_USAGE;
    if (dir == NULL || listen_at == NULL)
        return engine_cmd_usage(&c, "expected POLICYDIR and --listen=[HOST:]PORT");
    if ((port = tender_addr_split(listen_at, host, sizeof(host))) == NULL ||
        (n = tender_port_parse(port)) < 0)
        return engine_cmd_usage(&c, "--listen '%s': expected [HOST:]PORT, PORT from 0 to 65535",
                                listen_at);
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
