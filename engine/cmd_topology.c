/* cmd_topology.c — `unisec check` and `unisec translate`: the topology on the command line. */
#include "engine.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "contract/tls_creds.h"

struct cmd_topo_args {
    struct engine_cmd cmd;
    enum engine_target target;
    const char *file;
    const char *outdir;
    const char *policy_dir; /* NULL: the policy/ directory beside FILE, if any */
    int json;
    int certs; /* check: the TLS certificates beside FILE too */
    /* Values for the template's inputs, as `unisec init` takes them: --inputs FILE (NULL:
     * none) with each --input NAME=VALUE of assign[0..nassign) set in it (argv's). */
    const char *inputs;
    char **assign;
    size_t nassign;
};

enum { CMD_TOPO_TARGET = 0x100, CMD_TOPO_POLICY_DIR, CMD_TOPO_JSON, CMD_TOPO_INPUTS };

static const struct option cmd_topo_opts[] = {
    {.name = "target", .has_arg = required_argument, .val = CMD_TOPO_TARGET},
    {.name = "policy-dir", .has_arg = required_argument, .val = CMD_TOPO_POLICY_DIR},
    {.name = "json", .has_arg = no_argument, .val = CMD_TOPO_JSON},
    {.name = "output", .has_arg = required_argument, .val = 'o'},
    {.name = "input", .has_arg = required_argument, .val = 'i'},
    {.name = "inputs", .has_arg = required_argument, .val = CMD_TOPO_INPUTS},
    {0},
};

/* Parses check's or translate's options into A, whose ASSIGN has room for ARGC --input values;
 * WANT_OUT says whether -o DIR is required (and --json refused). Returns 0 or ENGINE_CMD_USAGE
 * (message printed). */
static int cmd_topo_parse(int argc, char **argv, int want_out, struct cmd_topo_args *a)
{
    char **assign = a->assign;
    int opt;

    memset(a, 0, sizeof(*a));
    a->assign = assign;
    a->cmd = (struct engine_cmd){
        .name = want_out ? "unisec translate" : "unisec check",
        .usage = want_out ? "unisec translate [--target=hvt|spt] [--policy-dir=DIR] "
                            "[--input=NAME=VALUE]... [--inputs=FILE] FILE|- -o DIR"
                          : "unisec check [--target=hvt|spt] [--policy-dir=DIR] [--json] "
                            "[--input=NAME=VALUE]... [--inputs=FILE] FILE|-",
        .shorts = want_out ? "o:i:" : "i:",
        .longs = cmd_topo_opts,
    };
    a->target = ENGINE_TARGET_HVT;
    while ((opt = engine_cmd_next(&a->cmd, argc, argv)) != -1) {
        switch (opt) {
        case CMD_TOPO_TARGET:
            if (engine_target_parse(&a->target, optarg) < 0)
                return engine_cmd_usage(&a->cmd, "--target '%s': expected hvt or spt", optarg);
            break;
        case CMD_TOPO_POLICY_DIR:
            a->policy_dir = optarg;
            break;
        case CMD_TOPO_JSON:
            if (want_out)
                return engine_cmd_usage(&a->cmd, "--json is for unisec check");
            a->json = 1;
            break;
        case 'i':
            a->assign[a->nassign++] = optarg;
            break;
        case CMD_TOPO_INPUTS:
            a->inputs = optarg;
            break;
        case 'o':
            if (!want_out)
                return engine_cmd_usage(&a->cmd, "-o is for unisec translate");
            a->outdir = optarg;
            break;
        default:
            return ENGINE_CMD_USAGE;
        }
    }
    if (engine_cmd_operand(&a->cmd, argc, argv, "FILE", &a->file) != 0)
        return ENGINE_CMD_USAGE;
    if (a->file == NULL)
        return engine_cmd_usage(&a->cmd, "expected FILE (or - for standard input)");
    if (want_out && a->outdir == NULL)
        return engine_cmd_usage(&a->cmd, "expected -o DIR");
    if (a->inputs != NULL && strcmp(a->inputs, "-") == 0 && strcmp(a->file, "-") == 0)
        return engine_cmd_usage(&a->cmd, "--inputs - and FILE - both want standard input");
    return 0;
}

/* FILE as messages name it. */
static const char *cmd_topo_shown(const struct cmd_topo_args *a)
{
    return strcmp(a->file, "-") == 0 ? ENGINE_CMD_STDIN_NAME : a->file;
}

int engine_cmd_topology_load(const struct engine_cmd *c, struct engine_topology **t,
                             const char *path, struct engine_diag *d)
{
    return engine_cmd_topology_load_given(c, t, path, NULL, d);
}

int engine_cmd_topology_load_given(const struct engine_cmd *c, struct engine_topology **t,
                                   const char *path, const struct engine_topology_given *given,
                                   struct engine_diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    int r;

    struct engine_csar *csar = NULL;

    if (strcmp(path, "-") != 0 && !engine_csar_is_archive(path))
        return engine_topology_load_file_given(t, path, given, d);
    if (strcmp(path, "-") != 0)
        r = engine_csar_open(&csar, path, d);
    else if ((r = engine_cmd_read(c, path, ENGINE_CMD_STDIN_MAX, &buf, &len)) < 0)
        return r;
    else if (engine_csar_is_zip(buf, len))
        r = engine_csar_open_buffer(&csar, buf, len, ENGINE_CMD_STDIN_NAME, d);
    else
        r = engine_topology_load_inputs(t, buf, len, ENGINE_CMD_STDIN_NAME, ".",
                                        given ? given->text : NULL, given ? given->len : 0,
                                        given ? given->name : NULL, d);
    if (r == 0 && csar != NULL)
        r = engine_topology_load_csar_given(t, csar, given, d);
    engine_csar_free(csar);
    free(buf);
    return r;
}

/* PATH beside FILE (in FILE's directory): *OUT, caller frees. */
static int cmd_topo_beside(const char *file, const char *path, char **out)
{
    const char *slash = strrchr(file, '/');
    int r = slash ? asprintf(out, "%.*s/%s", (int)(slash - file), file, path)
                  : asprintf(out, "%s", path);
    return r < 0 ? -ENOMEM : 0;
}

/* Checks that the policy directory holds every policy T names: --policy-dir DIR (which must
 * exist), else the policy/ directory beside FILE when there is one (none for standard input). */
static int cmd_topo_policies(const struct cmd_topo_args *a, const struct engine_topology *t,
                             struct engine_diag *d)
{
    const char *file = a->file;
    char *dir = NULL;
    struct engine_acl *acl = NULL;
    struct stat st;
    int r = 0;

    if (a->policy_dir != NULL)
        r = asprintf(&dir, "%s", a->policy_dir) < 0 ? -ENOMEM : 0;
    else if (strcmp(file, "-") == 0)
        return 0;
    else
        r = cmd_topo_beside(file, "policy", &dir);
    if (r < 0)
        return -ENOMEM;
    r = 0;
    if (a->policy_dir != NULL && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        r = engine_diag_add(d, dir, 0, 0, "--policy-dir: not a directory");
    else if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((r = engine_acl_new(&acl)) == 0 && (r = engine_acl_load_dir(acl, dir, d)) == 0)
            r = engine_topology_check_policies(t, acl, d);
    }
    engine_acl_free(acl);
    free(dir);
    return r;
}

/* A node with a level that requires TLS needs its certificate chain, valid now, in
 * tls/NODE/cert beside FILE (none for standard input). */
static int cmd_topo_certs(const char *file, const struct engine_topology_derived *x,
                          struct engine_diag *d)
{
    int r = 0;
    if (strcmp(file, "-") == 0)
        return 0;
    for (size_t i = 0; i < engine_topology_derived_count(x) && r != -ENOMEM; i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(x, i);
        size_t l = 0;
        while (l < p->nimages && !p->images[l].tls)
            l++;
        if (l == p->nimages)
            continue;
        char *rel = NULL, *path = NULL, buf[UNISEC_TLS_CREDS_MAX];
        if (asprintf(&rel, "tls/%s/cert", p->node) < 0 || cmd_topo_beside(file, rel, &path) < 0) {
            free(rel);
            return -ENOMEM;
        }
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            r = engine_diag_add(d, file, 0, 0,
                                "node %s, level %s: a confidentiality function requires TLS, and "
                                "the node has no certificate (%s: %s)",
                                p->node, p->images[l].level, path, strerror(errno));
        } else {
            size_t n = fread(buf, 1, sizeof(buf), f);
            struct engine_tls_input in = {
                .cert = buf, .cert_len = n, .cert_name = path, .now = (int64_t)time(NULL)};
            fclose(f);
            int e = engine_tls_check(&in, NULL, NULL, NULL, d);
            if (e < 0)
                r = e;
        }
        free(rel);
        free(path);
    }
    return r;
}

/* The values --inputs and --input give, as `unisec init` makes its store's inputs.yaml, into
 * *TEXT (caller frees; NULL when neither is given). 0, -EINVAL (in D, or printed: the file
 * could not be read), -ENOMEM. */
static int cmd_topo_given(const struct cmd_topo_args *a, char **text, size_t *len,
                          struct engine_diag *d)
{
    char *file = NULL;
    size_t flen = 0;
    int r;

    *text = NULL;
    *len = 0;
    if (a->inputs == NULL && a->nassign == 0)
        return 0;
    if (a->inputs != NULL &&
        (r = engine_cmd_read(&a->cmd, a->inputs, ENGINE_CMD_STDIN_MAX, &file, &flen)) < 0)
        return r == -ENOMEM ? r : -EINVAL;
    r = engine_topology_inputs_text(text, len, file, flen,
                                    a->inputs == NULL             ? "--inputs"
                                    : strcmp(a->inputs, "-") == 0 ? ENGINE_CMD_STDIN_NAME
                                                                  : a->inputs,
                                    a->assign, a->nassign, d);
    free(file);
    return r;
}

/* Loads and derives into D (printed on stderr unless the caller prints it as JSON). Returns
 * 0 or 1 (invalid, or it could not be read). */
static int cmd_topo_run(const struct cmd_topo_args *a, struct engine_topology **t,
                        struct engine_topology_derived **x, struct engine_diag *d)
{
    struct engine_topology_given given = {0};
    char *text = NULL;
    int r;

    if ((r = cmd_topo_given(a, &text, &given.len, d)) == 0) {
        given.text = text;
        given.name = a->nassign > 0 || a->inputs == NULL ? "--input"
                     : strcmp(a->inputs, "-") == 0       ? ENGINE_CMD_STDIN_NAME
                                                         : a->inputs;
        r = engine_cmd_topology_load_given(&a->cmd, t, a->file, text ? &given : NULL, d);
        /* With --input the values were written anew: a place in that text is nowhere the user
         * can look, so those messages name --input alone (as init's form errors do). */
        for (size_t i = 0; a->nassign > 0 && i < d->n; i++)
            if (d->v[i].file != NULL && strcmp(d->v[i].file, given.name) == 0)
                d->v[i].line = d->v[i].col = 0;
    }
    free(text);
    if (r == 0 && (r = engine_topology_derive(x, *t, NULL, a->target, d)) == 0)
        r = cmd_topo_policies(a, *t, d);
    if (r == 0 && a->certs)
        r = cmd_topo_certs(a->file, *x, d);
    if (r == -ENOMEM && d->n == 0)
        engine_diag_add(d, NULL, 0, 0, "out of memory");
    if (!a->json)
        engine_diag_print(d, stderr);
    return r == 0 ? 0 : 1;
}

/* check --json: one object (unisec-check(1) documents its fields). */
static int cmd_check_json(const struct cmd_topo_args *a, const struct engine_topology *t,
                          const struct engine_diag *d, size_t levels, size_t images, int valid)
{
    json_t *j = json_object(), *errs = json_array();
    char *text = NULL;
    int r;

    for (size_t i = 0; errs != NULL && i < d->n; i++) {
        const struct engine_diag_entry *e = &d->v[i];
        json_array_append_new(errs, json_pack("{s:s?, s:i, s:i, s:s}", "file", e->file, "line",
                                              e->line, "column", e->col, "message", e->msg));
    }
    if (j != NULL) {
        json_object_set_new(j, "file", json_string(cmd_topo_shown(a)));
        json_object_set_new(j, "valid", json_boolean(valid));
        json_object_set_new(j, "target", json_string(engine_target_name(a->target)));
        json_object_set_new(j, "tosca_version",
                            valid ? json_string(engine_topology_version(t)) : json_null());
        json_object_set_new(j, "nodes",
                            valid ? json_integer((json_int_t)engine_topology_node_count(t))
                                  : json_null());
        json_object_set_new(j, "node_levels",
                            valid ? json_integer((json_int_t)levels) : json_null());
        json_object_set_new(j, "images", valid ? json_integer((json_int_t)images) : json_null());
        json_object_set_new(j, "errors", errs);
        errs = NULL;
    }
    json_decref(errs);
    r = engine_json_dumps(&text, NULL, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (r < 0) {
        fprintf(stderr, "unisec check: out of memory\n");
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return 0;
}

int engine_cmd_check(int argc, char **argv)
{
    struct cmd_topo_args a;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    struct engine_diag d;
    size_t levels = 0, images = 0;
    int rc;

    a.assign = calloc((size_t)argc + 1, sizeof(*a.assign)); /* room for every --input */
    if (a.assign == NULL) {
        fprintf(stderr, "%s: out of memory\n", "unisec check");
        return 1;
    }
    if (cmd_topo_parse(argc, argv, 0, &a) != 0) {
        free(a.assign);
        return ENGINE_CMD_USAGE;
    }
    a.certs = 1;
    engine_diag_init(&d);
    if ((rc = cmd_topo_run(&a, &t, &x, &d)) != 0) {
        if (a.json && cmd_check_json(&a, t, &d, 0, 0, 0) != 0)
            rc = 1;
        goto cleanup;
    }
    for (size_t i = 0; i < engine_topology_derived_count(x); i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(x, i);
        levels += p->nimages;
        for (size_t l = 0; l < p->nimages; l++)
            images += p->images[l].nmodules > 0;
    }
    if (a.json) {
        rc = cmd_check_json(&a, t, &d, levels, images, 1);
        goto cleanup;
    }
    printf("%s: valid (%s): %zu node%s, %zu node level%s, %zu unikernel image%s, enforceable "
           "on %s\n",
           cmd_topo_shown(&a), engine_topology_version(t), engine_topology_node_count(t),
           engine_topology_node_count(t) == 1 ? "" : "s", levels, levels == 1 ? "" : "s", images,
           images == 1 ? "" : "s", engine_target_name(a.target));
cleanup:
    engine_diag_free(&d);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    free(a.assign);
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
    struct engine_diag d;
    int rc;

    a.assign = calloc((size_t)argc + 1, sizeof(*a.assign)); /* room for every --input */
    if (a.assign == NULL) {
        fprintf(stderr, "%s: out of memory\n", "unisec translate");
        return 1;
    }
    if (cmd_topo_parse(argc, argv, 1, &a) != 0) {
        free(a.assign);
        return ENGINE_CMD_USAGE;
    }
    engine_diag_init(&d);
    if ((rc = cmd_topo_run(&a, &t, &x, &d)) != 0)
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
    engine_diag_free(&d);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    free(a.assign);
    return rc;
}
