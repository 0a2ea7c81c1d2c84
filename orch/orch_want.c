/* orch_want.c — the desired state as the orchestrator keeps it: a deep copy of what the
 * interpreters derived (every node, every level, the image spec of each) and the compiled
 * policies, independent of the mount's snapshot it came from. */
#include "orch_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/tls.h"

void orch_blob_put(struct orch_blob *b)
{
    if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(b->name);
    if (b->base != NULL)
        orch_blob_put(b->base);
    else if (b->owner != NULL)
        engine_acl_base_put(b->owner);
    else
        free(b->data);
    free(b->patch);
    orch_rebase_free(b->rebase); /* before the index it records for */
    engine_acl_index_free(b->index);
    free(b);
}

struct orch_blob *orch_blob_ref(struct orch_blob *b)
{
    if (b != NULL)
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
    return b;
}

uint64_t orch_blob_next_version(const struct orch_blob *b)
{
    uint64_t v = b->rebase != NULL ? orch_rebase_version(b->rebase) : 0;
    return (v > b->version ? v : b->version) + 1;
}

/* Do A and B hold the same rules (everything but the version and the checksum)? */
static int orch_blob_same_rules(const struct orch_blob *a, const void *data, size_t len)
{
    const size_t ver = offsetof(struct engine_acl_blob_header, policy_version);
    const size_t sum = offsetof(struct engine_acl_blob_header, sha256);
    const uint8_t *x = a->data, *y = data;

    if (a->len != len || len < sizeof(struct engine_acl_blob_header))
        return 0;
    return memcmp(x, y, ver) == 0 &&
           memcmp(x + ver + sizeof(uint64_t), y + ver + sizeof(uint64_t),
                  sum - ver - sizeof(uint64_t)) == 0 &&
           memcmp(x + sum + 32, y + sum + 32, len - sum - 32) == 0;
}

struct orch_blob *orch_policy_find(struct orch_blob *const *v, size_t n, const char *name,
                                   int whole)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->name, name) == 0 && v[i]->whole == whole)
            return v[i];
    return NULL;
}

static struct orch_blob *orch_blob_new(const char *name, int whole, uint64_t version,
                                       const char *head)
{
    struct orch_blob *b = calloc(1, sizeof(*b));

    if (b == NULL || (b->name = strdup(name ? name : ORCH_POLICY_ALL)) == NULL) {
        free(b);
        return NULL;
    }
    b->refs = 1;
    b->whole = whole;
    b->version = b->data_version = version;
    if (head != NULL && strlen(head) == 40)
        memcpy(b->base_head, head, sizeof(b->base_head));
    return b;
}

/* B's bytes: X's base, a share of them (no copy). */
static void orch_blob_base(struct orch_blob *b, const struct engine_acl_index *x)
{
    const void *base;

    b->owner = engine_acl_index_base_share(x, &base, &b->len);
    b->data = (void *)base; /* never written */
}

static const struct engine_acl *orch_acl(const struct orch_desired *want)
{
    return want->acl != NULL ? want->acl : want->acl_get(want->acl_arg);
}

/* *OUT: the blob of the new base of OLD's index X once its thread is done (X moved onto it), or
 * NULL (not done, or failed: X stays). -ENOMEM when X moved but no blob holds its base. */
static int orch_policy_rebased(struct orch_blob **out, struct orch_blob *old,
                               struct engine_acl_index *x)
{
    struct engine_acl_base *owner = NULL;
    const void *data = NULL;
    size_t len = 0;
    uint64_t version = 0;
    char head[41] = "";

    *out = NULL;
    if (orch_rebase_take(&old->rebase, x, &owner, &data, &len, &version, head) != 1)
        return 0;
    if ((*out = orch_blob_new(old->name, 0, version, head)) == NULL) {
        engine_acl_base_put(owner);
        return -ENOMEM;
    }
    (*out)->owner = owner;
    (*out)->data = (void *)data; /* never written */
    (*out)->len = len;
    return 0;
}

/* OLD's index moved onto a new base that no blob holds (BASIS, dropped, would have): dropped
 * too, so that the next compile starts over with a new index. Returns R. */
static int orch_policy_lost(struct orch_blob *old, struct orch_blob *basis, int r)
{
    orch_blob_put(basis);
    engine_acl_index_free(old->index);
    old->index = NULL;
    return r;
}

/* The next version of OLD's policy from its index: a patch over OLD's base, or over the new base
 * compiled on the side once it is ready, or a new whole blob when the index compiled a new base;
 * a reference to OLD when no rule changed. WANT's change, when it has one, is applied to the index
 * as it is, and so are its users, groups and credentials when only they changed; else the rule
 * sets are compared. Past the index's limit a new base is compiled on a
 * thread of its own (when WANT lets it: orch_rebase.c) while patches go on, up to the bound. */
static int orch_policy_patch(struct orch_blob **out, const struct orch_desired *want,
                             struct orch_blob *old, uint64_t version)
{
    struct engine_acl_index *x = old->index;
    struct orch_blob *basis = NULL, *b;
    const struct engine_acl *acl;
    size_t most = old->rebase != NULL || want->acl_hold != NULL ? engine_acl_index_bound(x)
                                                                : engine_acl_index_limit(x);
    int r = -EAGAIN;

    if (want->change != NULL &&
        engine_acl_index_changes(x) + engine_acl_keys_change_count(want->change) <= most)
        r = engine_acl_index_apply_keys(x, want->change, version);
    else if (want->change == NULL && want->people != NULL && engine_acl_index_changes(x) < most &&
             (r = engine_acl_index_people(x, want->people, version)) == 0)
        engine_log(
            "info",
            "policy %s v%" PRIu64 ": users, groups or credentials changed, patched over v%" PRIu64
            " (%zu changes since the base)",
            old->name, version, engine_acl_index_base_version(x), engine_acl_index_changes(x));
    if (r < 0) {
        /* No change to apply (or it would pass the index's bound, or did not fit it): the
         * rule sets compared. */
        if ((acl = orch_acl(want)) == NULL)
            return -ENOMEM;
        if ((r = engine_acl_index_sync(x, acl, version)) < 0)
            return r;
    }
    if (r == 2) {
        *out = orch_blob_ref(old);
        return 0;
    }
    /* The new base, when ready, takes the rules in force (the changes since replayed). */
    if (r == 0 && old->rebase != NULL && (r = orch_policy_rebased(&basis, old, x)) < 0)
        return orch_policy_lost(old, NULL, r);
    if (r == 0 && old->rebase == NULL && engine_acl_index_changes(x) > engine_acl_index_limit(x))
        orch_rebase_start(&old->rebase, want,
                          strcmp(old->name, ORCH_POLICY_ALL) == 0 ? NULL : old->name, x, version);
    if ((b = orch_blob_new(old->name, 0, version, want->head)) == NULL)
        return basis ? orch_policy_lost(old, basis, -ENOMEM)
                     : -ENOMEM; /* the index stays OLD's, at VERSION: the next sync mends it */
    if (r == 1) {               /* a new base */
        orch_blob_base(b, x);
    } else {
        if ((r = engine_acl_index_patch(x, engine_acl_index_base_version(x), &b->patch,
                                        &b->patch_len)) < 0) {
            orch_blob_put(b);
            return basis ? orch_policy_lost(old, basis, r) : r;
        }
        b->base = basis != NULL ? basis : orch_blob_ref(old->base ? old->base : old);
        b->data = b->base->data;
        b->len = b->base->len;
        b->data_version = b->base->version;
        memcpy(b->base_head, b->base->base_head, sizeof(b->base_head));
    }
    b->index = x;
    old->index = NULL;
    b->rebase = old->rebase;
    old->rebase = NULL;
    *out = b;
    return 0;
}

int orch_policy_compile(struct orch_blob **out, const struct orch_desired *want, const char *name,
                        struct orch_blob *old, int whole, uint64_t version, struct engine_diag *d)
{
    const struct engine_acl *acl = NULL;
    struct orch_blob *b;
    int r;

    *out = NULL;
    /* A patch needs no whole rule set; anything else does. */
    if ((whole || old == NULL || old->index == NULL ||
         (want->change == NULL && want->people == NULL)) &&
        (acl = orch_acl(want)) == NULL)
        return engine_diag_add(d, "policy/acl", 0, 0, "cannot compile policy '%s': %s",
                               name ? name : ORCH_POLICY_ALL, strerror(ENOMEM));
    if (acl != NULL && name != NULL && !engine_acl_has_policy(acl, name))
        return engine_diag_add(
            d, "policy/acl", 0, 0,
            "policy/acl and policy/acl.d have no rule of policy '%s', which a node "
            "enforces",
            name);
    if (!whole && old != NULL && old->index != NULL) {
        r = orch_policy_patch(out, want, old, version);
    } else if ((b = orch_blob_new(name, whole, version, want->head)) == NULL) {
        r = -ENOMEM;
    } else if (whole) {
        r = engine_acl_compile(&b->data, &b->len, acl, name, version);
        if (r == 0 && old != NULL && old->patch == NULL &&
            orch_blob_same_rules(old, b->data, b->len)) {
            orch_blob_put(b); /* same rules: the version in force stays, nothing is pushed */
            b = orch_blob_ref(old);
        }
        *out = r == 0 ? b : NULL;
        if (r < 0)
            orch_blob_put(b);
    } else {
        /* The first compile of the policy: its index, kept for the next one. */
        r = engine_acl_index_new(&b->index, acl, name, version);
        if (r == 0)
            orch_blob_base(b, b->index);
        *out = r == 0 ? b : NULL;
        if (r < 0)
            orch_blob_put(b);
    }
    if (r < 0)
        engine_diag_add(d, "policy/acl", 0, 0, "cannot compile policy '%s': %s",
                        name ? name : ORCH_POLICY_ALL, strerror(-r));
    return r;
}

void orch_level_free(struct orch_level *l)
{
    for (size_t m = 0; m < l->nmodules; m++) {
        free((char *)l->modules[m].name);
        for (size_t k = 0; k < l->modules[m].nprops; k++) {
            free((char *)l->modules[m].props[k].name);
            free((char *)l->modules[m].props[k].value);
            free((char *)l->modules[m].props[k].secret);
        }
        free((void *)l->modules[m].props);
    }
    free(l->modules);
    free(l->level);
    free(l->policy);
    orch_blob_put(l->blob);
}

void orch_want_put(struct orch_want *w)
{
    if (w == NULL || __atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < w->nnodes; i++) {
        struct orch_want_node *n = &w->nodes[i];
        for (size_t l = 0; l < n->nlevels; l++)
            orch_level_free(&n->levels[l]);
        free(n->levels);
        free(n->name);
        free(n->address);
        if (n->tls != NULL)
            explicit_bzero(n->tls, n->tls_len);
        free(n->tls);
        free(n->tls_why);
    }
    free(w->nodes);
    for (size_t i = 0; i < w->nplaces; i++) {
        free(w->places[i].node);
        free(w->places[i].host);
        free(w->places[i].address);
    }
    free(w->places);
    for (size_t i = 0; i < w->npolicies; i++)
        orch_blob_put(w->policies[i]);
    free(w->policies);
    orch_blob_put(w->pull);
    for (size_t i = 0; i < w->ncerts; i++) {
        free(w->certs[i].node);
        free(w->certs[i].pem[0]);
        free(w->certs[i].pem[1]);
    }
    free(w->certs);
    free(w->head);
    free(w->who);
    free(w->what);
    free(w);
}

struct orch_want *orch_want_ref(struct orch_want *w)
{
    __atomic_add_fetch(&w->refs, 1, __ATOMIC_ACQ_REL);
    return w;
}

int orch_level_copy(struct orch_level *l, const struct engine_topology_image *im)
{
    l->pdp = im->pdp;
    l->tls = im->tls;
    if ((l->level = strdup(im->level)) == NULL ||
        (im->policy && (l->policy = strdup(im->policy)) == NULL))
        return -ENOMEM;
    if (im->nmodules == 0)
        return 0;
    if ((l->modules = calloc(im->nmodules, sizeof(*l->modules))) == NULL)
        return -ENOMEM;
    l->nmodules = im->nmodules;
    for (size_t m = 0; m < im->nmodules; m++) {
        const struct engine_topology_module *tm = &im->modules[m];
        struct builder_module *bm = &l->modules[m];
        struct builder_prop *p = calloc(tm->nparams ? tm->nparams : 1, sizeof(*p));
        if (p == NULL || (bm->name = strdup(tm->name)) == NULL) {
            free(p);
            return -ENOMEM;
        }
        bm->props = p;
        for (size_t k = 0; k < tm->nparams; k++, bm->nprops++)
            if ((p[k].name = strdup(tm->params[k].name)) == NULL ||
                (p[k].value = strdup(tm->params[k].value)) == NULL ||
                (tm->params[k].secret != NULL &&
                 (p[k].secret = strdup(tm->params[k].secret)) == NULL))
                return -ENOMEM;
    }
    return 0;
}

/* The policies the nodes enforce at any level, compiled: reused from OLD when the rules did
 * not change, else at version NEXT (a pull PDP serves every policy under one version). */
static int orch_want_policies(struct orch_want *w, const struct orch_desired *want,
                              const struct orch_want *old, uint64_t next, struct engine_diag *d)
{
    const struct engine_acl_keys_change *c = want->change;
    int changed = want->policy_changed;

    size_t cap = 1;
    int r, pull = 0;

    for (size_t i = 0; i < w->nnodes; i++)
        cap += w->nodes[i].nlevels;
    if ((w->policies = calloc(cap, sizeof(*w->policies))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < w->nnodes; i++)
        for (size_t l = 0; l < w->nodes[i].nlevels; l++) {
            struct orch_level *lv = &w->nodes[i].levels[l];
            struct orch_blob *b;
            if (lv->policy == NULL)
                continue;
            /* Every mode takes the index's blob: a running instance or the PDP a patch, an
             * image that links the rules in its base and the patch (builder/README.md). */
            int whole = 0;
            if ((b = orch_policy_find(w->policies, w->npolicies, lv->policy, whole)) == NULL) {
                struct orch_blob *prev =
                    old ? orch_policy_find(old->policies, old->npolicies, lv->policy, whole) : NULL;
                if (prev != NULL &&
                    (!changed || (c != NULL && !engine_acl_keys_change_touches(c, lv->policy))))
                    b = orch_blob_ref(prev); /* its rules are the same */
                else if ((r = orch_policy_compile(&b, want, lv->policy, prev, whole, next, d)) < 0)
                    return r;
                w->policies[w->npolicies++] = b;
            }
            lv->blob = orch_blob_ref(b);
            if (lv->pdp == ENGINE_PDP_PULL)
                pull = 1;
        }
    if (pull) { /* the pull PDP decides for every policy */
        struct orch_blob *prev =
            old ? orch_policy_find(old->policies, old->npolicies, ORCH_POLICY_ALL, 0) : NULL;
        if (prev != NULL && (!changed || (c != NULL && !engine_acl_keys_change_touches(c, NULL))))
            w->pull = orch_blob_ref(prev);
        else if ((r = orch_policy_compile(&w->pull, want, NULL, prev, 0, next, d)) < 0)
            return r;
        w->policies[w->npolicies++] = orch_blob_ref(w->pull);
    }
    return 0;
}

/* Records plan P's placement in W; returns 1 when this daemon (serving HOST_NAME, NULL: every
 * node) runs it, 0 when another host does, -ENOMEM. */
static int orch_want_placed(struct orch_want *w, const struct engine_topology_plan *p,
                            const char *host_name)
{
    int here = host_name == NULL || (p->host != NULL && strcmp(p->host, host_name) == 0);
    struct orch_place *pl;

    if (p->host == NULL)
        return here;
    pl = &w->places[w->nplaces++];
    pl->here = here;
    if ((pl->node = strdup(p->node)) == NULL || (pl->host = strdup(p->host)) == NULL ||
        (p->address != NULL && (pl->address = strdup(p->address)) == NULL))
        return -ENOMEM;
    return here;
}

/* WN's TLS credentials from WANT, copied. */
static int orch_want_tls(struct orch_want_node *wn, const struct orch_desired *want)
{
    for (size_t i = 0; i < want->ntls; i++) {
        const struct orch_tls *t = &want->tls[i];
        if (strcmp(t->node, wn->name) != 0)
            continue;
        if (t->why != NULL && (wn->tls_why = strdup(t->why)) == NULL)
            return -ENOMEM;
        if (t->creds == NULL)
            return 0;
        if ((wn->tls = malloc(t->len)) == NULL)
            return -ENOMEM;
        memcpy(wn->tls, t->creds, t->len);
        wn->tls_len = t->len;
        engine_sha256(wn->tls_sum, t->creds, t->len);
        return 0;
    }
    return 0;
}

/* Node NODE's certificate chain in W, I = 0, or its previous one, I = 1 (engine_tls_pins()'s
 * CERT). */
static int orch_want_cert(void *arg, const char *node, size_t i, const char **pem, size_t *len)
{
    const struct orch_want *w = arg;
    for (size_t k = 0; k < w->ncerts && i < 2; k++)
        if (strcmp(w->certs[k].node, node) == 0 && w->certs[k].pem[i] != NULL) {
            *pem = w->certs[k].pem[i];
            *len = w->certs[k].len[i];
            return 0;
        }
    return -1;
}

/* Whether the chain PEM[0..LEN) checks now (engine_tls_pins() pins only such a chain). */
static int orch_cert_checks(const char *pem, size_t len)
{
    struct engine_tls_input in = {.cert = pem, .cert_len = len, .now = (int64_t)time(NULL)};
    struct engine_diag d;
    engine_diag_init(&d);
    int r = engine_tls_check(&in, NULL, NULL, NULL, &d);
    engine_diag_free(&d);
    return r == 0;
}

/* W's certificates from WANT, each node's previous one from OLD (may be NULL): the one OLD had
 * in force when it differs and checks, else the one OLD had before it; for a node OLD holds no
 * certificate of, the one before it in the store's history (WANT's cert_before, after a restart),
 * so that the pins are the same on either side of a restart. */
static int orch_want_certs(struct orch_want *w, const struct orch_desired *want,
                           const struct orch_want *old)
{
    if (want->ntls > 0 && (w->certs = calloc(want->ntls, sizeof(*w->certs))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < want->ntls; i++) {
        const struct orch_tls *t = &want->tls[i];
        const struct orch_cert *o = NULL;
        if (t->cert == NULL)
            continue;
        for (size_t k = 0; old != NULL && k < old->ncerts && o == NULL; k++)
            if (strcmp(old->certs[k].node, t->node) == 0)
                o = &old->certs[k];
        struct orch_cert *c = &w->certs[w->ncerts++];
        int moved =
            o != NULL && (o->len[0] != t->cert_len || memcmp(o->pem[0], t->cert, t->cert_len));
        /* a chain in force that did not check (its node served without credentials) is no
         * previous one: the one before it stays, as engine_tls_cert_before() finds it */
        size_t p = moved && orch_cert_checks(o->pem[0], o->len[0]) ? 0 : 1;
        if ((c->node = strdup(t->node)) == NULL || (c->pem[0] = malloc(t->cert_len + 1)) == NULL)
            return -ENOMEM;
        memcpy(c->pem[0], t->cert, t->cert_len);
        c->pem[0][c->len[0] = t->cert_len] = '\0';
        if (o != NULL && o->pem[p] != NULL) {
            if ((c->pem[1] = strdup(o->pem[p])) == NULL)
                return -ENOMEM;
            c->len[1] = o->len[p];
        } else if (o == NULL && want->cert_before != NULL &&
                   want->cert_before(want->cert_arg, t->node, t->cert, t->cert_len, &c->pem[1],
                                     &c->len[1]) < 0)
            return -ENOMEM;
    }
    return 0;
}

int orch_level_pins(const struct orch_level *lv)
{
    for (size_t m = 0; m < lv->nmodules; m++)
        if (strcmp(lv->modules[m].name, "tls_upstream") == 0)
            return 1;
    return 0;
}

/* W's certificates into C (whose are none yet): a want of its own keeps them for the next. */
static int orch_want_certs_dup(struct orch_want *c, const struct orch_want *w)
{
    if (w->ncerts > 0 && (c->certs = calloc(w->ncerts, sizeof(*c->certs))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < w->ncerts; i++) {
        const struct orch_cert *f = &w->certs[i];
        struct orch_cert *t = &c->certs[c->ncerts++]; /* freed with C, whole or not */
        if ((t->node = strdup(f->node)) == NULL)
            return -ENOMEM;
        for (size_t k = 0; k < 2; k++) {
            if (f->pem[k] != NULL && (t->pem[k] = strdup(f->pem[k])) == NULL)
                return -ENOMEM;
            t->len[k] = f->len[k];
        }
    }
    return 0;
}

/* Gives each backend that LV's tls_upstream pins (derived as names) its certificate's key:
 * a new key rebuilds the load balancer (its spec changes). A backend without one is left out,
 * and the builder refuses the image, naming it. */
static int orch_want_pins(struct orch_level *lv, const struct orch_want *w)
{
    for (size_t m = 0; m < lv->nmodules; m++) {
        struct builder_module *bm = &lv->modules[m];
        if (strcmp(bm->name, "tls_upstream") != 0)
            continue;
        for (size_t k = 0; k < bm->nprops; k++) {
            struct builder_prop *p = (struct builder_prop *)&bm->props[k];
            struct engine_diag d; /* the builder says what is missing, naming the file */
            char *v;
            int r;
            if (strcmp(p->name, "pins") != 0)
                continue;
            engine_diag_init(&d);
            r = engine_tls_pins(p->value, orch_want_cert, (void *)w, (int64_t)time(NULL), &v, &d);
            engine_diag_free(&d);
            if (r < 0)
                return -ENOMEM;
            free((char *)p->value);
            p->value = v;
        }
    }
    return 0;
}

int orch_want_make(struct orch_want **out, const struct orch_desired *want,
                   const struct orch_want *old, uint64_t next_version, const char *host_name,
                   struct engine_diag *d)
{
    const struct engine_topology_derived *x = want->x;
    size_t n = engine_topology_derived_count(x);
    struct orch_want *w = calloc(1, sizeof(*w));
    int r = -ENOMEM;

    *out = NULL;
    if (w == NULL)
        return -ENOMEM;
    w->refs = 1;
    if ((w->head = strdup(want->head ? want->head : "")) == NULL ||
        (w->who = strdup(want->who ? want->who : "")) == NULL ||
        (w->what = strdup(want->what ? want->what : "")) == NULL)
        goto fail;
    if ((r = orch_want_certs(w, want, old)) < 0)
        goto fail;
    r = -ENOMEM;
    if (n > 0 && ((w->nodes = calloc(n, sizeof(*w->nodes))) == NULL ||
                  (w->places = calloc(n, sizeof(*w->places))) == NULL))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct engine_topology_plan *p = engine_topology_derived_plan(x, i);
        struct orch_want_node *wn = &w->nodes[w->nnodes];
        int here;
        if (p->nimages == 0 || p->images[p->current].artifact == NULL)
            continue; /* not a unikernel: nothing to run */
        if ((here = orch_want_placed(w, p, host_name)) < 0)
            goto fail;
        if (!here)
            continue; /* another host's daemon runs it */
        w->nnodes++;
        if ((p->address != NULL && (wn->address = strdup(p->address)) == NULL) ||
            (wn->name = strdup(p->node)) == NULL ||
            (wn->levels = calloc(p->nimages, sizeof(*wn->levels))) == NULL)
            goto fail;
        wn->current = p->current;
        if ((r = orch_want_tls(wn, want)) < 0)
            goto fail;
        r = -ENOMEM;
        for (size_t l = 0; l < p->nimages; l++, wn->nlevels++)
            if ((r = orch_level_copy(&wn->levels[l], &p->images[l])) < 0 ||
                (r = orch_want_pins(&wn->levels[l], w)) < 0)
                goto fail;
        r = -ENOMEM;
    }
    if ((r = orch_want_policies(w, want, old, next_version, d)) < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    orch_want_put(w);
    return r;
}

const struct orch_place *orch_want_place(const struct orch_want *w, const char *node)
{
    for (size_t i = 0; w != NULL && i < w->nplaces; i++)
        if (strcmp(w->places[i].node, node) == 0)
            return &w->places[i];
    return NULL;
}

struct orch_want_node *orch_want_node(const struct orch_want *w, const char *name)
{
    for (size_t i = 0; w != NULL && i < w->nnodes; i++)
        if (strcmp(w->nodes[i].name, name) == 0)
            return &w->nodes[i];
    return NULL;
}

void orch_level_spec(struct builder_spec *s, const char *node, const struct orch_level *l,
                     const char *target)
{
    *s = (struct builder_spec){node, l->level, target, l->nmodules, l->modules, NULL, 0};
    if (l->pdp == ENGINE_PDP_INTERNAL && l->blob != NULL) {
        s->acl_blob = l->blob->data;
        s->acl_len = l->blob->len;
        s->acl_own = 1; /* compiled by this process (orch_policy_compile) */
        s->acl_patch = l->blob->patch;
        s->acl_patch_len = l->blob->patch_len;
        if (l->blob->patch != NULL && l->blob->base_head[0])
            s->acl_base_commit = l->blob->base_head;
    }
}

/* ---- the want that delivers a new base ---- */

/* Level L copied into C; a push-mode level of blob OLD[i] takes NEU[i] instead (its instance
 * gets the new base), any other keeps its blob (an internal image's rules are the same). */
static int orch_level_dup(struct orch_level *c, const struct orch_level *l,
                          struct orch_blob *const *old, struct orch_blob *const *neu, size_t n)
{
    *c = (struct orch_level){.tls = l->tls, .pdp = l->pdp, .nmodules = l->nmodules};
    c->blob = orch_blob_ref(l->blob);
    for (size_t i = 0; l->pdp == ENGINE_PDP_PUSH && i < n; i++)
        if (l->blob == old[i]) {
            orch_blob_put(c->blob);
            c->blob = orch_blob_ref(neu[i]);
        }
    if ((c->level = strdup(l->level)) == NULL ||
        (l->policy && (c->policy = strdup(l->policy)) == NULL))
        return -ENOMEM;
    if (l->nmodules == 0)
        return 0;
    if ((c->modules = calloc(l->nmodules, sizeof(*c->modules))) == NULL) {
        c->nmodules = 0;
        return -ENOMEM;
    }
    for (size_t m = 0; m < l->nmodules; m++) {
        const struct builder_module *lm = &l->modules[m];
        struct builder_module *cm = &c->modules[m];
        struct builder_prop *p = calloc(lm->nprops ? lm->nprops : 1, sizeof(*p));
        if (p == NULL || (cm->name = strdup(lm->name)) == NULL) {
            free(p);
            return -ENOMEM;
        }
        cm->props = p;
        for (size_t k = 0; k < lm->nprops; k++, cm->nprops++)
            if ((p[k].name = strdup(lm->props[k].name)) == NULL ||
                (p[k].value = strdup(lm->props[k].value)) == NULL ||
                (lm->props[k].secret && (p[k].secret = strdup(lm->props[k].secret)) == NULL))
                return -ENOMEM;
    }
    return 0;
}

static int orch_want_node_dup(struct orch_want_node *c, const struct orch_want_node *n,
                              struct orch_blob *const *old, struct orch_blob *const *neu, size_t nb)
{
    c->current = n->current;
    memcpy(c->tls_sum, n->tls_sum, sizeof(c->tls_sum));
    if ((c->name = strdup(n->name)) == NULL ||
        (n->address && (c->address = strdup(n->address)) == NULL) ||
        (n->tls_why && (c->tls_why = strdup(n->tls_why)) == NULL) ||
        (n->tls && (c->tls = malloc(n->tls_len)) == NULL) ||
        (c->levels = calloc(n->nlevels ? n->nlevels : 1, sizeof(*c->levels))) == NULL)
        return -ENOMEM;
    if (n->tls) {
        memcpy(c->tls, n->tls, n->tls_len);
        c->tls_len = n->tls_len;
    }
    for (size_t l = 0; l < n->nlevels; l++, c->nlevels++)
        if (orch_level_dup(&c->levels[l], &n->levels[l], old, neu, nb) < 0) {
            c->nlevels++;
            return -ENOMEM;
        }
    return 0;
}

/* The new base of B's index, ready with no change since, as a whole blob that takes the index
 * over (*OUT); *OUT NULL when none is. */
static int orch_policy_delivered(struct orch_blob **out, struct orch_blob *b)
{
    struct orch_blob *nb = NULL;
    int r;

    *out = NULL;
    if (b->index == NULL || b->rebase == NULL ||
        !orch_rebase_ready(b->rebase, engine_acl_index_version(b->index)))
        return 0;
    if ((r = orch_policy_rebased(&nb, b, b->index)) < 0)
        return orch_policy_lost(b, NULL, r);
    if (nb == NULL)
        return 0; /* failed or stale: the index stays B's */
    nb->index = b->index;
    b->index = NULL;
    *out = nb;
    return 0;
}

int orch_want_rebased(struct orch_want **out, const struct orch_want *w)
{
    struct orch_blob **old = calloc(w->npolicies + 1, sizeof(*old));
    struct orch_blob **neu = calloc(w->npolicies + 1, sizeof(*neu));
    struct orch_want *c = NULL;
    size_t n = 0;
    int r = 0;

    *out = NULL;
    if (old == NULL || neu == NULL) {
        free(old);
        free(neu);
        return -ENOMEM;
    }
    for (size_t i = 0; i < w->npolicies && r == 0; i++)
        if ((r = orch_policy_delivered(&neu[n], w->policies[i])) == 0 && neu[n] != NULL)
            old[n++] = w->policies[i];
    if (n == 0)
        goto out;
    r = -ENOMEM;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        goto out;
    c->refs = 1;
    if ((c->head = strdup(w->head)) == NULL || (c->who = strdup(w->who)) == NULL ||
        (c->what = strdup(w->what)) == NULL ||
        (c->nodes = calloc(w->nnodes + 1, sizeof(*c->nodes))) == NULL ||
        (c->places = calloc(w->nplaces + 1, sizeof(*c->places))) == NULL ||
        (c->policies = calloc(w->npolicies + 1, sizeof(*c->policies))) == NULL)
        goto fail;
    for (size_t i = 0; i < w->npolicies; i++, c->npolicies++) {
        c->policies[i] = orch_blob_ref(w->policies[i]);
        for (size_t k = 0; k < n; k++)
            if (w->policies[i] == old[k]) {
                orch_blob_put(c->policies[i]);
                c->policies[i] = orch_blob_ref(neu[k]);
            }
    }
    c->pull = orch_blob_ref(w->pull);
    for (size_t k = 0; k < n; k++)
        if (w->pull == old[k]) {
            orch_blob_put(c->pull);
            c->pull = orch_blob_ref(neu[k]);
        }
    for (size_t i = 0; i < w->nplaces; i++, c->nplaces++) {
        const struct orch_place *p = &w->places[i];
        c->places[i].here = p->here;
        if ((c->places[i].node = strdup(p->node)) == NULL ||
            (c->places[i].host = strdup(p->host)) == NULL ||
            (p->address && (c->places[i].address = strdup(p->address)) == NULL)) {
            c->nplaces++;
            goto fail;
        }
    }
    for (size_t i = 0; i < w->nnodes; i++, c->nnodes++)
        if (orch_want_node_dup(&c->nodes[i], &w->nodes[i], old, neu, n) < 0) {
            c->nnodes++;
            goto fail;
        }
    if (orch_want_certs_dup(c, w) < 0)
        goto fail;
    *out = c;
    c = NULL;
    r = 0;
fail:
    orch_want_put(c);
out:
    /* Failed: the indexes moved onto blobs no want holds go with them, so that the next
     * compile starts over (as orch_policy_lost() does). */
    for (size_t k = 0; k < n; k++)
        orch_blob_put(neu[k]);
    free(old);
    free(neu);
    return r;
}
