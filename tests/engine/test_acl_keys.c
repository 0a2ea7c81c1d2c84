/* test_acl_keys.c — a policy's rules kept by key while its files change one at a time, or several
 * at once (engine_acl_keys_replace(): an outside commit, a rename): over
 * random files and random replacements of one file (made, changed, removed), the change is
 * refused with exactly the messages a whole load of the new files gives (a rule repeated in
 * another file with the other effect), and otherwise, applied to an index of the old rules,
 * decides every request as a whole compile of the new rules does; the counts follow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "acl_grid.h"
#include "engine/acl.h"

static const char *const pols[] = {"p", "q"};
static const char *const subjs[] = {"u0", "u1", "group:g0", "*"};
static const char *const meths[] = {"GET", "*"};
static const char *const pats[] = {"/a", "/a/*", "/a/b", "/*"};
static const char *const groups = "g0: u0 u1\n";

#define NF    4 /* files f0 .. f3 */
#define NKEYS (2 * 4 * 2 * 4)

/* A file: per key 0 absent, 1 deny, 2 allow; ABSENT: no such file. */
struct file {
    uint8_t effect[NKEYS];
    int absent;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    return acl_grid_next(&rng);
}

static const char *const names_d[NF] = {"policy/acl.d/f0", "policy/acl.d/f1", "policy/acl.d/f2",
                                        "policy/acl.d/f3"};
/* Set: file 0 is policy/acl (before every acl.d file), the file most changes edit. */
static int main0;

static const char *name_of(int i)
{
    return main0 && i == 0 ? "policy/acl" : names_d[i];
}

/* F's text, its rules in a random order, with comment lines between. */
static size_t file_text(const struct file *f, char *buf)
{
    size_t n = 0, order[NKEYS];

    for (size_t k = 0; k < NKEYS; k++)
        order[k] = k;
    for (size_t k = NKEYS - 1; k > 0; k--) {
        size_t j = next() % (k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    buf[0] = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        size_t k = order[i];
        if (f->effect[k] == 0) {
            if (next() % 4 == 0)
                n += (size_t)sprintf(buf + n, "# -\n");
            continue;
        }
        n += (size_t)sprintf(buf + n, "%s %s %s %s %s\n", pols[k / 32], subjs[k / 8 % 4],
                             meths[k / 4 % 2], pats[k % 4], f->effect[k] == 2 ? "allow" : "deny");
    }
    return n;
}

#define TEXT_MAX (NKEYS * 64 * 2)

/* TEXT parsed alone; NULL when it conflicts with itself. */
static struct engine_acl *part_of_text(const char *text)
{
    struct engine_acl *a;
    struct engine_diag d;

    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&a), 0);
    if (engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "x", text, strlen(text), &d) < 0) {
        engine_acl_free(a);
        a = NULL;
    }
    engine_diag_free(&d);
    return a;
}

/* F's rules parsed alone, its text in TEXT (empty when absent). */
static struct engine_acl *part_of(const struct file *f, char *text)
{
    text[0] = 0;
    if (f->absent)
        return NULL;
    file_text(f, text);
    return part_of_text(text);
}

/* A random rule line of F's kind: a key of F's with its effect, or any key with either effect
 * (then it may conflict, with the file itself or another). */
static size_t rule_line(const struct file *f, char *out)
{
    size_t k = next() % NKEYS;
    int allow = f->effect[k] != 0 && next() % 4 != 0 ? f->effect[k] == 2 : (int)(next() % 2);

    return (size_t)sprintf(out, "%s %s %s %s %s\n", pols[k / 32], subjs[k / 8 % 4],
                           meths[k / 4 % 2], pats[k % 4], allow ? "allow" : "deny");
}

/* OLD with a block of its lines replaced by a few others (rules, a comment, a blank, a
 * repeated line), as an editor's change does; into OUT. */
static void edit_text(const struct file *f, const char *old, char *out)
{
    const char *line[NKEYS * 2 + 1];
    size_t n = 0, len = 0;

    for (const char *s = old; *s; s = strchr(s, '\n') + 1)
        line[n++] = s;
    if (n > 1 && next() % 3 == 0) {
        /* One line moved elsewhere: the rules stay, their lines change. */
        size_t a = next() % n, b = next() % n;
        for (size_t i = 0; i < n; i++) {
            size_t at = a < b ? (i < a || i > b ? i
                                 : i == b       ? a
                                                : i + 1)
                              : (i < b || i > a ? i
                                 : i == b       ? a
                                                : i - 1);
            len += (size_t)sprintf(out + len, "%.*s", (int)(strchr(line[at], '\n') - line[at] + 1),
                                   line[at]);
        }
        out[len] = 0;
        return;
    }
    size_t from = next() % (n + 1), to = from + next() % (n - from + 1);
    for (size_t i = 0; i < from; i++)
        len +=
            (size_t)sprintf(out + len, "%.*s", (int)(strchr(line[i], '\n') - line[i] + 1), line[i]);
    for (size_t j = 0, m = next() % 4; j < m; j++) {
        unsigned what = (unsigned)(next() % 6);
        if (what == 0)
            len += (size_t)sprintf(out + len, "# edit\n");
        else if (what == 1)
            len += (size_t)sprintf(out + len, "\n");
        else if (what == 2 && n > 0) {
            const char *r = line[next() % n];
            len += (size_t)sprintf(out + len, "%.*s", (int)(strchr(r, '\n') - r + 1), r);
        } else
            len += rule_line(f, out + len);
    }
    for (size_t i = to; i < n; i++)
        len +=
            (size_t)sprintf(out + len, "%.*s", (int)(strchr(line[i], '\n') - line[i] + 1), line[i]);
    out[len] = 0;
}

/* The files PARTS together as a whole load makes them: 0, or -EINVAL with D filled. */
static int whole(struct engine_acl **out, struct engine_acl *const parts[NF], struct engine_diag *d)
{
    struct engine_acl *a;
    int r;

    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(
        engine_acl_parse(a, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), NULL), 0);
    for (int i = 0; i < NF; i++)
        if (parts[i] != NULL)
            assert_int_equal(engine_acl_add_rules(a, parts[i], name_of(i), NULL), 0);
    r = engine_acl_finish(a, d);
    *out = a;
    return r;
}

/* D's messages, one a line, sorted: the order two ways of finding them report in may differ. */
static char *sorted(const struct engine_diag *d)
{
    char *text = engine_diag_join(d), *lines[256], *out;
    size_t n = 0, len = 0;

    for (char *s = strtok(text, "\n"); s != NULL && n < 256; s = strtok(NULL, "\n"))
        lines[n++] = s;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *t = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = t;
        }
    out = calloc(1, 256 * 200);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(out + len, "%s\n", lines[i]);
    free(text);
    return out;
}

static const char *const rq_users[] = {"", "u0", "u1", "u9"};
static const char *const rq_meths[] = {"GET", "POST"};
static const char *const rq_paths[] = {"/a", "/a/x", "/a/b", "/b", "/"};

static const struct acl_grid grid = {pols, rq_users, rq_meths, rq_paths, 2, 4, 2, 5};

/* WANT compiled whole and the layers of X decide every request alike. */
static void same_decisions(const struct engine_acl *want, const struct engine_acl_index *x)
{
    struct engine_acl_blob f;
    struct engine_acl_layers l;
    void *blob;
    size_t len;

    assert_int_equal(engine_acl_compile(&blob, &len, want, NULL, 9), 0);
    assert_int_equal(engine_acl_blob_open(&f, blob, len, NULL), 0);
    engine_acl_index_layers(x, &l);
    acl_grid_same(&grid, &f, &l);
    free(blob);
}

/* A valid start: every file takes some keys of one global choice of effects. */
static void random_start(struct file f[NF])
{
    uint8_t global[NKEYS];

    for (size_t k = 0; k < NKEYS; k++)
        global[k] = (uint8_t)(1 + next() % 2);
    for (int i = 0; i < NF; i++) {
        f[i].absent = next() % 5 == 0;
        for (size_t k = 0; k < NKEYS; k++)
            f[i].effect[k] = next() % 3 == 0 ? global[k] : 0;
    }
}

static void test_keys_random_changes_match_whole_load(void **state)
{
    (void)state;
    int refused = 0, taken = 0, edits = 0;

    for (int round = 0; round < 100; round++) {
        struct file f[NF];
        struct engine_acl *parts[NF], *old = NULL;
        struct engine_acl_keys *k;
        static char text[NF][TEXT_MAX], ntext[TEXT_MAX];

        random_start(f);
        for (int i = 0; i < NF; i++)
            parts[i] = part_of(&f[i], text[i]);
        assert_int_equal(whole(&old, parts, NULL), 0);
        assert_int_equal(engine_acl_keys_new(&k), 0);
        for (int i = 0; i < NF; i++)
            if (parts[i] != NULL)
                assert_int_equal(
                    engine_acl_keys_set(k, name_of(i), main0 && i == 0, parts[i], NULL), 0);
        /* Changes one after the other, each of one file: made, changed (a few keys flipped,
         * added, dropped) or removed; a refused one leaves the files as they were. */
        for (int step = 0; step < 6; step++) {
            struct engine_acl *neu = NULL, *np, *nparts[NF];
            struct engine_acl_keys_change *c = NULL, *c0 = NULL;
            struct engine_acl_index *x;
            struct engine_diag dw, dk, d0;
            struct engine_acl_stats st;
            struct engine_acl_lines lines;
            int ch = main0 && next() % 4 != 0 ? 0 : (int)(next() % NF), rw, rk,
                edit = parts[ch] != NULL && next() % 2, m = main0 && ch == 0;
            struct file nf = f[ch];
            if (edit) {
                /* A block of lines edited: only their rules are looked at. */
                do
                    edit_text(&f[ch], text[ch], ntext);
                while ((np = part_of_text(ntext)) == NULL); /* refused alone: another */
            } else {
                nf.absent = next() % 6 == 0;
                for (size_t j = 0, n = 1 + next() % 4; j < n; j++)
                    nf.effect[next() % NKEYS] = (uint8_t)(next() % 3);
                np = part_of(&nf, ntext);
            }
            engine_acl_lines_changed(&lines, text[ch], strlen(text[ch]), ntext, strlen(ntext));
            memcpy(nparts, parts, sizeof(nparts));
            nparts[ch] = np;
            engine_diag_init(&dw);
            engine_diag_init(&dk);
            engine_diag_init(&d0);
            rw = whole(&neu, nparts, &dw);
            rk = engine_acl_keys_diff(k, name_of(ch), m, np, &lines, &c, &dk);
            assert_int_equal(rk, rw);
            /* Every rule looked at finds the same. */
            assert_int_equal(engine_acl_keys_diff(k, name_of(ch), m, np, NULL, &c0, &d0), rw);
            if (rw == 0)
                assert_int_equal(engine_acl_keys_change_count(c), engine_acl_keys_change_count(c0));
            engine_acl_keys_change_free(c0);
            engine_diag_free(&d0);
            if (rw < 0) {
                char *a = sorted(&dw), *b = sorted(&dk);
                assert_string_equal(b, a);
                free(a);
                free(b);
                refused++;
                engine_acl_free(np);
                engine_acl_free(neu);
            } else {
                /* The change on an index of the old rules decides as the new rules do. */
                size_t rules, policies;
                assert_int_equal(engine_acl_index_new(&x, old, NULL, 1), 0);
                int r = engine_acl_index_apply_keys(x, c, 2);
                assert_true(r == 0 || (r == -EINVAL && engine_acl_keys_change_count(c) == 0));
                same_decisions(neu, x);
                engine_acl_index_free(x);
                engine_acl_stats_get(neu, &st);
                engine_acl_keys_stats(k, c, &rules, &policies);
                assert_int_equal(rules, st.rules);
                for (int p = 0; p < 2; p++)
                    assert_int_equal(engine_acl_keys_has_policy(k, name_of(ch), np, pols[p]),
                                     engine_acl_has_policy(neu, pols[p]));
                /* Held, the new file is what the next change is compared with. */
                assert_int_equal(engine_acl_keys_set(k, name_of(ch), m, np, &lines), 0);
                engine_acl_keys_stats(k, NULL, &rules, &policies);
                assert_int_equal(rules, st.rules);
                for (int p = 0; p < 2; p++)
                    assert_int_equal(engine_acl_keys_has_policy(k, NULL, NULL, pols[p]),
                                     engine_acl_has_policy(neu, pols[p]));
                engine_acl_free(parts[ch]);
                parts[ch] = np;
                f[ch] = nf;
                strcpy(text[ch], ntext);
                edits += edit;
                engine_acl_free(old);
                old = neu;
                taken++;
            }
            engine_acl_keys_change_free(c);
            engine_diag_free(&dw);
            engine_diag_free(&dk);
        }
        engine_acl_keys_free(k);
        engine_acl_free(old);
        for (int i = 0; i < NF; i++)
            engine_acl_free(parts[i]);
    }
    /* Both outcomes were seen often. */
    assert_true(refused > 30 && taken > 30 && edits > 20);
}

/* Several files changed at once (engine_acl_keys_replace()): some made, changed, removed, or one
 * renamed (removed, and made under another name with its rules); refused exactly when a whole
 * load of the new files is, K then as it was; otherwise the merged change, applied to an index of
 * the old rules, decides as the new rules do, and K holds them. */
static void test_keys_several_files_match_whole_load(void **state)
{
    (void)state;
    int refused = 0, taken = 0, renamed = 0;

    for (int round = 0; round < 100; round++) {
        struct file f[NF];
        struct engine_acl *parts[NF], *old = NULL;
        struct engine_acl_keys *k;
        static char text[NF][TEXT_MAX];
        int edited_text[NF] = {0};

        random_start(f);
        for (int i = 0; i < NF; i++)
            parts[i] = part_of(&f[i], text[i]);
        assert_int_equal(whole(&old, parts, NULL), 0);
        assert_int_equal(engine_acl_keys_new(&k), 0);
        for (int i = 0; i < NF; i++)
            if (parts[i] != NULL)
                assert_int_equal(
                    engine_acl_keys_set(k, name_of(i), main0 && i == 0, parts[i], NULL), 0);
        for (int step = 0; step < 6; step++) {
            struct file nf[NF];
            struct engine_acl *neu = NULL, *nparts[NF];
            const struct engine_acl *cparts[NF];
            const char *paths[NF];
            struct engine_acl_keys_change *c = NULL;
            struct engine_acl_stats st;
            struct engine_diag dw, dk;
            size_t n = 0, rules, policies, before;
            int rw, rk, from = (int)(next() % NF), to = (int)((from + 1 + next() % (NF - 1)) % NF),
                        pure = 0, bylines = next() % 4 != 0, edited[NF] = {0};
            static char ntext[NF][TEXT_MAX];
            struct engine_acl_lines lv[NF];
            const struct engine_acl_lines *lp[NF];

            memcpy(nf, f, sizeof(nf));
            /* A file whose text was edited no longer is F's: renamed, it would change rules. */
            if (!f[from].absent && !edited_text[from] && next() % 3 == 0) { /* FROM renamed TO */
                pure = f[to].absent; /* onto no file: the rules in force stay */
                nf[to] = f[from];
                nf[from].absent = 1;
                renamed++;
            } else {
                for (int i = 0; i < NF; i++) {
                    if (next() % 2)
                        continue;
                    if (parts[i] != NULL && next() % 3 == 0) {
                        edited[i] = 1; /* a block of its lines edited, as in an editor */
                        continue;
                    }
                    nf[i].absent = next() % 6 == 0;
                    for (size_t j = 0, m = 1 + next() % 4; j < m; j++)
                        nf[i].effect[next() % NKEYS] = (uint8_t)(next() % 3);
                }
            }
            for (int i = 0; i < NF; i++) {
                nparts[i] = parts[i];
                if (edited[i]) {
                    edit_text(&f[i], text[i], ntext[i]);
                    if ((nparts[i] = part_of_text(ntext[i])) == NULL) {
                        nparts[i] = parts[i]; /* refused alone: left as it was */
                        continue;
                    }
                } else if (memcmp(&nf[i], &f[i], sizeof(nf[i])) == 0) {
                    continue;
                } else {
                    nparts[i] = part_of(&nf[i], ntext[i]);
                    if (!nf[i].absent && nparts[i] == NULL) { /* refused alone: as it was */
                        nf[i] = f[i], nparts[i] = parts[i];
                        continue;
                    }
                }
                lp[n] = NULL;
                if (parts[i] != NULL && nparts[i] != NULL) {
                    engine_acl_lines_changed(&lv[n], text[i], strlen(text[i]), ntext[i],
                                             strlen(ntext[i]));
                    lp[n] = &lv[n];
                }
                paths[n] = name_of(i), cparts[n++] = nparts[i];
            }
            engine_diag_init(&dw);
            engine_diag_init(&dk);
            engine_acl_keys_stats(k, NULL, &before, &policies);
            rw = whole(&neu, nparts, &dw);
            rk = engine_acl_keys_replace(k, paths, cparts, bylines ? lp : NULL, n,
                                         main0 && n > 0 && paths[0] == name_of(0), &c, &dk);
            assert_int_equal(rk, rw);
            if (rw < 0) {
                assert_true(dk.n > 0);
                engine_acl_keys_stats(k, NULL, &rules, &policies);
                assert_int_equal(rules, before); /* K as it was */
                refused++;
                for (int i = 0; i < NF; i++)
                    if (nparts[i] != parts[i])
                        engine_acl_free(nparts[i]);
                engine_acl_free(neu);
            } else {
                struct engine_acl_index *x;
                assert_int_equal(engine_acl_index_new(&x, old, NULL, 1), 0);
                int r = engine_acl_index_apply_keys(x, c, 2);
                assert_true(r == 0 || (r == -EINVAL && engine_acl_keys_change_count(c) == 0));
                same_decisions(neu, x);
                engine_acl_index_free(x);
                /* A rename's rules are removed and added back: the merge drops both. */
                if (pure)
                    assert_int_equal(engine_acl_keys_change_count(c), 0);
                engine_acl_stats_get(neu, &st);
                engine_acl_keys_stats(k, NULL, &rules, &policies);
                assert_int_equal(rules, st.rules);
                for (int p = 0; p < 2; p++)
                    assert_int_equal(engine_acl_keys_has_policy(k, NULL, NULL, pols[p]),
                                     engine_acl_has_policy(neu, pols[p]));
                for (int i = 0; i < NF; i++)
                    if (nparts[i] != parts[i]) {
                        engine_acl_free(parts[i]);
                        parts[i] = nparts[i];
                        strcpy(text[i], ntext[i]); /* what the next lines are found against */
                        edited_text[i] = edited[i];
                    }
                memcpy(f, nf, sizeof(f));
                engine_acl_free(old);
                old = neu;
                taken++;
            }
            engine_acl_keys_change_free(c);
            engine_diag_free(&dw);
            engine_diag_free(&dk);
        }
        engine_acl_keys_free(k);
        engine_acl_free(old);
        for (int i = 0; i < NF; i++)
            engine_acl_free(parts[i]);
    }
    assert_true(refused > 30 && taken > 30 && renamed > 20);
}

/* The same two over edits of policy/acl itself (the file before every acl.d file; what the mount
 * checks by its changed lines since a write of policy/acl no longer puts the policy together
 * whole): lines inserted, removed, moved, replaced in the middle, repeated, rules that another
 * pattern shadows; the change by lines equals the whole load's refusal or its decisions. */
static void test_keys_main_edits_match_whole_load(void **state)
{
    main0 = 1;
    test_keys_random_changes_match_whole_load(state);
    test_keys_several_files_match_whole_load(state);
    main0 = 0;
}

/* The changed block of lines between two texts: the lines before and after it are the same. */
static void test_keys_lines_changed(void **state)
{
    static const struct {
        const char *old, *neu;
        struct engine_acl_lines want;
    } cases[] = {
        {"a\nb\nc\n", "a\nb\nc\nd\n", {4, UINT32_MAX, UINT32_MAX}}, /* appended */
        {"a\nb\nc\nd\n", "a\nb\nc\n", {4, UINT32_MAX, UINT32_MAX}}, /* the last removed */
        {"a\nb\nc\n", "a\nx\nb\nc\n", {2, 2, 3}},                   /* inserted */
        {"a\nb\nc\n", "a\nc\n", {2, 3, 2}},                         /* removed */
        {"a\nb\nc\n", "a\nB\nc\n", {2, 3, 3}},                      /* replaced */
        {"a\nbc\nd\n", "a\nbbc\nd\n", {2, 3, 3}},                   /* inside a line */
        {"a\nb", "a\nb\nc\n", {2, UINT32_MAX, UINT32_MAX}},         /* no last newline */
        {"x\nx\nx\n", "x\nx\nx\nx\n", {4, UINT32_MAX, UINT32_MAX}}, /* repeats */
        {"", "a\n", {1, UINT32_MAX, UINT32_MAX}},
        {"a\n", "a\n", {2, UINT32_MAX, UINT32_MAX}},
        {"b\nc\n", "a\nb\nc\n", {1, 1, 2}}, /* prepended */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct engine_acl_lines l;
        engine_acl_lines_changed(&l, cases[i].old, strlen(cases[i].old), cases[i].neu,
                                 strlen(cases[i].neu));
        if (l.lo != cases[i].want.lo || l.old_end != cases[i].want.old_end ||
            l.new_end != cases[i].want.new_end)
            fail_msg("case %zu: %u %u %u", i, l.lo, l.old_end, l.new_end);
    }
}

static void test_keys_groups_of(void **state)
{
    struct engine_acl *people, *part;
    struct engine_diag d;
    const char *text = "p group:g0 GET /a allow\n# x\np group:g9 GET /b deny\n";
    char *msg;

    (void)state;
    engine_diag_init(&d);
    assert_int_equal(engine_acl_new(&people), 0);
    assert_int_equal(
        engine_acl_parse(people, ENGINE_ACL_FILE_GROUPS, "groups", groups, strlen(groups), NULL),
        0);
    assert_int_equal(engine_acl_new(&part), 0);
    assert_int_equal(engine_acl_parse(part, ENGINE_ACL_FILE_ACL, "x", text, strlen(text), NULL), 0);
    assert_int_equal(engine_acl_check_groups_of(people, part, "policy/acl.d/x", &d), -EINVAL);
    msg = engine_diag_join(&d);
    assert_non_null(
        strstr(msg, "policy/acl.d/x:3:3: error: group 'g9' is not defined in the groups file"));
    free(msg);
    engine_diag_free(&d);
    engine_acl_free(people);
    engine_acl_free(part);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_random_changes_match_whole_load),
        cmocka_unit_test(test_keys_several_files_match_whole_load),
        cmocka_unit_test(test_keys_main_edits_match_whole_load),
        cmocka_unit_test(test_keys_lines_changed),
        cmocka_unit_test(test_keys_groups_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
