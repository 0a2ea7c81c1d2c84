/* acl_blob.c — compiles a parsed policy set into the blob of contract/acl_blob.h. */
#include "acl_int.h"
#include "common/sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct blob_pair {
    uint32_t user, grp; /* user index, group subject offset */
};

static int blob_pair_cmp(const void *pa, const void *pb)
{
    const struct blob_pair *a = pa, *b = pb;
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    return a->grp < b->grp ? -1 : a->grp > b->grp;
}

static uint64_t blob_align(uint64_t x)
{
    return (x + ENGINE_ACL_BLOB_ALIGN - 1) & ~(uint64_t)(ENGINE_ACL_BLOB_ALIGN - 1);
}

/* A table of about 1.5 slots a key: short probe runs, and always an empty slot. */
static uint32_t blob_slots_for(uint64_t keys)
{
    return keys == 0 ? 0 : (uint32_t)(keys + keys / 2 + 1);
}

static void blob_slot_put(struct engine_acl_blob_slot *t, uint32_t n, uint64_t hash, uint32_t idx)
{
    uint32_t i = engine_acl_slot_start(hash, n);

    while (t[i].idx != 0)
        if (++i == n)
            i = 0;
    t[i].tag = (uint32_t)(hash >> 32);
    t[i].idx = idx + 1;
}

struct blob_build {
    const struct engine_acl *a;
    uint32_t *remap; /* string id -> blob offset, UINT32_MAX when unused */
    uint64_t str_size;
    uint32_t star; /* the offset of "*", or UINT32_MAX */
    /* The users (group members, credentials' users, recorded users): few beside the strings, so
     * kept in a table of their own rather than in one more array as long as the strings'. */
    uint32_t *utab; /* open addressing: {string id + 1, user index}, 0 empty */
    size_t umask;
    uint32_t nuser;
    uint32_t *users; /* user index -> string id */
};

static void blob_use(struct blob_build *b, uint32_t id)
{
    if (b->remap[id] == UINT32_MAX) {
        const char *s = acl_pool_str(&b->a->s, id);
        b->remap[id] = (uint32_t)b->str_size;
        if (s[0] == '*' && s[1] == 0)
            b->star = (uint32_t)b->str_size;
        b->str_size += strlen(s) + 1;
    }
}

/* The slot of user string ID in the users' table (its own, or the empty one it would take). */
static size_t blob_user_slot(const struct blob_build *b, uint32_t id)
{
    size_t j = ((uint64_t)id * 0x9e3779b97f4a7c15ull >> 32) & b->umask;

    while (b->utab[2 * j] != 0 && b->utab[2 * j] != id + 1)
        j = (j + 1) & b->umask;
    return j;
}

static uint32_t blob_uidx(const struct blob_build *b, uint32_t id)
{
    return b->utab[2 * blob_user_slot(b, id) + 1];
}

/* User string ID's index, given it the next one at its first use. */
static uint32_t blob_user(struct blob_build *b, uint32_t id)
{
    size_t j = blob_user_slot(b, id);

    blob_use(b, id);
    if (b->utab[2 * j] == 0) {
        b->utab[2 * j] = id + 1;
        b->utab[2 * j + 1] = b->nuser;
        b->users[b->nuser++] = id;
    }
    return b->utab[2 * j + 1];
}

int engine_acl_compile(void **out, size_t *len, const struct engine_acl *a, const char *policy,
                       uint64_t version)
{
    struct blob_build b = {a, .star = UINT32_MAX};
    const struct acl_rule *rules = a->rule;
    struct blob_pair *pairs = NULL;
    size_t nrules = a->nrule, npairs = 0;
    uint64_t npath = 0, nsubj = 0, off, size;
    uint32_t npolicy = 0;
    struct engine_acl_blob_header h;
    uint8_t *blob = NULL;
    int r = -ENOMEM;

    *out = NULL;
    *len = 0;
    if (a->unsorted)
        return -EINVAL; /* rules of several files: engine_acl_finish() first */
    /* Rules are sorted by policy first: one policy is one contiguous range. */
    if (policy != NULL) {
        size_t lo = acl_policy_first(a, policy), hi = lo;
        while (hi < nrules && rules[hi].policy == rules[lo].policy)
            hi++;
        rules += lo;
        nrules = hi - lo;
    }
    if (nrules > UINT32_MAX / 2 || a->s.n > UINT32_MAX - 1)
        return -E2BIG;
    /* At most this many users: each is a member, a credential's user or a recorded user. */
    size_t umax = a->nmember + a->ncred + a->nrecuser, ucap = 16;
    while (ucap < 2 * (umax + 1))
        ucap *= 2;
    b.umask = ucap - 1;
    b.remap = malloc((a->s.n + 1) * sizeof(*b.remap));
    b.utab = calloc(ucap, 2 * sizeof(*b.utab));
    b.users = malloc((umax + 1) * sizeof(*b.users));
    if (b.remap == NULL || b.utab == NULL || b.users == NULL)
        goto cleanup;
    memset(b.remap, 0xff, a->s.n * sizeof(*b.remap));

    /* Strings in order of first use, so that the same set gives the same bytes. */
    for (size_t i = 0; i < nrules; i++) {
        const struct acl_rule *ru = &rules[i];
        /* A user named only by rules needs no record: the decision finds its rules by name. */
        blob_use(&b, ru->policy);
        blob_use(&b, ru->path);
        blob_use(&b, ru->subject);
        blob_use(&b, ru->method);
        if (i == 0 || ru->policy != rules[i - 1].policy)
            npolicy++;
        if (i == 0 || ru->policy != rules[i - 1].policy || ru->path != rules[i - 1].path ||
            ru->kind != rules[i - 1].kind) {
            npath++; /* the path run's first subject is found through the path's slot */
        } else if (ru->subject != rules[i - 1].subject) {
            nsubj++;
        }
    }
    /* Each membership as (user, group) as its user is met: sorted by user below. */
    if (a->nmember > 0 && (pairs = malloc(a->nmember * sizeof(*pairs))) == NULL)
        goto cleanup;
    for (size_t g = 0; g < a->ngroup; g++) {
        blob_use(&b, a->group[g].name);
        for (uint32_t m = 0; m < a->group[g].count; m++)
            pairs[npairs++] = (struct blob_pair){blob_user(&b, a->member[a->group[g].first + m]),
                                                 b.remap[a->group[g].name]};
    }
    for (size_t c = 0; c < a->ncred; c++)
        blob_user(&b, a->cred[c].user);
    for (size_t u = 0; u < a->nrecuser; u++)
        blob_user(&b, a->recuser[u]);
    if (b.str_size == 0)
        b.str_size = 1; /* the table is never empty: it ends with a NUL */

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, ENGINE_ACL_BLOB_MAGIC, 8);
    h.format = ENGINE_ACL_BLOB_FORMAT;
    h.header_size = sizeof(h);
    h.policy_version = version;
    h.policy_count = npolicy;
    h.star_off = b.star;
    {
        uint64_t counts[ENGINE_ACL_SEC_COUNT] = {
            [ENGINE_ACL_SEC_STR] = b.str_size,
            [ENGINE_ACL_SEC_RULE] = nrules,
            [ENGINE_ACL_SEC_PSLOT] = blob_slots_for(npath),
            [ENGINE_ACL_SEC_SSLOT] = blob_slots_for(nsubj),
            [ENGINE_ACL_SEC_USER] = b.nuser,
            [ENGINE_ACL_SEC_USLOT] = blob_slots_for(b.nuser),
            [ENGINE_ACL_SEC_GRP] = npairs,
            [ENGINE_ACL_SEC_CRED] = a->ncred,
        };
        static const uint32_t rsize[ENGINE_ACL_SEC_COUNT] = {
            1,
            sizeof(struct engine_acl_blob_rule),
            sizeof(struct engine_acl_blob_slot),
            sizeof(struct engine_acl_blob_slot),
            sizeof(struct engine_acl_blob_user),
            sizeof(struct engine_acl_blob_slot),
            sizeof(uint32_t),
            sizeof(struct engine_acl_blob_cred),
        };
        off = blob_align(sizeof(h));
        for (int s = 0; s < ENGINE_ACL_SEC_COUNT; s++) {
            if (counts[s] > UINT32_MAX || off > UINT32_MAX) {
                r = -E2BIG;
                goto cleanup;
            }
            h.sec[s].off = (uint32_t)off;
            h.sec[s].count = (uint32_t)counts[s];
            off = blob_align(off + counts[s] * rsize[s]);
        }
        if (off > UINT32_MAX) {
            r = -E2BIG;
            goto cleanup;
        }
        size = off;
        h.total_size = size;
    }
    if (posix_memalign((void **)&blob, ENGINE_ACL_BLOB_ALIGN, size) != 0) {
        blob = NULL;
        goto cleanup;
    }
    memset(blob, 0, size);

    /* Strings. */
    {
        char *str = (char *)blob + h.sec[ENGINE_ACL_SEC_STR].off;
        for (size_t i = 0; i < a->s.n; i++)
            if (b.remap[i] != UINT32_MAX)
                strcpy(str + b.remap[i], acl_pool_str(&a->s, (uint32_t)i));
    }
    /* Rules and the two rule indexes. */
    {
        struct engine_acl_blob_rule *br = (void *)(blob + h.sec[ENGINE_ACL_SEC_RULE].off);
        struct engine_acl_blob_slot *ps = (void *)(blob + h.sec[ENGINE_ACL_SEC_PSLOT].off);
        struct engine_acl_blob_slot *ss = (void *)(blob + h.sec[ENGINE_ACL_SEC_SSLOT].off);
        const char *str = (const char *)blob + h.sec[ENGINE_ACL_SEC_STR].off;
        uint64_t ph = 0;
        for (size_t i = 0; i < nrules; i++) {
            const struct acl_rule *ru = &rules[i];
            br[i] = (struct engine_acl_blob_rule){
                b.remap[ru->policy], b.remap[ru->path], b.remap[ru->subject], b.remap[ru->method],
                ru->line << 2 | (uint32_t)ru->kind << 1 | ru->effect};
            int newpath = i == 0 || ru->policy != rules[i - 1].policy ||
                          ru->path != rules[i - 1].path || ru->kind != rules[i - 1].kind;
            if (newpath) {
                const char *pol = str + br[i].policy, *path = str + br[i].path;
                ph = engine_acl_hash_path(pol, strlen(pol), path, strlen(path), ru->kind);
                blob_slot_put(ps, h.sec[ENGINE_ACL_SEC_PSLOT].count, ph, (uint32_t)i);
            }
            if (!newpath && ru->subject != rules[i - 1].subject) {
                const char *subj = str + br[i].subject;
                blob_slot_put(ss, h.sec[ENGINE_ACL_SEC_SSLOT].count,
                              engine_acl_hash_subject(ph, engine_acl_hash_user(subj, strlen(subj))),
                              (uint32_t)i);
            }
        }
    }
    /* Users, their groups, their credentials. */
    {
        struct engine_acl_blob_user *bu = (void *)(blob + h.sec[ENGINE_ACL_SEC_USER].off);
        struct engine_acl_blob_slot *us = (void *)(blob + h.sec[ENGINE_ACL_SEC_USLOT].off);
        uint32_t *grp = (void *)(blob + h.sec[ENGINE_ACL_SEC_GRP].off);
        struct engine_acl_blob_cred *bc = (void *)(blob + h.sec[ENGINE_ACL_SEC_CRED].off);
        if (npairs > 1)
            qsort(pairs, npairs, sizeof(*pairs), blob_pair_cmp);
        for (uint32_t u = 0; u < b.nuser; u++) {
            const char *name = acl_pool_str(&a->s, b.users[u]);
            bu[u] = (struct engine_acl_blob_user){b.remap[b.users[u]], 0, 0, ENGINE_ACL_NO_CRED};
            blob_slot_put(us, h.sec[ENGINE_ACL_SEC_USLOT].count,
                          engine_acl_hash_user(name, strlen(name)), u);
        }
        for (size_t i = 0; i < npairs; i++) {
            grp[i] = pairs[i].grp;
            if (i == 0 || pairs[i].user != pairs[i - 1].user)
                bu[pairs[i].user].grp_first = (uint32_t)i;
            if (++bu[pairs[i].user].grp_count > ENGINE_ACL_GROUPS_MAX) {
                r = -E2BIG;
                goto cleanup;
            }
        }
        for (size_t c = 0; c < a->ncred; c++) {
            const struct acl_cred_rec *cr = &a->cred[c];
            bc[c].user = b.remap[cr->user];
            bc[c].iterations = cr->c.iterations;
            bc[c].salt_len = cr->c.salt_len;
            memcpy(bc[c].salt, cr->c.salt, cr->c.salt_len);
            memcpy(bc[c].hash, cr->c.hash, sizeof(bc[c].hash));
            bu[blob_uidx(&b, cr->user)].cred = (uint32_t)c;
        }
    }
    memcpy(blob, &h, sizeof(h));
    engine_sha256(((struct engine_acl_blob_header *)(void *)blob)->sha256, blob, size);
    *out = blob;
    *len = size;
    blob = NULL;
    r = 0;
cleanup:
    free(blob);
    free(pairs);
    free(b.remap);
    free(b.utab);
    free(b.users);
    return r;
}
