/*
 * fs_times.c — the files' times at the mount, from the store's history: the time of the commit
 * of main that last changed each store file (topology.yaml, inputs.yaml, policy/acl, groups,
 * credentials, each policy/acl.d/NAME), each node's level and each property a node has set
 * over the topology's value (state/levels and state/properties compared line by line), and
 * history's (the head's), and the newest change of any policy file (FS_TOUCH_POLICY). The
 * daemon then records the changes it applies itself (fs_touch.c).
 *
 * The walk is bounded: at most FS_TIMES_WALK commits, newest first, each compared with its
 * first parent by the blob ids of its trees (the two state files are read only when their ids
 * differ). What no walked commit changed gets the time of the oldest commit walked: the root
 * commit when the history is that short, else a time no older than the true one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

#define FS_TIMES_WALK 256

/* The directories of the store whose entries are compared. */
static const char *const fs_times_dirs[] = {"", "state", "policy", FS_RULES_DIR};
#define FS_TIMES_NDIRS (sizeof(fs_times_dirs) / sizeof(fs_times_dirs[0]))

/* One commit's entries of those directories, each listed when first needed. */
struct fs_times_tree {
    char id[41]; /* the commit; "" for none (nothing in it) */
    struct engine_store_dirent *e[FS_TIMES_NDIRS];
    size_t n[FS_TIMES_NDIRS];
    int listed[FS_TIMES_NDIRS];
};

struct fs_times_commit {
    char id[41], parent[41];
    int64_t time;
};

struct fs_times_log {
    struct fs_times_commit *v;
    size_t n, cap;
};

static int fs_times_log_cb(const struct engine_store_commit_info *info, void *arg)
{
    struct fs_times_log *l = arg;

    if (ENGINE_GROW(&l->v, &l->cap, l->n + 1) < 0)
        return -ENOMEM;
    struct fs_times_commit *x = &l->v[l->n++];
    memcpy(x->id, info->id, sizeof(x->id));
    memcpy(x->parent, info->parent, sizeof(x->parent));
    x->time = info->time;
    return 0;
}

static void fs_times_tree_free(struct fs_times_tree *t)
{
    for (size_t d = 0; d < FS_TIMES_NDIRS; d++) {
        engine_store_list_free(t->e[d], t->n[d]);
        t->e[d] = NULL;
        t->n[d] = 0;
        t->listed[d] = 0;
    }
    t->id[0] = '\0';
}

/* T becomes commit ID's ("": no commit), nothing listed yet. */
static void fs_times_tree_set(struct fs_times_tree *t, const char *id)
{
    fs_times_tree_free(t);
    snprintf(t->id, sizeof(t->id), "%s", id);
}

/* Directory D of T, listed now if it was not. 0 or a negative errno. */
static int fs_times_list(struct fs_ctx *c, struct fs_times_tree *t, size_t d)
{
    struct engine_diag diag = {0};
    int r = 0;

    if (t->listed[d] || t->id[0] == '\0')
        return 0;
    r = engine_store_list_at(c->store, t->id, fs_times_dirs[d], &t->e[d], &t->n[d], &diag);
    engine_diag_free(&diag);
    t->listed[d] = 1;
    return r < 0 && r != -ENOENT && r != -ENOTDIR ? r : 0;
}

static int fs_times_name_cmp(const void *key, const void *e)
{
    return strcmp(key, ((const struct engine_store_dirent *)e)->name);
}

/* The object id of NAME in directory D of T (listed), or NULL. Listings are sorted by name. */
static const char *fs_times_id(const struct fs_times_tree *t, size_t d, const char *name)
{
    const struct engine_store_dirent *e =
        t->n[d] ? bsearch(name, t->e[d], t->n[d], sizeof(*t->e[d]), fs_times_name_cmp) : NULL;
    return e != NULL ? e->id : NULL;
}

/* The object id of directory D of T (from its parent's listing), or NULL. */
static const char *fs_times_dir_id(struct fs_ctx *c, struct fs_times_tree *t, size_t d)
{
    const char *dir = fs_times_dirs[d], *slash = strrchr(dir, '/');
    size_t parent = 0;

    if (slash != NULL)
        for (size_t i = 0; i < FS_TIMES_NDIRS; i++)
            if (strlen(fs_times_dirs[i]) == (size_t)(slash - dir) &&
                strncmp(fs_times_dirs[i], dir, (size_t)(slash - dir)) == 0)
                parent = i;
    if (fs_times_list(c, t, parent) < 0)
        return NULL;
    return fs_times_id(t, parent, slash != NULL ? slash + 1 : dir);
}

static void fs_times_seed(struct fs_ctx *c, const char *path, int64_t time)
{
    struct timespec t = {.tv_sec = (time_t)time};
    fs_touch_seed(c, path, &t);
}

/* The rest of the line of TEXT that starts with KEY (KLEN bytes) and a blank: a pointer to it
 * and its length *VLEN; NULL when no line has that key. */
static const char *fs_times_value(const char *text, size_t len, const char *key, size_t klen,
                                  size_t *vlen)
{
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        if ((size_t)(le - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ') {
            *vlen = (size_t)(le - p - (ptrdiff_t)klen - 1);
            return p + klen + 1;
        }
        p = le + 1;
    }
    return NULL;
}

/* The lines of state file PATH (levels: "NODE LEVEL"; properties: "NODE PROPERTY VALUE")
 * that differ between commits NEW and OLD ("" for none) are seeded with TIME: each node's
 * security_level, or nodes/NODE/properties/PROPERTY. */
static void fs_times_state(struct fs_ctx *c, const char *path, int words, const char *new_id,
                           const char *old_id, int64_t time)
{
    char *a = NULL, *b = NULL, key[2 * FS_NAME_MAX + 2], file[PATH_MAX];
    size_t al = 0, bl = 0;
    struct engine_diag d = {0};

    if (engine_store_read_at(c->store, new_id, path, &a, &al, &d) < 0)
        a = NULL, al = 0;
    if (old_id[0] == '\0' || engine_store_read_at(c->store, old_id, path, &b, &bl, &d) < 0)
        b = NULL, bl = 0;
    engine_diag_free(&d);
    for (int side = 0; side < 2; side++) {
        const char *t = side ? b : a, *o = side ? a : b;
        size_t tl = side ? bl : al, ol = side ? al : bl;
        for (const char *p = t, *end = t + tl; p != NULL && p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl != NULL ? nl : end;
            const char *sp = p;
            for (int w = 0; w < words && sp != NULL; w++)
                sp = memchr(w ? sp + 1 : sp, ' ', (size_t)(le - (w ? sp + 1 : sp)));
            size_t klen = sp != NULL ? (size_t)(sp - p) : 0, vl = 0, ovl = 0;
            if (*p != '#' && klen > 0 && klen < sizeof(key)) {
                const char *v = sp + 1, *ov = fs_times_value(o, ol, p, klen, &ovl);
                vl = (size_t)(le - v);
                if (ov == NULL || ovl != vl || memcmp(ov, v, vl) != 0) {
                    memcpy(key, p, klen);
                    key[klen] = '\0';
                    char *sep = strchr(key, ' ');
                    if (sep != NULL)
                        *sep = '\0';
                    if (words == 1)
                        snprintf(file, sizeof(file), "nodes/%s/security_level", key);
                    else if (sep != NULL)
                        snprintf(file, sizeof(file), "nodes/%s/properties/%s", key, sep + 1);
                    fs_times_seed(c, file, time);
                }
            }
            p = le + 1;
        }
    }
    free(a);
    free(b);
}

/* Commit X (NOW) against its first parent (BEFORE): what differs is seeded with X's time. A
 * directory whose tree is the same in both is not listed. */
static int fs_times_compare(struct fs_ctx *c, const struct fs_times_commit *x,
                            struct fs_times_tree *now, struct fs_times_tree *before)
{
    char path[PATH_MAX];
    int r;

    for (size_t d = 0; d < FS_TIMES_NDIRS; d++) {
        if (d > 0) {
            const char *a = fs_times_dir_id(c, now, d), *b = fs_times_dir_id(c, before, d);
            if (a == NULL || (b != NULL && strcmp(a, b) == 0))
                continue;
        }
        if ((r = fs_times_list(c, now, d)) < 0 || (r = fs_times_list(c, before, d)) < 0)
            return r;
        for (size_t i = 0; i < now->n[d]; i++) {
            const struct engine_store_dirent *e = &now->e[d][i];
            const char *other = fs_times_id(before, d, e->name);
            if (e->is_dir || (other != NULL && strcmp(other, e->id) == 0))
                continue;
            snprintf(path, sizeof(path), "%s%s%s", fs_times_dirs[d], d ? "/" : "", e->name);
            if (strcmp(path, "state/levels") == 0)
                fs_times_state(c, path, 1, x->id, before->id, x->time);
            else if (strcmp(path, "state/properties") == 0)
                fs_times_state(c, path, 2, x->id, before->id, x->time);
            else
                fs_times_seed(c, path, x->time);
            if (strncmp(path, "policy/", 7) == 0) /* the newest policy change of all */
                fs_times_seed(c, FS_TOUCH_POLICY, x->time);
        }
    }
    return 0;
}

int fs_times_load(struct fs_ctx *c)
{
    struct fs_times_log log = {0};
    struct fs_times_tree a = {0}, b = {0}, *now = &a, *before = &b;
    struct engine_diag d = {0};
    int r;

    r = engine_store_log(c->store, FS_TIMES_WALK, fs_times_log_cb, &log, &d);
    engine_diag_free(&d);
    for (size_t i = 0; r >= 0 && i < log.n; i++) {
        const struct fs_times_commit *x = &log.v[i];
        if (i == 0)
            fs_times_seed(c, "history", x->time);
        /* Linear history: the parent of the last commit is this one, listed already. */
        if (strcmp(before->id, x->id) == 0) {
            struct fs_times_tree *t = now;
            now = before;
            before = t;
        } else {
            fs_times_tree_set(now, x->id);
        }
        fs_times_tree_set(before, x->parent);
        r = fs_times_compare(c, x, now, before);
    }
    if (r >= 0 && log.n > 0) {
        /* What no walked commit changed: the oldest walked commit's time (all it holds,
         * compared with nothing). */
        fs_times_tree_set(now, log.v[log.n - 1].id);
        fs_times_tree_set(before, "");
        r = fs_times_compare(c, &log.v[log.n - 1], now, before);
    }
    fs_times_tree_free(&a);
    fs_times_tree_free(&b);
    free(log.v);
    return r < 0 ? r : 0;
}
