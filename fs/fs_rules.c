/*
 * fs_rules.c — the rules files of policy/acl.d: each one text, its git blob id, and its rules
 * parsed alone, shared by every snapshot that holds it unchanged; a change of one file makes
 * one new entry and leaves the others as they are (not read, hashed or parsed again).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

/* A new file NAME holding TEXT (taken: freed here on failure) whose blob id is BLOB. */
static int fs_rules_make(struct fs_rules **out, const char *name, struct fs_text *text,
                         const char *blob)
{
    struct fs_rules *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL || (r->name = strdup(name)) == NULL) {
        free(r);
        fs_text_free(text);
        return -ENOMEM;
    }
    r->text = *text;
    r->refs = 1;
    if (blob != NULL)
        snprintf(r->blob, sizeof(r->blob), "%s", blob);
    *out = r;
    return 0;
}

int fs_rules_new(struct fs_rules **out, const char *name, const char *data, size_t len,
                 const char *blob)
{
    struct fs_text t = {0};

    *out = NULL;
    return fs_text_set(&t, data, len) < 0 ? -ENOMEM : fs_rules_make(out, name, &t, blob);
}

int fs_rules_share(struct fs_rules **out, const char *name, const struct fs_text *text,
                   const char *blob)
{
    struct fs_text t;

    *out = NULL;
    return fs_text_share(&t, text) < 0 ? -ENOMEM : fs_rules_make(out, name, &t, blob);
}

/* Guards the blob ids hashed on demand: a file may be shared by snapshots of several threads. */
static pthread_mutex_t fs_rules_blob_mu = PTHREAD_MUTEX_INITIALIZER;

const char *fs_rules_blob(struct fs_rules *r)
{
    pthread_mutex_lock(&fs_rules_blob_mu);
    if (r->blob[0] == '\0')
        engine_store_blob_id(r->text.data, r->text.len, r->blob);
    pthread_mutex_unlock(&fs_rules_blob_mu);
    return r->blob;
}

int fs_rules_same(const struct fs_rules *a, const struct fs_rules *b)
{
    return a == b || (a != NULL && b != NULL && fs_text_same(&a->text, &b->text));
}

struct fs_rules *fs_rules_ref(struct fs_rules *r)
{
    if (r != NULL)
        __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
    return r;
}

void fs_rules_put(struct fs_rules *r)
{
    if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    engine_acl_free(r->part);
    fs_text_free(&r->text);
    free(r->name);
    free(r);
}

void fs_rules_set_free(struct fs_rules_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        fs_rules_put(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int fs_rules_set_copy(struct fs_rules_set *dst, const struct fs_rules_set *src)
{
    dst->v = NULL;
    dst->n = 0;
    if (src->n == 0)
        return 0;
    if ((dst->v = malloc(src->n * sizeof(*dst->v))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < src->n; i++)
        dst->v[i] = fs_rules_ref(src->v[i]);
    dst->n = src->n;
    return 0;
}

/* The index of NAME in S, or where it would go (*FOUND 0). */
static size_t fs_rules_at(const struct fs_rules_set *s, const char *name, int *found)
{
    size_t lo = 0, hi = s->n;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct fs_rules *fs_rules_find(const struct fs_rules_set *s, const char *name)
{
    int found;
    size_t i = fs_rules_at(s, name, &found);

    return found ? s->v[i] : NULL;
}

int fs_rules_set_put(struct fs_rules_set *s, const char *name, struct fs_rules *r)
{
    int found;
    size_t i = fs_rules_at(s, name, &found);

    if (found) {
        fs_rules_put(s->v[i]);
        if (r != NULL) {
            s->v[i] = r;
            return 0;
        }
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
        s->n--;
        return 0;
    }
    if (r == NULL)
        return 0;
    if (s->n >= FS_RULES_FILES_MAX) {
        fs_rules_put(r);
        return -ENOSPC;
    }
    {
        struct fs_rules **v = realloc(s->v, (s->n + 1) * sizeof(*v));
        if (v == NULL) {
            fs_rules_put(r);
            return -ENOMEM;
        }
        s->v = v;
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
    s->v[i] = r;
    s->n++;
    return 0;
}

int fs_rules_set_same(const struct fs_rules_set *a, const struct fs_rules_set *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i]->name, b->v[i]->name) != 0 || !fs_rules_same(a->v[i], b->v[i]))
            return 0;
    return 1;
}

size_t fs_rules_set_bytes(const struct fs_rules_set *s, int only_own)
{
    size_t bytes = 0;

    for (size_t i = 0; i < s->n; i++)
        if (!only_own || __atomic_load_n(&s->v[i]->refs, __ATOMIC_RELAXED) == 1)
            bytes += s->v[i]->text.len;
    return bytes;
}

int fs_rules_path(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", FS_RULES_DIR, name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int fs_rules_read_store(struct fs_rules_set *out, const struct engine_store *store,
                        const char *commit, const struct fs_rules_set *prev,
                        struct engine_diag *diag)
{
    struct engine_store_dirent *v = NULL;
    size_t n = 0;
    int rc;

    out->v = NULL;
    out->n = 0;
    rc = engine_store_list_at(store, commit, FS_RULES_DIR, &v, &n, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return engine_diag_add(diag, FS_RULES_DIR, 0, 0, "cannot list it in the store: %s",
                               strerror(-rc));
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[PATH_MAX], *data = NULL;
        size_t len = 0;
        struct fs_rules *r = prev != NULL ? fs_rules_find(prev, v[i].name) : NULL;
        fs_rules_path(path, sizeof(path), v[i].name);
        int kind = engine_acl_d_entry(path, v[i].name, v[i].is_dir, v[i].is_link, diag);
        if (kind == 1)
            continue;
        if (kind < 0) {
            rc = kind;
            break;
        }
        /* What a write could not make, refused before anything is read. */
        if (v[i].size > FS_POLICY_MAX) {
            rc = engine_diag_add(diag, path, 0, 0,
                                 "%zu bytes: a policy file holds at most %u (fs/MOUNT.md, Limits)",
                                 v[i].size, FS_POLICY_MAX);
            break;
        }
        if (out->n >= FS_RULES_FILES_MAX) {
            rc = engine_diag_add(diag, FS_RULES_DIR, 0, 0,
                                 "more than %d rules files (fs/MOUNT.md, Rules files)",
                                 FS_RULES_FILES_MAX);
            break;
        }
        /* The same blob as the served one: its text and parsed rules are taken as they are. */
        if (r != NULL && strcmp(fs_rules_blob(r), v[i].id) == 0) {
            rc = fs_rules_set_put(out, r->name, fs_rules_ref(r));
            continue;
        }
        if ((rc = engine_store_read_at(store, commit, path, &data, &len, diag)) < 0)
            break;
        if ((rc = fs_rules_new(&r, v[i].name, data, len, v[i].id)) == 0)
            rc = fs_rules_set_put(out, v[i].name, r);
        free(data);
    }
    engine_store_list_free(v, n);
    if (rc < 0)
        fs_rules_set_free(out);
    return rc < 0 ? rc : 0;
}

int fs_rules_part(struct fs_rules *r, const char *path, struct engine_diag *diag)
{
    struct engine_acl *a = NULL;
    int rc;

    if (r->part != NULL)
        return 0;
    if ((rc = engine_acl_new(&a)) < 0)
        return rc;
    if ((rc = engine_acl_parse(a, ENGINE_ACL_FILE_ACL, path, r->text.data, r->text.len, diag)) <
        0) {
        engine_acl_free(a);
        return rc;
    }
    r->part = a;
    return 0;
}

size_t fs_rules_count(const struct fs_rules *r)
{
    struct engine_acl_stats st = {0};

    if (r != NULL && r->part != NULL)
        engine_acl_stats_get(r->part, &st);
    return st.rules;
}

/* The I-th rules file in order (0: policy/acl, MAIN, may be NULL; then D's) and its path. */
static struct fs_rules *fs_rules_nth(struct fs_rules *main, const struct fs_rules_set *d, size_t i,
                                     char *path, size_t size)
{
    struct fs_rules *r = i == 0 ? main : d->v[i - 1];

    if (r != NULL && i == 0)
        snprintf(path, size, "%s", fs_file_path(FS_FILE_ACL));
    else if (r != NULL)
        fs_rules_path(path, size, r->name);
    return r;
}

int fs_rules_add_all(struct engine_acl *a, struct fs_rules *main, const struct fs_rules_set *d,
                     struct engine_diag *diag)
{
    char path[PATH_MAX];
    const struct engine_acl **parts = NULL;
    char **names = NULL;
    struct fs_rules *r;
    int rc = 0, bad = 0;

    /* Every file is parsed (or taken parsed), so that every error is reported at once; the
     * rules go in in their order: policy/acl, then policy/acl.d by name. */
    for (size_t i = 0; i <= d->n; i++) {
        if ((r = fs_rules_nth(main, d, i, path, sizeof(path))) == NULL)
            continue;
        if ((rc = fs_rules_part(r, path, diag)) == -ENOMEM)
            return rc;
        bad |= rc < 0;
    }
    if (bad)
        return -EINVAL;
    /* Room for every file's rules and strings at once: the tables are not grown (and
     * rehashed) step by step. */
    if ((parts = calloc(d->n + 1, sizeof(*parts))) == NULL ||
        (names = calloc(d->n + 1, sizeof(*names))) == NULL) {
        free(parts);
        return -ENOMEM;
    }
    for (size_t i = 0; i <= d->n && rc == 0; i++)
        if ((r = fs_rules_nth(main, d, i, path, sizeof(path))) != NULL) {
            parts[i] = r->part;
            rc = (names[i] = strdup(path)) == NULL ? -ENOMEM : 0;
        }
    if (rc == 0)
        rc = engine_acl_add_parts(a, parts, (const char *const *)names, d->n + 1, diag);
    for (size_t i = 0; i <= d->n; i++)
        free(names[i]);
    free(names);
    free(parts);
    return rc;
}

int fs_rules_candidate(struct fs_rules_set *cand, const char *name, const char *data, size_t len,
                       int remove)
{
    struct fs_rules *old = fs_rules_find(cand, name), *r = NULL;
    int rc;

    if (remove)
        return old == NULL ? -ENOENT : fs_rules_set_put(cand, name, NULL);
    if (old != NULL && old->text.len == len && memcmp(old->text.data, data, len) == 0)
        return 1;
    if ((rc = fs_rules_new(&r, name, data, len, NULL)) < 0)
        return rc;
    return fs_rules_set_put(cand, name, r);
}

char *fs_rules_msg(const struct fs_rules_set *cur, const struct fs_rules_set *ns, const char *name)
{
    const struct fs_rules *a = fs_rules_find(cur, name), *b = fs_rules_find(ns, name);
    char path[PATH_MAX], *m = NULL;
    int n;

    fs_rules_path(path, sizeof(path), name);
    if (a != NULL && b != NULL)
        return fs_msg_replace(path, fs_rules_count(a), fs_rules_count(b), "rules");
    if (b != NULL)
        n = asprintf(&m, "%s: created (%zu rules)", path, fs_rules_count(b));
    else
        n = asprintf(&m, "%s: removed (%zu rules)", path, fs_rules_count(a));
    return n < 0 ? NULL : m;
}

/* Appends the change of PATH to R's content (R NULL: removed) to *CH. */
static int fs_rules_change(struct engine_store_change **ch, size_t *n, size_t *cap,
                           const char *name, const struct fs_rules *r, int from_worktree)
{
    char path[PATH_MAX], *p;

    if (fs_rules_path(path, sizeof(path), name) < 0)
        return -ENAMETOOLONG;
    if (engine_grow((void **)ch, cap, *n + 1, sizeof(**ch)) < 0 || (p = strdup(path)) == NULL)
        return -ENOMEM;
    (*ch)[(*n)++] = (struct engine_store_change){
        .path = p,
        .data = r != NULL ? r->text.data : NULL,
        .len = r != NULL ? r->text.len : 0,
        .remove = r == NULL,
        .from_worktree = from_worktree,
    };
    return 0;
}

int fs_rules_changes(struct engine_store_change **ch, size_t *n, size_t *cap,
                     const struct fs_rules_set *base, const struct fs_rules_set *ns,
                     int from_worktree)
{
    size_t i = 0, j = 0;
    int rc = 0;

    /* Both lists are sorted by name: one walk finds what was added, removed or changed. */
    while (rc == 0 && (i < base->n || j < ns->n)) {
        int c = i == base->n ? 1 : j == ns->n ? -1 : strcmp(base->v[i]->name, ns->v[j]->name);
        if (c < 0) {
            rc = fs_rules_change(ch, n, cap, base->v[i]->name, NULL, from_worktree);
            i++;
        } else if (c > 0) {
            rc = fs_rules_change(ch, n, cap, ns->v[j]->name, ns->v[j], from_worktree);
            j++;
        } else {
            if (!fs_rules_same(base->v[i], ns->v[j]))
                rc = fs_rules_change(ch, n, cap, ns->v[j]->name, ns->v[j], from_worktree);
            i++, j++;
        }
    }
    return rc;
}
