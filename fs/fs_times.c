/*
 * fs_times.c — the files' times at the mount, from the store's history: the time of the commit
 * of main that last changed each store file (topology.yaml, inputs.yaml, policy/acl, groups,
 * credentials, each policy/acl.d/NAME, a node's tls/cert and key.fingerprint), each node's
 * level and each property a node has set over the topology's value (state/levels and
 * state/properties compared line by line), history's (the head's), and the newest change of
 * any policy file (FS_TOUCH_POLICY). The daemon then records the changes it applies itself
 * (fs_touch.c).
 *
 * The walk is bounded: at most FS_TIMES_WALK commits and FS_TIMES_BUDGET_MS, newest first, each
 * compared with its first parent by a tree diff (engine_store_changes(): ids compared, no blob
 * read; the two state files are read only when they changed). What no walked commit changed gets
 * the time of the oldest commit walked: the first commit when the history is that short, else a
 * time no older than the true one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"

/* The walk stops at whichever comes first: this many commits, or this much time (a commit
 * that changes one file of a large directory reads that directory's tree twice). */
#define FS_TIMES_WALK      256
#define FS_TIMES_BUDGET_MS 100

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

    /* History may hold a refused commit's file of any size: none past the bound is read. */
    if (engine_store_read_max(c->store, new_id, path, FS_POLICY_MAX, &a, &al, &d) < 0)
        a = NULL, al = 0;
    if (old_id[0] == '\0' ||
        engine_store_read_max(c->store, old_id, path, FS_POLICY_MAX, &b, &bl, &d) < 0)
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

/* One changed path of commit X: the file of the mount it is seeded for. */
struct fs_times_at {
    struct fs_ctx *c;
    const struct fs_times_commit *x;
    const char *parent; /* "" when X is compared with nothing */
};

static int fs_times_changed(const char *path, int removed, void *arg)
{
    const struct fs_times_at *a = arg;
    char node[FS_NAME_MAX + 1], file[PATH_MAX];
    const char *slash;

    if (strcmp(path, "state/levels") == 0) {
        fs_times_state(a->c, path, 1, a->x->id, a->parent, a->x->time);
    } else if (strcmp(path, "state/properties") == 0) {
        fs_times_state(a->c, path, 2, a->x->id, a->parent, a->x->time);
    } else if (strncmp(path, "tls/", 4) == 0 && (slash = strchr(path + 4, '/')) != NULL &&
               (size_t)(slash - path - 4) < sizeof(node)) {
        /* tls/NODE/cert, tls/NODE/key.fingerprint (and with it the key it names) */
        memcpy(node, path + 4, (size_t)(slash - path - 4));
        node[slash - path - 4] = '\0';
        if (strcmp(slash + 1, "cert") == 0 || strcmp(slash + 1, "key.fingerprint") == 0) {
            snprintf(file, sizeof(file), "nodes/%s/tls/%s", node, slash + 1);
            fs_times_seed(a->c, file, a->x->time);
        }
        if (strcmp(slash + 1, "key.fingerprint") == 0) {
            snprintf(file, sizeof(file), "nodes/%s/tls/key", node);
            fs_times_seed(a->c, file, a->x->time);
        }
    } else if (!removed) {
        fs_times_seed(a->c, path, a->x->time);
    }
    if (strncmp(path, "policy/", 7) == 0) /* the newest policy change of all */
        fs_times_seed(a->c, FS_TOUCH_POLICY, a->x->time);
    return 0;
}

int fs_times_load(struct fs_ctx *c)
{
    struct fs_times_log log = {0};
    struct engine_diag d = {0};
    int64_t until = fs_now_ms() + FS_TIMES_BUDGET_MS;
    size_t walked = 0;
    int r;

    r = engine_store_log(c->store, FS_TIMES_WALK, fs_times_log_cb, &log, &d);
    for (; r >= 0 && walked < log.n && (walked == 0 || fs_now_ms() < until); walked++) {
        struct fs_times_at a = {c, &log.v[walked], log.v[walked].parent};
        if (walked == 0)
            fs_times_seed(c, "history", log.v[walked].time);
        r = engine_store_changes(c->store, log.v[walked].id, 0, fs_times_changed, &a, &d);
    }
    if (r >= 0 && walked > 0) {
        /* What no walked commit changed: the oldest walked commit's time (all it holds). */
        struct fs_times_at a = {c, &log.v[walked - 1], ""};
        r = engine_store_changes(c->store, log.v[walked - 1].id, 1, fs_times_changed, &a, &d);
    }
    engine_diag_free(&d);
    free(log.v);
    return r < 0 ? r : 0;
}
