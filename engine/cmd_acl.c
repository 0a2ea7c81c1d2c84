/* cmd_acl.c — `unisec acl check|query|compile|passwd`: the ACL language on the command line. */
#include "engine.h"

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

static int cmd_acl_usage(const char *msg)
{
    fprintf(stderr,
            "unisec acl: %s\n"
            "usage: unisec acl check FILE...\n"
            "       unisec acl query POLICYDIR POLICY SUBJECT METHOD PATH\n"
            "       unisec acl compile POLICYDIR [--policy NAME] [--version N] -o BLOB\n"
            "       unisec acl passwd USER [--iterations N]\n",
            msg);
    return 2;
}

/* ---- check ---- */

struct cmd_acl_file {
    char *path;
    int kind;
    struct engine_diag diag;
};

static int cmd_acl_check(int argc, char **argv)
{
    struct cmd_acl_file files[3];
    size_t nfiles = 0;
    struct engine_acl *a = NULL;
    int rc = 1, bad = 0;

    memset(files, 0, sizeof(files));
    if (argc < 2)
        return cmd_acl_usage("check needs at least one FILE");
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int isdir = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode);
        for (int k = 0; k < 3; k++) {
            char *path = NULL, *copy;
            int kind = k;
            if (isdir) {
                if (asprintf(&path, "%s/%s", argv[i], cmd_acl_kinds[k]) < 0)
                    goto cleanup;
                if (access(path, F_OK) != 0) {
                    free(path);
                    continue;
                }
            } else {
                if (k > 0)
                    break;
                if ((copy = strdup(argv[i])) == NULL)
                    goto cleanup;
                kind = engine_acl_file_kind(basename(copy));
                free(copy);
                if (kind < 0) {
                    fprintf(stderr,
                            "unisec acl check: %s: the file's name must be acl, groups "
                            "or credentials (or give a policy directory)\n",
                            argv[i]);
                    rc = 2;
                    goto cleanup;
                }
                if ((path = strdup(argv[i])) == NULL)
                    goto cleanup;
            }
            for (size_t j = 0; j < nfiles; j++)
                if (files[j].kind == kind) {
                    fprintf(stderr,
                            "unisec acl check: %s: a second %s file; check one policy "
                            "set at a time\n",
                            path, cmd_acl_kinds[kind]);
                    free(path);
                    rc = 2;
                    goto cleanup;
                }
            files[nfiles].path = path;
            files[nfiles].kind = kind;
            nfiles++;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "unisec acl check: no acl, groups or credentials file found\n");
        goto cleanup;
    }
    if (engine_acl_new(&a) < 0)
        goto cleanup;
    /* Groups first, so that the acl's group references can be checked against them. */
    static const int order[] = {ENGINE_ACL_FILE_GROUPS, ENGINE_ACL_FILE_ACL,
                                ENGINE_ACL_FILE_CREDENTIALS};
    int have_groups = 0, groups_ok = 0, acl_at = -1;
    for (int o = 0; o < 3; o++)
        for (size_t j = 0; j < nfiles; j++) {
            if (files[j].kind != order[o])
                continue;
            int e = engine_acl_load_file(a, (enum engine_acl_file)files[j].kind, files[j].path,
                                         NULL, &files[j].diag);
            if (e == -ENOMEM) {
                fprintf(stderr, "unisec acl check: out of memory\n");
                goto cleanup;
            }
            bad |= e < 0;
            if (files[j].kind == ENGINE_ACL_FILE_GROUPS)
                have_groups = 1, groups_ok = e == 0;
            if (files[j].kind == ENGINE_ACL_FILE_ACL && e == 0)
                acl_at = (int)j;
        }
    if (have_groups && groups_ok && acl_at >= 0)
        bad |= engine_acl_check_groups(a, &files[acl_at].diag) < 0;
    if (bad) {
        for (size_t j = 0; j < nfiles; j++)
            engine_diag_print(&files[j].diag, stderr);
        goto cleanup;
    }
    struct engine_acl_stats st;
    engine_acl_stats_get(a, &st);
    for (size_t j = 0; j < nfiles; j++) {
        switch (files[j].kind) {
        case ENGINE_ACL_FILE_ACL:
            printf("%s: %zu rule%s in %zu polic%s\n", files[j].path, st.rules,
                   st.rules == 1 ? "" : "s", st.policies, st.policies == 1 ? "y" : "ies");
            break;
        case ENGINE_ACL_FILE_GROUPS:
            printf("%s: %zu group%s, %zu member%s\n", files[j].path, st.groups,
                   st.groups == 1 ? "" : "s", st.members, st.members == 1 ? "" : "s");
            break;
        default:
            printf("%s: %zu credential%s\n", files[j].path, st.credentials,
                   st.credentials == 1 ? "" : "s");
        }
    }
    rc = 0;
cleanup:
    for (size_t j = 0; j < nfiles; j++) {
        free(files[j].path);
        engine_diag_free(&files[j].diag);
    }
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

static int cmd_acl_query(int argc, char **argv)
{
    struct engine_acl *a = NULL;
    struct engine_acl_blob b;
    struct engine_acl_request rq;
    struct engine_acl_decision dec;
    void *blob = NULL;
    size_t len = 0;
    const char *why = NULL;
    int rc = 1, r;

    if (argc != 6)
        return cmd_acl_usage("query needs POLICYDIR POLICY SUBJECT METHOD PATH");
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
    if (dec.rule == ENGINE_ACL_NO_RULE) {
        printf("deny  (no rule matches: default deny)\n");
    } else {
        struct engine_acl_rule_view v;
        char text[2 * ENGINE_ACL_PATH_MAX];
        engine_acl_blob_rule(&b, dec.rule, &v);
        engine_acl_rule_format(text, sizeof(text), &v);
        printf("%s  (acl:%" PRIu32 ": %s)\n", dec.allow ? "allow" : "deny", dec.line, text);
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

static int cmd_acl_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != 0)
        return -EINVAL;
    *out = v;
    return 0;
}

static int cmd_acl_compile(int argc, char **argv)
{
    const char *dir = NULL, *policy = NULL, *out = NULL;
    uint64_t version = 0;
    struct engine_acl *a = NULL;
    void *blob = NULL;
    size_t len = 0;
    int rc = 1, r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
            policy = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            if (cmd_acl_u64(argv[++i], &version) < 0)
                return cmd_acl_usage("--version needs a decimal number");
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-')
            return cmd_acl_usage("compile: unknown option or missing value");
        else if (dir == NULL)
            dir = argv[i];
        else
            return cmd_acl_usage("compile takes one POLICYDIR");
    }
    if (dir == NULL || out == NULL)
        return cmd_acl_usage("compile needs POLICYDIR and -o BLOB");
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
    int r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            if (cmd_acl_u64(argv[++i], &it) < 0 || it < ENGINE_ACL_ITER_MIN ||
                it > ENGINE_ACL_ITER_MAX)
                return cmd_acl_usage("--iterations needs a number from 1000 to 10000000");
        } else if (user == NULL && argv[i][0] != '-') {
            user = argv[i];
        } else {
            return cmd_acl_usage("passwd takes one USER and --iterations N");
        }
    }
    if (user == NULL)
        return cmd_acl_usage("passwd needs a USER");
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
