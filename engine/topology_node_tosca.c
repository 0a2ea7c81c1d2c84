/* topology_node_tosca.c — what a node template holds beyond unisec's model (Simple Profile
 * 3.8.3): TOSCA properties of its type, capabilities, attributes, interfaces (kept, never
 * run), artifacts, node_filter, copy, directives, and the long form of requirements. */
#include "topology_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int topo_node_tosca_prop(struct topo_ld *ld, struct topo_node *n, const char *name, yaml_node_t *k,
                         yaml_node_t *v)
{
    const struct topo_propdef *pd = n->tdef >= 0 ? topo_tdef_prop(ld->t, n->tdef, name, 0) : NULL;
    char what[256];

    (void)k;
    if (pd == NULL)
        return 0;
    snprintf(what, sizeof(what), "node %s: property %s", n->name, name);
    return topo_value_check(ld, v, pd, what) < 0 ? -EINVAL : 1;
}

struct topo_required_arg {
    struct topo_ld *ld;
    struct topo_node *n;
    yaml_node_t *props, *at;
    int bad;
};

static int topo_required_one(const struct topo_propdef *p, void *argp)
{
    struct topo_required_arg *a = argp;
    if (!p->required || p->has_default || (p->scalar && p->def != NULL) ||
        topo_ld_get(a->ld, a->props, p->name) != NULL)
        return 0;
    if (topo_eprop_find(&a->ld->t->types[a->n->type], p->name) != NULL)
        return 0; /* a unisec scalar: checked with the node's other scalars */
    a->bad = topo_ld_err(a->ld, a->at,
                         "node %s: property %s is required by type %s and has no default; "
                         "expected a value under properties",
                         a->n->name, p->name, a->ld->t->types[a->n->type].name);
    return 0;
}

int topo_node_tosca_required(struct topo_ld *ld, struct topo_node *n, yaml_node_t *props,
                             yaml_node_t *at)
{
    struct topo_required_arg a = {ld, n, props, at, 0};
    if (n->tdef < 0)
        return 0;
    topo_tdef_props_each(ld->t, n->tdef, 0, topo_required_one, &a);
    return a.bad;
}

/* capabilities: NAME: {properties, attributes, occurrences} against the type's definitions. */
static int topo_node_caps(struct topo_ld *ld, struct topo_node *n, yaml_node_t *caps)
{
    static const char *const keys[] = {"properties", "attributes", "occurrences", NULL};
    static const struct topo_since since[] = {{"occurrences", 13, "3.8.1"}, {NULL, 0, NULL}};
    char what[256];
    int bad = 0;

    if (topo_ld_map(ld, caps, "capabilities", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = caps->data.mapping.pairs.start; p < caps->data.mapping.pairs.top;
         p++) {
        const char *name = topo_ld_key(ld, p);
        yaml_node_t *v = topo_ld_node(ld, p->value), *x;
        const struct topo_cap *c = topo_tdef_cap(ld->t, n->tdef, name);
        int ct;
        if (c == NULL) {
            bad = topo_ld_err(ld, topo_ld_node(ld, p->key),
                              "node %s: type %s has no capability '%.64s'", n->name,
                              ld->t->tdefs[n->tdef].name, name);
            continue;
        }
        if (topo_ld_empty(v))
            continue;
        if (topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        bad |= topo_ld_since_keys(ld, v, since);
        ct = c->type ? topo_tdef_find(ld->t, TOPO_K_CAPABILITY, c->type) : -1;
        for (int attr = 0; attr < 2; attr++) {
            if ((x = topo_ld_get(ld, v, attr ? "attributes" : "properties")) == NULL ||
                topo_ld_empty(x))
                continue;
            if (topo_ld_map(ld, x, attr ? "attributes" : "properties", NULL) < 0) {
                bad = -EINVAL;
                continue;
            }
            for (yaml_node_pair_t *q = x->data.mapping.pairs.start; q < x->data.mapping.pairs.top;
                 q++) {
                const char *pn = topo_ld_key(ld, q);
                const struct topo_propdef *pd = ct >= 0 ? topo_tdef_prop(ld->t, ct, pn, attr) : 0;
                if (pd == NULL) {
                    bad =
                        topo_ld_err(ld, topo_ld_node(ld, q->key),
                                    "node %s: capability %s (%s) has no %s '%.64s'", n->name, name,
                                    c->type ? c->type : "?", attr ? "attribute" : "property", pn);
                    continue;
                }
                snprintf(what, sizeof(what), "node %s: capability %s: %s %s", n->name, name,
                         attr ? "attribute" : "property", pn);
                bad |= topo_value_check(ld, topo_ld_node(ld, q->value), pd, what);
            }
        }
    }
    return bad;
}

/* attributes: NAME: VALUE, each an attribute of the type. */
static int topo_node_attrs(struct topo_ld *ld, struct topo_node *n, yaml_node_t *attrs)
{
    char what[256];
    int bad = 0;

    if (topo_ld_map(ld, attrs, "attributes", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = attrs->data.mapping.pairs.start; p < attrs->data.mapping.pairs.top;
         p++) {
        const char *name = topo_ld_key(ld, p);
        const struct topo_propdef *pd = topo_tdef_prop(ld->t, n->tdef, name, 1);
        if (pd == NULL) {
            bad = topo_ld_err(ld, topo_ld_node(ld, p->key),
                              "node %s: type %s has no attribute '%.64s'", n->name,
                              ld->t->tdefs[n->tdef].name, name);
            continue;
        }
        snprintf(what, sizeof(what), "node %s: attribute %s", n->name, name);
        yaml_node_t *v = topo_ld_node(ld, p->value);
        int r = topo_value_check(ld, v, pd, what);
        bad |= r;
        /* A Compute node's address, for placement (topology_place.c checks it). */
        if (r == 0 && strcmp(name, "private_address") == 0 && v->type == YAML_SCALAR_NODE &&
            n->address == NULL &&
            (n->address = topo_ld_strdup(ld, (char *)v->data.scalar.value)) == NULL)
            return -ENOMEM;
    }
    return bad;
}

/* An operation: IMPLEMENTATION or {description, implementation, inputs, ...}. */
static int topo_operation(struct topo_ld *ld, const yaml_node_t *v, const char *what)
{
    static const char *const keys[] = {"description", "implementation", "inputs", "outputs", NULL};
    static const struct topo_since since[] = {{"outputs", 13, "3.6.17"}, {NULL, 0, NULL}};
    yaml_node_t *x;
    int bad = 0;

    if (v->type == YAML_SCALAR_NODE)
        return 0;
    if (topo_ld_map(ld, v, what, keys) < 0)
        return -EINVAL;
    bad = topo_ld_since_keys(ld, v, since);
    if ((x = topo_ld_get(ld, v, "inputs")) != NULL && !topo_ld_empty(x)) {
        if (topo_ld_map(ld, x, "inputs", NULL) < 0)
            return -EINVAL;
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top; p++)
            if (topo_function_check(ld, topo_ld_node(ld, p->value), what) < 0)
                bad = -EINVAL;
    }
    return bad;
}

/* interfaces: NAME: {inputs, operations, OPERATION: ...}; each operation of its type. */
static int topo_node_ifaces(struct topo_ld *ld, struct topo_node *n, yaml_node_t *ifs)
{
    char what[256];
    int bad = 0;

    if (topo_ld_map(ld, ifs, "interfaces", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = ifs->data.mapping.pairs.start; p < ifs->data.mapping.pairs.top;
         p++) {
        const char *name = topo_ld_key(ld, p);
        yaml_node_t *v = topo_ld_node(ld, p->value);
        const struct topo_cap *c = topo_tdef_iface(ld->t, n->tdef, name);
        int it = c ? topo_tdef_find(ld->t, TOPO_K_INTERFACE, c->type) : -1;
        if (c == NULL) {
            bad = topo_ld_err(ld, topo_ld_node(ld, p->key),
                              "node %s: type %s has no interface '%.64s'", n->name,
                              ld->t->tdefs[n->tdef].name, name);
            continue;
        }
        if (topo_ld_empty(v))
            continue;
        if (topo_ld_map(ld, v, name, NULL) < 0) {
            bad = -EINVAL;
            continue;
        }
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
             q++) {
            const char *op = topo_ld_key(ld, q);
            snprintf(what, sizeof(what), "node %s: interface %s: %s", n->name, name, op);
            if (strcmp(op, "inputs") == 0 || strcmp(op, "type") == 0)
                continue;
            if (strcmp(op, "operations") != 0 && it >= 0 && !topo_tdef_has_op(ld->t, it, op) &&
                !topo_tdef_has_op(ld->t, n->tdef, op)) {
                bad = topo_ld_err(ld, topo_ld_node(ld, q->key),
                                  "node %s: interface %s (%s) has no operation '%.64s'", n->name,
                                  name, c->type, op);
                continue;
            }
            if (strcmp(op, "operations") != 0)
                bad |= topo_operation(ld, topo_ld_node(ld, q->value), what);
        }
    }
    return bad;
}

/* artifacts: NAME: FILE or {type, file, repository, description, deploy_path, ...}. */
static int topo_node_artifacts(struct topo_ld *ld, struct topo_node *n, yaml_node_t *arts)
{
    static const char *const keys[] = {"type",        "file",    "repository", "description",
                                       "deploy_path", "version", "checksum",   "checksum_algorithm",
                                       "properties",  NULL};
    static const struct topo_since since[] = {
        {"checksum", 13, "3.6.7"}, {"checksum_algorithm", 13, "3.6.7"}, {NULL, 0, NULL}};
    int bad = 0;

    if (topo_ld_map(ld, arts, "artifacts", NULL) < 0)
        return -EINVAL;
    if (topo_ld_keys(ld, arts, &n->arts, &n->narts) < 0)
        return -ENOMEM;
    for (yaml_node_pair_t *p = arts->data.mapping.pairs.start; p < arts->data.mapping.pairs.top;
         p++) {
        const char *name = topo_ld_key(ld, p);
        yaml_node_t *v = topo_ld_node(ld, p->value), *x;
        const char *s;
        if (v->type == YAML_SCALAR_NODE) {
            if (topo_ld_scalar(ld, v, name) == NULL)
                bad = -EINVAL;
            continue;
        }
        if (topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        bad |= topo_ld_since_keys(ld, v, since);
        if ((x = topo_ld_get(ld, v, "file")) == NULL)
            bad = topo_ld_err(ld, v, "node %s: artifact %s: expected a key 'file'", n->name, name);
        if ((x = topo_ld_get(ld, v, "type")) != NULL && (s = topo_ld_tname(ld, x, "type")) &&
            topo_tdef_find(ld->t, TOPO_K_ARTIFACT, s) < 0)
            bad = topo_ld_err(ld, x, "node %s: artifact %s: unknown artifact type '%s'", n->name,
                              name, s);
    }
    return bad;
}

/* node_filter: {properties: [{NAME: CONSTRAINT...}], capabilities: [{NAME: {properties}}]} */
int topo_ld_node_filter(struct topo_ld *ld, const yaml_node_t *f, const char *what)
{
    static const char *const keys[] = {"properties", "capabilities", NULL};
    yaml_node_t *x;
    int bad = 0;

    if (topo_ld_map(ld, f, what, keys) < 0)
        return -EINVAL;
    for (int i = 0; i < 2; i++)
        if ((x = topo_ld_get(ld, f, keys[i])) != NULL && topo_ld_seq(ld, x, keys[i]) < 0)
            bad = -EINVAL;
    return bad;
}

int topo_node_tosca(struct topo_ld *ld, struct topo_node *n, yaml_node_t *v)
{
    static const struct topo_since since[] = {{"metadata", 12, "3.8.3"}, {NULL, 0, NULL}};
    yaml_node_t *x;
    char what[160];
    int bad = topo_ld_since_keys(ld, v, since);

    snprintf(what, sizeof(what), "node %s: node_filter", n->name);
    if (n->tdef < 0)
        return 0;
    if ((x = topo_ld_get(ld, v, "capabilities")) != NULL && !topo_ld_empty(x))
        bad |= topo_node_caps(ld, n, x);
    if ((x = topo_ld_get(ld, v, "attributes")) != NULL && !topo_ld_empty(x))
        bad |= topo_node_attrs(ld, n, x);
    if ((x = topo_ld_get(ld, v, "interfaces")) != NULL && !topo_ld_empty(x))
        bad |= topo_node_ifaces(ld, n, x);
    if ((x = topo_ld_get(ld, v, "artifacts")) != NULL && !topo_ld_empty(x))
        bad |= topo_node_artifacts(ld, n, x);
    if ((x = topo_ld_get(ld, v, "node_filter")) != NULL)
        bad |= topo_ld_node_filter(ld, x, what);
    if ((x = topo_ld_get(ld, v, "directives")) != NULL) {
        if (topo_ld_seq(ld, x, "directives") < 0)
            bad = -EINVAL;
        else
            for (yaml_node_item_t *i = x->data.sequence.items.start; i < x->data.sequence.items.top;
                 i++)
                if (topo_ld_name(ld, topo_ld_node(ld, *i), "directive") == NULL)
                    bad = -EINVAL;
    }
    if ((x = topo_ld_get(ld, v, "copy")) != NULL) {
        if (topo_ld_name(ld, x, "copy") == NULL)
            bad = -EINVAL;
        else
            bad |= topo_ref_add(ld, x, "copy");
    }
    return bad;
}

/* A requirement assignment's occurrences (1.3 3.8.2): how many times it counts, an integer
 * of 0 or more (bounded, so that sums stay exact). */
static int topo_nreq_count(struct topo_ld *ld, const char *node, const char *name,
                           const yaml_node_t *x, long *count)
{
    const char *s = x->type == YAML_SCALAR_NODE ? (const char *)x->data.scalar.value : "";
    char *end;

    *count = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *count < 0 || *count > INT_MAX)
        return topo_ld_err(ld, x,
                           "node %s: requirement %s: occurrences '%.32s': expected an integer of "
                           "0 or more, how many times the assignment counts (TOSCA 1.3 3.8.2)",
                           node, name, s);
    return 0;
}

int topo_nreq_long(struct topo_ld *ld, const char *node, const char *name, yaml_node_t *v,
                   yaml_node_t **target, const char **rel, yaml_node_t **reln, long *count)
{
    static const char *const keys[] = {
        "node", "capability", "relationship", "node_filter", "occurrences", "description", NULL};
    static const char *const rkeys[] = {"type", "properties", "interfaces", NULL};
    static const struct topo_since since[] = {{"occurrences", 13, "3.8.2"}, {NULL, 0, NULL}};
    char what[160];
    yaml_node_t *x;

    *target = NULL;
    *rel = NULL;
    *reln = NULL;
    *count = 1;
    if (topo_ld_map(ld, v, "requirement", keys) < 0 || topo_ld_since_keys(ld, v, since) < 0)
        return -EINVAL;
    if ((x = topo_ld_get(ld, v, "occurrences")) != NULL &&
        topo_nreq_count(ld, node, name, x, count) < 0)
        return -EINVAL;
    if ((x = topo_ld_get(ld, v, "relationship")) != NULL) {
        *reln = x;
        if (x->type == YAML_MAPPING_NODE) {
            if (topo_ld_map(ld, x, "relationship", rkeys) < 0)
                return -EINVAL;
            if ((*reln = topo_ld_get(ld, x, "type")) == NULL)
                return topo_ld_err(ld, x, "node %s: requirement %s: expected a key 'type'", node,
                                   name);
        }
        if ((*rel = topo_ld_tname(ld, *reln, "relationship")) == NULL)
            return -EINVAL;
    }
    if ((x = topo_ld_get(ld, v, "capability")) != NULL && !topo_ld_tname(ld, x, "capability"))
        return -EINVAL;
    snprintf(what, sizeof(what), "node %s: requirement %s: node_filter", node, name);
    if ((x = topo_ld_get(ld, v, "node_filter")) != NULL && topo_ld_node_filter(ld, x, what) < 0)
        return -EINVAL;
    *target = topo_ld_get(ld, v, "node");
    if (*target == NULL && topo_ld_get(ld, v, "capability") == NULL &&
        topo_ld_get(ld, v, "node_filter") == NULL)
        return topo_ld_err(ld, v, "node %s: requirement %s: expected a key 'node'", node, name);
    return 0;
}

/* Whether one of node N's unikernel modules declares capability CAP (a name or a type). */
static int topo_node_offers_module(const struct engine_topology *t, const struct topo_node *n,
                                   const char *cap)
{
    const struct topo_type *ty = &t->types[n->type];
    int ci = topo_tdef_find(t, TOPO_K_CAPABILITY, cap);

    for (size_t i = 0; n->typed && i < ty->nmods; i++) {
        const struct topo_module *m = &t->mods[ty->mods[i]];
        for (size_t k = 0; k < m->ncaps; k++)
            if (strcmp(m->caps[k].name, cap) == 0 || strcmp(m->caps[k].type, cap) == 0 ||
                (ci >= 0 &&
                 topo_tdef_is_a(t, topo_tdef_find(t, TOPO_K_CAPABILITY, m->caps[k].type), cap)))
                return 1;
    }
    return 0;
}

/* Whether node N offers capability CAP (a name or a type): its TOSCA type's capabilities, and
 * those its unikernel modules declare in their manifests (a web server's Endpoint). */
static int topo_node_offers(const struct engine_topology *t, const struct topo_node *n,
                            const char *cap)
{
    return topo_tdef_offers(t, n->tdef, cap) || topo_node_offers_module(t, n, cap);
}

/* The node types capability definition C admits as sources: its valid_source_types, else its
 * capability type's (nearest along derived_from); *N 0: any (3.7.2, 3.7.7). */
static char *const *topo_cap_vst(const struct engine_topology *t, const struct topo_cap *c,
                                 size_t *n)
{
    char *const *v = c->vst;

    *n = c->nvst;
    for (int j = topo_tdef_find(t, TOPO_K_CAPABILITY, c->type), hops = 0;
         *n == 0 && j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        v = t->tdefs[j].vst;
        *n = t->tdefs[j].nvst;
    }
    return v;
}

static int topo_cap_admits(const struct engine_topology *t, const struct topo_cap *c, int src)
{
    size_t n;
    char *const *v = topo_cap_vst(t, c, &n);

    for (size_t i = 0; i < n; i++)
        if (topo_tdef_is_a(t, src, v[i]))
            return 1;
    return n == 0;
}

/* The first capability of node type TI that matches CAP (name or type) but does not admit source
 * type SRC, when none that matches admits it; else NULL. */
static const struct topo_cap *topo_tdef_refuses(const struct engine_topology *t, int ti,
                                                const char *cap, int src)
{
    const struct topo_cap *first = NULL;
    int ci = topo_tdef_find(t, TOPO_K_CAPABILITY, cap);

    for (int j = ti, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t k = 0; k < t->tdefs[j].ncaps; k++) {
            const struct topo_cap *c = &t->tdefs[j].caps[k];
            if (c->type == NULL || topo_tdef_cap(t, ti, c->name) != c ||
                (strcmp(c->name, cap) != 0 &&
                 (ci < 0 ||
                  !topo_tdef_is_a(t, topo_tdef_find(t, TOPO_K_CAPABILITY, c->type), cap))))
                continue; /* redefined below, or no match */
            if (topo_cap_admits(t, c, src))
                return NULL;
            if (first == NULL)
                first = c;
        }
    return first;
}

/* A requirement's target against its definition: a node of the `node` type it names, offering
 * the `capability` it names (TOSCA 1.3 3.7.3, 3.8.2). A node type in place of a node is held
 * to `node` too; a target chosen by a filter is the orchestrator's. */
static int topo_nreq_target_check(const struct engine_topology *t, const struct topo_node *n,
                                  const struct topo_nreq *r, const struct topo_reqdef *rd,
                                  struct engine_diag *d)
{
    const char *tname = r->node;
    const struct topo_cap *c;
    int ti;

    if (r->node == NULL)
        return 0;
    if (r->abstract)
        ti = topo_tdef_find(t, TOPO_K_NODE, r->node);
    else if ((ti = t->nodes[r->target].tdef) >= 0)
        tname = t->tdefs[ti].name;
    if (ti < 0)
        return 0;
    if (rd->node != NULL && !topo_tdef_is_a(t, ti, rd->node))
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement %s: %s%s%s is not a %s; its definition in %s "
                            "names node type %s (TOSCA 3.7.3)",
                            n->name, r->name, r->abstract ? "node type " : r->node,
                            r->abstract ? "" : " of type ", tname, rd->node, t->tdefs[n->tdef].name,
                            rd->node);
    if (rd->capability != NULL &&
        (r->abstract ? !topo_tdef_offers(t, ti, rd->capability)
                     : !topo_node_offers(t, &t->nodes[r->target], rd->capability)))
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement %s: %s%s%s has no capability %s; its "
                            "definition in %s names capability %s (TOSCA 3.7.3)",
                            n->name, r->name, r->abstract ? "node type " : r->node,
                            r->abstract ? "" : " of type ", tname, rd->capability,
                            t->tdefs[n->tdef].name, rd->capability);
    if (rd->capability != NULL && (c = topo_tdef_refuses(t, ti, rd->capability, n->tdef)) != NULL &&
        (r->abstract || !topo_node_offers_module(t, &t->nodes[r->target], rd->capability))) {
        size_t nv;
        char *const *v = topo_cap_vst(t, c, &nv);
        return topo_diag_at(d, &r->pos,
                            "node %s: requirement %s: capability %s (%s) of %s admits only %s%s "
                            "as its source (valid_source_types), not %s (TOSCA 3.7.2)",
                            n->name, r->name, c->name, c->type, tname, v[0], nv > 1 ? ", ..." : "",
                            t->tdefs[n->tdef].name);
    }
    return 0;
}

/* The minimum of N's requirement definitions (TOSCA 1.3 3.7.3 occurrences; 3.8.2: the
 * assignments of one name together within its range; 2.0 8.7.4 makes explicit what 1.3
 * leaves to the orchestrator). A requirement the template assigns is held to its minimum; one
 * it leaves out is an implicit assignment of the definition's node, capability and filter that
 * the orchestrator fulfils (a dangling requirement), which for a node unisec runs is unisec,
 * and unisec selects no target: refused there, but for `host`, which placement fulfils. */
static int topo_node_reqs_min(const struct engine_topology *t, const struct topo_node *n,
                              struct engine_diag *d)
{
    int bad = 0;

    for (int j = n->tdef, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t k = 0; k < t->tdefs[j].nreqs; k++) {
            const struct topo_reqdef *rd = &t->tdefs[j].reqs[k];
            const struct topo_pos *last = NULL;
            long seen = 0; /* each assignment counts its occurrences */
            if (rd->occ_min == 0 || topo_tdef_req(t, n->tdef, rd->name) != rd)
                continue; /* optional, or redefined below */
            for (size_t i = 0; i < n->nreqs; i++)
                if (strcmp(n->reqs[i].name, rd->name) == 0)
                    seen += n->reqs[i].count, last = &n->reqs[i].pos;
            if (last != NULL && seen < rd->occ_min)
                bad = topo_diag_at(d, last,
                                   "node %s: requirement %s is assigned %ld time%s; its "
                                   "definition in %s requires at least %ld (occurrences)",
                                   n->name, rd->name, seen, seen == 1 ? "" : "s",
                                   t->tdefs[n->tdef].name, rd->occ_min);
            else if (last == NULL && n->runs && strcmp(rd->name, "host") != 0)
                bad =
                    topo_diag_at(d, &n->pos,
                                 "node %s: requirement %s is not assigned; its definition in "
                                 "%s requires at least %ld (occurrences), and unisec, which "
                                 "runs the node, selects no target; expected '%s: NODE'",
                                 n->name, rd->name, t->tdefs[n->tdef].name, rd->occ_min, rd->name);
        }
    return bad;
}

int topo_nodes_reqs_check(const struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;

    for (size_t i = 0; i < t->nnodes; i++) {
        const struct topo_node *n = &t->nodes[i];
        if (!n->typed || n->tdef < 0)
            continue;
        for (size_t k = 0; k < n->nreqs; k++) {
            const struct topo_reqdef *rd = topo_tdef_req(t, n->tdef, n->reqs[k].name);
            long seen = 0;
            if (rd == NULL)
                continue; /* one of unisec's own (a module's), or placement's `host` */
            for (size_t j = 0; j <= k; j++)
                if (strcmp(n->reqs[j].name, rd->name) == 0)
                    seen += n->reqs[j].count;
            /* said once, at the assignment that passes the maximum */
            if (rd->occ_max >= 0 && seen > rd->occ_max && seen - n->reqs[k].count <= rd->occ_max)
                bad = topo_diag_at(d, &n->reqs[k].pos,
                                   "node %s: requirement %s is assigned more than %ld time%s; "
                                   "its definition in %s allows at most %ld (occurrences)",
                                   n->name, rd->name, rd->occ_max, rd->occ_max == 1 ? "" : "s",
                                   t->tdefs[n->tdef].name, rd->occ_max);
            if (topo_nreq_target_check(t, n, &n->reqs[k], rd, d) < 0)
                bad = -EINVAL;
        }
        if (topo_node_reqs_min(t, n, d) < 0)
            bad = -EINVAL;
    }
    return bad;
}
