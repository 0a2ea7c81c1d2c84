/* topology_state.c — the run-time state beside a topology: current levels, property overrides. */
#include "topology_derive.h"
#include "topology_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_STATE_LEVELS "state/levels"
#define TOPO_STATE_PROPS  "state/properties"

struct engine_topology_state {
    const struct engine_topology *t;
    size_t *level; /* per node: index into its levels */
    char ***over;  /* per node: NULL, or one override (or NULL) per property */
};

int engine_topology_state_new(struct engine_topology_state **out, const struct engine_topology *t)
{
    struct engine_topology_state *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return -ENOMEM;
    s->t = t;
    if (t->nnodes > 0 && ((s->level = calloc(t->nnodes, sizeof(*s->level))) == NULL ||
                          (s->over = calloc(t->nnodes, sizeof(*s->over))) == NULL)) {
        engine_topology_state_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void engine_topology_state_free(struct engine_topology_state *s)
{
    if (s == NULL)
        return;
    /* Most nodes have no override: no call for them (a state is freed on every level write). */
    for (size_t i = 0; s->over && i < s->t->nnodes; i++) {
        if (s->over[i] == NULL)
            continue;
        for (size_t p = 0; p < s->t->nodes[i].pub.nprops; p++)
            free(s->over[i][p]);
        free(s->over[i]);
    }
    free(s->over);
    free(s->level);
    free(s);
}

const char *engine_topology_state_level(const struct engine_topology_state *s, const char *node)
{
    int i = topo_node_find(s->t, node);
    return i < 0 ? NULL : s->t->nodes[i].pub.levels[s->level[i]];
}

const char *engine_topology_state_level_at(const struct engine_topology_state *s, size_t i)
{
    return i < s->t->nnodes ? s->t->nodes[i].pub.levels[s->level[i]] : NULL;
}

size_t engine_topology_state_level_next_change(const struct engine_topology_state *a,
                                               const struct engine_topology_state *b, size_t i)
{
    if (a->t != b->t)
        return i;
    while (i < a->t->nnodes && a->level[i] == b->level[i])
        i++;
    return i;
}

size_t topo_state_level_index(const struct engine_topology_state *s, size_t node)
{
    return s ? s->level[node] : 0;
}

static const char *topo_level_at(const void *arg, size_t i)
{
    return ((const struct engine_topology_node *)arg)->levels[i];
}

/* "default, high or critical" */
static void topo_levels_list(const struct engine_topology_node *n, char *buf, size_t size)
{
    topo_join(buf, size, n->nlevels, topo_level_at, n, " or ");
}

/* The index of node NODE, or -ENOENT with an error in D at FILE:LINE:COL. */
static int topo_state_node(const struct engine_topology_state *s, const char *node,
                           struct engine_diag *d, const char *file, int line, int col)
{
    int i = topo_node_find(s->t, node);

    if (i < 0 && d)
        engine_diag_add(d, file, line, col, "no node '%.64s' in the topology", node);
    return i < 0 ? -ENOENT : i;
}

/* Sets a level; errors go to D at FILE:LINE:COL (FILE NULL: no position). */
static int topo_state_level_set(struct engine_topology_state *s, const char *node,
                                const char *level, struct engine_diag *d, const char *file,
                                int line, int col)
{
    int i = topo_state_node(s, node, d, file, line, col), l;
    char list[512];

    if (i < 0)
        return i;
    if ((l = engine_topology_node_level_index(&s->t->nodes[i].pub, level)) < 0) {
        topo_levels_list(&s->t->nodes[i].pub, list, sizeof(list));
        if (d)
            engine_diag_add(d, file, line, col, "level '%.64s' of node %s: expected %s", level,
                            node, list);
        return -EINVAL;
    }
    s->level[i] = (size_t)l;
    return 0;
}

int engine_topology_state_set_level(struct engine_topology_state *s, const char *node,
                                    const char *level, struct engine_diag *d)
{
    return topo_state_level_set(s, node, level, d, NULL, 0, 0);
}

static int topo_prop_index(const struct topo_node *n, const char *name)
{
    for (size_t i = 0; i < n->pub.nprops; i++)
        if (strcmp(n->props[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *engine_topology_state_property(const struct engine_topology_state *s, const char *node,
                                           const char *name)
{
    int i = topo_node_find(s->t, node), p;

    if (i < 0 || (p = topo_prop_index(&s->t->nodes[i], name)) < 0)
        return NULL;
    if (s->over[i] != NULL && s->over[i][p] != NULL)
        return s->over[i][p];
    return s->t->nodes[i].props[p].value;
}

const char *engine_topology_state_property_shown(const struct engine_topology_state *s,
                                                 const char *node, const char *name)
{
    int i = topo_node_find(s->t, node), p;

    if (i < 0 || (p = topo_prop_index(&s->t->nodes[i], name)) < 0)
        return NULL;
    return topo_state_prop_shown(s, (size_t)i, (size_t)p);
}

const char *topo_state_prop_shown(const struct engine_topology_state *s, size_t node, size_t prop)
{
    const char *v = topo_state_prop(s, node, prop);
    const struct engine_topology_prop *p;

    if (s == NULL)
        return NULL;
    p = &s->t->nodes[node].props[prop];
    return v != NULL && v == p->value && p->secret != NULL ? p->secret : v;
}

const char *topo_state_prop(const struct engine_topology_state *s, size_t node, size_t prop)
{
    if (s != NULL && s->over[node] != NULL && s->over[node][prop] != NULL)
        return s->over[node][prop];
    return s ? s->t->nodes[node].props[prop].value : NULL;
}

static int topo_state_prop_set(struct engine_topology_state *s, const char *node, const char *name,
                               const char *value, struct engine_diag *d, const char *file, int line,
                               int col)
{
    int i = topo_state_node(s, node, d, file, line, col), p, r;
    const struct topo_node *n;
    const char *why = NULL;
    char *canon = NULL;

    if (i < 0)
        return i;
    n = &s->t->nodes[i];
    if ((p = topo_prop_index(n, name)) < 0) {
        if (d)
            engine_diag_add(d, file, line, col, "node %s has no property '%.64s'", node, name);
        return -ENOENT;
    }
    r = engine_topology_value_parse(&canon, n->props[p].type, value, &why);
    if (r == 0 && n->props[p].type == ENGINE_TOPOLOGY_STRING &&
        (canon[0] == 0 || canon[0] == ' ' || canon[0] == '\t'))
        r = -EINVAL, why = "expected text that is not empty and does not start with a blank";
    if (r == 0 && s->t->types[n->type].eprops[p].def->listen) {
        long long port = strtoll(canon, NULL, 10);
        if (port < 1 || port > 65535)
            r = -EINVAL, why = "expected a port from 1 to 65535";
    }
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        free(canon);
        if (d)
            engine_diag_add(d, file, line, col, "property %s of node %s (%s): '%.64s': %s", name,
                            node, engine_topology_type_name(n->props[p].type), value, why);
        return -EINVAL;
    }
    if (s->over[i] == NULL && (s->over[i] = calloc(n->pub.nprops, sizeof(char *))) == NULL) {
        free(canon);
        return -ENOMEM;
    }
    free(s->over[i][p]);
    s->over[i][p] = NULL;
    if (n->props[p].value != NULL && strcmp(n->props[p].value, canon) == 0)
        free(canon); /* the topology's own value: no override */
    else
        s->over[i][p] = canon;
    return 0;
}

int engine_topology_state_set_property(struct engine_topology_state *s, const char *node,
                                       const char *name, const char *value, struct engine_diag *d)
{
    return topo_state_prop_set(s, node, name, value, d, NULL, 0, 0);
}

/* ---- the line formats ---- */

/* Calls FN for each line of BUF[0..LEN) that is not blank or a comment, with the line split
 * into its first NF-1 blank-separated fields and the rest of the line as the last field. */
typedef int (*topo_line_fn)(struct engine_topology_state *s, char **f, int *cols, const char *file,
                            int line, struct engine_diag *d);

static int topo_state_lines(struct engine_topology_state *s, const char *buf, size_t len, int nf,
                            const char *file, topo_line_fn fn, struct engine_diag *d)
{
    int bad = 0, lineno = 0;
    size_t at = 0;

    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - buf) : len, e = end;
        char *line, *f[3] = {0}, *p;
        int cols[3] = {0}, k = 0, r;
        lineno++;
        if (e > at && buf[e - 1] == '\r')
            e--;
        if (memchr(buf + at, 0, e - at) != NULL) {
            bad =
                d ? engine_diag_add(d, file, lineno, 1, "a NUL character; expected text") : -EINVAL;
            at = end + 1;
            continue;
        }
        if ((line = strndup(buf + at, e - at)) == NULL)
            return -ENOMEM;
        at = end + 1;
        p = line + strspn(line, " \t");
        if (*p == 0 || *p == '#') {
            free(line);
            continue;
        }
        if (nf == 2) /* a level is one word: trailing blanks are not part of it */
            for (size_t n = strlen(line); n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t');)
                line[--n] = 0;
        while (k < nf && *p) {
            f[k] = p;
            cols[k] = (int)(p - line) + 1;
            k++;
            if (k == nf)
                break;
            p += strcspn(p, " \t");
            if (*p)
                *p++ = 0;
            p += strspn(p, " \t");
        }
        if (k < nf || (nf == 2 && f[1][strcspn(f[1], " \t")] != 0)) {
            bad = d ? engine_diag_add(d, file, lineno, 1, "expected %s",
                                      nf == 2 ? "NODE LEVEL" : "NODE PROPERTY VALUE")
                    : -EINVAL;
            free(line);
            continue;
        }
        r = fn(s, f, cols, file, lineno, d);
        free(line);
        if (r == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad ? -EINVAL : 0;
}

static int topo_state_level_line(struct engine_topology_state *s, char **f, int *cols,
                                 const char *file, int line, struct engine_diag *d)
{
    int r = topo_state_level_set(s, f[0], f[1], d, file, line, cols[1]);
    if (r == -ENOENT)
        r = -EINVAL;
    return r;
}

static int topo_state_prop_line(struct engine_topology_state *s, char **f, int *cols,
                                const char *file, int line, struct engine_diag *d)
{
    int r = topo_state_prop_set(s, f[0], f[1], f[2], d, file, line, cols[2]);
    if (r == -ENOENT)
        r = -EINVAL;
    return r;
}

int engine_topology_state_parse(struct engine_topology_state **out, const struct engine_topology *t,
                                const char *levels, size_t llen, const char *props, size_t plen,
                                struct engine_diag *d)
{
    struct engine_topology_state *s;
    int r, bad = 0;

    *out = NULL;
    if ((r = engine_topology_state_new(&s, t)) < 0)
        return r;
    if (levels != NULL) {
        r = topo_state_lines(s, levels, llen, 2, TOPO_STATE_LEVELS, topo_state_level_line, d);
        if (r == -ENOMEM)
            goto fail;
        bad |= r;
    }
    if (props != NULL) {
        r = topo_state_lines(s, props, plen, 3, TOPO_STATE_PROPS, topo_state_prop_line, d);
        if (r == -ENOMEM)
            goto fail;
        bad |= r;
    }
    if (bad) {
        r = -EINVAL;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    engine_topology_state_free(s);
    return r;
}

/* Every level write formats the whole file (a line a node): measured once, then copied into one
 * allocation, which costs a fifth of a formatted print a line. */
int engine_topology_state_format_levels(const struct engine_topology_state *s, char **out,
                                        size_t *len)
{
    static const char head[] = "# NODE LEVEL: the current security level of each node\n";
    size_t n = sizeof(head) - 1;
    char *p;

    for (size_t i = 0; i < s->t->nnodes; i++)
        n += strlen(s->t->nodes[i].name) + strlen(s->t->nodes[i].pub.levels[s->level[i]]) + 2;
    if ((p = *out = malloc(n + 1)) == NULL)
        return -ENOMEM;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    for (size_t i = 0; i < s->t->nnodes; i++) {
        const char *name = s->t->nodes[i].name, *level = s->t->nodes[i].pub.levels[s->level[i]];
        size_t a = strlen(name), b = strlen(level);
        memcpy(p, name, a);
        p[a] = ' ';
        memcpy(p + a + 1, level, b);
        p[a + 1 + b] = '\n';
        p += a + b + 2;
    }
    *p = '\0';
    *len = n;
    return 0;
}

/* Where TEXT[AT..LEN) has NODE's line as formatted with LEVEL (after a newline; names hold no
 * blank or newline): its offset, *LINE_LEN its length; LEN when it has none. */
static size_t topo_levels_line(const char *text, size_t at, size_t len, const char *node,
                               const char *level, size_t *line_len)
{
    char want[2 * 128 + 4];
    int n = snprintf(want, sizeof(want), "\n%s %s\n", node, level);
    const char *p;

    if (n < 0 || (size_t)n >= sizeof(want) ||
        (p = memmem(text + at, len - at, want, (size_t)n)) == NULL)
        return len;
    *line_len = (size_t)n - 1;
    return (size_t)(p + 1 - text);
}

int engine_topology_state_format_levels_from(const struct engine_topology_state *s,
                                             const struct engine_topology_state *from,
                                             const char *from_text, size_t from_len, char **out,
                                             size_t *len)
{
    size_t i = engine_topology_state_level_next_change(from, s, 0), at = 0, n = 0, cap, line;
    char *p;

    if (s->t != from->t || from_text == NULL)
        return engine_topology_state_format_levels(s, out, len);
    cap = from_len + 1;
    for (size_t j = i; j < s->t->nnodes;
         j = engine_topology_state_level_next_change(from, s, j + 1))
        cap += strlen(s->t->nodes[j].pub.levels[s->level[j]]);
    if ((p = malloc(cap)) == NULL)
        return -ENOMEM;
    /* Each changed line is found after the one before (the nodes are in the topology's order),
     * and its old form checked: a text that is not FROM's formatted whole is made again. */
    for (; i < s->t->nnodes; i = engine_topology_state_level_next_change(from, s, i + 1)) {
        const char *name = s->t->nodes[i].name, *level = s->t->nodes[i].pub.levels[s->level[i]];
        size_t o = topo_levels_line(from_text, at ? at - 1 : 0, from_len, name,
                                    s->t->nodes[i].pub.levels[from->level[i]], &line);
        if (o == from_len) {
            free(p);
            return engine_topology_state_format_levels(s, out, len);
        }
        memcpy(p + n, from_text + at, o - at);
        n += o - at;
        n += (size_t)sprintf(p + n, "%s %s\n", name, level);
        at = o + line;
    }
    memcpy(p + n, from_text + at, from_len - at);
    n += from_len - at;
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

int engine_topology_state_format_properties(const struct engine_topology_state *s, char **out,
                                            size_t *len)
{
    FILE *f = open_memstream(out, len);

    if (f == NULL)
        return -ENOMEM;
    fprintf(f, "# NODE PROPERTY VALUE: properties set at run time over the topology's values\n");
    for (size_t i = 0; i < s->t->nnodes; i++)
        for (size_t p = 0; s->over[i] && p < s->t->nodes[i].pub.nprops; p++)
            if (s->over[i][p] != NULL)
                fprintf(f, "%s %s %s\n", s->t->nodes[i].name, s->t->nodes[i].props[p].name,
                        s->over[i][p]);
    if (fclose(f) != 0) {
        free(*out);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

int engine_topology_state_carry(struct engine_topology_state **out,
                                const struct engine_topology *new_t,
                                const struct engine_topology_state *old, struct engine_diag *d)
{
    struct engine_topology_state *s;
    const struct engine_topology *ot = old->t;
    int r;

    if ((r = engine_topology_state_new(&s, new_t)) < 0)
        return r;
    /* The same topology: every level and override still applies, copied as it is (a level
     * write at 1,000 nodes must not look every node up again). */
    for (size_t i = 0; new_t == ot && i < ot->nnodes; i++) {
        s->level[i] = old->level[i];
        if (old->over[i] == NULL || ot->nodes[i].pub.nprops == 0)
            continue;
        if ((s->over[i] = calloc(ot->nodes[i].pub.nprops, sizeof(char *))) == NULL)
            goto nomem;
        for (size_t p = 0; p < ot->nodes[i].pub.nprops; p++)
            if (old->over[i][p] != NULL && (s->over[i][p] = strdup(old->over[i][p])) == NULL)
                goto nomem;
    }
    for (size_t i = 0; new_t != ot && i < ot->nnodes; i++) {
        const struct topo_node *n = &ot->nodes[i];
        r = topo_state_level_set(s, n->name, n->pub.levels[old->level[i]], NULL, NULL, 0, 0);
        if (r < 0 && old->level[i] != 0 && d)
            engine_diag_add(d, NULL, 0, 0, "node %s: level %s dropped (%s)", n->name,
                            n->pub.levels[old->level[i]],
                            r == -ENOENT ? "the node is gone" : "the node no longer declares it");
        for (size_t p = 0; old->over[i] && p < n->pub.nprops; p++) {
            if (old->over[i][p] == NULL)
                continue;
            r = topo_state_prop_set(s, n->name, n->props[p].name, old->over[i][p], NULL, NULL, 0,
                                    0);
            if (r == -ENOMEM)
                goto nomem;
            if (r < 0 && d)
                engine_diag_add(d, NULL, 0, 0,
                                "node %s: property %s = %s dropped (no longer valid)", n->name,
                                n->props[p].name, old->over[i][p]);
        }
    }
    *out = s;
    return 0;
nomem:
    engine_topology_state_free(s);
    return -ENOMEM;
}
