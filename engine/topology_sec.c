/* topology_sec.c — security functions and their mechanisms: parsing, and isEnforceable (eq. 4). */
#include "topology_sec.h"

#include "acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* enum engine_pdp's names; from "internal" on, the values a function's `pdp` may take. */
static const char *const topo_pdp_names[] = {"none", "internal", "push", "pull", NULL};

const char *engine_pdp_name(enum engine_pdp p)
{
    return (unsigned)p <= ENGINE_PDP_PULL ? topo_pdp_names[p] : "?";
}

/* A policy name as the ACL language spells it ([a-z0-9_-], 1 to 64). */
static const char *topo_check_policy(const char *v)
{
    if (!engine_acl_policy_valid(v, strlen(v)))
        return "expected a policy name of 1 to 64 characters from [a-z0-9_-] (engine/ACL.md)";
    return NULL;
}

/* The rate_limit module's bounds (guest/modules/rate_limit/bucket.h): a bucket holds at most
 * a million tokens, and the burst in force is at least the rate. */
#define TOPO_RATE_MAX 1000000

static const char *topo_check_rate(const char *v)
{
    long long n = strtoll(v, NULL, 10);
    return n >= 1 && n <= TOPO_RATE_MAX ? NULL : "expected 1 to 1000000 requests per second";
}

static const char *topo_check_burst(const char *v)
{
    long long n = strtoll(v, NULL, 10);
    return n >= 0 && n <= TOPO_RATE_MAX ? NULL : "expected 0 (the rate) to 1000000";
}

static const struct topo_mech_param topo_ac_params[] = {
    {"pdp", ENGINE_TOPOLOGY_STRING, NULL, topo_pdp_names + ENGINE_PDP_INTERNAL, NULL},
    {"policy", ENGINE_TOPOLOGY_STRING, NULL, NULL, topo_check_policy},
    {"authentication", ENGINE_TOPOLOGY_BOOLEAN, "true", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct topo_mech_param topo_rl_params[] = {
    {"requests_per_second", ENGINE_TOPOLOGY_INTEGER, NULL, NULL, topo_check_rate},
    {"burst", ENGINE_TOPOLOGY_INTEGER, "0", NULL, topo_check_burst},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct topo_mech_param topo_tls_params[] = {
    {"plain_http", ENGINE_TOPOLOGY_BOOLEAN, "false", NULL, NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct topo_mech_param topo_no_params[] = {
    {NULL, 0, NULL, NULL, NULL},
};

static int topo_plan_rate(const struct topo_sf *sf, struct topo_arena *a,
                          struct engine_topology_image *img)
{
    (void)a;
    img->rate_rps = strtoll(topo_sf_param(sf, "requests_per_second"), NULL, 10);
    img->rate_burst = strtoll(topo_sf_param(sf, "burst"), NULL, 10);
    if (img->rate_burst < img->rate_rps)
        img->rate_burst = img->rate_rps;
    return 0;
}

static int topo_plan_access(const struct topo_sf *sf, struct topo_arena *a,
                            struct engine_topology_image *img)
{
    const char *pdp = topo_sf_param(sf, "pdp");

    for (int p = ENGINE_PDP_INTERNAL; p <= ENGINE_PDP_PULL; p++)
        if (strcmp(pdp, engine_pdp_name((enum engine_pdp)p)) == 0)
            img->pdp = (enum engine_pdp)p;
    img->authentication = strcmp(topo_sf_param(sf, "authentication"), "true") == 0;
    img->policy = topo_arena_strdup(a, topo_sf_param(sf, "policy"));
    img->access_function = topo_arena_strdup(a, sf->name);
    return img->policy && img->access_function ? 0 : -ENOMEM;
}

static int topo_plan_isolation(const struct topo_sf *sf, struct topo_arena *a,
                               struct engine_topology_image *img)
{
    (void)sf;
    (void)a;
    img->hardware_isolation = 1;
    return 0;
}

static int topo_plan_tls(const struct topo_sf *sf, struct topo_arena *a,
                         struct engine_topology_image *img)
{
    (void)a;
    img->tls = 1;
    img->tls_plain = strcmp(topo_sf_param(sf, "plain_http"), "true") == 0;
    return 0;
}

/*
 * The mechanisms, in the order their modules sit in a request's path: rate limiting first (it
 * is cheapest and protects the rest), then authentication, then the access-control decision.
 */
const struct topo_mech topo_mechs[] = {
    {"rate_limit",
     topo_plan_rate,
     topo_rl_params,
     {{"rate_limit", NULL}},
     "unisec.capabilities.RequestHook",
     NULL,
     NULL},
    {"access_control",
     topo_plan_access,
     topo_ac_params,
     {{"authn", "authentication"}, {"acl_pep", NULL}},
     "unisec.capabilities.RequestHook",
     NULL,
     NULL},
    {"hardware_isolation",
     topo_plan_isolation,
     topo_no_params,
     {{NULL, NULL}},
     NULL,
     "unikernel.virtualenv.isolation.hardware",
     "spt runs a unikernel as a seccomp-confined host process, not in a virtual machine; use "
     "--target hvt"},
    /* Confidentiality: TLS beneath the HTTP front (the tls module), so the connection is in
     * clear text only inside the unikernel; HTTPS only unless plain_http. */
    {"tls",
     topo_plan_tls,
     topo_tls_params,
     {{"tls", NULL}},
     "tosca.capabilities.Endpoint",
     NULL,
     NULL},
};

const size_t topo_nmechs = sizeof(topo_mechs) / sizeof(topo_mechs[0]);

/* What each execution environment offers the modules (DESIGN.md section 4). */
static const char *const topo_env_hvt[] = {
    "unikernel.virtualenv.clock",
    "unikernel.virtualenv.console",
    "unikernel.virtualenv.entropy",
    "unikernel.virtualenv.isolation.hardware",
    "unikernel.virtualenv.networking.nic",
    "unikernel.virtualenv.pdp_stream",
    "unikernel.virtualenv.policy_channel",
    "unikernel.virtualenv.tls_credentials",
    NULL,
};
static const char *const topo_env_spt[] = {
    "unikernel.virtualenv.clock",
    "unikernel.virtualenv.console",
    "unikernel.virtualenv.entropy",
    "unikernel.virtualenv.isolation.process",
    "unikernel.virtualenv.networking.nic",
    "unikernel.virtualenv.pdp_stream",
    "unikernel.virtualenv.policy_channel",
    "unikernel.virtualenv.tls_credentials",
    NULL,
};

const char *const *topo_env_caps(enum engine_target target)
{
    return target == ENGINE_TARGET_SPT ? topo_env_spt : topo_env_hvt;
}

int topo_env_has(enum engine_target target, const char *cap)
{
    for (const char *const *c = topo_env_caps(target); *c; c++)
        if (strcmp(*c, cap) == 0)
            return 1;
    return 0;
}

const char *topo_mech_name(int mech)
{
    return mech >= 0 && (size_t)mech < topo_nmechs ? topo_mechs[mech].name : "?";
}

int topo_module_is_security(const char *name)
{
    for (size_t m = 0; m < topo_nmechs; m++)
        for (size_t i = 0; i < TOPO_MECH_MODS && topo_mechs[m].mods[i].module; i++)
            if (strcmp(topo_mechs[m].mods[i].module, name) == 0)
                return 1;
    return 0;
}

const struct topo_level *topo_mls_level(const struct topo_mls *mls, const char *name)
{
    const struct topo_level *def = NULL;
    for (size_t i = 0; i < mls->nlevels; i++) {
        if (strcmp(mls->levels[i].name, name) == 0)
            return &mls->levels[i];
        if (strcmp(mls->levels[i].name, "default") == 0)
            def = &mls->levels[i];
    }
    return def;
}

const char *topo_sf_param(const struct topo_sf *sf, const char *name)
{
    for (size_t i = 0; i < sf->nparams; i++)
        if (strcmp(sf->params[i].name, name) == 0)
            return sf->params[i].value;
    return NULL;
}

/* ---- parsing ---- */

static const char *topo_mech_name_at(const void *arg, size_t i)
{
    (void)arg;
    return topo_mechs[i].name;
}

static void topo_mech_list(char *buf, size_t size)
{
    topo_join(buf, size, topo_nmechs, topo_mech_name_at, NULL, " or ");
}

static int topo_sf_value(struct topo_ld *ld, const struct topo_mech_param *p, yaml_node_t *v,
                         const char *sfname, char **out)
{
    char what[256];
    const char *why;

    snprintf(what, sizeof(what), "security function %s: %s", sfname, p->name);
    if (topo_ld_value(ld, v, p->type, what, out) < 0)
        return -EINVAL;
    if (p->values != NULL) {
        size_t i;
        for (i = 0; p->values[i] && strcmp(p->values[i], *out) != 0; i++)
            ;
        if (p->values[i] == NULL)
            return topo_ld_err(ld, v, "%s: '%.64s': expected %s, %s or %s", what, *out,
                               p->values[0], p->values[1], p->values[2]);
    }
    if (p->check != NULL && (why = p->check(*out)) != NULL)
        return topo_ld_err(ld, v, "%s: '%.64s': %s", what, *out, why);
    return 0;
}

int topo_sf_parse(struct topo_ld *ld, const char *name, const yaml_node_t *n, struct topo_sf *out)
{
    const char *keys[16] = {"mechanism", "description"};
    yaml_node_t *mv;
    const char *mech;
    size_t m, nk = 2;
    int bad = 0;

    char what[160];

    out->mech = -1;
    snprintf(what, sizeof(what), "security function %s", name);
    if (topo_ld_map(ld, n, what, NULL) < 0)
        return -EINVAL;
    if ((mv = topo_ld_get(ld, n, "mechanism")) == NULL) {
        char list[256];
        topo_mech_list(list, sizeof(list));
        return topo_ld_err(ld, n, "security function %s: expected a key 'mechanism' (%s)", name,
                           list);
    }
    if ((mech = topo_ld_scalar(ld, mv, "mechanism")) == NULL)
        return -EINVAL;
    for (m = 0; m < topo_nmechs && strcmp(topo_mechs[m].name, mech) != 0; m++)
        ;
    if (m == topo_nmechs) {
        char list[256];
        topo_mech_list(list, sizeof(list));
        return topo_ld_err(ld, mv, "security function %s: unknown mechanism '%.64s'; expected %s",
                           name, mech, list);
    }
    out->mech = (int)m;
    for (const struct topo_mech_param *p = topo_mechs[m].params; p->name && nk < 15; p++)
        keys[nk++] = p->name;
    keys[nk] = NULL;
    if (topo_ld_map(ld, n, what, keys) < 0)
        return -EINVAL;
    if ((mv = topo_ld_get(ld, n, "description")) != NULL && !topo_ld_scalar(ld, mv, "description"))
        bad = -EINVAL;
    for (const struct topo_mech_param *p = topo_mechs[m].params; p->name; p++) {
        yaml_node_t *v = topo_ld_get(ld, n, p->name);
        struct topo_param *slot;
        char *value = NULL;
        if (v == NULL && p->def == NULL) {
            bad = topo_ld_err(ld, n, "security function %s (%s): expected a key '%s' (%s)", name,
                              topo_mechs[m].name, p->name, engine_topology_type_name(p->type));
            continue;
        }
        if (v != NULL && topo_sf_value(ld, p, v, name, &value) < 0) {
            free(value);
            bad = -EINVAL;
            continue;
        }
        if (v == NULL && (value = strdup(p->def)) == NULL)
            return ld->oom = 1, -ENOMEM;
        if ((slot = topo_push(&out->params, out->nparams, sizeof(*slot))) == NULL) {
            free(value);
            return ld->oom = 1, -ENOMEM;
        }
        out->nparams++;
        slot->value = value;
        slot->type = p->type;
        if ((slot->name = topo_ld_strdup(ld, p->name)) == NULL)
            return -ENOMEM;
    }
    return bad;
}

/* ---- isEnforceable (eq. 4) ---- */

/* Does one of the modules MODS offer a capability of type CAP? */
static int topo_mods_offer(const struct engine_topology *t, const size_t *mods, size_t n,
                           const char *cap)
{
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < t->mods[mods[i]].ncaps; c++)
            if (strcmp(t->mods[mods[i]].caps[c].type, cap) == 0)
                return 1;
    return 0;
}

struct topo_mods_arg {
    const struct engine_topology *t;
    const size_t *mods;
};

static const char *topo_mods_name_at(const void *arg, size_t i)
{
    const struct topo_mods_arg *m = arg;
    return m->t->mods[m->mods[i]].name;
}

static void topo_mods_names(const struct engine_topology *t, const size_t *mods, size_t n,
                            char *buf, size_t size)
{
    struct topo_mods_arg m = {t, mods};
    topo_join(buf, size, n, topo_mods_name_at, &m, ", ");
}

int topo_is_supported(const struct engine_topology *t, const struct topo_node *n, const char *level,
                      const struct topo_sf *sf, enum engine_target target,
                      const struct topo_pos *pos, struct engine_diag *d)
{
    const struct topo_mech *m = &topo_mechs[sf->mech];
    const struct topo_type *ty = &t->types[n->type];
    char names[512];

    if (m->mods[0].module != NULL && ty->nmods == 0)
        return topo_diag_at(d, pos,
                            "node %s at level %s: security function %s (%s) is not enforceable: "
                            "type %s is not realised by a unikernel (no unikernel_modules, not a "
                            "tosca.nodes.LoadBalancer), so no module can enforce it",
                            n->name, level, sf->name, m->name, ty->name);
    if (m->needs_cap != NULL && !topo_mods_offer(t, ty->mods, ty->nmods, m->needs_cap)) {
        topo_mods_names(t, ty->mods, ty->nmods, names, sizeof(names));
        return topo_diag_at(d, pos,
                            "node %s at level %s: security function %s (%s) is not enforceable: "
                            "none of the modules of type %s (%s) offers a %s capability to hook "
                            "requests into",
                            n->name, level, sf->name, m->name, ty->name, names, m->needs_cap);
    }
    for (size_t i = 0; i < TOPO_MECH_MODS && m->mods[i].module; i++)
        if (topo_module_find(t, m->mods[i].module) < 0)
            return topo_diag_at(d, pos,
                                "node %s at level %s: security function %s (%s) is not "
                                "enforceable: module %s is missing from the module catalogue",
                                n->name, level, sf->name, m->name, m->mods[i].module);
    if (m->needs_env != NULL && !topo_env_has(target, m->needs_env))
        return topo_diag_at(d, pos,
                            "node %s at level %s: security function %s (%s) is not enforceable "
                            "on target %s: it needs %s, which %s lacks (%s)",
                            n->name, level, sf->name, m->name, engine_target_name(target),
                            m->needs_env, engine_target_name(target), m->why_env);
    return 0;
}

static int topo_has_policy(const void *arg, const char *policy)
{
    return engine_acl_has_policy(arg, policy);
}

int engine_topology_check_policies(const struct engine_topology *t, const struct engine_acl *acl,
                                   struct engine_diag *d)
{
    return engine_topology_check_policies_fn(t, topo_has_policy, acl, d);
}

int engine_topology_check_policies_fn(const struct engine_topology *t,
                                      int (*has)(const void *arg, const char *policy),
                                      const void *arg, struct engine_diag *d)
{
    int bad = 0;

    for (size_t i = 0; i < t->nsfs; i++) {
        const char *policy = topo_sf_param(&t->sfs[i], "policy");
        if (strcmp(topo_mechs[t->sfs[i].mech].name, "access_control") != 0 || policy == NULL ||
            has(arg, policy))
            continue;
        bad = topo_diag_at(
            d, &t->sfs[i].pos,
            "security function %s: policy '%s' has no rule in policy/acl or policy/acl.d; "
            "expected lines '%s SUBJECT METHOD PATH allow|deny'",
            t->sfs[i].name, policy, policy);
    }
    return bad;
}
