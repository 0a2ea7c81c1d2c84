/* acl_parse.c — the text of a policy directory (acl, groups, credentials) into a rule set. */
#include "acl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACL_READ_CHUNK (1u << 20)

static const char *const acl_file_names[] = {"acl", "groups", "credentials"};

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
    free(a->acl_name);
    free(a);
}

int engine_acl_file_kind(const char *basename)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(basename, acl_file_names[i]) == 0)
            return i;
    return -EINVAL;
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

/* ---- lexical helpers ---- */

static int acl_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int acl_policy_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int acl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

int engine_acl_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > ENGINE_ACL_NAME_MAX || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!acl_name_char(s[i]))
            return 0;
    return 1;
}

static int acl_method_valid(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 1;
    if (n == 0 || n > ENGINE_ACL_METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* Quotes S for a message when it is short printable ASCII, else describes it. */
static const char *acl_quote(char *buf, size_t size, const char *s, size_t n)
{
    if (n > 40) {
        snprintf(buf, size, "(%zu bytes)", n);
        return buf;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '\'') {
            snprintf(buf, size, "(%zu bytes)", n);
            return buf;
        }
    snprintf(buf, size, "'%.*s'", (int)n, s);
    return buf;
}

/*
 * Checks a path pattern. Returns NULL and the stored form (*PLEN bytes of S, *KIND), or a
 * message and in *BAD the offset of the offending byte.
 */
static const char *acl_path_check(const char *s, size_t n, size_t *plen, unsigned *kind,
                                  size_t *bad)
{
    size_t seg = 1;

    *bad = 0;
    if (s[0] != '/')
        return "expected a path starting with '/'";
    if (n > ENGINE_ACL_PATH_MAX)
        return "path longer than 1024 bytes";
    *kind = ENGINE_ACL_KIND_EXACT;
    *plen = n;
    if (n >= 2 && s[n - 2] == '/' && s[n - 1] == '*') {
        *kind = ENGINE_ACL_KIND_PREFIX;
        *plen = n - 2;
    }
    for (size_t i = 1; i <= *plen; i++) {
        unsigned char c = i < *plen ? (unsigned char)s[i] : '/';
        if (c == '/') {
            size_t len = i - seg;
            *bad = seg;
            /* Only an exact pattern may end with '/' (an empty last segment). */
            if (len == 0 && !(i == *plen && *kind == ENGINE_ACL_KIND_EXACT))
                return "empty path segment ('//')";
            if (len == 1 && s[seg] == '.')
                return "'.' segments are not allowed: write the path without them";
            if (len == 2 && s[seg] == '.' && s[seg + 1] == '.')
                return "'..' segments are not allowed: write the path without them";
            seg = i + 1;
            continue;
        }
        *bad = i;
        if (c < 0x20 || c == 0x7f)
            return "control character in path";
        if (c == '*')
            return "'*' is only allowed as the last segment of a prefix pattern such as /admin/*";
        if (c > 0x7f)
            return "non-ASCII byte in path: use percent-encoding";
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._~!$&'()+,;=:@%", c)))
            return "character not allowed in a path (allowed: letters, digits, -._~!$&'()+,;=:@%)";
    }
    return NULL;
}

/* ---- one parse of one file ---- */

struct acl_ctx {
    struct engine_acl *a;
    enum engine_acl_file kind;
    const char *name;
    struct engine_diag *d;
    uint32_t lineno;
    size_t errors;
    size_t nrule0, ngroup0, nmember0, ncred0, ngref0; /* rollback marks */
};

static void acl_err(struct acl_ctx *x, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void acl_err(struct acl_ctx *x, size_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    engine_diag_vadd(x->d, x->name, (int)x->lineno, (int)col, fmt, ap);
    va_end(ap);
    x->errors++;
}

static int acl_oom(struct acl_ctx *x)
{
    acl_err(x, 0, "out of memory");
    return -ENOMEM;
}

struct acl_field {
    const char *s;
    size_t n, col; /* col is 1-based */
};

/* Splits [P, E) into blank-separated fields up to a '#' at a field start. */
static size_t acl_fields(const char *line, const char *e, struct acl_field *f, size_t max)
{
    const char *p = line;
    size_t k = 0;

    for (;;) {
        while (p < e && acl_blank(*p))
            p++;
        if (p == e || *p == '#')
            return k;
        const char *s = p;
        while (p < e && !acl_blank(*p))
            p++;
        if (k < max) {
            f[k].s = s;
            f[k].n = (size_t)(p - s);
            f[k].col = (size_t)(s - line) + 1;
        }
        k++;
    }
}

static int acl_rule_line(struct acl_ctx *x, const char *line, const char *e)
{
    static const char *const what[] = {"POLICY", "SUBJECT", "METHOD", "PATH", "EFFECT"};
    struct engine_acl *a = x->a;
    struct acl_field f[6];
    size_t k = acl_fields(line, e, f, 6), errs = x->errors, plen = 0, bad;
    unsigned kind = 0;
    int effect = -1;
    char q[64];
    const char *msg;
    int64_t id[4];

    if (k == 0)
        return 0;
    if (k < 5) {
        acl_err(x, f[k - 1].col + f[k - 1].n,
                "missing %s: a rule is POLICY SUBJECT METHOD PATH EFFECT", what[k]);
        return 0;
    }
    if (f[0].n == 0 || f[0].n > ENGINE_ACL_NAME_MAX) {
        acl_err(x, f[0].col, "expected a policy name of 1 to 64 characters from [a-z0-9_-]");
    } else {
        for (size_t i = 0; i < f[0].n; i++)
            if (!acl_policy_char(f[0].s[i])) {
                acl_err(x, f[0].col, "policy name %s: expected 1 to 64 characters from [a-z0-9_-]",
                        acl_quote(q, sizeof(q), f[0].s, f[0].n));
                break;
            }
    }
    if (!(f[1].n == 1 && f[1].s[0] == '*') && !engine_acl_name_valid(f[1].s, f[1].n) &&
        !(f[1].n > 6 && memcmp(f[1].s, "group:", 6) == 0 &&
          engine_acl_name_valid(f[1].s + 6, f[1].n - 6)))
        acl_err(x, f[1].col,
                "subject %s: expected a user name ([A-Za-z0-9._-], at most 64, not starting "
                "with '-'), group:NAME or *",
                acl_quote(q, sizeof(q), f[1].s, f[1].n));
    if (!acl_method_valid(f[2].s, f[2].n))
        acl_err(x, f[2].col,
                "method %s: expected an HTTP method in upper case (GET, POST, ...) of at most "
                "32 characters, or *",
                acl_quote(q, sizeof(q), f[2].s, f[2].n));
    if ((msg = acl_path_check(f[3].s, f[3].n, &plen, &kind, &bad)) != NULL)
        acl_err(x, f[3].col, "%s", msg);
    if (f[4].n == 5 && memcmp(f[4].s, "allow", 5) == 0)
        effect = 1;
    else if (f[4].n == 4 && memcmp(f[4].s, "deny", 4) == 0)
        effect = 0;
    else
        acl_err(x, f[4].col, "effect %s: expected allow or deny",
                acl_quote(q, sizeof(q), f[4].s, f[4].n));
    if (k > 5)
        acl_err(x, f[5].col,
                "unexpected field after EFFECT: a rule is POLICY SUBJECT METHOD PATH EFFECT "
                "('#' starts a comment)");
    if (x->errors != errs)
        return 0;

    if ((id[0] = acl_pool_intern(&a->s, f[0].s, f[0].n)) < 0 ||
        (id[1] = acl_pool_intern(&a->s, f[1].s, f[1].n)) < 0 ||
        (id[2] = acl_pool_intern(&a->s, f[2].s, f[2].n)) < 0 ||
        (id[3] = acl_pool_intern(&a->s, f[3].s, plen)) < 0)
        return acl_oom(x);
    if (f[1].n > 6 && f[1].s[5] == ':' && !(a->s.flags[id[1]] & ACL_F_GREF)) {
        if (engine_grow((void **)&a->gref, &a->grefcap, a->ngref + 1, sizeof(*a->gref)) < 0)
            return acl_oom(x);
        a->s.flags[id[1]] |= ACL_F_GREF;
        a->gref[a->ngref++] = (struct acl_gref){(uint32_t)id[1], x->lineno, (uint32_t)f[1].col};
    }
    if (engine_grow((void **)&a->rule, &a->rulecap, a->nrule + 1, sizeof(*a->rule)) < 0)
        return acl_oom(x);
    a->rule[a->nrule++] = (struct acl_rule){
        (uint32_t)id[0], (uint32_t)id[3], (uint32_t)id[1],
        (uint32_t)id[2], x->lineno,       (uint16_t)(f[4].col > 0xffff ? 0xffff : f[4].col),
        (uint8_t)kind,   (uint8_t)effect};
    return 0;
}

static int acl_group_line(struct acl_ctx *x, const char *line, const char *e)
{
    struct engine_acl *a = x->a;
    const char *p = line, *name;
    size_t nlen, errs = x->errors;
    char gname[6 + ENGINE_ACL_NAME_MAX];
    int64_t gid;
    struct acl_field f[1];
    uint32_t first = (uint32_t)a->nmember;

    while (p < e && acl_blank(*p))
        p++;
    if (p == e || *p == '#')
        return 0;
    name = p;
    while (p < e && *p != ':' && !acl_blank(*p))
        p++;
    nlen = (size_t)(p - name);
    while (p < e && acl_blank(*p))
        p++;
    if (p == e || *p != ':') {
        acl_err(x, (size_t)(p - line) + 1,
                "expected ':' after the group name: a line is NAME: "
                "MEMBER MEMBER ...");
        return 0;
    }
    if (!engine_acl_name_valid(name, nlen)) {
        acl_err(x, (size_t)(name - line) + 1,
                "group name: expected 1 to 64 characters from [A-Za-z0-9._-], not starting with "
                "'-'");
        return 0;
    }
    memcpy(gname, "group:", 6);
    memcpy(gname + 6, name, nlen);
    if ((gid = acl_pool_intern(&a->s, gname, 6 + nlen)) < 0)
        return acl_oom(x);
    if (a->s.flags[gid] & ACL_F_PENDING) {
        for (size_t i = x->ngroup0; i < a->ngroup; i++)
            if (a->group[i].name == (uint32_t)gid)
                acl_err(x, (size_t)(name - line) + 1, "group '%.*s' is already defined at line %u",
                        (int)nlen, name, a->group[i].line);
        return 0;
    }
    p++;
    for (;;) {
        size_t k = acl_fields(p, e, f, 1);
        int64_t uid;
        if (k == 0)
            break;
        const char *s = f[0].s;
        size_t col = (size_t)(s - line) + 1;
        p = s + f[0].n;
        if (!engine_acl_name_valid(s, f[0].n)) {
            char q[64];
            acl_err(x, col,
                    "member %s: expected a user name ([A-Za-z0-9._-], at most 64, not starting "
                    "with '-')",
                    acl_quote(q, sizeof(q), s, f[0].n));
            continue;
        }
        if (x->errors != errs)
            continue;
        if ((uid = acl_pool_intern(&a->s, s, f[0].n)) < 0)
            return acl_oom(x);
        if (a->s.flags[uid] & ACL_F_SCRATCH)
            continue; /* a repeated member changes nothing */
        if (engine_grow((void **)&a->member, &a->membercap, a->nmember + 1, sizeof(*a->member)) < 0)
            return acl_oom(x);
        a->s.flags[uid] |= ACL_F_SCRATCH;
        a->member[a->nmember++] = (uint32_t)uid;
    }
    for (size_t i = first; i < a->nmember; i++)
        a->s.flags[a->member[i]] &= (uint8_t)~ACL_F_SCRATCH;
    if (x->errors != errs) {
        a->nmember = first;
        return 0;
    }
    if (engine_grow((void **)&a->group, &a->groupcap, a->ngroup + 1, sizeof(*a->group)) < 0)
        return acl_oom(x);
    a->s.flags[gid] |= ACL_F_PENDING;
    a->group[a->ngroup++] =
        (struct acl_group){(uint32_t)gid, x->lineno, first, (uint32_t)(a->nmember - first)};
    return 0;
}

static int acl_line(struct acl_ctx *x, const char *p, const char *e)
{
    if (x->lineno >= ENGINE_ACL_LINE_MAX) {
        if (x->lineno == ENGINE_ACL_LINE_MAX)
            acl_err(x, 0, "more than %u lines", ENGINE_ACL_LINE_MAX - 1);
        x->lineno++;
        return 0;
    }
    x->lineno++;
    switch (x->kind) {
    case ENGINE_ACL_FILE_ACL:
        return acl_rule_line(x, p, e);
    case ENGINE_ACL_FILE_GROUPS:
        return acl_group_line(x, p, e);
    case ENGINE_ACL_FILE_CREDENTIALS:
        if (acl_cred_line(x->a, x->name, x->lineno, p, e, x->d) < 0)
            x->errors++;
        return 0;
    }
    return 0;
}

/* Parses the complete lines of [P, E); the last one may lack its newline when LAST. */
static int acl_feed(struct acl_ctx *x, const char *p, const char *e)
{
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *end = nl ? nl : e;
        int r;
        if (memchr(p, 0, (size_t)(end - p)) != NULL) {
            x->lineno++;
            acl_err(x, (size_t)((const char *)memchr(p, 0, (size_t)(end - p)) - p) + 1,
                    "NUL byte in a text file");
        } else if ((r = acl_line(x, p, end)) < 0) {
            return r;
        }
        p = nl ? nl + 1 : e;
    }
    return 0;
}

static int acl_begin(struct acl_ctx *x, struct engine_acl *a, enum engine_acl_file kind,
                     const char *name, struct engine_diag *d)
{
    memset(x, 0, sizeof(*x));
    x->a = a;
    x->kind = kind;
    x->name = name;
    x->d = d;
    if ((unsigned)kind > ENGINE_ACL_FILE_CREDENTIALS)
        return -EINVAL;
    if (a->loaded & (1u << kind)) {
        engine_diag_add(d, name, 0, 0, "a %s file is already loaded in this policy set",
                        acl_file_names[kind]);
        return -EEXIST;
    }
    x->nrule0 = a->nrule;
    x->ngroup0 = a->ngroup;
    x->nmember0 = a->nmember;
    x->ncred0 = a->ncred;
    x->ngref0 = a->ngref;
    return 0;
}

static int acl_rule_cmp(const void *pa, const void *pb)
{
    const struct acl_rule *a = pa, *b = pb;
#define ACL_CMP(f)                                                                                 \
    if (a->f != b->f)                                                                              \
        return a->f < b->f ? -1 : 1;
    ACL_CMP(policy)
    ACL_CMP(path)
    ACL_CMP(kind)
    ACL_CMP(subject)
    ACL_CMP(method)
    ACL_CMP(line)
#undef ACL_CMP
    return 0;
}

struct acl_conflict {
    uint32_t line, col, other;
    uint8_t effect;
};

static int acl_conflict_cmp(const void *pa, const void *pb)
{
    const struct acl_conflict *a = pa, *b = pb;
    return a->line != b->line ? (a->line < b->line ? -1 : 1) : 0;
}

/* Sorts the rules into index order, merges duplicates and reports conflicting pairs. */
static int acl_rules_finish(struct acl_ctx *x)
{
    struct engine_acl *a = x->a;
    struct acl_conflict *cf = NULL;
    size_t ncf = 0, cfcap = 0, w = 0;

    if (a->nrule > 1)
        qsort(a->rule, a->nrule, sizeof(*a->rule), acl_rule_cmp);
    for (size_t i = 0; i < a->nrule; i++) {
        struct acl_rule *r = &a->rule[i];
        if (w > 0) {
            struct acl_rule *k = &a->rule[w - 1];
            if (k->policy == r->policy && k->path == r->path && k->kind == r->kind &&
                k->subject == r->subject && k->method == r->method) {
                if (k->effect != r->effect) {
                    if (engine_grow((void **)&cf, &cfcap, ncf + 1, sizeof(*cf)) < 0) {
                        free(cf);
                        return acl_oom(x);
                    }
                    cf[ncf++] = (struct acl_conflict){r->line, r->col, k->line, r->effect};
                }
                continue;
            }
        }
        a->rule[w++] = *r;
    }
    a->nrule = w;
    if (ncf > 1)
        qsort(cf, ncf, sizeof(*cf), acl_conflict_cmp);
    for (size_t i = 0; i < ncf; i++) {
        x->lineno = cf[i].line;
        acl_err(x, cf[i].col,
                "rule conflicts with line %u: same policy, subject, method and path, but '%s' "
                "here and '%s' there",
                cf[i].other, cf[i].effect ? "allow" : "deny", cf[i].effect ? "deny" : "allow");
    }
    free(cf);
    a->npolicy = 0;
    for (size_t i = 0; i < a->nrule; i++)
        if (i == 0 || a->rule[i].policy != a->rule[i - 1].policy)
            a->npolicy++;
    return 0;
}

static int acl_end(struct acl_ctx *x)
{
    struct engine_acl *a = x->a;
    int r = 0;

    /* Conflicts are reported even when other lines are wrong: every error at once. */
    if (x->kind == ENGINE_ACL_FILE_ACL)
        r = acl_rules_finish(x);
    if (x->errors == 0 && r == 0) {
        a->loaded |= 1u << x->kind;
        if (x->kind == ENGINE_ACL_FILE_ACL && (a->acl_name = strdup(x->name)) == NULL)
            return -ENOMEM;
        if (x->kind == ENGINE_ACL_FILE_GROUPS) {
            for (size_t i = x->ngroup0; i < a->ngroup; i++)
                a->s.flags[a->group[i].name] =
                    (uint8_t)((a->s.flags[a->group[i].name] & ~ACL_F_PENDING) | ACL_F_GROUP);
            /* Count distinct members with a scratch flag, then clear it. */
            a->nmembers_distinct = 0;
            for (size_t i = 0; i < a->nmember; i++)
                if (!(a->s.flags[a->member[i]] & ACL_F_SCRATCH)) {
                    a->s.flags[a->member[i]] |= ACL_F_SCRATCH;
                    a->nmembers_distinct++;
                }
            for (size_t i = 0; i < a->nmember; i++)
                a->s.flags[a->member[i]] &= (uint8_t)~ACL_F_SCRATCH;
        }
        return 0;
    }
    /* All or nothing: drop whatever this file added. */
    for (size_t i = x->ngroup0; i < a->ngroup; i++)
        a->s.flags[a->group[i].name] &= (uint8_t)~ACL_F_PENDING;
    for (size_t i = x->ncred0; i < a->ncred; i++)
        a->s.flags[a->cred[i].user] &= (uint8_t)~ACL_F_CRED;
    for (size_t i = x->ngref0; i < a->ngref; i++)
        a->s.flags[a->gref[i].id] &= (uint8_t)~ACL_F_GREF;
    if (x->ncred0 < a->ncred)
        memset(&a->cred[x->ncred0], 0, (a->ncred - x->ncred0) * sizeof(*a->cred));
    a->nrule = x->nrule0;
    a->ngroup = x->ngroup0;
    a->nmember = x->nmember0;
    a->ncred = x->ncred0;
    a->ngref = x->ngref0;
    if (x->kind == ENGINE_ACL_FILE_ACL)
        a->npolicy = 0;
    return r < 0 ? r : -EINVAL;
}

int engine_acl_parse(struct engine_acl *a, enum engine_acl_file kind, const char *name,
                     const char *buf, size_t len, struct engine_diag *d)
{
    struct acl_ctx x;
    int r;

    if ((r = acl_begin(&x, a, kind, name, d)) < 0)
        return r;
    if ((r = acl_feed(&x, buf, buf + len)) < 0)
        x.errors++;
    r = acl_end(&x);
    return r;
}

int engine_acl_load_file(struct engine_acl *a, enum engine_acl_file kind, const char *path,
                         const char *name, struct engine_diag *d)
{
    struct acl_ctx x;
    char *buf = NULL;
    size_t have = 0;
    int fd = -1, r;

    if (name == NULL)
        name = path;
    if ((r = acl_begin(&x, a, kind, name, d)) < 0)
        return r;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = -errno;
        engine_diag_add(d, name, 0, 0, "cannot open: %s", strerror(-r));
        return r;
    }
    /* Read in chunks and parse whole lines: memory stays bounded by the chunk size. */
    if ((buf = malloc(ACL_READ_CHUNK)) == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    for (;;) {
        ssize_t n = read(fd, buf + have, ACL_READ_CHUNK - have);
        const char *nl;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            engine_diag_add(d, name, 0, 0, "cannot read: %s", strerror(-r));
            goto cleanup;
        }
        have += (size_t)n;
        if (n == 0) {
            if ((r = acl_feed(&x, buf, buf + have)) < 0)
                x.errors++;
            break;
        }
        nl = memrchr(buf, '\n', have);
        if (nl == NULL) {
            if (have < ACL_READ_CHUNK)
                continue;
            x.lineno++;
            acl_err(&x, 0, "line longer than %u bytes", ACL_READ_CHUNK);
            break;
        }
        if ((r = acl_feed(&x, buf, nl + 1)) < 0) {
            x.errors++;
            break;
        }
        have -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have);
    }
    r = acl_end(&x);
cleanup:
    free(buf);
    close(fd);
    return r;
}

int engine_acl_check_groups(const struct engine_acl *a, struct engine_diag *d)
{
    int r = 0;

    for (size_t i = 0; i < a->ngref; i++) {
        const struct acl_gref *g = &a->gref[i];
        if (a->s.flags[g->id] & ACL_F_GROUP)
            continue;
        r = engine_diag_add(d, a->acl_name, (int)g->line, (int)g->col,
                            "group '%s' is not defined in the groups file",
                            acl_pool_str(&a->s, g->id) + 6);
    }
    return r;
}

int engine_acl_load_dir(struct engine_acl *a, const char *dir, struct engine_diag *d)
{
    static const enum engine_acl_file order[] = {ENGINE_ACL_FILE_GROUPS, ENGINE_ACL_FILE_ACL,
                                                 ENGINE_ACL_FILE_CREDENTIALS};
    struct stat st;
    int r = 0, e;

    if (stat(dir, &st) != 0)
        return engine_diag_add(d, dir, 0, 0, "cannot read the policy directory: %s",
                               strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return engine_diag_add(d, dir, 0, 0, "not a policy directory");
    for (int i = 0; i < 3; i++) {
        char *path = NULL;
        const char *base = acl_file_names[order[i]];
        if (asprintf(&path, "%s/%s", dir, base) < 0)
            return -ENOMEM;
        if (access(path, F_OK) != 0 && errno == ENOENT) {
            free(path);
            continue;
        }
        e = engine_acl_load_file(a, order[i], path, base, d);
        free(path);
        if (e == -ENOMEM)
            return e;
        if (e < 0)
            r = -EINVAL;
    }
    if (r == 0 && (a->loaded & (1u << ENGINE_ACL_FILE_ACL)))
        r = engine_acl_check_groups(a, d);
    return r;
}

int engine_acl_rule_format(char *buf, size_t size, const struct engine_acl_rule_view *v)
{
    return snprintf(buf, size, "%s %s %s %s%s %s", v->policy, v->subject, v->method, v->path,
                    v->kind == ENGINE_ACL_KIND_PREFIX ? "/*" : "", v->allow ? "allow" : "deny");
}
