/*
 * acl_index.c — a compiled policy kept up to date by the rules that change: the whole blob
 * compiled once (the base), the base's rules that are gone since (dead) and a small blob of
 * the rules added since and of the users whose groups or credential changed since (over). A
 * change costs what the changed rules and users cost; the base is compiled again only when the
 * changes grow large.
 */
#include "acl_int.h"
#include "common/acl_patch.h"
#include "common/sha256.h"

#include <errno.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

/* The changes applied since engine_acl_index_record(), each rule's strings owned (one block
 * each), so that a base compiled elsewhere from the rules in force then can take them over. */
struct index_log {
    int on;
    uint64_t from; /* the version in force when it started */
    struct acl_chg *chg;
    size_t n, cap;
    struct index_step {
        size_t ndel, nadd;
        uint64_t version;
        struct acl_people people; /* the users, groups and credentials it brought, or none */
    } * step;
    size_t nstep, stepcap;
};

/* The base's bytes, counted: held by the index and by whoever took a share of them
 * (engine_acl_index_base_share()), so that they are handed on instead of copied. */
struct engine_acl_base {
    unsigned refs; /* atomic */
    void *data;
    size_t len;
};

struct engine_acl_index {
    char *policy; /* NULL: every policy */
    struct engine_acl_base *bb;
    const void *base; /* BB's bytes */
    size_t base_len;
    struct engine_acl_blob b;
    uint8_t people[ENGINE_SHA256_LEN]; /* the users, groups and credentials it was compiled with */
    uint8_t people_now[ENGINE_SHA256_LEN]; /* those in force (the base's and over's records) */
    uint32_t *dead;                        /* strictly ascending */
    size_t ndead, deadcap;
    struct engine_acl *over; /* the rules added since the base */
    void *over_blob;
    size_t over_len;
    struct engine_acl_blob ob;
    uint64_t version;
    struct index_log log; /* the changes since a new base's rules were taken elsewhere */
};

/* Base compiles made by this thread (engine_acl_index_compiles()). */
static _Thread_local uint64_t index_compiles;

static int index_people_sum(const struct engine_acl *a, uint8_t out[ENGINE_SHA256_LEN])
{
    struct acl_people pp;
    int r = acl_people_of(&pp, a);

    if (r < 0)
        return r;
    memcpy(out, pp.sum, ENGINE_SHA256_LEN);
    acl_people_free(&pp);
    return 0;
}

static void index_log_drop(struct index_log *g)
{
    for (size_t i = 0; i < g->nstep; i++)
        acl_people_free(&g->step[i].people);
    for (size_t i = 0; i < g->n; i++)
        free((void *)g->chg[i].policy);
    free(g->chg);
    free(g->step);
    *g = (struct index_log){0};
}

/* Appends the change DEL, ADD that brought the rules to VERSION; on failure the record stops. */
static void index_log_add(struct index_log *g, const struct acl_chg *del, size_t ndel,
                          const struct acl_chg *add, size_t nadd, const struct acl_people *pp,
                          uint64_t version)
{
    struct acl_people copy = {0};

    if (!g->on)
        return;
    if (ENGINE_GROW(&g->chg, &g->cap, g->n + ndel + nadd) < 0 ||
        ENGINE_GROW(&g->step, &g->stepcap, g->nstep + 1) < 0)
        goto fail;
    for (size_t i = 0; i < ndel + nadd; i++) {
        const struct acl_chg *c = i < ndel ? &del[i] : &add[i - ndel];
        size_t lp = strlen(c->policy) + 1, ls = strlen(c->subject) + 1, lm = strlen(c->method) + 1;
        char *m = malloc(lp + c->plen + 1 + ls + lm);
        if (m == NULL)
            goto fail;
        struct acl_chg *o = &g->chg[g->n++];
        *o = *c;
        o->policy = memcpy(m, c->policy, lp);
        o->path = memcpy(m + lp, c->path, c->plen);
        m[lp + c->plen] = 0;
        o->subject = memcpy(m + lp + c->plen + 1, c->subject, ls);
        o->method = memcpy(m + lp + c->plen + 1 + ls, c->method, lm);
    }
    if (pp != NULL && acl_people_copy(&copy, pp) < 0)
        goto fail;
    g->step[g->nstep++] = (struct index_step){ndel, nadd, version, copy};
    return;
fail:
    index_log_drop(g);
}

static int index_compile_base(struct engine_acl_index *x, const struct engine_acl *a,
                              uint64_t version)
{
    void *blob;
    size_t len;
    struct engine_acl_blob b;
    uint8_t people[ENGINE_SHA256_LEN];
    struct engine_acl *over;
    int r;

    index_compiles++;
    if ((r = index_people_sum(a, people)) < 0 ||
        (r = engine_acl_compile(&blob, &len, a, x->policy, version)) < 0)
        return r;
    struct engine_acl_base *bb = malloc(sizeof(*bb));
    if (bb == NULL || engine_acl_blob_open(&b, blob, len, NULL) < 0 || engine_acl_new(&over) < 0) {
        free(bb);
        free(blob);
        return -ENOMEM;
    }
    *bb = (struct engine_acl_base){.refs = 1, .data = blob, .len = len};
    engine_acl_base_put(x->bb);
    x->bb = bb;
    x->base = blob;
    x->base_len = len;
    x->b = b;
    memcpy(x->people, people, sizeof(people));
    memcpy(x->people_now, people, sizeof(people));
    x->ndead = 0;
    engine_acl_free(x->over);
    x->over = over;
    free(x->over_blob);
    x->over_blob = NULL;
    x->over_len = 0;
    x->version = version;
    index_log_drop(&x->log); /* a base of its own: what was recorded for another is moot */
    return 0;
}

int engine_acl_index_new(struct engine_acl_index **out, const struct engine_acl *a,
                         const char *policy, uint64_t version)
{
    struct engine_acl_index *x = calloc(1, sizeof(*x));
    int r = -ENOMEM;

    *out = NULL;
    if (x == NULL || (policy && (x->policy = strdup(policy)) == NULL))
        goto fail;
    if ((r = index_compile_base(x, a, version)) < 0)
        goto fail;
    *out = x;
    return 0;
fail:
    engine_acl_index_free(x);
    return r;
}

int engine_acl_index_base_copy(struct engine_acl_index **out, const struct engine_acl_index *x)
{
    struct engine_acl_index *y = calloc(1, sizeof(*y));

    *out = NULL;
    if (y == NULL || (x->policy && (y->policy = strdup(x->policy)) == NULL) ||
        engine_acl_new(&y->over) < 0) {
        engine_acl_index_free(y);
        return -ENOMEM;
    }
    y->bb = engine_acl_index_base_share(x, &y->base, &y->base_len);
    y->b = x->b; /* the same bytes, opened */
    memcpy(y->people, x->people, sizeof(y->people));
    memcpy(y->people_now, x->people, sizeof(y->people_now));
    y->version = y->b.hdr->policy_version;
    *out = y;
    return 0;
}

void engine_acl_index_free(struct engine_acl_index *x)
{
    if (x == NULL)
        return;
    free(x->policy);
    engine_acl_base_put(x->bb);
    free(x->dead);
    engine_acl_free(x->over);
    free(x->over_blob);
    index_log_drop(&x->log);
    free(x);
}

/* ---- one rule in or out ---- */

/* A change's strings checked as the parser checks a line's fields, in the stored form. */
static int index_change_norm(const struct engine_acl_change *c, struct acl_chg *n)
{
    size_t bad, sn;

    if (c->policy == NULL || c->subject == NULL || c->method == NULL || c->pattern == NULL ||
        c->line == 0 || c->line > ENGINE_ACL_LINE_MAX)
        return -EINVAL;
    sn = strlen(c->subject);
    if (!engine_acl_policy_valid(c->policy, strlen(c->policy)) ||
        !acl_method_valid(c->method, strlen(c->method)) ||
        acl_path_check(c->pattern, strlen(c->pattern), &n->plen, &n->kind, &bad) != NULL)
        return -EINVAL;
    if (!(sn == 1 && c->subject[0] == '*') &&
        !(sn > 6 && memcmp(c->subject, "group:", 6) == 0 &&
          engine_acl_name_valid(c->subject + 6, sn - 6)) &&
        !engine_acl_name_valid(c->subject, sn))
        return -EINVAL;
    n->policy = c->policy;
    n->path = c->pattern;
    n->subject = c->subject;
    n->method = c->method;
    n->allow = c->allow != 0;
    n->line = c->line;
    return 0;
}

/* The base's rule C names (live or dead), or ENGINE_ACL_NO_RULE. */
static uint32_t index_base_find(const struct engine_acl_index *x, const struct acl_chg *c)
{
    struct engine_acl_request rq = {c->policy,         NULL, c->method,         c->path,
                                    strlen(c->policy), 0,    strlen(c->method), c->plen};

    return engine_acl_blob_find(&x->b, &rq, c->subject, strlen(c->subject), c->kind);
}

/* The position of base rule I in the dead list, or where it would go; *FOUND says which. */
static size_t index_dead_pos(const struct engine_acl_index *x, uint32_t i, int *found)
{
    size_t lo = 0, hi = x->ndead;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->dead[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < x->ndead && x->dead[lo] == i;
    return lo;
}

/* The overlay's rule C names, or -1. */
static ssize_t index_over_find(const struct engine_acl_index *x, const struct acl_chg *c)
{
    const struct acl_pool *p = &x->over->s;
    int64_t pol = acl_pool_find(p, c->policy, strlen(c->policy)),
            path = acl_pool_find(p, c->path, c->plen),
            subj = acl_pool_find(p, c->subject, strlen(c->subject)),
            meth = acl_pool_find(p, c->method, strlen(c->method));

    if (pol < 0 || path < 0 || subj < 0 || meth < 0)
        return -1;
    for (size_t i = 0; i < x->over->nrule; i++) {
        const struct acl_rule *r = &x->over->rule[i];
        if (r->policy == pol && r->path == path && r->subject == subj && r->method == meth &&
            r->kind == c->kind)
            return (ssize_t)i;
    }
    return -1;
}

/* Removes C from the rules in force: from the overlay, or marks the base's rule dead. */
static int index_remove(struct engine_acl_index *x, const struct acl_chg *c)
{
    size_t pos;
    ssize_t o;
    uint32_t i;
    int found;

    if ((o = index_over_find(x, c)) >= 0) {
        if (x->over->rule[o].effect != c->allow)
            return -ENOENT;
        x->over->rule[o] = x->over->rule[--x->over->nrule];
        return 0;
    }
    i = index_base_find(x, c);
    if (i == ENGINE_ACL_NO_RULE || (x->b.rule[i].meta & 1) != (uint32_t)c->allow)
        return -ENOENT;
    pos = index_dead_pos(x, i, &found);
    if (found)
        return -ENOENT;
    if (ENGINE_GROW(&x->dead, &x->deadcap, x->ndead + 1) < 0)
        return -ENOMEM;
    memmove(x->dead + pos + 1, x->dead + pos, (x->ndead - pos) * sizeof(*x->dead));
    x->dead[pos] = i;
    x->ndead++;
    return 0;
}

/* Adds C to the rules in force: revives the base's rule, or adds it to the overlay. */
static int index_add(struct engine_acl_index *x, const struct acl_chg *c)
{
    struct engine_acl *ov = x->over;
    size_t pos;
    uint32_t i;
    int64_t id[4];
    int found;

    if (index_over_find(x, c) >= 0)
        return -EEXIST;
    i = index_base_find(x, c);
    if (i != ENGINE_ACL_NO_RULE) {
        pos = index_dead_pos(x, i, &found);
        if (!found)
            return -EEXIST;
        if ((x->b.rule[i].meta & 1) == (uint32_t)c->allow) {
            memmove(x->dead + pos, x->dead + pos + 1, (x->ndead - pos - 1) * sizeof(*x->dead));
            x->ndead--;
            return 0;
        }
    }
    if ((id[0] = acl_pool_intern(&ov->s, c->policy, strlen(c->policy))) < 0 ||
        (id[1] = acl_pool_intern(&ov->s, c->path, c->plen)) < 0 ||
        (id[2] = acl_pool_intern(&ov->s, c->subject, strlen(c->subject))) < 0 ||
        (id[3] = acl_pool_intern(&ov->s, c->method, strlen(c->method))) < 0 ||
        ENGINE_GROW(&ov->rule, &ov->rulecap, ov->nrule + 1) < 0)
        return -ENOMEM;
    ov->rule[ov->nrule++] = (struct acl_rule){
        .policy = (uint32_t)id[0],
        .path = (uint32_t)id[1],
        .subject = (uint32_t)id[2],
        .method = (uint32_t)id[3],
        .line = c->line,
        .kind = (uint8_t)c->kind,
        .effect = (uint8_t)c->allow,
    };
    return 0;
}

/* The overlay compiled again after a change: few rules, so cheap. *OLD gets the overlay's
 * blob before, for the caller to free once the change is recorded (a removed rule's strings
 * may point into it). */
static int index_compile_over(struct engine_acl_index *x, uint64_t version, void **old)
{
    void *blob = NULL;
    size_t len = 0;
    struct engine_acl_blob ob;
    int r;

    *old = x->over_blob;
    x->over_blob = NULL;
    x->over_len = 0;
    if (x->over->nrule == 0 && x->over->nrecuser == 0)
        return 0;
    if (x->over->nrule > 1) /* no rule at all when only users changed */
        qsort(x->over->rule, x->over->nrule, sizeof(*x->over->rule), acl_rule_cmp);
    if ((r = engine_acl_compile(&blob, &len, x->over, NULL, version)) < 0)
        return r;
    if (engine_acl_blob_open(&ob, blob, len, NULL) < 0) {
        free(blob);
        return -EIO;
    }
    x->over_blob = blob;
    x->over_len = len;
    x->ob = ob;
    return 0;
}

static int index_mine(const struct engine_acl_index *x, const struct acl_chg *c)
{
    return x->policy == NULL || strcmp(c->policy, x->policy) == 0;
}

int acl_index_change_people(struct engine_acl_index *x, const struct acl_chg *del, size_t ndel,
                            const struct acl_chg *add, size_t nadd, const struct acl_people *pp,
                            uint64_t version)
{
    struct acl_people_parts parts = {0};
    size_t done_del = 0, done_add = 0;
    int r = 0;

    if (version <= x->version)
        return -EINVAL;
    /* The users that differ from the base's, found before anything changes. */
    if (pp != NULL && (r = acl_people_overlay(&parts, x->over, &x->b, &pp->b)) < 0)
        return r;
    for (; r == 0 && done_del < ndel; done_del += r == 0)
        if (index_mine(x, &del[done_del]))
            r = index_remove(x, &del[done_del]);
    for (; r == 0 && done_add < nadd; done_add += r == 0)
        if (index_mine(x, &add[done_add]))
            r = index_add(x, &add[done_add]);
    if (r < 0) {
        /* Undone in reverse, so that a refused change leaves the rules as they were. */
        while (done_add-- > 0)
            if (index_mine(x, &add[done_add]))
                index_remove(x, &add[done_add]);
        while (done_del-- > 0)
            if (index_mine(x, &del[done_del]))
                index_add(x, &del[done_del]);
        acl_people_parts_free(&parts);
        return r;
    }
    if (pp != NULL)
        acl_people_swap(x->over, &parts);
    void *old_over;
    if ((r = index_compile_over(x, version, &old_over)) < 0) {
        if (pp != NULL)
            acl_people_swap(x->over, &parts); /* the users in force stay as they were */
        acl_people_parts_free(&parts);
        free(old_over);
        return r;
    }
    acl_people_parts_free(&parts);
    if (pp != NULL)
        memcpy(x->people_now, pp->sum, sizeof(x->people_now));
    x->version = version;
    index_log_add(&x->log, del, ndel, add, nadd, pp, version);
    free(old_over);
    return 0;
}

int acl_index_change(struct engine_acl_index *x, const struct acl_chg *del, size_t ndel,
                     const struct acl_chg *add, size_t nadd, uint64_t version)
{
    return acl_index_change_people(x, del, ndel, add, nadd, NULL, version);
}

int engine_acl_index_apply(struct engine_acl_index *x, const struct engine_acl_change *del,
                           size_t ndel, const struct engine_acl_change *add, size_t nadd,
                           uint64_t version)
{
    struct acl_chg *n = calloc(ndel + nadd + 1, sizeof(*n));
    int r = 0;

    if (n == NULL)
        return -ENOMEM;
    for (size_t i = 0; r == 0 && i < ndel + nadd; i++)
        r = index_change_norm(i < ndel ? &del[i] : &add[i - ndel], &n[i]);
    if (r == 0)
        r = acl_index_change(x, n, ndel, n + ndel, nadd, version);
    free(n);
    return r;
}

int acl_index_rebuild(struct engine_acl_index *x, const struct engine_acl *a, uint64_t version)
{
    return index_compile_base(x, a, version);
}

int acl_index_people_sum_is(const struct engine_acl_index *x, const uint8_t sum[32])
{
    return memcmp(sum, x->people_now, sizeof(x->people_now)) == 0;
}

const char *acl_index_policy(const struct engine_acl_index *x)
{
    return x->policy;
}

/* ---- what the index gives ---- */

void engine_acl_index_layers(const struct engine_acl_index *x, struct engine_acl_layers *l)
{
    l->base = &x->b;
    l->dead = x->dead;
    l->ndead = (uint32_t)x->ndead;
    l->over = x->over_blob ? &x->ob : NULL;
}

void engine_acl_index_base(const struct engine_acl_index *x, const void **blob, size_t *len)
{
    *blob = x->base;
    *len = x->base_len;
}

struct engine_acl_base *engine_acl_index_base_share(const struct engine_acl_index *x,
                                                    const void **blob, size_t *len)
{
    __atomic_add_fetch(&x->bb->refs, 1, __ATOMIC_ACQ_REL);
    *blob = x->base;
    *len = x->base_len;
    return x->bb;
}

void engine_acl_base_put(struct engine_acl_base *bb)
{
    if (bb == NULL || __atomic_sub_fetch(&bb->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(bb->data);
    free(bb);
}

uint64_t engine_acl_index_version(const struct engine_acl_index *x)
{
    return x->version;
}

uint64_t engine_acl_index_base_version(const struct engine_acl_index *x)
{
    return x->b.hdr->policy_version;
}

size_t engine_acl_index_changes(const struct engine_acl_index *x)
{
    return x->ndead + x->over->nrule + x->over->nrecuser;
}

int engine_acl_index_patch(const struct engine_acl_index *x, uint64_t from_version, void **out,
                           size_t *len)
{
    struct engine_acl_patch_header h = {
        .format = ENGINE_ACL_PATCH_FORMAT,
        .header_size = sizeof(h),
        .base_version = x->b.hdr->policy_version,
        .from_version = from_version,
        .version = x->version,
        .dead_off = sizeof(h),
        .dead_count = (uint32_t)x->ndead,
        .over_len = (uint32_t)x->over_len,
    };
    size_t dead_end = sizeof(h) + x->ndead * sizeof(uint32_t);
    uint8_t *p;

    *out = NULL;
    *len = 0;
    if (from_version >= x->version || from_version < x->b.hdr->policy_version ||
        x->ndead > UINT32_MAX / 8 || x->over_len > UINT32_MAX / 2)
        return -EINVAL;
    memcpy(h.magic, ENGINE_ACL_PATCH_MAGIC, 8);
    memcpy(h.base_sha256, x->b.hdr->sha256, sizeof(h.base_sha256));
    h.over_off = (uint32_t)((dead_end + ENGINE_ACL_BLOB_ALIGN - 1) & ~(size_t)7);
    h.total_size = (uint64_t)h.over_off + x->over_len;
    if (posix_memalign((void **)&p, ENGINE_ACL_BLOB_ALIGN, h.total_size) != 0)
        return -ENOMEM;
    memset(p, 0, h.total_size);
    memcpy(p, &h, sizeof(h));
    if (x->ndead)
        memcpy(p + sizeof(h), x->dead, x->ndead * sizeof(uint32_t));
    if (x->over_len)
        memcpy(p + h.over_off, x->over_blob, x->over_len);
    engine_sha256(((struct engine_acl_patch_header *)(void *)p)->sha256, p, h.total_size);
    *out = p;
    *len = h.total_size;
    return 0;
}

int engine_acl_index_patch_same(const struct engine_acl_index *x, const void *patch, size_t len,
                                const char **why)
{
    struct engine_acl_patch p;
    struct engine_acl_rule_view v;
    uint32_t nover;

    if (engine_acl_patch_open(&p, patch, len, &x->b, x->b.hdr->policy_version, why) < 0)
        return 0;
    *why = "the patch is of another version";
    if (p.hdr->version != x->version)
        return 0;
    *why = "the patch removes other rules";
    if (p.ndead != x->ndead || (x->ndead && memcmp(p.dead, x->dead, x->ndead * sizeof(*x->dead))))
        return 0;
    *why = "the patch adds other rules";
    nover = p.has_over ? p.over.rule_count : 0;
    if (nover != (x->over_blob ? x->ob.rule_count : 0))
        return 0;
    /* As many rules, each one of X's (a blob holds a rule once): the same rules. */
    for (uint32_t i = 0; i < nover; i++) {
        if (engine_acl_blob_rule(&p.over, i, &v) < 0)
            return 0;
        struct engine_acl_request rq = {v.policy,         NULL, v.method,         v.path,
                                        strlen(v.policy), 0,    strlen(v.method), strlen(v.path)};
        uint32_t j = engine_acl_blob_find(&x->ob, &rq, v.subject, strlen(v.subject), v.kind);
        if (j == ENGINE_ACL_NO_RULE || (x->ob.rule[j].meta & 1) != (uint32_t)(v.allow != 0))
            return 0;
    }
    *why = "the patch gives other users, groups or credentials";
    if (p.has_over != (x->over_blob != NULL) ||
        (p.has_over && !acl_people_same_users(&p.over, &x->ob)))
        return 0;
    return 1;
}

/* ---- a new base compiled elsewhere ---- */

uint64_t engine_acl_index_compiles(void)
{
    return index_compiles;
}

void engine_acl_index_record(struct engine_acl_index *x)
{
    index_log_drop(&x->log);
    x->log.on = 1;
    x->log.from = x->version;
}

int engine_acl_index_recording(const struct engine_acl_index *x)
{
    return x->log.on;
}

int engine_acl_index_rebase(struct engine_acl_index *x, struct engine_acl_index *nx)
{
    const struct index_log *g = &x->log;
    struct engine_acl_index t;
    size_t at = 0;
    int r = -ESTALE;

    if (!g->on || nx->version < g->from || (x->policy == NULL) != (nx->policy == NULL) ||
        (x->policy != NULL && strcmp(x->policy, nx->policy) != 0))
        goto out;
    if (g->nstep > 0 && g->step[0].version <= nx->version)
        goto out; /* a base's own version must come before every change replayed on it */
    /* The same changes, in the same order, from the same rules: the same rules in force. */
    for (size_t i = 0; i < g->nstep; i++) {
        const struct index_step *st = &g->step[i];
        if ((r = acl_index_change_people(nx, g->chg + at, st->ndel, g->chg + at + st->ndel,
                                         st->nadd, st->people.blob ? &st->people : NULL,
                                         st->version)) < 0)
            goto out;
        at += st->ndel + st->nadd;
    }
    r = -ESTALE;
    if (g->nstep > 0 && nx->version != x->version)
        goto out;
    /* X takes NX's parts but its name; NX leaves with X's old ones (and its record). */
    char *name = nx->policy;
    t = *x;
    *x = *nx;
    x->policy = t.policy;
    x->log = (struct index_log){0};
    *nx = t;
    nx->policy = name;
    r = 0;
out:
    engine_acl_index_free(nx);
    return r;
}
