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

/* Writes each line of LINES ("NAME: VALUE\n" ...) at INDENT. */
static void topo_yaml_lines(FILE *f, const char *lines, int indent)
{
    for (const char *l = lines, *nl; l != NULL && *l != '\0'; l = nl + 1) {
        nl = strchr(l, '\n'); /* each line ends in one (topo_node_carry()) */
        fprintf(f, "%*s%.*s\n", indent, "", (int)(nl - l), l);
    }
}

/* The node's scalar properties that have a value, then security_level: LEVEL and the TOSCA
 * properties D_TOSCA carries when LEVEL is not NULL, then a host's private_address, at
 * INDENT. */
static void topo_yaml_node_props(FILE *f, const struct topo_emit *e, size_t node, const char *level,
                                 int indent)
{
    const struct topo_node *n = &e->t->nodes[node];
    int any = 0;

    for (size_t p = 0; p < n->pub.nprops; p++) {
        const char *v = topo_state_prop(e->s, node, p);
        if (v == NULL)
            continue;
        if (!any++)
            fprintf(f, "%*sproperties:\n", indent, "");
        fprintf(f, "%*s%s: ", indent + 2, "", n->props[p].name);
        topo_yaml_value(f, n->props[p].type, v);
        fputc('\n', f);
    }
    if (level != NULL) {
        if (!any)
            fprintf(f, "%*sproperties:\n", indent, "");
        fprintf(f, "%*ssecurity_level: %s\n", indent + 2, "", level);
        topo_yaml_lines(f, n->carry_props, indent + 2);
    }
    if (n->pub.address != NULL && n->pub.host == NULL) { /* a host keeps its address */
        fprintf(f, "%*sattributes:\n%*sprivate_address: ", indent, "", indent + 2, "");
        topo_yaml_str(f, n->pub.address);
        fputc('\n', f);
    }
}

/* The type of relationship template NAME, or NULL. */
static const char *topo_rtemplate_type(const struct engine_topology *t, const char *name)
{
    for (size_t i = 0; i < t->nrtemplates; i++)
        if (strcmp(t->rtemplates[i], name) == 0)
            return t->rttypes[i] >= 0 ? t->tdefs[t->rttypes[i]].name : NULL;
    return NULL;
}

/* N's requirements. T given (D_TOSCA): a relationship that names a relationship template is
 * written as the template's type (D_TOSCA does not write the templates), one that names a
 * type is kept (topo_tosca_own_types writes the topology's). */
static void topo_yaml_node_reqs(FILE *f, const struct engine_topology *t, const struct topo_node *n,
                                int indent)
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
            continue; /* not written yet: TOPOLOGY.md section 6 */
        if (rel != NULL && t != NULL && topo_tdef_find(t, TOPO_K_RELATIONSHIP, rel) < 0)
            rel = topo_rtemplate_type(t, rel);
        if (rel == NULL)
            fprintf(f, "%*s- %s: %s\n", indent + 2, "", n->reqs[r].name, n->reqs[r].node);
        else
            fprintf(f, "%*s- %s:\n%*snode: %s\n%*srelationship: %s\n", indent + 2, "",
                    n->reqs[r].name, indent + 6, "", n->reqs[r].node, indent + 6, "", rel);
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
        topo_yaml_node_reqs(f, NULL, &e->t->nodes[i], 6);
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

/* The topology's own types of KIND under SECTION, by name and derivation (what a requirement
 * or a capability definition names). Returns whether SECTION was opened. */
static int topo_tosca_own_types(FILE *f, const struct engine_topology *t, int kind,
                                const char *section, const char *root)
{
    int any = 0;
    for (size_t i = 0; i < t->ntdefs; i++) {
        const struct topo_tdef *d = &t->tdefs[i];
        if (d->kind != kind || d->builtin)
            continue;
        if (!any++)
            fprintf(f, "%s:\n", section);
        fprintf(f, "  %s:\n    derived_from: %s\n", d->name,
                d->parent >= 0 ? t->tdefs[d->parent].name : root);
    }
    return any;
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
    int any = topo_tosca_own_types(f, t, TOPO_K_CAPABILITY, "capability_types",
                                   "tosca.capabilities.Root");

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

/* Properties TY adds to its parent's, as TOSCA property definitions. */
static void topo_tosca_type_props(FILE *f, const struct engine_topology *t,
                                  const struct topo_type *ty)
{
    const struct topo_type *parent = ty->parent >= 0 ? &t->types[ty->parent] : NULL;
    int any = 0;

    for (size_t i = 0; i < ty->neprops; i++) {
        const struct topo_eprop *ep = &ty->eprops[i];
        const struct topo_eprop *pp = parent ? topo_eprop_find(parent, ep->def->name) : NULL;
        if (pp != NULL && pp->deflt == ep->deflt)
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
    if (parent == NULL) {
        if (!any++)
            fputs("    properties:\n", f);
        fputs("      security_level:\n        type: string\n        required: false\n"
              "        description: the node's current SecTOSCA security level\n",
              f);
    }
}

/* The capabilities of TY's own modules, in the long form. */
static void topo_tosca_type_caps(FILE *f, const struct engine_topology *t,
                                 const struct topo_type *ty)
{
    const char *seen[TOPO_COMP_MAX * 4];
    size_t n = 0;
    int td = topo_tdef_find_exact(t, TOPO_K_NODE, ty->name);

    /* a host type (the first Compute of its line) offers placed unikernels their own capability */
    if (topo_type_is_a(t, ty, "tosca.nodes.Compute") && topo_tosca_placed(t) &&
        (ty->parent < 0 || !topo_type_is_a(t, &t->types[ty->parent], "tosca.nodes.Compute"))) {
        fprintf(f, "    capabilities:\n      unikernel_host:\n        type: %s\n",
                TOPO_UNIKERNEL_HOST);
        seen[n++] = "unikernel_host";
    }
    /* the type's own capability definitions, as written (a requirement may name them) */
    for (size_t c = 0; td >= 0 && !t->tdefs[td].builtin && c < t->tdefs[td].ncaps; c++) {
        const struct topo_cap *cap = &t->tdefs[td].caps[c];
        if (cap->type == NULL || n == TOPO_COMP_MAX * 4)
            continue;
        if (n == 0)
            fputs("    capabilities:\n", f);
        seen[n++] = cap->name;
        fprintf(f, "      %s:\n        type: %s\n", cap->name, cap->type);
    }
    if (ty->nmods == 0 || (ty->parent >= 0 && t->types[ty->parent].nmods > 0 && ty->numods == 0))
        return;
    for (size_t i = 0; i < ty->nmods; i++) {
        const struct topo_module *m = &t->mods[ty->mods[i]];
        for (size_t c = 0; c < m->ncaps; c++) {
            size_t k;
            for (k = 0; k < n && strcmp(seen[k], m->caps[c].name) != 0; k++)
                ;
            if (k < n || n == TOPO_COMP_MAX * 4)
                continue;
            if (n == 0)
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

/* Is RD one of type TD's own requirement definitions (not an ancestor's)? */
static int topo_reqdef_own(const struct engine_topology *t, int td, const struct topo_reqdef *rd)
{
    const struct topo_tdef *d = &t->tdefs[td];
    return !d->builtin && d->nreqs > 0 && rd >= d->reqs && rd < d->reqs + d->nreqs;
}

/* Requirement definitions for the names TI's nodes use that no ancestor defines: the type's
 * own definition when it has one; else a connection to an endpoint when every target listens,
 * else a dependency. */
static void topo_tosca_type_reqs(FILE *f, const struct topo_emit *e, size_t ti)
{
    const struct engine_topology *t = e->t;
    const struct topo_type *ty = &t->types[ti];
    const char *seen[64];
    size_t n = 0;
    int td = topo_tdef_find_exact(t, TOPO_K_NODE, ty->name);

    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].type != ti)
            continue;
        for (size_t r = 0; r < t->nodes[i].nreqs; r++) {
            const char *name = t->nodes[i].reqs[r].name;
            int ep;
            size_t k;
            const struct topo_reqdef *rd = td >= 0 ? topo_tdef_req(t, td, name) : NULL;
            if (rd != NULL ? !topo_reqdef_own(t, td, rd) : topo_tosca_normative_req(t, ty, name))
                continue;
            for (k = 0; k < n && strcmp(seen[k], name) != 0; k++)
                ;
            if (k < n || n == 64)
                continue;
            if (n == 0)
                fputs("    requirements:\n", f);
            seen[n++] = name;
            if (rd != NULL) { /* the type's own definition, as written */
                fprintf(f, "      - %s:\n", name);
                if (rd->capability != NULL)
                    fprintf(f, "          capability: %s\n", rd->capability);
                if (rd->node != NULL)
                    fprintf(f, "          node: %s\n", rd->node);
                if (rd->relationship != NULL)
                    fprintf(f, "          relationship: %s\n", rd->relationship);
                if (rd->occ_max < 0)
                    fprintf(f, "          occurrences: [%ld, UNBOUNDED]\n", rd->occ_min);
                else if (rd->occ_min != 1 || rd->occ_max != 1)
                    fprintf(f, "          occurrences: [%ld, %ld]\n", rd->occ_min, rd->occ_max);
                continue;
            }
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
    const struct engine_topology *t = e->t;
    int any = 0;

    for (size_t ti = 0; ti < t->ntypes; ti++) {
        const struct topo_type *ty = &t->types[ti];
        char name[TOPO_NAME_MAX + 32];
        if (!topo_type_used(t, ti))
            continue;
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
        topo_tosca_type_props(f, t, ty);
        topo_tosca_type_caps(f, t, ty);
        topo_tosca_type_reqs(f, e, ti);
    }
}

int topo_emit_tosca(FILE *f, const struct topo_emit *e)
{
    const struct engine_topology *t = e->t;

    topo_yaml_head(f, e, "D_TOSCA: native TOSCA for a cloud orchestrator");
    fprintf(f,
            "artifact_types:\n  %s:\n    derived_from: tosca.artifacts.Deployment.Image\n"
            "    description: \"a unikernel image built by unisec (hvt: KVM guest, spt: "
            "seccomp-confined process)\"\n    file_ext: [hvt, spt]\n",
            TOPO_ARTIFACT_TYPE);
    topo_tosca_capability_types(f, t);
    topo_tosca_own_types(f, t, TOPO_K_RELATIONSHIP, "relationship_types",
                         "tosca.relationships.Root");
    topo_tosca_types(f, e);
    if (e->x->nplans == 0)
        return 0; /* no node: the topology_template written holds only nodes and groups */
    fputs("topology_template:\n  node_templates:\n", f);
    for (size_t i = 0; i < e->x->nplans; i++) {
        const struct engine_topology_plan *p = &e->x->plans[i];
        char name[TOPO_NAME_MAX + 32];
        topo_tosca_type_name(&t->types[t->nodes[i].type], name, sizeof(name));
        fprintf(f, "    %s:\n      type: %s\n", p->node, name);
        topo_yaml_node_props(f, e, i, p->images[p->current].level, 6);
        if (t->nodes[i].carry_caps != NULL) {
            fputs("      capabilities:\n", f);
            topo_yaml_lines(f, t->nodes[i].carry_caps, 8);
        }
        topo_yaml_node_reqs(f, t, &t->nodes[i], 6);
        if (p->images[0].artifact == NULL)
            continue;
        fputs("      artifacts:\n", f);
        for (size_t l = 0; l < p->nimages; l++)
            fprintf(f, "        image_%s:\n          type: %s\n          file: %s\n",
                    p->images[l].level, TOPO_ARTIFACT_TYPE, p->images[l].artifact);
    }
    topo_yaml_groups(f, t);
    return 0;
}
