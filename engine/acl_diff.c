/*
 * acl_diff.c — bringing an incremental index to a whole new rule set: the rules that differ
 * between the rules in force and the set, found by one hash pass over each, applied as a
 * change; or a new base when the users, groups or credentials changed or the changes add up.
 */
#include "acl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The rule key and method's hash: equal rules hash alike whichever pool holds their strings. */
static uint64_t diff_hash(const struct acl_chg *c)
{
    uint64_t h = engine_acl_hash_path(c->policy, strlen(c->policy), c->path, c->plen, c->kind);

    h = engine_acl_hash_subject(h, engine_acl_hash_user(c->subject, strlen(c->subject)));
    return h ^ engine_acl_hash_user(c->method, strlen(c->method)) * 0x9e3779b97f4a7c15ull;
}

static int diff_same(const struct acl_chg *a, const struct acl_chg *b)
{
    return a->kind == b->kind && a->plen == b->plen && memcmp(a->path, b->path, a->plen) == 0 &&
           strcmp(a->policy, b->policy) == 0 && strcmp(a->subject, b->subject) == 0 &&
           strcmp(a->method, b->method) == 0;
}

static struct acl_chg diff_from_set(const struct engine_acl *a, const struct acl_rule *r)
{
    const char *path = acl_pool_str(&a->s, r->path);

    return (struct acl_chg){acl_pool_str(&a->s, r->policy),
                            path,
                            acl_pool_str(&a->s, r->subject),
                            acl_pool_str(&a->s, r->method),
                            strlen(path),
                            r->kind,
                            r->effect,
                            r->line};
}

static struct acl_chg diff_from_blob(const struct engine_acl_blob *b, uint32_t i)
{
    struct engine_acl_rule_view v;

    engine_acl_blob_rule(b, i, &v);
    return (struct acl_chg){v.policy,       v.path, v.subject, v.method,
                            strlen(v.path), v.kind, v.allow,   v.line};
}

struct diff {
    struct acl_chg *add, *del;
    size_t nadd, ndel, addcap, delcap;
};

static int diff_push(struct acl_chg **v, size_t *n, size_t *cap, const struct acl_chg *c)
{
    if (ENGINE_GROW(v, cap, *n + 1) < 0)
        return -ENOMEM;
    (*v)[(*n)++] = *c;
    return 0;
}

/* One rule in force against the new set's table: the same (marked seen), or gone or changed
 * (removed; a changed one is added again as unseen). */
static int diff_one(struct diff *d, const struct acl_chg *in, const struct acl_chg *set,
                    const uint32_t *tab, size_t mask, uint8_t *seen)
{
    for (size_t j = diff_hash(in) & mask; tab[j] != 0; j = (j + 1) & mask) {
        const struct acl_chg *n = &set[tab[j] - 1];
        if (!diff_same(in, n))
            continue;
        if (n->allow != in->allow)
            break; /* removed here, added with its new effect as unseen */
        seen[tab[j] - 1] = 1;
        return 0;
    }
    return diff_push(&d->del, &d->ndel, &d->delcap, in);
}

size_t engine_acl_index_limit(const struct engine_acl_index *x)
{
    struct engine_acl_layers l;

    engine_acl_index_layers(x, &l);
    return l.base->rule_count / 64 > 1024 ? l.base->rule_count / 64 : 1024;
}

int engine_acl_index_sync(struct engine_acl_index *x, const struct engine_acl *a, uint64_t version)
{
    const char *policy = acl_index_policy(x);
    struct engine_acl_layers l;
    struct diff d = {0};
    struct acl_chg *set = NULL;
    uint32_t *tab = NULL;
    uint8_t *seen = NULL;
    size_t n = 0, cap = 16, k = 0;
    int64_t pid = policy ? acl_pool_find(&a->s, policy, strlen(policy)) : -1;
    int r = -ENOMEM;

    if (version <= engine_acl_index_version(x))
        return -EINVAL;
    if (!acl_index_people_same(x, a))
        return (r = acl_index_rebuild(x, a, version)) < 0 ? r : 1;
    engine_acl_index_layers(x, &l);
    for (size_t i = 0; i < a->nrule; i++)
        n += policy == NULL || a->rule[i].policy == (uint64_t)pid;
    while (cap < n * 2)
        cap *= 2;
    if ((set = malloc((n + 1) * sizeof(*set))) == NULL ||
        (tab = calloc(cap, sizeof(*tab))) == NULL || (seen = calloc(n + 1, 1)) == NULL)
        goto done;
    for (size_t i = 0; i < a->nrule; i++) {
        if (policy != NULL && a->rule[i].policy != (uint64_t)pid)
            continue;
        set[k] = diff_from_set(a, &a->rule[i]);
        size_t j = diff_hash(&set[k]) & (cap - 1);
        while (tab[j] != 0)
            j = (j + 1) & (cap - 1);
        tab[j] = (uint32_t)++k;
    }
    r = 0;
    for (uint32_t i = 0, dd = 0; r == 0 && i < l.base->rule_count; i++) {
        if (dd < l.ndead && l.dead[dd] == i) {
            dd++;
            continue;
        }
        struct acl_chg in = diff_from_blob(l.base, i);
        r = diff_one(&d, &in, set, tab, cap - 1, seen);
    }
    for (uint32_t i = 0; r == 0 && l.over != NULL && i < l.over->rule_count; i++) {
        struct acl_chg in = diff_from_blob(l.over, i);
        r = diff_one(&d, &in, set, tab, cap - 1, seen);
    }
    for (size_t i = 0; r == 0 && i < n; i++)
        if (!seen[i])
            r = diff_push(&d.add, &d.nadd, &d.addcap, &set[i]);
    if (r < 0)
        goto done;
    if (d.nadd == 0 && d.ndel == 0)
        r = 2; /* the same rules: the version in force stays */
    else if (engine_acl_index_changes(x) + d.nadd + d.ndel > engine_acl_index_limit(x))
        r = (r = acl_index_rebuild(x, a, version)) < 0 ? r : 1;
    else
        r = acl_index_change(x, d.del, d.ndel, d.add, d.nadd, version);
done:
    free(set);
    free(tab);
    free(seen);
    free(d.add);
    free(d.del);
    return r;
}
