/* cmd_verify.c — `unisec verify --store STORE`: a history that proves itself. Every commit of
 * main must be signed by an allowed signer; every deployment record (each commit of a host's
 * ref refs/unisec/deployed/HOST, and a commit of main that changes state/deployed, as stores
 * made them before) must be signed too, name a commit of main's history, and record for its
 * node the image that commit builds: rebuilt from that commit's files, it has the recorded id
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

/* The base of the records of an internal PDP's image of a base and a patch, compiled once for
 * every record over it (each change until the index's next base): the policy of commit COMMIT
 * at VERSION, whole (BLOB) and as an index with no change applied (X). */
struct verify_base {
    char commit[41];
    char *policy;
    uint64_t version;
    struct orch_blob *blob;
    struct engine_acl_index *x;
};

struct verify_part;

struct verify {
    struct verify_base base;
    struct verify_part *parts; /* rules files parsed alone, by blob id (verify_acl()) */
    size_t nparts, partcap;
    uint64_t acl_serial; /* verify_acl() calls */
    size_t parts_parsed; /* rules files parsed in the run */
    struct engine_store *store;
    const char *dir;
    const char *cache;
    struct verify_commit *v;
    size_t n, cap;
    char tmp[PATH_MAX]; /* rebuilt images go here */
    const char *host;   /* the host whose ref is walked; NULL: main */
    size_t commits, records, hosts;
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

/* Reads PATH at commit ID; an absent file reads as NULL. One that is no file (a link, a
 * directory, a submodule) or is past ENGINE_STORE_FILE_MAX (a store to verify may come from
 * anyone: a larger blob is never read) is refused, named in D (may be NULL), as the mount
 * refuses it. */
static int verify_read_d(struct verify *vf, const char *id, const char *path, char **data,
                         size_t *len, struct engine_diag *d)
{
    struct engine_diag e = {0};
    int r = engine_store_read_max(vf->store, id, path, ENGINE_STORE_FILE_MAX, data, len, &e);
    if (r == -ENOENT)
        r = 0;
    else if (r < 0 && d != NULL)
        engine_diag_move(d, &e);
    engine_diag_free(&e);
    return r;
}

static int verify_read(struct verify *vf, const char *id, const char *path, char **data,
                       size_t *len)
{
    return verify_read_d(vf, id, path, data, len, NULL);
}

/* Compares two files byte for byte, a block at a time (an image is tens of MB at a million
 * rules): 1 same, 0 different, -errno. */
static int verify_same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    char *ba = malloc(1 << 16), *bb = malloc(1 << 16);
    size_t na, nb;
    int r = 1;

    if (fa == NULL || fb == NULL || ba == NULL || bb == NULL) {
        r = ba == NULL || bb == NULL ? -ENOMEM : -errno;
        goto out;
    }
    do {
        na = fread(ba, 1, 1 << 16, fa);
        nb = fread(bb, 1, 1 << 16, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            r = 0;
    } while (r == 1 && na > 0);
    if (r == 1 && (ferror(fa) || ferror(fb)))
        r = -EIO;
out:
    free(ba);
    free(bb);
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return r;
}

/* One rules file's rules parsed alone, by its git blob id: the records of a run share most of
 * their commits' rules files, and each is parsed once while consecutive commits hold it. */
struct verify_part {
    char blob[41];
    struct engine_acl *part;
    uint64_t used; /* the last verify_acl() that took it */
};

/* One rules file of a commit: its path and blob id. */
struct verify_file {
    char path[ENGINE_STORE_PATH_MAX + 1];
    char blob[41];
};

/* The rules files of commit ID as the mount reads them: policy/acl, then the files of
 * policy/acl.d by name (editors' leftovers skipped), into *OUT (*N; freed with free()). An entry
 * of policy/acl.d the mount refuses (a directory, a link, a bad name) is refused here too, naming
 * it in D (engine_acl_d_entry()): the mount would not have served that commit. */
static int verify_rules_files(struct verify *vf, const char *id, struct verify_file **out,
                              size_t *n, struct engine_diag *d)
{
    struct engine_store_dirent *v = NULL;
    size_t nv = 0, cap = 0;
    int r;

    *out = NULL;
    *n = 0;
    if ((r = engine_store_list_at(vf->store, id, "policy", &v, &nv, NULL)) < 0)
        return r == -ENOENT ? 0 : r;
    for (size_t i = 0; i < nv; i++)
        if (!v[i].is_dir && strcmp(v[i].name, "acl") == 0) {
            if (ENGINE_GROW(out, &cap, *n + 1) < 0) {
                r = -ENOMEM;
                goto out;
            }
            snprintf((*out)[*n].path, sizeof((*out)[*n].path), "policy/acl");
            memcpy((*out)[(*n)++].blob, v[i].id, sizeof(v[i].id));
        }
    engine_store_list_free(v, nv);
    v = NULL;
    nv = 0;
    if ((r = engine_store_list_at(vf->store, id, "policy/acl.d", &v, &nv, NULL)) < 0)
        return r == -ENOENT || r == -ENOTDIR ? 0 : r;
    for (size_t i = 0; i < nv; i++) {
        char path[ENGINE_STORE_PATH_MAX + 1];
        snprintf(path, sizeof(path), "policy/acl.d/%s", v[i].name);
        if ((r = engine_acl_d_entry(path, v[i].name, v[i].is_dir, v[i].is_link, d)) == 1)
            continue;
        if (r < 0)
            goto out;
        if (ENGINE_GROW(out, &cap, *n + 1) < 0) {
            r = -ENOMEM;
            goto out;
        }
        memcpy((*out)[*n].path, path, sizeof(path));
        memcpy((*out)[(*n)++].blob, v[i].id, sizeof(v[i].id));
    }
out:
    engine_store_list_free(v, nv);
    return r;
}

/* The rules of file F of commit ID parsed alone: the one parsed before for its blob id, or parsed
 * now and kept (marked used at SERIAL). *OUT is borrowed from VF's parts. */
static int verify_part_get(struct verify *vf, const char *id, const struct verify_file *f,
                           uint64_t serial, const struct engine_acl **out, struct engine_diag *d)
{
    struct verify_part *p;
    char *data = NULL;
    size_t len = 0;
    int r;

    for (size_t i = 0; i < vf->nparts; i++)
        if (strcmp(vf->parts[i].blob, f->blob) == 0) {
            vf->parts[i].used = serial;
            *out = vf->parts[i].part;
            return 0;
        }
    if (ENGINE_GROW(&vf->parts, &vf->partcap, vf->nparts + 1) < 0)
        return -ENOMEM;
    p = &vf->parts[vf->nparts];
    *p = (struct verify_part){.used = serial};
    if ((r = verify_read_d(vf, id, f->path, &data, &len, d)) < 0 ||
        (r = engine_acl_new(&p->part)) < 0 ||
        (r = engine_acl_parse(p->part, ENGINE_ACL_FILE_ACL, f->path, data != NULL ? data : "", len,
                              d)) < 0) {
        free(data);
        engine_acl_free(p->part);
        return r;
    }
    free(data);
    memcpy(p->blob, f->blob, sizeof(p->blob));
    vf->parts_parsed++;
    *out = vf->parts[vf->nparts++].part;
    return 0;
}

/* Drops the parts neither of the last two verify_acl() (SERIAL and the one before) took: those
 * of the record's commit and of its base, or of two commits in a row, are kept. */
static void verify_parts_trim(struct verify *vf, uint64_t serial)
{
    size_t k = 0;

    for (size_t i = 0; i < vf->nparts; i++) {
        if (vf->parts[i].used + 1 >= serial)
            vf->parts[k++] = vf->parts[i];
        else
            engine_acl_free(vf->parts[i].part);
    }
    vf->nparts = k;
}

static void verify_parts_free(struct verify *vf)
{
    for (size_t i = 0; i < vf->nparts; i++)
        engine_acl_free(vf->parts[i].part);
    free(vf->parts);
    vf->parts = NULL;
    vf->nparts = vf->partcap = 0;
}

/* The policy files of commit ID, checked together: groups, the rules files (each parsed alone,
 * once for every commit that holds its blob), credentials, as the mount puts them together. */
static int verify_acl(struct verify *vf, const char *id, struct engine_acl **out,
                      struct engine_diag *d)
{
    static const struct {
        const char *path;
        enum engine_acl_file kind;
    } people[] = {
        {"policy/groups", ENGINE_ACL_FILE_GROUPS},
        {"policy/credentials", ENGINE_ACL_FILE_CREDENTIALS},
    };
    struct verify_file *f = NULL;
    const struct engine_acl **parts = NULL;
    const char **names = NULL;
    uint64_t serial = ++vf->acl_serial;
    size_t n = 0;
    int r;

    if ((r = engine_acl_new(out)) < 0)
        return r;
    if ((r = verify_rules_files(vf, id, &f, &n, d)) < 0)
        goto out;
    if ((parts = calloc(n + 1, sizeof(*parts))) == NULL ||
        (names = calloc(n + 1, sizeof(*names))) == NULL) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && r != -ENOMEM; i++) {
        int ri = verify_part_get(vf, id, &f[i], serial, &parts[i], d);
        names[i] = f[i].path;
        if (ri < 0 && r == 0)
            r = ri; /* every file's errors are reported at once */
        r = ri == -ENOMEM ? ri : r;
    }
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]) && r == 0; i++) {
        char *data = NULL;
        size_t len = 0;
        if ((r = verify_read_d(vf, id, people[i].path, &data, &len, d)) == 0 && data != NULL)
            r = engine_acl_parse(*out, people[i].kind, people[i].path, data, len, d);
        free(data);
        if (r == 0 && people[i].kind == ENGINE_ACL_FILE_GROUPS)
            r = engine_acl_add_parts(*out, parts, names, n, d);
    }
    if (r == 0)
        r = engine_acl_check_groups(*out, d);
out:
    verify_parts_trim(vf, serial);
    free(parts);
    free(names);
    free(f);
    return r;
}

static void verify_base_clear(struct verify_base *vb)
{
    free(vb->policy);
    orch_blob_put(vb->blob);
    engine_acl_index_free(vb->x);
    *vb = (struct verify_base){0};
}

/* The base L names, of POLICY, in VF's cache: compiled there unless it was for the record before.
 */
static int verify_base_get(struct verify *vf, const struct orch_record_info *l, const char *policy,
                           struct engine_diag *d)
{
    struct verify_base *vb = &vf->base;
    struct engine_acl *acl = NULL;
    int r;

    if (vb->blob != NULL && strcmp(vb->commit, l->base_commit) == 0 &&
        strcmp(vb->policy, policy) == 0 && vb->version == l->base_version)
        return 0;
    verify_base_clear(vb);
    if ((r = verify_acl(vf, l->base_commit, &acl, d)) < 0 ||
        (r = orch_policy_compile(&vb->blob, &(struct orch_desired){.acl = acl}, policy, NULL, 1,
                                 l->base_version, d)) < 0 ||
        (r = engine_acl_index_new(&vb->x, acl, policy, l->base_version)) < 0 ||
        (vb->policy = strdup(policy)) == NULL) {
        engine_acl_free(acl);
        verify_base_clear(vb);
        return r < 0 ? r : -ENOMEM;
    }
    engine_acl_free(acl);
    memcpy(vb->commit, l->base_commit, sizeof(vb->commit));
    vb->version = l->base_version;
    return 0;
}

/* For an internal PDP's image of a base and a patch (L names the base; PATCH, of LEN bytes, is
 * the one its record holds): LV's blob is the base, compiled from the rules of the commit L names
 * at the base's version (once for the records over it: verify_base_get()), and the patch, checked
 * to bring that base to the rules of commit SRC (the rules it removes and adds:
 * engine_acl_index_patch_same()). */
static int verify_base_patch(struct verify *vf, const char *src, const struct orch_record_info *l,
                             const char *patch_text, size_t len, struct orch_level *lv,
                             struct engine_diag *d)
{
    struct engine_acl *now = NULL;
    struct engine_acl_index *x = NULL;
    struct orch_blob *b;
    const char *why = NULL;
    void *patch = NULL;
    int r;

    if (patch_text == NULL)
        return engine_diag_add(d, NULL, 0, 0, "it names a base v%" PRIu64 " but holds no %s",
                               l->base_version, ORCH_RECORD_PATCH);
    if (strlen(l->base_commit) != 40 ||
        (r = engine_store_in_main(vf->store, l->base_commit, d)) == 0)
        return engine_diag_add(d, NULL, 0, 0,
                               "its base v%" PRIu64 " names no commit of main's history (%s)",
                               l->base_version, l->base_commit);
    /* (A patch is read in place, 8-byte aligned.) */
    if (r >= 0 && posix_memalign(&patch, 8, len ? len : 8) != 0)
        r = -ENOMEM;
    else if (r >= 0)
        memcpy(patch, patch_text, len);
    if (r < 0 || (r = verify_base_get(vf, l, lv->policy, d)) < 0 ||
        (r = verify_acl(vf, src, &now, d)) < 0 ||
        (r = engine_acl_index_base_copy(&x, vf->base.x)) < 0)
        goto out;
    /* The same rules as the base (a change taken back): the patch removes and adds none. */
    if ((r = engine_acl_index_sync(x, now, l->version)) == 2)
        r = engine_acl_index_apply(x, NULL, 0, NULL, 0, l->version);
    if (r != 0 || !engine_acl_index_patch_same(x, patch, len, &why)) {
        r = engine_diag_add(d, NULL, 0, 0,
                            "the patch of image %.12s does not bring the rules of commit %.12s "
                            "(v%" PRIu64 ") to those of commit %.12s: %s",
                            l->image, l->base_commit, l->base_version, src,
                            r == 1  ? "they differ in too many rules for a patch"
                            : r < 0 ? strerror(-r)
                                    : why);
        goto out;
    }
    /* LV's blob: the cached base's bytes (counted) and this patch. */
    if ((b = calloc(1, sizeof(*b))) == NULL || (b->name = strdup(lv->policy)) == NULL) {
        free(b);
        r = -ENOMEM;
        goto out;
    }
    b->refs = 1;
    b->whole = 1;
    b->base = orch_blob_ref(vf->base.blob);
    b->data = b->base->data;
    b->len = b->base->len;
    b->version = l->version;
    b->data_version = l->base_version;
    b->patch = patch; /* the blob owns it now */
    b->patch_len = len;
    memcpy(b->base_head, l->base_commit, sizeof(b->base_head));
    lv->blob = b;
    patch = NULL;
out:
    free(patch);
    engine_acl_index_free(x);
    engine_acl_free(now);
    return r;
}

/* Rebuilds L's image of NODE from commit SRC for TARGET and compares it with the record. */
static int verify_rebuild(struct verify *vf, const char *src, const char *node,
                          const struct orch_record_info *l, enum engine_target target,
                          const char *patch, size_t patch_len, struct engine_diag *d)
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
    char *topo = NULL, *levels = NULL, *props = NULL, *inputs = NULL, kept[PATH_MAX],
         built[PATH_MAX];
    size_t tlen = 0, llen = 0, plen = 0, ilen = 0, i;
    const char *now;
    int r;

    if ((r = verify_read_d(vf, src, "topology.yaml", &topo, &tlen, d)) < 0 ||
        (r = verify_read_d(vf, src, "state/levels", &levels, &llen, d)) < 0 ||
        (r = verify_read_d(vf, src, "state/properties", &props, &plen, d)) < 0 ||
        (r = verify_read_d(vf, src, "inputs.yaml", &inputs, &ilen, d)) < 0)
        goto out;
    if (topo == NULL) {
        r = engine_diag_add(d, NULL, 0, 0, "commit %.12s has no topology.yaml", src);
        goto out;
    }
    /* the topology with the values its inputs had (get_input may set a property) */
    if ((r = engine_topology_load_inputs(&t, topo, tlen, "topology.yaml", NULL, inputs, ilen,
                                         "inputs.yaml", d)) < 0 ||
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
    if (lv.pdp == ENGINE_PDP_INTERNAL && lv.policy != NULL && l->base_version != 0) {
        if ((r = verify_base_patch(vf, src, l, patch, patch_len, &lv, d)) < 0)
            goto out;
    } else if (lv.pdp == ENGINE_PDP_INTERNAL && lv.policy != NULL &&
               ((r = verify_acl(vf, src, &acl, d)) < 0 ||
                (r = orch_policy_compile(&lv.blob, &(struct orch_desired){.acl = acl}, lv.policy,
                                         NULL, 1, l->version, d)) < 0))
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
    free(inputs);
    return r;
}

/* Checks record C (a commit of a host's ref, or of main before records left it, that changes
 * state/deployed). Prints what holds; D says why not. */
static int verify_record(struct verify *vf, const struct verify_commit *c, struct engine_diag *d)
{
    struct orch_record_info l;
    char *text = NULL, *patch = NULL;
    size_t len = 0, plen = 0;
    int r;

    if ((r = verify_read(vf, c->id, VERIFY_DEPLOYED, &text, &len)) < 0)
        return r;
    r = orch_record_parse(&l, c->message, text, d);
    free(text);
    if (r < 0 || (r = verify_read(vf, c->id, ORCH_RECORD_PATCH, &patch, &plen)) < 0) {
        free(patch);
        return r;
    }
    if ((r = engine_store_in_main(vf->store, l.realises, d)) <= 0) {
        free(patch);
        return r < 0 ? r
                     : engine_diag_add(d, NULL, 0, 0,
                                       "it realises commit %.12s, which is not in main's history",
                                       l.realises);
    }
    r = verify_rebuild(vf, l.realises, l.node, &l, l.target, patch, plen, d);
    free(patch);
    if (r < 0)
        return r;
    printf("record %.12s%s%s: %s image %.12s (%s) is what commit %.12s builds (%s%s)\n", c->id,
           vf->host != NULL ? " of host " : "", vf->host != NULL ? vf->host : "", l.node, l.image,
           l.level, l.realises, r == 1 ? "same bytes as the kept image" : "same id; not kept",
           l.base_version != 0 ? "; its base rebuilt, its patch checked against the commit's rules"
                               : "");
    return 0;
}

static int verify_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Says why commit BAD (a WHAT) does not hold; returns the exit status. */
static int verify_bad(const struct verify *vf, const struct verify_commit *bad, const char *what,
                      struct engine_diag *d, int r)
{
    char *why = engine_diag_join(d);

    if (why != NULL)
        for (char *p = why; *p; p++)
            if (*p == '\n')
                *p = ';';
    fprintf(stderr, "unisec verify: %s %s%s%s (%.*s) does not hold: %s\n", what, bad->id,
            vf->host != NULL ? " of host " : "", vf->host != NULL ? vf->host : "",
            (int)strcspn(bad->message, "\n"), bad->message, why ? why : strerror(-r));
    free(why);
    return 1;
}

/* The commits from FROM ("" : main), oldest first, in vf->v. */
static int verify_gather(struct verify *vf, const char *from, struct engine_diag *d)
{
    int r;

    for (size_t i = 0; i < vf->n; i++)
        free(vf->v[i].message);
    vf->n = 0;
    r = from[0] ? engine_store_log_from(vf->store, from, SIZE_MAX, verify_collect, vf, d)
                : engine_store_log(vf->store, SIZE_MAX, verify_collect, vf, d);
    for (size_t i = 0; i < vf->n / 2; i++) {
        struct verify_commit t = vf->v[i];
        vf->v[i] = vf->v[vf->n - 1 - i];
        vf->v[vf->n - 1 - i] = t;
    }
    return r;
}

/* Walks main oldest first: each commit's signature, then, for a record made on main (as
 * stores did before records moved to each host's ref), what it records. Returns the exit
 * status; names the first commit or record that does not hold. */
static int verify_main(struct verify *vf, struct engine_diag *d)
{
    int r;

    if ((r = verify_gather(vf, "", d)) < 0) {
        engine_diag_print(d, stderr);
        return 1;
    }
    for (size_t i = 0; i < vf->n; i++) {
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
        if (r < 0 || (r = engine_store_verify_commit(vf->store, c->id, who, d)) < 0)
            return verify_bad(vf, c, "commit", d, r);
        if (rec && (r = verify_record(vf, c, d)) < 0)
            return verify_bad(vf, c, "record", d, r);
        vf->records += rec;
    }
    vf->commits += vf->n;
    return 0;
}

/* Walks one host's ref of records oldest first: each is signed and holds. */
static int verify_host(const char *refname, const char *id, void *arg)
{
    struct verify *vf = arg;
    struct engine_diag d = {0};
    char who[256];
    int r, rc = 0;

    vf->host = refname + strlen(ENGINE_STORE_DEPLOYED_PREFIX);
    if ((r = verify_gather(vf, id, &d)) < 0) {
        engine_diag_print(&d, stderr);
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < vf->n; i++) {
        struct verify_commit *c = &vf->v[i];
        if ((r = engine_store_verify_commit(vf->store, c->id, who, &d)) < 0 ||
            (r = verify_record(vf, c, &d)) < 0)
            rc = verify_bad(vf, c, "record", &d, r);
    }
    if (rc == 0) {
        vf->records += vf->n;
        vf->hosts++;
    }
    vf->host = NULL;
    engine_diag_free(&d);
    return rc;
}

/* main, then every host's records. Returns the exit status. */
static int verify_walk(struct verify *vf)
{
    struct engine_diag d = {0};
    int rc;

    if ((rc = verify_main(vf, &d)) == 0 &&
        (rc = engine_store_refs(vf->store, ENGINE_STORE_DEPLOYED_PREFIX, verify_host, vf, &d)) <
            0) {
        engine_diag_print(&d, stderr);
        rc = 1;
    }
    engine_diag_free(&d);
    if (rc != 0)
        return rc;
    printf("unisec verify: %s holds: %zu commits of main, each signed by an allowed signer; %zu "
           "deployment records of %zu hosts, each signed and built from a commit of main; %zu "
           "rules files parsed (each once while consecutive commits hold its blob)",
           vf->dir, vf->commits, vf->records, vf->hosts, vf->parts_parsed);
    putchar('\n');
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
    verify_base_clear(&vf.base);
    verify_parts_free(&vf);
    engine_store_free(vf.store);
    engine_diag_free(&d);
    return rc;
}
