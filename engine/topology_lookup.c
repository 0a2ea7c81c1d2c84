/* topology_lookup.c — finding TOSCA types and what they define, along derived_from (the
 * model topology_defs.c reads). */
#include "topology_int.h"

#include <stdio.h>
#include <string.h>

static const char *const topo_prefixes[TOPO_K_COUNT] = {
    [TOPO_K_ARTIFACT] = "tosca.artifacts.",
    [TOPO_K_DATA] = "tosca.datatypes.",
    [TOPO_K_CAPABILITY] = "tosca.capabilities.",
    [TOPO_K_INTERFACE] = "tosca.interfaces.",
    [TOPO_K_RELATIONSHIP] = "tosca.relationships.",
    [TOPO_K_NODE] = "tosca.nodes.",
    [TOPO_K_GROUP] = "tosca.groups.",
    [TOPO_K_POLICY] = "tosca.policies.",
};

const char *topo_kind_prefix(int kind)
{
    return kind >= 0 && kind < TOPO_K_COUNT ? topo_prefixes[kind] : NULL;
}

int topo_tdef_find_exact(const struct engine_topology *t, int kind, const char *name)
{
    for (size_t i = 0; i < t->ntdefs; i++)
        if (t->tdefs[i].kind == kind && strcmp(t->tdefs[i].name, name) == 0)
            return (int)i;
    return -1;
}

int topo_tdef_find(const struct engine_topology *t, int kind, const char *name)
{
    char full[TOPO_NAME_MAX + 32];
    int i = topo_tdef_find_exact(t, kind, name);

    if (i >= 0 || topo_kind_prefix(kind) == NULL)
        return i;
    /* a normative type's short name (3.1.3): Compute, tosca:Compute */
    if (strncmp(name, "tosca:", 6) == 0)
        name += 6;
    if (strchr(name, '.') != NULL && strncmp(name, "tosca.", 6) != 0)
        return -1;
    snprintf(full, sizeof(full), "%s%s", topo_kind_prefix(kind), name);
    i = topo_tdef_find_exact(t, kind, full);
    return i >= 0 && t->tdefs[i].builtin ? i : -1;
}

int topo_tdef_is_a(const struct engine_topology *t, int i, const char *ancestor)
{
    int a = i >= 0 ? topo_tdef_find(t, t->tdefs[i].kind, ancestor) : -1;
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        if (j == a)
            return 1;
    return 0;
}

int topo_tdef_admits(const struct engine_topology *t, int i, int of, char *const **list, size_t *n)
{
    *list = NULL;
    *n = 0;
    for (int j = i, hops = 0; *n == 0 && j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        *list = t->tdefs[j].vst;
        *n = t->tdefs[j].nvst;
    }
    for (size_t k = 0; k < *n; k++)
        if (topo_tdef_is_a(t, of, (*list)[k]))
            return 1;
    return *n == 0;
}

static const struct topo_propdef *topo_propdef_in(const struct topo_propdef *v, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

const struct topo_propdef *topo_tdef_prop(const struct engine_topology *t, int i, const char *name,
                                          int attr)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        const struct topo_tdef *d = &t->tdefs[j];
        const struct topo_propdef *p;
        if (!attr && d->utype >= 0)
            p = topo_propdef_in(t->types[d->utype].props, t->types[d->utype].nprops, name);
        else
            p = attr ? topo_propdef_in(d->attrs, d->nattrs, name)
                     : topo_propdef_in(d->props, d->nprops, name);
        if (p != NULL)
            return p;
    }
    return NULL;
}

int topo_tdef_props_each(const struct engine_topology *t, int i, int attr,
                         int (*fn)(const struct topo_propdef *p, void *arg), void *arg)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        const struct topo_tdef *d = &t->tdefs[j];
        const struct topo_propdef *v = attr ? d->attrs : d->props;
        size_t n = attr ? d->nattrs : d->nprops;
        if (!attr && d->utype >= 0) {
            v = t->types[d->utype].props;
            n = t->types[d->utype].nprops;
        }
        for (size_t k = 0; k < n; k++) {
            int r;
            if (topo_tdef_prop(t, i, v[k].name, attr) != &v[k])
                continue; /* redefined by a type below */
            if ((r = fn(&v[k], arg)) != 0)
                return r;
        }
    }
    return 0;
}

static const struct topo_cap *topo_cap_in(const struct topo_cap *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

const struct topo_cap *topo_tdef_cap(const struct engine_topology *t, int i, const char *name)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        const struct topo_cap *c = topo_cap_in(t->tdefs[j].caps, t->tdefs[j].ncaps, name);
        if (c != NULL)
            return c;
    }
    return NULL;
}

const struct topo_cap *topo_tdef_iface(const struct engine_topology *t, int i, const char *name)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++) {
        const struct topo_cap *c = topo_cap_in(t->tdefs[j].ifaces, t->tdefs[j].nifaces, name);
        if (c != NULL && c->type != NULL)
            return c;
    }
    return NULL;
}

const struct topo_reqdef *topo_tdef_req(const struct engine_topology *t, int i, const char *name)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t k = 0; k < t->tdefs[j].nreqs; k++)
            if (strcmp(t->tdefs[j].reqs[k].name, name) == 0)
                return &t->tdefs[j].reqs[k];
    return NULL;
}

int topo_tdef_offers(const struct engine_topology *t, int i, const char *cap)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t k = 0; k < t->tdefs[j].ncaps; k++) {
            const struct topo_cap *c = &t->tdefs[j].caps[k];
            if (strcmp(c->name, cap) == 0 ||
                (c->type != NULL &&
                 topo_tdef_is_a(t, topo_tdef_find(t, TOPO_K_CAPABILITY, c->type), cap)))
                return 1;
        }
    return 0;
}

int topo_tdef_has_op(const struct engine_topology *t, int i, const char *op)
{
    for (int j = i, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t k = 0; k < t->tdefs[j].nops; k++)
            if (strcmp(t->tdefs[j].ops[k], op) == 0)
                return 1;
    return 0;
}
