/*
 * fs_keys.c — a change of rules files of policy/acl.d checked at the cost of those files (one by a
 * write, several by an outside commit or the remote's main: engine_acl_keys_replace()): the
 * policy's rules are kept by key (engine_acl_keys) from one served policy to the next, the
 * changed file is parsed alone, its group references checked against the groups kept beside
 * them, and its rules against the other files' by key. The rules of every file together
 * (struct engine_acl) are made only when something asks for them (fs_snap_acl()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

/* Rules files a change may differ by and still be checked by key (an outside commit, the
 * remote's main): past it, putting the policy together whole costs about as much. */
#define FS_KEYS_FILES_MAX 64

void fs_keys_put(struct fs_keys *k)
{
    if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    engine_acl_keys_free(k->k);
    fs_rules_put(k->main);
    fs_rules_set_free(&k->held);
    engine_acl_free(k->people);
    free(k);
}

int fs_keys_make(struct fs_keys **out, const struct fs_snap *prev, const int *stop)
{
    struct fs_keys *k = calloc(1, sizeof(*k));
    struct fs_policy *p = prev->policy;
    struct engine_diag d; /* PREV is valid: no message comes */
    char path[PATH_MAX];
    int rc = -ENOMEM;

    *out = NULL;
    if (k == NULL)
        return -ENOMEM;
    engine_diag_init(&d);
    k->refs = 1;
    k->at = p->gen;
    if (engine_acl_keys_new(&k->k) < 0 || engine_acl_new(&k->people) < 0 ||
        fs_rules_set_copy(&k->held, &prev->acld) < 0)
        goto fail;
    k->main = fs_rules_ref(p->main);
    /* The groups and credentials alone: valid, since PREV is. */
    if (prev->file[FS_FILE_GROUPS].data != NULL &&
        (rc = engine_acl_parse(k->people, ENGINE_ACL_FILE_GROUPS, "groups",
                               prev->file[FS_FILE_GROUPS].data, prev->file[FS_FILE_GROUPS].len,
                               &d)) < 0)
        goto fail;
    if (prev->file[FS_FILE_CREDENTIALS].data != NULL &&
        (rc = engine_acl_parse(k->people, ENGINE_ACL_FILE_CREDENTIALS, "credentials",
                               prev->file[FS_FILE_CREDENTIALS].data,
                               prev->file[FS_FILE_CREDENTIALS].len, &d)) < 0)
        goto fail;
    rc = -ENOMEM;
    if (k->main != NULL &&
        (k->main->part == NULL ||
         engine_acl_keys_set(k->k, fs_file_path(FS_FILE_ACL), 1, k->main->part, NULL) < 0))
        goto fail;
    for (size_t i = 0; i < k->held.n; i++) {
        struct fs_rules *r = k->held.v[i];
        if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED)) {
            rc = -ECANCELED;
            goto fail;
        }
        fs_rules_path(path, sizeof(path), r->name);
        if (r->part == NULL || engine_acl_keys_set(k->k, path, 0, r->part, NULL) < 0)
            goto fail;
    }
    engine_diag_free(&d);
    *out = k;
    return 0;
fail:
    engine_diag_free(&d);
    fs_keys_put(k);
    return rc < 0 ? rc : -ENOMEM;
}

/* The names whose rules files differ between A and B (borrowed from them), at most MAX: their
 * count, or MAX + 1 when more differ. */
static size_t fs_keys_differ(const struct fs_rules_set *a, const struct fs_rules_set *b,
                             const char **names, size_t max)
{
    size_t i = 0, j = 0, n = 0;

    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i]->name, b->v[j]->name);
        const char *name = c <= 0 ? a->v[i]->name : b->v[j]->name;
        int differs = c != 0 || !fs_rules_same(a->v[i], b->v[j]);
        i += c <= 0;
        j += c >= 0;
        if (!differs)
            continue;
        if (n == max)
            return max + 1;
        names[n++] = name;
    }
    return n;
}

/* The files NAMES of S for fs_keys_policy_files(): their old versions (K's) and new ones (S's)
 * kept in P, each new one parsed and its groups checked; their paths in PATHS, PV, and their
 * rules parsed alone in PARTS (NULL: removed). 0, -EINVAL with DIAG filled, or -ENOMEM. */
static int fs_keys_files(struct fs_policy *p, const struct fs_snap *s, const struct fs_keys *k,
                         const char *const *names, size_t n, char (*paths)[PATH_MAX],
                         const char **pv, const struct engine_acl **parts, struct engine_diag *diag)
{
    int rc = 0, bad = 0;

    for (size_t i = 0; i < n; i++) {
        struct fs_rules *now = fs_rules_find(&s->acld, names[i]), *was;
        fs_rules_path(paths[i], sizeof(paths[i]), names[i]);
        pv[i] = paths[i];
        parts[i] = NULL;
        /* The old versions stay until the change is applied: it borrows their strings. */
        if ((was = fs_rules_find(&k->held, names[i])) != NULL &&
            fs_rules_set_put(&p->was_d, names[i], fs_rules_ref(was)) < 0)
            return -ENOMEM;
        if (now == NULL)
            continue;
        if (fs_rules_set_put(&p->now_d, names[i], fs_rules_ref(now)) < 0 ||
            (rc = fs_rules_part(now, paths[i], diag)) == -ENOMEM)
            return -ENOMEM;
        if (rc == 0 && engine_acl_check_groups_of(k->people, now->part, paths[i], diag) < 0)
            rc = -EINVAL;
        bad |= rc < 0;
        parts[i] = now->part;
    }
    return bad ? -EINVAL : 0;
}

/* P's rules made from K (at PREV's policy) where S differs from PREV by the N rules files of
 * policy/acl.d NAMES: each new version parsed and its groups checked, then all of them replaced
 * in K at once (engine_acl_keys_replace()). K then holds P's rules (K->at is P's gen); refused,
 * K is as it was (or, out of memory, made again at the next change). Returns as
 * fs_keys_policy(). */
static int fs_keys_policy_files(struct fs_policy *p, const struct fs_snap *s, struct fs_keys *k,
                                const char *const *names, size_t n, struct engine_diag *diag)
{
    char(*paths)[PATH_MAX] = calloc(n, sizeof(*paths));
    const char *pv[FS_KEYS_FILES_MAX] = {0};
    const struct engine_acl *parts[FS_KEYS_FILES_MAX] = {0};
    int rc;

    if (paths == NULL)
        return -ENOMEM;
    rc = fs_keys_files(p, s, k, names, n, paths, pv, parts, diag);
    if (rc == 0)
        rc = engine_acl_keys_replace(k->k, pv, parts, n, &p->change, diag);
    free(paths);
    if (rc == -ENOMEM)
        k->at = 0; /* may be out of step: made again at the next change */
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (fs_rules_set_put(&k->held, names[i], fs_rules_ref(fs_rules_find(&p->now_d, names[i]))) <
            0) {
            k->at = 0;
            return -ENOMEM;
        }
    k->at = p->gen;
    return 0;
}

/* PREV's policy by key: made once (off the write path when it can be: fs_keys_warm()), then
 * moved along as each change is served. Borrowed: PREV's policy holds it. */
static int fs_keys_of(struct fs_keys **out, const struct fs_snap *prev)
{
    struct fs_policy *pp = prev->policy;
    struct fs_keys *k;
    int rc;

    pthread_mutex_lock(&pp->mu);
    while (pp->warming)
        pthread_cond_wait(&pp->warmed, &pp->mu);
    k = pp->keys;
    pthread_mutex_unlock(&pp->mu);
    if (k == NULL || k->at != pp->gen) {
        if ((rc = fs_keys_make(&k, prev, NULL)) < 0)
            return rc;
        pthread_mutex_lock(&pp->mu);
        fs_keys_put(pp->keys);
        pp->keys = k;
        pthread_mutex_unlock(&pp->mu);
    }
    *out = k;
    return 0;
}

/* S's groups and credentials files parsed alone into a new set *OUT; messages name the files. */
static int fs_keys_people_parse(struct engine_acl **out, const struct fs_snap *s,
                                struct engine_diag *diag)
{
    static const struct {
        enum fs_file f;
        enum engine_acl_file kind;
    } order[] = {
        {.f = FS_FILE_GROUPS, .kind = ENGINE_ACL_FILE_GROUPS},
        {.f = FS_FILE_CREDENTIALS, .kind = ENGINE_ACL_FILE_CREDENTIALS},
    };
    int rc, bad = 0;

    if ((rc = engine_acl_new(out)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct fs_text *t = &s->file[order[i].f];
        if (t->data == NULL)
            continue;
        rc = engine_acl_parse(*out, order[i].kind, fs_file_path(order[i].f), t->data, t->len, diag);
        if (rc == -ENOMEM) {
            engine_acl_free(*out);
            *out = NULL;
            return rc;
        }
        bad |= rc < 0;
    }
    if (bad) {
        engine_acl_free(*out);
        *out = NULL;
        return -EINVAL;
    }
    return 0;
}

int fs_keys_people(struct fs_policy *p, const struct fs_snap *s, const struct fs_snap *prev,
                   struct engine_diag *diag)
{
    struct fs_policy *pp = prev != NULL ? prev->policy : NULL;
    struct engine_acl_stats st = {0};
    struct fs_keys *k;
    int rc;

    if (pp == NULL || !fs_text_same(&s->file[FS_FILE_ACL], &prev->file[FS_FILE_ACL]) ||
        !fs_rules_set_same(&s->acld, &prev->acld))
        return 1;
    if ((rc = fs_keys_people_parse(&p->people, s, diag)) < 0)
        return rc;
    if ((rc = fs_keys_of(&k, prev)) < 0)
        return rc;
    /* A group gone may be named by a rule: the whole policy says which. */
    if (!engine_acl_groups_kept(k->people, p->people)) {
        engine_acl_free(p->people);
        p->people = NULL;
        return 1;
    }
    if ((rc = fs_keys_people_parse(&p->people_keys, s, diag)) < 0)
        return rc;
    p->main = fs_rules_ref(pp->main);
    p->keys = k;
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    p->from = pp->gen;
    engine_acl_stats_get(p->people, &st);
    p->stats = st;
    engine_acl_keys_stats(k->k, NULL, &p->stats.rules, &p->stats.policies);
    return 0;
}

int fs_keys_policy(struct fs_policy *p, const struct fs_snap *s, const struct fs_snap *prev,
                   struct engine_diag *diag)
{
    struct fs_policy *pp = prev != NULL ? prev->policy : NULL;
    struct engine_acl_stats st = {0};
    char path[PATH_MAX];
    const char *name, *names[FS_KEYS_FILES_MAX];
    struct fs_rules *now, *was;
    struct fs_keys *k;
    size_t n;
    int rc;

    if (pp == NULL || !fs_text_same(&s->file[FS_FILE_ACL], &prev->file[FS_FILE_ACL]) ||
        !fs_text_same(&s->file[FS_FILE_GROUPS], &prev->file[FS_FILE_GROUPS]) ||
        !fs_text_same(&s->file[FS_FILE_CREDENTIALS], &prev->file[FS_FILE_CREDENTIALS]) ||
        (n = fs_keys_differ(&prev->acld, &s->acld, names, FS_KEYS_FILES_MAX)) == 0 ||
        n > FS_KEYS_FILES_MAX)
        return 1;
    name = names[0];
    if ((rc = fs_keys_of(&k, prev)) < 0)
        return rc;
    if (n > 1) {
        if ((rc = fs_keys_policy_files(p, s, k, names, n, diag)) < 0)
            return rc;
        goto done;
    }
    now = fs_rules_find(&s->acld, name);
    fs_rules_path(path, sizeof(path), name);
    if (now != NULL && (rc = fs_rules_part(now, path, diag)) < 0)
        return rc;
    /* Only the rules of the lines that differ from the version held are looked at. */
    p->has_lines = now != NULL && (was = fs_rules_find(&k->held, name)) != NULL;
    if (p->has_lines)
        engine_acl_lines_changed(&p->lines, was->text.data, was->text.len, now->text.data,
                                 now->text.len);
    if ((rc = engine_acl_keys_diff(k->k, path, 0, now != NULL ? now->part : NULL,
                                   p->has_lines ? &p->lines : NULL, &p->change, diag)) < 0)
        return rc;
    if (now != NULL && engine_acl_check_groups_of(k->people, now->part, path, diag) < 0) {
        engine_acl_keys_change_free(p->change);
        p->change = NULL;
        return -EINVAL;
    }
    if ((p->changed = strdup(path)) == NULL) {
        engine_acl_keys_change_free(p->change);
        p->change = NULL;
        return -ENOMEM;
    }
    p->now = fs_rules_ref(now);
    /* The rules the change removes are the old version's: kept until it is applied, when the
     * kept index and the policies that held that version may have let it go. */
    p->was = fs_rules_ref(fs_rules_find(&k->held, name));
done:
    p->main = fs_rules_ref(pp->main);
    p->keys = k;
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    p->from = pp->gen;
    engine_acl_stats_get(k->people, &st);
    p->stats = st;
    /* Several files: K holds this policy's rules already. */
    engine_acl_keys_stats(k->k, n > 1 ? NULL : p->change, &p->stats.rules, &p->stats.policies);
    return 0;
}

int fs_snap_has_policy(const void *arg, const char *policy)
{
    const struct fs_snap *s = arg;
    const struct fs_policy *p = s->policy;

    const struct engine_acl *a;

    /* The index holds the rules of the policy this one was made from, or of this one. */
    if (p->change != NULL && (p->keys->at == p->from || p->keys->at == p->gen))
        return engine_acl_keys_has_policy(p->keys->k, p->changed, p->now ? p->now->part : NULL,
                                          policy);
    if (p->people != NULL && (p->keys->at == p->from || p->keys->at == p->gen))
        return engine_acl_keys_has_policy(p->keys->k, NULL, NULL, policy); /* the same rules */
    return (a = fs_snap_acl(s)) != NULL && engine_acl_has_policy(a, policy);
}

void fs_keys_installed(struct fs_snap *s)
{
    struct fs_policy *p = s->policy;
    struct fs_keys *k;
    const char *name;

    /* Only the groups and credentials changed: the same rules, the new people. */
    if (p->people_keys != NULL && (k = p->keys) != NULL && k->at == p->from) {
        engine_acl_free(k->people);
        k->people = p->people_keys;
        p->people_keys = NULL;
        k->at = p->gen;
        return;
    }
    /* A policy made whole has no change; its KEYS may be being set (fs_keys_warm()). */
    if (p->change == NULL || (k = p->keys) == NULL || k->at != p->from)
        return;
    name = p->changed + strlen(FS_RULES_DIR) + 1;
    if (engine_acl_keys_set(k->k, p->changed, 0, p->now ? p->now->part : NULL,
                            p->has_lines ? &p->lines : NULL) < 0 ||
        fs_rules_set_put(&k->held, name, fs_rules_ref(p->now)) < 0) {
        k->at = 0; /* out of step: made again at the next change */
        return;
    }
    k->at = p->gen;
}

const struct engine_acl *fs_snap_acl(const struct fs_snap *s)
{
    struct fs_policy *p = s->policy;
    struct engine_acl *a = NULL;
    const struct fs_text *g = &s->file[FS_FILE_GROUPS], *cr = &s->file[FS_FILE_CREDENTIALS];
    struct engine_diag d;

    engine_diag_init(&d);
    pthread_mutex_lock(&p->mu);
    /* Every file of a served snapshot is valid and parsed: no message can come. */
    if (p->acl == NULL && engine_acl_new(&a) == 0) {
        if ((g->data != NULL &&
             engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", g->data, g->len, &d) < 0) ||
            fs_rules_add_all(a, p->main, &s->acld, &d) < 0 ||
            (cr->data != NULL && engine_acl_parse(a, ENGINE_ACL_FILE_CREDENTIALS, "credentials",
                                                  cr->data, cr->len, &d) < 0)) {
            engine_acl_free(a);
            a = NULL;
        }
        p->acl = a;
    }
    a = p->acl;
    pthread_mutex_unlock(&p->mu);
    engine_diag_free(&d);
    return a;
}
