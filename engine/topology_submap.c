/* topology_submap.c — substitution mappings (Simple Profile 3.8.13, 2.11) against the node
 * type they stand for: a topology template that substitutes a node of type T takes T's
 * properties as its inputs (by name, or in 1.3 by a property mapping), so a required property
 * of T without a default needs one or the other. The mapping is recorded as written (that of
 * an import too, whose template is otherwise not read) and checked once types are resolved. */
#include "topology_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int topo_scalar_is(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE;
}

/* NAME: [INPUT] or another form, each property mapping of PROPS (a mapping). */
static int topo_submap_props(struct topo_ld *ld, struct topo_submap *m, const yaml_node_t *props)
{
    for (yaml_node_pair_t *p = props->data.mapping.pairs.start; p < props->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key), *v = topo_ld_node(ld, p->value), *in = NULL;
        struct topo_pmap *pm;
        if (!topo_scalar_is(k))
            continue;
        if ((pm = topo_push(&m->props, m->nprops, sizeof(*pm))) == NULL)
            return ld->oom = 1, -ENOMEM;
        m->nprops++;
        pm->pos = topo_ld_pos(ld, k);
        if ((pm->name = topo_ld_strdup(ld, (const char *)k->data.scalar.value)) == NULL)
            return -ENOMEM;
        if (v->type == YAML_SEQUENCE_NODE &&
            v->data.sequence.items.top - v->data.sequence.items.start == 1)
            in = topo_ld_node(ld, v->data.sequence.items.start[0]);
        if (topo_scalar_is(in)) {
            pm->ipos = topo_ld_pos(ld, in);
            if ((pm->input = topo_ld_strdup(ld, (const char *)in->data.scalar.value)) == NULL)
                return -ENOMEM;
        }
    }
    return 0;
}

int topo_submap_record(struct topo_ld *ld, const yaml_node_t *tt)
{
    yaml_node_t *sm, *nt, *x;
    struct topo_submap *m;

    if (tt->type != YAML_MAPPING_NODE ||
        (sm = topo_ld_get(ld, tt, "substitution_mappings")) == NULL ||
        sm->type != YAML_MAPPING_NODE || !topo_scalar_is(nt = topo_ld_get(ld, sm, "node_type")))
        return 0; /* the template's reader reports what is malformed */
    if ((m = topo_push(&ld->t->submaps, ld->t->nsubmaps, sizeof(*m))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->nsubmaps++;
    m->pos = topo_ld_pos(ld, nt);
    if ((m->type = topo_ld_strdup(ld, (const char *)nt->data.scalar.value)) == NULL)
        return -ENOMEM;
    if ((x = topo_ld_get(ld, tt, "inputs")) != NULL && x->type == YAML_MAPPING_NODE) {
        size_t n = (size_t)(x->data.mapping.pairs.top - x->data.mapping.pairs.start);
        if (n > 0 && (m->inputs = calloc(n, sizeof(*m->inputs))) == NULL)
            return ld->oom = 1, -ENOMEM;
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = topo_ld_node(ld, p->key);
            if (!topo_scalar_is(k))
                continue;
            if ((m->inputs[m->ninputs] = topo_ld_strdup(ld, (const char *)k->data.scalar.value)) ==
                NULL)
                return -ENOMEM;
            m->ninputs++;
        }
    }
    if ((x = topo_ld_get(ld, sm, "properties")) != NULL && x->type == YAML_MAPPING_NODE)
        return topo_submap_props(ld, m, x);
    return 0;
}

static int topo_submap_has_input(const struct topo_submap *m, const char *name)
{
    for (size_t i = 0; i < m->ninputs; i++)
        if (strcmp(m->inputs[i], name) == 0)
            return 1;
    return 0;
}

struct topo_submap_req {
    const struct topo_submap *m;
    struct engine_diag *d;
    int bad;
};

/* A required property of the node type without a default: an input or a mapping. */
static int topo_submap_required(const struct topo_propdef *p, void *argp)
{
    struct topo_submap_req *a = argp;

    if (!p->required || p->has_default || topo_submap_has_input(a->m, p->name))
        return 0;
    for (size_t i = 0; i < a->m->nprops; i++)
        if (strcmp(a->m->props[i].name, p->name) == 0)
            return 0;
    a->bad = topo_diag_at(a->d, &a->m->pos,
                          "substitution_mappings: property %s of node type %s is required and "
                          "has no default; expected an input %s of the topology template (or, "
                          "in 1.3, a mapping of it under properties)",
                          p->name, a->m->type, p->name);
    return 0;
}

int topo_submaps_check(struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;

    for (size_t i = 0; i < t->nsubmaps; i++) {
        const struct topo_submap *m = &t->submaps[i];
        int nt = topo_tdef_find(t, TOPO_K_NODE, m->type);
        struct topo_submap_req a = {.m = m, .d = d};
        if (nt < 0)
            continue; /* reported by the template's reader */
        for (size_t j = 0; j < m->nprops; j++) {
            const struct topo_pmap *pm = &m->props[j];
            if (topo_tdef_prop(t, nt, pm->name, 0) == NULL)
                bad = topo_diag_at(d, &pm->pos,
                                   "substitution_mappings: properties: node type %s has no "
                                   "property '%.64s'",
                                   m->type, pm->name);
            else if (pm->input != NULL && !topo_submap_has_input(m, pm->input))
                bad = topo_diag_at(d, &pm->ipos,
                                   "substitution_mappings: property %s: unknown input '%.64s'; "
                                   "expected one of the topology template's inputs",
                                   pm->name, pm->input);
        }
        topo_tdef_props_each(t, nt, 0, topo_submap_required, &a);
        bad |= a.bad;
    }
    return bad < 0 ? -EINVAL : 0;
}
