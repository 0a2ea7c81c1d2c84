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

static void acl_pool_put(uint32_t *tab, uint32_t *tabh, size_t cap, uint32_t id1, uint32_t h)
{
    size_t j;

    for (j = h & (cap - 1); tab[j] != 0; j = (j + 1) & (cap - 1))
        ;
    tab[j] = id1;
    tabh[j] = h;
}

static int acl_pool_rehash(struct acl_pool *p, size_t cap)
{
    uint32_t *tab = calloc(cap, sizeof(*tab)), *tabh = malloc(cap * sizeof(*tabh));

    if (tab == NULL || tabh == NULL) {
        free(tab);
        free(tabh);
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->tabcap; i++)
        if (p->tab[i] != 0)
            acl_pool_put(tab, tabh, cap, p->tab[i], p->tabh[i]);
    /* A sealed pool (acl_pool_seal()) has strings but no table: made again from them. */
    for (size_t id = 0; p->tabcap == 0 && id < p->n; id++) {
        const char *s = p->buf + p->off[id];
        acl_pool_put(tab, tabh, cap, (uint32_t)id + 1, acl_pool_hash(s, strlen(s)));
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
        /* strncmp stops at T's end: a shorter stored string of the same hash is never read
         * past (S holds no NUL: the parser refuses them). */
        if (p->tabh[j] == h && strncmp(t, s, n) == 0 && t[n] == 0)
            break;
    }
    return j;
}

int64_t acl_pool_find(const struct acl_pool *p, const char *s, size_t n)
{
    size_t j;

    if (p->tabcap == 0) {
        /* Sealed (or empty): a scan. The hot lookups (an index's overlay, a rules file's keys)
         * are on pools that are never sealed. */
        for (size_t id = 0; id < p->n; id++) {
            const char *t = p->buf + p->off[id];
            if (strlen(t) == n && memcmp(t, s, n) == 0)
                return (int64_t)id;
        }
        return -1;
    }
    j = acl_pool_slot(p, s, n, acl_pool_hash(s, n));
    return p->tab[j] ? (int64_t)p->tab[j] - 1 : -1;
}

int acl_pool_reserve(struct acl_pool *p, size_t nstr, size_t nbytes)
{
    size_t cap = p->tabcap ? p->tabcap : 1024, c;

    while ((nstr + 1) * 2 > cap || (p->n + 1) * 2 > cap)
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

    if ((p->n + 1) * 2 > p->tabcap) {
        size_t cap = p->tabcap ? p->tabcap * 2 : 1024;
        while ((p->n + 1) * 2 > cap) /* a sealed pool's table is made for all its strings */
            cap *= 2;
        if (acl_pool_rehash(p, cap) < 0)
            return -ENOMEM;
    }
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

/* Shrinks *V (CAP elements of SIZE bytes) to exactly N: a shrinking realloc does not copy. */
static void acl_shrink(void **v, size_t *cap, size_t n, size_t size)
{
    void *t;

    if (n == 0 || n >= *cap || (t = realloc(*v, n * size)) == NULL)
        return; /* a failed shrink keeps the larger array */
    *v = t;
    *cap = n;
}

void acl_pool_seal(struct acl_pool *p)
{
    size_t coff = p->ncap, cflags = p->ncap;

    free(p->tab);
    free(p->tabh);
    p->tab = p->tabh = NULL;
    p->tabcap = 0;
    acl_shrink((void **)&p->buf, &p->cap, p->len, 1);
    acl_shrink((void **)&p->off, &coff, p->n, sizeof(*p->off));
    acl_shrink((void **)&p->flags, &cflags, p->n, 1);
    p->ncap = coff < cflags ? coff : cflags; /* the two arrays share one capacity: the least */
}

/* ---- the set ---- */

void engine_acl_seal(struct engine_acl *a)
{
    acl_pool_seal(&a->s);
    acl_shrink((void **)&a->rule, &a->rulecap, a->nrule, sizeof(*a->rule));
}

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

size_t acl_policy_first(const struct engine_acl *a, const char *policy)
{
    size_t i = 0, n = a->nrule;

    while (i < n) {
        uint32_t p = a->rule[i].policy;
        size_t lo = i + 1, hi = n;
        if (strcmp(acl_pool_str(&a->s, p), policy) == 0)
            return i;
        if (a->unsorted) { /* sorted file by file: the next rule of another policy */
            while (lo < n && a->rule[lo].policy == p)
                lo++;
        } else { /* sorted by policy: past P's rules in a binary search */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (a->rule[mid].policy <= p)
                    lo = mid + 1;
                else
                    hi = mid;
            }
        }
        i = lo;
    }
    return n;
}

int engine_acl_has_policy(const struct engine_acl *a, const char *policy)
{
    return acl_policy_first(a, policy) < a->nrule;
}
