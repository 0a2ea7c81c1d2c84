/*
 * acl_diff.c — bringing an incremental index to a whole new rule set: the rules that differ
 * between the rules in force and the set, found by one hash pass over each, and the users that
 * differ (acl_people.c), applied as a change; or a new base when the changes add up.
 */
#include "acl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The new set's side hashes each distinct string once (ids), the index's side from its
 * strings (acl_key_hash()). */
uint64_t acl_key_hash(uint64_t policy, uint64_t path, unsigned kind, uint64_t subject,
                      uint64_t method)
{
    return engine_acl_hash_subject(policy ^ (path * 0x9e3779b97f4a7c15ull) ^ kind,
                                   subject ^ (method * 0xbf58476d1ce4e5b9ull));
}

static uint64_t diff_str(const char *s)
{
    return engine_acl_hash_user(s, strlen(s));
}

/* The new set's side: its rules by key, each string's hash computed once. */
struct diff_set {
    const struct engine_acl *a;
    uint64_t *idh; /* string id -> hash | 1, 0 not yet */
    uint32_t *tab; /* rule index + 1, 0 empty */
    uint32_t *tag; /* the key's high 32 bits, beside TAB */
    uint8_t *seen; /* by rule index: in force already */
    size_t mask;
};

static uint64_t diff_id(struct diff_set *t, uint32_t id)
{
    if (t->idh[id] == 0)
        t->idh[id] = diff_str(acl_pool_str(&t->a->s, id)) | 1;
    return t->idh[id];
}

struct acl_chg acl_chg_of(const struct engine_acl *a, const struct acl_rule *r)
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

/* One rule in force against the new set: the same (marked seen), or gone or changed
 * (removed; a changed one is added again as unseen). */
static int diff_one(struct diff *d, const struct acl_chg *in, struct diff_set *t)
{
    uint64_t key = acl_key_hash(diff_str(in->policy) | 1, diff_str(in->path) | 1, in->kind,
                                diff_str(in->subject) | 1, diff_str(in->method) | 1);
    uint32_t tag = (uint32_t)(key >> 32);

    for (size_t j = key & t->mask; t->tab[j] != 0; j = (j + 1) & t->mask) {
        const struct acl_rule *r = &t->a->rule[t->tab[j] - 1];
        const struct acl_pool *p = &t->a->s;
        if (t->tag[j] != tag || r->kind != in->kind ||
            strcmp(acl_pool_str(p, r->path), in->path) != 0 ||
            strcmp(acl_pool_str(p, r->subject), in->subject) != 0 ||
            strcmp(acl_pool_str(p, r->method), in->method) != 0 ||
            strcmp(acl_pool_str(p, r->policy), in->policy) != 0)
            continue;
        if (r->effect != in->allow)
            break; /* removed here, added with its new effect as unseen */
        t->seen[t->tab[j] - 1] = 1;
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

size_t engine_acl_index_bound(const struct engine_acl_index *x)
{
    return 2 * engine_acl_index_limit(x);
}

int engine_acl_index_people(struct engine_acl_index *x, const struct engine_acl *people,
                            uint64_t version)
{
    struct acl_people pp;
    int r;

    if (version <= engine_acl_index_version(x))
        return -EINVAL;
    if ((r = acl_people_of(&pp, people)) < 0)
        return r;
    r = acl_index_people_sum_is(x, pp.sum)
            ? 2
            : acl_index_change_people(x, NULL, 0, NULL, 0, &pp, version);
    acl_people_free(&pp);
    return r;
}

int engine_acl_index_sync(struct engine_acl_index *x, const struct engine_acl *a, uint64_t version)
{
    const char *policy = acl_index_policy(x);
    struct engine_acl_layers l;
    struct diff d = {0};
    struct diff_set t = {a, NULL, NULL, NULL, NULL, 0};
    size_t n = 0, cap = 16;
    size_t first = policy ? acl_policy_first(a, policy) : a->nrule;
    int64_t pid = first < a->nrule ? (int64_t)a->rule[first].policy : -1;
    struct acl_people pp = {0};
    int r = -ENOMEM, people;

    if (version <= engine_acl_index_version(x))
        return -EINVAL;
    /* Users, groups and credentials changed go into the patch as user records. */
    if ((r = acl_people_of(&pp, a)) < 0)
        return r;
    people = !acl_index_people_sum_is(x, pp.sum);
    r = -ENOMEM;
    engine_acl_index_layers(x, &l);
    for (size_t i = 0; i < a->nrule; i++)
        n += policy == NULL || a->rule[i].policy == (uint64_t)pid;
    while (cap < n * 2)
        cap *= 2;
    t.mask = cap - 1;
    if ((t.idh = calloc(a->s.n + 1, sizeof(*t.idh))) == NULL ||
        (t.tab = calloc(cap, sizeof(*t.tab))) == NULL ||
        (t.tag = malloc(cap * sizeof(*t.tag))) == NULL ||
        (t.seen = calloc(a->nrule + 1, 1)) == NULL)
        goto done;
    for (size_t i = 0; i < a->nrule; i++) {
        const struct acl_rule *ru = &a->rule[i];
        if (policy != NULL && ru->policy != (uint64_t)pid)
            continue;
        uint64_t key = acl_key_hash(diff_id(&t, ru->policy), diff_id(&t, ru->path), ru->kind,
                                    diff_id(&t, ru->subject), diff_id(&t, ru->method));
        size_t j = key & t.mask;
        while (t.tab[j] != 0)
            j = (j + 1) & t.mask;
        t.tab[j] = (uint32_t)i + 1;
        t.tag[j] = (uint32_t)(key >> 32);
    }
    r = 0;
    for (uint32_t i = 0, dd = 0; r == 0 && i < l.base->rule_count; i++) {
        if (dd < l.ndead && l.dead[dd] == i) {
            dd++;
            continue;
        }
        struct acl_chg in = diff_from_blob(l.base, i);
        r = diff_one(&d, &in, &t);
    }
    for (uint32_t i = 0; r == 0 && l.over != NULL && i < l.over->rule_count; i++) {
        struct acl_chg in = diff_from_blob(l.over, i);
        r = diff_one(&d, &in, &t);
    }
    for (size_t i = 0; r == 0 && i < a->nrule; i++)
        if (!t.seen[i] && (policy == NULL || a->rule[i].policy == (uint64_t)pid)) {
            struct acl_chg c = acl_chg_of(a, &a->rule[i]);
            r = diff_push(&d.add, &d.nadd, &d.addcap, &c);
        }
    if (r < 0)
        goto done;
    if (d.nadd == 0 && d.ndel == 0 && !people)
        r = 2; /* the same rules and users: the version in force stays */
    else if (engine_acl_index_changes(x) + d.nadd + d.ndel > engine_acl_index_bound(x))
        r = (r = acl_index_rebuild(x, a, version)) < 0 ? r : 1;
    else if ((r = acl_index_change_people(x, d.del, d.ndel, d.add, d.nadd, people ? &pp : NULL,
                                          version)) == 0 &&
             engine_acl_index_changes(x) > engine_acl_index_bound(x))
        r = (r = acl_index_rebuild(x, a, version)) < 0 ? r : 1; /* too many users changed */
done:
    acl_people_free(&pp);
    free(t.idh);
    free(t.tab);
    free(t.tag);
    free(t.seen);
    free(d.add);
    free(d.del);
    return r;
}
