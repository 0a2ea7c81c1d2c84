/* fs_init.c — `unisec init`: a new store from a topology (a file, a template with its
 * imports, an archive), its inputs and a policy directory, as one first commit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fs_int.h"

/* Reads the whole file PATH ("-": standard input), at most MAX bytes, into T; prints why
 * not, except that a missing file is -ENOENT in silence (the policy files are optional). */
static int fs_read_file(struct fs_text *t, const char *path, size_t max, const struct engine_cmd *c)
{
    *t = (struct fs_text){0};
    if (strcmp(path, "-") != 0 && access(path, F_OK) != 0 && errno == ENOENT)
        return -ENOENT;
    return engine_cmd_read(c, path, max, &t->data, &t->len);
}

static void fs_files_free(struct fs_text file[FS_FILE_N])
{
    for (int f = 0; f < FS_FILE_N; f++)
        fs_text_free(&file[f]);
}

/* Where a store keeps a CSAR archive's files other than its definitions, at their entry names
 * (fs/MOUNT.md): in its history, not served by the mount. */
#define FS_CSAR_DIR "csar"

/* The topology of --from: a file as it is; or a CSAR archive (a path that engine_csar.h
 * takes for one, or standard input that starts as a zip file), or a file that imports others
 * (read beneath its directory: engine_csar_open_dir()), checked as `unisec check` checks
 * it, messages naming its files, then merged into the one file a store holds, an archive's
 * other files in *KEEP (*NKEEP of them). */
static int fs_read_topology(struct fs_text *t, const char *from, const struct engine_cmd *c,
                            struct engine_csar_file **keep, size_t *nkeep, struct engine_diag *d)
{
    struct engine_csar *csar = NULL;
    struct engine_topology *topo = NULL;
    char *flat = NULL;
    size_t len = 0;
    int r;

    if (strcmp(from, "-") == 0 || !engine_csar_is_archive(from)) {
        if ((r = fs_read_file(t, from, FS_TOPOLOGY_MAX, c)) < 0)
            return r;
        if (engine_csar_is_zip(t->data, t->len)) {
            r = engine_csar_open_buffer(&csar, t->data, t->len, ENGINE_CMD_STDIN_NAME, d);
        } else if (strcmp(from, "-") == 0 ||
                   (r = engine_csar_template_imports(t->data, t->len)) == 0) {
            return 0; /* as it is, comments and all (a store's topology checks it) */
        } else if (r > 0) {
            /* a template with its imports: its directory read as an archive is read */
            r = engine_csar_open_dir(&csar, from, d);
        }
    } else {
        r = engine_csar_open(&csar, from, d);
    }
    if (r == 0)
        r = engine_topology_load_csar(&topo, csar, d);
    if (r == 0)
        r = engine_csar_flatten_files(csar, &flat, &len, keep, nkeep, d);
    if (r == 0 && len > FS_TOPOLOGY_MAX)
        r = engine_diag_add(d, engine_csar_name(csar), 0, 0,
                            "its template with its imports makes %zu bytes; a store's topology "
                            "holds at most %u",
                            len, FS_TOPOLOGY_MAX);
    engine_topology_free(topo);
    engine_csar_free(csar);
    fs_text_free(t);
    if (r == 0) {
        t->data = flat;
        t->len = len;
        return 0;
    }
    free(flat);
    return r == -ENOMEM && d->n == 0 ? engine_diag_add(d, from, 0, 0, "out of memory") : r;
}

/* The archive's files KEEP[0..N) as changes of *ALL (*NALL of *CAP): FS_CSAR_DIR/ENTRY, each
 * path allocated (freed with the acl.d ones), the data KEEP's. */
static int fs_init_keep(struct engine_store_change **all, size_t *nall, size_t *cap,
                        const struct engine_csar_file *keep, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *path;
        if (engine_grow((void **)all, cap, *nall + 1, sizeof(**all)) < 0 ||
            asprintf(&path, "%s/%s", FS_CSAR_DIR, keep[i].entry) < 0)
            return -ENOMEM;
        (*all)[(*nall)++] =
            (struct engine_store_change){.path = path, .data = keep[i].data, .len = keep[i].len};
    }
    return 0;
}

/* DIR/acl.d's rules files into OUT (none when DIR has no acl.d). */
static int fs_init_rules(struct fs_rules_set *out, const char *dir, const struct engine_cmd *cmd)
{
    struct engine_diag d = {0};
    char sub[PATH_MAX], path[PATH_MAX + FS_NAME_MAX + 2], **names = NULL;
    size_t k = 0;
    int rc;

    snprintf(sub, sizeof(sub), "%s/acl.d", dir);
    if ((rc = engine_acl_d_list(sub, &names, &k, &d)) < 0)
        engine_diag_print(&d, stderr);
    for (size_t i = 0; i < k; i++) {
        struct fs_text t = {0};
        struct fs_rules *r = NULL;
        snprintf(path, sizeof(path), "%s/%s", sub, names[i]);
        if (rc == 0 && (rc = fs_read_file(&t, path, FS_POLICY_MAX, cmd)) == 0 &&
            (rc = fs_rules_new(&r, names[i], t.data, t.len, NULL)) == 0)
            rc = fs_rules_set_put(out, names[i], r);
        fs_text_free(&t);
        free(names[i]);
    }
    free(names);
    engine_diag_free(&d);
    return rc;
}

/* init with ASSIGN, room for every --input NAME=VALUE (at most ARGC of them). */
static int fs_cmd_init_with(int argc, char **argv, char **assign)
{
    static const struct option opts[] = {
        {.name = "from", .has_arg = required_argument, .val = 'F'},
        {.name = "policy-dir", .has_arg = required_argument, .val = 'P'},
        {.name = "target", .has_arg = required_argument, .val = 'T'},
        {.name = "signing-key", .has_arg = required_argument, .val = 'K'},
        {.name = "input", .has_arg = required_argument, .val = 'i'},
        {.name = "inputs", .has_arg = required_argument, .val = 'I'},
        /* The spelling of the release before; it goes in the next one. */
        {.name = "policy", .has_arg = required_argument, .val = 'p'},
        {0},
    };
    struct engine_cmd cmd = {
        .name = "unisec init",
        .usage = "unisec init STORE --from=TOPOLOGY|CSAR|- [--policy-dir=DIR] [--target=hvt|spt]\n"
                 "         [--signing-key=KEY] [--input=NAME=VALUE]... [--inputs=FILE]",
        .longs = opts};
    struct fs_text file[FS_FILE_N] = {{0}};
    struct engine_store_change ch[FS_FILE_N] = {{0}}, *all = NULL;
    struct engine_csar_file *keep = NULL; /* a CSAR's files other than its definitions */
    size_t nkeep = 0;
    struct fs_rules_set acld = {0}, acld_copy = {0};
    struct engine_store_author_buf who;
    struct engine_diag diag = {0};
    struct engine_store *store = NULL;
    struct fs_snap *snap = NULL;
    struct fs_model *model = NULL;
    struct engine_topology_state *st = NULL;
    enum engine_target target = ENGINE_TARGET_HVT;
    const char *from = NULL, *policy = NULL, *key = NULL, *inputs = NULL, *dir;
    size_t nassign = 0;
    char *msg = NULL;
    size_t n = 0, nall = 0, cap = 0;
    int opt, rc = 1;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'F') {
            from = optarg;
        } else if (opt == 'P' || opt == 'p') {
            if (opt == 'p')
                engine_cmd_alias(&cmd, "--policy", "--policy-dir");
            policy = optarg;
        } else if (opt == 'K') {
            key = optarg;
        } else if (opt == 'I') {
            inputs = optarg;
        } else if (opt == 'i') {
            assign[nassign++] = optarg;
        } else if (opt != 'T') {
            return ENGINE_CMD_USAGE;
        } else if (engine_target_parse(&target, optarg) < 0) {
            return engine_cmd_usage(&cmd, "--target '%s': expected hvt or spt", optarg);
        }
    }
    if (optind != argc - 1)
        return engine_cmd_usage(&cmd, optind == argc ? "expected STORE" : "one STORE at a time");
    if (from == NULL)
        return engine_cmd_usage(&cmd, "expected --from=TOPOLOGY (or - for standard input)");
    if (inputs != NULL && strcmp(from, "-") == 0 && strcmp(inputs, "-") == 0)
        return engine_cmd_usage(&cmd, "standard input (-) can be read once: --from or --inputs");
    dir = argv[optind];
    umask(077); /* the store's files and objects: its owner's alone (fs/MOUNT.md) */
    if (fs_read_topology(&file[FS_FILE_TOPOLOGY], from, &cmd, &keep, &nkeep, &diag) < 0) {
        if (diag.n > 0)
            engine_diag_print(&diag, stderr);
        else if (file[FS_FILE_TOPOLOGY].data == NULL)
            fprintf(stderr, "unisec init: cannot read the topology %s\n", from);
        goto out;
    }
    for (int f = FS_FILE_ACL; f <= FS_FILE_CREDENTIALS; f++) {
        char path[PATH_MAX];
        const char *base = strchr(fs_file_path(f), '/') + 1;
        if (policy != NULL) {
            snprintf(path, sizeof(path), "%s/%s", policy, base);
            int r = fs_read_file(&file[f], path, FS_POLICY_MAX, &cmd);
            if (r < 0 && r != -ENOENT)
                goto out;
        }
        /* Every policy file exists in the store, empty when not given, so that the mount
         * shows it and a write to it is a change of a tracked file. */
        if (file[f].data == NULL && fs_text_set(&file[f], "", 0) < 0)
            goto out;
    }
    /* The inputs' values: --inputs FILE with every --input set in it; always a file of the
     * store (empty when none is given), so that every input it needs must have a value. */
    if (inputs != NULL && fs_read_file(&file[FS_FILE_INPUTS], inputs, FS_TOPOLOGY_MAX, &cmd) < 0) {
        if (file[FS_FILE_INPUTS].data == NULL)
            fprintf(stderr, "unisec init: cannot read the inputs %s\n", inputs);
        goto out;
    }
    {
        struct fs_text given = file[FS_FILE_INPUTS];
        file[FS_FILE_INPUTS] = (struct fs_text){0};
        int r = engine_topology_inputs_text(&file[FS_FILE_INPUTS].data, &file[FS_FILE_INPUTS].len,
                                            given.data, given.len, inputs ? inputs : "--inputs",
                                            assign, nassign, &diag);
        fs_text_free(&given);
        if (r < 0) {
            engine_diag_print(&diag, stderr);
            goto out;
        }
    }
    /* The topology: valid on its own (no imports: the store holds one file) with those
     * values, every node at level default, no override. */
    if (fs_model_load(&model, file[FS_FILE_TOPOLOGY].data, file[FS_FILE_TOPOLOGY].len,
                      &file[FS_FILE_INPUTS], &diag) < 0) {
        engine_diag_print(&diag, stderr);
        goto out;
    }
    if (engine_topology_state_new(&st, model->t) < 0 ||
        engine_topology_state_format_levels(st, &file[FS_FILE_LEVELS].data,
                                            &file[FS_FILE_LEVELS].len) < 0 ||
        engine_topology_state_format_properties(st, &file[FS_FILE_PROPERTIES].data,
                                                &file[FS_FILE_PROPERTIES].len) < 0)
        goto out;
    for (int f = 0; f < FS_FILE_N; f++) {
        ch[n].path = fs_file_path(f);
        ch[n].data = file[f].data;
        ch[n].len = file[f].len;
        ch[n].remove = 0;
        n++;
    }
    /* DIR/acl.d/NAME: the rules files, committed beside the others. */
    if (policy != NULL && fs_init_rules(&acld, policy, &cmd) < 0)
        goto out;
    if (engine_grow((void **)&all, &cap, n, sizeof(*all)) < 0)
        goto out;
    memcpy(all, ch, n * sizeof(*ch));
    nall = n;
    if (fs_rules_changes(&all, &nall, &cap, &(struct fs_rules_set){0}, &acld, 0) < 0 ||
        fs_init_keep(&all, &nall, &cap, keep, nkeep) < 0 ||
        fs_rules_set_copy(&acld_copy, &acld) < 0)
        goto out;
    /* Validate before creating anything. The snapshot takes the files: keep copies. */
    {
        struct fs_text copy[FS_FILE_N] = {{0}};
        for (int f = 0; f < FS_FILE_N; f++)
            if (fs_text_set(&copy[f], file[f].data, file[f].len) < 0) {
                fs_files_free(copy);
                goto out;
            }
        if (fs_snap_build(&snap, copy, &acld_copy, "", NULL, model, NULL, target, &diag) < 0) {
            engine_diag_print(&diag, stderr);
            goto out;
        }
    }
    if (engine_store_author_from_uid(&who, getuid()) < 0 ||
        asprintf(&msg, "init: %zu nodes from %s, policy %s%s (%zu rules, %zu groups)",
                 engine_topology_node_count(model->t),
                 strcmp(from, "-") == 0 ? ENGINE_CMD_STDIN_NAME : from,
                 policy != NULL ? "from " : "empty", policy != NULL ? policy : "",
                 snap->acl_stats.rules, snap->acl_stats.groups) < 0) {
        msg = NULL;
        goto out;
    }
    if (engine_store_init(&store, dir, all, nall, &who.author, msg, key, &diag) < 0) {
        engine_diag_print(&diag, stderr);
        goto out;
    }
    printf("unisec init: created the store %s: %zu nodes, every one at level default; policy "
           "%zu rules, %zu groups, %zu credentials\n",
           dir, engine_topology_node_count(model->t), snap->acl_stats.rules, snap->acl_stats.groups,
           snap->acl_stats.credentials);
    rc = 0;
out:
    for (size_t i = n; i < nall; i++)
        free((char *)all[i].path);
    free(all);
    engine_csar_files_free(keep, nkeep);
    fs_rules_set_free(&acld);
    fs_rules_set_free(&acld_copy);
    engine_store_free(store);
    fs_snap_free(snap);
    engine_topology_state_free(st);
    fs_model_put(model);
    fs_files_free(file);
    engine_diag_free(&diag);
    free(msg);
    return rc;
}

int fs_cmd_init(int argc, char **argv)
{
    char **assign = calloc((size_t)argc + 1, sizeof(*assign));
    int rc;

    if (assign == NULL) {
        fprintf(stderr, "unisec init: out of memory\n");
        return 1;
    }
    rc = fs_cmd_init_with(argc, argv, assign);
    free(assign);
    return rc;
}
