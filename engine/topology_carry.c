/* topology_carry.c — what D_TOSCA carries of the topology as written (TOPOLOGY.md section 6):
 * every definition and template the reader keeps, recorded at load as lines of one-line YAML,
 * so that tosca.yaml says what the template said. Functions are kept as written: the inputs
 * they name are carried too. */
#include "topology_carry.h"
#include "topology_int.h"
#include "topology_yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is KEY one of the NULL-terminated LIST? */
static int topo_carry_in(const char *const *list, const char *key)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

/* A type named PREFIX:NAME with a namespace prefix this file's imports declare (3.6.8): NAME,
 * the name D_TOSCA, which has no imports, defines it by. */
struct topo_unprefix {
    const struct topo_ld *ld;
    int oom;
};

static int topo_carry_unprefix(yaml_document_t *dst, yaml_document_t *src, yaml_node_t *n,
                               void *arg)
{
    struct topo_unprefix *u = arg;
    const struct topo_ld *ld = u->ld;
    const char *s = (const char *)n->data.scalar.value, *colon;
    int id;

    (void)src;
    if (n->type != YAML_SCALAR_NODE || (colon = strchr(s, ':')) == NULL)
        return 0;
    for (size_t i = 0; i < ld->nprefixes; i++) {
        size_t pl = strlen(ld->prefixes[i]);
        if (pl != (size_t)(colon - s) || strncmp(ld->prefixes[i], s, pl) != 0)
            continue;
        for (int k = 0; k < TOPO_K_COUNT; k++)
            if (topo_tdef_find_exact(ld->t, k, colon + 1) >= 0) {
                id = yaml_document_add_scalar(dst, NULL, (yaml_char_t *)colon + 1, -1,
                                              YAML_PLAIN_SCALAR_STYLE);
                u->oom |= id == 0; /* 0 would copy the prefixed name */
                return id;
            }
    }
    return 0;
}

/* N on one line, its trailing line break dropped, into F. -ENOMEM, or 0 (an entry too large
 * for one line, over the reader's node budget, is left out). */
static int topo_carry_put(FILE *f, struct topo_ld *ld, yaml_node_t *n)
{
    char *line = NULL;
    size_t len = 0;
    struct topo_unprefix u = {.ld = ld};
    int r = ld->nprefixes == 0
                ? topo_yaml_line(ld->doc, n, &line, &len)
                : topo_yaml_line_with(ld->doc, n, topo_carry_unprefix, &u, &line, &len);

    if (r == 0 && u.oom)
        r = -ENOMEM;

    if (r == 0) {
        while (len > 0 && line[len - 1] == '\n')
            len--;
        fwrite(line, 1, len, f);
    }
    free(line);
    return r == -E2BIG ? 0 : r;
}

/* The entries of N, a mapping ("KEY: VALUE\n") or a sequence ("- ITEM\n"), into F; the
 * mapping's keys that KEEP refuses (when given) are left out. */
static int topo_carry_entries(struct topo_ld *ld, yaml_node_t *n, topo_carry_keep_fn keep,
                              void *arg, int part, FILE *f)
{
    int r = 0;

    if (n->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             r == 0 && i < n->data.sequence.items.top; i++) {
            fputs("- ", f);
            r = topo_carry_put(f, ld, topo_ld_node(ld, *i));
            fputc('\n', f);
        }
    if (n->type != YAML_MAPPING_NODE)
        return r;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; r == 0 && p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && keep != NULL &&
            !keep(ld, arg, part, (const char *)k->data.scalar.value, topo_ld_node(ld, p->value)))
            continue;
        if ((r = topo_carry_put(f, ld, k)) < 0)
            break;
        fputs(": ", f);
        r = topo_carry_put(f, ld, topo_ld_node(ld, p->value));
        fputc('\n', f);
    }
    return r;
}

int topo_carry_split(struct topo_ld *ld, yaml_node_t *v, const char *const *split,
                     const char *const *skip, topo_carry_keep_fn keep, void *arg, char **out)
{
    size_t nsplit = 0;
    int r = 0;

    while (split != NULL && split[nsplit] != NULL)
        nsplit++;
    for (size_t i = 0; i <= nsplit; i++)
        out[i] = NULL;
    if (v == NULL || v->type != YAML_MAPPING_NODE)
        return 0;
    for (size_t i = 0; r == 0 && i <= nsplit; i++) {
        size_t len = 0;
        FILE *f = open_memstream(&out[i], &len);
        yaml_node_t *n = i == 0 ? NULL : topo_ld_get(ld, v, split[i - 1]);
        if (f == NULL)
            return -ENOMEM;
        if (i == 0) /* the keys not split out nor skipped, whole */
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
                 r == 0 && p < v->data.mapping.pairs.top; p++) {
                yaml_node_t *k = topo_ld_node(ld, p->key);
                const char *key = (const char *)k->data.scalar.value;
                if (k->type != YAML_SCALAR_NODE || topo_carry_in(split, key) ||
                    topo_carry_in(skip, key) ||
                    (keep != NULL && !keep(ld, arg, 0, key, topo_ld_node(ld, p->value))))
                    continue;
                fprintf(f, "%s: ", key);
                r = topo_carry_put(f, ld, topo_ld_node(ld, p->value));
                fputc('\n', f);
            }
        else if (n != NULL)
            r = topo_carry_entries(ld, n, keep, arg, (int)i, f);
        if (fclose(f) != 0 && r == 0)
            r = -ENOMEM;
        if (r == 0 && len == 0) {
            free(out[i]);
            out[i] = NULL;
        }
    }
    if (r < 0) {
        for (size_t i = 0; i <= nsplit; i++) {
            free(out[i]);
            out[i] = NULL;
        }
        ld->oom = 1;
    }
    return r;
}

/* The parts a node type's or a node template's carry holds apart from the rest, which
 * D_TOSCA merges with what it writes itself (TOPO_C_*). */
static const char *const topo_carry_node_parts[] = {"properties", "capabilities", "requirements",
                                                    "attributes", "artifacts",    NULL};

int topo_tdef_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_tdef *d)
{
    static const char *const node_skip[] = {"derived_from", "description", NULL};

    if (d->kind != TOPO_K_NODE)
        return topo_carry_split(ld, v, NULL, NULL, NULL, NULL, d->carry);
    return topo_carry_split(ld, v, topo_carry_node_parts, node_skip, NULL, NULL, d->carry);
}

/* Keeps a node template's property unless D_TOSCA writes it itself: a SecTOSCA
 * multi_level_security map (unisec's own), or one of unisec's properties holding a value that
 * no function set (a function is carried as written; D_TOSCA writes it while the state keeps
 * the value it gave). */
static int topo_node_carry_keep(struct topo_ld *ld, void *arg, int part, const char *key,
                                yaml_node_t *v)
{
    const struct topo_node *n = arg;
    const struct engine_topology_prop *p;

    if (part != TOPO_C_PROPS)
        return 1;
    for (size_t i = 0; i < n->nmls; i++)
        if (strcmp(n->mls[i].prop, key) == 0)
            return 0;
    p = engine_topology_node_prop(&n->pub, key);
    return p == NULL || p->value == NULL || topo_is_function(ld, v);
}

int topo_node_carry(struct topo_ld *ld, struct topo_node *n, yaml_node_t *v)
{
    static const char *const skip[] = {"type", NULL};
    return topo_carry_split(ld, v, topo_carry_node_parts, skip, topo_node_carry_keep, n, n->carry);
}

int topo_template_carry(struct topo_ld *ld, yaml_node_t *tt)
{
    static const char *const skip[] = {"inputs", "node_templates", "groups", NULL};
    static const char *const parts[] = {"relationship_templates", "policies",  "outputs",
                                        "substitution_mappings",  "workflows", NULL};
    return topo_carry_split(ld, tt, parts, skip, NULL, NULL, ld->t->carry_tt);
}

static int topo_top_keep(struct topo_ld *ld, void *arg, int part, const char *key, yaml_node_t *v)
{
    (void)ld;
    (void)arg;
    (void)part;
    (void)v;
    return strcmp(key, "metadata") == 0 || strcmp(key, "repositories") == 0;
}

int topo_top_carry(struct topo_ld *ld, yaml_node_t *root)
{
    return topo_carry_split(ld, root, NULL, NULL, topo_top_keep, NULL, &ld->t->carry_top);
}

int topo_group_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_group *g)
{
    static const char *const skip[] = {"type", "description", "members", NULL};
    return topo_carry_split(ld, v, NULL, skip, NULL, NULL, &g->carry);
}

int topo_input_carry(struct topo_ld *ld, yaml_node_t *v, struct topo_input *in)
{
    return topo_carry_split(ld, v, NULL, NULL, NULL, NULL, &in->carry);
}
