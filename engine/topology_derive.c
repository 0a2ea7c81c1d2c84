/*
 * topology_derive.c — the interpreters: for every node and each of its levels, the security
 * functions in force and whether they are enforceable (SecTOSCA, eq. 3-4), the modules of the
 * image, every requirement met and the modules ordered (UniTOSCA, eq. 5).
 */
#include "topology_derive.h"

#include <stdarg.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one image: a node at a level ---- */

/* A module being composed, before ordering. */
struct topo_comp {
    size_t module;
    const struct topo_sf *sf; /* the function that added it, NULL for the type's own modules */
    struct engine_topology_param *params;
    size_t nparams;
    size_t *deps; /* indices (in the composition) of the modules it needs */
    size_t ndeps;
};

struct topo_img_ctx {
    const struct engine_topology *t;
    const struct engine_topology_state *s;
    enum engine_target target;
    size_t node;
    const char *level;
    struct topo_arena *a;
    struct engine_diag *d;
    const struct topo_sf *by_mech[TOPO_MECH_MAX];
    struct topo_comp comp[TOPO_COMP_MAX];
    size_t ncomp;
};

/* The value in force of node N's property NAME (state over topology), or NULL; *SHOWN what a
 * reader is shown of it (the value, or a secret's stand-in). */
static const char *topo_node_value(const struct topo_img_ctx *c, const char *name,
                                   const char **shown)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    for (size_t p = 0; p < n->pub.nprops; p++)
        if (strcmp(n->props[p].name, name) == 0) {
            *shown = topo_state_prop_shown(c->s, c->node, p);
            return topo_state_prop(c->s, c->node, p);
        }
    return NULL;
}

/* Node NODE's listening ports (ascending, distinct) into PORTS, but for property SKIP (NULL:
 * none); returns how many. */
static int topo_node_ports(const struct engine_topology *t, const struct engine_topology_state *s,
                           size_t node, const char *skip, int *ports, size_t max)
{
    const struct topo_node *n = &t->nodes[node];
    const struct topo_type *ty = &t->types[n->type];
    size_t k = 0;

    for (size_t p = 0; p < n->pub.nprops && k < max; p++) {
        const char *v = topo_state_prop(s, node, p);
        int port, dup = 0;
        if (!ty->eprops[p].def->listen || v == NULL ||
            (skip != NULL && strcmp(ty->eprops[p].def->name, skip) == 0))
            continue;
        port = (int)strtol(v, NULL, 10);
        for (size_t j = 0; j < k; j++)
            dup |= ports[j] == port;
        if (dup)
            continue;
        size_t j = k++;
        for (; j > 0 && ports[j - 1] > port; j--)
            ports[j] = ports[j - 1];
        ports[j] = port;
    }
    return (int)k;
}

/* The value in force of node NODE's property NAME (state over topology), or NULL. */
static const char *topo_prop_of(const struct engine_topology *t,
                                const struct engine_topology_state *s, size_t node,
                                const char *name)
{
    const struct topo_node *n = &t->nodes[node];
    for (size_t p = 0; p < n->pub.nprops; p++)
        if (strcmp(n->props[p].name, name) == 0)
            return topo_state_prop(s, node, p);
    return NULL;
}

/* How a load balancer reaches backend NODE (engine/TOPOLOGY.md section 1.4), the same at every
 * level of the backend so that its level changes swap nothing else: TOPO_UP_TLS when every
 * level serves HTTPS (has a function of mechanism tls), TOPO_UP_PLAIN when every level
 * serves plain HTTP (no such function, or one with plain_http), else TOPO_UP_MIXED with *HTTPS
 * a level that serves HTTPS only and *PLAIN one that serves no HTTPS. */
enum topo_up { TOPO_UP_PLAIN, TOPO_UP_TLS, TOPO_UP_MIXED };

static enum topo_up topo_backend_mode(const struct engine_topology *t, size_t node,
                                      const char **https, const char **plain)
{
    const struct topo_node *n = &t->nodes[node];
    int all_tls = 1, all_plain = 1;
    *https = *plain = NULL;
    for (size_t l = 0; l < n->pub.nlevels; l++) {
        int tls = 0, beside = 0;
        for (size_t m = 0; m < n->nmls; m++) {
            const struct topo_level *lv = topo_mls_level(&n->mls[m], n->pub.levels[l]);
            for (size_t i = 0; lv != NULL && i < lv->nsfs; i++) {
                const struct topo_sf *sf = &t->sfs[lv->sfs[i]];
                if (strcmp(topo_mech_name(sf->mech), "tls") != 0)
                    continue;
                tls = 1;
                beside = strcmp(topo_sf_param(sf, "plain_http"), "true") == 0;
            }
        }
        if (!tls && *plain == NULL)
            *plain = n->pub.levels[l];
        if (tls && !beside && *https == NULL)
            *https = n->pub.levels[l];
        all_tls &= tls;
        all_plain &= !tls || beside;
    }
    return all_tls ? TOPO_UP_TLS : all_plain ? TOPO_UP_PLAIN : TOPO_UP_MIXED;
}

/* The port a load balancer reaches backend NODE on: over TLS its https_port when set, else its
 * front's (HTTPS is served there); in plain HTTP its lowest listening port but https_port. 0:
 * none. */
static int topo_backend_port(const struct engine_topology *t, const struct engine_topology_state *s,
                             size_t node, enum topo_up mode)
{
    int ports[8];
    if (mode == TOPO_UP_TLS) {
        static const char *const names[] = {"https_port", "http_port", "listen_port"};
        for (size_t i = 0; i < 3; i++) {
            const char *v = topo_prop_of(t, s, node, names[i]);
            if (v != NULL)
                return (int)strtol(v, NULL, 10);
        }
    }
    return topo_node_ports(t, s, node, "https_port", ports, 8) < 1 ? 0 : ports[0];
}

/* The lb_proxy's backends ("NODE:PORT" of each application requirement, space-separated) or,
 * with TLS_ONLY, the names of those reached over TLS, space-separated. */
static char *topo_backends_list(struct topo_img_ctx *c, int tls_only)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    char *out = NULL, *res;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        return NULL;
    for (size_t i = 0, k = 0; i < n->nreqs; i++) {
        const char *https, *plain;
        if (strcmp(n->reqs[i].name, "application") != 0)
            continue;
        enum topo_up mode = topo_backend_mode(c->t, n->reqs[i].target, &https, &plain);
        int port = topo_backend_port(c->t, c->s, n->reqs[i].target, mode);
        if (port < 1 || (tls_only && mode != TOPO_UP_TLS))
            continue;
        if (tls_only)
            fprintf(f, "%s%s", k++ ? " " : "", n->reqs[i].node);
        else
            fprintf(f, "%s%s:%d", k++ ? " " : "", n->reqs[i].node, port);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    res = topo_arena_strdup(c->a, out);
    free(out);
    return res;
}

static char *topo_backends(struct topo_img_ctx *c)
{
    return topo_backends_list(c, 0);
}

/* The backends reached over TLS: lb_proxy's `tls_backends`, and tls_upstream's `pins` until
 * the caller that has the certificates gives each its key (engine_topology_pins()). */
static char *topo_tls_backends(struct topo_img_ctx *c)
{
    return topo_backends_list(c, 1);
}

/* Configuration values the engine derives from the topology for a module, beyond its
 * manifest's properties. */
static const struct {
    const char *module, *param;
    char *(*value)(struct topo_img_ctx *c); /* in the arena; NULL: out of memory */
} topo_derived_params[] = {
    {"lb_proxy", "backends", topo_backends},
    {"lb_proxy", "tls_backends", topo_tls_backends},
    {"tls_upstream", "pins", topo_tls_backends},
};

#define TOPO_NDERIVED (sizeof(topo_derived_params) / sizeof(topo_derived_params[0]))

/* The configuration of module COMP: each manifest property from the security function's
 * parameter of the same name, else the node's value, else the manifest's default; then the
 * derived values. */
static int topo_comp_config(struct topo_img_ctx *c, struct topo_comp *comp)
{
    const struct topo_module *m = &c->t->mods[comp->module];

    comp->params = topo_arena_alloc(c->a, (m->nprops + TOPO_NDERIVED) * sizeof(*comp->params));
    if (comp->params == NULL)
        return -ENOMEM;
    for (size_t j = 0; j < m->nprops; j++) {
        const char *v = comp->sf ? topo_sf_param(comp->sf, m->props[j].name) : NULL, *shown = NULL;
        if (v == NULL)
            v = topo_node_value(c, m->props[j].name, &shown);
        if (v == NULL)
            v = m->props[j].def;
        if (v == NULL)
            continue;
        struct engine_topology_param *q = &comp->params[comp->nparams++];
        q->type = m->props[j].type;
        if ((q->name = topo_arena_strdup(c->a, m->props[j].name)) == NULL ||
            (q->value = topo_arena_strdup(c->a, v)) == NULL ||
            (shown != NULL && shown != v && (q->secret = topo_arena_strdup(c->a, shown)) == NULL))
            return -ENOMEM;
    }
    for (size_t k = 0; k < TOPO_NDERIVED; k++) {
        char *v;
        if (strcmp(topo_derived_params[k].module, m->name) != 0)
            continue;
        if ((v = topo_derived_params[k].value(c)) == NULL)
            return -ENOMEM;
        if (*v == '\0')
            continue; /* none: the image is as it was before the parameter existed */
        comp->params[comp->nparams++] =
            (struct engine_topology_param){topo_derived_params[k].param, ENGINE_TOPOLOGY_STRING, v};
    }
    return 0;
}

static int topo_comp_add(struct topo_img_ctx *c, size_t module, const struct topo_sf *sf)
{
    struct topo_comp *comp;

    if (c->ncomp == TOPO_COMP_MAX)
        return topo_diag_at(c->d, &c->t->nodes[c->node].pos,
                            "node %s at level %s: more than %d modules", c->t->nodes[c->node].name,
                            c->level, TOPO_COMP_MAX);
    comp = &c->comp[c->ncomp++];
    memset(comp, 0, sizeof(*comp));
    comp->module = module;
    comp->sf = sf;
    return topo_comp_config(c, comp);
}

/* SecTOSCA (eq. 3-4): the functions in force at the level, each checked enforceable. */
static int topo_img_functions(struct topo_img_ctx *c)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    int bad = 0;

    for (size_t m = 0; m < n->nmls; m++) {
        const struct topo_level *lv = topo_mls_level(&n->mls[m], c->level);
        for (size_t i = 0; lv != NULL && i < lv->nsfs; i++) {
            const struct topo_sf *sf = &c->t->sfs[lv->sfs[i]];
            if (topo_is_supported(c->t, n, c->level, sf, c->target, &lv->pos, c->d) < 0) {
                bad = -EINVAL;
                continue;
            }
            c->by_mech[sf->mech] = sf;
        }
    }
    return bad;
}

/* A load balancer with a backend reached over TLS gets the tls_upstream module (after its
 * type's own), and a backend served HTTPS at some levels and plain HTTP only at others is an
 * error: the load balancer would reach it at none of its levels one way. */
static int topo_img_upstream_tls(struct topo_img_ctx *c)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    int lb = 0, tls = 0, have = 0, bad = 0, up = topo_module_find(c->t, "tls_upstream");

    for (size_t i = 0; i < c->ncomp; i++) {
        lb |= strcmp(c->t->mods[c->comp[i].module].name, "lb_proxy") == 0;
        have |= up >= 0 && c->comp[i].module == (size_t)up; /* the type's own */
    }
    for (size_t i = 0; lb && i < n->nreqs; i++) {
        const char *https, *plain;
        if (strcmp(n->reqs[i].name, "application") != 0)
            continue;
        switch (topo_backend_mode(c->t, n->reqs[i].target, &https, &plain)) {
        case TOPO_UP_TLS:
            tls = 1;
            break;
        case TOPO_UP_MIXED:
            bad = topo_diag_at(c->d, &n->reqs[i].pos,
                               "node %s: backend %s serves HTTPS only at level %s and no HTTPS at "
                               "level %s, and a load balancer reaches a backend one way at all "
                               "its levels: give every level of %s a tls function (plain_http "
                               "keeps HTTP beside it), or none",
                               n->name, n->reqs[i].node, https, plain, n->reqs[i].node);
            break;
        case TOPO_UP_PLAIN:
            break;
        }
    }
    if (bad < 0 || !tls || have)
        return bad;
    if (up < 0)
        return topo_diag_at(c->d, &n->pos, "node %s: no tls_upstream module in the catalogue",
                            n->name);
    return topo_comp_add(c, (size_t)up, NULL);
}

/* The modules: the type's own, then each function's in the mechanisms' order. */
static int topo_img_modules(struct topo_img_ctx *c)
{
    const struct topo_type *ty = &c->t->types[c->t->nodes[c->node].type];
    int r;

    for (size_t i = 0; i < ty->nmods; i++)
        if ((r = topo_comp_add(c, ty->mods[i], NULL)) < 0)
            return r;
    if ((r = topo_img_upstream_tls(c)) < 0)
        return r;
    for (size_t m = 0; m < topo_nmechs; m++) {
        const struct topo_sf *sf = c->by_mech[m];
        for (size_t i = 0; sf != NULL && i < TOPO_MECH_MODS && topo_mechs[m].mods[i].module; i++) {
            const char *when = topo_mechs[m].mods[i].when;
            if (when != NULL && strcmp(topo_sf_param(sf, when), "true") != 0)
                continue;
            r = topo_comp_add(c, (size_t)topo_module_find(c->t, topo_mechs[m].mods[i].module), sf);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static const char *topo_comp_value(const struct topo_comp *comp, const char *name)
{
    for (size_t i = 0; i < comp->nparams; i++)
        if (strcmp(comp->params[i].name, name) == 0)
            return comp->params[i].value;
    return NULL;
}

/* The first module of the composition other than SELF offering capability type CAP, or -1. */
static int topo_comp_provider(const struct topo_img_ctx *c, size_t self, const char *cap)
{
    for (size_t i = 0; i < c->ncomp; i++) {
        const struct topo_module *m = &c->t->mods[c->comp[i].module];
        if (i == self)
            continue;
        for (size_t k = 0; k < m->ncaps; k++)
            if (strcmp(m->caps[k].type, cap) == 0)
                return (int)i;
    }
    return -1;
}

static const char *topo_comp_name_at(const void *arg, size_t i)
{
    const struct topo_img_ctx *c = arg;
    return c->t->mods[c->comp[i].module].name;
}

static void topo_comp_names(const struct topo_img_ctx *c, char *buf, size_t size)
{
    topo_join(buf, size, c->ncomp, topo_comp_name_at, c, ", ");
}

/* UniTOSCA (eq. 5): every active requirement of every module is met by another module's
 * capability or by the environment's; ENV collects what the environment provides. */
static int topo_img_requirements(struct topo_img_ctx *c, const char **env, size_t *nenv)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    int bad = 0;

    for (size_t i = 0; i < c->ncomp; i++) {
        struct topo_comp *comp = &c->comp[i];
        const struct topo_module *m = &c->t->mods[comp->module];
        comp->deps = topo_arena_alloc(c->a, (m->nreqs + 1) * sizeof(*comp->deps));
        if (comp->deps == NULL)
            return -ENOMEM;
        for (size_t r = 0; r < m->nreqs; r++) {
            const struct topo_req *q = &m->reqs[r];
            const char *w = q->when_prop ? topo_comp_value(comp, q->when_prop) : NULL;
            int p;
            if (q->when_prop != NULL && (w == NULL || strcmp(w, q->when_value) != 0))
                continue;
            if ((p = topo_comp_provider(c, i, q->type)) >= 0) {
                comp->deps[comp->ndeps++] = (size_t)p;
                continue;
            }
            if (topo_env_has(c->target, q->type)) {
                size_t k;
                for (k = 0; k < *nenv && strcmp(env[k], q->type) != 0; k++)
                    ;
                if (k == *nenv && *nenv < TOPO_ENV_MAX)
                    env[(*nenv)++] = q->type;
                continue;
            }
            char names[512];
            topo_comp_names(c, names, sizeof(names));
            bad = topo_diag_at(c->d, &n->pos,
                               "node %s at level %s: module %s requires %s (%s), which no other "
                               "module of the image (%s) and not the %s environment provides",
                               n->name, c->level, m->name, q->name, q->type, names,
                               engine_target_name(c->target));
        }
    }
    return bad;
}

/* Orders the composition so that every provider precedes its users; ties keep list order. */
static int topo_img_order(struct topo_img_ctx *c, size_t *order)
{
    int placed[TOPO_COMP_MAX] = {0};

    for (size_t k = 0; k < c->ncomp; k++) {
        size_t i;
        for (i = 0; i < c->ncomp; i++) {
            size_t d;
            if (placed[i])
                continue;
            for (d = 0; d < c->comp[i].ndeps && placed[c->comp[i].deps[d]]; d++)
                ;
            if (d == c->comp[i].ndeps)
                break;
        }
        if (i == c->ncomp) {
            char names[512];
            topo_comp_names(c, names, sizeof(names));
            return topo_diag_at(c->d, &c->t->nodes[c->node].pos,
                                "node %s at level %s: the modules' requirements form a cycle "
                                "(%s); expected an order in which every provider comes first",
                                c->t->nodes[c->node].name, c->level, names);
        }
        placed[i] = 1;
        order[k] = i;
    }
    return 0;
}

/* P_SO's part of the image: what each function in force means (the mechanisms' table). */
static int topo_img_security(const struct topo_img_ctx *c, struct engine_topology_image *img)
{
    for (size_t m = 0; m < topo_nmechs; m++)
        if (c->by_mech[m] != NULL && topo_mechs[m].plan(c->by_mech[m], c->a, img) < 0)
            return -ENOMEM;
    return 0;
}

static int topo_img_functions_list(const struct topo_img_ctx *c, struct engine_topology_image *img)
{
    const char **f = topo_arena_alloc(c->a, (topo_nmechs + 1) * sizeof(*f));

    if (f == NULL)
        return -ENOMEM;
    for (size_t m = 0; m < topo_nmechs; m++)
        if (c->by_mech[m] != NULL &&
            (f[img->nfunctions++] = topo_arena_strdup(c->a, c->by_mech[m]->name)) == NULL)
            return -ENOMEM;
    img->functions = f;
    return 0;
}

/* A level with TLS: HTTPS on https_port when the node sets one (else on its front's port), and
 * plain HTTP beside it on the front's port only when plain_http asks: then both ports must be
 * set, and differ. */
static int topo_img_tls_ports(const struct topo_img_ctx *c, const struct engine_topology_image *img)
{
    const struct topo_node *n = &c->t->nodes[c->node];
    const char *shown, *https = topo_node_value(c, "https_port", &shown),
                       *front = topo_node_value(c, "http_port", &shown);

    if (!img->tls)
        return 0;
    if (front == NULL)
        front = topo_node_value(c, "listen_port", &shown);
    if (img->tls_plain && https == NULL)
        return topo_diag_at(c->d, &n->pos,
                            "node %s at level %s: plain_http serves HTTP beside HTTPS, on two "
                            "ports: give the node an https_port",
                            n->name, c->level);
    if (https != NULL && front != NULL && strtol(https, NULL, 10) == strtol(front, NULL, 10))
        return topo_diag_at(c->d, &n->pos,
                            "node %s at level %s: https_port %s is also the front's port "
                            "(http_port or listen_port); expected another",
                            n->name, c->level, https);
    return 0;
}

/* Derives node NODE at its level LEVEL into IMG (allocations in A). */
static int topo_derive_image(const struct engine_topology *t, const struct engine_topology_state *s,
                             enum engine_target target, size_t node, size_t level,
                             struct topo_arena *a, struct engine_topology_image *img,
                             struct engine_diag *d)
{
    struct topo_img_ctx *c = calloc(1, sizeof(*c));
    const char *env[TOPO_ENV_MAX];
    size_t nenv = 0, order[TOPO_COMP_MAX];
    struct engine_topology_module *mods;
    int r;

    if (c == NULL)
        return -ENOMEM;
    *c = (struct topo_img_ctx){t, s, target, node, t->nodes[node].pub.levels[level], a, d};
    memset(img, 0, sizeof(*img));
    img->level = c->level;
    if ((r = topo_img_functions(c)) < 0 || (r = topo_img_modules(c)) < 0 ||
        (r = topo_img_requirements(c, env, &nenv)) < 0 || (r = topo_img_order(c, order)) < 0)
        goto cleanup;
    r = -ENOMEM;
    if ((mods = topo_arena_alloc(a, (c->ncomp + 1) * sizeof(*mods))) == NULL)
        goto cleanup;
    for (size_t k = 0; k < c->ncomp; k++) {
        mods[k] = (struct engine_topology_module){NULL, c->comp[order[k]].nparams,
                                                  c->comp[order[k]].params};
        if ((mods[k].name = topo_arena_strdup(a, t->mods[c->comp[order[k]].module].name)) == NULL)
            goto cleanup;
    }
    img->modules = mods;
    img->nmodules = c->ncomp;
    const char **e = topo_arena_alloc(a, (nenv + 1) * sizeof(*e));
    if (e == NULL)
        goto cleanup;
    /* sorted, as the environment's table is */
    for (const char *const *cap = topo_env_caps(target); *cap; cap++)
        for (size_t k = 0; k < nenv; k++)
            if (strcmp(env[k], *cap) == 0)
                e[img->nenv++] = *cap;
    img->env = e;
    if (topo_img_security(c, img) < 0 || topo_img_functions_list(c, img) < 0)
        goto cleanup;
    if ((r = topo_img_tls_ports(c, img)) < 0)
        goto cleanup;
    r = -ENOMEM;
    if (c->ncomp > 0 &&
        (img->artifact = topo_arena_printf(a, "images/%s/%s.%s", t->nodes[node].name, c->level,
                                           engine_target_name(target))) == NULL)
        goto cleanup;
    r = 0;
cleanup:
    free(c);
    return r;
}

/* ---- the derived result ---- */

static int topo_derive(struct engine_topology_derived **out, const struct engine_topology *t,
                       const struct engine_topology_state *s, enum engine_target target,
                       int artifacts, struct engine_diag *d);

static int topo_derive_plan(struct engine_topology_derived *x, const struct engine_topology *t,
                            const struct engine_topology_state *s, size_t node,
                            struct engine_diag *d)
{
    const struct topo_node *n = &t->nodes[node];
    struct engine_topology_plan *p = &x->plans[node];
    struct engine_topology_image *imgs;
    int ports[64], np, bad = 0;

    p->node = topo_arena_strdup(&x->a, n->name);
    p->type = topo_arena_strdup(&x->a, n->pub.type);
    imgs = topo_arena_alloc(&x->a, n->pub.nlevels * sizeof(*imgs));
    if (p->node == NULL || p->type == NULL || imgs == NULL)
        return -ENOMEM;
    p->images = imgs;
    p->nimages = n->pub.nlevels;
    p->current = topo_state_level_index(s, node);
    for (size_t l = 0; l < n->pub.nlevels; l++) {
        int r = topo_derive_image(t, s, x->target, node, l, &x->a, &imgs[l], d);
        if (r == -ENOMEM)
            return r;
        bad |= r;
        /* the level's name must outlive T */
        if ((imgs[l].level = topo_arena_strdup(&x->a, n->pub.levels[l])) == NULL)
            return -ENOMEM;
    }
    np = topo_node_ports(t, s, node, NULL, ports, 64);
    int *pp = topo_arena_alloc(&x->a, (size_t)(np + 1) * sizeof(*pp));
    if (pp == NULL)
        return -ENOMEM;
    memcpy(pp, ports, (size_t)np * sizeof(*pp));
    p->ports = pp;
    p->nports = (size_t)np;
    if ((n->pub.host != NULL && (p->host = topo_arena_strdup(&x->a, n->pub.host)) == NULL) ||
        (n->pub.address != NULL && (p->address = topo_arena_strdup(&x->a, n->pub.address)) == NULL))
        return -ENOMEM;
    return bad;
}

/* Runs topo_derive with its messages collected apart, so that DIAG may be NULL. */
static int topo_derive_diag(struct engine_topology_derived **out, const struct engine_topology *t,
                            const struct engine_topology_state *s, enum engine_target target,
                            int artifacts, struct engine_diag *diag)
{
    struct engine_diag local;
    int r;

    engine_diag_init(&local);
    r = topo_derive(out, t, s, target, artifacts, &local);
    if (diag != NULL)
        engine_diag_move(diag, &local);
    engine_diag_free(&local);
    return r;
}

int engine_topology_derive(struct engine_topology_derived **out, const struct engine_topology *t,
                           const struct engine_topology_state *s, enum engine_target target,
                           struct engine_diag *diag)
{
    return topo_derive_diag(out, t, s, target, 1, diag);
}

int engine_topology_derive_plans(struct engine_topology_derived **out,
                                 const struct engine_topology *t,
                                 const struct engine_topology_state *s, enum engine_target target,
                                 struct engine_diag *diag)
{
    return topo_derive_diag(out, t, s, target, 0, diag);
}

static int topo_derive(struct engine_topology_derived **out, const struct engine_topology *t,
                       const struct engine_topology_state *s, enum engine_target target,
                       int artifacts, struct engine_diag *d)
{
    struct engine_topology_derived *x = calloc(1, sizeof(*x));
    struct engine_topology_state *def = NULL;
    int r = -ENOMEM, bad = 0;

    *out = NULL;
    if (x == NULL)
        return -ENOMEM;
    x->target = target;
    if (s == NULL && (r = engine_topology_state_new(&def, t)) < 0)
        goto fail;
    if (s == NULL)
        s = def;
    x->nplans = t->nnodes;
    if ((x->plans = topo_arena_alloc(&x->a, (t->nnodes + 1) * sizeof(*x->plans))) == NULL) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        if ((r = topo_derive_plan(x, t, s, i, d)) == -ENOMEM)
            goto fail;
        bad |= r;
    }
    if (!bad)
        bad = topo_place_ports_check(t, x, d);
    if (bad) {
        r = -EINVAL;
        goto fail;
    }
    /* Plans are in the topology's node order: its name index sorts them too. */
    if (t->nnodes > 0) {
        if ((x->index = topo_arena_alloc(&x->a, t->nnodes * sizeof(*x->index))) == NULL) {
            r = -ENOMEM;
            goto fail;
        }
        memcpy(x->index, t->node_index, t->nnodes * sizeof(*x->index));
    }
    if (artifacts && (r = topo_artifacts(x, t, s)) < 0)
        goto fail;
    engine_topology_state_free(def);
    *out = x;
    return 0;
fail:
    engine_topology_state_free(def);
    engine_topology_derived_free(x);
    return r;
}

void engine_topology_derived_free(struct engine_topology_derived *x)
{
    if (x == NULL)
        return;
    topo_arena_free(&x->a);
    free(x);
}

size_t engine_topology_derived_count(const struct engine_topology_derived *x)
{
    return x->nplans;
}

const struct engine_topology_plan *
engine_topology_derived_plan(const struct engine_topology_derived *x, size_t i)
{
    return i < x->nplans ? &x->plans[i] : NULL;
}

const struct engine_topology_plan *
engine_topology_derived_find(const struct engine_topology_derived *x, const char *node)
{
    int i = engine_name_index_find(x->index, x->plans, x->nplans, sizeof(*x->plans),
                                   offsetof(struct engine_topology_plan, node), node);
    return i < 0 ? NULL : &x->plans[i];
}
