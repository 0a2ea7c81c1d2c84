/* acl_set.c — a parsed policy set: its string pool (every name and path once, by id), its
 * making and freeing, and what it holds. */
#include "acl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the string pool ---- */

static uint32_t acl_pool_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

static int acl_pool_rehash(struct acl_pool *p, size_t cap)
{
    uint32_t *tab = calloc(cap, sizeof(*tab)), *tabh = malloc(cap * sizeof(*tabh));

    if (tab == NULL || tabh == NULL) {
        free(tab);
        free(tabh);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->tabcap; i++) {
        size_t j;
        if (p->tab[i] == 0)
            continue;
        for (j = p->tabh[i] & (cap - 1); tab[j] != 0; j = (j + 1) & (cap - 1))
            ;
        tab[j] = p->tab[i];
        tabh[j] = p->tabh[i];
    }
    free(p->tab);
    free(p->tabh);
    p->tab = tab;
    p->tabh = tabh;
    p->tabcap = cap;
    return 0;
}

static size_t acl_pool_slot(const struct acl_pool *p, const char *s, size_t n, uint32_t h)
{
    size_t j = h & (p->tabcap - 1);

    for (; p->tab[j] != 0; j = (j + 1) & (p->tabcap - 1)) {
        uint32_t id = p->tab[j] - 1;
        const char *t = p->buf + p->off[id];
        if (p->tabh[j] == h && memcmp(t, s, n) == 0 && t[n] == 0)
            break;
    }
    return j;
}

int64_t acl_pool_find(const struct acl_pool *p, const char *s, size_t n)
{
    size_t j;

    if (p->tabcap == 0)
        return -1;
    j = acl_pool_slot(p, s, n, acl_pool_hash(s, n));
    return p->tab[j] ? (int64_t)p->tab[j] - 1 : -1;
}

int acl_pool_reserve(struct acl_pool *p, size_t nstr, size_t nbytes)
{
    size_t cap = p->tabcap ? p->tabcap : 1024, c;

    while ((nstr + 1) * 2 > cap)
        cap *= 2;
    if (cap > p->tabcap && acl_pool_rehash(p, cap) < 0)
        return -ENOMEM;
    if (engine_grow((void **)&p->buf, &p->cap, nbytes, 1) < 0)
        return -ENOMEM;
    if (nstr > p->ncap) {
        c = p->ncap;
        if (engine_grow((void **)&p->off, &c, nstr, sizeof(*p->off)) < 0)
            return -ENOMEM;
        c = p->ncap;
        if (engine_grow((void **)&p->flags, &c, nstr, 1) < 0)
            return -ENOMEM;
        p->ncap = c;
    }
    return 0;
}

int64_t acl_pool_intern(struct acl_pool *p, const char *s, size_t n)
{
    uint32_t h = acl_pool_hash(s, n);
    size_t j;

    if ((p->n + 1) * 2 > p->tabcap && acl_pool_rehash(p, p->tabcap ? p->tabcap * 2 : 1024) < 0)
        return -ENOMEM;
    j = acl_pool_slot(p, s, n, h);
    if (p->tab[j] != 0)
        return p->tab[j] - 1;
    if (p->n >= UINT32_MAX - 1 || p->len + n + 1 > UINT32_MAX)
        return -ENOMEM;
    if (engine_grow((void **)&p->buf, &p->cap, p->len + n + 1, 1) < 0)
        return -ENOMEM;
    if (p->n == p->ncap) {
        size_t c = p->ncap;
        if (engine_grow((void **)&p->off, &c, p->n + 1, sizeof(*p->off)) < 0)
            return -ENOMEM;
        c = p->ncap;
        if (engine_grow((void **)&p->flags, &c, p->n + 1, 1) < 0)
            return -ENOMEM;
        p->ncap = c;
    }
    memcpy(p->buf + p->len, s, n);
    p->buf[p->len + n] = 0;
    p->off[p->n] = (uint32_t)p->len;
    p->flags[p->n] = 0;
    p->len += n + 1;
    p->tab[j] = (uint32_t)p->n + 1;
    p->tabh[j] = h;
    return (int64_t)p->n++;
}

/* ---- the set ---- */

int engine_acl_new(struct engine_acl **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void engine_acl_free(struct engine_acl *a)
{
    if (a == NULL)
        return;
    free(a->s.buf);
    free(a->s.off);
    free(a->s.flags);
    free(a->s.tab);
    free(a->s.tabh);
    free(a->rule);
    free(a->group);
    free(a->member);
    if (a->cred)
        memset(a->cred, 0, a->ncred * sizeof(*a->cred));
    free(a->cred);
    free(a->gref);
    for (size_t i = 0; i < a->nfile; i++)
        free(a->file[i].name);
    free(a->file);
    free(a->run);
    free(a->recuser);
    free(a);
}

void engine_acl_stats_get(const struct engine_acl *a, struct engine_acl_stats *st)
{
    st->rules = a->nrule;
    st->policies = a->npolicy;
    st->groups = a->ngroup;
    st->members = a->nmembers_distinct;
    st->credentials = a->ncred;
}

int engine_acl_has_policy(const struct engine_acl *a, const char *policy)
{
    int64_t id = acl_pool_find(&a->s, policy, strlen(policy));

    if (id < 0)
        return 0;
    for (size_t i = 0; i < a->nrule; i++)
        if (a->rule[i].policy == (uint32_t)id)
            return 1;
    return 0;
}
