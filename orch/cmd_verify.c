/* cmd_verify.c — `unisec verify --store STORE`: a history that proves itself. Every commit of
 * main must be signed by an allowed signer; every deployment record (a commit that changes
 * state/deployed) must name a commit of main's history, and the image it records for its node
 * must be the one that commit builds: rebuilt from that commit's files, it has the recorded id
 * and the very bytes of the image kept in the store's image cache. */
#include "orch_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sha256.h"

#define VERIFY_DEPLOYED "state/deployed"

/* One commit of main, oldest first once collected. */
struct verify_commit {
    char id[41], parent[41];
    char *message;
};

struct verify {
    struct engine_store *store;
    const char *dir;
    const char *cache;
    struct verify_commit *v;
    size_t n, cap;
    char tmp[PATH_MAX]; /* rebuilt images go here */
};

/* What a record says of its node: a line of state/deployed. */
struct verify_line {
    char image[BUILDER_ID_LEN + 1], level[256], pdp[16], policy[256];
    uint64_t version;
};

static int verify_collect(const struct engine_store_commit_info *info, void *arg)
{
    struct verify *vf = arg;
    struct verify_commit *c;

    if (ENGINE_GROW(&vf->v, &vf->cap, vf->n + 1) < 0)
        return -ENOMEM;
    c = &vf->v[vf->n];
    memcpy(c->id, info->id, sizeof(c->id));
    memcpy(c->parent, info->parent, sizeof(c->parent));
    if ((c->message = strdup(info->message)) == NULL)
        return -ENOMEM;
    vf->n++;
    return 0;
}

/* The value of trailer KEY in MSG (a line "KEY: VALUE") into OUT, or "". */
static void verify_trailer(const char *msg, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);

    out[0] = '\0';
    for (const char *p = msg; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == ':' && p[k + 1] == ' ') {
            snprintf(out, cap, "%.*s", (int)strcspn(p + k + 2, "\n"), p + k + 2);
            return;
        }
}

/* NODE's line of state/deployed TEXT into L; -ENOENT when it has none. */
static int verify_line_parse(const char *text, const char *node, struct verify_line *l)
{
    size_t k = strlen(node);
    const char *p = text;

    memset(l, 0, sizeof(*l));
    for (; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, node, k) == 0 && p[k] == ' ')
            break;
    if (p == NULL || *p == '\0')
        return -ENOENT;
    size_t len = strcspn(p, "\n");
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", (int)len, p);
    for (char *save = NULL, *tok = strtok_r(line + k, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "image=", 6) == 0)
            snprintf(l->image, sizeof(l->image), "%s", tok + 6);
        else if (strncmp(tok, "level=", 6) == 0)
            snprintf(l->level, sizeof(l->level), "%s", tok + 6);
        else if (strncmp(tok, "pdp=", 4) == 0)
            snprintf(l->pdp, sizeof(l->pdp), "%s", tok + 4);
        else if (strncmp(tok, "policy=", 7) == 0)
            snprintf(l->policy, sizeof(l->policy), "%s", tok + 7);
        else if (strncmp(tok, "version=", 8) == 0)
            l->version = strtoull(tok + 8, NULL, 10);
    }
    return l->image[0] && l->level[0] ? 0 : -EINVAL;
}

/* Reads PATH at commit ID; an absent file reads as NULL. */
static int verify_read(struct verify *vf, const char *id, const char *path, char **data,
                       size_t *len)
{
    int r = engine_store_read_at(vf->store, id, path, data, len, NULL);
    return r == -ENOENT ? 0 : r;
}

/* Compares two files byte for byte: 1 same, 0 different, -errno. */
static int verify_same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int r = 1, ca, cb;

    if (fa == NULL || fb == NULL) {
        r = -errno;
        goto out;
    }
    do {
        ca = getc(fa);
        cb = getc(fb);
        if (ca != cb)
            r = 0;
    } while (r == 1 && ca != EOF);
out:
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return r;
}

/* The policy files of commit ID, parsed and checked together. */
static int verify_acl(struct verify *vf, const char *id, struct engine_acl **out,
                      struct engine_diag *d)
{
    static const struct {
        const char *path;
        enum engine_acl_file kind;
    } files[] = {
        {"policy/groups", ENGINE_ACL_FILE_GROUPS},
        {"policy/acl", ENGINE_ACL_FILE_ACL},
        {"policy/credentials", ENGINE_ACL_FILE_CREDENTIALS},
    };
    int r;

    if ((r = engine_acl_new(out)) < 0)
        return r;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *data = NULL;
        size_t len = 0;
        if ((r = verify_read(vf, id, files[i].path, &data, &len)) == 0 && data != NULL)
            r = engine_acl_parse(*out, files[i].kind, files[i].path, data, len, d);
        free(data);
        if (r < 0)
            return r;
    }
    return engine_acl_check_groups(*out, d);
}

/* Rebuilds L's image of NODE from commit SRC for TARGET and compares it with the record. */
static int verify_rebuild(struct verify *vf, const char *src, const char *node,
                          const struct verify_line *l, enum engine_target target,
                          struct engine_diag *d)
{
    struct engine_topology *t = NULL;
    struct engine_topology_state *st = NULL;
    struct engine_topology_derived *x = NULL;
    struct engine_acl *acl = NULL;
    struct orch_level lv = {0};
    struct builder *b = NULL;
    struct builder_result res = {0};
    struct builder_spec spec;
    struct builder_options bopt = {.cache_dir = vf->cache};
    const struct engine_topology_plan *p;
    char *topo = NULL, *levels = NULL, *props = NULL, kept[PATH_MAX], built[PATH_MAX];
    size_t tlen = 0, llen = 0, plen = 0, i;
    const char *now;
    int r;

    if ((r = verify_read(vf, src, "topology.yaml", &topo, &tlen)) < 0 ||
        (r = verify_read(vf, src, "state/levels", &levels, &llen)) < 0 ||
        (r = verify_read(vf, src, "state/properties", &props, &plen)) < 0)
        goto out;
    if (topo == NULL) {
        r = engine_diag_add(d, NULL, 0, 0, "commit %.12s has no topology.yaml", src);
        goto out;
    }
    if ((r = engine_topology_load_buffer(&t, topo, tlen, "topology.yaml", NULL, d)) < 0 ||
        (r = engine_topology_state_parse(&st, t, levels, llen, props, plen, d)) < 0 ||
        (r = engine_topology_derive_plans(&x, t, st, target, d)) < 0)
        goto out;
    if ((now = engine_topology_state_level(st, node)) == NULL || strcmp(now, l->level) != 0) {
        r = engine_diag_add(d, NULL, 0, 0, "it records %s at level %s, but commit %.12s sets %s",
                            node, l->level, src, now ? now : "no such node");
        goto out;
    }
    p = engine_topology_derived_find(x, node);
    for (i = 0; p != NULL && i < p->nimages && strcmp(p->images[i].level, l->level) != 0; i++)
        ;
    if (p == NULL || i == p->nimages || p->images[i].artifact == NULL) {
        r = engine_diag_add(d, NULL, 0, 0, "commit %.12s has no image of %s at level %s", src, node,
                            l->level);
        goto out;
    }
    if ((r = orch_level_copy(&lv, &p->images[i])) < 0)
        goto out;
    if (lv.pdp == ENGINE_PDP_INTERNAL && lv.policy != NULL &&
        ((r = verify_acl(vf, src, &acl, d)) < 0 ||
         (r = orch_policy_compile(&lv.blob, acl, lv.policy, NULL, l->version, d)) < 0))
        goto out;
    orch_level_spec(&spec, node, &lv, engine_target_name(target));
    if ((r = builder_new(&b, &bopt, d)) < 0 ||
        (r = builder_build(b, &spec, 1, vf->tmp, &res, d)) < 0)
        goto out;
    if (strcmp(res.id, l->image) != 0) {
        r = engine_diag_add(d, NULL, 0, 0,
                            "it records image %.12s, but commit %.12s builds image %.12s", l->image,
                            src, res.id);
        goto out;
    }
    snprintf(kept, sizeof(kept), "%s/.git/unisec-images/%s/image", vf->dir, l->image);
    snprintf(built, sizeof(built), "%s/image", res.dir);
    if (access(kept, F_OK) == 0 && (r = verify_same_file(kept, built)) != 1) {
        r = engine_diag_add(d, NULL, 0, 0,
                            "the image %.12s kept in the store differs from the one commit %.12s "
                            "builds%s",
                            l->image, src, r < 0 ? " (unreadable)" : "");
        goto out;
    }
    r = access(kept, F_OK) == 0 ? 1 : 0; /* 1: bytes compared, 0: the id only (not kept) */
out:
    builder_results_free(&res, res.dir != NULL);
    builder_free(b);
    orch_level_free(&lv);
    engine_acl_free(acl);
    engine_topology_derived_free(x);
    engine_topology_state_free(st);
    engine_topology_free(t);
    free(topo);
    free(levels);
    free(props);
    return r;
}

/* Checks record C (a commit that changes state/deployed). Prints what holds; D says why not. */
static int verify_record(struct verify *vf, const struct verify_commit *c, struct engine_diag *d)
{
    char node[256] = "", src[64], tgt[16], *text = NULL;
    const char *s = c->message, *arrow;
    enum engine_target target;
    struct verify_line l;
    size_t len = 0;
    int r;

    if (strncmp(s, "deploy: ", 8) == 0 && (arrow = strstr(s + 8, " -> ")) != NULL)
        snprintf(node, sizeof(node), "%.*s", (int)(arrow - s - 8), s + 8);
    verify_trailer(s, ORCH_TRAILER_COMMIT, src, sizeof(src));
    verify_trailer(s, ORCH_TRAILER_TARGET, tgt, sizeof(tgt));
    if (node[0] == '\0' || strlen(src) != 40 || engine_target_parse(&target, tgt) < 0)
        return engine_diag_add(d, NULL, 0, 0,
                               "it changes %s but is no deployment record of unisec (a "
                               "`deploy: NODE -> image` message with %s and %s trailers)",
                               VERIFY_DEPLOYED, ORCH_TRAILER_COMMIT, ORCH_TRAILER_TARGET);
    if ((r = engine_store_in_main(vf->store, src, d)) <= 0)
        return r < 0 ? r
                     : engine_diag_add(d, NULL, 0, 0,
                                       "it realises commit %.12s, which is not in main's history",
                                       src);
    if ((r = verify_read(vf, c->id, VERIFY_DEPLOYED, &text, &len)) < 0)
        return r;
    r = text != NULL ? verify_line_parse(text, node, &l) : -ENOENT;
    free(text);
    if (r < 0)
        return engine_diag_add(d, NULL, 0, 0, "%s has no line of node %s", VERIFY_DEPLOYED, node);
    if ((r = verify_rebuild(vf, src, node, &l, target, d)) < 0)
        return r;
    printf("record %.12s: %s image %.12s (%s) is what commit %.12s builds (%s)\n", c->id, node,
           l.image, l.level, src, r == 1 ? "same bytes as the kept image" : "same id; not kept");
    return 0;
}

static int verify_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Walks main oldest first: each commit's signature, then, for a record, what it records.
 * Returns the exit status; names the first commit or record that does not hold. */
static int verify_walk(struct verify *vf)
{
    struct engine_diag d = {0};
    const struct verify_commit *bad = NULL;
    const char *what = "commit";
    size_t records = 0;
    int r;

    if ((r = engine_store_log(vf->store, SIZE_MAX, verify_collect, vf, &d)) < 0) {
        engine_diag_print(&d, stderr);
        engine_diag_free(&d);
        return 1;
    }
    for (size_t i = 0; i < vf->n / 2; i++) {
        struct verify_commit t = vf->v[i];
        vf->v[i] = vf->v[vf->n - 1 - i];
        vf->v[vf->n - 1 - i] = t;
    }
    for (size_t i = 0; i < vf->n && bad == NULL; i++) {
        struct verify_commit *c = &vf->v[i];
        char who[256], *now = NULL, *before = NULL;
        size_t nlen = 0, blen = 0;
        int rec = 0;
        if ((r = verify_read(vf, c->id, VERIFY_DEPLOYED, &now, &nlen)) == 0 && c->parent[0])
            r = verify_read(vf, c->parent, VERIFY_DEPLOYED, &before, &blen);
        if (r == 0)
            rec = (now != NULL) != (before != NULL) ||
                  (now != NULL && (nlen != blen || memcmp(now, before, nlen) != 0));
        free(now);
        free(before);
        if (rec) {
            what = "record";
            records++;
        }
        if (r < 0 || (r = engine_store_verify_commit(vf->store, c->id, who, &d)) < 0 ||
            (rec && (r = verify_record(vf, c, &d)) < 0))
            bad = c;
        else
            what = "commit";
    }
    if (bad != NULL) {
        char *why = engine_diag_join(&d);
        if (why != NULL)
            for (char *p = why; *p; p++)
                if (*p == '\n')
                    *p = ';';
        fprintf(stderr, "unisec verify: %s %s (%.*s) does not hold: %s\n", what, bad->id,
                (int)strcspn(bad->message, "\n"), bad->message, why ? why : strerror(-r));
        free(why);
        engine_diag_free(&d);
        return 1;
    }
    engine_diag_free(&d);
    printf("unisec verify: %s holds: %zu commits, each signed by an allowed signer; %zu "
           "deployment records, each built from a commit of main\n",
           vf->dir, vf->n, records);
    return 0;
}

int orch_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "store", .has_arg = required_argument, .val = 'S'},
        {.name = "cache", .has_arg = required_argument, .val = 'C'},
        {0},
    };
    struct engine_cmd cmd = {.name = "unisec verify",
                             .usage = "unisec verify --store=STORE [--cache=DIR]",
                             .longs = opts};
    struct verify vf = {0};
    struct engine_diag d = {0};
    const char *base = getenv("TMPDIR");
    int opt, rc = 1;

    while ((opt = engine_cmd_next(&cmd, argc, argv)) != -1) {
        if (opt == 'S')
            vf.dir = optarg;
        else if (opt == 'C')
            vf.cache = optarg;
        else
            return ENGINE_CMD_USAGE;
    }
    if (optind != argc)
        return engine_cmd_usage(&cmd, "unexpected '%s' (the store is given with --store)",
                                argv[optind]);
    if (vf.dir == NULL)
        return engine_cmd_usage(&cmd, "expected --store=STORE");
    if (engine_store_open(&vf.store, vf.dir, &d) < 0) {
        engine_diag_print(&d, stderr);
        goto out;
    }
    snprintf(vf.tmp, sizeof(vf.tmp), "%s/unisec-verify-XXXXXX",
             base != NULL && base[0] ? base : "/tmp");
    if (mkdtemp(vf.tmp) == NULL) {
        fprintf(stderr, "unisec verify: %s: %s\n", vf.tmp, strerror(errno));
        vf.tmp[0] = '\0';
        goto out;
    }
    rc = verify_walk(&vf);
out:
    if (vf.tmp[0])
        nftw(vf.tmp, verify_rm, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < vf.n; i++)
        free(vf.v[i].message);
    free(vf.v);
    engine_store_free(vf.store);
    engine_diag_free(&d);
    return rc;
}
