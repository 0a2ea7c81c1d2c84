/* topology_emit_json.c — the two JSON artifacts: p_so.json (P_SO) and p_ug.json (P_UG), made
 * with jansson for topology_emit.c. */
#include "json.h"
#include "topology_derive.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

/* Sets KEY of O to V. Consumes V in every case (jansson's _new functions steal the reference
 * even when they fail), so children are made right where they are set; fails when V is NULL
 * (an allocation failed while making it). */
static int topo_json_set(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int topo_json_append(json_t *a, json_t *v)
{
    return v != NULL && json_array_append_new(a, v) == 0 ? 0 : -ENOMEM;
}

/* Returns O, or NULL (freeing O) when R reports a failure. */
static json_t *topo_json_done(json_t *o, int r)
{
    if (r == 0)
        return o;
    json_decref(o);
    return NULL;
}

static json_t *topo_json_value(enum engine_topology_type type, const char *v)
{
    switch (type) {
    case ENGINE_TOPOLOGY_INTEGER:
        return json_integer(strtoll(v, NULL, 10));
    case ENGINE_TOPOLOGY_FLOAT:
        return json_real(strtod(v, NULL));
    case ENGINE_TOPOLOGY_BOOLEAN:
        return json_boolean(strcmp(v, "true") == 0);
    default:
        return json_string(v);
    }
}

static json_t *topo_json_strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < n; i++)
        r = topo_json_append(a, json_string(v[i]));
    return topo_json_done(a, r);
}

/* Two images are the same unikernel except for a policy the PDP can change at run time. */
static int topo_same_but_policy(const struct engine_topology_image *a,
                                const struct engine_topology_image *b)
{
    if (a->nmodules != b->nmodules || a->pdp != b->pdp || a->pdp == ENGINE_PDP_INTERNAL)
        return 0;
    for (size_t m = 0; m < a->nmodules; m++) {
        const struct engine_topology_module *x = &a->modules[m], *y = &b->modules[m];
        if (strcmp(x->name, y->name) != 0 || x->nparams != y->nparams)
            return 0;
        for (size_t i = 0; i < x->nparams; i++)
            if (strcmp(x->params[i].name, y->params[i].name) != 0 ||
                (strcmp(x->params[i].value, y->params[i].value) != 0 &&
                 !(strcmp(x->name, "acl_pep") == 0 && strcmp(x->params[i].name, "policy") == 0)))
                return 0;
    }
    return 1;
}

static json_t *topo_pso_access(const struct engine_topology_image *img)
{
    json_t *o;

    if (img->pdp == ENGINE_PDP_NONE)
        return json_null();
    if ((o = json_object()) == NULL)
        return NULL;
    return topo_json_done(
        o, topo_json_set(o, "function", json_string(img->access_function)) ||
               topo_json_set(o, "pdp", json_string(engine_pdp_name(img->pdp))) ||
               topo_json_set(o, "policy", json_string(img->policy)) ||
               topo_json_set(o, "authentication", json_boolean(img->authentication)));
}

static json_t *topo_pso_rate(const struct engine_topology_image *img)
{
    json_t *o;

    if (img->rate_rps == 0)
        return json_null();
    if ((o = json_object()) == NULL)
        return NULL;
    return topo_json_done(o, topo_json_set(o, "requests_per_second", json_integer(img->rate_rps)) ||
                                 topo_json_set(o, "burst", json_integer(img->rate_burst)));
}

static json_t *topo_pso_level(const struct engine_topology_plan *p, size_t l)
{
    const struct engine_topology_image *img = &p->images[l];
    const char *apply = l == p->current                                     ? "current"
                        : topo_same_but_policy(&p->images[p->current], img) ? "configure"
                                                                            : "swap";
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    return topo_json_done(
        o, topo_json_set(o, "functions", topo_json_strings(img->functions, img->nfunctions)) ||
               topo_json_set(o, "access_control", topo_pso_access(img)) ||
               topo_json_set(o, "rate_limit", topo_pso_rate(img)) ||
               topo_json_set(o, "hardware_isolation", json_boolean(img->hardware_isolation)) ||
               topo_json_set(o, "tls", json_boolean(img->tls)) ||
               topo_json_set(o, "apply", json_string(apply)));
}

/* The names of the groups node I belongs to. */
static json_t *topo_pso_node_groups(const struct engine_topology *t, size_t i)
{
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t g = 0; r == 0 && g < t->ngroups; g++)
        for (size_t m = 0; r == 0 && m < t->groups[g].nmembers; m++)
            if (t->groups[g].members[m] == i)
                r = topo_json_append(a, json_string(t->groups[g].name));
    return topo_json_done(a, r);
}

static json_t *topo_pso_levels(const struct engine_topology_plan *p)
{
    json_t *o = json_object();
    int r = o ? 0 : -ENOMEM;

    for (size_t l = 0; r == 0 && l < p->nimages; l++)
        r = topo_json_set(o, p->images[l].level, topo_pso_level(p, l));
    return topo_json_done(o, r);
}

static json_t *topo_pso_node(const struct topo_emit *e, size_t i)
{
    const struct engine_topology_plan *p = &e->x->plans[i];
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    return topo_json_done(
        o, topo_json_set(o, "type", json_string(p->type)) ||
               topo_json_set(o, "security_level", json_string(p->images[p->current].level)) ||
               topo_json_set(o, "groups", topo_pso_node_groups(e->t, i)) ||
               topo_json_set(o, "levels", topo_pso_levels(p)));
}

static json_t *topo_pso_groups(const struct engine_topology *t)
{
    json_t *o = json_object();
    int r = o ? 0 : -ENOMEM;

    for (size_t g = 0; r == 0 && g < t->ngroups; g++) {
        json_t *m = json_array();
        for (size_t k = 0; m != NULL && k < t->groups[g].nmembers; k++)
            if (topo_json_append(m, json_string(t->nodes[t->groups[g].members[k]].name)) < 0) {
                json_decref(m);
                m = NULL;
            }
        r = topo_json_set(o, t->groups[g].name, m);
    }
    return topo_json_done(o, r);
}

static json_t *topo_pso(const struct topo_emit *e)
{
    json_t *o = json_object(), *nodes = NULL;
    int r;

    if (o == NULL)
        return NULL;
    r = topo_json_set(o, "target", json_string(engine_target_name(e->x->target))) ||
        topo_json_set(o, "groups", topo_pso_groups(e->t)) ||
        topo_json_set(o, "nodes", nodes = json_object());
    for (size_t i = 0; r == 0 && i < e->x->nplans; i++)
        r = topo_json_set(nodes, e->x->plans[i].node, topo_pso_node(e, i));
    return topo_json_done(o, r);
}

static json_t *topo_pug_config(const struct engine_topology_module *m)
{
    json_t *o = json_object();
    int r = o ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < m->nparams; i++)
        r = topo_json_set(o, m->params[i].name,
                          m->params[i].secret != NULL
                              ? json_string(m->params[i].secret)
                              : topo_json_value(m->params[i].type, m->params[i].value));
    return topo_json_done(o, r);
}

static json_t *topo_pug_modules(const struct engine_topology_image *img)
{
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t m = 0; r == 0 && m < img->nmodules; m++) {
        json_t *o = json_object();
        if (o != NULL && (topo_json_set(o, "name", json_string(img->modules[m].name)) ||
                          topo_json_set(o, "config", topo_pug_config(&img->modules[m])))) {
            json_decref(o);
            o = NULL;
        }
        r = topo_json_append(a, o);
    }
    return topo_json_done(a, r);
}

static json_t *topo_pug_ports(const struct engine_topology_plan *p)
{
    json_t *a = json_array();
    int r = a ? 0 : -ENOMEM;

    for (size_t k = 0; r == 0 && k < p->nports; k++)
        r = topo_json_append(a, json_integer(p->ports[k]));
    return topo_json_done(a, r);
}

static json_t *topo_pug_image(const struct engine_topology_plan *p, size_t l)
{
    const struct engine_topology_image *img = &p->images[l];
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    return topo_json_done(
        o, topo_json_set(o, "node", json_string(p->node)) ||
               topo_json_set(o, "level", json_string(img->level)) ||
               topo_json_set(o, "current", json_boolean(l == p->current)) ||
               topo_json_set(o, "artifact", json_string(img->artifact)) ||
               topo_json_set(o, "pdp", json_string(engine_pdp_name(img->pdp))) ||
               topo_json_set(o, "policy", img->policy ? json_string(img->policy) : json_null()) ||
               topo_json_set(o, "environment", topo_json_strings(img->env, img->nenv)) ||
               topo_json_set(o, "listen", topo_pug_ports(p)) ||
               topo_json_set(o, "modules", topo_pug_modules(img)));
}

static json_t *topo_pug(const struct topo_emit *e)
{
    json_t *o = json_object(), *imgs = NULL;
    int r;

    if (o == NULL)
        return NULL;
    r = topo_json_set(o, "target", json_string(engine_target_name(e->x->target))) ||
        topo_json_set(o, "images", imgs = json_array());
    for (size_t i = 0; r == 0 && i < e->x->nplans; i++)
        for (size_t l = 0; r == 0 && l < e->x->plans[i].nimages; l++)
            if (e->x->plans[i].images[l].nmodules > 0)
                r = topo_json_append(imgs, topo_pug_image(&e->x->plans[i], l));
    return topo_json_done(o, r);
}

int topo_emit_json(char **text, size_t *len, enum engine_topology_artifact a,
                   const struct topo_emit *e)
{
    json_t *j = a == ENGINE_ARTIFACT_P_SO ? topo_pso(e) : topo_pug(e);
    int r = engine_json_dumps(text, len, j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    json_decref(j);
    return r;
}
