/*
 * acl_lookup.c — validation of a compiled ACL blob and decisions on its memory.
 * Freestanding (no libc, no allocation): the guest compiles this file unchanged.
 */
#include "acl_lookup.h"
#include "sha256.h"

#define ACL_FNV_OFFSET 0xcbf29ce484222325ull
#define ACL_FNV_PRIME  0x100000001b3ull
/* The inverse of the FNV prime modulo 2^64: it lets the lookup walk a path hash backwards. */
#define ACL_FNV_PRIME_INV 0xce965057aff6957bull

static uint64_t acl_fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * ACL_FNV_PRIME;
    return h;
}

/* The FNV state before byte C was hashed into H. */
static uint64_t acl_fnv_back(uint64_t h, char c)
{
    return (h * ACL_FNV_PRIME_INV) ^ (uint8_t)c;
}

/* Spreads FNV's weak low bits over the whole word (the splitmix64 finaliser). */
static uint64_t acl_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

/* STATE is the FNV hash of POLICY '\0' PATH. */
static uint64_t acl_path_final(uint64_t state, unsigned kind)
{
    state = (state ^ 0) * ACL_FNV_PRIME;
    state = (state ^ (kind == ENGINE_ACL_KIND_PREFIX ? '*' : '=')) * ACL_FNV_PRIME;
    return acl_mix(state);
}

static uint64_t acl_policy_state(const char *policy, size_t len)
{
    return acl_fnv(acl_fnv(ACL_FNV_OFFSET, policy, len), "", 1);
}

uint64_t engine_acl_hash_path(const char *policy, size_t policy_len, const char *path,
                              size_t path_len, unsigned kind)
{
    return acl_path_final(acl_fnv(acl_policy_state(policy, policy_len), path, path_len), kind);
}

uint64_t engine_acl_hash_subject(uint64_t path_hash, uint64_t name_hash)
{
    return acl_mix(path_hash + 0x9e3779b97f4a7c15ull * (name_hash | 1));
}

uint64_t engine_acl_hash_user(const char *name, size_t len)
{
    return acl_mix(acl_fnv(ACL_FNV_OFFSET, name, len));
}

/* ---- validation ---- */

static uint64_t acl_align(uint64_t x)
{
    return (x + ENGINE_ACL_BLOB_ALIGN - 1) & ~(uint64_t)(ENGINE_ACL_BLOB_ALIGN - 1);
}

static const uint32_t acl_record_size[ENGINE_ACL_SEC_COUNT] = {
    [ENGINE_ACL_SEC_STR] = 1,
    [ENGINE_ACL_SEC_RULE] = sizeof(struct engine_acl_blob_rule),
    [ENGINE_ACL_SEC_PSLOT] = sizeof(struct engine_acl_blob_slot),
    [ENGINE_ACL_SEC_SSLOT] = sizeof(struct engine_acl_blob_slot),
    [ENGINE_ACL_SEC_USER] = sizeof(struct engine_acl_blob_user),
    [ENGINE_ACL_SEC_USLOT] = sizeof(struct engine_acl_blob_slot),
    [ENGINE_ACL_SEC_GRP] = sizeof(uint32_t),
    [ENGINE_ACL_SEC_CRED] = sizeof(struct engine_acl_blob_cred),
};

static int acl_bad(const char **why, const char *msg)
{
    if (why != 0)
        *why = msg;
    return -ENGINE_ACL_EBADMSG;
}

static int acl_check_slots(const struct engine_acl_blob_slot *s, uint32_t n, uint32_t records)
{
    if (n == 0)
        return records == 0 ? 0 : -1;
    for (uint32_t i = 0; i < n; i++)
        if (s[i].idx > records)
            return -1;
    return 0;
}

static int acl_open(struct engine_acl_blob *b, const void *buf, size_t len, int sealed,
                    const char **why)
{
    const uint8_t *p = buf;
    const struct engine_acl_blob_header *h = buf;
    const char *magic = ENGINE_ACL_BLOB_MAGIC;
    struct engine_acl_blob v;
    uint64_t off;

    if (b == 0 || buf == 0 || ((uintptr_t)buf & (ENGINE_ACL_BLOB_ALIGN - 1)) != 0) {
        if (why)
            *why = "the blob buffer is missing or not 8-byte aligned";
        return -ENGINE_ACL_EINVAL;
    }
    if (len < sizeof(*h))
        return acl_bad(why, "the blob is shorter than its header");
    for (int i = 0; i < 8; i++)
        if (h->magic[i] != (uint8_t)magic[i])
            return acl_bad(why, "bad magic: not an ACL blob");
    if (h->format != ENGINE_ACL_BLOB_FORMAT)
        return acl_bad(why, "unsupported blob format version");
    if (h->header_size != sizeof(*h) || h->flags != 0 || h->reserved != 0)
        return acl_bad(why, "bad header size or reserved fields");
    if (h->total_size != len)
        return acl_bad(why, "the blob's recorded size differs from its length");

    /* Canonical layout: every section where the counts say, in order, inside the blob. */
    off = acl_align(sizeof(*h));
    for (int s = 0; s < ENGINE_ACL_SEC_COUNT; s++) {
        if (h->sec[s].off != off)
            return acl_bad(why, "a section is not at its canonical offset");
        off += (uint64_t)h->sec[s].count * acl_record_size[s];
        off = acl_align(off);
        if (off > len || off > 0xffffffffull)
            return acl_bad(why, "a section runs past the end of the blob");
    }
    if (off != len)
        return acl_bad(why, "bytes after the last section");
    if (sealed && !engine_sha256_sealed_ok(p, len, offsetof(struct engine_acl_blob_header, sha256)))
        return acl_bad(why, "checksum mismatch: the blob is corrupt");

    v.base = p;
    v.len = len;
    v.hdr = h;
    v.str = (const char *)(p + h->sec[ENGINE_ACL_SEC_STR].off);
    v.str_size = h->sec[ENGINE_ACL_SEC_STR].count;
    v.rule = (const void *)(p + h->sec[ENGINE_ACL_SEC_RULE].off);
    v.rule_count = h->sec[ENGINE_ACL_SEC_RULE].count;
    v.pslot = (const void *)(p + h->sec[ENGINE_ACL_SEC_PSLOT].off);
    v.pslot_count = h->sec[ENGINE_ACL_SEC_PSLOT].count;
    v.sslot = (const void *)(p + h->sec[ENGINE_ACL_SEC_SSLOT].off);
    v.sslot_count = h->sec[ENGINE_ACL_SEC_SSLOT].count;
    v.user = (const void *)(p + h->sec[ENGINE_ACL_SEC_USER].off);
    v.user_count = h->sec[ENGINE_ACL_SEC_USER].count;
    v.uslot = (const void *)(p + h->sec[ENGINE_ACL_SEC_USLOT].off);
    v.uslot_count = h->sec[ENGINE_ACL_SEC_USLOT].count;
    v.grp = (const void *)(p + h->sec[ENGINE_ACL_SEC_GRP].off);
    v.grp_count = h->sec[ENGINE_ACL_SEC_GRP].count;
    v.cred = (const void *)(p + h->sec[ENGINE_ACL_SEC_CRED].off);
    v.cred_count = h->sec[ENGINE_ACL_SEC_CRED].count;

    /* Every string reference ends inside the table because the table ends with a NUL. */
    if (v.str_size == 0 || v.str[v.str_size - 1] != 0)
        return acl_bad(why, "the string table is empty or not NUL-terminated");
    if (h->star_off != ENGINE_ACL_NO_STRING &&
        (h->star_off >= v.str_size || v.str[h->star_off] != '*' || v.str[h->star_off + 1] != 0))
        return acl_bad(why, "the \"*\" string offset is wrong");
    for (uint32_t i = 0; i < v.rule_count; i++) {
        const struct engine_acl_blob_rule *r = &v.rule[i];
        if (r->policy >= v.str_size || r->path >= v.str_size || r->subject >= v.str_size ||
            r->method >= v.str_size)
            return acl_bad(why, "a rule refers to a string outside the string table");
        if ((r->meta >> 2) == 0)
            return acl_bad(why, "a rule has no line number");
    }
    if (acl_check_slots(v.pslot, v.pslot_count, v.rule_count) < 0 ||
        (v.sslot_count != 0 && acl_check_slots(v.sslot, v.sslot_count, v.rule_count) < 0))
        return acl_bad(why, "a rule index slot points outside the rules");
    for (uint32_t i = 0; i < v.user_count; i++) {
        const struct engine_acl_blob_user *u = &v.user[i];
        if (u->name >= v.str_size)
            return acl_bad(why, "a user refers to a string outside the string table");
        if (u->grp_first > v.grp_count || u->grp_count > v.grp_count - u->grp_first ||
            u->grp_count > ENGINE_ACL_GROUPS_MAX)
            return acl_bad(why, "a user's group list lies outside the group section");
        if (u->cred != ENGINE_ACL_NO_CRED && u->cred >= v.cred_count)
            return acl_bad(why, "a user refers to a credential that does not exist");
    }
    if (acl_check_slots(v.uslot, v.uslot_count, v.user_count) < 0)
        return acl_bad(why, "a user index slot points outside the users");
    for (uint32_t i = 0; i < v.grp_count; i++)
        if (v.grp[i] >= v.str_size)
            return acl_bad(why, "a group refers to a string outside the string table");
    for (uint32_t i = 0; i < v.cred_count; i++) {
        const struct engine_acl_blob_cred *c = &v.cred[i];
        if (c->user >= v.str_size || c->reserved != 0)
            return acl_bad(why, "a credential refers to a string outside the string table");
        if (c->iterations < ENGINE_ACL_ITER_MIN || c->iterations > ENGINE_ACL_ITER_MAX ||
            c->salt_len < ENGINE_ACL_SALT_MIN || c->salt_len > ENGINE_ACL_SALT_MAX)
            return acl_bad(why, "a credential has out-of-range iterations or salt length");
    }
    *b = v;
    return 0;
}

int engine_acl_blob_open(struct engine_acl_blob *b, const void *buf, size_t len, const char **why)
{
    return acl_open(b, buf, len, 1, why);
}

int engine_acl_blob_open_summed(struct engine_acl_blob *b, const void *buf, size_t len,
                                const char **why)
{
    return acl_open(b, buf, len, 0, why);
}

int engine_acl_blob_check(const void *buf, size_t len, const char **why)
{
    struct engine_acl_blob b;
    return engine_acl_blob_open(&b, buf, len, why);
}

/* ---- decisions ---- */

/* Does the table string at OFF equal S[0..N)? S holds no NUL, the table ends with one. */
static int acl_str_eq(const struct engine_acl_blob *b, uint32_t off, const char *s, size_t n)
{
    const char *t = b->str + off;
    for (size_t i = 0; i < n; i++)
        if (t[i] != s[i])
            return 0;
    return t[n] == 0;
}

static uint32_t acl_rule_kind(const struct engine_acl_blob_rule *r)
{
    return (r->meta >> 1) & 1;
}

static int acl_same_key(const struct engine_acl_blob_rule *a, const struct engine_acl_blob_rule *b)
{
    return a->policy == b->policy && a->path == b->path && a->subject == b->subject &&
           acl_rule_kind(a) == acl_rule_kind(b);
}

static int acl_name_ok(const char *s, size_t n, size_t max)
{
    if (n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] <= 0x20 || (uint8_t)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int acl_request_ok(const struct engine_acl_request *rq)
{
    size_t seg = 1;

    if (rq->policy == 0 || rq->method == 0 || rq->path == 0 || (rq->user_len && rq->user == 0))
        return 0;
    if (rq->policy_len == 0 || rq->method_len == 0 || rq->path_len == 0)
        return 0;
    if (!acl_name_ok(rq->policy, rq->policy_len, ENGINE_ACL_NAME_MAX) ||
        !acl_name_ok(rq->user, rq->user_len, ENGINE_ACL_NAME_MAX) ||
        !acl_name_ok(rq->method, rq->method_len, ENGINE_ACL_METHOD_MAX))
        return 0;
    if (rq->path[0] != '/' || rq->path_len > ENGINE_ACL_PATH_MAX)
        return 0;
    /* Dot segments would let "/public/../admin" match the prefix "/public": refuse them. */
    for (size_t i = 1; i <= rq->path_len; i++) {
        if (i == rq->path_len || rq->path[i] == '/') {
            size_t n = i - seg;
            if ((n == 1 && rq->path[seg] == '.') ||
                (n == 2 && rq->path[seg] == '.' && rq->path[seg + 1] == '.'))
                return 0;
            seg = i + 1;
            continue;
        }
        if ((uint8_t)rq->path[i] < 0x20 || (uint8_t)rq->path[i] == 0x7f)
            return 0;
    }
    return 1;
}

/* The first rule of the (policy, path prefix, kind) run, or ENGINE_ACL_NO_RULE. */
static uint32_t acl_find_path(const struct engine_acl_blob *b, uint64_t hash,
                              const struct engine_acl_request *rq, size_t path_len, unsigned kind)
{
    uint32_t n = b->pslot_count, i, tag = (uint32_t)(hash >> 32);

    if (n == 0)
        return ENGINE_ACL_NO_RULE;
    i = engine_acl_slot_start(hash, n);
    for (uint32_t probes = 0; probes < n; probes++) {
        const struct engine_acl_blob_slot *s = &b->pslot[i];
        if (s->idx == 0)
            break;
        if (s->tag == tag) {
            const struct engine_acl_blob_rule *r = &b->rule[s->idx - 1];
            if (acl_rule_kind(r) == kind && acl_str_eq(b, r->path, rq->path, path_len) &&
                acl_str_eq(b, r->policy, rq->policy, rq->policy_len))
                return s->idx - 1;
        }
        if (++i == n)
            i = 0;
    }
    return ENGINE_ACL_NO_RULE;
}

/*
 * 1 when the path table holds a slot tagged as HASH: a likely match, not yet checked. Reads
 * the slots alone and prefetches the rule a match names, so that what a match needs next
 * (the user, the subject slots) is fetched while the match itself is being checked.
 */
static int acl_path_tagged(const struct engine_acl_blob *b, uint64_t hash)
{
    uint32_t n = b->pslot_count, i, tag = (uint32_t)(hash >> 32);

    if (n == 0)
        return 0;
    i = engine_acl_slot_start(hash, n);
    for (uint32_t probes = 0; probes < n; probes++) {
        const struct engine_acl_blob_slot *s = &b->pslot[i];
        if (s->idx == 0)
            return 0;
        if (s->tag == tag) {
#if defined(__GNUC__)
            __builtin_prefetch(&b->rule[s->idx - 1]);
#endif
            return 1;
        }
        if (++i == n)
            i = 0;
    }
    return 0;
}

/* A subject as the decision looks it up: its name and the name's hash (hash_user). */
struct acl_subj {
    const char *s;
    size_t n;
    uint64_t h;
};

/* A candidate's rank inside one subject class: lower wins; then the base before the rules
 * added over it, then the lower index. */
struct acl_pick {
    uint32_t rule;
    unsigned rank;  /* method (0 exact, 1 '*') * 2 + effect (0 deny, 1 allow) */
    unsigned layer; /* 0 the base, 1 the rules added over it */
};

/* Is base rule I among the removed ones (strictly ascending)? */
static int acl_dead(const struct engine_acl_layers *l, uint32_t i)
{
    uint32_t lo = 0, hi = l->ndead;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->dead[mid] == i)
            return 1;
        if (l->dead[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The first rule of SUBJECT's run inside the path run starting at FIRST, or NO_RULE. The
 * path run's first subject has no slot of its own: it is the run's first rule. */
static uint32_t acl_find_subject(const struct engine_acl_blob *b, uint64_t path_hash,
                                 uint32_t first, const struct acl_subj *subj)
{
    const struct engine_acl_blob_rule *r0 = &b->rule[first];
    uint64_t hash;
    uint32_t n = b->sslot_count, i, tag;

    if (acl_str_eq(b, r0->subject, subj->s, subj->n))
        return first;
    if (n == 0)
        return ENGINE_ACL_NO_RULE;
    hash = engine_acl_hash_subject(path_hash, subj->h);
    tag = (uint32_t)(hash >> 32);
    i = engine_acl_slot_start(hash, n);
    for (uint32_t probes = 0; probes < n; probes++) {
        const struct engine_acl_blob_slot *s = &b->sslot[i];
        if (s->idx == 0)
            break;
        if (s->tag == tag) {
            const struct engine_acl_blob_rule *r = &b->rule[s->idx - 1];
            if (r->policy == r0->policy && r->path == r0->path &&
                acl_rule_kind(r) == acl_rule_kind(r0) &&
                acl_str_eq(b, r->subject, subj->s, subj->n))
                return s->idx - 1;
        }
        if (++i == n)
            i = 0;
    }
    return ENGINE_ACL_NO_RULE;
}

/* Folds the live rules of SUBJ in layer LAYER's path run starting at FIRST into *BEST. */
static void acl_pick_subject(const struct engine_acl_layers *l, unsigned layer, uint64_t path_hash,
                             uint32_t first, const struct acl_subj *subj,
                             const struct engine_acl_request *rq, struct acl_pick *best)
{
    const struct engine_acl_blob *b = layer == 0 ? l->base : l->over;
    uint32_t start;

    if (first == ENGINE_ACL_NO_RULE)
        return;
    start = acl_find_subject(b, path_hash, first, subj);
    if (start == ENGINE_ACL_NO_RULE)
        return;
    for (uint32_t j = start; j < b->rule_count && acl_same_key(&b->rule[j], &b->rule[start]); j++) {
        const struct engine_acl_blob_rule *r = &b->rule[j];
        unsigned rank;
        if (acl_str_eq(b, r->method, rq->method, rq->method_len))
            rank = 0;
        else if (b->str[r->method] == '*' && b->str[r->method + 1] == 0)
            rank = 2;
        else
            continue;
        if (layer == 0 && l->ndead != 0 && acl_dead(l, j))
            continue;
        rank += r->meta & 1;
        if (best->rule == ENGINE_ACL_NO_RULE || rank < best->rank ||
            (rank == best->rank &&
             (layer < best->layer || (layer == best->layer && j < best->rule)))) {
            best->rule = j;
            best->rank = rank;
            best->layer = layer;
        }
    }
}

/* Both layers' rules of SUBJ at one path level. */
static void acl_pick_both(const struct engine_acl_layers *l, uint64_t ph, const uint32_t first[2],
                          const struct acl_subj *subj, const struct engine_acl_request *rq,
                          struct acl_pick *best)
{
    acl_pick_subject(l, 0, ph, first[0], subj, rq, best);
    if (l->over != 0)
        acl_pick_subject(l, 1, ph, first[1], subj, rq, best);
}

/* The subjects a request is decided for, in the order their classes are tried: the user (N 0
 * when anonymous), its groups, anyone ('*'); the first ACL_SUBJ_MAX groups named and hashed
 * once per request, not once per path level, and only once a path level has rules (RESOLVED):
 * a request no rule's path covers never reads the user's record. */
#define ACL_SUBJ_MAX 16
struct acl_subjects {
    struct acl_subj user, star, grp[ACL_SUBJ_MAX];
    uint32_t ngrp;
    int resolved;
    const struct engine_acl_blob_user *u;
    const struct engine_acl_blob *ub; /* the blob U is a record of */
};

/* Group G of user U's, named and hashed. */
static struct acl_subj acl_group_named(const struct engine_acl_blob *b,
                                       const struct engine_acl_blob_user *u, uint32_t g)
{
    struct acl_subj gs = {b->str + b->grp[u->grp_first + g], 0, 0};

    while (gs.s[gs.n] != 0)
        gs.n++;
    gs.h = engine_acl_hash_user(gs.s, gs.n);
    return gs;
}

static const struct engine_acl_blob_user *
acl_find_user(const struct engine_acl_blob *b, const char *name, size_t len, uint64_t hash);

/* The user's record in force: the added blob's replaces the base's (a patch's changed users),
 * *FROM the blob it is in. A patch without users costs one test. */
static const struct engine_acl_blob_user *acl_layers_user(const struct engine_acl_layers *l,
                                                          const char *name, size_t len,
                                                          uint64_t hash,
                                                          const struct engine_acl_blob **from)
{
    const struct engine_acl_blob_user *u;

    if (l->over != 0 && l->over->uslot_count != 0 &&
        (u = acl_find_user(l->over, name, len, hash)) != 0) {
        *from = l->over;
        return u;
    }
    *from = l->base;
    return acl_find_user(l->base, name, len, hash);
}

/* Finds the user's record and names its first groups (WHO's user and star are set). */
static void acl_subjects_resolve(const struct engine_acl_layers *l, struct acl_subjects *who)
{
    who->resolved = 1;
    who->u = acl_layers_user(l, who->user.s, who->user.n, who->user.h, &who->ub);
    for (who->ngrp = 0; who->u != 0 && who->ngrp < who->u->grp_count && who->ngrp < ACL_SUBJ_MAX;
         who->ngrp++)
        who->grp[who->ngrp] = acl_group_named(who->ub, who->u, who->ngrp);
}

/* Group G of the user's: from the table, or named now past its end. */
static struct acl_subj acl_group(const struct acl_subjects *who, uint32_t g)
{
    return g < who->ngrp ? who->grp[g] : acl_group_named(who->ub, who->u, g);
}

/*
 * Touches the subject slots a path level may look at before any is needed (as
 * acl_levels() does for the path slots): at a million rules each is a cache miss.
 */
static void acl_prefetch_subjects(const struct engine_acl_blob *b, uint64_t ph,
                                  const struct acl_subjects *who)
{
#if defined(__GNUC__)
    if (b->sslot_count == 0)
        return;
    if (who->user.n != 0) {
        __builtin_prefetch(&b->sslot[engine_acl_slot_start(engine_acl_hash_subject(ph, who->user.h),
                                                           b->sslot_count)]);
        for (uint32_t g = 0; g < who->ngrp; g++)
            __builtin_prefetch(&b->sslot[engine_acl_slot_start(
                engine_acl_hash_subject(ph, who->grp[g].h), b->sslot_count)]);
    }
    __builtin_prefetch(
        &b->sslot[engine_acl_slot_start(engine_acl_hash_subject(ph, who->star.h), b->sslot_count)]);
#else
    (void)b, (void)ph, (void)who;
#endif
}

/* Decides at one path level; returns 1 with *BEST filled, or 0 when no rule applies there. */
static int acl_try_level(const struct engine_acl_layers *l, uint64_t state, size_t path_len,
                         unsigned kind, const struct engine_acl_request *rq,
                         struct acl_subjects *who, struct acl_pick *best)
{
    const struct engine_acl_blob *b = l->base;
    uint64_t ph = acl_path_final(state, kind);
    uint32_t first[2] = {ENGINE_ACL_NO_RULE, ENGINE_ACL_NO_RULE};

    /* A tag that matches: the user and its subject slots are fetched before the match is
     * checked (two dependent cache misses at a million rules), not after. */
    if (acl_path_tagged(b, ph)) {
        if (!who->resolved)
            acl_subjects_resolve(l, who);
        acl_prefetch_subjects(b, ph, who);
        first[0] = acl_find_path(b, ph, rq, path_len, kind);
    }
    if (l->over != 0)
        first[1] = acl_find_path(l->over, ph, rq, path_len, kind);
    if (first[0] == ENGINE_ACL_NO_RULE && first[1] == ENGINE_ACL_NO_RULE)
        return 0;
    if (!who->resolved)
        acl_subjects_resolve(l, who);
    best->rule = ENGINE_ACL_NO_RULE;
    if (who->user.n != 0) {
        acl_pick_both(l, ph, first, &who->user, rq, best);
        if (best->rule != ENGINE_ACL_NO_RULE)
            return 1;
        for (uint32_t g = 0; who->u != 0 && g < who->u->grp_count; g++) {
            struct acl_subj gs = acl_group(who, g);
            acl_pick_both(l, ph, first, &gs, rq, best);
        }
        if (best->rule != ENGINE_ACL_NO_RULE)
            return 1;
    }
    acl_pick_both(l, ph, first, &who->star, rq, best);
    return best->rule != ENGINE_ACL_NO_RULE;
}

static const struct engine_acl_blob_user *acl_find_user(const struct engine_acl_blob *b,
                                                        const char *name, size_t len, uint64_t hash)
{
    uint32_t n = b->uslot_count, i, tag = (uint32_t)(hash >> 32);

    if (n == 0 || len == 0)
        return 0;
    i = engine_acl_slot_start(hash, n);
    for (uint32_t probes = 0; probes < n; probes++) {
        const struct engine_acl_blob_slot *s = &b->uslot[i];
        if (s->idx == 0)
            break;
        if (s->tag == tag && acl_str_eq(b, b->user[s->idx - 1].name, name, len))
            return &b->user[s->idx - 1];
        if (++i == n)
            i = 0;
    }
    return 0;
}

const struct engine_acl_blob_user *engine_acl_layers_user_find(const struct engine_acl_layers *l,
                                                               const char *name, size_t len,
                                                               const struct engine_acl_blob **from)
{
    if (l == 0 || l->base == 0 || name == 0 || from == 0)
        return 0;
    return acl_layers_user(l, name, len, engine_acl_hash_user(name, len), from);
}

int engine_acl_name_ok(const char *s, size_t n, size_t max)
{
    return acl_name_ok(s, n, max);
}

const struct engine_acl_blob_user *engine_acl_blob_user_find(const struct engine_acl_blob *b,
                                                             const char *name, size_t len)
{
    if (b == 0 || name == 0)
        return 0;
    return acl_find_user(b, name, len, engine_acl_hash_user(name, len));
}

/* The prefix levels of a request's path, longest first: the FNV state of each '/' boundary
 * (up to ACL_LEVELS_MAX, hashed backwards once) and its length. */
#define ACL_LEVELS_MAX 16
struct acl_levels {
    uint64_t state[ACL_LEVELS_MAX];
    size_t len[ACL_LEVELS_MAX];
    unsigned n;
};

static void acl_prefetch_pslot(const struct engine_acl_blob *b, uint64_t state, unsigned kind)
{
#if defined(__GNUC__)
    if (b->pslot_count != 0)
        __builtin_prefetch(
            &b->pslot[engine_acl_slot_start(acl_path_final(state, kind), b->pslot_count)]);
#else
    (void)b, (void)state, (void)kind;
#endif
}

/*
 * Fills *LV with the first levels of RQ's path (STATE hashes the whole path) and touches the
 * first index slot of each before any is needed: at a million rules each probe is a cache
 * miss, and issuing them together overlaps their latencies.
 */
static void acl_levels(struct acl_levels *lv, const struct engine_acl_blob *b, uint64_t state,
                       const struct engine_acl_request *rq)
{
    acl_prefetch_pslot(b, state, ENGINE_ACL_KIND_EXACT);
    acl_prefetch_pslot(b, state, ENGINE_ACL_KIND_PREFIX);
    lv->n = 0;
    for (size_t i = rq->path_len; lv->n < ACL_LEVELS_MAX && i-- > 0;) {
        state = acl_fnv_back(state, rq->path[i]);
        if (rq->path[i] == '/') {
            acl_prefetch_pslot(b, state, ENGINE_ACL_KIND_PREFIX);
            lv->state[lv->n] = state;
            lv->len[lv->n++] = i;
        }
    }
}

int engine_acl_layers_decide(const struct engine_acl_layers *l, const struct engine_acl_request *rq,
                             struct engine_acl_decision *d)
{
    const struct engine_acl_blob *b;
    const struct engine_acl_blob_rule *r;
    struct acl_subjects who;
    struct acl_levels lv;
    struct acl_pick best = {ENGINE_ACL_NO_RULE, 0, 0};
    uint64_t state;
    int found;

    if (l == 0 || l->base == 0 || rq == 0 || d == 0)
        return -ENGINE_ACL_EINVAL;
    b = l->base;
    d->allow = 0;
    d->rule = ENGINE_ACL_NO_RULE;
    d->line = 0;
    if (!acl_request_ok(rq))
        return -ENGINE_ACL_EINVAL;
    /* A user's own rules are found by its name among the subjects: a name that spells "*" or
     * a "group:" subject is no user's, and gets only what anyone gets. */
    who.user = (struct acl_subj){rq->user, rq->user_len, 0};
    for (size_t i = 0; i < who.user.n; i++)
        if (who.user.s[i] == ':' || who.user.s[i] == '*')
            who.user.n = 0;
    if (who.user.n != 0)
        who.user.h = engine_acl_hash_user(who.user.s, who.user.n);
    who.star = (struct acl_subj){"*", 1, engine_acl_hash_user("*", 1)};
    who.resolved = 0;
    who.u = 0;
    who.ub = b;
    who.ngrp = 0;
#if defined(__GNUC__)
    if (who.user.n != 0 && b->uslot_count != 0)
        __builtin_prefetch(&b->uslot[engine_acl_slot_start(who.user.h, b->uslot_count)]);
#endif
    state = acl_fnv(acl_policy_state(rq->policy, rq->policy_len), rq->path, rq->path_len);
    acl_levels(&lv, b, state, rq);
    /* Longest pattern first: the exact path, then the prefix PATH, then each '/' boundary
     * leftwards; the FNV state of a shorter prefix is recovered by hashing backwards (once,
     * for the first levels: acl_levels()). */
    found = acl_try_level(l, state, rq->path_len, ENGINE_ACL_KIND_EXACT, rq, &who, &best);
    if (!found)
        found = acl_try_level(l, state, rq->path_len, ENGINE_ACL_KIND_PREFIX, rq, &who, &best);
    for (unsigned k = 0; !found && k < lv.n; k++)
        found = acl_try_level(l, lv.state[k], lv.len[k], ENGINE_ACL_KIND_PREFIX, rq, &who, &best);
    if (!found && lv.n == ACL_LEVELS_MAX) {
        state = lv.state[ACL_LEVELS_MAX - 1];
        for (size_t i = lv.len[ACL_LEVELS_MAX - 1]; !found && i-- > 0;) {
            state = acl_fnv_back(state, rq->path[i]);
            if (rq->path[i] == '/')
                found = acl_try_level(l, state, i, ENGINE_ACL_KIND_PREFIX, rq, &who, &best);
        }
    }
    if (!found)
        return 0;
    r = best.layer == 0 ? &b->rule[best.rule] : &l->over->rule[best.rule];
    d->rule = best.layer == 0 ? best.rule : b->rule_count + best.rule;
    d->allow = (int)(r->meta & 1);
    d->line = r->meta >> 2;
    return 0;
}

int engine_acl_blob_decide(const struct engine_acl_blob *b, const struct engine_acl_request *rq,
                           struct engine_acl_decision *d)
{
    struct engine_acl_layers l = {.base = b};

    return engine_acl_layers_decide(&l, rq, d);
}

uint32_t engine_acl_blob_find(const struct engine_acl_blob *b, const struct engine_acl_request *rq,
                              const char *subject, size_t subject_len, unsigned kind)
{
    struct engine_acl_request path_rq = *rq;
    struct acl_subj subj = {subject, subject_len, engine_acl_hash_user(subject, subject_len)};
    uint64_t ph;
    uint32_t first, start;

    if (b == 0 || rq == 0 || rq->path == 0 || rq->policy == 0 || rq->method == 0)
        return ENGINE_ACL_NO_RULE;
    ph = engine_acl_hash_path(rq->policy, rq->policy_len, rq->path, rq->path_len, kind);
    first = acl_find_path(b, ph, &path_rq, rq->path_len, kind);
    if (first == ENGINE_ACL_NO_RULE)
        return ENGINE_ACL_NO_RULE;
    start = acl_find_subject(b, ph, first, &subj);
    for (uint32_t j = start; start != ENGINE_ACL_NO_RULE && j < b->rule_count &&
                             acl_same_key(&b->rule[j], &b->rule[start]);
         j++)
        if (acl_str_eq(b, b->rule[j].method, rq->method, rq->method_len))
            return j;
    return ENGINE_ACL_NO_RULE;
}

int engine_acl_blob_rule(const struct engine_acl_blob *b, uint32_t i,
                         struct engine_acl_rule_view *v)
{
    const struct engine_acl_blob_rule *r;

    if (b == 0 || v == 0 || i >= b->rule_count)
        return -ENGINE_ACL_EINVAL;
    r = &b->rule[i];
    v->policy = b->str + r->policy;
    v->subject = b->str + r->subject;
    v->method = b->str + r->method;
    v->path = b->str + r->path;
    v->kind = acl_rule_kind(r);
    v->allow = (int)(r->meta & 1);
    v->line = r->meta >> 2;
    return 0;
}
