/* topology_inputs_edit.c — one input's value set in, or removed from, the text of an inputs.yaml
 * with the rest of the text as it was (comments, order, layout), else the mapping written anew. */
#include "topology_int.h"
#include "topology_yamldoc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The byte offset where line LINE (0-based) of TEXT[0..LEN) starts; LEN past the last. */
static size_t edit_line_start(const char *text, size_t len, size_t line)
{
    size_t at = 0;

    for (size_t l = 0; l < line && at < len; at++)
        if (text[at] == '\n')
            l++;
    return at;
}

/* The offset just past line LINE's end (its newline included). */
static size_t edit_line_end(const char *text, size_t len, size_t line)
{
    size_t at = edit_line_start(text, len, line);

    while (at < len && text[at] != '\n')
        at++;
    return at < len ? at + 1 : len;
}

/* Whether line LINE holds only blanks or a comment. */
static int edit_line_idle(const char *text, size_t len, size_t line)
{
    for (size_t at = edit_line_start(text, len, line); at < len && text[at] != '\n'; at++)
        if (text[at] != ' ' && text[at] != '\t' && text[at] != '\r')
            return text[at] == '#';
    return 1;
}

/* TEXT[0..FROM) + INS + TEXT[TO..LEN) into *OUT. */
static int edit_splice(char **out, size_t *olen, const char *text, size_t len, size_t from,
                       size_t to, const char *ins)
{
    size_t n = strlen(ins);

    if ((*out = malloc(from + n + (len - to) + 1)) == NULL)
        return -ENOMEM;
    memcpy(*out, text, from);
    memcpy(*out + from, ins, n);
    memcpy(*out + from + n, text + to, len - to);
    *olen = from + n + (len - to);
    (*out)[*olen] = '\0';
    return 0;
}

/* The pair of key NAME in mapping MAP of DOC, or NULL. */
static yaml_node_pair_t *edit_pair(yaml_document_t *doc, yaml_node_t *map, const char *name)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, name) == 0)
            return p;
    }
    return NULL;
}

/* The edit made on the text: 0 with *OUT, 1 when the text's form does not allow it (not a
 * block mapping; NAME's key not alone at its line's start), -ENOMEM. */
static int edit_in_place(char **out, size_t *olen, const char *text, size_t len, const char *name,
                         const char *value)
{
    yaml_document_t doc;
    yaml_node_t *root, *k, *v;
    yaml_node_pair_t *p;
    char *line = NULL;
    size_t from, to, first, last;
    int r, indent;

    if ((r = topo_yaml_load(&doc, text, len)) < 0)
        return r == -ENOMEM ? r : 1;
    root = yaml_document_get_root_node(&doc);
    if (root != NULL &&
        (root->type != YAML_MAPPING_NODE || root->data.mapping.style == YAML_FLOW_MAPPING_STYLE)) {
        yaml_document_delete(&doc);
        return 1;
    }
    p = root != NULL ? edit_pair(&doc, root, name) : NULL;
    if (p == NULL) { /* not there: appended (as the first key is indented), or nothing to do */
        indent = root != NULL && root->data.mapping.pairs.top > root->data.mapping.pairs.start
                     ? (int)yaml_document_get_node(&doc, root->data.mapping.pairs.start->key)
                           ->start_mark.column
                     : 0;
        yaml_document_delete(&doc);
        if (value != NULL &&
            asprintf(&line, "%s%*s%s: %s\n", len > 0 && text[len - 1] != '\n' ? "\n" : "", indent,
                     "", name, value) < 0)
            return -ENOMEM;
        r = edit_splice(out, olen, text, len, len, len, line ? line : "");
        free(line);
        return r;
    }
    k = yaml_document_get_node(&doc, p->key);
    v = yaml_document_get_node(&doc, p->value);
    first = k->start_mark.line;
    from = edit_line_start(text, len, first);
    for (size_t i = from; i < k->start_mark.index; i++)
        if (text[i] != ' ') { /* something before the key on its line ("--- a: 1") */
            yaml_document_delete(&doc);
            return 1;
        }
    if (value != NULL && v->type == YAML_SCALAR_NODE && v->start_mark.line == first &&
        v->end_mark.line == first && v->start_mark.index >= k->end_mark.index &&
        v->data.scalar.style != YAML_LITERAL_SCALAR_STYLE &&
        v->data.scalar.style != YAML_FOLDED_SCALAR_STYLE) {
        /* a value on the key's line: that value alone, a comment after it kept */
        from = v->start_mark.index;
        to = v->end_mark.index;
        yaml_document_delete(&doc);
        return edit_splice(out, olen, text, len, from, to, value);
    }
    /* the key's lines through its value's, but the comments and blank lines after it */
    last = v->end_mark.line > first && v->end_mark.column == 0 ? v->end_mark.line - 1
                                                               : v->end_mark.line;
    if (last < first || v->start_mark.index < k->end_mark.index)
        last = first; /* an alias: the anchored value is elsewhere */
    while (last > first && edit_line_idle(text, len, last))
        last--;
    to = edit_line_end(text, len, last);
    indent = (int)k->start_mark.column;
    yaml_document_delete(&doc);
    if (value != NULL && asprintf(&line, "%*s%s: %s\n", indent, "", name, value) < 0)
        return -ENOMEM;
    r = edit_splice(out, olen, text, len, from, to, line ? line : "");
    free(line);
    return r;
}

/* The one-line form of the value of every key of TEXT's mapping, by key, as NAMES/LINES
 * (*N of them; a document without a mapping has none). */
static int edit_lines(const char *text, size_t len, char ***names, char ***lines, size_t *n)
{
    yaml_document_t doc;
    yaml_node_t *root;
    int r;

    *names = *lines = NULL;
    *n = 0;
    if ((r = topo_yaml_load(&doc, text, len)) < 0)
        return r;
    root = yaml_document_get_root_node(&doc);
    if (root != NULL && root->type != YAML_MAPPING_NODE)
        r = -EINVAL;
    else if (root != NULL) {
        size_t cap = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
        if (cap > 0 && ((*names = calloc(cap, sizeof(**names))) == NULL ||
                        (*lines = calloc(cap, sizeof(**lines))) == NULL))
            r = -ENOMEM;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             r == 0 && p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&doc, p->key);
            size_t l;
            if (k->type != YAML_SCALAR_NODE ||
                ((*names)[*n] = strdup((const char *)k->data.scalar.value)) == NULL)
                r = k->type != YAML_SCALAR_NODE ? -EINVAL : -ENOMEM;
            else if ((r = topo_yaml_line(&doc, yaml_document_get_node(&doc, p->value),
                                         &(*lines)[*n], &l)) == 0)
                (*n)++;
            else
                free((*names)[*n]);
        }
    }
    yaml_document_delete(&doc);
    return r;
}

static void edit_lines_free(char **names, char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(lines[i]);
    }
    free(names);
    free(lines);
}

/* Whether NEW (the edited text) holds what OLD holds, with NAME's value WANT (one line of YAML
 * and a newline; NULL: NAME absent). 1 yes, 0 no, -ENOMEM. */
static int edit_verify(const char *old, size_t olen, const char *new, size_t nlen, const char *name,
                       const char *want)
{
    char **on, **ol, **nn, **nl;
    size_t no, nw, expect;
    int r, ok = 1, had = 0;

    if ((r = edit_lines(old, olen, &on, &ol, &no)) < 0)
        return r == -ENOMEM ? r : 0;
    if ((r = edit_lines(new, nlen, &nn, &nl, &nw)) < 0) {
        edit_lines_free(on, ol, no);
        return r == -ENOMEM ? r : 0;
    }
    for (size_t i = 0; i < no; i++)
        had |= strcmp(on[i], name) == 0;
    expect = no - (size_t)had + (want != NULL);
    ok = nw == expect;
    for (size_t i = 0; ok && i < nw; i++) {
        const char *w = NULL;
        if (strcmp(nn[i], name) == 0)
            w = want;
        for (size_t j = 0; w == NULL && j < no; j++)
            if (strcmp(on[j], nn[i]) == 0)
                w = ol[j];
        ok = w != NULL && strcmp(nl[i], w) == 0 && (strcmp(nn[i], name) != 0 || want != NULL);
    }
    edit_lines_free(on, ol, no);
    edit_lines_free(nn, nl, nw);
    return ok;
}

/* VALUE (one line of YAML) as topo_yaml_line() writes it: *OUT, or NULL when it is not one
 * YAML value. */
static int edit_value_line(const char *value, char **out)
{
    yaml_document_t doc;
    yaml_node_t *v;
    size_t n;
    int r;

    *out = NULL;
    if ((r = topo_yaml_load(&doc, value, strlen(value))) < 0)
        return r == -ENOMEM ? r : 0;
    v = yaml_document_get_root_node(&doc);
    r = v != NULL ? topo_yaml_line(&doc, v, out, &n) : 0;
    yaml_document_delete(&doc);
    return r == -E2BIG ? 0 : r;
}

int engine_topology_inputs_edit(char **out, size_t *len, const char *file, size_t flen,
                                const char *fname, const char *name, const char *value,
                                struct engine_diag *d)
{
    char *text = NULL, *want = NULL, *assign = NULL;
    size_t tlen = 0;
    int r;

    *out = NULL;
    *len = 0;
    file = file ? file : "";
    if (value != NULL && strpbrk(value, "\n\r") != NULL)
        return engine_diag_add(d, fname, 0, 0, "%s: expected a value on one line", name);
    if ((value == NULL || (r = edit_value_line(value, &want)) == 0) &&
        (r = edit_in_place(&text, &tlen, file, flen, name, value)) == 0 &&
        (value == NULL || want != NULL) &&
        (r = edit_verify(file, flen, text, tlen, name, want)) == 1) {
        free(want);
        *out = text;
        *len = tlen;
        return 0;
    }
    free(want);
    free(text);
    if (r == -ENOMEM)
        return r;
    /* the text's form does not allow the edit: the mapping written anew */
    if (value != NULL) {
        if (asprintf(&assign, "%s=%s", name, value) < 0)
            return -ENOMEM;
        r = engine_topology_inputs_text(out, len, file, flen, fname, &assign, 1, d);
        free(assign);
        return r;
    }
    {
        yaml_document_t doc;
        yaml_node_t *root;
        if ((r = topo_yaml_load(&doc, file, flen)) < 0)
            return r == -EINVAL
                       ? engine_diag_add(d, fname, 0, 0, "not YAML; expected a mapping NAME: VALUE")
                       : r;
        if ((root = yaml_document_get_root_node(&doc)) == NULL || root->type != YAML_MAPPING_NODE) {
            yaml_document_delete(&doc);
            return root == NULL
                       ? engine_topology_inputs_text(out, len, file, flen, fname, NULL, 0, d)
                       : engine_diag_add(d, fname, 0, 0, "expected a mapping NAME: VALUE");
        }
        topo_yaml_unset(&doc, root, name);
        doc.start_implicit = doc.end_implicit = 1;
        return topo_yaml_emit(&doc, out, len);
    }
}
