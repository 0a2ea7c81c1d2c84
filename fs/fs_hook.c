/* fs_hook.c — `unisec hook`: the server side of a store's remote. `pre-receive` refuses a push
 * that a mount would refuse (main's new tree checked as a whole, as fs_snap_build() checks a
 * write; signatures when the repository sets unisec.signedOnly) and keeps each host's ref of
 * deployment records append-only and well-formed; `install` writes the hook that runs it. The
 * pushed objects are read with libgit2 where git keeps them during the hook (its quarantine);
 * no work tree is checked out, and every file is bounded before it is read. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "fs_int.h"
#include "fs_tls.h"
#include "orch/orch.h"

/* Ref updates one push may carry, records one push may add to a host's ref, and the longest
 * line of the hook's input (two ids and a ref name). */
#define HOOK_UPDATES_MAX 1000
#define HOOK_RECORDS_MAX 10000
#define HOOK_LINE_MAX    4096
/* The largest state/deployed of a record (a line per node). */
#define HOOK_RECORD_MAX (1u << 20)

/* What marks a hook this command wrote (and may write again). */
#define HOOK_MARK "# written by `unisec hook install`"

/* main's tree: the store's files, and room for an operator's README or .gitignore. */
static const struct engine_store_tree_limits hook_main_limits = {
    .entries = 4096, .depth = 16, .tree_bytes = 1u << 20, .blob_bytes = FS_POLICY_MAX};
/* A record's tree: state/ and state/deployed. */
static const struct engine_store_tree_limits hook_record_limits = {
    .entries = 2, .depth = 1, .tree_bytes = 4096, .blob_bytes = HOOK_RECORD_MAX};

static const char hook_zero[41] = "0000000000000000000000000000000000000000";

struct hook {
    struct engine_store *store;
    enum engine_target target;
    char main_tip[41]; /* main once this push lands: the pushed main, else the current one */
    int signed_only;
};

static int hook_is_zero(const char *id)
{
    return strcmp(id, hook_zero) == 0;
}

/* A file of main's tree past its own bound (topology.yaml's and inputs.yaml's are smaller than
 * the others'). */
static int hook_main_size(const char *path, size_t size, void *arg)
{
    struct engine_diag *d = arg;

    if ((strcmp(path, fs_file_path(FS_FILE_TOPOLOGY)) == 0 ||
         strcmp(path, fs_file_path(FS_FILE_INPUTS)) == 0) &&
        size > FS_TOPOLOGY_MAX)
        return engine_diag_add(d, path, 0, 0, "%zu bytes (at most %u)", size, FS_TOPOLOGY_MAX);
    return 0;
}

/* Records go on the hosts' refs: a push that changes main's state/deployed (which stores
 * kept there before) is refused; a history pushed whole (OLD none) keeps its own. */
static int hook_main_records(struct hook *h, const char *old, const char *new,
                             struct engine_diag *d)
{
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    int rc = 0, ra, rb;

    if (hook_is_zero(old))
        return 0;
    ra = engine_store_read_at(h->store, old, ENGINE_STORE_DEPLOYED_PATH, &a, &alen, NULL);
    rb = engine_store_read_at(h->store, new, ENGINE_STORE_DEPLOYED_PATH, &b, &blen, NULL);
    if (ra != rb || (ra == 0 && (alen != blen || memcmp(a, b, alen) != 0)))
        rc = engine_diag_add(d, ENGINE_STORE_DEPLOYED_PATH, 0, 0,
                             "deployment records are not changed on main: each host commits its "
                             "own on %sHOST",
                             ENGINE_STORE_DEPLOYED_PREFIX);
    free(a);
    free(b);
    return rc;
}

/* ---- what no push may carry: a private key; what main's tls/ must hold ---- */

static int hook_no_key(const char *commit, const char *path, const char *data, size_t len,
                       void *arg)
{
    int line = data != NULL ? engine_tls_key_line(data, len) : 0;

    if (line == 0)
        return 0;
    return engine_diag_add(arg, path, line, 1,
                           "a PEM private key (commit %.12s): private keys never go into the "
                           "repository; a node's key is written to nodes/NODE/tls/key through a "
                           "mount, which keeps it in that host's store only",
                           commit);
}

/* Every file the push brings to REF (at NEW), of every new commit: none holds a private key. */
static int hook_keys(struct hook *h, const char *ref, const char *new, struct engine_diag *d)
{
    int rc;

    if (hook_is_zero(new))
        return 0;
    if ((rc = engine_store_new_files(h->store, new, HOOK_RECORDS_MAX, FS_POLICY_MAX, hook_no_key, d,
                                     d)) < 0 &&
        rc != -EINVAL)
        engine_diag_add(d, ref, 0, 0, "its files could not all be checked for private keys");
    return rc;
}

/* The nodes whose tls/ files a change of main touches. */
struct hook_tls {
    char **node;
    size_t n, cap;
    struct engine_diag *d;
};

/* tls/NODE/cert or tls/NODE/key.fingerprint: NODE noted; anything else under tls/ refused. */
static int hook_tls_path(const char *commit, const char *path, const char *data, size_t len,
                         void *arg)
{
    struct hook_tls *t = arg;
    const char *node = path + 4, *slash = strchr(node, '/');

    (void)commit;
    (void)data;
    (void)len;
    if (strncmp(path, "tls/", 4) != 0)
        return 0;
    if (slash == NULL || slash == node || strchr(slash + 1, '/') != NULL ||
        (strcmp(slash + 1, "cert") != 0 && strcmp(slash + 1, "key.fingerprint") != 0))
        return engine_diag_add(t->d, path, 0, 0,
                               "tls/ holds only NODE/cert and NODE/key.fingerprint (a node's key "
                               "stays on its host)");
    for (size_t i = 0; i < t->n; i++)
        if (strncmp(t->node[i], node, (size_t)(slash - node)) == 0 &&
            t->node[i][slash - node] == '\0')
            return 0;
    if (engine_grow((void **)&t->node, &t->cap, t->n + 1, sizeof(*t->node)) < 0 ||
        (t->node[t->n] = strndup(node, (size_t)(slash - node))) == NULL)
        return -ENOMEM;
    t->n++;
    return 0;
}

/* NODE's tls/ at commit NEW: its chain parses and is valid now, and key.fingerprint names the
 * chain's key (the key a host keeps for it); or neither file. */
static int hook_tls_node(struct hook *h, const char *new, const char *node, struct engine_diag *d)
{
    char cert_path[FS_NAME_MAX + 16], fp_path[FS_NAME_MAX + 32], want[ENGINE_TLS_FP_TEXT];
    struct fs_text cert = {0}, fp = {0};
    struct engine_tls_info info;
    char hex[65];
    int rc = 0, rcert, rfp;

    snprintf(cert_path, sizeof(cert_path), "tls/%s/cert", node);
    snprintf(fp_path, sizeof(fp_path), "tls/%s/key.fingerprint", node);
    rcert = engine_store_read_at(h->store, new, cert_path, &cert.data, &cert.len, NULL);
    rfp = engine_store_read_at(h->store, new, fp_path, &fp.data, &fp.len, NULL);
    if (rcert == -ENOENT && rfp == -ENOENT)
        goto out; /* the node's TLS removed */
    if (rcert < 0 || rfp < 0) {
        rc = engine_diag_add(d, rcert < 0 ? cert_path : fp_path, 0, 0,
                             "missing: a node's TLS is its certificate chain and the "
                             "fingerprint of its key, together (a mount writes both)");
        goto out;
    }
    struct engine_tls_input in = {.cert = cert.data,
                                  .cert_len = cert.len,
                                  .cert_name = cert_path,
                                  .now = (int64_t)time(NULL)};
    if ((rc = engine_tls_check(&in, &info, NULL, NULL, d)) < 0)
        goto out;
    engine_tls_fingerprint_text(info.fingerprint, want);
    if (fs_tls_fp_hex(&fp, hex) < 0)
        rc = engine_diag_add(d, fp_path, 1, 1, "not sha256: and 64 hex digits");
    else if (strcmp(want + 7, hex) != 0)
        rc = engine_diag_add(d, fp_path, 1, 1,
                             "names key sha256:%.16s..., but the certificate's key is %.23s...: "
                             "no host holds a key for this chain",
                             hex, want);
out:
    fs_text_free(&cert);
    fs_text_free(&fp);
    return rc;
}

/* main moving from OLD to NEW: the tls/ files it changes, checked. */
static int hook_tls(struct hook *h, const char *old, const char *new, struct engine_diag *d)
{
    struct hook_tls t = {.d = d};
    int rc = engine_store_diff_files(h->store, hook_is_zero(old) ? NULL : old, new, FS_POLICY_MAX,
                                     hook_tls_path, &t, d);

    for (size_t i = 0; i < t.n; i++) {
        if (rc == 0)
            rc = hook_tls_node(h, new, t.node[i], d);
        free(t.node[i]);
    }
    free(t.node);
    return rc;
}

/* main moving from OLD to NEW: checked as a mount checks the change. */
static int hook_main(struct hook *h, const char *old, const char *new, struct engine_diag *d)
{
    struct fs_text file[FS_FILE_N] = {{0}};
    struct fs_rules_set acld = {0};
    struct fs_snap *snap = NULL;
    char bad[41];
    int rc;

    if (hook_is_zero(new))
        return engine_diag_add(d, ENGINE_STORE_BRANCH, 0, 0,
                               "main is the store's desired state; it is never deleted");
    if (h->signed_only &&
        (rc = engine_store_verify_new(h->store, hook_is_zero(old) ? "" : old, new, bad, d)) < 0)
        return engine_diag_add(d, ENGINE_STORE_BRANCH, 0, 0,
                               "the repository takes only commits signed by an allowed signer "
                               "(%s); commit %.12s is not",
                               ENGINE_STORE_SIGNED_ONLY, bad);
    if ((rc = engine_store_tree_check(h->store, new, &hook_main_limits, hook_main_size, d, d)) < 0)
        return rc;
    if ((rc = hook_main_records(h, old, new, d)) < 0 || (rc = hook_tls(h, old, new, d)) < 0)
        return rc;
    for (int f = 0; f < FS_FILE_N; f++) {
        rc = engine_store_read_at(h->store, new, fs_file_path(f), &file[f].data, &file[f].len, d);
        if (rc < 0 && rc != -ENOENT) {
            for (int g = 0; g < FS_FILE_N; g++)
                fs_text_free(&file[g]);
            return rc;
        }
    }
    if ((rc = fs_rules_read_store(&acld, h->store, new, NULL, d)) < 0) {
        for (int g = 0; g < FS_FILE_N; g++)
            fs_text_free(&file[g]);
        return rc;
    }
    /* The whole state as a mount takes it: policy files together (policy/acl.d's too),
     * topology, state, the interpreters on the target. */
    rc = fs_snap_build(&snap, file, &acld, new, NULL, NULL, NULL, h->target, d);
    fs_snap_free(snap);
    return rc;
}

/* One commit, as the log walk reports it: what a record check needs. */
struct hook_commit {
    char parent[41];
    unsigned parents;
    char *message;
};

static int hook_commit_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct hook_commit *c = arg;

    memcpy(c->parent, info->parent, sizeof(c->parent));
    c->parents = info->parents;
    c->message = strdup(info->message);
    return c->message != NULL ? 1 : -ENOMEM;
}

static int hook_record_path(const char *path, size_t size, void *arg)
{
    (void)size;
    if (strcmp(path, ENGINE_STORE_DEPLOYED_PATH) != 0)
        return engine_diag_add(arg, path, 0, 0, "a record holds only %s",
                               ENGINE_STORE_DEPLOYED_PATH);
    return 0;
}

/* Record ID of host ref REF: one parent, one file, a record's message naming a commit of main. */
static int hook_record(struct hook *h, const char *ref, const char *id, struct hook_commit *c,
                       struct engine_diag *d)
{
    struct orch_record_info info;
    char *text = NULL;
    size_t len;
    int rc;

    c->message = NULL;
    if ((rc = engine_store_log_from(h->store, id, 1, hook_commit_cb, c, d)) < 0)
        return rc;
    if (c->parents > 1)
        return engine_diag_add(d, ref, 0, 0, "commit %.12s is a merge; records form one line", id);
    if ((rc = engine_store_tree_check(h->store, id, &hook_record_limits, hook_record_path, d, d)) <
            0 ||
        (rc = engine_store_read_at(h->store, id, ENGINE_STORE_DEPLOYED_PATH, &text, &len, d)) < 0)
        return engine_diag_add(d, ref, 0, 0, "commit %.12s is no deployment record", id);
    rc = orch_record_parse(&info, c->message, text, d);
    free(text);
    if (rc < 0)
        return engine_diag_add(d, ref, 0, 0, "commit %.12s is no deployment record", id);
    if ((rc = engine_store_descends(h->store, h->main_tip, info.realises, d)) <= 0)
        return rc < 0 ? rc
                      : engine_diag_add(d, ref, 0, 0,
                                        "record %.12s realises commit %.12s, which is not in "
                                        "main's history",
                                        id, info.realises);
    return 0;
}

/* A host's ref of records moving from OLD to NEW: never deleted, never rewritten, and every
 * new commit a record. */
static int hook_records(struct hook *h, const char *ref, const char *old, const char *new,
                        struct engine_diag *d)
{
    const char *host = ref + strlen(ENGINE_STORE_DEPLOYED_PREFIX);
    char id[41];
    int rc = 0, n = 0;

    if (engine_store_host_check(host) < 0)
        return engine_diag_add(d, ref, 0, 0, "'%s' cannot name a host", host);
    if (hook_is_zero(new))
        return engine_diag_add(d, ref, 0, 0, "a host's records are never deleted");
    if (!hook_is_zero(old) && (rc = engine_store_descends(h->store, new, old, d)) <= 0)
        return rc < 0 ? rc
                      : engine_diag_add(d, ref, 0, 0,
                                        "a host's records are only added to: %.12s does not "
                                        "follow %.12s",
                                        new, old);
    snprintf(id, sizeof(id), "%s", new);
    while (id[0] && (hook_is_zero(old) || strcmp(id, old) != 0)) {
        struct hook_commit c;
        if (++n > HOOK_RECORDS_MAX)
            return engine_diag_add(d, ref, 0, 0, "more than %d records in one push",
                                   HOOK_RECORDS_MAX);
        rc = hook_record(h, ref, id, &c, d);
        free(c.message);
        if (rc < 0)
            return rc;
        memcpy(id, c.parent, sizeof(id));
    }
    /* Signers judged now, as for main: a retired key brings no new record. (After the walk,
     * which bounds how many there are.) */
    if (h->signed_only &&
        (rc = engine_store_verify_new(h->store, hook_is_zero(old) ? "" : old, new, id, d)) < 0)
        return engine_diag_add(d, ref, 0, 0,
                               "the repository takes only records signed by an allowed signer "
                               "(%s); %.12s is not",
                               ENGINE_STORE_SIGNED_ONLY, id);
    return 0;
}

/* One line "OLD NEW REF" of the hook's input. */
struct hook_update {
    char old[41], new[41];
    char *ref;
};

static int hook_parse(struct hook_update *u, char *line)
{
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

    line[strcspn(line, "\n")] = '\0';
    if (sp1 == NULL || sp2 == NULL || sp1 - line != 40 || sp2 - sp1 - 1 != 40 || !sp2[1])
        return -EINVAL;
    snprintf(u->old, sizeof(u->old), "%.40s", line);
    snprintf(u->new, sizeof(u->new), "%.40s", sp1 + 1);
    if (strspn(u->old, "0123456789abcdef") != 40 || strspn(u->new, "0123456789abcdef") != 40)
        return -EINVAL;
    return (u->ref = strdup(sp2 + 1)) != NULL ? 0 : -ENOMEM;
}

/* Checks update U; prints why it is refused. Returns 1 when refused, 0 when not. */
static int hook_check(struct hook *h, const struct hook_update *u)
{
    struct engine_diag d = {0};
    int rc = 0;

    if (strcmp(u->ref, ENGINE_STORE_BRANCH) == 0)
        rc = hook_main(h, u->old, u->new, &d);
    else if (strncmp(u->ref, ENGINE_STORE_DEPLOYED_PREFIX, strlen(ENGINE_STORE_DEPLOYED_PREFIX)) ==
             0)
        rc = hook_records(h, u->ref, u->old, u->new, &d);
    else if (strncmp(u->ref, "refs/unisec/", 12) == 0)
        rc = engine_diag_add(&d, u->ref, 0, 0,
                             "refs/unisec/ is unisec's own; only %sHOST is pushed there",
                             ENGINE_STORE_DEPLOYED_PREFIX);
    /* On every ref, drafts too: what is pushed stays in the repository's objects. */
    if (rc == 0)
        rc = hook_keys(h, u->ref, u->new, &d);
    /* Other branches and tags are drafts: nothing applies them until they reach main. */
    if (rc == 0) {
        engine_diag_free(&d);
        return 0;
    }
    engine_diag_print(&d, stderr);
    fprintf(stderr, "unisec hook: refused %s (%.12s): %s\n", u->ref,
            hook_is_zero(u->new) ? "deletion" : u->new,
            strcmp(u->ref, ENGINE_STORE_BRANCH) == 0 ? "a mount would not accept it" : "see above");
    engine_diag_free(&d);
    return 1;
}

static int hook_pre_receive(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "target", .has_arg = required_argument, .val = 'T'},
        {0},
    };
    struct engine_cmd cmd = {.name = "unisec hook pre-receive",
                             .usage = "unisec hook pre-receive [--target=hvt|spt] < UPDATES",
                             .longs = opts};
    struct hook h = {.target = ENGINE_TARGET_HVT};
    struct hook_update *u = calloc(HOOK_UPDATES_MAX, sizeof(*u));
    struct engine_diag d = {0};
    char line[HOOK_LINE_MAX + 2];
    size_t n = 0;
    int opt, refused = 0, rc = 1;

    if (u == NULL)
        return 1;
    while (rc == 1 && (opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'T' && engine_target_parse(&h.target, optarg) == 0)
            continue;
        rc = opt == 'T' ? engine_cmd_usage(&cmd, "--target '%s': expected hvt or spt", optarg)
                        : ENGINE_CMD_USAGE;
    }
    if (rc == 1 && optind != argc)
        rc = engine_cmd_usage(&cmd, "unexpected '%s'", argv[optind]);
    if (rc != 1) {
        free(u);
        return rc;
    }
    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (n == HOOK_UPDATES_MAX || strchr(line, '\n') == NULL || hook_parse(&u[n], line) < 0) {
            fprintf(stderr, "unisec hook: refused the push: %s\n",
                    n == HOOK_UPDATES_MAX ? "more ref updates than it takes"
                                          : "an input line is not `OLD NEW REF`");
            goto out;
        }
        n++;
    }
    if (engine_store_open_repo(&h.store, NULL, &d) < 0) {
        engine_diag_print(&d, stderr);
        fprintf(stderr, "unisec hook: refused the push: cannot read the repository\n");
        goto out;
    }
    h.signed_only = engine_store_signed_only(h.store);
    engine_store_head(h.store, h.main_tip, NULL);
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].ref, ENGINE_STORE_BRANCH) == 0 && !hook_is_zero(u[i].new))
            memcpy(h.main_tip, u[i].new, sizeof(h.main_tip));
    for (size_t i = 0; i < n; i++)
        refused += hook_check(&h, &u[i]);
    rc = refused ? 1 : 0;
out:
    for (size_t i = 0; i < n; i++)
        free(u[i].ref);
    free(u);
    engine_store_free(h.store);
    engine_diag_free(&d);
    return rc;
}

/* Writes TEXT to PATH (mode 0755) through a temporary file, durably. */
static int hook_write(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    size_t len = strlen(text);
    int fd, rc = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.unisec-tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0755)) < 0)
        return -errno;
    if (write(fd, text, len) != (ssize_t)len || fchmod(fd, 0755) < 0 || fsync(fd) < 0)
        rc = errno ? -errno : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int hook_install(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "target", .has_arg = required_argument, .val = 'T'},
        {.name = "force", .has_arg = no_argument, .val = 'F'},
        {0},
    };
    struct engine_cmd cmd = {.name = "unisec hook install",
                             .usage = "unisec hook install [--target=hvt|spt] [--force] REPOSITORY",
                             .longs = opts};
    enum engine_target target = ENGINE_TARGET_HVT;
    struct engine_store *s = NULL;
    struct engine_diag d = {0};
    char exe[PATH_MAX], path[PATH_MAX], old[512], *text = NULL;
    int opt, force = 0, rc = 1, fd;
    ssize_t got;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'F')
            force = 1;
        else if (opt == 'T' && engine_target_parse(&target, optarg) < 0)
            return engine_cmd_usage(&cmd, "--target '%s': expected hvt or spt", optarg);
        else if (opt != 'T')
            return ENGINE_CMD_USAGE;
    }
    if (optind + 1 != argc)
        return engine_cmd_usage(&cmd, optind == argc ? "expected the repository"
                                                     : "expected one repository");
    if (engine_store_open_repo(&s, argv[optind], &d) < 0) {
        engine_diag_print(&d, stderr);
        goto out;
    }
    /* The hook runs this very program, by its absolute path. */
    if ((got = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0) {
        fprintf(stderr, "unisec hook install: cannot tell where unisec is: %s\n", strerror(errno));
        goto out;
    }
    exe[got] = '\0';
    if (strchr(exe, '\'') != NULL || strchr(exe, '\n') != NULL) {
        fprintf(stderr, "unisec hook install: the path %s cannot be quoted for sh\n", exe);
        goto out;
    }
    snprintf(path, sizeof(path), "%shooks", engine_store_git_dir(s));
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "unisec hook install: %s: %s\n", path, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof(path), "%shooks/pre-receive", engine_store_git_dir(s));
    /* Another hook is the administrator's: not overwritten unless asked. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
        got = read(fd, old, sizeof(old) - 1);
        close(fd);
        old[got > 0 ? got : 0] = '\0';
        if (!force && strstr(old, HOOK_MARK) == NULL) {
            fprintf(stderr,
                    "unisec hook install: %s exists and was not written by unisec; call unisec "
                    "from it (unisec hook pre-receive reads the same input), or --force\n",
                    path);
            goto out;
        }
    }
    if (asprintf(&text,
                 "#!/bin/sh\n%s: refuses a push that a unisec mount would refuse\n"
                 "# (man unisec-hook). Pushes to main are checked as a whole; a host's records,\n"
                 "# refs/unisec/deployed/HOST, only grow.\n"
                 "exec '%s' hook pre-receive --target=%s\n",
                 HOOK_MARK, exe, engine_target_name(target)) < 0) {
        text = NULL;
        goto out;
    }
    if ((rc = hook_write(path, text)) < 0) {
        fprintf(stderr, "unisec hook install: %s: %s\n", path, strerror(-rc));
        rc = 1;
        goto out;
    }
    printf("%s: runs `%s hook pre-receive --target=%s` for every push\n", path, exe,
           engine_target_name(target));
    rc = 0;
out:
    free(text);
    engine_store_free(s);
    engine_diag_free(&d);
    return rc;
}

int fs_cmd_hook(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "pre-receive") == 0)
        return hook_pre_receive(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "install") == 0)
        return hook_install(argc - 1, argv + 1);
    fprintf(stderr, "usage: unisec hook pre-receive [--target=hvt|spt] < UPDATES\n"
                    "       unisec hook install [--target=hvt|spt] [--force] REPOSITORY\n");
    return 2;
}
