/* acl_files.c — a rule set made of several rules files (acl, then acl.d/NAME in byte order of
 * NAME): their shared line space, rules parsed alone and added to a set, and the final sort
 * that compares the rules of different files. */
#include "acl_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int acl_file_add(struct engine_acl *a, const char *name, uint32_t lines, uint32_t *base)
{
    struct acl_file *f;

    if ((uint64_t)a->nextbase + lines >= ENGINE_ACL_LINE_MAX)
        return -E2BIG;
    if (engine_grow((void **)&a->file, &a->filecap, a->nfile + 1, sizeof(*a->file)) < 0)
        return -ENOMEM;
    f = &a->file[a->nfile];
    if ((f->name = strdup(name)) == NULL)
        return -ENOMEM;
    f->base = *base = a->nextbase;
    a->nfile++;
    /* One line more than the file has: the next file's line 1 never equals this one's last. */
    a->nextbase += lines + 1;
    return 0;
}

int engine_acl_line_file(const struct engine_acl *a, uint32_t line, const char **file,
                         uint32_t *local)
{
    size_t lo = 0, hi = a->nfile;

    /* The last file whose base is below LINE (bases grow with the files). */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->file[mid].base < line)
            lo = mid;
        else
            hi = mid;
    }
    if (a->nfile == 0)
        return -ENOENT;
    *file = a->file[lo].name;
    *local = line - a->file[lo].base;
    return 0;
}

int acl_rule_cmp(const void *pa, const void *pb)
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

void acl_count_policies(struct engine_acl *a)
{
    a->npolicy = 0;
    for (size_t i = 0; i < a->nrule; i++)
        if (i == 0 || a->rule[i].policy != a->rule[i - 1].policy)
            a->npolicy++;
}

int acl_run_add(struct engine_acl *a, size_t from)
{
    if (engine_grow((void **)&a->run, &a->runcap, a->nrun + 1, sizeof(*a->run)) < 0)
        return -ENOMEM;
    a->run[a->nrun++] = from;
    return 0;
}

/* Merges duplicates of the sorted rules from FROM on (see acl_rules_sort()). */
static size_t acl_rules_merge_dups(struct engine_acl *a, size_t from, acl_conflict_fn fn, void *arg)
{
    size_t w = from;

    for (size_t i = from; i < a->nrule; i++) {
        struct acl_rule *r = &a->rule[i];
        if (w > from) {
            struct acl_rule *k = &a->rule[w - 1];
            if (k->policy == r->policy && k->path == r->path && k->kind == r->kind &&
                k->subject == r->subject && k->method == r->method) {
                /* Same rule: the earlier line stays; the other effect is a conflict. */
                if (k->effect != r->effect)
                    fn(arg, r, k);
                continue;
            }
        }
        a->rule[w++] = *r;
    }
    a->nrule = w;
    return w;
}

int acl_rules_sort(struct engine_acl *a, size_t from, acl_conflict_fn fn, void *arg)
{
    size_t w;

    /* A file's rules are most often in order already (a new string gets the next id, and a
     * generated file names its paths in order): a pass that finds them so spares the sort. */
    for (size_t i = from + 1; i < a->nrule; i++)
        if (acl_rule_cmp(&a->rule[i - 1], &a->rule[i]) > 0) {
            qsort(a->rule + from, a->nrule - from, sizeof(*a->rule), acl_rule_cmp);
            break;
        }
    w = acl_rules_merge_dups(a, from, fn, arg);
    return (int)(w > INT32_MAX ? INT32_MAX : w);
}

/* Sorts the rules by merging the files' sorted runs pairwise (O(N log files), where a sort of
 * all would be O(N log N)), then merges duplicates. Returns 0 or -ENOMEM. */
static int acl_rules_merge_runs(struct engine_acl *a, acl_conflict_fn fn, void *arg)
{
    struct acl_rule *src = a->rule, *dst;
    size_t n = a->nrule, nrun = a->nrun;

    if (n > 1 && nrun > 1) {
        if ((dst = malloc(n * sizeof(*dst))) == NULL)
            return -ENOMEM;
        while (nrun > 1) {
            size_t k = 0;
            for (size_t r = 0; r < nrun; r += 2, k++) {
                size_t lo = a->run[r], mid = r + 1 < nrun ? a->run[r + 1] : n;
                size_t hi = r + 2 < nrun ? a->run[r + 2] : n, i = lo, j = mid, o = lo;
                while (i < mid && j < hi)
                    dst[o++] = acl_rule_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
                memcpy(dst + o, src + i, (mid - i) * sizeof(*dst));
                o += mid - i;
                memcpy(dst + o, src + j, (hi - j) * sizeof(*dst));
                a->run[k] = lo;
            }
            nrun = k;
            struct acl_rule *t = src;
            src = dst;
            dst = t;
        }
        /* SRC holds the merged rules: keep it as the rules array (same size). */
        if (src != a->rule) {
            free(a->rule);
            a->rule = src;
            a->rulecap = n;
        } else {
            free(dst);
        }
    }
    /* All of them are one sorted run now (a file parsed later adds its own). */
    a->nrun = a->runcap > 0 ? 1 : 0;
    if (a->nrun > 0)
        a->run[0] = 0;
    acl_rules_merge_dups(a, 0, fn, arg);
    return 0;
}

int engine_acl_reserve(struct engine_acl *a, const struct engine_acl *const *parts, size_t n)
{
    size_t rules = a->nrule, strings = a->s.n, bytes = a->s.len;

    for (size_t i = 0; i < n; i++)
        if (parts[i] != NULL) {
            rules += parts[i]->nrule;
            strings += parts[i]->s.n;
            bytes += parts[i]->s.len;
        }
    if (acl_pool_reserve(&a->s, strings, bytes) < 0 ||
        engine_grow((void **)&a->rule, &a->rulecap, rules, sizeof(*a->rule)) < 0)
        return -ENOMEM;
    return 0;
}

int engine_acl_add_rules(struct engine_acl *a, const struct engine_acl *part, const char *name,
                         struct engine_diag *d)
{
    uint32_t *remap = NULL, base, last;
    size_t nrule0 = a->nrule;
    int r = -ENOMEM;

    if (part->nfile > 1 || part->ngroup > 0 || part->ncred > 0)
        return -EINVAL;
    /* The file's own line count, as parsing it into A would take: the same lines, the same
     * blob. */
    last = part->nfile == 1 ? part->nextbase - 1 : 0;
    if ((remap = malloc((part->s.n + 1) * sizeof(*remap))) == NULL)
        goto fail;
    /* Each string of PART once into A's pool, then the rules by their new ids. */
    for (size_t i = 0; i < part->s.n; i++) {
        const char *s = acl_pool_str(&part->s, (uint32_t)i);
        int64_t id = acl_pool_intern(&a->s, s, strlen(s));
        if (id < 0)
            goto fail;
        remap[i] = (uint32_t)id;
    }
    /* Room for everything first: once the file is added, nothing fails. */
    if (engine_grow((void **)&a->rule, &a->rulecap, a->nrule + part->nrule, sizeof(*a->rule)) < 0 ||
        engine_grow((void **)&a->gref, &a->grefcap, a->ngref + part->ngref + 1, sizeof(*a->gref)) <
            0 ||
        engine_grow((void **)&a->run, &a->runcap, a->nrun + 1, sizeof(*a->run)) < 0)
        goto fail;
    if ((r = acl_file_add(a, name, last, &base)) < 0) {
        if (r == -E2BIG)
            engine_diag_add(d, name, 0, 0, "more than %u lines in the rules files together",
                            ENGINE_ACL_LINE_MAX - 1);
        goto fail;
    }
    for (size_t i = 0; i < part->nrule; i++) {
        struct acl_rule ru = part->rule[i];
        ru.policy = remap[ru.policy];
        ru.path = remap[ru.path];
        ru.subject = remap[ru.subject];
        ru.method = remap[ru.method];
        ru.line += base;
        a->rule[a->nrule++] = ru;
    }
    for (size_t i = 0; i < part->ngref; i++) {
        struct acl_gref g = part->gref[i];
        g.id = remap[g.id];
        if (a->s.flags[g.id] & ACL_F_GREF)
            continue;
        a->s.flags[g.id] |= ACL_F_GREF;
        g.line += base;
        a->gref[a->ngref++] = g;
    }
    /* Sorted by PART's string ids: most often in A's order too (new strings keep their
     * order); sorted here when not. */
    for (size_t i = nrule0 + 1; i < a->nrule; i++)
        if (acl_rule_cmp(&a->rule[i - 1], &a->rule[i]) > 0) {
            qsort(a->rule + nrule0, a->nrule - nrule0, sizeof(*a->rule), acl_rule_cmp);
            break;
        }
    a->run[a->nrun++] = nrule0;
    a->loaded |= 1u << ENGINE_ACL_FILE_ACL;
    a->unsorted = 1;
    free(remap);
    return 0;
fail:
    free(remap);
    return r;
}

struct acl_cross {
    const struct engine_acl *a;
    struct engine_diag *d;
    int oom;
};

/* A rule of a later file that repeats a rule of an earlier one with the other effect. */
static void acl_cross_conflict(void *arg, const struct acl_rule *r, const struct acl_rule *k)
{
    struct acl_cross *x = arg;
    const char *rf = "acl", *kf = "acl";
    uint32_t rl = r->line, kl = k->line;

    engine_acl_line_file(x->a, r->line, &rf, &rl);
    engine_acl_line_file(x->a, k->line, &kf, &kl);
    if (engine_diag_add(x->d, rf, (int)rl, (int)r->col,
                        "rule conflicts with %s:%u: same policy, subject, method and path, but "
                        "'%s' here and '%s' there",
                        kf, kl, r->effect ? "allow" : "deny",
                        r->effect ? "deny" : "allow") == -ENOMEM)
        x->oom = 1;
}

int engine_acl_finish(struct engine_acl *a, struct engine_diag *d)
{
    struct acl_cross x = {a, d, 0};
    size_t errors = d != NULL ? d->n : 0;
    int r;

    if (a->unsorted) {
        /* Each file's rules are sorted with that file's own duplicates merged; merging the
         * files compares rules of different files (the earlier file's line stays). */
        if (acl_rules_merge_runs(a, acl_cross_conflict, &x) < 0 || x.oom)
            return -ENOMEM;
        a->unsorted = 0;
        acl_count_policies(a);
    }
    r = d != NULL && d->n > errors ? -EINVAL : 0;
    return r;
}

int engine_acl_d_name(const char *name)
{
    size_t n = strlen(name);

    /* What editors and tools leave beside a file is never a rules file (sudoers.d skips the
     * same): hidden names, backups, swap and temporary files. */
    if (n == 0 || name[0] == '.' || name[n - 1] == '~' ||
        (n > 1 && name[0] == '#' && name[n - 1] == '#') ||
        (n > 4 && (strcmp(name + n - 4, ".tmp") == 0 || strcmp(name + n - 4, ".swp") == 0)))
        return 1;
    if (n > ENGINE_ACL_NAME_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return -EINVAL;
    }
    return name[0] == '-' ? -EINVAL : 0;
}

int engine_acl_d_entry(const char *path, const char *name, int is_dir, int is_link,
                       struct engine_diag *d)
{
    int kind = engine_acl_d_name(name);
    if (kind == 1 && !is_dir)
        return 1; /* an editor's leftover committed from outside: never rules */
    if (!is_dir && !is_link && kind == 0)
        return 0;
    return engine_diag_add(
        d, path, 0, 0, "not a rules file: %s",
        is_dir    ? "a directory; a rules file is a plain file of policy/acl.d (fs/MOUNT.md): "
                    "remove it"
        : is_link ? "a symbolic link; a rules file is a plain file (fs/MOUNT.md): commit the "
                    "file itself"
                  : "a file of policy/acl.d is named with 1 to 64 characters of [A-Za-z0-9._-], "
                    "not starting with '.' or '-' (fs/MOUNT.md); rename or remove it");
}

static int acl_d_cmp(const void *pa, const void *pb)
{
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

int engine_acl_d_list(const char *dir, char ***out, size_t *n, struct engine_diag *d)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t cap = 0, k = 0;
    int r = 0;

    *out = NULL;
    *n = 0;
    if (dh == NULL)
        return errno == ENOENT ? 0
                               : engine_diag_add(d, dir, 0, 0, "cannot read: %s", strerror(errno));
    while ((e = readdir(dh)) != NULL) {
        int ok = engine_acl_d_name(e->d_name);
        if (ok == 1)
            continue;
        if (ok < 0) {
            r = engine_diag_add(d, dir, 0, 0,
                                "'%s' is not a rules file name: 1 to 64 characters from "
                                "[A-Za-z0-9._-], not starting with '.' or '-'",
                                e->d_name);
            continue;
        }
        if (engine_grow((void **)&v, &cap, k + 1, sizeof(*v)) < 0 ||
            (v[k] = strdup(e->d_name)) == NULL) {
            r = -ENOMEM;
            break;
        }
        k++;
    }
    closedir(dh);
    if (r < 0) {
        for (size_t i = 0; i < k; i++)
            free(v[i]);
        free(v);
        return r;
    }
    /* Byte order of the names (strcmp), whatever the locale: the order rules are read in. */
    if (k > 1)
        qsort(v, k, sizeof(*v), acl_d_cmp);
    *out = v;
    *n = k;
    return 0;
}

int engine_acl_add_parts(struct engine_acl *a, const struct engine_acl *const *parts,
                         const char *const *names, size_t n, struct engine_diag *d)
{
    int r = engine_acl_reserve(a, parts, n);

    for (size_t i = 0; i < n && r == 0; i++)
        if (parts[i] != NULL)
            r = engine_acl_add_rules(a, parts[i], names[i], d);
    if (r < 0)
        return r == -ENOMEM ? r : -EINVAL;
    return engine_acl_finish(a, d);
}
