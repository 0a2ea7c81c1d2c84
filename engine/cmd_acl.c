/* cmd_acl.c — `unisec acl check|query|compile|passwd`: the ACL language on the command line. */
#include "engine.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACL_EXIT_DENY 3

static const char *const cmd_acl_kinds[] = {"acl", "groups", "credentials"};

/* The subcommands' parsers: NAME and USAGE per subcommand; options as each takes them. */
enum {
    CMD_ACL_JSON = 0x100,
    CMD_ACL_POLICY_NAME,
    CMD_ACL_POLICY_VERSION,
    CMD_ACL_OLD_POLICY,
    CMD_ACL_OLD_VERSION,
    CMD_ACL_ITERATIONS,
    CMD_ACL_KIND,
};

static const struct option cmd_acl_check_opts[] = {
    {.name = "kind", .has_arg = required_argument, .val = CMD_ACL_KIND},
    {0},
};

static const struct option cmd_acl_query_opts[] = {
    {.name = "json", .has_arg = no_argument, .val = CMD_ACL_JSON},
    {0},
};

static const struct option cmd_acl_compile_opts[] = {
    {.name = "policy-name", .has_arg = required_argument, .val = CMD_ACL_POLICY_NAME},
    {.name = "policy-version", .has_arg = required_argument, .val = CMD_ACL_POLICY_VERSION},
    {.name = "output", .has_arg = required_argument, .val = 'o'},
    /* The spellings of the release before; they go in the next one. */
    {.name = "policy", .has_arg = required_argument, .val = CMD_ACL_OLD_POLICY},
    {.name = "version", .has_arg = required_argument, .val = CMD_ACL_OLD_VERSION},
    {0},
};

static const struct option cmd_acl_passwd_opts[] = {
    {.name = "iterations", .has_arg = required_argument, .val = CMD_ACL_ITERATIONS},
    {0},
};

#define CMD_ACL_USAGE                                                                              \
    "unisec acl check [--kind=acl|groups|credentials] FILE|POLICYDIR|-...\n"                       \
    "       unisec acl query [--json] POLICYDIR POLICY SUBJECT METHOD PATH\n"                      \
    "       unisec acl compile [--policy-name=NAME] [--policy-version=N] POLICYDIR -o BLOB\n"      \
    "       unisec acl passwd [--iterations=N] USER"

static int cmd_acl_usage(const char *msg)
{
    struct engine_cmd c = {.name = "unisec acl", .usage = CMD_ACL_USAGE};
    return engine_cmd_usage(&c, "%s", msg);
}

/* ---- check ---- */

struct cmd_acl_file {
    char *path;
    char *data; /* standard input's bytes (LEN of them), NULL for a file read by its path */
    size_t len;
    int kind;
    int in_d; /* a rules file of an acl.d/ directory (several may be given) */
    struct engine_diag diag;
};

struct cmd_acl_files {
    struct cmd_acl_file *v;
    size_t n, cap;
};

static int cmd_acl_file_add(struct cmd_acl_files *fs, char *path, int kind, int in_d)
{
    if (engine_grow((void **)&fs->v, &fs->cap, fs->n + 1, sizeof(*fs->v)) < 0) {
        free(path);
        return -ENOMEM;
    }
    fs->v[fs->n++] = (struct cmd_acl_file){.path = path, .kind = kind, .in_d = in_d};
    return 0;
}

/* The kind of file PATH by its name: acl, groups, credentials, or a file of a directory named
 * acl.d (rules). *IN_D says which. */
static int cmd_acl_kind_of(const char *path, int *in_d)
{
    char *a = strdup(path), *b = strdup(path);
    int kind = -EINVAL;

    *in_d = 0;
    if (a != NULL && b != NULL) {
        kind = engine_acl_file_kind(basename(a));
        if (kind < 0 && strcmp(basename(dirname(b)), "acl.d") == 0)
            kind = ENGINE_ACL_FILE_ACL, *in_d = 1;
    }
    free(a);
    free(b);
    return kind;
}

/* DIR's policy files: acl, groups, credentials, and acl.d/NAME. */
static int cmd_acl_dir_files(struct cmd_acl_files *fs, const char *dir, struct engine_diag *d)
{
    char **names = NULL, *sub = NULL, *path;
    size_t n = 0;
    int r = 0;

    for (int k = 0; k < 3; k++) {
        if (asprintf(&path, "%s/%s", dir, cmd_acl_kinds[k]) < 0)
            return -ENOMEM;
        if (access(path, F_OK) != 0)
            free(path);
        else if (cmd_acl_file_add(fs, path, k, 0) < 0)
            return -ENOMEM;
    }
    if (asprintf(&sub, "%s/acl.d", dir) < 0)
        return -ENOMEM;
    if ((r = engine_acl_d_list(sub, &names, &n, d)) == 0)
        for (size_t i = 0; i < n && r == 0; i++)
            if (asprintf(&path, "%s/%s", sub, names[i]) < 0 ||
                cmd_acl_file_add(fs, path, ENGINE_ACL_FILE_ACL, 1) < 0)
                r = -ENOMEM;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(sub);
    return r;
}

/* Rules files in the order they are read: acl, then acl.d files by their names' bytes. */
static int cmd_acl_file_cmp(const void *pa, const void *pb)
{
    const struct cmd_acl_file *a = *(struct cmd_acl_file *const *)pa;
    const struct cmd_acl_file *b = *(struct cmd_acl_file *const *)pb;
    static const int rank[] = {
        [ENGINE_ACL_FILE_GROUPS] = 0, [ENGINE_ACL_FILE_ACL] = 1, [ENGINE_ACL_FILE_CREDENTIALS] = 3};
    int ra = rank[a->kind] + a->in_d, rb = rank[b->kind] + b->in_d;
    char *x, *y;

    if (ra != rb || !a->in_d)
        return ra - rb;
    x = strrchr(a->path, '/');
    y = strrchr(b->path, '/');
    return strcmp(x != NULL ? x + 1 : a->path, y != NULL ? y + 1 : b->path);
}

/* One file's summary; RULES is the file's own count when the rules come from several files
 * (-1: one file, which holds all of them). */
static void cmd_acl_check_print(const struct cmd_acl_file *f, const struct engine_acl_stats *st,
                                ssize_t rules)
{
    switch (f->kind) {
    case ENGINE_ACL_FILE_ACL:
        if (rules >= 0)
            printf("%s: %zd rule%s\n", f->path, rules, rules == 1 ? "" : "s");
        else
            printf("%s: %zu rule%s in %zu polic%s\n", f->path, st->rules, st->rules == 1 ? "" : "s",
                   st->policies, st->policies == 1 ? "y" : "ies");
        break;
    case ENGINE_ACL_FILE_GROUPS:
        printf("%s: %zu group%s, %zu member%s\n", f->path, st->groups, st->groups == 1 ? "" : "s",
               st->members, st->members == 1 ? "" : "s");
        break;
    default:
        printf("%s: %zu credential%s\n", f->path, st->credentials, st->credentials == 1 ? "" : "s");
    }
}

static int cmd_acl_check(int argc, char **argv)
{
    struct cmd_acl_files fs = {0};
    struct engine_diag dd;
    struct engine_acl *a = NULL;
    struct cmd_acl_file **ord = NULL;
    size_t *rules = NULL, nacl = 0;
    int rc = 1, bad = 0, have_groups = 0, groups_ok = 0, acl_at = -1, opt, stdin_kind = -1;
    int stdin_seen = 0;

    struct engine_cmd c = {.name = "unisec acl check",
                           .usage = "unisec acl check [--kind=acl|groups|credentials] "
                                    "FILE|POLICYDIR|-...",
                           .longs = cmd_acl_check_opts};
    engine_diag_init(&dd);
    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        if (opt != CMD_ACL_KIND)
            return ENGINE_CMD_USAGE;
        if ((stdin_kind = engine_acl_file_kind(optarg)) < 0)
            return engine_cmd_usage(&c, "--kind '%s': expected acl, groups or credentials", optarg);
    }
    argv += optind - 1;
    argc -= optind - 1;
    if (argc < 2)
        return engine_cmd_usage(&c, "expected at least one FILE, POLICYDIR or -");
    for (int i = 1; i < argc; i++)
        stdin_seen += strcmp(argv[i], "-") == 0;
    if (stdin_seen > 1)
        return engine_cmd_usage(&c, "standard input (-) can be read once");
    if (stdin_seen != (stdin_kind >= 0))
        return engine_cmd_usage(&c, stdin_seen ? "- (standard input) needs --kind=KIND"
                                               : "--kind names the kind of - (standard input)");
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int kind, in_d;
        char *path;
        if (strcmp(argv[i], "-") == 0) {
            char *buf;
            size_t len;
            if (engine_cmd_read(&c, "-", ENGINE_CMD_STDIN_MAX, &buf, &len) < 0)
                goto cleanup;
            if ((path = strdup(ENGINE_CMD_STDIN_NAME)) == NULL ||
                cmd_acl_file_add(&fs, path, stdin_kind, 0) < 0) {
                free(buf);
                goto cleanup;
            }
            fs.v[fs.n - 1].data = buf;
            fs.v[fs.n - 1].len = len;
            continue;
        }
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            int e = cmd_acl_dir_files(&fs, argv[i], &dd);
            if (e == -ENOMEM)
                goto cleanup;
            bad |= e < 0;
            continue;
        }
        if ((kind = cmd_acl_kind_of(argv[i], &in_d)) < 0) {
            fprintf(stderr,
                    "unisec acl check: %s: the file's name must be acl, groups or credentials, "
                    "or the file must be in a directory acl.d (or give a policy directory)\n",
                    argv[i]);
            rc = 2;
            goto cleanup;
        }
        if ((path = strdup(argv[i])) == NULL || cmd_acl_file_add(&fs, path, kind, in_d) < 0)
            goto cleanup;
    }
    for (size_t j = 0; j < fs.n; j++)
        for (size_t k = 0; k < j; k++)
            if (fs.v[k].kind == fs.v[j].kind && !fs.v[j].in_d && !fs.v[k].in_d) {
                fprintf(stderr,
                        "unisec acl check: %s: a second %s file; check one policy set at a "
                        "time\n",
                        fs.v[j].path, cmd_acl_kinds[fs.v[j].kind]);
                rc = 2;
                goto cleanup;
            }
    if (fs.n == 0 && !bad) {
        fprintf(stderr, "unisec acl check: no acl, groups or credentials file found\n");
        goto cleanup;
    }
    /* Loaded in their order (groups first, so that the rules' group references can be
     * checked against them; rules files as they are read), reported in the order given. */
    if ((ord = calloc(fs.n + 1, sizeof(*ord))) == NULL)
        goto cleanup;
    for (size_t j = 0; j < fs.n; j++)
        ord[j] = &fs.v[j];
    if (fs.n > 1)
        qsort(ord, fs.n, sizeof(*ord), cmd_acl_file_cmp);
    if (engine_acl_new(&a) < 0 || (rules = calloc(fs.n + 1, sizeof(*rules))) == NULL)
        goto cleanup;
    for (size_t o = 0; o < fs.n; o++) {
        size_t j = (size_t)(ord[o] - fs.v);
        struct engine_acl_stats before, after;
        engine_acl_stats_get(a, &before);
        enum engine_acl_file kind = (enum engine_acl_file)fs.v[j].kind;
        int e =
            fs.v[j].data != NULL
                ? engine_acl_parse(a, kind, fs.v[j].path, fs.v[j].data, fs.v[j].len, &fs.v[j].diag)
                : engine_acl_load_file(a, kind, fs.v[j].path, NULL, &fs.v[j].diag);
        if (e == -ENOMEM) {
            fprintf(stderr, "unisec acl check: out of memory\n");
            goto cleanup;
        }
        bad |= e < 0;
        engine_acl_stats_get(a, &after);
        rules[j] = after.rules - before.rules;
        if (fs.v[j].kind == ENGINE_ACL_FILE_GROUPS)
            have_groups = 1, groups_ok = e == 0;
        if (fs.v[j].kind == ENGINE_ACL_FILE_ACL && e == 0) {
            nacl++;
            if (acl_at < 0)
                acl_at = (int)j;
        }
    }
    /* Rules of several files are compared with each other; group references are checked
     * when a groups file is given. */
    if (acl_at >= 0 && engine_acl_finish(a, &fs.v[acl_at].diag) < 0)
        bad = 1;
    if (have_groups && groups_ok && acl_at >= 0)
        bad |= engine_acl_check_groups(a, &fs.v[acl_at].diag) < 0;
    if (bad) {
        engine_diag_print(&dd, stderr);
        for (size_t j = 0; j < fs.n; j++)
            engine_diag_print(&fs.v[j].diag, stderr);
        goto cleanup;
    }
    struct engine_acl_stats st;
    engine_acl_stats_get(a, &st);
    for (size_t j = 0; j < fs.n; j++)
        cmd_acl_check_print(&fs.v[j], &st, nacl > 1 ? (ssize_t)rules[j] : -1);
    if (nacl > 1)
        printf("%zu rule%s in %zu polic%s\n", st.rules, st.rules == 1 ? "" : "s", st.policies,
               st.policies == 1 ? "y" : "ies");
    rc = 0;
cleanup:
    for (size_t j = 0; j < fs.n; j++) {
        free(fs.v[j].path);
        free(fs.v[j].data);
        engine_diag_free(&fs.v[j].diag);
    }
    free(fs.v);
    free(ord);
    free(rules);
    engine_diag_free(&dd);
    engine_acl_free(a);
    return rc;
}

/* ---- shared by query and compile ---- */

static int cmd_acl_load(struct engine_acl **out, const char *dir)
{
    struct engine_diag d;
    int r;

    *out = NULL;
    engine_diag_init(&d);
    if ((r = engine_acl_new(out)) < 0 || (r = engine_acl_load_dir(*out, dir, &d)) < 0) {
        if (d.n > 0)
            engine_diag_print(&d, stderr);
        else
            fprintf(stderr, "unisec acl: %s: %s\n", dir, strerror(-r));
        engine_diag_free(&d);
        engine_acl_free(*out);
        *out = NULL;
        return r;
    }
    engine_diag_free(&d);
    return 0;
}

/* ---- query ---- */

/* query --json: one object (unisec-acl(1) documents its fields). */
static int cmd_acl_query_json(const struct engine_acl *a, const struct engine_acl_request *rq,
                              const struct engine_acl_decision *dec, const char *text)
{
    const char *file = "acl";
    uint32_t line = dec->line;
    json_t *rule;

    engine_acl_line_file(a, dec->line, &file, &line);
    rule = dec->rule == ENGINE_ACL_NO_RULE
               ? json_null()
               : json_pack("{s:s, s:I, s:s}", "file", file, "line", (json_int_t)line, "text", text);
    json_t *j =
        json_pack("{s:s, s:s, s:s?, s:s, s:s, s:o}", "decision", dec->allow ? "allow" : "deny",
                  "policy", rq->policy, "subject", rq->user[0] ? rq->user : NULL, "method",
                  rq->method, "path", rq->path, "rule", rule);
    char *out = NULL;
    int r = engine_json_dumps(&out, NULL, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    json_decref(j);
    if (r < 0) {
        /* (json_pack refuses a string that is not UTF-8, as it does running out of memory) */
        fprintf(stderr, "unisec acl query: cannot write the answer as JSON: an argument is not "
                        "UTF-8, or memory ran out\n");
        return r;
    }
    fputs(out, stdout);
    free(out);
    return 0;
}

static int cmd_acl_query(int argc, char **argv)
{
    struct engine_acl *a = NULL;
    struct engine_acl_blob b;
    struct engine_acl_request rq;
    struct engine_acl_decision dec;
    void *blob = NULL;
    size_t len = 0;
    const char *why = NULL;
    int rc = 1, r, opt, json = 0;
    struct engine_cmd c = {.name = "unisec acl query",
                           .usage =
                               "unisec acl query [--json] POLICYDIR POLICY SUBJECT METHOD PATH",
                           .longs = cmd_acl_query_opts};

    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        if (opt != CMD_ACL_JSON)
            return ENGINE_CMD_USAGE;
        json = 1;
    }
    argv += optind - 1;
    argc -= optind - 1;
    if (argc != 6)
        return engine_cmd_usage(&c, "expected POLICYDIR POLICY SUBJECT METHOD PATH");
    const char *policy = argv[2], *user = argv[3], *method = argv[4], *path = argv[5];
    if (strcmp(user, "-") == 0) {
        user = "";
    } else if (!engine_acl_name_valid(user, strlen(user))) {
        fprintf(stderr, "unisec acl query: SUBJECT: expected a user name ([A-Za-z0-9._-], at "
                        "most 64, not starting with '-'), or - for an anonymous request\n");
        return 1;
    }
    if (cmd_acl_load(&a, argv[1]) < 0)
        return 1;
    if (!engine_acl_has_policy(a, policy)) {
        fprintf(stderr, "unisec acl query: policy '%s' has no rules in %s/acl\n", policy, argv[1]);
        goto cleanup;
    }
    /* The query runs on the compiled blob: the same index and code as the guest. */
    if ((r = engine_acl_compile(&blob, &len, a, NULL, 0)) < 0) {
        fprintf(stderr, "unisec acl query: cannot compile: %s\n", strerror(-r));
        goto cleanup;
    }
    if (engine_acl_blob_open(&b, blob, len, &why) < 0) {
        fprintf(stderr, "unisec acl query: internal error: %s\n", why ? why : "bad blob");
        goto cleanup;
    }
    rq = (struct engine_acl_request){policy,         user,         method,         path,
                                     strlen(policy), strlen(user), strlen(method), strlen(path)};
    if (engine_acl_blob_decide(&b, &rq, &dec) < 0) {
        fprintf(stderr, "unisec acl query: invalid request: METHOD must be a token of at most 32 "
                        "characters and PATH must start with '/', hold at most 1024 bytes, no "
                        "control characters and no '.' or '..' segments\n");
        goto cleanup;
    }
    char text[2 * ENGINE_ACL_PATH_MAX] = "";
    if (dec.rule != ENGINE_ACL_NO_RULE) {
        struct engine_acl_rule_view v;
        engine_acl_blob_rule(&b, dec.rule, &v);
        engine_acl_rule_format(text, sizeof(text), &v);
    }
    if (json) {
        if (cmd_acl_query_json(a, &rq, &dec, text) < 0)
            goto cleanup;
    } else if (dec.rule == ENGINE_ACL_NO_RULE) {
        printf("deny  (no rule matches: default deny)\n");
    } else {
        const char *file = "acl";
        uint32_t line = dec.line;
        engine_acl_line_file(a, dec.line, &file, &line);
        printf("%s  (%s:%" PRIu32 ": %s)\n", dec.allow ? "allow" : "deny", file, line, text);
    }
    rc = dec.allow ? 0 : ACL_EXIT_DENY;
cleanup:
    free(blob);
    engine_acl_free(a);
    return rc;
}

/* ---- compile ---- */

/* Writes BUF to PATH through a temporary file in the same directory and a rename. */
static int cmd_acl_write_atomic(const char *path, const void *buf, size_t len)
{
    char *tmp = NULL;
    const char *p = buf;
    int fd = -1, r = 0;

    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return -ENOMEM;
    if ((fd = mkstemp(tmp)) < 0) {
        r = -errno;
        goto cleanup;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto cleanup;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
        r = -errno;
        goto cleanup;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = -errno;
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        r = -errno;
cleanup:
    if (fd >= 0)
        close(fd);
    if (r < 0 && tmp != NULL)
        unlink(tmp);
    free(tmp);
    return r;
}

static int cmd_acl_compile(int argc, char **argv)
{
    const char *dir = NULL, *policy = NULL, *out = NULL;
    uint64_t version = 0;
    struct engine_acl *a = NULL;
    void *blob = NULL;
    size_t len = 0;
    int rc = 1, r, opt;
    struct engine_cmd c = {
        .name = "unisec acl compile",
        .usage = "unisec acl compile [--policy-name=NAME] [--policy-version=N] POLICYDIR -o BLOB",
        .shorts = "o:",
        .longs = cmd_acl_compile_opts};

    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        switch (opt) {
        case CMD_ACL_OLD_POLICY:
            engine_cmd_alias(&c, "--policy", "--policy-name");
            /* fall through */
        case CMD_ACL_POLICY_NAME:
            policy = optarg;
            break;
        case CMD_ACL_OLD_VERSION:
            engine_cmd_alias(&c, "--version N", "--policy-version N");
            /* fall through */
        case CMD_ACL_POLICY_VERSION:
            if (engine_cmd_u64(&c, "--policy-version", optarg, 0, UINT64_MAX, &version) < 0)
                return ENGINE_CMD_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            return ENGINE_CMD_USAGE;
        }
    }
    if (engine_cmd_operand(&c, argc, argv, "POLICYDIR", &dir) != 0)
        return ENGINE_CMD_USAGE;
    if (dir == NULL || out == NULL)
        return engine_cmd_usage(&c, "expected POLICYDIR and -o BLOB");
    if (cmd_acl_load(&a, dir) < 0)
        return 1;
    if (policy != NULL && !engine_acl_has_policy(a, policy)) {
        fprintf(stderr, "unisec acl compile: policy '%s' has no rules in %s/acl\n", policy, dir);
        goto cleanup;
    }
    if ((r = engine_acl_compile(&blob, &len, a, policy, version)) < 0) {
        fprintf(stderr, "unisec acl compile: %s\n", strerror(-r));
        goto cleanup;
    }
    if ((r = cmd_acl_write_atomic(out, blob, len)) < 0) {
        fprintf(stderr, "unisec acl compile: %s: %s\n", out, strerror(-r));
        goto cleanup;
    }
    {
        struct engine_acl_blob b;
        engine_acl_blob_open(&b, blob, len, NULL);
        printf("%s: %" PRIu32 " rules, %zu bytes, version %" PRIu64 "\n", out, b.rule_count, len,
               version);
    }
    rc = 0;
cleanup:
    free(blob);
    engine_acl_free(a);
    return rc;
}

/* ---- passwd ---- */

static int cmd_acl_passwd(int argc, char **argv)
{
    const char *user = NULL;
    uint64_t it = ENGINE_ACL_ITER_DEFAULT;
    char *pw = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int r, opt;
    struct engine_cmd c = {.name = "unisec acl passwd",
                           .usage = "unisec acl passwd [--iterations=N] USER",
                           .longs = cmd_acl_passwd_opts};

    while ((opt = engine_cmd_next(&c, argc, argv)) != -1) {
        if (opt != CMD_ACL_ITERATIONS ||
            engine_cmd_u64(&c, "--iterations", optarg, ENGINE_ACL_ITER_MIN, ENGINE_ACL_ITER_MAX,
                           &it) < 0)
            return ENGINE_CMD_USAGE;
    }
    if (engine_cmd_operand(&c, argc, argv, "USER", &user) != 0)
        return ENGINE_CMD_USAGE;
    if (user == NULL)
        return engine_cmd_usage(&c, "expected USER");
    if (!engine_acl_name_valid(user, strlen(user))) {
        fprintf(stderr, "unisec acl passwd: USER: expected a user name ([A-Za-z0-9._-], at most "
                        "64, not starting with '-')\n");
        return 1;
    }
    n = getline(&pw, &cap, stdin);
    if (n <= 0) {
        free(pw);
        fprintf(stderr, "unisec acl passwd: expected the password on the first line of stdin\n");
        return 1;
    }
    while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
        pw[--n] = 0;
    if (n == 0) {
        free(pw);
        fprintf(stderr, "unisec acl passwd: the password is empty\n");
        return 1;
    }
    r = engine_acl_cred_line(&line, user, pw, (size_t)n, (uint32_t)it, NULL, 0);
    memset(pw, 0, cap);
    free(pw);
    if (r < 0) {
        fprintf(stderr, "unisec acl passwd: %s\n", strerror(-r));
        return 1;
    }
    printf("%s\n", line);
    free(line);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} cmd_acl_table[] = {
    {"check", cmd_acl_check},
    {"query", cmd_acl_query},
    {"compile", cmd_acl_compile},
    {"passwd", cmd_acl_passwd},
};

int engine_cmd_acl(int argc, char **argv)
{
    if (argc < 2)
        return cmd_acl_usage("missing subcommand");
    for (size_t i = 0; i < sizeof(cmd_acl_table) / sizeof(cmd_acl_table[0]); i++)
        if (strcmp(argv[1], cmd_acl_table[i].name) == 0)
            return cmd_acl_table[i].run(argc - 1, argv + 1);
    return cmd_acl_usage("unknown subcommand");
}
