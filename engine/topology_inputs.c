/* topology_inputs.c — values given to a topology template's inputs (a store's inputs.yaml,
 * `unisec init --input`): checked against the inputs' definitions and put in force. */
#include "topology_int.h"
#include "topology_yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_INPUTS_NODES_MAX 100000

/* The names of T's inputs, "a, b or c", into BUF. */
static const char *topo_inputs_names(const struct engine_topology *t, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < t->ninputs && off < size && t->inputs[i].def.name != NULL; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s",
                                i == 0                ? ""
                                : i + 1 == t->ninputs ? " or "
                                                      : ", ",
                                t->inputs[i].def.name);
    return t->ninputs == 0 ? "none: the template declares no input" : buf;
}

static struct topo_input *topo_input_find(struct engine_topology *t, const char *name)
{
    for (size_t i = 0; i < t->ninputs; i++) /* (a definition that failed may have no name) */
        if (t->inputs[i].def.name != NULL && strcmp(t->inputs[i].def.name, name) == 0)
            return &t->inputs[i];
    return NULL;
}

/* The messages from FIRST on, about a value of secret input IN, may quote it: each says
 * instead what the value should be, without it. */
static void topo_input_unquote(struct engine_diag *d, size_t first, const struct topo_input *in)
{
    for (size_t i = first; i < d->n; i++) {
        char *m = NULL;
        if (asprintf(&m,
                     "input %s: the value given (a secret: not quoted) is not valid for its "
                     "definition: expected %s%s",
                     in->def.name,
                     in->def.ttype ? in->def.ttype : engine_topology_type_name(in->def.type),
                     in->def.ncons ? " meeting its constraints" : "") < 0)
            continue;
        free(d->v[i].msg);
        d->v[i].msg = m;
    }
}

/* One value: of an input the template declares, valid for its definition, not a function. */
static int topo_input_value(struct topo_ld *ld, yaml_node_t *k, yaml_node_t *v)
{
    const char *name = topo_ld_name(ld, k, "input");
    struct topo_input *in;
    char what[128], names[512];
    int r;

    if (name == NULL)
        return -EINVAL;
    if ((in = topo_input_find(ld->t, name)) == NULL)
        return topo_ld_err(ld, k, "input '%.64s': the topology has no such input; expected %s",
                           name, topo_inputs_names(ld->t, names, sizeof(names)));
    in->given = 1; /* a wrong value is reported as such, not as a missing one */
    snprintf(what, sizeof(what), "input %s", name);
    if ((r = topo_function_check(ld, v, what)) != 0)
        return r < 0 ? r : topo_ld_err(ld, v, "%s: expected a value, not a function", what);
    size_t first = ld->d->n;
    if ((r = topo_value_check(ld, v, &in->def, what)) == 0 && in->def.scalar) {
        char *canon = NULL; /* what get_input of a scalar property takes */
        if ((r = topo_ld_value(ld, v, in->def.type, what, &canon)) == 0) {
            free(in->value);
            in->value = canon;
        }
    }
    if (r == -EINVAL && in->secret)
        topo_input_unquote(ld->d, first, in);
    return r;
}

static int topo_inputs_doc(struct topo_ld *ld, void *arg)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    int bad = 0;

    (void)arg;
    if (root == NULL || topo_ld_empty(root))
        return 0; /* an empty file gives no value */
    if (topo_ld_map(ld, root, "inputs", NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        int r = topo_input_value(ld, topo_ld_node(ld, p->key), topo_ld_node(ld, p->value));
        if (r == -ENOMEM || ld->oom)
            return -ENOMEM;
        bad |= r;
    }
    return bad;
}

int topo_inputs_given(struct engine_topology *t, struct engine_diag *d)
{
    int r, bad = 0;

    if (t->given == NULL || t->given_done)
        return 0;
    t->given_done = 1;
    r = topo_with_document(t, t->given_name, t->given, t->given_len, d, topo_inputs_doc, NULL);
    if (r == -ENOMEM)
        return r;
    for (size_t i = 0; i < t->ninputs; i++) {
        const struct topo_input *in = &t->inputs[i];
        if (in->def.name != NULL && in->def.required && !in->def.has_default && !in->given)
            bad = topo_diag_at(d, &in->def.pos,
                               "input %s: required and without a default; expected a value%s%s "
                               "(--input %s=VALUE)",
                               in->def.name, strcmp(t->given_name, "--input") ? " in " : "",
                               strcmp(t->given_name, "--input") ? t->given_name : "", in->def.name);
    }
    return r < 0 ? r : bad;
}

/* "NAME=VALUE" set in mapping ROOT of DOC, VALUE read as one YAML value. */
static int topo_inputs_assign(yaml_document_t *doc, int root, const char *assign, size_t *budget,
                              struct engine_diag *d)
{
    const char *eq = strchr(assign, '=');
    yaml_document_t val;
    yaml_node_t *v;
    char name[TOPO_NAME_MAX + 1];
    int r, k, c, id = 0;

    if (eq == NULL || eq == assign || (size_t)(eq - assign) > TOPO_NAME_MAX)
        return engine_diag_add(d, "--input", 0, 0, "'%.64s': expected NAME=VALUE", assign);
    snprintf(name, sizeof(name), "%.*s", (int)(eq - assign), assign);
    if (!topo_name_valid(name))
        return engine_diag_add(d, "--input", 0, 0,
                               "'%.64s': expected a name of [A-Za-z0-9_.-] starting with a "
                               "letter or '_'",
                               name);
    if (strpbrk(eq + 1, "\n\r") != NULL) /* one line: what a shell word holds */
        return engine_diag_add(d, "--input", 0, 0, "%s: expected a value on one line", name);
    if ((r = topo_yaml_load(&val, eq + 1, strlen(eq + 1))) < 0)
        return r == -EINVAL
                   ? engine_diag_add(d, "--input", 0, 0,
                                     "%s: '%.64s' is not a YAML value; quote it", name, eq + 1)
                   : r;
    if ((v = yaml_document_get_root_node(&val)) == NULL) { /* "NAME=": the empty string */
        r = (c = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)"", 0,
                                          YAML_DOUBLE_QUOTED_SCALAR_STYLE))
                ? 0
                : -ENOMEM;
    } else {
        r = (c = topo_yaml_copy(doc, &val, v, 1, budget)) ? 0 : -ENOMEM;
    }
    yaml_document_delete(&val);
    if (r < 0)
        return r;
    if (topo_yaml_get(doc, yaml_document_get_node(doc, root), name, &id) != NULL) {
        yaml_node_t *map = yaml_document_get_node(doc, root); /* the value is replaced */
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
            yaml_node_t *key = yaml_document_get_node(doc, p->key);
            /* NAME's alone: another key may alias the same value */
            if (p->value == id && key->type == YAML_SCALAR_NODE &&
                strcmp((const char *)key->data.scalar.value, name) == 0)
                p->value = c;
        }
        return 0;
    }
    if (!(k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)name, -1,
                                       YAML_PLAIN_SCALAR_STYLE)) ||
        !yaml_document_append_mapping_pair(doc, root, k, c))
        return -ENOMEM;
    return 0;
}

int engine_topology_inputs_text(char **out, size_t *len, const char *file, size_t flen,
                                const char *fname, char *const *assign, size_t n,
                                struct engine_diag *d)
{
    yaml_document_t doc;
    yaml_node_t *root;
    size_t budget = TOPO_INPUTS_NODES_MAX;
    int r = 0, id = 0;

    *out = NULL;
    *len = 0;
    if (n == 0) { /* the file as it is, comments and all */
        if ((*out = malloc(flen + 1)) == NULL)
            return -ENOMEM;
        memcpy(*out, file ? file : "", flen);
        (*out)[flen] = '\0';
        *len = flen;
        return 0;
    }
    if ((r = topo_yaml_load(&doc, file ? file : "", flen)) < 0)
        return r == -EINVAL
                   ? engine_diag_add(d, fname, 0, 0, "not YAML; expected a mapping NAME: VALUE")
                   : r;
    if ((root = yaml_document_get_root_node(&doc)) == NULL) {
        if (!(id = yaml_document_add_mapping(&doc, NULL, YAML_BLOCK_MAPPING_STYLE)))
            r = -ENOMEM;
    } else if (root->type != YAML_MAPPING_NODE) {
        r = engine_diag_add(d, fname, 0, 0, "expected a mapping NAME: VALUE");
    } else {
        id = (int)(root - doc.nodes.start) + 1;
    }
    for (size_t i = 0; r == 0 && i < n; i++)
        r = topo_inputs_assign(&doc, id, assign[i], &budget, d);
    if (r < 0) {
        yaml_document_delete(&doc);
        return r;
    }
    doc.start_implicit = doc.end_implicit = 1; /* no "---" */
    return topo_yaml_emit(&doc, out, len);
}

size_t engine_topology_input_count(const struct engine_topology *t)
{
    return t->ninputs;
}

const char *engine_topology_input_name(const struct engine_topology *t, size_t i)
{
    return i < t->ninputs ? t->inputs[i].def.name : NULL;
}

/* DOC on one line, as --input takes it: collections in flow style, a scalar with a line break
 * double-quoted (the break escaped); written without a width. */
static void topo_inputs_flow(yaml_document_t *doc)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
        if (n->type == YAML_MAPPING_NODE)
            n->data.mapping.style = YAML_FLOW_MAPPING_STYLE;
        else if (n->type == YAML_SEQUENCE_NODE)
            n->data.sequence.style = YAML_FLOW_SEQUENCE_STYLE;
        else if (n->type == YAML_SCALAR_NODE &&
                 (n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                  n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE ||
                  memchr(n->data.scalar.value, '\n', n->data.scalar.length) != NULL ||
                  memchr(n->data.scalar.value, '\r', n->data.scalar.length) != NULL))
            n->data.scalar.style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

int topo_yaml_line(yaml_document_t *src, yaml_node_t *v, char **out, size_t *len)
{
    return topo_yaml_line_with(src, v, NULL, NULL, out, len);
}

int topo_yaml_line_with(yaml_document_t *src, yaml_node_t *v, topo_yaml_subst_fn subst, void *arg,
                        char **out, size_t *len)
{
    yaml_document_t doc;
    size_t budget = TOPO_INPUTS_NODES_MAX;

    *out = NULL;
    *len = 0;
    if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1))
        return -ENOMEM;
    if (!topo_yaml_copy_with(&doc, src, v, 1, &budget, subst, arg)) {
        yaml_document_delete(&doc);
        return budget == 0 ? -E2BIG : -ENOMEM;
    }
    topo_inputs_flow(&doc);
    return topo_yaml_emit_width(&doc, out, len, -1);
}

int engine_topology_input_show(char **out, size_t *len, const struct engine_topology *t,
                               const char *given, size_t glen, const char *name)
{
    const struct topo_input *in = topo_input_find((struct engine_topology *)t, name);
    yaml_document_t src;
    yaml_node_t *root, *v = NULL;
    int r;

    *out = NULL;
    *len = 0;
    if (in == NULL)
        return -ENOENT;
    if (given != NULL && glen > 0) { /* the value given */
        if ((r = topo_yaml_load(&src, given, glen)) < 0)
            return r == -ENOMEM ? r : -EIO; /* the inputs.yaml T loaded with: it is YAML */
        if ((root = yaml_document_get_root_node(&src)) != NULL && root->type == YAML_MAPPING_NODE)
            v = topo_yaml_get(&src, root, name, NULL);
        r = v != NULL ? topo_yaml_line(&src, v, out, len) : 0;
        yaml_document_delete(&src);
        if (v != NULL)
            return r;
    }
    /* else its default, else nothing */
    *len = in->shown != NULL ? strlen(in->shown) : 0;
    if ((*out = malloc(*len + 1)) == NULL)
        return -ENOMEM;
    memcpy(*out, in->shown != NULL ? in->shown : "", *len + 1);
    return 0;
}
