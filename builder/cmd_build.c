/* cmd_build.c — `unisec build`: the images of one node of a topology, from its P_UG. */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/tls.h"

enum {
    BUILD_NODE = 0x100,
    BUILD_LEVEL,
    BUILD_TARGET,
    BUILD_POLICY_DIR,
    BUILD_POLICY_VERSION,
    BUILD_CACHE,
};

static const struct option build_opts[] = {
    {.name = "node", .has_arg = required_argument, .val = BUILD_NODE},
    {.name = "level", .has_arg = required_argument, .val = BUILD_LEVEL},
    {.name = "target", .has_arg = required_argument, .val = BUILD_TARGET},
    {.name = "policy-dir", .has_arg = required_argument, .val = BUILD_POLICY_DIR},
    {.name = "policy-version", .has_arg = required_argument, .val = BUILD_POLICY_VERSION},
    {.name = "cache", .has_arg = required_argument, .val = BUILD_CACHE},
    {.name = "jobs", .has_arg = required_argument, .val = 'j'},
    {.name = "output", .has_arg = required_argument, .val = 'o'},
    {0},
};

/* Most compilers run at once (-j). */
#define BUILD_JOBS_MAX 256

/* Where the topology is (its directory), the last certificate read for the pins, and the one
 * before it in the history of the store the topology is the work tree of (none: no store). */
struct build_certs {
    const char *dir;
    char *pem, *prev;
    size_t len;
};

/* The certificate before PEM (LEN bytes) of NODE in the history of the store whose work tree
 * BC's directory is (main's, as the daemon pins it after a restart); none for a directory
 * that is no store. What it passes over is said on standard error. */
static char *build_cert_before(struct build_certs *bc, const char *node, size_t *len)
{
    struct engine_store *s = NULL;
    struct engine_diag warn;
    char *prev = NULL;
    if (engine_store_open_repo(&s, bc->dir, NULL) < 0)
        return NULL;
    engine_diag_init(&warn);
    engine_tls_cert_before(s, NULL, node, bc->pem, bc->len, (int64_t)time(NULL), &prev, len, &warn);
    for (size_t i = 0; i < warn.n; i++)
        fprintf(stderr, "unisec build: warning: %s: %s\n", warn.v[i].file ? warn.v[i].file : "",
                warn.v[i].msg);
    engine_diag_free(&warn);
    engine_store_free(s);
    return prev;
}

/* tls/NODE/cert beside the topology (engine_tls_pins()'s CERT, I = 0: a load balancer's
 * backend), and the one before it in the store's history (I = 1). */
static int build_cert(void *arg, const char *node, size_t i, const char **pem, size_t *len)
{
    struct build_certs *bc = arg;
    char *path = NULL;
    if (i > 1 || (i == 1 && bc->pem == NULL))
        return -1;
    if (i == 1) {
        free(bc->prev);
        bc->prev = build_cert_before(bc, node, len);
        *pem = bc->prev;
        return bc->prev == NULL ? -1 : 0;
    }
    free(bc->pem);
    bc->pem = NULL;
    if (asprintf(&path, "%s/tls/%s/cert", bc->dir, node) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;
    free(path);
    if (fd >= 0) {
        r = engine_read_fd(fd, 256u << 10, 4096, &bc->pem, len);
        close(fd);
    }
    if (r < 0 || *len > (256u << 10)) {
        free(bc->pem);
        bc->pem = NULL;
        return -1;
    }
    *pem = bc->pem;
    bc->len = *len;
    return 0;
}

/* Gives tls_upstream's `pins` in MODS (N modules) each backend's key: *HELD the new text. */
static int build_pins(struct builder_module *mods, size_t n, struct build_certs *bc, char **held,
                      struct engine_diag *d)
{
    for (size_t m = 0; m < n; m++)
        for (size_t k = 0; strcmp(mods[m].name, "tls_upstream") == 0 && k < mods[m].nprops; k++) {
            struct builder_prop *p = (struct builder_prop *)&mods[m].props[k];
            if (strcmp(p->name, "pins") != 0)
                continue;
            if (engine_tls_pins(p->value, build_cert, bc, (int64_t)time(NULL), held, d) < 0)
                return -ENOMEM;
            p->value = *held;
        }
    return 0;
}

static double build_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* The compiled rules of POLICY for an internal PDP, from the policy directory DIR. */
static int build_blob(void **blob, size_t *len, const char *dir, const char *policy,
                      uint64_t version, struct engine_diag *d)
{
    struct engine_acl *a = NULL;
    int r = engine_acl_new(&a);
    if (r == 0)
        r = engine_acl_load_dir(a, dir, d);
    if (r == 0 && !engine_acl_has_policy(a, policy))
        r = engine_diag_add(d, dir, 0, 0,
                            "the policy directory has no rule of policy '%s' (an internal PDP "
                            "would deny everything)",
                            policy);
    if (r == 0 && (r = engine_acl_compile(blob, len, a, policy, version)) < 0)
        engine_diag_add(d, dir, 0, 0, "cannot compile policy '%s': %s", policy, strerror(-r));
    engine_acl_free(a);
    return r;
}

int builder_cmd_build(int argc, char **argv)
{
    const char *file = NULL, *node = NULL, *level = NULL, *target_name = "hvt", *out = NULL;
    const char *policy_dir = NULL, *cache = NULL;
    uint64_t version = 0, jobs = 0;
    struct engine_cmd c = {
        .name = "unisec build",
        .usage = "unisec build TOPOLOGY|- --node=NODE [--level=LEVEL] [--target=hvt|spt]\n"
                 "         [--policy-dir=DIR] [--policy-version=N] [--cache=DIR] [-j JOBS] -o DIR",
        .shorts = "j:o:",
        .longs = build_opts};
    int opt;
    struct engine_diag d;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    struct builder *b = NULL;
    struct builder_spec specs[16];
    struct builder_module *mods[16] = {0};
    struct builder_prop *props[16] = {0};
    struct builder_result res[16];
    void *blobs[16] = {0};
    char *pins[16] = {0}, *tdir = NULL;
    struct build_certs bc = {0};
    size_t n = 0;
    char *dir_copy = NULL, *pdir = NULL;
    enum engine_target target;
    int status = 1;

    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        switch (opt) {
        case BUILD_NODE:
            node = optarg;
            break;
        case BUILD_LEVEL:
            level = optarg;
            break;
        case BUILD_TARGET:
            target_name = optarg;
            break;
        case BUILD_POLICY_DIR:
            policy_dir = optarg;
            break;
        case BUILD_POLICY_VERSION:
            if (engine_cmd_u64(&c, "--policy-version", optarg, 0, UINT64_MAX, &version) < 0)
                return ENGINE_CMD_USAGE;
            break;
        case BUILD_CACHE:
            cache = optarg;
            break;
        case 'j':
            if (engine_cmd_u64(&c, "-j", optarg, 1, BUILD_JOBS_MAX, &jobs) < 0)
                return ENGINE_CMD_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            return ENGINE_CMD_USAGE;
        }
    }
    if (engine_cmd_operand(&c, argc, argv, "TOPOLOGY", &file) != 0)
        return ENGINE_CMD_USAGE;
    if (file == NULL || node == NULL || out == NULL)
        return engine_cmd_usage(&c, "expected TOPOLOGY (or - for standard input), --node=NODE "
                                    "and -o DIR");
    if (engine_target_parse(&target, target_name) < 0) {
        return engine_cmd_usage(&c, "--target '%s': expected hvt or spt", target_name);
    }

    engine_diag_init(&d);
    if (engine_cmd_topology_load(&c, &t, file, &d) < 0 ||
        engine_topology_derive(&x, t, NULL, target, &d) < 0)
        goto cleanup;
    const struct engine_topology_plan *plan = engine_topology_derived_find(x, node);
    if (plan == NULL) {
        engine_diag_add(&d, file, 0, 0, "no node '%s' in the topology", node);
        goto cleanup;
    }
    if (policy_dir == NULL) {
        /* Beside the topology file, as in mount-examples/ (standard input: here). */
        if ((dir_copy = strdup(strcmp(file, "-") == 0 ? "./-" : file)) == NULL ||
            asprintf(&pdir, "%s/policy", dirname(dir_copy)) < 0)
            goto cleanup;
        policy_dir = pdir;
    }
    if ((tdir = strdup(strcmp(file, "-") == 0 ? "./-" : file)) == NULL)
        goto cleanup;
    bc.dir = dirname(tdir);
    if (plan->nimages > 16) {
        engine_diag_add(&d, file, 0, 0, "node %s has more than 16 levels", node);
        goto cleanup;
    }
    for (size_t i = 0; i < plan->nimages; i++) {
        const struct engine_topology_image *im = &plan->images[i];
        if (level && strcmp(level, im->level) != 0)
            continue;
        struct builder_spec *s = &specs[n];
        size_t np = 0;
        for (size_t m = 0; m < im->nmodules; m++)
            np += im->modules[m].nparams;
        mods[n] = calloc(im->nmodules ? im->nmodules : 1, sizeof(*mods[n]));
        props[n] = calloc(np ? np : 1, sizeof(*props[n]));
        if (mods[n] == NULL || props[n] == NULL)
            goto cleanup;
        np = 0;
        for (size_t m = 0; m < im->nmodules; m++) {
            const struct engine_topology_module *tm = &im->modules[m];
            mods[n][m] = (struct builder_module){
                .name = tm->name, .nprops = tm->nparams, .props = &props[n][np]};
            for (size_t k = 0; k < tm->nparams; k++)
                props[n][np++] = (struct builder_prop){.name = tm->params[k].name,
                                                       .value = tm->params[k].value,
                                                       .secret = tm->params[k].secret};
        }
        if (build_pins(mods[n], im->nmodules, &bc, &pins[n], &d) < 0)
            goto cleanup;
        *s = (struct builder_spec){.node = plan->node,
                                   .level = im->level,
                                   .target = target_name,
                                   .nmodules = im->nmodules,
                                   .modules = mods[n]};
        if (im->pdp == ENGINE_PDP_INTERNAL &&
            build_blob(&blobs[n], &s->acl_len, policy_dir, im->policy, version, &d) < 0)
            goto cleanup;
        s->acl_blob = blobs[n];
        s->acl_own = blobs[n] != NULL; /* compiled here */
        n++;
    }
    if (n == 0) {
        engine_diag_add(&d, file, 0, 0, "node %s declares no level '%s'", node, level);
        goto cleanup;
    }

    struct builder_options bo = {.cache_dir = cache, .jobs = (unsigned)jobs};
    struct timespec t0, t1;
    if (builder_new(&b, &bo, &d) < 0)
        goto cleanup;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = builder_build(b, specs, n, out, res, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t i = 0; i < n; i++)
        if (res[i].status == 0 && res[i].dir)
            printf("%s %s %s %s %s %zu bytes %s/image\n", specs[i].node, specs[i].level,
                   specs[i].target, res[i].id, res[i].cached ? "cached" : "built", res[i].size,
                   res[i].dir);
    fprintf(stderr, "unisec build: %zu image%s in %.1f ms\n", n, n == 1 ? "" : "s",
            build_ms(&t0, &t1));
    builder_results_free(res, n);
    status = r < 0 ? 1 : 0;

cleanup:
    engine_diag_print(&d, stderr);
    if (d.oom)
        fprintf(stderr, "unisec build: out of memory\n");
    engine_diag_free(&d);
    for (size_t i = 0; i < 16; i++) {
        free(mods[i]);
        free(props[i]);
        free(blobs[i]);
        free(pins[i]);
    }
    free(bc.pem);
    free(bc.prev);
    free(tdir);
    builder_free(b);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    free(dir_copy);
    free(pdir);
    return status;
}
