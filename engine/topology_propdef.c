/* topology_propdef.c — property, attribute, input and parameter definitions (TOSCA 3.6.10):
 * the four scalars unisec runs with, and every other TOSCA type in TOSCA mode. */
#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int topo_ld_bool(struct topo_ld *ld, const yaml_node_t *n, const char *what, int *out)
{
    char *v = NULL;
    if (topo_ld_value(ld, n, ENGINE_TOPOLOGY_BOOLEAN, what, &v) < 0)
        return -EINVAL;
    *out = strcmp(v, "true") == 0;
    free(v);
    return 0;
}

/* entry_schema: TYPE or {type: TYPE, description, constraints}. */
static int topo_ld_entry(struct topo_ld *ld, const yaml_node_t *n, const char *what,
                         struct topo_propdef *out)
{
    static const char *const keys[] = {"type",         "description", "constraints",
                                       "entry_schema", "key_schema",  NULL};
    const yaml_node_t *t = n;
    const char *s;

    if (n->type == YAML_MAPPING_NODE) {
        if (topo_ld_map(ld, n, "entry_schema", keys) < 0)
            return -EINVAL;
        if ((t = topo_ld_get(ld, n, "type")) == NULL)
            return topo_ld_err(ld, n, "%s: entry_schema: expected a key 'type'", what);
    }
    if ((s = topo_ld_tname(ld, t, "entry_schema type")) == NULL)
        return -EINVAL;
    return (out->entry = topo_ld_strdup(ld, s)) ? 0 : -ENOMEM;
}

/* The TOSCA keys of a definition beyond the unisec ones. */
static int topo_ld_propdef_tosca(struct topo_ld *ld, const yaml_node_t *n, const char *w,
                                 struct topo_propdef *out, int scalar_bad)
{
    static const char *const status[] = {"supported", "unsupported", "experimental", "deprecated",
                                         NULL};
    static const struct topo_since since[] = {{"key_schema", 13, "3.6.10"}, {NULL, 0, NULL}};
    yaml_node_t *v;
    const char *s;
    int bad = topo_ld_since_keys(ld, n, since), r;

    if ((v = topo_ld_get(ld, n, "entry_schema")) != NULL && (r = topo_ld_entry(ld, v, w, out)) < 0)
        bad = r;
    if ((v = topo_ld_get(ld, n, "key_schema")) != NULL) {
        const yaml_node_t *t = v->type == YAML_MAPPING_NODE ? topo_ld_get(ld, v, "type") : v;
        if (t == NULL || topo_ld_tname(ld, t, "key_schema type") == NULL)
            bad = -EINVAL;
    }
    if ((v = topo_ld_get(ld, n, "status")) != NULL && (s = topo_ld_scalar(ld, v, w)) != NULL) {
        size_t i;
        for (i = 0; status[i] && strcmp(status[i], s) != 0; i++)
            ;
        if (status[i] == NULL)
            bad = topo_ld_err(ld, v,
                              "%s: status '%.64s': expected supported, unsupported, "
                              "experimental or deprecated",
                              w, s);
    }
    if ((v = topo_ld_get(ld, n, "metadata")) != NULL)
        bad |= topo_ld_map(ld, v, "metadata", NULL);
    if ((v = topo_ld_get(ld, n, "constraints")) != NULL &&
        (r = topo_ld_constraints(ld, v, out->ttype, w, &out->cons, &out->ncons)) < 0)
        bad = r;
    /* a scalar's default was read already: check it again only against its constraints */
    if ((v = topo_ld_get(ld, n, "default")) != NULL && bad == 0 && scalar_bad == 0 &&
        (!out->scalar || out->ncons > 0)) {
        out->has_default = 1;
        if (topo_value_check(ld, v, out, w) < 0)
            bad = -EINVAL;
    }
    if ((v = topo_ld_get(ld, n, "value")) != NULL && bad == 0 &&
        topo_value_check(ld, v, out, w) < 0)
        bad = -EINVAL;
    return bad;
}

/* security_level declared by a type of the topology: only as D_TOSCA declares it (a string,
 * not required, no default), so that a translated template reads back. It is then a TOSCA
 * value a node may give (kept, not one of its run-time scalars): the level in force is the
 * state's, and D_TOSCA writes that one. */
static int topo_propdef_reserved(struct topo_ld *ld, const yaml_node_t *n, const char *w,
                                 struct topo_propdef *out)
{
    if (!out->scalar || out->type != ENGINE_TOPOLOGY_STRING || out->required || out->has_default ||
        out->ncons > 0 || out->listen)
        return topo_ld_err(ld, n,
                           "%s: the name %s is reserved for the node's current level (D_TOSCA "
                           "sets it); expected another name, or the definition D_TOSCA writes "
                           "({type: string, required: false})",
                           w, TOPO_PROP_RESERVED);
    out->scalar = 0;
    return 0;
}

int topo_ld_propdef(struct topo_ld *ld, const char *name, const yaml_node_t *n, const char *what,
                    int flags, struct topo_propdef *out)
{
    static const char *const keys_listen[] = {"type",   "default",     "required",
                                              "listen", "description", NULL};
    static const char *const keys_scalar[] = {"type", "default", "required", "description", NULL};
    static const char *const keys_tosca[] = {
        "type",       "default", "required", "description", "constraints",     "entry_schema",
        "key_schema", "status",  "metadata", "value",       "external-schema", NULL};
    const char *const *keys = (flags & TOPO_PD_TOSCA)    ? keys_tosca
                              : (flags & TOPO_PD_LISTEN) ? keys_listen
                                                         : keys_scalar;
    char w[256];
    yaml_node_t *v;
    const char *ty;
    int t, bad = 0;

    memset(out, 0, sizeof(*out));
    out->pos = topo_ld_pos(ld, n);
    out->required = 1; /* TOSCA's default */
    snprintf(w, sizeof(w), "%s '%.64s'", what, name);
    if (strcmp(name, TOPO_PROP_RESERVED) == 0 && !(flags & TOPO_PD_TOSCA))
        return topo_ld_err(ld, n,
                           "%s: the name %s is reserved for the node's current level (D_TOSCA "
                           "sets it); expected another name",
                           w, TOPO_PROP_RESERVED);
    if ((out->name = topo_ld_strdup(ld, name)) == NULL)
        return -ENOMEM;
    if (topo_ld_map(ld, n, w, keys) < 0)
        return -EINVAL;
    if ((v = topo_ld_get(ld, n, "type")) == NULL)
        return topo_ld_err(ld, n, "%s: expected a key 'type' (string, integer, float or boolean)",
                           w);
    if ((ty = topo_ld_scalar(ld, v, w)) == NULL)
        return -EINVAL;
    if ((flags & TOPO_PD_TOSCA) && strchr(ty, ':') != NULL &&
        (ty = topo_ld_tname(ld, v, w)) == NULL)
        return -EINVAL; /* a data type's qualified name */
    out->tpos = topo_ld_pos(ld, v);
    if ((t = topo_type_parse(ty)) >= 0) {
        out->scalar = 1;
        out->type = (enum engine_topology_type)t;
    } else if (!(flags & TOPO_PD_TOSCA)) {
        return topo_ld_err(ld, v,
                           "%s: unknown type '%.64s'; expected string, integer, float or "
                           "boolean",
                           w, ty);
    }
    if ((flags & TOPO_PD_TOSCA) && (out->ttype = topo_ld_strdup(ld, ty)) == NULL)
        return -ENOMEM;
    if ((v = topo_ld_get(ld, n, "default")) != NULL && out->scalar) {
        if (topo_function_check(ld, v, w) == 0)
            bad |= topo_ld_value(ld, v, out->type, w, &out->def);
        out->has_default = 1;
    }
    if ((v = topo_ld_get(ld, n, "required")) != NULL)
        bad |= topo_ld_bool(ld, v, w, &out->required);
    if ((v = topo_ld_get(ld, n, "listen")) != NULL) {
        bad |= topo_ld_bool(ld, v, w, &out->listen);
        if (out->listen && out->type != ENGINE_TOPOLOGY_INTEGER)
            bad |= topo_ld_err(ld, v, "%s: a listening port must have type integer", w);
    }
    if ((v = topo_ld_get(ld, n, "description")) != NULL && topo_ld_scalar(ld, v, w) == NULL)
        bad = -EINVAL;
    if ((flags & TOPO_PD_TOSCA) && topo_ld_propdef_tosca(ld, n, w, out, bad) < 0)
        bad = -EINVAL;
    if (bad == 0 && strcmp(name, TOPO_PROP_RESERVED) == 0 && !ld->builtin)
        return topo_propdef_reserved(ld, n, w, out);
    return bad ? -EINVAL : 0;
}

int topo_ld_propdefs(struct topo_ld *ld, const yaml_node_t *n, const char *what, int flags,
                     struct topo_propdef **out, size_t *nout)
{
    int bad = 0;

    if (topo_ld_map(ld, n, what, NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        const char *name = topo_ld_name(ld, k, what);
        struct topo_propdef *pd;
        int e;
        if (name == NULL) {
            bad = -EINVAL;
            continue;
        }
        if ((pd = topo_push(out, *nout, sizeof(*pd))) == NULL)
            return ld->oom = 1, -ENOMEM;
        (*nout)++;
        e = topo_ld_propdef(ld, name, topo_ld_node(ld, p->value), "property", flags, pd);
        if (e == -ENOMEM)
            return e;
        bad |= e;
    }
    return bad;
}
