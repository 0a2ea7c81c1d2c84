/* topology_node.c — node templates: type, properties, multi_level_security, requirements. */
#include "topology_carry.h"
#include "topology_int.h"
#include "topology_yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_LEVEL_SUFFIX "_security_level"

static const char *topo_prop_name_at(const void *arg, size_t i)
{
    return ((const struct topo_type *)arg)->eprops[i].def->name;
}

/* "a, b or c" from the names of TY's effective properties. */
static void topo_prop_names(const struct topo_type *ty, char *buf, size_t size)
{
    if (ty->neprops == 0)
        snprintf(buf, size, "none");
    else
        topo_join(buf, size, ty->neprops, topo_prop_name_at, ty, " or ");
}

/* One level of a multi_level_security map: NAME_security_level: FUNCTION | [FUNCTION, ...]. */
static int topo_load_level(struct topo_ld *ld, const char *node, struct topo_mls *mls,
                           yaml_node_t *k, yaml_node_t *v)
{
    const char *key = topo_ld_scalar(ld, k, "security level"), *s;
    size_t klen, slen = strlen(TOPO_LEVEL_SUFFIX);
    struct topo_level *lv;
    int bad = 0;

    if (key == NULL)
        return -EINVAL;
    klen = strlen(key);
    if (klen <= slen || strcmp(key + klen - slen, TOPO_LEVEL_SUFFIX) != 0)
        return topo_ld_err(ld, k,
                           "security level '%.64s': expected LEVEL_security_level, e.g. "
                           "default_security_level",
                           key);
    if ((lv = topo_push(&mls->levels, mls->nlevels, sizeof(*lv))) == NULL)
        return ld->oom = 1, -ENOMEM;
    mls->nlevels++;
    lv->pos = topo_ld_pos(ld, k);
    if ((lv->name = strndup(key, klen - slen)) == NULL)
        return ld->oom = 1, -ENOMEM;
    if (!topo_name_valid(lv->name) || strlen(lv->name) > 64)
        return topo_ld_err(ld, k,
                           "security level '%.64s': expected a level name of 1 to 64 characters "
                           "from [A-Za-z0-9_.-] before _security_level",
                           key);
    if (v->type != YAML_SCALAR_NODE && topo_ld_seq(ld, v, "security functions") < 0)
        return -EINVAL;
    size_t n = v->type == YAML_SCALAR_NODE
                   ? 1
                   : (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *f =
            v->type == YAML_SCALAR_NODE ? v : topo_ld_node(ld, v->data.sequence.items.start[i]);
        size_t *slot;
        int sf;
        if ((s = topo_ld_name(ld, f, "security function")) == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((sf = topo_sf_find(ld->t, s)) < 0) {
            bad = topo_ld_err(ld, f,
                              "node %s: property %s: unknown security function '%s'; expected "
                              "one defined under security_functions",
                              node, mls->prop, s);
            continue;
        }
        if ((slot = topo_push(&lv->sfs, lv->nsfs, sizeof(*slot))) == NULL)
            return ld->oom = 1, -ENOMEM;
        *slot = (size_t)sf;
        lv->nsfs++;
    }
    return bad;
}

static int topo_load_mls(struct topo_ld *ld, struct topo_node *n, const char *prop, yaml_node_t *k,
                         yaml_node_t *map)
{
    struct topo_mls *mls;
    int bad = 0, has_default = 0;

    if (topo_ld_map(ld, map, "multi_level_security", NULL) < 0)
        return -EINVAL;
    if ((mls = topo_push(&n->mls, n->nmls, sizeof(*mls))) == NULL)
        return ld->oom = 1, -ENOMEM;
    n->nmls++;
    mls->pos = topo_ld_pos(ld, k);
    if ((mls->prop = topo_ld_strdup(ld, prop)) == NULL)
        return -ENOMEM;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        int r =
            topo_load_level(ld, n->name, mls, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value));
        if (r == -ENOMEM)
            return r;
        bad |= r;
        if (r == 0 && strcmp(mls->levels[mls->nlevels - 1].name, "default") == 0)
            has_default = 1;
    }
    if (!bad && !has_default)
        return topo_ld_err(ld, map,
                           "node %s: property %s: expected a default_security_level (the level "
                           "every node starts at)",
                           n->name, prop);
    return bad;
}

/* Scalar property I of N set by function V: get_input of an input with a value takes that
 * value (3.4.1: inputs are resolved when the template is deployed, which a check is), and so
 * do concat, join and token of what is known then (4.3); any other function is kept for the
 * orchestrator and the property counts as set. */
static int topo_node_prop_function(struct topo_ld *ld, struct topo_node *n, size_t i,
                                   yaml_node_t *v, const char *what)
{
    yaml_node_t *arg = topo_ld_node(ld, v->data.mapping.pairs.start->value);
    const char *fn = (const char *)topo_ld_node(ld, v->data.mapping.pairs.start->key)
                         ->data.scalar.value,
               *why = NULL;
    char *canon = NULL, *shown = NULL;
    size_t slen;
    int secret = topo_function_secret(ld, v);

    if (n->fnset == NULL && (n->fnset = calloc(n->pub.nprops, 1)) == NULL)
        return ld->oom = 1, -ENOMEM;
    n->fnset[i] = 1;
    /* a secret input's value is shown as the function that takes it, and quoted nowhere */
    if (secret && topo_yaml_line(ld->doc, v, &shown, &slen) == -ENOMEM)
        return ld->oom = 1, -ENOMEM;
    while (shown != NULL && slen > 0 && shown[slen - 1] == '\n')
        shown[--slen] = '\0';
    free((char *)n->props[i].secret);
    n->props[i].secret = shown;
    if (strcmp(fn, "concat") == 0 || strcmp(fn, "join") == 0 || strcmp(fn, "token") == 0) {
        char *s;
        int r = topo_function_eval(ld, v, what, &s);
        if (r <= 0)
            return r; /* 0: known at run time only, kept */
        r = engine_topology_value_parse(&canon, n->props[i].type, s, &why);
        if (r < 0 && r != -ENOMEM)
            r = topo_ld_err(ld, v, "%s: %s gives '%.64s', not %s %s: %s", what, fn,
                            secret ? "(a secret input's value)" : s,
                            n->props[i].type == ENGINE_TOPOLOGY_INTEGER ? "an" : "a",
                            engine_topology_type_name(n->props[i].type), why);
        free(s);
        if (r < 0)
            return r == -ENOMEM ? (ld->oom = 1, r) : r;
        n->props[i].value = canon;
        n->fnset[i] = 0;
        return 0;
    }
    if (strcmp(fn, "get_input") != 0 || arg->type != YAML_SCALAR_NODE)
        return 0;
    for (size_t j = 0; j < ld->t->ninputs; j++) {
        const struct topo_input *in = &ld->t->inputs[j];
        if (strcmp(in->def.name, (const char *)arg->data.scalar.value) != 0 || in->value == NULL)
            continue;
        int r = engine_topology_value_parse(&canon, n->props[i].type, in->value, &why);
        if (r == -ENOMEM)
            return ld->oom = 1, r;
        if (r < 0)
            return topo_ld_err(ld, v, "%s: input %s is '%.64s', not %s %s: %s", what, in->def.name,
                               secret ? "(secret)" : in->value,
                               n->props[i].type == ENGINE_TOPOLOGY_INTEGER ? "an" : "a",
                               engine_topology_type_name(n->props[i].type), why);
        n->props[i].value = canon;
        n->fnset[i] = 0;
        return 0;
    }
    return 0;
}

/* A property assignment: a scalar of the type's property, or a multi_level_security map. */
static int topo_load_prop(struct topo_ld *ld, struct topo_node *n, const struct topo_type *ty,
                          yaml_node_t *k, yaml_node_t *v)
{
    const char *name = topo_ld_name(ld, k, "property");
    yaml_node_t *mls;
    char what[256];
    size_t i;

    if (name == NULL)
        return -EINVAL;
    if (v->type == YAML_MAPPING_NODE && (mls = topo_ld_get(ld, v, "multi_level_security"))) {
        if (v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
            return topo_ld_err(ld, v,
                               "node %s: property %s: expected multi_level_security as "
                               "its only key",
                               n->name, name);
        if (topo_eprop_find(ty, name) != NULL)
            return topo_ld_err(ld, k,
                               "node %s: property %s is a scalar of type %s; expected the "
                               "multi_level_security map under a property name of its own",
                               n->name, name, ty->name);
        for (i = 0; i < n->nmls; i++)
            if (strcmp(n->mls[i].prop, name) == 0)
                return topo_ld_err(ld, k, "node %s: property %s is given twice", n->name, name);
        return topo_load_mls(ld, n, name, k, mls);
    }
    for (i = 0; i < n->pub.nprops && strcmp(n->props[i].name, name) != 0; i++)
        ;
    if (i == n->pub.nprops) {
        char list[512];
        int r = topo_node_tosca_prop(ld, n, name, k, v);
        if (r != 0)
            return r < 0 ? r : 0;
        topo_prop_names(ty, list, sizeof(list));
        return topo_ld_err(ld, k,
                           "node %s: type %s has no property '%s'; expected %s, or a "
                           "multi_level_security map",
                           n->name, ty->name, name, list);
    }
    snprintf(what, sizeof(what), "node %s: property %s", n->name, name);
    free((char *)n->props[i].value);
    n->props[i].value = NULL;
    switch (topo_function_check(ld, v, what)) {
    case 0:
        break;
    case 1:
        return topo_node_prop_function(ld, n, i, v, what);
    default:
        return -EINVAL;
    }
    if (topo_ld_value(ld, v, n->props[i].type, what, (char **)&n->props[i].value) < 0)
        return -EINVAL;
    if (ty->eprops[i].def->ncons > 0 && topo_value_check(ld, v, ty->eprops[i].def, what) < 0)
        return -EINVAL; /* TOSCA constraints (3.6.3) on a scalar */
    if (ty->eprops[i].def->listen) {
        long long port = strtoll(n->props[i].value, NULL, 10);
        if (port < 1 || port > 65535)
            return topo_ld_err(ld, v, "%s: port %lld: expected 1 to 65535", what, port);
    }
    return 0;
}

/* The node's scalar properties start at the type's defaults. */
static int topo_node_props_init(struct topo_ld *ld, struct topo_node *n, const struct topo_type *ty)
{
    if (ty->neprops == 0)
        return 0;
    if ((n->props = calloc(ty->neprops, sizeof(*n->props))) == NULL)
        return ld->oom = 1, -ENOMEM;
    n->pub.props = n->props;
    for (size_t i = 0; i < ty->neprops; i++) {
        n->props[i].name = ty->eprops[i].def->name;
        n->props[i].type = ty->eprops[i].def->type;
        n->pub.nprops++;
        if (ty->eprops[i].deflt && (n->props[i].value = strdup(ty->eprops[i].deflt)) == NULL)
            return ld->oom = 1, -ENOMEM;
    }
    return 0;
}

/* Every required property has a value. */
static int topo_node_props_required(struct topo_ld *ld, struct topo_node *n,
                                    const struct topo_type *ty, yaml_node_t *at)
{
    int bad = 0;
    for (size_t i = 0; i < ty->neprops; i++)
        if (ty->eprops[i].def->required && n->props[i].value == NULL &&
            !(n->fnset != NULL && n->fnset[i]))
            bad = topo_ld_err(ld, at,
                              "node %s: property %s (%s) is required by type %s and has no "
                              "default; expected a value under properties",
                              n->name, n->props[i].name,
                              engine_topology_type_name(n->props[i].type), ty->name);
    return bad;
}

/* The node's levels: default first, then every other level in order of first appearance. */
static int topo_node_levels(struct topo_ld *ld, struct topo_node *n)
{
    char **slot;

    if ((slot = topo_push(&n->levels, 0, sizeof(*slot))) == NULL ||
        (*slot = strdup("default")) == NULL)
        return ld->oom = 1, -ENOMEM;
    n->pub.nlevels = 1;
    n->pub.levels = (const char *const *)n->levels;
    for (size_t m = 0; m < n->nmls; m++)
        for (size_t l = 0; l < n->mls[m].nlevels; l++) {
            const char *name = n->mls[m].levels[l].name;
            if (engine_topology_node_level_index(&n->pub, name) >= 0)
                continue;
            if ((slot = topo_push(&n->levels, n->pub.nlevels, sizeof(*slot))) == NULL ||
                (*slot = strdup(name)) == NULL)
                return ld->oom = 1, -ENOMEM;
            n->pub.nlevels++;
            n->pub.levels = (const char *const *)n->levels;
        }
    n->pub.levels = (const char *const *)n->levels;
    return 0;
}

/* A relationship type (normative or the topology's) or a relationship template. */
static int topo_relationship_known(const struct engine_topology *t, const char *rel)
{
    if (topo_tdef_find(t, TOPO_K_RELATIONSHIP, rel) >= 0)
        return 1;
    for (size_t i = 0; i < t->nrtemplates; i++)
        if (strcmp(t->rtemplates[i], rel) == 0)
            return 1;
    return 0;
}

static int topo_load_nreq(struct topo_ld *ld, struct topo_node *n, yaml_node_t *item)
{
    yaml_node_pair_t *p;
    yaml_node_t *k, *v, *x = NULL;
    const char *name, *target, *rel = NULL;
    struct topo_nreq *r;
    int abstract = 0;
    long count = 1;

    if (topo_ld_map(ld, item, "requirement", NULL) < 0)
        return -EINVAL;
    if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
        return topo_ld_err(ld, item, "node %s: requirement: expected one NAME: NODE per entry",
                           n->name);
    p = item->data.mapping.pairs.start;
    k = topo_ld_node(ld, p->key);
    v = topo_ld_node(ld, p->value);
    if ((name = topo_ld_name(ld, k, "requirement")) == NULL)
        return -EINVAL;
    if (v->type == YAML_MAPPING_NODE) {
        yaml_node_t *tv;
        if (topo_nreq_long(ld, n->name, name, v, &tv, &rel, &x, &count) < 0)
            return -EINVAL;
        v = tv != NULL ? tv : v;
        abstract = tv == NULL;
    }
    if (abstract)
        target = NULL;
    else if ((target = topo_ld_name(ld, v, "requirement target")) == NULL)
        return -EINVAL;
    else if (topo_node_find(ld->t, target) < 0 && topo_tdef_find(ld->t, TOPO_K_NODE, target) >= 0)
        abstract = 1; /* a node type: the orchestrator selects a node (3.8.2) */
    if (rel != NULL && !topo_relationship_known(ld->t, rel))
        return topo_ld_err(ld, x,
                           "node %s: requirement %s: relationship '%s': expected a relationship "
                           "type (tosca.relationships.DependsOn, HostedOn, ConnectsTo, "
                           "AttachesTo, RoutesTo or one of relationship_types) or a "
                           "relationship template",
                           n->name, name, rel);
    if ((r = topo_push(&n->reqs, n->nreqs, sizeof(*r))) == NULL)
        return ld->oom = 1, -ENOMEM;
    n->nreqs++;
    r->pos = topo_ld_pos(ld, v);
    r->abstract = abstract;
    r->count = count;
    if ((r->name = topo_ld_strdup(ld, name)) == NULL ||
        (target != NULL && (r->node = topo_ld_strdup(ld, target)) == NULL) ||
        (rel != NULL && (r->relationship = topo_ld_strdup(ld, rel)) == NULL))
        return -ENOMEM;
    return 0;
}

/* At most one function of each mechanism applies to a node at a level. */
static int topo_node_check_mechs(struct topo_ld *ld, const struct topo_node *n)
{
    int bad = 0;

    for (size_t l = 0; l < n->pub.nlevels; l++) {
        const struct topo_level *seen[TOPO_MECH_MAX] = {0};
        size_t seen_sf[TOPO_MECH_MAX] = {0};
        for (size_t m = 0; m < n->nmls; m++) {
            const struct topo_level *lv = topo_mls_level(&n->mls[m], n->pub.levels[l]);
            for (size_t i = 0; lv != NULL && i < lv->nsfs; i++) {
                const struct topo_sf *sf = &ld->t->sfs[lv->sfs[i]];
                if (seen[sf->mech] == NULL) {
                    seen[sf->mech] = lv;
                    seen_sf[sf->mech] = lv->sfs[i];
                    continue;
                }
                if (seen_sf[sf->mech] == lv->sfs[i] && seen[sf->mech] == lv)
                    continue;
                bad = topo_diag_at(ld->d, &lv->pos,
                                   "node %s at level %s: security functions %s and %s are both "
                                   "%s; expected at most one %s function per level",
                                   n->name, n->pub.levels[l], ld->t->sfs[seen_sf[sf->mech]].name,
                                   sf->name, topo_mech_name(sf->mech), topo_mech_name(sf->mech));
                ld->errors++;
            }
        }
    }
    return bad;
}

static int topo_load_node_body(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    static const char *const keys[] = {
        "type",       "description",  "metadata",   "properties", "requirements",
        "attributes", "capabilities", "interfaces", "artifacts",  "node_filter",
        "copy",       "directives",   NULL};
    const char *name = topo_ld_name(ld, k, "node"), *tname;
    struct topo_node *n;
    yaml_node_t *x;
    int ti, bad = 0, r;

    if (name == NULL || topo_ld_map(ld, v, name, keys) < 0)
        return -EINVAL;
    if ((n = topo_push(&ld->t->nodes, ld->t->nnodes, sizeof(*n))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->nnodes++;
    ld->self = (int)ld->t->nnodes; /* SELF of the functions in its properties, ... */
    n->pos = topo_ld_pos(ld, k);
    n->tdef = -1;
    if ((n->name = topo_ld_strdup(ld, name)) == NULL)
        return -ENOMEM;
    n->pub.name = n->name;
    if ((x = topo_ld_get(ld, v, "type")) == NULL)
        return topo_ld_err(ld, v, "node %s: expected a key 'type'", name);
    if ((tname = topo_ld_tname(ld, x, "node type")) == NULL)
        return -EINVAL;
    if ((ti = topo_type_use(ld->t, tname, ld->d)) == -ENOMEM)
        return ld->oom = 1, -ENOMEM;
    if (ti < 0)
        return topo_ld_err(ld, x,
                           "node %s: unknown type '%s'; expected a type of node_types or "
                           "unikernel_modules, or a normative TOSCA node type",
                           name, tname);
    n->type = (size_t)ti;
    n->pub.type = ld->t->types[ti].name;
    const struct topo_type *ty = &ld->t->types[ti];
    n->tdef = topo_tdef_find(ld->t, TOPO_K_NODE, ty->name);
    if (n->tdef < 0) /* a unikernel type with no node_types entry */
        n->tdef = topo_tdef_find(ld->t, TOPO_K_NODE, ty->normative);
    n->runs = ty->nmods > 0;
    if ((r = topo_node_props_init(ld, n, ty)) < 0)
        return r;
    n->typed = 1;
    if ((x = topo_ld_get(ld, v, "description")) != NULL && !topo_ld_scalar(ld, x, "description"))
        bad = -EINVAL;
    if ((x = topo_ld_get(ld, v, "metadata")) != NULL)
        bad |= topo_ld_map(ld, x, "metadata", NULL);
    if ((x = topo_ld_get(ld, v, "properties")) != NULL) {
        if (topo_ld_map(ld, x, "properties", NULL) < 0)
            return -EINVAL;
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top;
             p++) {
            if ((r = topo_load_prop(ld, n, ty, topo_ld_node(ld, p->key),
                                    topo_ld_node(ld, p->value))) == -ENOMEM)
                return r;
            bad |= r;
        }
    }
    if (!bad) /* a property whose value was refused would be reported twice */
        bad = topo_node_props_required(ld, n, ty, k);
    if (!bad)
        bad = topo_node_tosca_required(ld, n, topo_ld_get(ld, v, "properties"), k);
    if ((r = topo_node_tosca(ld, n, v)) == -ENOMEM)
        return r;
    bad |= r;
    if (!bad && topo_node_carry(ld, n, v) < 0)
        return ld->oom = 1, -ENOMEM;
    ld->self = 0; /* SELF in a requirement's relationship is the relationship */
    if ((x = topo_ld_get(ld, v, "requirements")) != NULL) {
        if (topo_ld_seq(ld, x, "requirements") < 0)
            return -EINVAL;
        for (yaml_node_item_t *i = x->data.sequence.items.start; i < x->data.sequence.items.top;
             i++) {
            if ((r = topo_load_nreq(ld, n, topo_ld_node(ld, *i))) == -ENOMEM)
                return r;
            bad |= r;
        }
    }
    if ((r = topo_node_levels(ld, n)) < 0)
        return r;
    return bad ? bad : topo_node_check_mechs(ld, n);
}

int topo_load_node(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    int r = topo_load_node_body(ld, k, v);
    ld->self = 0;
    return r;
}

/* Does node N listen on some port? A node unisec does not run (D_TOSCA's nodes read back, a
 * Compute-hosted application) is taken as listening: its address and ports are the
 * orchestrator's, and it gives a load balancer unisec runs no backend (topology_derive.c). */
static int topo_node_listens(const struct engine_topology *t, const struct topo_node *n)
{
    const struct topo_type *ty;
    if (!n->typed || !n->runs)
        return 1; /* its type failed (that error is reported already), or not run */
    ty = &t->types[n->type];
    for (size_t i = 0; i < ty->neprops; i++)
        if (ty->eprops[i].def->listen && n->props[i].value != NULL)
            return 1;
    return 0;
}

int topo_nodes_link(struct engine_topology *t, struct engine_diag *d)
{
    static const struct topo_type untyped = {.builtin = -1};
    int bad = 0;

    for (size_t i = 0; i < t->nnodes; i++) {
        struct topo_node *n = &t->nodes[i];
        const struct topo_type *ty = n->typed ? &t->types[n->type] : &untyped;
        int backends = 0;
        for (size_t j = 0; j < n->nreqs; j++) {
            struct topo_nreq *r = &n->reqs[j];
            if (r->abstract)
                continue;
            int target = topo_node_find(t, r->node);
            if (ty->builtin >= 0 && strcmp(r->name, "application") == 0)
                backends++;
            /* A node requiring itself is refused where unisec gives the requirement meaning (a
             * node it runs: a balancer routing to itself); TOSCA forbids it nowhere, so for a
             * node unisec does not run it is judged like any other target, by the capability
             * and node type its definition names (topo_nodes_reqs_check). */
            if (target < 0 ||
                ((size_t)target == i &&
                 (n->runs || n->tdef < 0 || topo_tdef_req(t, n->tdef, r->name) == NULL))) {
                bad = topo_diag_at(d, &r->pos,
                                   "node %s: requirement %s is unmet: %s '%s'; expected another "
                                   "node of node_templates",
                                   n->name, r->name,
                                   target < 0 ? "there is no node" : "a node cannot require itself",
                                   r->node);
                continue;
            }
            r->target = (size_t)target;
            if (ty->builtin < 0 || strcmp(r->name, "application") != 0)
                continue;
            if (!topo_node_listens(t, &t->nodes[target]))
                bad = topo_diag_at(d, &r->pos,
                                   "node %s: requirement application is unmet: node %s listens "
                                   "on no port; expected a node whose modules declare a "
                                   "listening port (e.g. dispatch's http_port)",
                                   n->name, r->node);
        }
        if (ty->builtin >= 0 && backends == 0 && ty->nmods > 0)
            bad = topo_diag_at(d, &n->pos,
                               "node %s (%s) has no backend; expected a requirement "
                               "'application: NODE'",
                               n->name, ty->name);
    }
    return bad;
}
