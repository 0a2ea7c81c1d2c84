/*
 * acl_keys.c — the rules of several rules files held by key (policy, path, subject, method),
 * kept while the files change one at a time: one file's new rules are checked against the
 * others' as engine_acl_finish() checks them, and the rules the change adds to or removes from
 * those in force are found, at the cost of that file's rules, not the others'.
 */
#include "acl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_FREE 0u
#define KEYS_GONE UINT32_MAX
#define KEYS_NONE UINT32_MAX

/* A file held: its rules parsed alone (borrowed), their keys' hashes, its order and line
 * count. The table names a file's rule by an id that stays while the rule does (ID by rule,
 * RULE by id): a new version of the file repoints the ids of the rules it keeps in these two
 * small arrays, not in the table, whose slots are scattered over the whole policy's. */
struct keys_file {
    char *path;
    int main; /* policy/acl: before every acl.d file */
    const struct engine_acl *part;
    uint32_t lines;
    uint64_t *rh;   /* by rule */
    uint32_t *id;   /* by rule */
    uint32_t *rule; /* by id: the rule's index, KEYS_NONE for an id not in use */
    uint32_t nid;
};

/* A slot of the table: the file's index + 1 (KEYS_FREE empty, KEYS_GONE removed), the rule's
 * id in that file, the key hash's high bits. */
struct keys_slot {
    uint32_t file, rule, tag;
};

struct keys_policy {
    char *name;
    size_t rules;
};

struct engine_acl_keys {
    struct keys_file *file;
    size_t nfile, filecap;
    struct keys_slot *tab;
    size_t cap, used;        /* power of two; slots not empty (held and removed) */
    struct keys_policy *pol; /* by name */
    size_t npol, polcap;
    size_t distinct; /* keys held at least once */
};

int engine_acl_keys_new(struct engine_acl_keys **out)
{
    return (*out = calloc(1, sizeof(**out))) == NULL ? -ENOMEM : 0;
}

void engine_acl_keys_free(struct engine_acl_keys *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->nfile; i++) {
        free(k->file[i].path);
        free(k->file[i].rh);
        free(k->file[i].id);
        free(k->file[i].rule);
    }
    for (size_t i = 0; i < k->npol; i++)
        free(k->pol[i].name);
    free(k->file);
    free(k->tab);
    free(k->pol);
    free(k);
}

void engine_acl_keys_change_free(struct engine_acl_keys_change *c)
{
    if (c == NULL)
        return;
    free(c->del);
    free(c->add);
    free(c);
}

static uint64_t keys_str(const struct engine_acl *a, uint32_t id)
{
    const char *s = acl_pool_str(&a->s, id);
    return engine_acl_hash_user(s, strlen(s));
}

static uint64_t keys_hash(const struct engine_acl *a, const struct acl_rule *r)
{
    return acl_key_hash(keys_str(a, r->policy), keys_str(a, r->path), r->kind,
                        keys_str(a, r->subject), keys_str(a, r->method));
}

static int keys_same(const struct engine_acl *a, const struct acl_rule *r,
                     const struct engine_acl *b, const struct acl_rule *q)
{
    return r->kind == q->kind &&
           strcmp(acl_pool_str(&a->s, r->path), acl_pool_str(&b->s, q->path)) == 0 &&
           strcmp(acl_pool_str(&a->s, r->subject), acl_pool_str(&b->s, q->subject)) == 0 &&
           strcmp(acl_pool_str(&a->s, r->method), acl_pool_str(&b->s, q->method)) == 0 &&
           strcmp(acl_pool_str(&a->s, r->policy), acl_pool_str(&b->s, q->policy)) == 0;
}

/* Does file F come before file G in rule order? */
static int keys_before(const struct keys_file *f, const struct keys_file *g)
{
    if (f->main != g->main)
        return f->main;
    return strcmp(f->path, g->path) < 0;
}

static ssize_t keys_file_find(const struct engine_acl_keys *k, const char *path)
{
    for (size_t i = 0; i < k->nfile; i++)
        if (k->file[i].path != NULL && strcmp(k->file[i].path, path) == 0)
            return (ssize_t)i;
    return -1;
}

/* The earliest held rule, in another file than SKIP (an index, or -1), with the key of rule R
 * of A (hashed H): its file's index (or -1) and rule in *RULE. */
static ssize_t keys_first(const struct engine_acl_keys *k, uint64_t h, const struct engine_acl *a,
                          const struct acl_rule *r, ssize_t skip, uint32_t *rule)
{
    ssize_t best = -1;

    if (k->cap == 0)
        return -1;
    for (size_t j = h & (k->cap - 1); k->tab[j].file != KEYS_FREE; j = (j + 1) & (k->cap - 1)) {
        const struct keys_slot *s = &k->tab[j];
        if (s->file == KEYS_GONE || s->tag != (uint32_t)(h >> 32) || (ssize_t)s->file - 1 == skip)
            continue;
        const struct keys_file *f = &k->file[s->file - 1];
        const uint32_t at = f->rule[s->rule];
        if (!keys_same(a, r, f->part, &f->part->rule[at]))
            continue;
        if (best < 0 || keys_before(f, &k->file[best])) {
            best = (ssize_t)s->file - 1;
            *rule = at;
        }
    }
    return best;
}

/* The rule of PART with the key of rule R of A (binary search: a part's rules are sorted). */
static const struct acl_rule *keys_in_part(const struct engine_acl *part,
                                           const struct engine_acl *a, const struct acl_rule *r)
{
    struct acl_rule q;
    int64_t id[4];
    size_t lo = 0, hi;

    if (part == NULL)
        return NULL;
    const uint32_t ids[4] = {r->policy, r->path, r->subject, r->method};
    for (int i = 0; i < 4; i++) {
        const char *s = acl_pool_str(&a->s, ids[i]);
        if ((id[i] = acl_pool_find(&part->s, s, strlen(s))) < 0)
            return NULL;
    }
    q = (struct acl_rule){.policy = (uint32_t)id[0],
                          .path = (uint32_t)id[1],
                          .subject = (uint32_t)id[2],
                          .method = (uint32_t)id[3],
                          .kind = r->kind};
    hi = part->nrule;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct acl_rule *m = &part->rule[mid];
        int c = m->policy != q.policy     ? (m->policy < q.policy ? -1 : 1)
                : m->path != q.path       ? (m->path < q.path ? -1 : 1)
                : m->kind != q.kind       ? (m->kind < q.kind ? -1 : 1)
                : m->subject != q.subject ? (m->subject < q.subject ? -1 : 1)
                : m->method != q.method   ? (m->method < q.method ? -1 : 1)
                                          : 0;
        if (c == 0)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The set's lines before file PATH's first: the lines of the files before it, each one more than
 * it has (acl_file_add()). */
static uint64_t keys_base(const struct engine_acl_keys *k, const char *path, int main)
{
    struct keys_file me = {(char *)path, main, NULL, 0};
    uint64_t base = 0;

    for (size_t i = 0; i < k->nfile; i++)
        if (k->file[i].path != NULL && strcmp(k->file[i].path, path) != 0 &&
            keys_before(&k->file[i], &me))
            base += (uint64_t)k->file[i].lines + 1;
    return base;
}

/* The set's line of line LINE of the file whose lines come after BASE (keys_base()). */
static uint32_t keys_line(uint64_t base, uint32_t line)
{
    base += line;
    return base >= ENGINE_ACL_LINE_MAX ? ENGINE_ACL_LINE_MAX - 1 : (uint32_t)base;
}

/* Is LINE of a file's old (NEU 0) or new version one change L may have touched? */
static int keys_touched(const struct engine_acl_lines *l, uint32_t line, int neu)
{
    return l == NULL || (line >= l->lo && line < (neu ? l->new_end : l->old_end));
}

static int keys_push(struct acl_chg **v, size_t *n, size_t *cap, const struct engine_acl *a,
                     const struct acl_rule *r, uint32_t line)
{
    if (ENGINE_GROW(v, cap, *n + 1) < 0)
        return -ENOMEM;
    (*v)[*n] = acl_chg_of(a, r);
    (*v)[(*n)++].line = line;
    return 0;
}

int engine_acl_keys_diff(const struct engine_acl_keys *k, const char *path, int main,
                         const struct engine_acl *part, const struct engine_acl_lines *lines,
                         struct engine_acl_keys_change **out, struct engine_diag *d)
{
    struct engine_acl_keys_change *c = calloc(1, sizeof(*c));
    ssize_t self = keys_file_find(k, path);
    const struct engine_acl *old = self >= 0 ? k->file[self].part : NULL;
    struct keys_file me = {(char *)path, main, part, 0};
    size_t errors = d != NULL ? d->n : 0;
    const uint64_t base = keys_base(k, path, main); /* once: a walk over every file */
    int r = 0;

    *out = NULL;
    if (c == NULL)
        return -ENOMEM;
    if (old == NULL)
        lines = NULL; /* nothing held before: every rule is new */
    /* The old rules that go: out of force unless another file holds them too. A rule on a line
     * the change left is in the new version too, with its effect. */
    for (size_t i = 0; r == 0 && old != NULL && i < old->nrule; i++) {
        if (!keys_touched(lines, old->rule[i].line, 0))
            continue;
        const struct acl_rule *o = &old->rule[i], *n = keys_in_part(part, old, o);
        uint32_t at;
        if (n != NULL && n->effect == o->effect)
            continue;
        if (keys_first(k, k->file[self].rh[i], old, o, self, &at) >= 0)
            continue;
        c->distinct -= n == NULL;
        r = keys_push(&c->del, &c->ndel, &c->delcap, old, o, keys_line(base, o->line));
    }
    /* The new rules: each against the earliest other file that holds its key. */
    for (size_t i = 0; r == 0 && part != NULL && i < part->nrule; i++) {
        if (!keys_touched(lines, part->rule[i].line, 1))
            continue;
        const struct acl_rule *n = &part->rule[i], *o = keys_in_part(old, part, n);
        uint32_t at;
        /* A rule the file held already: the others' rules agreed with it. */
        if (o != NULL && o->effect == n->effect)
            continue;
        ssize_t f = keys_first(k, keys_hash(part, n), part, n, self, &at);
        if (f < 0) {
            c->distinct += o == NULL;
            r = keys_push(&c->add, &c->nadd, &c->addcap, part, n, keys_line(base, n->line));
            continue;
        }
        const struct keys_file *g = &k->file[f];
        const struct acl_rule *q = &g->part->rule[at];
        if (q->effect == n->effect)
            continue;
        /* The later of the two is reported, naming the earlier (engine_acl_finish()). */
        const int mine_later = keys_before(g, &me);
        const struct acl_rule *later = mine_later ? n : q, *earlier = mine_later ? q : n;
        const char *lf = mine_later ? path : g->path, *ef = mine_later ? g->path : path;
        r = engine_diag_add(d, lf, (int)later->line, (int)later->col,
                            "rule conflicts with %s:%u: same policy, subject, method and path, but "
                            "'%s' here and '%s' there",
                            ef, earlier->line, later->effect ? "allow" : "deny",
                            later->effect ? "deny" : "allow");
        if (r == -ENOMEM)
            break;
        r = 0;
        if (!mine_later) {
            /* Every later holder of the key conflicts with this rule: report each. */
            for (size_t j = 0; j < k->nfile; j++) {
                const struct engine_acl *p = k->file[j].part;
                const struct acl_rule *q2;
                if ((ssize_t)j == f || (ssize_t)j == self || p == NULL ||
                    (q2 = keys_in_part(p, part, n)) == NULL)
                    continue;
                if (engine_diag_add(d, k->file[j].path, (int)q2->line, (int)q2->col,
                                    "rule conflicts with %s:%u: same policy, subject, method and "
                                    "path, but '%s' here and '%s' there",
                                    path, n->line, q2->effect ? "allow" : "deny",
                                    q2->effect ? "deny" : "allow") == -ENOMEM) {
                    r = -ENOMEM;
                    break;
                }
            }
        }
    }
    if (r == 0 && d != NULL && d->n > errors)
        r = -EINVAL;
    if (r < 0) {
        engine_acl_keys_change_free(c);
        return r;
    }
    *out = c;
    return 0;
}

/* The count of POLICY's rules held, by name; created (zero) when CREATE. NULL: no memory. */
static struct keys_policy *keys_pol(struct engine_acl_keys *k, const char *name, int create)
{
    size_t lo = 0, hi = k->npol;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(k->pol[mid].name, name);
        if (c == 0)
            return &k->pol[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create || ENGINE_GROW(&k->pol, &k->polcap, k->npol + 1) < 0)
        return NULL;
    char *dup = strdup(name);
    if (dup == NULL)
        return NULL;
    memmove(&k->pol[lo + 1], &k->pol[lo], (k->npol - lo) * sizeof(*k->pol));
    k->pol[lo] = (struct keys_policy){dup, 0};
    k->npol++;
    return &k->pol[lo];
}

static void keys_put(struct engine_acl_keys *k, uint64_t h, uint32_t file, uint32_t id)
{
    size_t j = h & (k->cap - 1);

    while (k->tab[j].file != KEYS_FREE && k->tab[j].file != KEYS_GONE)
        j = (j + 1) & (k->cap - 1);
    if (k->tab[j].file == KEYS_FREE)
        k->used++;
    k->tab[j] = (struct keys_slot){file, id, (uint32_t)(h >> 32)};
}

/* Makes room for N more rules: a table at most half full, removed slots dropped; or, with N
 * 0, a table an eighth full made smaller again (a large file replaced by a small one). */
static int keys_room(struct engine_acl_keys *k, size_t n)
{
    size_t live = 0, cap = 1024;
    struct keys_slot *old = k->tab;

    for (size_t i = 0; i < k->nfile; i++)
        live += k->file[i].part != NULL ? k->file[i].part->nrule : 0;
    if (n == 0 ? k->cap <= 1024 || live * 8 >= k->cap : k->cap > 0 && (k->used + n) * 2 <= k->cap)
        return 0;
    while (cap < (live + n) * 2)
        cap *= 2;
    if ((k->tab = calloc(cap, sizeof(*k->tab))) == NULL) {
        k->tab = old;
        return -ENOMEM;
    }
    free(old);
    k->cap = cap;
    k->used = 0;
    for (size_t i = 0; i < k->nfile; i++)
        for (size_t r = 0; k->file[i].part != NULL && r < k->file[i].part->nrule; r++)
            keys_put(k, k->file[i].rh[r], (uint32_t)i + 1, k->file[i].id[r]);
    return 0;
}

/* The new rule that old rule O of OLD is in PART, or NULL: by its line where L says the line
 * is the same text in both (BYLINE: PART's rules by line, KEYS_NONE where none begins), else by
 * key. */
static const struct acl_rule *keys_kept(const struct engine_acl *part, const uint32_t *byline,
                                        uint32_t nline, const struct engine_acl_lines *l,
                                        const struct engine_acl *old, const struct acl_rule *o)
{
    if (part == NULL)
        return NULL;
    if (!keys_touched(l, o->line, 0)) {
        uint32_t at = o->line < l->lo ? o->line : o->line - l->old_end + l->new_end;
        /* None there: a line of the change repeats it, earlier (and holds it). */
        if (at < nline && byline[at] != KEYS_NONE)
            return &part->rule[byline[at]];
    }
    return keys_in_part(part, old, o);
}

/* The old rules that go and the new ones that come, at the cost of those L touched. */
struct keys_step {
    uint64_t *nh;   /* by new rule */
    uint32_t *nid;  /* by new rule */
    uint32_t *rule; /* by id */
    uint32_t nids;
    uint8_t *placed; /* by new rule: kept from the old version */
    uint32_t *byline;
    uint32_t nline;
};

static void keys_step_free(struct keys_step *st)
{
    free(st->nh);
    free(st->nid);
    free(st->rule);
    free(st->placed);
    free(st->byline);
}

static int keys_step_new(struct keys_step *st, const struct keys_file *f,
                         const struct engine_acl *part)
{
    size_t n = part != NULL ? part->nrule : 0;

    *st = (struct keys_step){0};
    if (part == NULL)
        return 0;
    st->nids = f != NULL && f->nid > n ? f->nid : (uint32_t)n;
    st->nline = part->nfile == 1 ? part->nextbase + 1 : 0;
    if ((n > 0 && ((st->nh = malloc(n * sizeof(*st->nh))) == NULL ||
                   (st->nid = malloc(n * sizeof(*st->nid))) == NULL ||
                   (st->placed = calloc(n, 1)) == NULL)) ||
        (st->nids > 0 && (st->rule = malloc(st->nids * sizeof(*st->rule))) == NULL) ||
        (st->nline > 0 && (st->byline = malloc(st->nline * sizeof(*st->byline))) == NULL)) {
        keys_step_free(st);
        return -ENOMEM;
    }
    if (st->nids > 0) /* an empty file has no arrays: memset() takes no NULL */
        memset(st->rule, 0xff, st->nids * sizeof(*st->rule));
    if (st->nline > 0)
        memset(st->byline, 0xff, st->nline * sizeof(*st->byline));
    for (size_t i = 0; i < n; i++)
        if (part->rule[i].line < st->nline)
            st->byline[part->rule[i].line] = (uint32_t)i;
    return 0;
}

/* The slot of file SELF's rule id ID, whose key hashed H. */
static size_t keys_slot_of(const struct engine_acl_keys *k, uint64_t h, ssize_t self, uint32_t id)
{
    size_t j = h & (k->cap - 1);

    while (!(k->tab[j].file == (uint32_t)self + 1 && k->tab[j].rule == id))
        j = (j + 1) & (k->cap - 1);
    return j;
}

int engine_acl_keys_set(struct engine_acl_keys *k, const char *path, int main,
                        const struct engine_acl *part, const struct engine_acl_lines *lines)
{
    ssize_t self = keys_file_find(k, path);
    struct keys_policy *pc = NULL;
    struct keys_step st;
    uint32_t at, next = 0;

    /* Everything that can fail first: the room, the file's entry, its policies' counts. */
    if (part != NULL && keys_room(k, part->nrule) < 0)
        return -ENOMEM;
    for (size_t i = 0; part != NULL && i < part->nrule; i++)
        if ((i == 0 || part->rule[i].policy != part->rule[i - 1].policy) &&
            keys_pol(k, acl_pool_str(&part->s, part->rule[i].policy), 1) == NULL)
            return -ENOMEM;
    if (keys_step_new(&st, self >= 0 ? &k->file[self] : NULL, part) < 0)
        return -ENOMEM;
    if (self < 0 && part != NULL) {
        char *dup = strdup(path);
        if (dup == NULL) {
            keys_step_free(&st);
            return -ENOMEM;
        }
        for (size_t i = 0; i < k->nfile && self < 0; i++)
            if (k->file[i].path == NULL)
                self = (ssize_t)i;
        if (self < 0) {
            if (ENGINE_GROW(&k->file, &k->filecap, k->nfile + 1) < 0) {
                free(dup);
                keys_step_free(&st);
                return -ENOMEM;
            }
            self = (ssize_t)k->nfile++;
        }
        k->file[self] = (struct keys_file){.path = dup, .main = main};
        lines = NULL; /* nothing held before: every rule is new */
    }
    if (self < 0) {
        keys_step_free(&st);
        return 0; /* a file removed that was never held */
    }
    struct keys_file *f = &k->file[self];
    const struct engine_acl *old = f->part;
    /* The old rules out, but those the new file holds too: they stay, under their ids. */
    for (size_t i = 0; old != NULL && i < old->nrule; i++) {
        const struct acl_rule *o = &old->rule[i];
        const struct acl_rule *n = keys_kept(part, st.byline, st.nline, lines, old, o);
        if (n != NULL && !st.placed[n - part->rule]) {
            size_t r = (size_t)(n - part->rule);
            st.nid[r] = f->id[i];
            st.rule[f->id[i]] = (uint32_t)r;
            st.nh[r] = f->rh[i];
            st.placed[r] = 1;
            continue;
        }
        k->tab[keys_slot_of(k, f->rh[i], self, f->id[i])].file = KEYS_GONE;
        if ((pc = keys_pol(k, acl_pool_str(&old->s, o->policy), 0)) != NULL)
            pc->rules--;
        if (n == NULL)
            k->distinct -= keys_first(k, f->rh[i], old, o, self, &at) < 0;
    }
    free(f->rh);
    free(f->id);
    free(f->rule);
    f->rh = st.nh;
    f->id = st.nid;
    f->rule = st.rule;
    f->nid = st.nids;
    f->part = part;
    if (part == NULL) {
        free(f->path);
        *f = (struct keys_file){0};
        keys_step_free(&(struct keys_step){.placed = st.placed, .byline = st.byline});
        (void)keys_room(k, 0); /* smaller if it can be; kept as it is without memory */
        return 0;
    }
    f->lines = part->nfile == 1 ? part->nextbase - 1 : 0;
    /* The new ones in, each under an id not in use. */
    for (size_t i = 0; i < part->nrule; i++) {
        const struct acl_rule *n = &part->rule[i];
        if (st.placed[i])
            continue;
        while (f->rule[next] != KEYS_NONE)
            next++;
        f->id[i] = next;
        f->rule[next] = (uint32_t)i;
        f->rh[i] = keys_hash(part, n);
        k->distinct += keys_first(k, f->rh[i], part, n, self, &at) < 0;
        keys_put(k, f->rh[i], (uint32_t)self + 1, next);
        if ((pc = keys_pol(k, acl_pool_str(&part->s, n->policy), 0)) != NULL)
            pc->rules++;
    }
    keys_step_free(&(struct keys_step){.placed = st.placed, .byline = st.byline});
    (void)keys_room(k, 0); /* smaller if it can be; kept as it is without memory */
    return 0;
}

/* How many line ends S[0..N) holds. */
static uint32_t keys_ends(const char *s, size_t n)
{
    uint32_t c = 0;

    for (const char *e = s + n; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++)
        c++;
    return c;
}

/* Does a line begin at S[I]? */
static int keys_line_start(const char *s, size_t i)
{
    return i == 0 || s[i - 1] == '\n';
}

void engine_acl_lines_changed(struct engine_acl_lines *out, const char *old, size_t olen,
                              const char *neu, size_t nlen)
{
    const size_t lim = olen < nlen ? olen : nlen, step = 4096;
    size_t head = 0, tail = 0;

    /* The bytes both begin with, then back to a line's start: whole lines. */
    while (head + step <= lim && memcmp(old + head, neu + head, step) == 0)
        head += step;
    while (head < lim && old[head] == neu[head])
        head++;
    while (head > 0 && old[head - 1] != '\n')
        head--;
    /* The bytes both end with, within what the head left, from a line's start in both. */
    while (tail + step <= lim - head &&
           memcmp(old + olen - tail - step, neu + nlen - tail - step, step) == 0)
        tail += step;
    while (tail < lim - head && old[olen - tail - 1] == neu[nlen - tail - 1])
        tail++;
    while (tail > 0 && !(keys_line_start(old, olen - tail) && keys_line_start(neu, nlen - tail)))
        tail--;
    out->lo = 1 + keys_ends(old, head);
    if (tail == 0) {
        out->old_end = out->new_end = UINT32_MAX; /* nothing after the change */
        return;
    }
    out->old_end = out->lo + keys_ends(old + head, olen - tail - head);
    out->new_end = out->lo + keys_ends(neu + head, nlen - tail - head);
}

/* POLICY's rules in PART. */
static size_t keys_part_policy(const struct engine_acl *part, const char *policy)
{
    int64_t id = part != NULL ? acl_pool_find(&part->s, policy, strlen(policy)) : -1;
    size_t n = 0;

    for (size_t i = 0; id >= 0 && i < part->nrule; i++)
        n += part->rule[i].policy == (uint64_t)id;
    return n;
}

int engine_acl_keys_has_policy(const struct engine_acl_keys *k, const char *path,
                               const struct engine_acl *part, const char *policy)
{
    struct keys_policy *p = keys_pol((struct engine_acl_keys *)k, policy, 0);
    ssize_t self = path != NULL ? keys_file_find(k, path) : -1;
    size_t n = p != NULL ? p->rules : 0;

    if (self >= 0)
        n -= keys_part_policy(k->file[self].part, policy);
    return n + (path != NULL ? keys_part_policy(part, policy) : 0) > 0;
}

void engine_acl_keys_stats(const struct engine_acl_keys *k, const struct engine_acl_keys_change *c,
                           size_t *rules, size_t *policies)
{
    *rules = k->distinct + (c != NULL ? (size_t)c->distinct : 0);
    *policies = 0;
    for (size_t i = 0; i < k->npol; i++)
        *policies += k->pol[i].rules > 0;
}

int engine_acl_index_apply_keys(struct engine_acl_index *x, const struct engine_acl_keys_change *c,
                                uint64_t version)
{
    return acl_index_change(x, c->del, c->ndel, c->add, c->nadd, version);
}

size_t engine_acl_keys_change_release(struct engine_acl_keys_change *c)
{
    size_t bytes = (c->delcap + c->addcap) * sizeof(*c->del);

    free(c->del);
    free(c->add);
    c->del = c->add = NULL;
    c->ndel = c->nadd = c->delcap = c->addcap = 0;
    return bytes;
}

size_t engine_acl_keys_change_count(const struct engine_acl_keys_change *c)
{
    return c->ndel + c->nadd;
}

int engine_acl_keys_change_touches(const struct engine_acl_keys_change *c, const char *policy)
{
    for (size_t i = 0; i < c->ndel + c->nadd; i++)
        if (policy == NULL ||
            strcmp(i < c->ndel ? c->del[i].policy : c->add[i - c->ndel].policy, policy) == 0)
            return 1;
    return 0;
}

const struct engine_acl *engine_acl_keys_part(const struct engine_acl_keys *k, const char *path)
{
    ssize_t self = keys_file_find(k, path);

    return self >= 0 ? k->file[self].part : NULL;
}
