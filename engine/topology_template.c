/* topology_template.c — the topology template (Simple Profile 3.9): inputs, node templates
 * (topology_node.c reads each), relationship templates, groups, policies, outputs,
 * substitution mappings and 1.3's workflows. */
#include "topology_carry.h"
#include "topology_int.h"
#include "topology_yamldoc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int topo_load_node(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v);
int topo_nodes_link(struct engine_topology *t, struct engine_diag *d);

/* ---- inputs and outputs ---- */

/* Input IN is a secret when its definition V says `metadata: {secret: true}`: 0, or -EINVAL
 * for another value of the key. */
static int topo_input_secret(struct topo_ld *ld, yaml_node_t *v, struct topo_input *in)
{
    yaml_node_t *md = topo_ld_get(ld, v, "metadata"), *sv;

    if (md == NULL || md->type != YAML_MAPPING_NODE || (sv = topo_ld_get(ld, md, "secret")) == NULL)
        return 0;
    if (sv->type == YAML_SCALAR_NODE && strcmp((const char *)sv->data.scalar.value, "true") == 0)
        in->secret = 1;
    else if (sv->type != YAML_SCALAR_NODE ||
             strcmp((const char *)sv->data.scalar.value, "false") != 0)
        return topo_ld_err(ld, sv, "input %s: metadata secret: expected true or false",
                           in->def.name);
    return 0;
}

static int topo_load_inputs(struct topo_ld *ld, yaml_node_t *n)
{
    int bad = 0;

    if (topo_ld_map(ld, n, "inputs", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        const char *name = topo_ld_name(ld, k, "input");
        struct topo_input *in;
        int r;
        if (name == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((in = topo_push(&ld->t->inputs, ld->t->ninputs, sizeof(*in))) == NULL)
            return ld->oom = 1, -ENOMEM;
        ld->t->ninputs++;
        r = topo_ld_propdef(ld, name, topo_ld_node(ld, p->value), "input", TOPO_PD_TOSCA, &in->def);
        if (r == -ENOMEM)
            return r;
        bad |= r;
        if (r == 0 && in->def.scalar && in->def.def != NULL &&
            (in->value = topo_ld_strdup(ld, in->def.def)) == NULL)
            return -ENOMEM;
        if (r == 0 && topo_input_secret(ld, topo_ld_node(ld, p->value), in) < 0)
            bad = -EINVAL; /* the other inputs are read on */
        yaml_node_t *dv = topo_ld_get(ld, topo_ld_node(ld, p->value), "default");
        size_t len;
        /* what inputs/NAME shows without a value given (none for one too large) */
        if (r == 0 && dv != NULL && topo_yaml_line(ld->doc, dv, &in->shown, &len) == -ENOMEM)
            return ld->oom = 1, -ENOMEM;
        if (topo_input_carry(ld, topo_ld_node(ld, p->value), in) < 0)
            return -ENOMEM;
    }
    ld->t->inputs_read = 1;
    return bad;
}

static int topo_load_outputs(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {"description", "value",        "type",
                                       "status",      "metadata",     "required",
                                       "default",     "entry_schema", NULL};
    int bad = 0;

    if (topo_ld_map(ld, n, "outputs", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value), *x;
        const char *name = topo_ld_name(ld, k, "output");
        char what[160];
        if (name == NULL || topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        snprintf(what, sizeof(what), "output %s", name);
        if ((x = topo_ld_get(ld, v, "value")) == NULL)
            bad = topo_ld_err(ld, v, "%s: expected a key 'value'", what);
        else if (topo_function_check(ld, x, what) < 0)
            bad = -EINVAL;
    }
    return bad;
}

/* ---- relationship templates, groups, policies ---- */

/* PROPS (a mapping or NULL) against the properties of type TD; WHAT names the owner. */
static int topo_props_of_tdef(struct topo_ld *ld, int td, yaml_node_t *props, const char *what)
{
    char w[320];
    int bad = 0;

    if (props == NULL || topo_ld_empty(props))
        return 0;
    if (topo_ld_map(ld, props, "properties", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = props->data.mapping.pairs.start; p < props->data.mapping.pairs.top;
         p++) {
        const char *k = topo_ld_key(ld, p);
        const struct topo_propdef *pd = td >= 0 ? topo_tdef_prop(ld->t, td, k, 0) : NULL;
        if (pd == NULL) {
            bad = topo_ld_err(ld, topo_ld_node(ld, p->key), "%s: type %s has no property '%.64s'",
                              what, td >= 0 ? ld->t->tdefs[td].name : "?", k);
            continue;
        }
        snprintf(w, sizeof(w), "%.200s: property %.64s", what, k);
        bad |= topo_value_check(ld, topo_ld_node(ld, p->value), pd, w);
    }
    return bad;
}

/* The type named under KEY 'type' of entity V, of KIND; its index or -1 with an error. */
static int topo_entity_type(struct topo_ld *ld, yaml_node_t *v, int kind, const char *what,
                            int required)
{
    yaml_node_t *x = topo_ld_get(ld, v, "type");
    const char *s;
    int td;

    if (x == NULL)
        return required ? topo_ld_err(ld, v, "%s: expected a key 'type'", what), -2 : -1;
    if ((s = topo_ld_tname(ld, x, "type")) == NULL)
        return -2;
    if ((td = topo_tdef_find(ld->t, kind, s)) < 0)
        return topo_ld_err(ld, x, "%s: unknown %s '%s'", what, topo_kind_section(kind), s), -2;
    return td;
}

static int topo_load_rtemplates(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {"type",       "description", "metadata", "properties",
                                       "attributes", "interfaces",  "copy",     NULL};
    int bad = 0;

    if (topo_ld_map(ld, n, "relationship_templates", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value);
        const char *name = topo_ld_name(ld, k, "relationship template");
        char what[160], **slot;
        int td, *ty;
        if (name == NULL || topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        snprintf(what, sizeof(what), "relationship template %s", name);
        if ((td = topo_entity_type(ld, v, TOPO_K_RELATIONSHIP, what, 1)) == -2) {
            bad = -EINVAL;
            continue;
        }
        bad |= topo_props_of_tdef(ld, td, topo_ld_get(ld, v, "properties"), what);
        if ((ty = topo_push(&ld->t->rttypes, ld->t->nrtemplates, sizeof(*ty))) == NULL)
            return ld->oom = 1, -ENOMEM;
        *ty = td;
        if ((slot = topo_push(&ld->t->rtemplates, ld->t->nrtemplates, sizeof(*slot))) == NULL ||
            (*slot = topo_ld_strdup(ld, name)) == NULL)
            return ld->oom = 1, -ENOMEM;
        ld->t->nrtemplates++;
    }
    return bad;
}

/* The template WHO of type OF (a node or group type), at N, as a member or target (WHAT) of
 * the group or policy NAME of type TD: refused unless TD admits OF (TOSCA 1.3 3.7.5 group
 * type `members`, 3.7.6 policy type `targets`). */
static int topo_admitted(struct topo_ld *ld, int td, int of, const yaml_node_t *n, const char *what,
                         const char *name, const char *who)
{
    int group = what[0] == 'm';
    char *const *list;
    size_t nl;
    char want[512] = "";

    if (td < 0 || of < 0 || topo_tdef_admits(ld->t, td, of, &list, &nl))
        return 0;
    for (size_t i = 0, at = 0; i < nl && at < sizeof(want); i++)
        at += (size_t)snprintf(want + at, sizeof(want) - at, "%s%s", i ? " or " : "", list[i]);
    return topo_ld_err(ld, n,
                       "%s %s: %s '%s' is of type %s, which %s type %s does not admit; expected "
                       "one of type %s (its %ss; TOSCA %s)",
                       group ? "group" : "policy", name, what, who, ld->t->tdefs[of].name,
                       group ? "group" : "policy", ld->t->tdefs[td].name, want, what,
                       group ? "3.7.5" : "3.7.6");
}

static int topo_load_group(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    static const char *const keys[] = {"type",     "description", "members",    "properties",
                                       "metadata", "interfaces",  "attributes", NULL};
    const char *name = topo_ld_name(ld, k, "group"), *s;
    struct topo_group *g;
    yaml_node_t *x;
    int bad = 0, td;

    if (name == NULL || topo_ld_map(ld, v, name, keys) < 0)
        return -EINVAL;
    for (size_t i = 0; i < ld->t->ngroups; i++)
        if (strcmp(ld->t->groups[i].name, name) == 0)
            return topo_ld_err(ld, k, "group '%s' is defined twice", name);
    if ((g = topo_push(&ld->t->groups, ld->t->ngroups, sizeof(*g))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->ngroups++;
    g->pos = topo_ld_pos(ld, k);
    if ((g->name = topo_ld_strdup(ld, name)) == NULL || topo_group_carry(ld, v, g) < 0)
        return -ENOMEM;
    if ((td = topo_entity_type(ld, v, TOPO_K_GROUP, name, 0)) == -2)
        bad = -EINVAL;
    if ((g->type = topo_ld_strdup(ld, td >= 0 ? ld->t->tdefs[td].name : "tosca.groups.Root")) ==
        NULL)
        return -ENOMEM;
    bad |= topo_props_of_tdef(ld, td, topo_ld_get(ld, v, "properties"), name);
    if ((x = topo_ld_get(ld, v, "description")) != NULL) {
        if ((s = topo_ld_scalar(ld, x, "description")) == NULL)
            bad = -EINVAL;
        else if ((g->description = topo_ld_strdup(ld, s)) == NULL)
            return -ENOMEM;
    }
    if ((x = topo_ld_get(ld, v, "members")) == NULL)
        return topo_ld_err(ld, v, "group '%s': expected members: [NODE, ...]", name);
    if (topo_ld_seq(ld, x, "members") < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = x->data.sequence.items.start; i < x->data.sequence.items.top; i++) {
        yaml_node_t *m = topo_ld_node(ld, *i);
        int n;
        if ((s = topo_ld_name(ld, m, "group member")) == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((n = topo_node_find(ld->t, s)) < 0) {
            bad = topo_ld_err(ld, m, "group '%s': member '%s' is not a node of node_templates",
                              name, s);
            continue;
        }
        bad |= topo_admitted(ld, td, ld->t->nodes[n].tdef, m, "member", name, s);
        size_t *slot = topo_push(&g->members, g->nmembers, sizeof(*slot));
        if (slot == NULL)
            return ld->oom = 1, -ENOMEM;
        *slot = (size_t)n;
        g->nmembers++;
    }
    return bad;
}

/* The group NAME's index in T->groups, or -1. */
static int topo_group_find(const struct engine_topology *t, const char *name)
{
    for (size_t i = 0; i < t->ngroups; i++)
        if (strcmp(t->groups[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* policies: [{NAME: {type, description, metadata, properties, targets, triggers}}] (3.8.6) */
static int topo_load_policies(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {"type",    "description", "metadata", "properties",
                                       "targets", "triggers",    NULL};
    int bad = 0;

    if (topo_ld_seq(ld, n, "policies") < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        yaml_node_t *item = topo_ld_node(ld, *i), *v, *x;
        const char *name;
        int td;
        if (topo_ld_map(ld, item, "policy", NULL) < 0) {
            bad = -EINVAL;
            continue;
        }
        if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
            bad = topo_ld_err(ld, item, "policy: expected one NAME: DEFINITION per entry");
            continue;
        }
        v = topo_ld_node(ld, item->data.mapping.pairs.start->value);
        if ((name = topo_ld_name(ld, topo_ld_node(ld, item->data.mapping.pairs.start->key),
                                 "policy")) == NULL ||
            topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        if ((td = topo_entity_type(ld, v, TOPO_K_POLICY, name, 1)) == -2) {
            bad = -EINVAL;
            continue;
        }
        bad |= topo_props_of_tdef(ld, td, topo_ld_get(ld, v, "properties"), name);
        if ((x = topo_ld_get(ld, v, "targets")) == NULL)
            continue;
        if (topo_ld_seq(ld, x, "targets") < 0) {
            bad = -EINVAL;
            continue;
        }
        for (yaml_node_item_t *j = x->data.sequence.items.start; j < x->data.sequence.items.top;
             j++) {
            yaml_node_t *tg = topo_ld_node(ld, *j);
            const char *s = topo_ld_name(ld, tg, "policy target");
            int nd = s ? topo_node_find(ld->t, s) : -1, g = s ? topo_group_find(ld->t, s) : -1;
            if (s == NULL)
                bad = -EINVAL;
            else if (nd < 0 && g < 0)
                bad = topo_ld_err(ld, tg, "policy %s: target '%s' is neither a node nor a group",
                                  name, s);
            else
                bad |= topo_admitted(
                    ld, td,
                    nd >= 0 ? ld->t->nodes[nd].tdef
                            : topo_tdef_find(ld->t, TOPO_K_GROUP, ld->t->groups[g].type),
                    tg, "target", name, s);
        }
    }
    return bad;
}

/* ---- substitution_mappings, workflows ---- */

/* NAME: [NODE, CAPABILITY_OR_REQUIREMENT] entries of a substitution mapping. */
/* Does node type or template (its type TD, node N or NULL) have capability (CAP) or
 * requirement NAME? */
static int topo_has_cap_req(const struct engine_topology *t, int td, const struct topo_node *n,
                            int cap, const char *name)
{
    if (td >= 0 && (cap ? topo_tdef_cap(t, td, name) != NULL : topo_tdef_req(t, td, name) != NULL))
        return 1;
    for (size_t i = 0; n != NULL && !cap && i < n->nreqs; i++)
        if (strcmp(n->reqs[i].name, name) == 0)
            return 1;
    return 0;
}

/* A capability or requirement mapping NAME: [NODE, NAME2] (3.8.10, 3.8.11): NAME is one of
 * node type NT's, NAME2 one of NODE's. */
static int topo_submap_capreq(struct topo_ld *ld, int nt, const char *what, yaml_node_pair_t *p,
                              yaml_node_t *v, int node)
{
    int cap = what[0] == 'c';
    const char *kind = cap ? "capability" : "requirement";
    const struct topo_node *m = &ld->t->nodes[node];
    yaml_node_t *x;

    if (nt >= 0 && !topo_has_cap_req(ld->t, nt, NULL, cap, topo_ld_key(ld, p)))
        return topo_ld_err(ld, topo_ld_node(ld, p->key), "%s: node type %s has no %s '%.64s'", what,
                           ld->t->tdefs[nt].name, kind, topo_ld_key(ld, p));
    if (v->data.sequence.items.top - v->data.sequence.items.start < 2 || !m->typed)
        return 0;
    x = topo_ld_node(ld, v->data.sequence.items.start[1]);
    if (x->type == YAML_SCALAR_NODE &&
        !topo_has_cap_req(ld->t, m->tdef, m, cap, (const char *)x->data.scalar.value))
        return topo_ld_err(ld, x, "%s %s: node %s has no %s '%.64s'", what, topo_ld_key(ld, p),
                           m->name, kind, (const char *)x->data.scalar.value);
    return 0;
}

static int topo_load_submap_pairs(struct topo_ld *ld, yaml_node_t *n, const char *what, int nt)
{
    int bad = 0, i;

    if (topo_ld_map(ld, n, what, NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *v = topo_ld_node(ld, p->value), *node;
        const char *s;
        if (v->type != YAML_SEQUENCE_NODE) {
            if (v->type == YAML_MAPPING_NODE && topo_function_check(ld, v, what) != 0)
                continue;
            if (v->type == YAML_MAPPING_NODE || v->type == YAML_SCALAR_NODE)
                continue; /* 1.3's {mapping: ...} and a property's value */
        }
        if (topo_ld_seq(ld, v, what) < 0 ||
            v->data.sequence.items.top == v->data.sequence.items.start) {
            bad = topo_ld_err(ld, v, "%s %s: expected [NODE, NAME]", what, topo_ld_key(ld, p));
            continue;
        }
        node = topo_ld_node(ld, v->data.sequence.items.start[0]);
        if ((s = topo_ld_name(ld, node, "node")) == NULL)
            bad = -EINVAL;
        else if ((i = topo_node_find(ld->t, s)) < 0 && strcmp(what, "properties") != 0)
            bad = topo_ld_err(ld, node, "%s %s: '%s' is not a node of node_templates", what,
                              topo_ld_key(ld, p), s);
        else if (i >= 0 && strcmp(what, "properties") != 0)
            bad |= topo_submap_capreq(ld, nt, what, p, v, i);
    }
    return bad;
}

static int topo_load_submap(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {
        "node_type",    "substitution_filter", "properties", "capabilities",
        "requirements", "attributes",          "interfaces", NULL};
    static const struct topo_since since[] = {
        {"attributes", 13, "3.8.13"}, {"substitution_filter", 13, "3.8.13"}, {NULL, 0, NULL}};
    yaml_node_t *x;
    const char *s;
    int bad = 0, nt = -1;

    if (topo_ld_map(ld, n, "substitution_mappings", keys) < 0)
        return -EINVAL;
    bad = topo_ld_since_keys(ld, n, since);
    if ((x = topo_ld_get(ld, n, "node_type")) == NULL)
        return topo_ld_err(ld, n, "substitution_mappings: expected a key 'node_type'");
    if ((s = topo_ld_tname(ld, x, "node_type")) == NULL)
        bad = -EINVAL;
    else if ((nt = topo_tdef_find(ld->t, TOPO_K_NODE, s)) < 0)
        bad = topo_ld_err(ld, x, "substitution_mappings: unknown node type '%s'", s);
    if ((x = topo_ld_get(ld, n, "substitution_filter")) != NULL)
        bad |= topo_ld_node_filter(ld, x, "substitution_filter"); /* 1.3: a node filter */
    for (size_t i = 0; i < 3; i++) {
        static const char *const maps[] = {"capabilities", "requirements", "properties"};
        if ((x = topo_ld_get(ld, n, maps[i])) != NULL && !topo_ld_empty(x))
            bad |= topo_load_submap_pairs(ld, x, maps[i], nt);
    }
    return bad;
}

static int topo_load_workflows(struct topo_ld *ld, yaml_node_t *n)
{
    static const char *const keys[] = {"description", "metadata", "inputs",         "preconditions",
                                       "steps",       "outputs",  "implementation", NULL};
    int bad = 0;

    if (topo_ld_map(ld, n, "workflows", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *v = topo_ld_node(ld, p->value), *x;
        const char *name = topo_ld_name(ld, topo_ld_node(ld, p->key), "workflow");
        if (name == NULL || topo_ld_map(ld, v, name, keys) < 0) {
            bad = -EINVAL;
            continue;
        }
        if ((x = topo_ld_get(ld, v, "steps")) != NULL)
            bad |= topo_ld_map(ld, x, "steps", NULL);
    }
    return bad;
}

/* ---- the template ---- */

int topo_load_template(struct topo_ld *ld, yaml_node_t *tt)
{
    static const char *const keys[] = {
        "description", "inputs",   "node_templates", "relationship_templates",
        "groups",      "policies", "outputs",        "substitution_mappings",
        "workflows",   NULL};
    static const struct topo_since since[] = {{"workflows", 12, "3.9"}, {NULL, 0, NULL}};
    yaml_node_t *nt, *x;
    int bad = 0, r;

    if (topo_ld_map(ld, tt, "topology_template", keys) < 0)
        return -EINVAL;
    bad = topo_ld_since_keys(ld, tt, since);
    if (topo_template_carry(ld, tt) < 0)
        return -ENOMEM;
    if ((x = topo_ld_get(ld, tt, "description")) != NULL && !topo_ld_scalar(ld, x, "description"))
        bad = -EINVAL;
    if ((x = topo_ld_get(ld, tt, "inputs")) != NULL && !topo_ld_empty(x) &&
        (r = topo_load_inputs(ld, x)) < 0)
        bad = r;
    ld->t->inputs_read = 1;
    if (bad != -ENOMEM && !ld->oom && (r = topo_inputs_given(ld->t, ld->d)) < 0)
        bad = r; /* (before get_input takes their values) */
    if (bad == -ENOMEM || ld->oom)
        return -ENOMEM; /* an input may be half made: nothing may look it up */
    if ((x = topo_ld_get(ld, tt, "relationship_templates")) != NULL && !topo_ld_empty(x) &&
        (r = topo_load_rtemplates(ld, x)) < 0)
        bad = r;
    if (bad == -ENOMEM || ld->oom)
        return -ENOMEM;
    /* node_templates is optional (3.9.1): a template of inputs, outputs or a substitution
     * mapping alone has no node, like a file of definitions. */
    if ((nt = topo_ld_get(ld, tt, "node_templates")) != NULL && !topo_ld_empty(nt)) {
        if (topo_ld_map(ld, nt, "node_templates", NULL) < 0)
            return -EINVAL;
        for (yaml_node_pair_t *p = nt->data.mapping.pairs.start; p < nt->data.mapping.pairs.top;
             p++) {
            if ((r = topo_load_node(ld, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value))) ==
                -ENOMEM)
                return r;
            bad |= r;
        }
    }
    /* Every later lookup of a node by name (requirements, groups, state) uses the index. */
    if (engine_name_index_build(&ld->t->node_index, ld->t->nodes, ld->t->nnodes,
                                sizeof(*ld->t->nodes), offsetof(struct topo_node, name)) < 0)
        return ld->oom = 1, -ENOMEM;
    if ((r = topo_nodes_link(ld->t, ld->d)) == -ENOMEM)
        return r;
    bad |= r;
    if (r == 0 && (r = topo_nodes_place(ld->t, ld->d)) == -ENOMEM)
        return r;
    bad |= r;
    if (r == 0 && topo_nodes_reqs_check(ld->t, ld->d) < 0)
        bad = -EINVAL;
    if ((x = topo_ld_get(ld, tt, "groups")) != NULL && !topo_ld_empty(x)) {
        if (topo_ld_map(ld, x, "groups", NULL) < 0)
            return -EINVAL;
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top;
             p++) {
            if ((r = topo_load_group(ld, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value))) ==
                -ENOMEM)
                return r;
            bad |= r;
        }
    }
    if ((x = topo_ld_get(ld, tt, "policies")) != NULL && !topo_ld_empty(x))
        bad |= topo_load_policies(ld, x);
    if ((x = topo_ld_get(ld, tt, "outputs")) != NULL && !topo_ld_empty(x))
        bad |= topo_load_outputs(ld, x);
    if ((x = topo_ld_get(ld, tt, "substitution_mappings")) != NULL)
        bad |= topo_load_submap(ld, x);
    if ((x = topo_ld_get(ld, tt, "workflows")) != NULL && !topo_ld_empty(x))
        bad |= topo_load_workflows(ld, x);
    if (!ld->oom && (r = topo_functions_check(ld->t, ld->d)) < 0) /* every template is read */
        bad = r;
    return ld->oom ? -ENOMEM : bad < 0 ? -EINVAL : 0;
}
