/*
 * acl_keys_many.c — a change of several rules files at once (an outside commit, a rename) checked
 * by key at the cost of those files: every old version taken out, then every new one put in,
 * each checked against the rules held then, and the changes merged into one, a rule that one
 * file removes and another adds back dropped from both.
 */
#include "acl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Orders changes by what the index knows a rule by: key and effect. */
static int keys_chg_cmp(const struct acl_chg *a, const struct acl_chg *b)
{
    int c = strcmp(a->policy, b->policy);

    if (c == 0 && a->plen != b->plen)
        c = a->plen < b->plen ? -1 : 1;
    if (c == 0)
        c = memcmp(a->path, b->path, a->plen);
    if (c == 0 && a->kind != b->kind)
        c = a->kind < b->kind ? -1 : 1;
    if (c == 0)
        c = strcmp(a->subject, b->subject);
    if (c == 0)
        c = strcmp(a->method, b->method);
    if (c == 0 && a->allow != b->allow)
        c = a->allow < b->allow ? -1 : 1;
    return c;
}

static int keys_idx_cmp(const void *x, const void *y, void *arg)
{
    const struct acl_chg *v = arg;

    return keys_chg_cmp(&v[*(const size_t *)x], &v[*(const size_t *)y]);
}

/* The order of V[0..N) by keys_chg_cmp() (NULL: no memory). */
static size_t *keys_sorted(const struct acl_chg *v, size_t n)
{
    size_t *ix = malloc((n ? n : 1) * sizeof(*ix));

    if (ix == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        ix[i] = i;
    qsort_r(ix, n, sizeof(*ix), keys_idx_cmp, (void *)v);
    return ix;
}

/* Drops the rules C both removes and adds (same key, same effect), keeping the order of the
 * others. 0 or -ENOMEM (C unchanged). */
static int keys_change_cancel(struct engine_acl_keys_change *c)
{
    size_t *di = keys_sorted(c->del, c->ndel), *ai = keys_sorted(c->add, c->nadd);
    uint8_t *gone = calloc(c->ndel + c->nadd + 1, 1);
    size_t i = 0, j = 0, nd = 0, na = 0;

    if (di == NULL || ai == NULL || gone == NULL) {
        free(di);
        free(ai);
        free(gone);
        return -ENOMEM;
    }
    while (i < c->ndel && j < c->nadd) {
        int r = keys_chg_cmp(&c->del[di[i]], &c->add[ai[j]]);
        if (r == 0)
            gone[di[i]] = gone[c->ndel + ai[j]] = 1;
        i += r <= 0;
        j += r >= 0;
    }
    for (i = 0; i < c->ndel; i++)
        if (!gone[i])
            c->del[nd++] = c->del[i];
    for (j = 0; j < c->nadd; j++)
        if (!gone[c->ndel + j])
            c->add[na++] = c->add[j];
    c->ndel = nd;
    c->nadd = na;
    free(di);
    free(ai);
    free(gone);
    return 0;
}

int engine_acl_keys_change_merge(struct engine_acl_keys_change *into,
                                 struct engine_acl_keys_change *from)
{
    size_t nd = into->ndel, na = into->nadd;

    if ((from->ndel > 0 && ENGINE_GROW(&into->del, &into->delcap, nd + from->ndel) < 0) ||
        (from->nadd > 0 && ENGINE_GROW(&into->add, &into->addcap, na + from->nadd) < 0))
        return -ENOMEM;
    if (from->ndel > 0) /* an empty side may have no array at all */
        memcpy(into->del + nd, from->del, from->ndel * sizeof(*from->del));
    if (from->nadd > 0)
        memcpy(into->add + na, from->add, from->nadd * sizeof(*from->add));
    into->ndel += from->ndel;
    into->nadd += from->nadd;
    if (keys_change_cancel(into) < 0) {
        into->ndel = nd;
        into->nadd = na;
        return -ENOMEM;
    }
    into->distinct += from->distinct;
    engine_acl_keys_change_release(from);
    from->distinct = 0;
    return 0;
}

/* Adds ONE (taken: freed here) to *ALL (NULL: ONE becomes it). 0 or -ENOMEM. */
static int keys_take(struct engine_acl_keys_change **all, struct engine_acl_keys_change *one)
{
    int r = 0;

    if (*all == NULL)
        *all = one;
    else {
        r = engine_acl_keys_change_merge(*all, one);
        engine_acl_keys_change_free(one);
    }
    return r;
}

/* Each file changed in place by the lines that differ (LINES[i]; NULL: every rule), one after
 * the other, each checked against the others as held then. A conflict there may be with another
 * file's old version, which its new one drops: then K is put back as it was and 1 returned (the
 * caller takes every old version out before putting the new ones in). 0 with *OUT; -ENOMEM with K
 * as it was, or out of step when putting it back failed. Costs what the changed lines cost. */
static int keys_replace_lines(struct engine_acl_keys *k, const char *const *paths,
                              const struct engine_acl *const *parts,
                              const struct engine_acl *const *old,
                              const struct engine_acl_lines *const *lines, size_t n, int main,
                              struct engine_acl_keys_change **out)
{
    struct engine_acl_keys_change *all = NULL, *one;
    struct engine_diag scratch;
    size_t held = 0;
    int r = 0;

    engine_diag_init(&scratch);
    while (held < n && r == 0) {
        const int m = main && held == 0;
        if ((r = engine_acl_keys_diff(k, paths[held], m, parts[held], lines[held], &one,
                                      &scratch)) == 0 &&
            (r = keys_take(&all, one)) == 0 &&
            (r = engine_acl_keys_set(k, paths[held], m, parts[held], lines[held])) == 0)
            held++; /* only a file held anew is put back */
    }
    if (r == 0) {
        engine_diag_free(&scratch);
        *out = all;
        return 0;
    }
    /* Held since: put back (every rule of each, a refusal's cost, not a change's). */
    for (size_t i = 0; i < held; i++)
        if (engine_acl_keys_set(k, paths[i], main && i == 0, old[i], NULL) < 0)
            r = -ENOMEM;
    engine_diag_free(&scratch);
    engine_acl_keys_change_free(all);
    return r == -EINVAL ? 1 : r;
}

int engine_acl_keys_replace(struct engine_acl_keys *k, const char *const *paths,
                            const struct engine_acl *const *parts,
                            const struct engine_acl_lines *const *lines, size_t n, int main,
                            struct engine_acl_keys_change **out, struct engine_diag *d)
{
    const struct engine_acl **old = calloc(n ? n : 1, sizeof(*old));
    struct engine_acl_keys_change *all = NULL, *one;
    size_t errors = d != NULL ? d->n : 0, in = 0;
    int r = 0, lost = 0;

    *out = NULL;
    if (old == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        old[i] = engine_acl_keys_part(k, paths[i]);
    if (lines != NULL && n > 0 &&
        (r = keys_replace_lines(k, paths, parts, old, lines, n, main, out)) <= 0) {
        free(old);
        if (r == 0 && *out == NULL && (*out = calloc(1, sizeof(**out))) == NULL)
            return -ENOMEM;
        return r;
    }
    r = 0;
    /* Taken out: a removal conflicts with nothing. */
    for (size_t i = 0; i < n && r == 0; i++) {
        if (old[i] == NULL)
            continue;
        if ((r = engine_acl_keys_diff(k, paths[i], main && i == 0, NULL, NULL, &one, d)) == 0 &&
            (r = keys_take(&all, one)) == 0)
            r = engine_acl_keys_set(k, paths[i], main && i == 0, NULL, NULL);
    }
    /* Put in, each checked against what is held then; one that conflicts is held all the same,
     * so that the files after it are checked against it, as a whole load would. */
    for (; in < n && r == 0; in++) {
        if (parts[in] == NULL)
            continue;
        r = engine_acl_keys_diff(k, paths[in], main && in == 0, parts[in], NULL, &one, d);
        if (r == 0)
            r = keys_take(&all, one);
        if (r == 0 || r == -EINVAL)
            r = engine_acl_keys_set(k, paths[in], main && in == 0, parts[in], NULL);
    }
    if (r == 0 && d != NULL && d->n > errors)
        r = -EINVAL;
    if (r < 0) {
        /* Put back as it was: the new versions out, the old ones in. */
        for (size_t i = 0; i < n; i++)
            lost |= engine_acl_keys_set(k, paths[i], main && i == 0, old[i], NULL) < 0;
        engine_acl_keys_change_free(all);
        all = NULL;
    }
    free(old);
    if (lost)
        return -ENOMEM;
    *out = all;
    if (r == 0 && all == NULL) {
        /* Nothing held before nor after: no change. */
        if ((*out = calloc(1, sizeof(**out))) == NULL)
            return -ENOMEM;
    }
    return r;
}
