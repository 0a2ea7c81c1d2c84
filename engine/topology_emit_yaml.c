/* topology_emit_yaml.c — the two YAML artifacts: unitosca.yaml (D_uniTOSCA, eq. 3) and
 * tosca.yaml (D_TOSCA, eq. 5), written for topology_emit.c. */
#include "topology_derive.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- YAML text ---- */

static int topo_yaml_plain(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on",
                                        "off",  "null",  "y",   "n",  NULL};
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
          s[0] == '/'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '/' || *p == '-'))
            return 0;
    for (int i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 0;
    return 1;
}

/* A string scalar: plain when that reads back as the same string, else double-quoted. */
static void topo_yaml_str(FILE *f, const char *s)
{
    if (topo_yaml_plain(s)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void topo_yaml_value(FILE *f, enum engine_topology_type type, const char *v)
{
    if (type == ENGINE_TOPOLOGY_STRING)
        topo_yaml_str(f, v);
    else
        fputs(v, f);
}

static void topo_yaml_head(FILE *f, const struct topo_emit *e, const char *what)
{
    fprintf(f, "# %s, derived by unisec for target %s (engine/TOPOLOGY.md).\n", what,
            engine_target_name(e->x->target));
    fprintf(f, "tosca_definitions_version: %s\n", e->t->version);
    if (e->t->description != NULL) {
        fputs("description: ", f);
        topo_yaml_str(f, e->t->description);
        fputc('\n', f);
    }
}

/* Does line L (after PREFIX, "" or "- ") name NAME ("NAME: ...")? */
static int topo_line_names(const char *l, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    return strncmp(l, prefix, pl) == 0 && strncmp(l + pl, name, nl) == 0 && l[pl + nl] == ':';
}

/* Writes each line of LINES ("NAME: VALUE\n" ...) at INDENT, but those SKIP (may be NULL)
 * refuses by their name after PREFIX. */
static void topo_yaml_lines_skip(FILE *f, const char *lines, int indent, const char *prefix,
                                 int (*skip)(const void *arg, const char *line, const char *prefix),
                                 const void *arg)
{
    for (const char *l = lines, *nl; l != NULL && *l != '\0'; l = nl + 1) {
        nl = strchr(l, '\n'); /* each line ends in one (topology_carry.c) */
        if (skip == NULL || !skip(arg, l, prefix))
            fprintf(f, "%*s%.*s\n", indent, "", (int)(nl - l), l);
    }
}

static void topo_yaml_lines(FILE *f, const char *lines, int indent)
{
    topo_yaml_lines_skip(f, lines, indent, "", NULL, NULL);
}

/* Does one of LINES name NAME after PREFIX? */
static int topo_lines_have(const char *lines, const char *prefix, const char *name)
{
    for (const char *l = lines, *nl; l != NULL && *l != '\0'; l = nl + 1) {
        nl = strchr(l, '\n');
        if (topo_line_names(l, prefix, name))
            return 1;
    }
    return 0;
}

/* A carried property of a node that D_TOSCA writes itself: security_level, or one of unisec's
 * properties whose value in the state is not the one its function gave at load. */
struct topo_prop_skip {
    const struct topo_emit *e;
    size_t node;
};

/* Is property P of NODE written as carried (the function that set it), not by its value? */
static int topo_yaml_prop_kept(const struct topo_emit *e, size_t node, size_t p)
{
    const struct topo_node *n = &e->t->nodes[node];
    const char *v = topo_state_prop(e->s, node, p);
    return v == NULL || (n->props[p].value != NULL && strcmp(v, n->props[p].value) == 0);
}

static int topo_yaml_prop_written(const void *arg, const char *line, const char *prefix)
{
    const struct topo_prop_skip *k = arg;
    const struct topo_node *n = &k->e->t->nodes[k->node];

    if (topo_line_names(line, prefix, "security_level"))
        return 1;
    for (size_t p = 0; p < n->pub.nprops; p++)
        if (topo_line_names(line, prefix, n->props[p].name))
            return !topo_yaml_prop_kept(k->e, k->node, p);
    return 0;
}

/* The node's scalar properties that have a value, then security_level: LEVEL and the
 * properties D_TOSCA carries when LEVEL is not NULL, then its attributes (those carried when
 * LEVEL is not NULL) with a host's private_address, at INDENT. */
static void topo_yaml_node_props(FILE *f, const struct topo_emit *e, size_t node, const char *level,
                                 int indent)
{
    const struct topo_node *n = &e->t->nodes[node];
    const char *attrs = level != NULL ? n->carry[TOPO_C_ATTRS] : NULL;
    struct topo_prop_skip skip = {.e = e, .node = node};
    int any = 0;

    for (size_t p = 0; p < n->pub.nprops; p++) {
        const char *v = topo_state_prop(e->s, node, p);
        if (v == NULL || (level != NULL && topo_yaml_prop_kept(e, node, p) &&
                          topo_lines_have(n->carry[TOPO_C_PROPS], "", n->props[p].name)))
            continue;
        if (!any++)
            fprintf(f, "%*sproperties:\n", indent, "");
        fprintf(f, "%*s%s: ", indent + 2, "", n->props[p].name);
        if (topo_state_prop_shown(e->s, node, p) != v)
            fputs(topo_state_prop_shown(e->s, node, p), f); /* a secret: its function */
        else
            topo_yaml_value(f, n->props[p].type, v);
        fputc('\n', f);
    }
    if (level != NULL) {
        if (!any)
            fprintf(f, "%*sproperties:\n", indent, "");
        fprintf(f, "%*ssecurity_level: %s\n", indent + 2, "", level);
        topo_yaml_lines_skip(f, n->carry[TOPO_C_PROPS], indent + 2, "", topo_yaml_prop_written,
                             &skip);
    }
    if (attrs != NULL) {
        fprintf(f, "%*sattributes:\n", indent, "");
        topo_yaml_lines(f, attrs, indent + 2);
    }
    if (n->pub.address != NULL && n->pub.host == NULL && /* a host keeps its address */
        !topo_lines_have(attrs, "", "private_address")) {
        if (attrs == NULL)
            fprintf(f, "%*sattributes:\n", indent, "");
        fprintf(f, "%*sprivate_address: ", indent + 2, "");
        topo_yaml_str(f, n->pub.address);
        fputc('\n', f);
    }
}

/* N's requirements that name a node (D_uniTOSCA; D_TOSCA carries them as written). */
static void topo_yaml_node_reqs(FILE *f, const struct topo_node *n, int indent)
{
    size_t concrete = 0;
    for (size_t r = 0; r < n->nreqs; r++)
        concrete += !n->reqs[r].abstract;
    if (concrete == 0)
        return;
    fprintf(f, "%*srequirements:\n", indent, "");
    for (size_t r = 0; r < n->nreqs; r++) {
        const char *rel = n->reqs[r].relationship;
        if (n->reqs[r].abstract)
            continue; /* the orchestrator's to select */
        if (rel == NULL && n->reqs[r].count == 1) {
            fprintf(f, "%*s- %s: %s\n", indent + 2, "", n->reqs[r].name, n->reqs[r].node);
            continue;
        }
        fprintf(f, "%*s- %s:\n%*snode: %s\n", indent + 2, "", n->reqs[r].name, indent + 6, "",
                n->reqs[r].node);
        if (rel != NULL)
            fprintf(f, "%*srelationship: %s\n", indent + 6, "", rel);
        if (n->reqs[r].count != 1) /* only read from 1.3 on, which the output keeps */
            fprintf(f, "%*soccurrences: %ld\n", indent + 6, "", n->reqs[r].count);
    }
}

static void topo_yaml_groups(FILE *f, const struct engine_topology *t)
{
    if (t->ngroups == 0)
        return;
    fputs("  groups:\n", f);
    for (size_t g = 0; g < t->ngroups; g++) {
        fprintf(f, "    %s:\n      type: %s\n", t->groups[g].name, t->groups[g].type);
        if (t->groups[g].description) {
            fputs("      description: ", f);
            topo_yaml_str(f, t->groups[g].description);
            fputc('\n', f);
        }
        fputs("      members: [", f);
        for (size_t m = 0; m < t->groups[g].nmembers; m++)
            fprintf(f, "%s%s", m ? ", " : "", t->nodes[t->groups[g].members[m]].name);
        fputs("]\n", f);
        topo_yaml_lines(f, t->groups[g].carry, 6);
    }
}

/* ---- unitosca.yaml: the UniTOSCA specification (eq. 3's D_uniTOSCA) ---- */

/* One module of an image, with its configuration and its manifest's capabilities and
 * requirements. */
static void topo_unitosca_module(FILE *f, const struct topo_emit *e,
                                 const struct engine_topology_module *mod)
{
    const struct topo_module *m = &e->t->mods[topo_module_find(e->t, mod->name)];

    fprintf(f, "    %s:\n", mod->name);
    if (mod->nparams > 0) {
        fputs("      properties:\n", f);
        for (size_t i = 0; i < mod->nparams; i++) {
            fprintf(f, "        %s: {type: %s, default: ", mod->params[i].name,
                    engine_topology_type_name(mod->params[i].type));
            if (mod->params[i].secret != NULL)
                fputs(mod->params[i].secret, f);
            else
                topo_yaml_value(f, mod->params[i].type, mod->params[i].value);
            fputs("}\n", f);
        }
    }
    if (m->ncaps > 0) {
        fputs("      capabilities:\n", f);
        for (size_t i = 0; i < m->ncaps; i++)
            fprintf(f, "        %s: %s\n", m->caps[i].name, m->caps[i].type);
    }
    if (m->nreqs > 0) {
        fputs("      requirements:\n", f);
        for (size_t i = 0; i < m->nreqs; i++)
            fprintf(f, "        - %s: %s\n", m->reqs[i].name, m->reqs[i].type);
    }
}

int topo_emit_unitosca(FILE *f, const struct topo_emit *e)
{
    topo_yaml_head(f, e, "D_uniTOSCA: the unikernel composition of every node at every level");
    fputs("# One unikernel type per node and level (eq. 2, building_sec): the type's modules\n"
          "# with the security modules that enforce the level's functions, in build order,\n"
          "# each with its configuration as property defaults.\n",
          f);
    fputs("unikernel_modules:\n", f);
    for (size_t i = 0; i < e->x->nplans; i++) {
        const struct engine_topology_plan *p = &e->x->plans[i];
        for (size_t l = 0; l < p->nimages; l++) {
            if (p->images[l].nmodules == 0)
                continue;
            fprintf(f, "  %s.%s:\n", p->node, p->images[l].level);
            for (size_t m = 0; m < p->images[l].nmodules; m++)
                topo_unitosca_module(f, e, &p->images[l].modules[m]);
        }
    }
    fputs("topology_template:\n  node_templates:\n", f);
    for (size_t i = 0; i < e->x->nplans; i++) {
        const struct engine_topology_plan *p = &e->x->plans[i];
        fprintf(f, "    %s:\n      type: %s\n", p->node, p->type);
        topo_yaml_node_props(f, e, i, NULL, 6);
        topo_yaml_node_reqs(f, &e->t->nodes[i], 6);
        fprintf(f, "      security_level: %s\n", p->images[p->current].level);
        if (p->images[0].nmodules == 0)
            continue;
        fputs("      unikernels:\n", f);
        for (size_t l = 0; l < p->nimages; l++)
            fprintf(f, "        %s: %s.%s\n", p->images[l].level, p->node, p->images[l].level);
    }
    topo_yaml_groups(f, e->t);
    return 0;
}

/* ---- tosca.yaml: native TOSCA (eq. 5's D_TOSCA) ---- */

#define TOPO_ARTIFACT_TYPE "unisec.artifacts.Deployment.Image.Unikernel"
/* The capability a host offers placed unikernels of any type in D_TOSCA (TOPOLOGY.md 1.10). */
#define TOPO_UNIKERNEL_HOST "unisec.capabilities.UnikernelHost"

/* A part of a carried definition (topology_carry.c) and the key it is written under. */
struct topo_carry_key {
    int part;
    const char *key;
};

/* The name D_TOSCA gives type TY: its own, or unisec.nodes.X for a normative tosca.nodes.X. */
static void topo_tosca_type_name(const struct topo_type *ty, char *buf, size_t size)
{
    const char *dot = strrchr(ty->name, '.');
    if (ty->synthetic)
        snprintf(buf, size, "unisec.nodes.%s", dot ? dot + 1 : ty->name);
    else
        snprintf(buf, size, "%s", ty->name);
}

/* Is TY used by some node, or an ancestor of such a type? */
static int topo_type_used(const struct engine_topology *t, size_t ti)
{
    for (size_t i = 0; i < t->nnodes; i++)
        for (int k = (int)t->nodes[i].type; k >= 0; k = t->types[k].parent)
            if ((size_t)k == ti)
                return 1;
    return 0;
}

/* The topology's own types of KIND as written, under SECTION unless OPEN says it is open.
 * Returns whether SECTION is open. */
static int topo_tosca_own_types(FILE *f, const struct engine_topology *t, int kind,
                                const char *section, int open)
{
    for (size_t i = 0; i < t->ntdefs; i++) {
        const struct topo_tdef *d = &t->tdefs[i];
        if (d->kind != kind || d->builtin)
            continue;
        if (!open++)
            fprintf(f, "%s:\n", section);
        fprintf(f, "  %s:%s\n", d->name, d->carry[TOPO_C_REST] == NULL ? " {}" : "");
        topo_yaml_lines(f, d->carry[TOPO_C_REST], 4);
    }
    return open;
}

/* Does some unikernel node name a host (section 1.10)? */
static int topo_tosca_placed(const struct engine_topology *t)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if (t->nodes[i].pub.host != NULL)
            return 1;
    return 0;
}

/* The topology's capability types, those the modules' capabilities name, and in a placed
 * topology the capability a host offers unikernels of any type (Compute's `host` admits only
 * software components: TOSCA 5.9). */
static void topo_tosca_capability_types(FILE *f, const struct engine_topology *t)
{
    const char *seen[64];
    size_t n = 0;
    int any = topo_tosca_own_types(f, t, TOPO_K_CAPABILITY, "capability_types", 0);

    if (topo_tosca_placed(t) && topo_tdef_find_exact(t, TOPO_K_CAPABILITY, TOPO_UNIKERNEL_HOST) < 0)
        fprintf(f, "%s  %s:\n    derived_from: tosca.capabilities.Container\n",
                any++ ? "" : "capability_types:\n", TOPO_UNIKERNEL_HOST);

    for (size_t m = 0; m < t->nmods; m++)
        for (size_t c = 0; c < t->mods[m].ncaps; c++) {
            const char *ty = t->mods[m].caps[c].type;
            size_t k;
            if (strncmp(ty, "tosca.", 6) == 0 ||
                topo_tdef_find_exact(t, TOPO_K_CAPABILITY, ty) >= 0)
                continue;
            for (k = 0; k < n && strcmp(seen[k], ty) != 0; k++)
                ;
            if (k < n || n == 64)
                continue;
            if (n++ == 0 && !any)
                fputs("capability_types:\n", f);
            seen[k] = ty;
            fprintf(f, "  %s:\n    derived_from: tosca.capabilities.Root\n", ty);
        }
}

/* The type's own definition of KIND (a node type's: OWN) as written, or NULL. */
static const char *topo_tosca_carried(const struct engine_topology *t, int td, int part)
{
    return td >= 0 && !t->tdefs[td].builtin ? t->tdefs[td].carry[part] : NULL;
}

/* Properties TY (its definition TD) defines as written, then those it adds to its parent's
 * through its modules, as TOSCA property definitions. */
static void topo_tosca_type_props(FILE *f, const struct engine_topology *t,
                                  const struct topo_type *ty, int td)
{
    const struct topo_type *parent = ty->parent >= 0 ? &t->types[ty->parent] : NULL;
    const char *own = topo_tosca_carried(t, td, TOPO_C_PROPS);
    int any = 0;

    if (own != NULL) {
        fputs("    properties:\n", f);
        topo_yaml_lines(f, own, 6);
        any = 1;
    }
    for (size_t i = 0; i < ty->neprops; i++) {
        const struct topo_eprop *ep = &ty->eprops[i];
        const struct topo_eprop *pp = parent ? topo_eprop_find(parent, ep->def->name) : NULL;
        if ((pp != NULL && pp->deflt == ep->deflt) || topo_lines_have(own, "", ep->def->name))
            continue;
        if (!any++)
            fputs("    properties:\n", f);
        fprintf(f, "      %s:\n        type: %s\n", ep->def->name,
                engine_topology_type_name(ep->def->type));
        if (ep->deflt) {
            fputs("        default: ", f);
            topo_yaml_value(f, ep->def->type, ep->deflt);
            fputc('\n', f);
        }
        if (!ep->def->required || ep->deflt == NULL)
            fputs("        required: false\n", f);
    }
    if (parent == NULL && !topo_lines_have(own, "", "security_level")) {
        if (!any++)
            fputs("    properties:\n", f);
        fputs("      security_level:\n        type: string\n        required: false\n"
              "        description: the node's current SecTOSCA security level\n",
              f);
    }
}

/* TY's capability definitions as written (its definition TD), then those of its own modules
 * in the long form. */
static void topo_tosca_type_caps(FILE *f, const struct engine_topology *t,
                                 const struct topo_type *ty, int td)
{
    const char *seen[TOPO_COMP_MAX * 4];
    const char *own = topo_tosca_carried(t, td, TOPO_C_CAPS);
    size_t n = 0;

    /* a host type (the first Compute of its line) offers placed unikernels their own capability */
    if (topo_type_is_a(t, ty, "tosca.nodes.Compute") && topo_tosca_placed(t) &&
        (ty->parent < 0 || !topo_type_is_a(t, &t->types[ty->parent], "tosca.nodes.Compute"))) {
        fprintf(f, "    capabilities:\n      unikernel_host:\n        type: %s\n",
                TOPO_UNIKERNEL_HOST);
        seen[n++] = "unikernel_host";
    }
    if (own != NULL) { /* as written (a requirement may name them) */
        if (n == 0)
            fputs("    capabilities:\n", f);
        topo_yaml_lines(f, own, 6);
    }
    if (ty->nmods == 0 || (ty->parent >= 0 && t->types[ty->parent].nmods > 0 && ty->numods == 0))
        return;
    for (size_t i = 0; i < ty->nmods; i++) {
        const struct topo_module *m = &t->mods[ty->mods[i]];
        for (size_t c = 0; c < m->ncaps; c++) {
            size_t k;
            for (k = 0; k < n && strcmp(seen[k], m->caps[c].name) != 0; k++)
                ;
            if (k < n || n == TOPO_COMP_MAX * 4 || topo_lines_have(own, "", m->caps[c].name))
                continue;
            if (n == 0 && own == NULL)
                fputs("    capabilities:\n", f);
            seen[n++] = m->caps[c].name;
            fprintf(f, "      %s:\n        type: %s\n", m->caps[c].name, m->caps[c].type);
        }
    }
}

/* Requirement names the normative ancestors define (TOSCA Simple Profile 5.9). */
static int topo_tosca_normative_req(const struct engine_topology *t, const struct topo_type *ty,
                                    const char *name)
{
    if (strcmp(name, "dependency") == 0)
        return 1;
    if (strcmp(name, "application") == 0)
        return topo_type_is_a(t, ty, "tosca.nodes.LoadBalancer");
    if (strcmp(name, "host") == 0)
        return topo_type_is_a(t, ty, "tosca.nodes.SoftwareComponent") ||
               topo_type_is_a(t, ty, "tosca.nodes.WebApplication") ||
               topo_type_is_a(t, ty, "tosca.nodes.Database");
    return 0;
}

/* Do all targets of requirement NAME of TI's nodes listen (offer an endpoint)? */
static int topo_tosca_req_endpoint(const struct engine_topology *t,
                                   const struct engine_topology_derived *x, size_t ti,
                                   const char *name)
{
    for (size_t i = 0; i < t->nnodes; i++)
        for (size_t r = 0; t->nodes[i].type == ti && r < t->nodes[i].nreqs; r++)
            if (strcmp(t->nodes[i].reqs[r].name, name) == 0 && !t->nodes[i].reqs[r].abstract &&
                x->plans[t->nodes[i].reqs[r].target].nports == 0)
                return 0;
    return 1;
}

/* TI's requirement definitions as written (its definition TD), then for the names its nodes
 * use that neither it nor an ancestor defines, a connection to an endpoint when every target
 * listens, else a dependency. */
static void topo_tosca_type_reqs(FILE *f, const struct topo_emit *e, size_t ti, int td)
{
    const struct engine_topology *t = e->t;
    const struct topo_type *ty = &t->types[ti];
    const char *seen[64];
    const char *own = topo_tosca_carried(t, td, TOPO_C_REQS);
    size_t n = 0;

    if (own != NULL) {
        fputs("    requirements:\n", f);
        topo_yaml_lines(f, own, 6);
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].type != ti)
            continue;
        for (size_t r = 0; r < t->nodes[i].nreqs; r++) {
            const char *name = t->nodes[i].reqs[r].name;
            int ep;
            size_t k;
            const struct topo_reqdef *rd = td >= 0 ? topo_tdef_req(t, td, name) : NULL;
            if (rd != NULL || topo_tosca_normative_req(t, ty, name))
                continue; /* written as the type (or an ancestor) says */
            for (k = 0; k < n && strcmp(seen[k], name) != 0; k++)
                ;
            if (k < n || n == 64)
                continue;
            if (n == 0 && own == NULL)
                fputs("    requirements:\n", f);
            seen[n++] = name;
            ep = topo_tosca_req_endpoint(t, e->x, ti, name);
            if (strcmp(name, "host") == 0 && t->nodes[i].pub.host != NULL) /* placement */
                fprintf(f,
                        "      - host:\n          capability: %s\n"
                        "          node: tosca.nodes.Compute\n"
                        "          relationship: tosca.relationships.HostedOn\n",
                        TOPO_UNIKERNEL_HOST);
            else /* `node` too: tosca-parser finds no node type by tosca.capabilities.Node */
                fprintf(f,
                        "      - %s:\n          capability: %s\n          node: tosca.nodes.Root\n"
                        "          relationship: %s\n          occurrences: [0, UNBOUNDED]\n",
                        name, ep ? "tosca.capabilities.Endpoint" : "tosca.capabilities.Node",
                        ep ? "tosca.relationships.ConnectsTo" : "tosca.relationships.DependsOn");
        }
    }
}

static void topo_tosca_types(FILE *f, const struct topo_emit *e)
{
    static const struct topo_carry_key parts[] = {{TOPO_C_ATTRS, "attributes"},
                                                  {TOPO_C_ARTS, "artifacts"}};
    const struct engine_topology *t = e->t;
    int any = 0;

    for (size_t ti = 0; ti < t->ntypes; ti++) {
        const struct topo_type *ty = &t->types[ti];
        char name[TOPO_NAME_MAX + 32];
        int td = topo_tdef_find_exact(t, TOPO_K_NODE, ty->name);
        if (!topo_type_used(t, ti) && (td < 0 || t->tdefs[td].builtin))
            continue; /* a unikernel type of no node, or a normative one */
        if (!any++)
            fputs("node_types:\n", f);
        topo_tosca_type_name(ty, name, sizeof(name));
        fprintf(f, "  %s:\n    derived_from: %s\n", name,
                ty->synthetic      ? ty->name
                : ty->parent >= 0  ? t->types[ty->parent].name
                : ty->derived_from ? ty->derived_from
                                   : "tosca.nodes.Root");
        if (ty->description) {
            fputs("    description: ", f);
            topo_yaml_str(f, ty->description);
            fputc('\n', f);
        }
        topo_yaml_lines(f, topo_tosca_carried(t, td, TOPO_C_REST), 4);
        for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
            if (topo_tosca_carried(t, td, parts[k].part) != NULL) {
                fprintf(f, "    %s:\n", parts[k].key);
                topo_yaml_lines(f, topo_tosca_carried(t, td, parts[k].part), 6);
            }
        topo_tosca_type_props(f, t, ty, td);
        topo_tosca_type_caps(f, t, ty, td);
        topo_tosca_type_reqs(f, e, ti, td);
    }
}

/* Input IN: its definition as written. A value given to it (inputs.yaml, --input) is not
 * written: an input may be a secret, and the orchestrator takes inputs at deployment. */
static void topo_tosca_input(FILE *f, const struct topo_input *in)
{
    fprintf(f, "    %s:%s\n", in->def.name, in->carry == NULL ? " {}" : "");
    topo_yaml_lines(f, in->carry, 6);
}

/* Node template I: its type (D_TOSCA's name for it), the rest as written, its properties and
 * attributes (topo_yaml_node_props()), capabilities, requirements and artifacts as written,
 * and its images. */
static void topo_tosca_node(FILE *f, const struct topo_emit *e, size_t i)
{
    const struct engine_topology_plan *p = &e->x->plans[i];
    const struct topo_node *n = &e->t->nodes[i];
    char name[TOPO_NAME_MAX + 32];
    static const struct topo_carry_key parts[] = {{TOPO_C_CAPS, "capabilities"},
                                                  {TOPO_C_REQS, "requirements"}};

    topo_tosca_type_name(&e->t->types[n->type], name, sizeof(name));
    fprintf(f, "    %s:\n      type: %s\n", p->node, name);
    topo_yaml_lines(f, n->carry[TOPO_C_REST], 6);
    topo_yaml_node_props(f, e, i, p->images[p->current].level, 6);
    for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
        if (n->carry[parts[k].part] != NULL) {
            fprintf(f, "      %s:\n", parts[k].key);
            topo_yaml_lines(f, n->carry[parts[k].part], 8);
        }
    if (p->images[0].artifact == NULL && n->carry[TOPO_C_ARTS] == NULL)
        return;
    fputs("      artifacts:\n", f);
    topo_yaml_lines(f, n->carry[TOPO_C_ARTS], 8);
    for (size_t l = 0; p->images[0].artifact != NULL && l < p->nimages; l++)
        fprintf(f, "        image_%s:\n          type: %s\n          file: %s\n",
                p->images[l].level, TOPO_ARTIFACT_TYPE, p->images[l].artifact);
}

/* topology_template: its inputs, node templates and what else it said, as written. */
static void topo_tosca_template(FILE *f, const struct topo_emit *e)
{
    static const char *const sections[TOPO_T_N] = {
        [TOPO_T_RTEMPLATES] = "relationship_templates",
        [TOPO_T_POLICIES] = "policies",
        [TOPO_T_OUTPUTS] = "outputs",
        [TOPO_T_SUBMAP] = "substitution_mappings",
        [TOPO_T_WORKFLOWS] = "workflows",
    };
    const struct engine_topology *t = e->t;
    int any = e->x->nplans > 0 || t->ninputs > 0 || t->carry_tt[TOPO_T_REST] != NULL;

    for (size_t s = 1; s < TOPO_T_N; s++)
        any |= t->carry_tt[s] != NULL;
    if (!any)
        return; /* a file of definitions only */
    fputs("topology_template:\n", f);
    topo_yaml_lines(f, t->carry_tt[TOPO_T_REST], 2);
    if (t->ninputs > 0)
        fputs("  inputs:\n", f);
    for (size_t i = 0; i < t->ninputs; i++)
        topo_tosca_input(f, &t->inputs[i]);
    if (e->x->nplans > 0)
        fputs("  node_templates:\n", f);
    for (size_t i = 0; i < e->x->nplans; i++)
        topo_tosca_node(f, e, i);
    topo_yaml_groups(f, t);
    for (size_t s = 1; s < TOPO_T_N; s++)
        if (t->carry_tt[s] != NULL) {
            fprintf(f, "  %s:\n", sections[s]);
            topo_yaml_lines(f, t->carry_tt[s], 4);
        }
}

int topo_emit_tosca(FILE *f, const struct topo_emit *e)
{
    const struct engine_topology *t = e->t;
    static const struct {
        int kind;
        const char *section;
    } kinds[] = {
        {TOPO_K_DATA, "data_types"},
        {TOPO_K_INTERFACE, "interface_types"},
        {TOPO_K_RELATIONSHIP, "relationship_types"},
        {TOPO_K_GROUP, "group_types"},
        {TOPO_K_POLICY, "policy_types"},
    };

    topo_yaml_head(f, e, "D_TOSCA: native TOSCA for a cloud orchestrator");
    topo_yaml_lines(f, t->carry_top, 0);
    fprintf(f,
            "artifact_types:\n  %s:\n    derived_from: tosca.artifacts.Deployment.Image\n"
            "    description: \"a unikernel image built by unisec (hvt: KVM guest, spt: "
            "seccomp-confined process)\"\n    file_ext: [hvt, spt]\n",
            TOPO_ARTIFACT_TYPE);
    topo_tosca_own_types(f, t, TOPO_K_ARTIFACT, "artifact_types", 1);
    topo_tosca_capability_types(f, t);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        topo_tosca_own_types(f, t, kinds[k].kind, kinds[k].section, 0);
    topo_tosca_types(f, e);
    topo_tosca_template(f, e);
    return 0;
}
