/* topology_function.c — intrinsic functions (Simple Profile 4.1 to 4.8) against the model,
 * once every template is read and requirements are linked: the entity a function names and
 * the property, attribute, capability, interface, operation or artifact under it, with `host`
 * followed for HOST (4.1). What only the orchestrator can know (SOURCE and TARGET, a
 * requirement's target, an argument that is a function) is kept, not checked. Also the
 * evaluation at load of concat, join and token of what is known then (4.3), for the scalar
 * properties a unikernel runs with. */
#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a walk along a function's path ends. */
enum { TOPO_FN_FOUND = 1, TOPO_FN_UNKNOWN = 0 };

/* The index of relationship template NAME, or -1. */
static int topo_rtemplate_find(const struct engine_topology *t, const char *name)
{
    for (size_t i = 0; i < t->nrtemplates; i++)
        if (strcmp(t->rtemplates[i], name) == 0)
            return (int)i;
    return -1;
}

static const char *topo_def_type(const struct topo_propdef *p)
{
    return p->ttype ? p->ttype : engine_topology_type_name(p->type);
}

static int topo_fn_any(const struct topo_propdef *p, void *arg)
{
    (void)p, (void)arg;
    return 1;
}

/* The rest of the path (PATH[FROM..]) into a value of definition P: an index into a list, a
 * key of a map, a property of a data type; nothing into any other type. */
static int topo_fn_path(const struct engine_topology *t, struct engine_diag *d,
                        const struct topo_ref *r, const struct topo_propdef *p, const char *what,
                        size_t from)
{
    const char *type = topo_def_type(p), *entry = p->entry, *name = p->name;

    for (size_t i = from; i < r->npath && type != NULL; i++) {
        const char *a = r->path[i];
        int dt;
        if (strcmp(type, "list") == 0 || strcmp(type, "map") == 0) {
            char *end;
            if (type[0] == 'l' && (strtol(a, &end, 10) < 0 || end == a || *end != '\0'))
                return topo_diag_at(d, &r->ppos[i],
                                    "%s: %s '%.64s' is a list: expected an index (0, 1, ...), "
                                    "not '%.64s'",
                                    r->function, what, name, a);
            /* an entry of a list or map of lists or maps has no known entry type */
            type = entry && strcmp(entry, "list") != 0 && strcmp(entry, "map") != 0 ? entry : NULL;
            entry = NULL;
            continue;
        }
        if ((dt = topo_tdef_find(t, TOPO_K_DATA, type)) < 0 || topo_type_primitive(type)) {
            if (topo_type_primitive(type) || strncmp(type, "scalar-unit.", 12) == 0)
                return topo_diag_at(d, &r->ppos[i],
                                    "%s: %s '%.64s' is of type %s: it has no index or key "
                                    "'%.64s'",
                                    r->function, what, name, type, a);
            return 0; /* an unknown type is reported at its definition */
        }
        const struct topo_propdef *q = topo_tdef_prop(t, dt, a, 0);
        if (q == NULL) {
            if (topo_tdef_props_each(t, dt, 0, topo_fn_any, NULL) == 0)
                return 0; /* a data type refining a primitive or a collection */
            return topo_diag_at(d, &r->ppos[i],
                                "%s: %s '%.64s' (of data type %s) has no property '%.64s'",
                                r->function, what, name, t->tdefs[dt].name, a);
        }
        type = topo_def_type(q);
        entry = q->entry;
        name = q->name;
    }
    return 0;
}

/* Does unikernel node N's module list offer capability NAME? */
static int topo_fn_module_cap(const struct engine_topology *t, const struct topo_node *n,
                              const char *name)
{
    const struct topo_type *ty = &t->types[n->type];
    for (size_t i = 0; i < ty->nmods; i++)
        for (size_t j = 0; j < t->mods[ty->mods[i]].ncaps; j++)
            if (strcmp(t->mods[ty->mods[i]].caps[j].name, name) == 0)
                return 1;
    return 0;
}

/* Property (ATTR: attribute) NAME of node N: its definition in *P (NULL for one of unisec's
 * own: a multi_level_security map, security_level). TOSCA makes an attribute of every
 * property (3.6.12), so get_attribute finds properties too. */
static int topo_fn_node_prop(const struct engine_topology *t, const struct topo_node *n,
                             const char *name, int attr, const struct topo_propdef **p)
{
    const struct topo_eprop *e = topo_eprop_find(&t->types[n->type], name);

    *p = NULL;
    if (e != NULL)
        return *p = e->def, 1;
    if (n->tdef >= 0 && ((attr && (*p = topo_tdef_prop(t, n->tdef, name, 1)) != NULL) ||
                         (*p = topo_tdef_prop(t, n->tdef, name, 0)) != NULL))
        return 1;
    for (size_t i = 0; i < n->nmls; i++)
        if (strcmp(n->mls[i].prop, name) == 0)
            return 1;
    return strcmp(name, TOPO_PROP_RESERVED) == 0;
}

/* The property or attribute R's path names on node N (the path is [NAME, ...] or
 * [CAPABILITY, NAME, ...]). Returns TOPO_FN_FOUND (checked along the rest of the path, 0 or
 * an error), TOPO_FN_UNKNOWN when N has no such name; *MISS names what is missing. */
static int topo_fn_on_node(const struct engine_topology *t, struct engine_diag *d,
                           const struct topo_ref *r, const struct topo_node *n, int *err)
{
    int attr = r->function[4] == 'a'; /* get_attribute */
    const char *kind = attr ? "attribute" : "property";
    const struct topo_propdef *p;
    const struct topo_cap *c;
    char what[TOPO_NAME_MAX * 3 + 64];

    *err = 0;
    if (r->npath >= 2 && n->tdef >= 0 && (c = topo_tdef_cap(t, n->tdef, r->path[0])) != NULL) {
        int ct = c->type ? topo_tdef_find(t, TOPO_K_CAPABILITY, c->type) : -1;
        if (ct < 0)
            return TOPO_FN_FOUND; /* an unknown capability type is reported where defined */
        if ((!attr || (p = topo_tdef_prop(t, ct, r->path[1], 1)) == NULL) &&
            (p = topo_tdef_prop(t, ct, r->path[1], 0)) == NULL) {
            *err =
                topo_diag_at(d, &r->ppos[1], "%s: capability %s (%s) of node %s has no %s '%.64s'",
                             r->function, r->path[0], c->type, n->name, kind, r->path[1]);
            return TOPO_FN_FOUND;
        }
        snprintf(what, sizeof(what), "node %s: capability %s: %s", n->name, r->path[0], kind);
        *err = topo_fn_path(t, d, r, p, what, 2);
        return TOPO_FN_FOUND;
    }
    if (r->npath >= 2 && n->tdef >= 0 && topo_tdef_req(t, n->tdef, r->path[0]) != NULL)
        return TOPO_FN_FOUND; /* a requirement's target is known at run time */
    if (r->npath >= 2 && n->runs && topo_fn_module_cap(t, n, r->path[0]))
        return TOPO_FN_FOUND;
    if (!topo_fn_node_prop(t, n, r->path[0], attr, &p))
        return TOPO_FN_UNKNOWN;
    if (p != NULL) {
        snprintf(what, sizeof(what), "node %s: %s", n->name, kind);
        *err = topo_fn_path(t, d, r, p, what, 1);
    }
    return TOPO_FN_FOUND;
}

/* get_property / get_attribute: [RELATIONSHIP_TEMPLATE, NAME, ...] on template RT's type. */
static int topo_fn_on_rel(const struct engine_topology *t, struct engine_diag *d,
                          const struct topo_ref *r, int rt)
{
    int attr = r->function[4] == 'a', ty = t->rttypes[rt];
    const struct topo_propdef *p;
    char what[TOPO_NAME_MAX + 64];

    if ((!attr || (p = topo_tdef_prop(t, ty, r->path[0], 1)) == NULL) &&
        (p = topo_tdef_prop(t, ty, r->path[0], 0)) == NULL)
        return topo_diag_at(d, &r->ppos[0], "%s: relationship template %s (%s) has no %s '%.64s'",
                            r->function, t->rtemplates[rt], t->tdefs[ty].name,
                            attr ? "attribute or property" : "property", r->path[0]);
    snprintf(what, sizeof(what), "relationship template %s: %s", t->rtemplates[rt],
             attr ? "attribute" : "property");
    return topo_fn_path(t, d, r, p, what, 1);
}

/* The relationship type requirement Q of node N uses (written, or its definition's). */
static int topo_fn_req_rel(const struct engine_topology *t, const struct topo_node *n,
                           const struct topo_nreq *q)
{
    const char *rel = q->relationship;
    if (rel == NULL) {
        const struct topo_reqdef *rd = n->tdef >= 0 ? topo_tdef_req(t, n->tdef, q->name) : NULL;
        rel = rd ? rd->relationship : NULL;
    }
    if (rel == NULL)
        return -1;
    int rt = topo_rtemplate_find(t, rel);
    return rt >= 0 ? t->rttypes[rt] : topo_tdef_find(t, TOPO_K_RELATIONSHIP, rel);
}

/* The node hosting node N (4.1: along HostedOn), -1 when none, -2 when the host is chosen at
 * run time (a requirement naming a type or a filter). */
static int topo_fn_host(const struct engine_topology *t, const struct topo_node *n)
{
    for (size_t i = 0; i < n->nreqs; i++) {
        const struct topo_nreq *q = &n->reqs[i];
        if (!topo_tdef_is_a(t, topo_fn_req_rel(t, n, q), "tosca.relationships.HostedOn"))
            continue;
        return q->abstract ? -2 : (int)q->target;
    }
    return -1;
}

/* get_property / get_attribute on HOST: the first node along `host` that has the name. */
static int topo_fn_hosted(const struct engine_topology *t, struct engine_diag *d,
                          const struct topo_ref *r, const struct topo_node *self)
{
    const struct topo_node *n = self;
    int h, err, hops = 0;

    while ((h = topo_fn_host(t, n)) >= 0 && (size_t)hops++ <= t->nnodes) {
        n = &t->nodes[h];
        if (!n->typed || n->tdef < 0)
            return 0;
        if (topo_fn_on_node(t, d, r, n, &err) == TOPO_FN_FOUND)
            return err;
    }
    if (h == -2)
        return 0;
    if (n == self)
        return topo_diag_at(d, &r->pos,
                            "%s: HOST: node %s has no host (no requirement whose relationship "
                            "is tosca.relationships.HostedOn)",
                            r->function, self->name);
    return topo_diag_at(d, &r->ppos[0], "%s: no node hosting %s (along HostedOn) has %s '%.64s'",
                        r->function, self->name,
                        r->function[4] == 'a' ? "an attribute" : "a property", r->path[0]);
}

/* get_operation_output: [ENTITY, INTERFACE, OPERATION, OUTPUT] on node N. */
static int topo_fn_operation(const struct engine_topology *t, struct engine_diag *d,
                             const struct topo_ref *r, const struct topo_node *n)
{
    const struct topo_cap *i = topo_tdef_iface(t, n->tdef, r->path[0]);
    int it;

    if (i == NULL)
        return topo_diag_at(d, &r->ppos[0], "%s: node %s (%s) has no interface '%.64s'",
                            r->function, n->name, t->tdefs[n->tdef].name, r->path[0]);
    if ((it = topo_tdef_find(t, TOPO_K_INTERFACE, i->type)) >= 0 &&
        !topo_tdef_has_op(t, it, r->path[1]))
        return topo_diag_at(d, &r->ppos[1],
                            "%s: interface %s (%s) of node %s has no operation '%.64s'",
                            r->function, r->path[0], i->type, n->name, r->path[1]);
    return 0;
}

/* get_artifact: [ENTITY, ARTIFACT, ...]: an artifact of node N or of its type (4.8.1). */
static int topo_fn_artifact(const struct engine_topology *t, struct engine_diag *d,
                            const struct topo_ref *r, const struct topo_node *n)
{
    for (size_t i = 0; i < n->narts; i++)
        if (strcmp(n->arts[i], r->path[0]) == 0)
            return 0;
    for (int j = n->tdef, hops = 0; j >= 0 && hops < 256; j = t->tdefs[j].parent, hops++)
        for (size_t i = 0; i < t->tdefs[j].narts; i++)
            if (strcmp(t->tdefs[j].arts[i], r->path[0]) == 0)
                return 0;
    return topo_diag_at(d, &r->ppos[0], "%s: node %s has no artifact '%.64s'", r->function, n->name,
                        r->path[0]);
}

/* get_input: [NAME, INDEX_OR_KEY, ...] into the input's type. */
static int topo_fn_input(const struct engine_topology *t, struct engine_diag *d,
                         const struct topo_ref *r)
{
    for (size_t i = 0; i < t->ninputs; i++)
        if (strcmp(t->inputs[i].def.name, r->name) == 0)
            return topo_fn_path(t, d, r, &t->inputs[i].def, "input", 0);
    return 0; /* an unknown input is reported where the function is */
}

static int topo_fn_check(const struct engine_topology *t, struct engine_diag *d,
                         const struct topo_ref *r)
{
    static const char *const keywords[] = {"SELF", "SOURCE", "TARGET", "HOST", NULL};
    const struct topo_node *self = r->self > 0 ? &t->nodes[r->self - 1] : NULL, *n = NULL;
    int kw = -1, i, rt = -1, err;

    if (strcmp(r->function, "get_input") == 0)
        return topo_fn_input(t, d, r);
    for (i = 0; keywords[i] != NULL; i++)
        if (strcmp(r->name, keywords[i]) == 0)
            kw = i;
    if (strcmp(r->function, "get_nodes_of_type") == 0) {
        if (topo_tdef_find(t, TOPO_K_NODE, r->name) < 0)
            return topo_diag_at(d, &r->pos, "%s: unknown node type '%.64s'", r->function, r->name);
        return 0;
    }
    if (kw < 0 && (i = topo_node_find(t, r->name)) >= 0)
        n = &t->nodes[i];
    else if (kw < 0 && (rt = topo_rtemplate_find(t, r->name)) < 0)
        return topo_diag_at(d, &r->pos,
                            "%s: unknown entity '%s'; expected SELF, SOURCE, TARGET, HOST or "
                            "a node or relationship template",
                            r->function, r->name);
    else if (kw == 0)
        n = self;
    if (strcmp(r->function, "get_property") != 0 && strcmp(r->function, "get_attribute") != 0) {
        if (n != NULL && n->typed && n->tdef >= 0 && r->npath == 3 &&
            strcmp(r->function, "get_operation_output") == 0)
            return topo_fn_operation(t, d, r, n);
        if (n != NULL && n->typed && r->npath >= 1 && strcmp(r->function, "get_artifact") == 0)
            return topo_fn_artifact(t, d, r, n);
        return 0;
    }
    if (r->npath == 0)
        return 0;
    if (rt >= 0 && t->rttypes[rt] >= 0)
        return topo_fn_on_rel(t, d, r, rt);
    if (kw == 3 && self != NULL && self->typed)
        return topo_fn_hosted(t, d, r, self);
    if (n == NULL || !n->typed || n->tdef < 0)
        return 0;
    if (topo_fn_on_node(t, d, r, n, &err) == TOPO_FN_FOUND)
        return err;
    return topo_diag_at(d, &r->ppos[0], "%s: node %s (%s) has no %s '%.64s'", r->function, n->name,
                        t->tdefs[n->tdef].name,
                        r->function[4] == 'a' ? "attribute or property" : "property", r->path[0]);
}

int topo_functions_check(struct engine_topology *t, struct engine_diag *d)
{
    int bad = 0;
    for (size_t i = 0; i < t->nrefs; i++)
        if (topo_fn_check(t, d, &t->refs[i]) < 0)
            bad = -EINVAL;
    return bad;
}

/* ---- evaluation at load (4.3): concat, join and token of what is known ---- */

#define TOPO_EVAL_MAX 65536 /* longest value an evaluation builds */

struct topo_buf {
    char *p;
    size_t n;
};

/* Appends S[0..N) to B; -E2BIG past TOPO_EVAL_MAX. */
static int topo_buf_add(struct topo_buf *b, const char *s, size_t n)
{
    char *p;
    if (b->n + n >= TOPO_EVAL_MAX)
        return -E2BIG;
    if ((p = realloc(b->p, b->n + n + 1)) == NULL)
        return -ENOMEM;
    memcpy(p + b->n, s, n);
    b->p = p;
    b->n += n;
    p[b->n] = '\0';
    return 0;
}

static int topo_eval(struct topo_ld *ld, const yaml_node_t *v, struct topo_buf *b, int depth);

/* Each item of sequence V evaluated into B, with DELIM between them. */
static int topo_eval_items(struct topo_ld *ld, const yaml_node_t *v, const char *delim,
                           struct topo_buf *b, int depth)
{
    int r;
    if (v->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        if (i > v->data.sequence.items.start && (r = topo_buf_add(b, delim, strlen(delim))) < 0)
            return r;
        if ((r = topo_eval(ld, topo_ld_node(ld, *i), b, depth + 1)) <= 0)
            return r;
    }
    return 1;
}

/* token: [STRING, SEPARATORS, INDEX]: the INDEXth field of STRING split at any of SEPARATORS. */
static int topo_eval_token(struct topo_ld *ld, const yaml_node_t *args, struct topo_buf *b,
                           int depth)
{
    struct topo_buf s = {0};
    const yaml_node_t *sep, *ix;
    long want, k = 0;
    char *end;
    int r;

    if (args->type != YAML_SEQUENCE_NODE ||
        args->data.sequence.items.top - args->data.sequence.items.start != 3)
        return 0;
    sep = topo_ld_node(ld, args->data.sequence.items.start[1]);
    ix = topo_ld_node(ld, args->data.sequence.items.start[2]);
    if (sep->type != YAML_SCALAR_NODE || ix->type != YAML_SCALAR_NODE)
        return 0;
    want = strtol((const char *)ix->data.scalar.value, &end, 10);
    if (*end != '\0')
        return 0; /* refused where the function is read */
    if ((r = topo_eval(ld, topo_ld_node(ld, args->data.sequence.items.start[0]), &s, depth + 1)) <=
        0) {
        free(s.p);
        return r;
    }
    for (const char *f = s.p ? s.p : "", *e;; f = e + 1, k++) {
        e = f + strcspn(f, (const char *)sep->data.scalar.value);
        if (k == want) {
            r = topo_buf_add(b, f, (size_t)(e - f));
            free(s.p);
            return r < 0 ? r : 1;
        }
        if (*e == '\0')
            break;
    }
    free(s.p);
    return topo_ld_err(ld, ix, "token: index %ld: expected 0 to %ld (the string has %ld field%s)",
                       want, k, k + 1, k ? "s" : "");
}

/* V into B: 1 when known, 0 when known only at run time, or a negative error. */
static int topo_eval(struct topo_ld *ld, const yaml_node_t *v, struct topo_buf *b, int depth)
{
    const char *fn;
    const yaml_node_t *args;

    if (depth > TOPO_DEPTH_MAX)
        return 0;
    if (v->type == YAML_SCALAR_NODE) {
        int r = topo_buf_add(b, (const char *)v->data.scalar.value, v->data.scalar.length);
        return r < 0 ? r : 1;
    }
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return 0;
    fn = (const char *)topo_ld_node(ld, v->data.mapping.pairs.start->key)->data.scalar.value;
    args = topo_ld_node(ld, v->data.mapping.pairs.start->value);
    if (strcmp(fn, "get_input") == 0 && args->type == YAML_SCALAR_NODE) {
        for (size_t i = 0; i < ld->t->ninputs; i++)
            if (strcmp(ld->t->inputs[i].def.name, (const char *)args->data.scalar.value) == 0 &&
                ld->t->inputs[i].value != NULL) {
                int r = topo_buf_add(b, ld->t->inputs[i].value, strlen(ld->t->inputs[i].value));
                return r < 0 ? r : 1;
            }
        return 0;
    }
    if (strcmp(fn, "concat") == 0)
        return topo_eval_items(ld, args, "", b, depth);
    if (strcmp(fn, "join") == 0 && args->type == YAML_SEQUENCE_NODE) {
        const yaml_node_t *d = args->data.sequence.items.top - args->data.sequence.items.start > 1
                                   ? topo_ld_node(ld, args->data.sequence.items.start[1])
                                   : NULL;
        if (d != NULL && d->type != YAML_SCALAR_NODE)
            return 0;
        return topo_eval_items(ld, topo_ld_node(ld, args->data.sequence.items.start[0]),
                               d ? (const char *)d->data.scalar.value : "", b, depth);
    }
    if (strcmp(fn, "token") == 0)
        return topo_eval_token(ld, args, b, depth);
    return 0;
}

/* The secret input NAME names, or NULL. */
static const struct topo_input *topo_secret_input(const struct topo_ld *ld, const yaml_node_t *a)
{
    for (size_t i = 0; a != NULL && a->type == YAML_SCALAR_NODE && i < ld->t->ninputs; i++)
        if (ld->t->inputs[i].secret &&
            strcmp(ld->t->inputs[i].def.name, (const char *)a->data.scalar.value) == 0)
            return &ld->t->inputs[i];
    return NULL;
}

static int topo_secret_walk(struct topo_ld *ld, const yaml_node_t *v, int depth)
{
    if (depth > TOPO_DEPTH_MAX || v == NULL)
        return 0;
    if (v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
             i++)
            if (topo_secret_walk(ld, topo_ld_node(ld, *i), depth + 1))
                return 1;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = topo_ld_node(ld, p->key), *a = topo_ld_node(ld, p->value);
        if (k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, "get_input") == 0 &&
            topo_secret_input(ld, a != NULL && a->type == YAML_SEQUENCE_NODE &&
                                          a->data.sequence.items.start < a->data.sequence.items.top
                                      ? topo_ld_node(ld, a->data.sequence.items.start[0])
                                      : a) != NULL)
            return 1;
        if (topo_secret_walk(ld, a, depth + 1))
            return 1;
    }
    return 0;
}

int topo_function_secret(struct topo_ld *ld, const yaml_node_t *v)
{
    return topo_secret_walk(ld, v, 0);
}

int topo_function_eval(struct topo_ld *ld, const yaml_node_t *v, const char *what, char **out)
{
    struct topo_buf b = {0};
    int r = topo_eval(ld, v, &b, 0);

    *out = NULL;
    if (r == 1 && b.p == NULL && (b.p = strdup("")) == NULL)
        r = -ENOMEM;
    if (r == -ENOMEM)
        ld->oom = 1;
    else if (r == -E2BIG)
        r = topo_ld_err(ld, v, "%s: the value this function builds exceeds %d bytes", what,
                        TOPO_EVAL_MAX - 1);
    if (r == 1)
        *out = b.p;
    else
        free(b.p);
    return r;
}
