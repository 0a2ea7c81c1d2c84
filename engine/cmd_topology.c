/* cmd_topology.c — `unisec check` and `unisec translate`: the topology on the command line. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cmd_topo_args {
    enum engine_target target;
    const char *file;
    const char *outdir;
};

/* Parses [--target hvt|spt] FILE [-o DIR]; WANT_OUT says whether -o DIR is required. */
static int cmd_topo_parse(int argc, char **argv, int want_out, struct cmd_topo_args *a)
{
    const char *usage = want_out ? "usage: unisec translate [--target hvt|spt] FILE -o DIR\n"
                                 : "usage: unisec check [--target hvt|spt] FILE\n";

    memset(a, 0, sizeof(*a));
    a->target = ENGINE_TARGET_HVT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
            if (engine_target_parse(&a->target, argv[++i]) < 0) {
                fprintf(stderr, "unisec %s: --target '%s': expected hvt or spt\n%s", argv[0],
                        argv[i], usage);
                return -EINVAL;
            }
        } else if (strcmp(argv[i], "-o") == 0 && want_out && i + 1 < argc) {
            a->outdir = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "unisec %s: unknown option '%s'\n%s", argv[0], argv[i], usage);
            return -EINVAL;
        } else if (a->file == NULL) {
            a->file = argv[i];
        } else {
            fprintf(stderr, "unisec %s: one FILE at a time ('%s' is a second)\n%s", argv[0],
                    argv[i], usage);
            return -EINVAL;
        }
    }
    if (a->file == NULL || (want_out && a->outdir == NULL)) {
        fprintf(stderr, "unisec %s: expected %s\n%s", argv[0], a->file ? "-o DIR" : "FILE", usage);
        return -EINVAL;
    }
    return 0;
}

/* When a policy/ directory is beside FILE, checks that it holds every policy T names. */
static int cmd_topo_policies(const char *file, const struct engine_topology *t,
                             struct engine_diag *d)
{
    char *dir = NULL, *slash;
    struct engine_acl *acl = NULL;
    struct stat st;
    int r = 0;

    if ((slash = strrchr(file, '/')) == NULL)
        r = asprintf(&dir, "policy");
    else
        r = asprintf(&dir, "%.*s/policy", (int)(slash - file), file);
    if (r < 0)
        return -ENOMEM;
    r = 0;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((r = engine_acl_new(&acl)) == 0 && (r = engine_acl_load_dir(acl, dir, d)) == 0)
            r = engine_topology_check_policies(t, acl, d);
    }
    engine_acl_free(acl);
    free(dir);
    return r;
}

/* Loads and derives; prints every error. Returns 0, 1 (invalid) or 2 (cannot run). */
static int cmd_topo_run(const struct cmd_topo_args *a, struct engine_topology **t,
                        struct engine_topology_derived **x)
{
    struct engine_diag d;
    int r;

    engine_diag_init(&d);
    if ((r = engine_topology_load_file(t, a->file, &d)) == 0 &&
        (r = engine_topology_derive(x, *t, NULL, a->target, &d)) == 0)
        r = cmd_topo_policies(a->file, *t, &d);
    engine_diag_print(&d, stderr);
    engine_diag_free(&d);
    if (r == -ENOMEM)
        fprintf(stderr, "unisec: out of memory\n");
    return r == 0 ? 0 : 1;
}

int engine_cmd_check(int argc, char **argv)
{
    struct cmd_topo_args a;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    size_t levels = 0, images = 0;
    int rc;

    if (cmd_topo_parse(argc, argv, 0, &a) < 0)
        return 2;
    if ((rc = cmd_topo_run(&a, &t, &x)) != 0)
        goto cleanup;
    for (size_t i = 0; i < engine_topology_derived_count(x); i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(x, i);
        levels += p->nimages;
        for (size_t l = 0; l < p->nimages; l++)
            images += p->images[l].nmodules > 0;
    }
    printf("%s: valid (%s): %zu node%s, %zu node level%s, %zu unikernel image%s, enforceable "
           "on %s\n",
           a.file, engine_topology_version(t), engine_topology_node_count(t),
           engine_topology_node_count(t) == 1 ? "" : "s", levels, levels == 1 ? "" : "s", images,
           images == 1 ? "" : "s", engine_target_name(a.target));
cleanup:
    engine_topology_derived_free(x);
    engine_topology_free(t);
    return rc;
}

/* Writes LEN bytes of BUF to DIR/NAME through a temporary file and a rename. */
static int cmd_topo_write(const char *dir, const char *name, const char *buf, size_t len)
{
    char *path = NULL, *tmp = NULL;
    FILE *f = NULL;
    int r = -ENOMEM;

    if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
        goto cleanup;
    r = 0;
    if ((f = fopen(tmp, "w")) == NULL || fwrite(buf, 1, len, f) != len || fflush(f) != 0)
        r = -errno;
    if (f != NULL && fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0) {
        fprintf(stderr, "unisec translate: %s: %s\n", path, strerror(-r));
        unlink(tmp);
    }
cleanup:
    free(path);
    free(tmp);
    return r;
}

int engine_cmd_translate(int argc, char **argv)
{
    struct cmd_topo_args a;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    int rc;

    if (cmd_topo_parse(argc, argv, 1, &a) < 0)
        return 2;
    if ((rc = cmd_topo_run(&a, &t, &x)) != 0)
        goto cleanup;
    rc = 1;
    if (mkdir(a.outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "unisec translate: %s: %s\n", a.outdir, strerror(errno));
        goto cleanup;
    }
    for (int k = 0; k < ENGINE_ARTIFACT_COUNT; k++) {
        size_t len;
        const char *text = engine_topology_derived_artifact(x, k, &len);
        if (cmd_topo_write(a.outdir, engine_topology_artifact_name(k), text, len) < 0)
            goto cleanup;
        printf("%s/%s\n", a.outdir, engine_topology_artifact_name(k));
    }
    rc = 0;
cleanup:
    engine_topology_derived_free(x);
    engine_topology_free(t);
    return rc;
}
