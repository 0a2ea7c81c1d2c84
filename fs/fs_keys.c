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

/* The names whose rules files differ between A and B (borrowed from them) into *NAMES (a new
 * array, freed by the caller): their count, or -ENOMEM. */
static ssize_t fs_keys_differ(const struct fs_rules_set *a, const struct fs_rules_set *b,
                              const char ***names)
{
    size_t i = 0, j = 0, n = 0;

    if ((*names = malloc((a->n + b->n + 1) * sizeof(**names))) == NULL)
        return -ENOMEM;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i]->name, b->v[j]->name);
        const char *name = c <= 0 ? a->v[i]->name : b->v[j]->name;
        int differs = c != 0 || !fs_rules_same(a->v[i], b->v[j]);
        i += c <= 0;
        j += c >= 0;
        if (differs)
            (*names)[n++] = name;
    }
    return (ssize_t)n;
}

/* S's policy/acl parsed alone into *OUT (NULL: S has none); messages name it policy/acl. */
static int fs_keys_main_of(struct fs_rules **out, const struct fs_snap *s, struct engine_diag *diag)
{
    const struct fs_text *t = &s->file[FS_FILE_ACL];
    int rc;

    *out = NULL;
    if (t->data == NULL)
        return 0;
    if ((rc = fs_rules_share(out, "acl", t, "")) < 0)
        return rc;
    if ((rc = fs_rules_part(*out, fs_file_path(FS_FILE_ACL), diag)) < 0) {
        fs_rules_put(*out);
        *out = NULL;
    }
    return rc;
}

/* The lines that differ between a file's version WAS and its version NOW, into *L: L, or NULL
 * when either is missing (every rule then). */
static const struct engine_acl_lines *
fs_keys_lines(struct engine_acl_lines *l, const struct fs_rules *was, const struct fs_rules *now)
{
    if (was == NULL || now == NULL)
        return NULL;
    engine_acl_lines_changed(l, was->text.data, was->text.len, now->text.data, now->text.len);
    return l;
}

/* The files NAMES of S for fs_keys_policy_files(), after policy/acl's new version MAIN when
 * HAS_MAIN (entry 0): their old versions (K's) and new ones (S's) kept in P, each new one parsed
 * and its groups checked; their paths in PATHS, PV, and their rules parsed alone in PARTS (NULL:
 * removed). 0, -EINVAL with DIAG filled, or -ENOMEM. */
static int fs_keys_files(struct fs_policy *p, const struct fs_snap *s, const struct fs_keys *k,
                         int has_main, struct fs_rules *main, const char *const *names, size_t n,
                         char (*paths)[PATH_MAX], const char **pv, const struct engine_acl **parts,
                         struct engine_acl_lines *lv, const struct engine_acl_lines **lp,
                         struct engine_diag *diag)
{
    int rc = 0, bad = 0;

    if (has_main) {
        snprintf(paths[0], sizeof(paths[0]), "%s", fs_file_path(FS_FILE_ACL));
        pv[0] = paths[0];
        parts[0] = main != NULL ? main->part : NULL;
        lp[0] = fs_keys_lines(&lv[0], k->main, main);
        if (main != NULL && engine_acl_check_groups_of(k->people, main->part, pv[0], diag) < 0)
            bad = 1;
        paths++, pv++, parts++, lv++, lp++;
    }
    for (size_t i = 0; i < n; i++) {
        struct fs_rules *now = fs_rules_find(&s->acld, names[i]), *was;
        fs_rules_path(paths[i], sizeof(paths[i]), names[i]);
        pv[i] = paths[i];
        parts[i] = NULL;
        /* The old versions stay until the change is applied: it borrows their strings. */
        if ((was = fs_rules_find(&k->held, names[i])) != NULL &&
            fs_rules_set_put(&p->was_d, names[i], fs_rules_ref(was)) < 0)
            return -ENOMEM;
        lp[i] = fs_keys_lines(&lv[i], was, now);
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
 * policy/acl.d NAMES, and by policy/acl (its new version MAIN) when HAS_MAIN: each new version
 * parsed and its groups checked, then all of them replaced in K at once
 * (engine_acl_keys_replace()). K then holds P's rules (K->at is P's gen); refused, K is as it was
 * (or, out of memory, made again at the next change). Returns as fs_keys_policy(). */
static int fs_keys_policy_files(struct fs_policy *p, const struct fs_snap *s, struct fs_keys *k,
                                int has_main, struct fs_rules *main, const char *const *names,
                                size_t n, struct engine_diag *diag)
{
    const size_t m = n + (has_main != 0);
    char(*paths)[PATH_MAX] = calloc(m, sizeof(*paths));
    const char **pv = calloc(m, sizeof(*pv));
    const struct engine_acl **parts = calloc(m, sizeof(*parts));
    struct engine_acl_lines *lv = calloc(m, sizeof(*lv));
    const struct engine_acl_lines **lp = calloc(m, sizeof(*lp));
    int rc = -ENOMEM;

    if (paths != NULL && pv != NULL && parts != NULL && lv != NULL && lp != NULL &&
        (rc = fs_keys_files(p, s, k, has_main, main, names, n, paths, pv, parts, lv, lp, diag)) ==
            0)
        rc = engine_acl_keys_replace(k->k, pv, parts, lp, m, has_main, &p->change, diag);
    free(paths);
    free(pv);
    free(parts);
    free(lv);
    free(lp);
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
    if (has_main) {
        /* The old version stays until the change is applied: it borrows its strings. */
        p->was = k->main;
        k->main = fs_rules_ref(main);
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
    const char **names = NULL;
    struct fs_rules *now = NULL, *was, *main = NULL;
    struct fs_keys *k;
    ssize_t n;
    int rc, has_main;

    if (pp == NULL || !fs_text_same(&s->file[FS_FILE_GROUPS], &prev->file[FS_FILE_GROUPS]) ||
        !fs_text_same(&s->file[FS_FILE_CREDENTIALS], &prev->file[FS_FILE_CREDENTIALS]))
        return 1;
    has_main = !fs_text_same(&s->file[FS_FILE_ACL], &prev->file[FS_FILE_ACL]);
    if ((n = fs_keys_differ(&prev->acld, &s->acld, &names)) < 0)
        return (int)n;
    if (n == 0 && !has_main) {
        free(names);
        return 1;
    }
    /* policy/acl changed: parsed alone, the one file not shared with the policy before. */
    if ((has_main && (rc = fs_keys_main_of(&main, s, diag)) < 0) ||
        (rc = fs_keys_of(&k, prev)) < 0) {
        free(names);
        fs_rules_put(main);
        return rc;
    }
    if (n + has_main > 1) {
        rc = fs_keys_policy_files(p, s, k, has_main, main, names, (size_t)n, diag);
        free(names);
        if (rc < 0) {
            fs_rules_put(main);
            return rc;
        }
        engine_log("info",
                   "%zd rules files%s changed at once, checked by key: %zu rules in force "
                   "changed",
                   n, has_main ? " and policy/acl" : "", engine_acl_keys_change_count(p->change));
        goto done;
    }
    if (has_main) {
        now = main;
        was = k->main;
        snprintf(path, sizeof(path), "%s", fs_file_path(FS_FILE_ACL));
    } else {
        now = fs_rules_find(&s->acld, names[0]);
        was = fs_rules_find(&k->held, names[0]);
        fs_rules_path(path, sizeof(path), names[0]);
    }
    free(names);
    if (!has_main && now != NULL && (rc = fs_rules_part(now, path, diag)) < 0)
        return rc;
    /* Only the rules of the lines that differ from the version held are looked at. */
    p->has_lines = now != NULL && was != NULL;
    if (p->has_lines)
        engine_acl_lines_changed(&p->lines, was->text.data, was->text.len, now->text.data,
                                 now->text.len);
    if ((rc = engine_acl_keys_diff(k->k, path, has_main, now != NULL ? now->part : NULL,
                                   p->has_lines ? &p->lines : NULL, &p->change, diag)) < 0) {
        fs_rules_put(main);
        return rc;
    }
    if (now != NULL && engine_acl_check_groups_of(k->people, now->part, path, diag) < 0) {
        engine_acl_keys_change_free(p->change);
        p->change = NULL;
        fs_rules_put(main);
        return -EINVAL;
    }
    if ((p->changed = strdup(path)) == NULL) {
        engine_acl_keys_change_free(p->change);
        p->change = NULL;
        fs_rules_put(main);
        return -ENOMEM;
    }
    p->changed_main = has_main;
    p->now = fs_rules_ref(now);
    engine_log("info", "%s: checked by key, %s: %zu rules in force changed", path,
               p->has_lines ? "the lines that differ" : "every rule",
               engine_acl_keys_change_count(p->change));
    /* The rules the change removes are the old version's: kept until it is applied, when the
     * kept index and the policies that held that version may have let it go. */
    p->was = fs_rules_ref(was);
done:
    p->main = has_main ? main : fs_rules_ref(pp->main);
    p->keys = k;
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    p->from = pp->gen;
    engine_acl_stats_get(k->people, &st);
    p->stats = st;
    /* Several files: K holds this policy's rules already. */
    engine_acl_keys_stats(k->k, p->changed == NULL ? NULL : p->change, &p->stats.rules,
                          &p->stats.policies);
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
    if (engine_acl_keys_set(k->k, p->changed, p->changed_main, p->now ? p->now->part : NULL,
                            p->has_lines ? &p->lines : NULL) < 0) {
        k->at = 0; /* out of step: made again at the next change */
        return;
    }
    if (p->changed_main) {
        fs_rules_put(k->main);
        k->main = fs_rules_ref(p->now);
    } else if (fs_rules_set_put(&k->held, p->changed + strlen(FS_RULES_DIR) + 1,
                                fs_rules_ref(p->now)) < 0) {
        k->at = 0;
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
        if (a != NULL) /* read, compiled and diffed from now on; a lookup by string scans */
            engine_acl_seal(a);
        p->acl = a;
    }
    a = p->acl;
    pthread_mutex_unlock(&p->mu);
    engine_diag_free(&d);
    return a;
}
