/* test_orch_want.c — the orchestrator's copy of the desired state: every level of every node,
 * policies compiled once and versioned only when their rules change. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <time.h>

#include "orch/orch_int.h"

#define TOPO "tests/builder/e2e/topology.yaml"
#define POL  "mount-examples/policy"

struct fx {
    struct engine_topology *t;
    struct engine_topology_state *st;
    struct engine_topology_derived *x;
    struct engine_acl *acl;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct engine_diag d = {0};

    assert_non_null(f);
    assert_int_equal(engine_topology_load_file(&f->t, TOPO, &d), 0);
    assert_int_equal(engine_topology_state_new(&f->st, f->t), 0);
    assert_int_equal(engine_topology_derive(&f->x, f->t, f->st, ENGINE_TARGET_SPT, &d), 0);
    assert_int_equal(engine_acl_new(&f->acl), 0);
    assert_int_equal(engine_acl_load_dir(f->acl, POL, &d), 0);
    engine_diag_free(&d);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    engine_topology_derived_free(f->x);
    engine_topology_state_free(f->st);
    engine_topology_free(f->t);
    engine_acl_free(f->acl);
    free(f);
    return 0;
}

/* An ACL of POL with one more rule of policy `regular` (groups, credentials and `restricted`
 * unchanged). */
static struct engine_acl *acl_with_extra_rule(void)
{
    static const char extra[] = "regular * GET /secret/* deny\n";
    struct engine_acl *a = NULL;
    struct engine_diag d = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(POL "/acl", "r");

    assert_non_null(f);
    assert_int_equal(engine_acl_new(&a), 0);
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fputs(extra, m);
    fclose(m);
    fclose(f);
    assert_int_equal(engine_acl_load_file(a, ENGINE_ACL_FILE_GROUPS, POL "/groups", "groups", &d),
                     0);
    assert_int_equal(
        engine_acl_load_file(a, ENGINE_ACL_FILE_CREDENTIALS, POL "/credentials", "credentials", &d),
        0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", buf, len, &d), 0);
    free(buf);
    engine_diag_free(&d);
    return a;
}

static void test_orch_want_copies_every_level(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "abc", "alice", "web: x"};
    struct orch_want *w = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&w, &want, NULL, 7, NULL, &d), 0);
    struct orch_want_node *web = orch_want_node(w, "web");
    assert_non_null(web);
    assert_non_null(orch_want_node(w, "portal"));
    assert_null(orch_want_node(w, "nobody"));
    assert_int_equal(web->nlevels, 3);
    assert_string_equal(web->levels[web->current].level, "default");
    for (size_t l = 0; l < web->nlevels; l++) {
        assert_true(web->levels[l].nmodules > 0);
        assert_non_null(web->levels[l].blob);
        assert_int_equal(web->levels[l].blob->version, 7);
    }
    /* pulled: the pull PDP's blob holds every policy */
    assert_non_null(w->pull);
    assert_string_equal(w->pull->name, ORCH_POLICY_ALL);
    assert_string_equal(w->who, "alice");
    orch_want_put(w);
    engine_diag_free(&d);
}

static void test_orch_want_reuses_unchanged_policy(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *a = NULL, *b = NULL, *c = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&a, &want, NULL, 1, NULL, &d), 0);
    /* the mount says the policy did not change: the blobs are shared, no compilation */
    want.policy_changed = 0;
    assert_int_equal(orch_want_make(&b, &want, a, 2, NULL, &d), 0);
    assert_ptr_equal(orch_want_node(b, "web")->levels[0].blob,
                     orch_want_node(a, "web")->levels[0].blob);
    /* changed but with the same rules: the version in force stays */
    want.policy_changed = 1;
    assert_int_equal(orch_want_make(&c, &want, b, 3, NULL, &d), 0);
    assert_int_equal(orch_want_node(c, "web")->levels[0].blob->version, 1);
    assert_int_equal(c->pull->version, 1);
    orch_want_put(a);
    orch_want_put(b);
    orch_want_put(c);
    engine_diag_free(&d);
}

static void test_orch_want_versions_changed_policy_only(void **state)
{
    struct fx *f = *state;
    struct engine_acl *acl2 = acl_with_extra_rule();
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *a = NULL, *b = NULL;
    struct engine_diag d = {0};

    assert_int_equal(orch_want_make(&a, &want, NULL, 1, NULL, &d), 0);
    want.acl = acl2;
    assert_int_equal(orch_want_make(&b, &want, a, 2, NULL, &d), 0);
    const struct orch_want_node *wa = orch_want_node(a, "web"), *wb = orch_want_node(b, "web");
    for (size_t l = 0; l < wb->nlevels; l++) {
        const char *pol = wb->levels[l].policy;
        assert_non_null(pol);
        if (strcmp(pol, "regular") == 0) { /* changed: a new blob at the new version */
            assert_int_equal(wb->levels[l].blob->version, 2);
            assert_ptr_not_equal(wb->levels[l].blob, wa->levels[l].blob);
        } else { /* `restricted` did not change: same blob, same version, no rebuild */
            assert_int_equal(wb->levels[l].blob->version, 1);
            assert_ptr_equal(wb->levels[l].blob, wa->levels[l].blob);
        }
    }
    assert_int_equal(b->pull->version, 2);
    orch_want_put(a);
    orch_want_put(b);
    engine_acl_free(acl2);
    engine_diag_free(&d);
}

static void test_orch_want_internal_rules_in_spec(void **state)
{
    struct fx *f = *state;
    struct orch_desired want = {f->x, f->acl, 1, "", "", ""};
    struct orch_want *w = NULL;
    struct engine_diag d = {0};
    struct builder_spec s;

    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), 0);
    const struct orch_want_node *web = orch_want_node(w, "web");
    for (size_t l = 0; l < web->nlevels; l++) {
        orch_level_spec(&s, web->name, &web->levels[l], "spt");
        assert_string_equal(s.target, "spt");
        if (web->levels[l].pdp == ENGINE_PDP_INTERNAL) {
            assert_non_null(s.acl_blob);
            assert_int_equal(s.acl_len, web->levels[l].blob->len);
        } else {
            assert_null(s.acl_blob);
        }
        assert_int_equal(builder_spec_check(&s, &d), 0);
    }
    orch_want_put(w);
    engine_diag_free(&d);
}

static void test_orch_want_missing_policy_refused(void **state)
{
    struct fx *f = *state;
    static const char acl[] = "other * GET /* allow\n";
    struct engine_acl *a = NULL;
    struct engine_diag d = {0};
    struct orch_want *w = NULL;

    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, "acl", acl, sizeof(acl) - 1, &d), 0);
    struct orch_desired want = {f->x, a, 1, "", "", ""};
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), -EINVAL);
    assert_null(w);
    assert_true(d.n > 0);
    assert_non_null(strstr(d.v[0].msg, "regular"));
    engine_acl_free(a);
    engine_diag_free(&d);
}

/* A daemon serving one host wants only the nodes placed on it, each at its host's address, and
 * knows where every other node runs. */
static void test_orch_want_one_host(void **state)
{
    static const char topo[] = "tosca_definitions_version: tosca_simple_yaml_1_3\n"
                               "unikernel_modules:\n"
                               "  ws: {http_server: , log: , dispatch: }\n"
                               "topology_template:\n"
                               "  node_templates:\n"
                               "    a: {type: Compute, attributes: {private_address: 127.0.0.2}}\n"
                               "    b: {type: Compute, attributes: {private_address: 127.0.0.3}}\n"
                               "    web:\n"
                               "      type: ws\n"
                               "      properties: {http_port: 8080}\n"
                               "      requirements: [{host: b}]\n"
                               "    api:\n"
                               "      type: ws\n"
                               "      properties: {http_port: 8080}\n"
                               "      requirements: [{host: a}]\n";
    struct fx *f = *state;
    struct engine_topology *t = NULL;
    struct engine_topology_derived *x = NULL;
    struct orch_want *w = NULL;
    struct engine_diag d = {0};

    assert_int_equal(engine_topology_load_buffer(&t, topo, strlen(topo), "t.yaml", NULL, &d), 0);
    assert_int_equal(engine_topology_derive_plans(&x, t, NULL, ENGINE_TARGET_SPT, &d), 0);
    struct orch_desired want = {x, f->acl, 1, "abc", "alice", "x"};
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, "a", &d), 0);
    assert_int_equal(w->nnodes, 1);
    assert_string_equal(w->nodes[0].name, "api");
    assert_string_equal(w->nodes[0].address, "127.0.0.2");
    assert_null(orch_want_node(w, "web"));
    assert_int_equal(w->nplaces, 2);
    assert_false(orch_want_place(w, "web")->here);
    assert_string_equal(orch_want_place(w, "web")->host, "b");
    assert_string_equal(orch_want_place(w, "web")->address, "127.0.0.3");
    assert_true(orch_want_place(w, "api")->here);
    orch_want_put(w);
    /* No host named: every node, as on one machine. */
    assert_int_equal(orch_want_make(&w, &want, NULL, 1, NULL, &d), 0);
    assert_int_equal(w->nnodes, 2);
    orch_want_put(w);
    engine_topology_derived_free(x);
    engine_topology_free(t);
    engine_diag_free(&d);
}

/* ---- a policy's new base compiled off the caller's thread ---- */

/* One version's whole rule set, held by the test and by the orchestrator's thread. */
struct held {
    unsigned refs; /* atomic */
    struct engine_acl *acl;
};

static const struct engine_acl *held_get(const void *arg)
{
    return ((const struct held *)arg)->acl;
}

static void held_hold(void *ctx, const void *arg)
{
    (void)ctx;
    __atomic_add_fetch(&((struct held *)arg)->refs, 1, __ATOMIC_ACQ_REL);
}

static void held_drop(void *ctx, const void *arg)
{
    struct held *h = (struct held *)arg;
    (void)ctx;
    if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        engine_acl_free(h->acl);
        free(h);
    }
}

#define NFILES 400

struct rules {
    struct engine_acl *main, *part[NFILES]; /* part: NULL when the file is gone */
    char name[NFILES][32];
    size_t n;
    struct engine_acl *gone[4]; /* files replaced: a change borrows their strings */
    size_t ngone;
};

static struct engine_acl *rules_part(const char *name, const char *text)
{
    struct engine_acl *a = NULL;
    struct engine_diag d = {0};
    assert_int_equal(engine_acl_new(&a), 0);
    assert_int_equal(engine_acl_parse(a, ENGINE_ACL_FILE_ACL, name, text, strlen(text), &d), 0);
    engine_diag_free(&d);
    return a;
}

/* R's policy/acl (one rule) and the rules in force by key, which the test's changes move along. */
static struct engine_acl_keys *rules_start(struct rules *r)
{
    struct engine_acl_keys *k = NULL;

    r->main = rules_part("policy/acl", "regular * GET /* deny\n");
    assert_int_equal(engine_acl_keys_new(&k), 0);
    assert_int_equal(engine_acl_keys_set(k, "policy/acl", 1, r->main, NULL), 0);
    return k;
}

/* Frees K and every file R parsed (after the blobs that borrow them). */
static void rules_free(struct rules *r, struct engine_acl_keys *k)
{
    engine_acl_keys_free(k);
    for (size_t i = 0; i < r->n; i++)
        engine_acl_free(r->part[i]);
    for (size_t i = 0; i < r->ngone; i++)
        engine_acl_free(r->gone[i]);
    engine_acl_free(r->main);
}

/* The policy of R as the mount puts it together (fs_snap_acl()). */
static struct held *rules_whole(const struct rules *r)
{
    struct held *h = calloc(1, sizeof(*h));
    struct engine_diag d = {0};

    assert_non_null(h);
    h->refs = 1;
    assert_int_equal(engine_acl_new(&h->acl), 0);
    assert_int_equal(
        engine_acl_load_file(h->acl, ENGINE_ACL_FILE_GROUPS, POL "/groups", "groups", &d), 0);
    assert_int_equal(engine_acl_add_rules(h->acl, r->main, "policy/acl", &d), 0);
    for (size_t i = 0; i < r->n; i++)
        if (r->part[i] != NULL)
            assert_int_equal(engine_acl_add_rules(h->acl, r->part[i], r->name[i], &d), 0);
    assert_int_equal(engine_acl_load_file(h->acl, ENGINE_ACL_FILE_CREDENTIALS, POL "/credentials",
                                          "credentials", &d),
                     0);
    assert_int_equal(engine_acl_finish(h->acl, &d), 0);
    engine_diag_free(&d);
    return h;
}

/* File I of R made with NR rules (NR 0: removed); its change of the rules in force into *C. */
static void rules_file(struct rules *r, struct engine_acl_keys *k, size_t i, int nr,
                       struct engine_acl_keys_change **c)
{
    struct engine_diag d = {0};
    char *text = malloc((size_t)nr * 64 + 1);
    size_t n = 0;

    assert_non_null(text);
    text[0] = 0;
    for (int j = 0; j < nr; j++)
        n += (size_t)sprintf(text + n, "regular u%zu_%d GET /t/%zu/%d %s\n", i, j, i, j,
                             j % 3 ? "allow" : "deny");
    if (i == r->n)
        snprintf(r->name[r->n++], sizeof(r->name[0]), "policy/acl.d/f%03zu", i);
    struct engine_acl *part = nr > 0 ? rules_part(r->name[i], text) : NULL;
    assert_int_equal(engine_acl_keys_diff(k, r->name[i], 0, part, NULL, c, &d), 0);
    assert_int_equal(engine_acl_keys_set(k, r->name[i], 0, part, NULL), 0);
    if (r->part[i] != NULL) {
        assert_true(r->ngone < 4);
        r->gone[r->ngone++] = r->part[i];
    }
    r->part[i] = part;
    free(text);
    engine_diag_free(&d);
}

/* Blob B (base and patch) decides as a whole compile of H's rules, policy `regular`. */
static void blob_same(const struct orch_blob *b, const struct held *h, size_t nfiles)
{
    struct engine_acl_blob full, base;
    struct engine_acl_layers l;
    struct engine_acl_patch p;
    const char *why = NULL;
    void *fb;
    size_t flen;

    assert_int_equal(engine_acl_compile(&fb, &flen, h->acl, "regular", 1), 0);
    assert_int_equal(engine_acl_blob_open(&full, fb, flen, NULL), 0);
    assert_int_equal(engine_acl_blob_open(&base, b->data, b->len, NULL), 0);
    if (b->patch != NULL) {
        assert_int_equal(
            engine_acl_patch_open(&p, b->patch, b->patch_len, &base, b->data_version, &why), 0);
        engine_acl_patch_layers(&p, &base, &l);
    } else {
        l = (struct engine_acl_layers){&base, NULL, 0, NULL};
    }
    for (size_t i = 0; i < nfiles; i++)
        for (int j = 0; j < 300; j += 7) {
            char user[32], path[32];
            snprintf(user, sizeof(user), "u%zu_%d", i, j);
            snprintf(path, sizeof(path), "/t/%zu/%d", i, j);
            struct engine_acl_request rq = {"regular", user,         "GET", path,
                                            7,         strlen(user), 3,     strlen(path)};
            struct engine_acl_decision df, dl;
            assert_int_equal(engine_acl_blob_decide(&full, &rq, &df), 0);
            assert_int_equal(engine_acl_layers_decide(&l, &rq, &dl), 0);
            assert_int_equal(df.allow, dl.allow);
        }
    free(fb);
}

/*
 * A change whose patch passes the index's limit does not compile the new base on the caller's
 * thread (compiles counted there): the orchestrator's thread does, and a later change takes it
 * over; each version decides as a whole compile of its rules, and the new base is the bytes a
 * whole compile of the rules of the change that passed the limit gives at the base's own
 * version, the next (what `unisec verify` compiles again).
 */
static void test_orch_policy_rebase_off_thread(void **state)
{
    struct rules r = {0};
    struct held *h[NFILES + 3] = {0};
    struct engine_acl_keys *k = NULL;
    struct engine_acl_keys_change *c = NULL;
    struct orch_blob *b = NULL, *nb;
    struct engine_diag d = {0};
    char heads[NFILES + 3][41];
    uint64_t v = 1;

    (void)state;
    k = rules_start(&r);
    h[v] = rules_whole(&r);
    snprintf(heads[v], sizeof(heads[v]), "%040" PRIx64, v);
    struct orch_desired want = {.acl_get = held_get,
                                .acl_arg = h[v],
                                .acl_hold = held_hold,
                                .acl_drop = held_drop,
                                .head = heads[v]};
    assert_int_equal(orch_policy_compile(&b, &want, "regular", NULL, 0, v, &d), 0);
    uint64_t compiles = engine_acl_index_compiles();
    /* 300 rules a change: the fourth passes the limit (1024); the fifth removes a file. */
    for (size_t step = 0; v < NFILES && b->data_version == 1; step++) {
        if (step == 4)
            rules_file(&r, k, 1, 0, &c);
        else
            rules_file(&r, k, r.n, step < 4 ? 300 : 1, &c);
        v = orch_blob_next_version(b); /* above the new base's own version */
        h[v] = rules_whole(&r);
        snprintf(heads[v], sizeof(heads[v]), "%040" PRIx64, v);
        want.acl_arg = h[v];
        want.head = heads[v];
        want.change = c;
        assert_int_equal(orch_policy_compile(&nb, &want, "regular", b, 0, v, &d), 0);
        engine_acl_keys_change_free(c);
        assert_int_equal(engine_acl_index_compiles(), compiles);
        assert_int_equal(nb->version, v);
        blob_same(nb, h[v], r.n);
        orch_blob_put(b);
        b = nb;
        if (step >= 4) /* the base compiles meanwhile: a bounded wait, never a timed one */
            nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    /* Taken over: the rules of the change that passed the limit at a version of their own. */
    assert_int_equal(b->data_version, 6);
    assert_string_equal(b->base_head, heads[5]);
    void *whole;
    size_t wlen;
    assert_int_equal(engine_acl_compile(&whole, &wlen, h[5]->acl, "regular", 6), 0);
    assert_int_equal(wlen, b->len);
    assert_memory_equal(whole, b->data, wlen);
    free(whole);
    orch_blob_put(b);
    for (size_t i = 1; i <= v; i++)
        if (h[i] != NULL)
            held_drop(NULL, h[i]);
    rules_free(&r, k);
    engine_diag_free(&d);
}

/* Waits (bounded by a count of short sleeps, not asserted on) for B's new base to be ready. */
static void rebase_wait(const struct orch_blob *b)
{
    for (int i = 0; i < 6000 && !orch_rebase_ready(b->rebase, engine_acl_index_version(b->index));
         i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_true(orch_rebase_ready(b->rebase, engine_acl_index_version(b->index)));
}

/*
 * A new base ready with no change since is delivered by a want of its own: a push-mode level
 * and the pull PDP get a whole blob of its version (the rules in force, compiled whole at it),
 * an internal level keeps its image's blob; the next change is a patch over the new base. Not
 * ready, or a change since: no such want.
 */
static void test_orch_want_rebased_delivers(void **state)
{
    struct rules r = {0};
    struct held *h[8] = {0};
    struct engine_acl_keys *k = NULL;
    struct engine_acl_keys_change *c = NULL;
    struct orch_blob *b = NULL, *nb;
    struct engine_diag d = {0};
    uint64_t v = 1;

    (void)state;
    k = rules_start(&r);
    h[v] = rules_whole(&r);
    struct orch_desired want = {.acl_get = held_get,
                                .acl_arg = h[v],
                                .acl_hold = held_hold,
                                .acl_drop = held_drop,
                                .head = "0123456789012345678901234567890123456789"};
    assert_int_equal(orch_policy_compile(&b, &want, "regular", NULL, 0, v, &d), 0);
    rules_file(&r, k, r.n, 1100, &c); /* past the limit: a new base on the side */
    h[++v] = rules_whole(&r);
    want.acl_arg = h[v];
    want.change = c;
    assert_int_equal(orch_policy_compile(&nb, &want, "regular", b, 0, v, &d), 0);
    engine_acl_keys_change_free(c);
    orch_blob_put(b);
    b = nb;
    assert_non_null(b->rebase);
    assert_non_null(b->patch);

    /* A want with a push-mode, an internal and a pull-mode use of the policy. */
    struct orch_want *w = calloc(1, sizeof(*w)), *w2 = NULL;
    assert_non_null(w);
    w->refs = 1;
    w->head = strdup(want.head);
    w->who = strdup("t");
    w->what = strdup("t");
    w->nnodes = 1;
    w->nodes = calloc(1, sizeof(*w->nodes));
    w->nodes[0].name = strdup("web");
    w->nodes[0].nlevels = 2;
    w->nodes[0].levels = calloc(2, sizeof(struct orch_level));
    enum engine_pdp modes[2] = {ENGINE_PDP_PUSH, ENGINE_PDP_INTERNAL};
    for (int l = 0; l < 2; l++)
        w->nodes[0].levels[l] = (struct orch_level){.level = strdup(l ? "critical" : "default"),
                                                    .pdp = modes[l],
                                                    .policy = strdup("regular"),
                                                    .blob = orch_blob_ref(b)};
    w->npolicies = 1;
    w->policies = calloc(1, sizeof(*w->policies));
    w->policies[0] = orch_blob_ref(b);
    w->pull = orch_blob_ref(b);

    rebase_wait(b);
    assert_int_equal(orch_want_rebased(&w2, w), 0);
    assert_non_null(w2);
    struct orch_blob *rb = w2->policies[0];
    assert_ptr_equal(w2->nodes[0].levels[0].blob, rb);
    assert_ptr_equal(w2->pull, rb);
    assert_ptr_equal(w2->nodes[0].levels[1].blob, b); /* the image's rules are the same */
    assert_string_equal(w2->nodes[0].name, "web");
    assert_string_equal(w2->nodes[0].levels[1].level, "critical");
    assert_null(rb->patch);
    assert_int_equal(rb->version, v + 1);
    assert_int_equal(rb->data_version, v + 1);
    assert_non_null(rb->index);
    assert_null(b->index);
    assert_true(orch_blob_next_version(rb) > rb->version);
    void *whole;
    size_t wlen;
    assert_int_equal(engine_acl_compile(&whole, &wlen, h[v]->acl, "regular", v + 1), 0);
    assert_int_equal(wlen, rb->len);
    assert_memory_equal(whole, rb->data, wlen);
    free(whole);
    orch_want_put(w);

    /* The next one-rule change: a patch over the new base. */
    struct orch_want *w3 = NULL;
    rules_file(&r, k, r.n, 1, &c);
    v = orch_blob_next_version(rb);
    h[v] = rules_whole(&r);
    want.acl_arg = h[v];
    want.change = c;
    assert_int_equal(orch_policy_compile(&nb, &want, "regular", rb, 0, v, &d), 0);
    engine_acl_keys_change_free(c);
    assert_non_null(nb->patch);
    assert_ptr_equal(nb->base, rb);
    assert_int_equal(nb->data_version, rb->version);
    blob_same(nb, h[v], r.n);
    assert_int_equal(orch_want_rebased(&w3, w2), 0); /* nothing on the side */
    assert_null(w3);
    orch_want_put(w2);

    /* Past the limit again, and a change before the base is ready: not delivered whole (the
     * next change takes it over). */
    orch_blob_put(b); /* the first crossing's, which W's internal level held too */
    b = nb;
    rules_file(&r, k, r.n, 1100, &c);
    v = orch_blob_next_version(b);
    h[v] = rules_whole(&r);
    want.acl_arg = h[v];
    want.change = c;
    assert_int_equal(orch_policy_compile(&nb, &want, "regular", b, 0, v, &d), 0);
    engine_acl_keys_change_free(c);
    orch_blob_put(b);
    b = nb;
    assert_non_null(b->rebase);
    rules_file(&r, k, r.n, 1, &c);
    v = orch_blob_next_version(b);
    h[v] = rules_whole(&r);
    want.acl_arg = h[v];
    want.change = c;
    assert_int_equal(orch_policy_compile(&nb, &want, "regular", b, 0, v, &d), 0);
    engine_acl_keys_change_free(c);
    orch_blob_put(b);
    b = nb;
    struct orch_want w4 = {.npolicies = 1, .policies = &b};
    /* (The change took the base over when the thread was done before it: no base aside.) */
    for (int i = 0; i < 6000 && b->rebase != NULL &&
                    !orch_rebase_ready(b->rebase, orch_rebase_version(b->rebase) - 1);
         i++) /* done, of the rules it was started with */
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    assert_int_equal(orch_want_rebased(&w3, &w4), 0);
    assert_null(w3);
    assert_non_null(b->index);
    orch_blob_put(b);

    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        if (h[i] != NULL)
            held_drop(NULL, h[i]);
    rules_free(&r, k);
    engine_diag_free(&d);
}

/* A blob freed while its new base compiles waits for the thread, and lets the rules go. */
static void test_orch_policy_rebase_freed_midway(void **state)
{
    struct rules r = {0};
    struct held *h[8] = {0};
    struct engine_acl_keys *k = NULL;
    struct engine_acl_keys_change *c = NULL;
    struct orch_blob *b = NULL, *nb;
    struct engine_diag d = {0};
    uint64_t v = 1;

    (void)state;
    k = rules_start(&r);
    h[v] = rules_whole(&r);
    struct orch_desired want = {.acl_get = held_get,
                                .acl_arg = h[v],
                                .acl_hold = held_hold,
                                .acl_drop = held_drop,
                                .head = ""};
    assert_int_equal(orch_policy_compile(&b, &want, "regular", NULL, 0, v, &d), 0);
    for (int step = 0; step < 4; step++) {
        rules_file(&r, k, r.n, 300, &c);
        h[++v] = rules_whole(&r);
        want.acl_arg = h[v];
        want.change = c;
        assert_int_equal(orch_policy_compile(&nb, &want, "regular", b, 0, v, &d), 0);
        engine_acl_keys_change_free(c);
        orch_blob_put(b);
        b = nb;
    }
    assert_non_null(b->rebase);
    orch_blob_put(b);
    for (size_t i = 1; i <= v; i++) /* the last reference of each: its thread let it go */
        assert_int_equal(__atomic_load_n(&h[i]->refs, __ATOMIC_ACQUIRE), 1);
    for (size_t i = 1; i <= v; i++)
        held_drop(NULL, h[i]);
    rules_free(&r, k);
    engine_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orch_want_copies_every_level, fx_setup, fx_teardown),
        cmocka_unit_test(test_orch_want_rebased_delivers),
        cmocka_unit_test_setup_teardown(test_orch_want_one_host, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_reuses_unchanged_policy, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_versions_changed_policy_only, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_internal_rules_in_spec, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_orch_want_missing_policy_refused, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_orch_policy_rebase_off_thread),
        cmocka_unit_test(test_orch_policy_rebase_freed_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
