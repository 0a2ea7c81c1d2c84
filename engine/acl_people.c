/*
 * acl_people.c — the users whose groups or credential differ from an index's base: the user
 * records a patch carries beside its added rules (contract/acl_patch.h, format 2), found by
 * comparing users, never rules, so that adding a member or rotating a password in a policy of
 * a million rules costs what that user costs.
 */
#include "acl_int.h"
#include "common/sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int acl_people_of(struct acl_people *pp, const struct engine_acl *a)
{
    int r;

    *pp = (struct acl_people){0};
    if ((r = engine_acl_compile(&pp->blob, &pp->len, a, ACL_NO_POLICY, 0)) < 0)
        return r;
    if (engine_acl_blob_open(&pp->b, pp->blob, pp->len, NULL) < 0) {
        acl_people_free(pp);
        return -EIO;
    }
    engine_sha256(pp->sum, pp->blob, pp->len);
    return 0;
}

int acl_people_copy(struct acl_people *out, const struct acl_people *pp)
{
    *out = (struct acl_people){.len = pp->len};
    if (posix_memalign(&out->blob, ENGINE_ACL_BLOB_ALIGN, pp->len) != 0) {
        out->blob = NULL;
        return -ENOMEM;
    }
    memcpy(out->blob, pp->blob, pp->len);
    memcpy(out->sum, pp->sum, sizeof(out->sum));
    if (engine_acl_blob_open(&out->b, out->blob, out->len, NULL) < 0) {
        acl_people_free(out);
        return -EIO;
    }
    return 0;
}

void acl_people_free(struct acl_people *pp)
{
    if (pp->blob != NULL)
        memset(pp->blob, 0, pp->len); /* it holds the password hashes */
    free(pp->blob);
    *pp = (struct acl_people){0};
}

static int people_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* U's group names (none when U is NULL), sorted, into V; their count. */
static uint32_t people_groups(const char **v, const struct engine_acl_blob *b,
                              const struct engine_acl_blob_user *u)
{
    uint32_t n = u != NULL ? u->grp_count : 0;

    for (uint32_t i = 0; i < n; i++)
        v[i] = b->str + b->grp[u->grp_first + i];
    if (n > 1)
        qsort(v, n, sizeof(*v), people_name_cmp);
    return n;
}

static const struct engine_acl_blob_cred *people_cred(const struct engine_acl_blob *b,
                                                      const struct engine_acl_blob_user *u)
{
    return u != NULL && u->cred != ENGINE_ACL_NO_CRED ? &b->cred[u->cred] : NULL;
}

/* Do A's record UA and B's record UB (NULL: none) give the same groups and credential? V has
 * room for twice ENGINE_ACL_GROUPS_MAX names. */
static int people_user_same(const char **v, const struct engine_acl_blob *a,
                            const struct engine_acl_blob_user *ua, const struct engine_acl_blob *b,
                            const struct engine_acl_blob_user *ub)
{
    const struct engine_acl_blob_cred *ca = people_cred(a, ua), *cb = people_cred(b, ub);
    uint32_t na = people_groups(v, a, ua), nb = people_groups(v + ENGINE_ACL_GROUPS_MAX, b, ub);

    if (na != nb || (ca == NULL) != (cb == NULL))
        return 0;
    for (uint32_t i = 0; i < na; i++)
        if (strcmp(v[i], v[ENGINE_ACL_GROUPS_MAX + i]) != 0)
            return 0;
    return ca == NULL || (ca->iterations == cb->iterations && ca->salt_len == cb->salt_len &&
                          memcmp(ca->salt, cb->salt, ca->salt_len) == 0 &&
                          memcmp(ca->hash, cb->hash, sizeof(ca->hash)) == 0);
}

/* (group, user) by string ids, sorted into groups. */
struct people_pair {
    uint32_t group, user;
};

static int people_pair_cmp(const void *pa, const void *pb)
{
    const struct people_pair *a = pa, *b = pb;

    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return a->user < b->user ? -1 : a->user > b->user;
}

struct people_build {
    struct acl_people_parts *o;
    struct engine_acl *over;
    struct people_pair *pair;
    size_t npair, paircap;
};

/* User NAME as B's record U gives it (U NULL: no group, no credential). */
static int people_add(struct people_build *pb, const char *name, const struct engine_acl_blob *b,
                      const struct engine_acl_blob_user *u)
{
    struct acl_people_parts *o = pb->o;
    const struct engine_acl_blob_cred *c = people_cred(b, u);
    int64_t id = acl_pool_intern(&pb->over->s, name, strlen(name)), g;

    if (id < 0 || ENGINE_GROW(&o->recuser, &o->recusercap, o->nrecuser + 1) < 0)
        return -ENOMEM;
    o->recuser[o->nrecuser++] = (uint32_t)id;
    for (uint32_t i = 0; u != NULL && i < u->grp_count; i++) {
        const char *gn = b->str + b->grp[u->grp_first + i];
        if ((g = acl_pool_intern(&pb->over->s, gn, strlen(gn))) < 0 ||
            ENGINE_GROW(&pb->pair, &pb->paircap, pb->npair + 1) < 0)
            return -ENOMEM;
        pb->pair[pb->npair++] = (struct people_pair){(uint32_t)g, (uint32_t)id};
    }
    if (c == NULL)
        return 0;
    if (ENGINE_GROW(&o->cred, &o->credcap, o->ncred + 1) < 0)
        return -ENOMEM;
    struct acl_cred_rec *cr = &o->cred[o->ncred++];
    *cr = (struct acl_cred_rec){.user = (uint32_t)id};
    cr->c.iterations = c->iterations;
    cr->c.salt_len = c->salt_len;
    memcpy(cr->c.salt, c->salt, c->salt_len);
    memcpy(cr->c.hash, c->hash, sizeof(cr->c.hash));
    return 0;
}

/* The pairs as groups of members. */
static int people_groups_make(struct people_build *pb)
{
    struct acl_people_parts *o = pb->o;

    if (pb->npair > 1)
        qsort(pb->pair, pb->npair, sizeof(*pb->pair), people_pair_cmp);
    if (pb->npair && ENGINE_GROW(&o->member, &o->membercap, pb->npair) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < pb->npair; i++) {
        if (i == 0 || pb->pair[i].group != pb->pair[i - 1].group) {
            if (ENGINE_GROW(&o->group, &o->groupcap, o->ngroup + 1) < 0)
                return -ENOMEM;
            o->group[o->ngroup++] =
                (struct acl_group){.name = pb->pair[i].group, .first = (uint32_t)i};
        }
        o->group[o->ngroup - 1].count++;
        o->member[o->nmember++] = pb->pair[i].user;
    }
    return 0;
}

int acl_people_overlay(struct acl_people_parts *o, struct engine_acl *over,
                       const struct engine_acl_blob *base, const struct engine_acl_blob *people)
{
    struct people_build pb = {o, over, NULL, 0, 0};
    const char **v = malloc(2 * ENGINE_ACL_GROUPS_MAX * sizeof(*v));
    int r = -ENOMEM;

    *o = (struct acl_people_parts){0};
    if (v == NULL)
        goto done;
    r = 0;
    for (uint32_t i = 0; r == 0 && i < people->user_count; i++) {
        const struct engine_acl_blob_user *u = &people->user[i];
        const char *name = people->str + u->name;
        if (!people_user_same(v, people, u, base,
                              engine_acl_blob_user_find(base, name, strlen(name))))
            r = people_add(&pb, name, people, u);
    }
    /* A user of the base's that PEOPLE has no record of: no group and no credential now. */
    for (uint32_t i = 0; r == 0 && i < base->user_count; i++) {
        const char *name = base->str + base->user[i].name;
        if (engine_acl_blob_user_find(people, name, strlen(name)) == NULL &&
            !people_user_same(v, base, &base->user[i], people, NULL))
            r = people_add(&pb, name, people, NULL);
    }
    if (r == 0)
        r = people_groups_make(&pb);
done:
    free(v);
    free(pb.pair);
    if (r < 0)
        acl_people_parts_free(o);
    return r;
}

#define PEOPLE_SWAP(a, b)                                                                          \
    do {                                                                                           \
        __typeof__(a) t_ = (a);                                                                    \
        (a) = (b);                                                                                 \
        (b) = t_;                                                                                  \
    } while (0)

void acl_people_swap(struct engine_acl *a, struct acl_people_parts *o)
{
    PEOPLE_SWAP(a->group, o->group);
    PEOPLE_SWAP(a->ngroup, o->ngroup);
    PEOPLE_SWAP(a->groupcap, o->groupcap);
    PEOPLE_SWAP(a->member, o->member);
    PEOPLE_SWAP(a->nmember, o->nmember);
    PEOPLE_SWAP(a->membercap, o->membercap);
    PEOPLE_SWAP(a->cred, o->cred);
    PEOPLE_SWAP(a->ncred, o->ncred);
    PEOPLE_SWAP(a->credcap, o->credcap);
    PEOPLE_SWAP(a->recuser, o->recuser);
    PEOPLE_SWAP(a->nrecuser, o->nrecuser);
    PEOPLE_SWAP(a->recusercap, o->recusercap);
}

void acl_people_parts_free(struct acl_people_parts *o)
{
    free(o->group);
    free(o->member);
    if (o->cred != NULL)
        memset(o->cred, 0, o->ncred * sizeof(*o->cred));
    free(o->cred);
    free(o->recuser);
    *o = (struct acl_people_parts){0};
}

int acl_people_same_users(const struct engine_acl_blob *a, const struct engine_acl_blob *b)
{
    const char **v = malloc(2 * ENGINE_ACL_GROUPS_MAX * sizeof(*v));
    int same = v != NULL && a->user_count == b->user_count;

    for (uint32_t i = 0; same && i < a->user_count; i++) {
        const char *name = a->str + a->user[i].name;
        const struct engine_acl_blob_user *u = engine_acl_blob_user_find(b, name, strlen(name));
        same = u != NULL && people_user_same(v, a, &a->user[i], b, u);
    }
    free(v);
    return same;
}

int engine_acl_groups_kept(const struct engine_acl *old, const struct engine_acl *neu)
{
    for (size_t g = 0; g < old->ngroup; g++) {
        const char *name = acl_pool_str(&old->s, old->group[g].name);
        int64_t id = acl_pool_find(&neu->s, name, strlen(name));
        if (id < 0 || !(neu->s.flags[id] & ACL_F_GROUP))
            return 0;
    }
    return 1;
}
