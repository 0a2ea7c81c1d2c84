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

int engine_acl_file_kind(const char *basename)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(basename, acl_file_names[i]) == 0)
            return i;
    return -EINVAL;
}

/* ---- one parse of one file ---- */

struct acl_ctx {
    struct engine_acl *a;
    enum engine_acl_file kind;
    const char *name;
    struct engine_diag *d;
    uint32_t lineno;
    uint32_t base; /* rules files: the set's line of this file's line 0 */
    size_t errors;
    size_t nrule0, ngroup0, nmember0, ncred0, ngref0; /* rollback marks */
    uint32_t *ngrp; /* groups file: string id -> how many groups that user is in so far */
    size_t ngrpcap;
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
    if (f[0].n == 0 || f[0].n > ENGINE_ACL_NAME_MAX)
        acl_err(x, f[0].col, "expected a policy name of 1 to 64 characters from [a-z0-9_-]");
    else if (!engine_acl_policy_valid(f[0].s, f[0].n))
        acl_err(x, f[0].col, "policy name %s: expected 1 to 64 characters from [a-z0-9_-]",
                acl_quote(q, sizeof(q), f[0].s, f[0].n));
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
        a->gref[a->ngref++] =
            (struct acl_gref){(uint32_t)id[1], x->base + x->lineno, (uint32_t)f[1].col};
    }
    if (engine_grow((void **)&a->rule, &a->rulecap, a->nrule + 1, sizeof(*a->rule)) < 0)
        return acl_oom(x);
    a->rule[a->nrule++] = (struct acl_rule){
        (uint32_t)id[0], (uint32_t)id[3],     (uint32_t)id[1],
        (uint32_t)id[2], x->base + x->lineno, (uint16_t)(f[4].col > 0xffff ? 0xffff : f[4].col),
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
        /* The blob holds at most ENGINE_ACL_GROUPS_MAX groups per user: refused here, where
         * the file is accepted, not when it is compiled. */
        if ((size_t)uid >= x->ngrpcap) {
            size_t old = x->ngrpcap;
            if (engine_grow((void **)&x->ngrp, &x->ngrpcap, (size_t)uid + 1, sizeof(*x->ngrp)) < 0)
                return acl_oom(x);
            memset(x->ngrp + old, 0, (x->ngrpcap - old) * sizeof(*x->ngrp));
        }
        if (++x->ngrp[uid] == ENGINE_ACL_GROUPS_MAX + 1)
            acl_err(x, col, "user '%.*s' is in more than %u groups", (int)f[0].n, s,
                    ENGINE_ACL_GROUPS_MAX);
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
    /* Rules files share one line space (a rule's line names its file): their lines together
     * are bounded. */
    if (x->base + x->lineno >= ENGINE_ACL_LINE_MAX) {
        if (x->base + x->lineno == ENGINE_ACL_LINE_MAX)
            acl_err(x, 0, "more than %u lines%s", ENGINE_ACL_LINE_MAX - 1,
                    x->base > 0 ? " in the rules files together" : "");
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
        const char *end = nl ? nl : e, *cr;
        int r;
        if (nl != NULL && end > p && end[-1] == '\r')
            end--; /* a CRLF line end */
        if (memchr(p, 0, (size_t)(end - p)) != NULL) {
            x->lineno++;
            acl_err(x, (size_t)((const char *)memchr(p, 0, (size_t)(end - p)) - p) + 1,
                    "NUL byte in a text file");
        } else if ((cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
            /* Any other CR: a terminal would show the line cut there (a rule shown as a
             * comment, say) while the parser reads on. */
            x->lineno++;
            acl_err(x, (size_t)(cr - p) + 1,
                    "carriage return (CR) inside a line: CR is allowed only right before the "
                    "line's LF");
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
    /* Rules may come from several files (acl, then acl.d/NAME): each takes the next lines. */
    if (kind == ENGINE_ACL_FILE_ACL) {
        x->base = a->nextbase;
        for (size_t i = 0; i < a->nfile; i++)
            if (strcmp(a->file[i].name, name) == 0) {
                engine_diag_add(d, name, 0, 0, "this rules file is already loaded in this set");
                return -EEXIST;
            }
    } else if (a->loaded & (1u << kind)) {
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

struct acl_conflict {
    uint32_t line, col, other;
    uint8_t effect;
};

static int acl_conflict_cmp(const void *pa, const void *pb)
{
    const struct acl_conflict *a = pa, *b = pb;
    return a->line != b->line ? (a->line < b->line ? -1 : 1) : 0;
}

struct acl_conflicts {
    struct acl_conflict *v;
    size_t n, cap;
    int oom;
};

static void acl_conflict_note(void *arg, const struct acl_rule *r, const struct acl_rule *k)
{
    struct acl_conflicts *c = arg;

    if (engine_grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)) < 0) {
        c->oom = 1;
        return;
    }
    c->v[c->n++] = (struct acl_conflict){r->line, r->col, k->line, r->effect};
}

/* Sorts this file's rules into index order, merges duplicates and reports conflicting pairs
 * (rules of earlier files are compared with these by engine_acl_finish()). */
static int acl_rules_finish(struct acl_ctx *x)
{
    struct engine_acl *a = x->a;
    struct acl_conflicts cf = {0};

    if (acl_rules_sort(a, x->nrule0, acl_conflict_note, &cf) < 0 || cf.oom) {
        free(cf.v);
        return acl_oom(x);
    }
    if (cf.n > 1)
        qsort(cf.v, cf.n, sizeof(*cf.v), acl_conflict_cmp);
    for (size_t i = 0; i < cf.n; i++) {
        x->lineno = cf.v[i].line - x->base;
        acl_err(x, cf.v[i].col,
                "rule conflicts with line %u: same policy, subject, method and path, but '%s' "
                "here and '%s' there",
                cf.v[i].other - x->base, cf.v[i].effect ? "allow" : "deny",
                cf.v[i].effect ? "deny" : "allow");
    }
    free(cf.v);
    return 0;
}

static int acl_end(struct acl_ctx *x)
{
    struct engine_acl *a = x->a;
    int r = 0;

    free(x->ngrp);
    x->ngrp = NULL;

    /* Conflicts are reported even when other lines are wrong: every error at once. */
    if (x->kind == ENGINE_ACL_FILE_ACL)
        r = acl_rules_finish(x);
    if (x->errors == 0 && r == 0) {
        a->loaded |= 1u << x->kind;
        if (x->kind == ENGINE_ACL_FILE_ACL) {
            uint32_t base;
            if (acl_file_add(a, x->name, x->lineno, &base) < 0 || acl_run_add(a, x->nrule0) < 0)
                return -ENOMEM;
            if (x->nrule0 > 0)
                a->unsorted = 1; /* sorted per file: engine_acl_finish() sorts them together */
            else
                acl_count_policies(a);
        }
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
    free(x.ngrp); /* NULL once acl_end() ran */
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
        const char *file = "acl";
        uint32_t line = g->line;
        engine_acl_line_file(a, g->line, &file, &line);
        r = engine_diag_add(d, file, (int)line, (int)g->col,
                            "group '%s' is not defined in the groups file",
                            acl_pool_str(&a->s, g->id) + 6);
    }
    return r;
}

int engine_acl_check_groups_of(const struct engine_acl *people, const struct engine_acl *part,
                               const char *path, struct engine_diag *d)
{
    int r = 0;

    for (size_t i = 0; i < part->ngref; i++) {
        const struct acl_gref *g = &part->gref[i];
        const char *name = acl_pool_str(&part->s, g->id);
        int64_t id = acl_pool_find(&people->s, name, strlen(name));
        if (id >= 0 && (people->s.flags[id] & ACL_F_GROUP))
            continue;
        r = engine_diag_add(d, path, (int)g->line, (int)g->col,
                            "group '%s' is not defined in the groups file", name + 6);
    }
    return r;
}

/* DIR/acl.d/NAME, after DIR/acl, in byte order of NAME; each named acl.d/NAME. */
static int acl_load_d(struct engine_acl *a, const char *dir, struct engine_diag *d)
{
    char **names = NULL, *sub = NULL;
    size_t n = 0;
    int r, e;

    if (asprintf(&sub, "%s/acl.d", dir) < 0)
        return -ENOMEM;
    r = engine_acl_d_list(sub, &names, &n, d);
    for (size_t i = 0; i < n; i++) {
        char *path = NULL, *name = NULL;
        if (r != -ENOMEM && (asprintf(&path, "%s/%s", sub, names[i]) < 0 ||
                             asprintf(&name, "acl.d/%s", names[i]) < 0))
            r = -ENOMEM;
        if (r != -ENOMEM && (e = engine_acl_load_file(a, ENGINE_ACL_FILE_ACL, path, name, d)) < 0)
            r = e == -ENOMEM ? e : -EINVAL;
        free(path);
        free(name);
        free(names[i]);
    }
    free(names);
    free(sub);
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
        if (access(path, F_OK) != 0 && errno == ENOENT)
            e = 0;
        else
            e = engine_acl_load_file(a, order[i], path, base, d);
        free(path);
        if (e == -ENOMEM)
            return e;
        if (e < 0)
            r = -EINVAL;
        if (order[i] == ENGINE_ACL_FILE_ACL && (e = acl_load_d(a, dir, d)) < 0) {
            if (e == -ENOMEM)
                return e;
            r = -EINVAL;
        }
    }
    if (r == 0 && (a->loaded & (1u << ENGINE_ACL_FILE_ACL)) && (r = engine_acl_finish(a, d)) == 0)
        r = engine_acl_check_groups(a, d);
    if (r == 0)
        engine_acl_seal(a);
    return r;
}

int engine_acl_rule_format(char *buf, size_t size, const struct engine_acl_rule_view *v)
{
    return snprintf(buf, size, "%s %s %s %s%s %s", v->policy, v->subject, v->method, v->path,
                    v->kind == ENGINE_ACL_KIND_PREFIX ? "/*" : "", v->allow ? "allow" : "deny");
}
