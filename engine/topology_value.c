/* topology_value.c — TOSCA values (Simple Profile 3.3, 3.6.3, 4): the primitive and
 * scalar-unit types, lists and maps with their entry_schema, complex data types, constraint
 * clauses and the intrinsic functions. Values are checked where they are written; they are
 * kept as TOSCA says (a function is kept, not evaluated, except get_input of a scalar). */
#include "topology_int.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Deepest nesting of data types within one value (YAML nesting is bounded before this). */
#define TOPO_VALUE_DEPTH 32

/* ---- scalar-unit types (3.3.6) ---- */

struct topo_unit {
    const char *name;
    double factor;
};

static const struct topo_unit topo_units_size[] = {{"B", 1},
                                                   {"kB", 1e3},
                                                   {"KiB", 1024.0},
                                                   {"MB", 1e6},
                                                   {"MiB", 1048576.0},
                                                   {"GB", 1e9},
                                                   {"GiB", 1073741824.0},
                                                   {"TB", 1e12},
                                                   {"TiB", 1099511627776.0},
                                                   {NULL, 0}};
static const struct topo_unit topo_units_time[] = {{"d", 86400}, {"h", 3600},  {"m", 60},
                                                   {"s", 1},     {"ms", 1e-3}, {"us", 1e-6},
                                                   {"ns", 1e-9}, {NULL, 0}};
static const struct topo_unit topo_units_freq[] = {
    {"Hz", 1}, {"kHz", 1e3}, {"MHz", 1e6}, {"GHz", 1e9}, {NULL, 0}};
static const struct topo_unit topo_units_bitrate[] = {{"bps", 1},
                                                      {"Kbps", 1e3},
                                                      {"Kibps", 1024.0},
                                                      {"Mbps", 1e6},
                                                      {"Mibps", 1048576.0},
                                                      {"Gbps", 1e9},
                                                      {"Gibps", 1073741824.0},
                                                      {"Tbps", 1e12},
                                                      {"Tibps", 1099511627776.0},
                                                      {"Bps", 8},
                                                      {"KBps", 8e3},
                                                      {"KiBps", 8192.0},
                                                      {"MBps", 8e6},
                                                      {"MiBps", 8388608.0},
                                                      {"GBps", 8e9},
                                                      {"GiBps", 8589934592.0},
                                                      {"TBps", 8e12},
                                                      {"TiBps", 8796093022208.0},
                                                      {NULL, 0}};

static const struct {
    const char *type;
    const struct topo_unit *units;
    int exact_case; /* bitrate units differ by case (B: byte, b: bit) */
} topo_scalar_units[] = {
    {"scalar-unit.size", topo_units_size, 0},
    {"scalar-unit.time", topo_units_time, 0},
    {"scalar-unit.frequency", topo_units_freq, 0},
    {"scalar-unit.bitrate", topo_units_bitrate, 1},
};

static int topo_scalar_unit_kind(const char *type)
{
    for (size_t i = 0; i < sizeof(topo_scalar_units) / sizeof(topo_scalar_units[0]); i++)
        if (type != NULL && strcmp(type, topo_scalar_units[i].type) == 0)
            return (int)i;
    return -1;
}

/* "10 GB" as a number of the kind's base unit; -1 when S is not such a value. */
static int topo_scalar_unit_parse(int kind, const char *s, double *out)
{
    char *end;
    double v;

    v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    for (const struct topo_unit *u = topo_scalar_units[kind].units; u->name; u++)
        if (topo_scalar_units[kind].exact_case ? strcmp(end, u->name) == 0
                                               : strcasecmp(end, u->name) == 0) {
            *out = v * u->factor;
            return 0;
        }
    return -1;
}

/* ---- primitive types ---- */

static const char *const topo_primitives[] = {"string",
                                              "integer",
                                              "float",
                                              "boolean",
                                              "timestamp",
                                              "version",
                                              "range",
                                              "list",
                                              "map",
                                              "null",
                                              "scalar-unit.size",
                                              "scalar-unit.time",
                                              "scalar-unit.frequency",
                                              "scalar-unit.bitrate",
                                              NULL};

int topo_type_primitive(const char *s)
{
    for (size_t i = 0; topo_primitives[i]; i++)
        if (strcmp(topo_primitives[i], s) == 0)
            return 1;
    return 0;
}

/* version: major.minor[.fix[.qualifier[-build]]] (3.3.2), packed for comparison. */
static int topo_version_parse(const char *s, double *out)
{
    long part[3] = {0, 0, 0};
    int n = 0;
    const char *p = s;

    while (n < 3) {
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        part[n++] = strtol(p, &end, 10);
        if (part[n - 1] > 99999)
            return -1;
        p = end;
        if (*p != '.')
            break;
        p++;
        if (n == 3)
            break; /* the qualifier and build follow */
    }
    if (n < 2 && !(n == 1 && *p == 0))
        return -1;
    *out = (double)part[0] * 1e10 + (double)part[1] * 1e5 + (double)part[2];
    return 0;
}

/* The number a scalar of TYPE stands for; -1 when TYPE is not ordered by number or S does not
 * parse (the caller then says what was expected). */
static int topo_number(const char *type, const char *s, double *out)
{
    char *end;
    int k = topo_scalar_unit_kind(type);

    if (k >= 0)
        return topo_scalar_unit_parse(k, s, out);
    if (type != NULL && strcmp(type, "version") == 0)
        return topo_version_parse(s, out);
    if (type != NULL && (strcmp(type, "integer") == 0 || strcmp(type, "float") == 0)) {
        *out = strtod(s, &end);
        return end != s && *end == 0 && isfinite(*out) ? 0 : -1;
    }
    return -1;
}

static const char *topo_kind_of(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a sequence"
                                           : "a scalar";
}

static int topo_is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A scalar of a primitive TYPE other than list and map. */
static int topo_check_primitive(struct topo_ld *ld, const yaml_node_t *v, const char *type,
                                const char *what)
{
    const char *s = (const char *)v->data.scalar.value;
    double x;
    int t = topo_type_parse(type), k = topo_scalar_unit_kind(type);

    if (strcmp(type, "range") == 0) {
        yaml_node_t *a, *b;
        if (v->type != YAML_SEQUENCE_NODE ||
            v->data.sequence.items.top - v->data.sequence.items.start != 2)
            return topo_ld_err(ld, v, "%s: expected a range [LOWER, UPPER]", what);
        a = topo_ld_node(ld, v->data.sequence.items.start[0]);
        b = topo_ld_node(ld, v->data.sequence.items.start[1]);
        if (a->type != YAML_SCALAR_NODE || b->type != YAML_SCALAR_NODE ||
            topo_number("integer", (const char *)a->data.scalar.value, &x) < 0)
            return topo_ld_err(ld, v, "%s: expected a range [LOWER, UPPER] of integers", what);
        double y;
        if (strcmp((const char *)b->data.scalar.value, "UNBOUNDED") == 0)
            return 0;
        if (topo_number("integer", (const char *)b->data.scalar.value, &y) < 0 || y < x)
            return topo_ld_err(ld, v,
                               "%s: expected a range [LOWER, UPPER] of integers, UPPER "
                               "(or UNBOUNDED) not below LOWER",
                               what);
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return topo_ld_err(ld, v, "%s: expected a value of type %s, found %s", what, type,
                           topo_kind_of(v));
    if (t >= 0) {
        char *canon = NULL;
        int r = topo_ld_value(ld, v, (enum engine_topology_type)t, what, &canon);
        free(canon);
        return r;
    }
    if (k >= 0 && topo_scalar_unit_parse(k, s, &x) < 0)
        return topo_ld_err(ld, v, "%s: '%.64s' is not a %s: expected a number and a unit", what, s,
                           type);
    if (strcmp(type, "version") == 0 && topo_version_parse(s, &x) < 0)
        return topo_ld_err(ld, v,
                           "%s: '%.64s' is not a version: expected "
                           "MAJOR.MINOR[.FIX[.QUALIFIER[-BUILD]]]",
                           what, s);
    if (strcmp(type, "timestamp") == 0 && (strlen(s) < 10 || s[4] != '-' || s[7] != '-'))
        return topo_ld_err(ld, v, "%s: '%.64s' is not a timestamp: expected YYYY-MM-DD[...]", what,
                           s);
    if (strcmp(type, "null") == 0 &&
        !(topo_is_plain(v) && (s[0] == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)))
        return topo_ld_err(ld, v, "%s: expected null", what);
    return 0;
}

/* ---- constraints (3.6.3) ---- */

enum { TOPO_C_ONE, TOPO_C_TWO, TOPO_C_LIST, TOPO_C_LEN };

static const struct {
    const char *name;
    int shape;
} topo_clauses[] = {
    {"equal", TOPO_C_ONE},         {"greater_than", TOPO_C_ONE},  {"greater_or_equal", TOPO_C_ONE},
    {"less_than", TOPO_C_ONE},     {"less_or_equal", TOPO_C_ONE}, {"in_range", TOPO_C_TWO},
    {"valid_values", TOPO_C_LIST}, {"length", TOPO_C_LEN},        {"min_length", TOPO_C_LEN},
    {"max_length", TOPO_C_LEN},    {"pattern", TOPO_C_ONE},
};
#define TOPO_NCLAUSES (sizeof(topo_clauses) / sizeof(topo_clauses[0]))
enum {
    TOPO_EQ,
    TOPO_GT,
    TOPO_GE,
    TOPO_LT,
    TOPO_LE,
    TOPO_RANGE,
    TOPO_VALID,
    TOPO_LEN,
    TOPO_MINLEN,
    TOPO_MAXLEN,
    TOPO_PATTERN
};

static int topo_cons_arg(struct topo_ld *ld, struct topo_cons *c, const yaml_node_t *a,
                         const char *type, const char *what)
{
    const char *s;
    double x;
    char **slot;

    if (a->type != YAML_SCALAR_NODE)
        return topo_ld_err(ld, a, "%s: constraint %s: expected a scalar operand, found %s", what,
                           topo_clauses[c->op].name, topo_kind_of(a));
    s = (const char *)a->data.scalar.value;
    if (topo_clauses[c->op].shape == TOPO_C_LEN) {
        if (topo_number("integer", s, &x) < 0 || x < 0)
            return topo_ld_err(ld, a, "%s: constraint %s: expected a length (an integer)", what,
                               topo_clauses[c->op].name);
    } else if (c->op == TOPO_PATTERN) {
        regex_t re;
        if (strlen(s) > 256 || regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
            return topo_ld_err(ld, a,
                               "%s: constraint pattern: expected a regular expression of at "
                               "most 256 bytes",
                               what);
        regfree(&re);
    } else if (!(c->op == TOPO_RANGE && c->nargs == 1 && strcmp(s, "UNBOUNDED") == 0) &&
               type != NULL && topo_number(type, "0", &x) == 0 && topo_number(type, s, &x) < 0 &&
               topo_scalar_unit_kind(type) < 0) {
        return topo_ld_err(ld, a, "%s: constraint %s: '%.64s' is not a value of type %s", what,
                           topo_clauses[c->op].name, s, type);
    } else if (topo_scalar_unit_kind(type) >= 0 && topo_number(type, s, &x) < 0) {
        return topo_ld_err(ld, a, "%s: constraint %s: '%.64s' is not a %s", what,
                           topo_clauses[c->op].name, s, type);
    }
    if ((slot = topo_push(&c->args, c->nargs, sizeof(*slot))) == NULL ||
        (*slot = topo_ld_strdup(ld, s)) == NULL)
        return ld->oom = 1, -ENOMEM;
    c->nargs++;
    return 0;
}

static int topo_ld_clause(struct topo_ld *ld, const yaml_node_t *item, const char *type,
                          const char *what, struct topo_cons *c)
{
    const yaml_node_t *k, *v;
    const char *name;
    size_t i;
    int bad = 0, r;

    if (topo_ld_map(ld, item, "constraint", NULL) < 0)
        return -EINVAL;
    if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
        return topo_ld_err(ld, item, "%s: constraint: expected one OPERATOR: VALUE per entry",
                           what);
    k = topo_ld_node(ld, item->data.mapping.pairs.start->key);
    v = topo_ld_node(ld, item->data.mapping.pairs.start->value);
    name = (const char *)k->data.scalar.value;
    for (i = 0; i < TOPO_NCLAUSES && strcmp(topo_clauses[i].name, name) != 0; i++)
        ;
    if (i == TOPO_NCLAUSES)
        return topo_ld_err(ld, k,
                           "%s: unknown constraint '%.64s'; expected equal, greater_than, "
                           "greater_or_equal, less_than, less_or_equal, in_range, valid_values, "
                           "length, min_length, max_length or pattern",
                           what, name);
    c->op = (int)i;
    c->pos = topo_ld_pos(ld, k);
    if (topo_clauses[i].shape == TOPO_C_ONE || topo_clauses[i].shape == TOPO_C_LEN)
        return topo_cons_arg(ld, c, v, type, what);
    if (topo_ld_seq(ld, v, what) < 0)
        return -EINVAL;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (topo_clauses[i].shape == TOPO_C_TWO && n != 2)
        return topo_ld_err(ld, v, "%s: constraint in_range: expected [LOWER, UPPER]", what);
    for (size_t j = 0; j < n; j++) {
        if ((r = topo_cons_arg(ld, c, topo_ld_node(ld, v->data.sequence.items.start[j]), type,
                               what)) == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad;
}

int topo_ld_constraints(struct topo_ld *ld, const yaml_node_t *n, const char *type,
                        const char *what, struct topo_cons **out, size_t *nout)
{
    int bad = 0;

    if (topo_ld_seq(ld, n, "constraints") < 0)
        return -EINVAL;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        struct topo_cons *c = topo_push(out, *nout, sizeof(*c));
        int r;
        if (c == NULL)
            return ld->oom = 1, -ENOMEM;
        (*nout)++;
        if ((r = topo_ld_clause(ld, topo_ld_node(ld, *i), type, what, c)) == -ENOMEM)
            return r;
        bad |= r;
    }
    return bad;
}

/* Compares scalar S with operand A under TYPE: <0, 0, >0 (by number when TYPE is numeric). */
static int topo_cmp(const char *type, const char *s, const char *a)
{
    double x, y;
    if (topo_number(type, s, &x) == 0 && topo_number(type, a, &y) == 0)
        return x < y ? -1 : x > y;
    return strcmp(s, a);
}

static size_t topo_value_length(const yaml_node_t *v)
{
    if (v->type == YAML_SEQUENCE_NODE)
        return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (v->type == YAML_MAPPING_NODE)
        return (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    return v->data.scalar.length;
}

static int topo_cons_holds(struct topo_ld *ld, const struct topo_cons *c, const char *type,
                           const yaml_node_t *v)
{
    const char *s = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
    size_t len = topo_value_length(v);

    switch (topo_clauses[c->op].shape) {
    case TOPO_C_LEN: {
        size_t want = (size_t)strtoull(c->args[0], NULL, 10);
        return c->op == TOPO_LEN ? len == want : c->op == TOPO_MINLEN ? len >= want : len <= want;
    }
    case TOPO_C_TWO:
        if (v->type == YAML_SEQUENCE_NODE && len == 2) { /* a range within a range */
            for (size_t i = 0; i < 2; i++) {
                const yaml_node_t *e = topo_ld_node(ld, v->data.sequence.items.start[i]);
                const char *es = (const char *)e->data.scalar.value;
                if (e->type != YAML_SCALAR_NODE || strcmp(es, "UNBOUNDED") == 0)
                    return strcmp(c->args[1], "UNBOUNDED") == 0;
                if (topo_cmp("integer", es, c->args[0]) < 0 ||
                    (strcmp(c->args[1], "UNBOUNDED") != 0 &&
                     topo_cmp("integer", es, c->args[1]) > 0))
                    return 0;
            }
            return 1;
        }
        return s != NULL && topo_cmp(type, s, c->args[0]) >= 0 &&
               (strcmp(c->args[1], "UNBOUNDED") == 0 || topo_cmp(type, s, c->args[1]) <= 0);
    case TOPO_C_LIST:
        for (size_t i = 0; s != NULL && i < c->nargs; i++)
            if (topo_cmp(type, s, c->args[i]) == 0)
                return 1;
        return 0;
    default:
        break;
    }
    if (s == NULL)
        return 0;
    if (c->op == TOPO_PATTERN) {
        regex_t re;
        char *anchored = NULL;
        int ok = 0;
        if (asprintf(&anchored, "^(%s)$", c->args[0]) < 0)
            return ld->oom = 1, 1;
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) == 0) {
            ok = regexec(&re, s, 0, NULL, 0) == 0;
            regfree(&re);
        }
        free(anchored);
        return ok;
    }
    int r = topo_cmp(type, s, c->args[0]);
    return c->op == TOPO_EQ   ? r == 0
           : c->op == TOPO_GT ? r > 0
           : c->op == TOPO_GE ? r >= 0
           : c->op == TOPO_LT ? r < 0
                              : r <= 0;
}

static int topo_cons_check(struct topo_ld *ld, const struct topo_cons *c, size_t n,
                           const char *type, const yaml_node_t *v, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (topo_cons_holds(ld, &c[i], type, v))
            continue;
        char ops[256] = "";
        for (size_t j = 0; j < c[i].nargs; j++)
            snprintf(ops + strlen(ops), sizeof(ops) - strlen(ops), "%s%.40s", j ? ", " : "",
                     c[i].args[j]);
        return topo_ld_err(ld, v, "%s: the value does not meet the constraint %s: %s%s%s", what,
                           topo_clauses[c[i].op].name, c[i].nargs > 1 ? "[" : "", ops,
                           c[i].nargs > 1 ? "]" : "");
    }
    return 0;
}

/* ---- values of a type ---- */

static int topo_check_typed(struct topo_ld *ld, const yaml_node_t *v, const char *type,
                            const char *entry, const char *what, int depth);

/* A value of data type I (of T->tdefs): a primitive base with its constraints, or a map of
 * its properties. */
static int topo_check_data(struct topo_ld *ld, const yaml_node_t *v, int i, const char *what,
                           int depth)
{
    const struct engine_topology *t = ld->t;
    char w[320];
    int bad = 0;

    for (int j = i; j >= 0; j = t->tdefs[j].parent) {
        const struct topo_tdef *d = &t->tdefs[j];
        if (d->parent < 0 && d->derived_from != NULL && topo_type_primitive(d->derived_from)) {
            if (topo_check_typed(ld, v, d->derived_from, NULL, what, depth + 1) < 0)
                return -EINVAL;
            for (int k = i; k >= 0; k = t->tdefs[k].parent)
                if (topo_cons_check(ld, t->tdefs[k].cons, t->tdefs[k].ncons, d->derived_from, v,
                                    what) < 0)
                    return -EINVAL;
            return 0;
        }
    }
    if (v->type != YAML_MAPPING_NODE)
        return topo_ld_err(ld, v, "%s: expected a value of data type %s (a mapping), found %s",
                           what, t->tdefs[i].name, topo_kind_of(v));
    if (topo_ld_map(ld, v, what, NULL) < 0)
        return -EINVAL;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *k = topo_ld_key(ld, p);
        const struct topo_propdef *pd = topo_tdef_prop(t, i, k, 0);
        if (pd == NULL) {
            bad =
                topo_ld_err(ld, topo_ld_node(ld, p->key),
                            "%s: data type %s has no property '%.64s'", what, t->tdefs[i].name, k);
            continue;
        }
        snprintf(w, sizeof(w), "%.200s.%.64s", what, k);
        bad |= topo_value_check(ld, topo_ld_node(ld, p->value), pd, w);
    }
    for (int j = i; j >= 0 && bad == 0; j = t->tdefs[j].parent)
        for (size_t k = 0; k < t->tdefs[j].nprops; k++) {
            const struct topo_propdef *pd = &t->tdefs[j].props[k];
            if (topo_tdef_prop(t, i, pd->name, 0) != pd || !pd->required || pd->has_default ||
                topo_ld_get(ld, v, pd->name) != NULL)
                continue;
            bad = topo_ld_err(ld, v, "%s: property %s of data type %s is required", what, pd->name,
                              t->tdefs[i].name);
        }
    return bad;
}

static int topo_check_typed(struct topo_ld *ld, const yaml_node_t *v, const char *type,
                            const char *entry, const char *what, int depth)
{
    struct topo_propdef e = {.ttype = (char *)entry};
    char w[320];
    int i, bad = 0, r;

    if (depth > TOPO_VALUE_DEPTH)
        return topo_ld_err(ld, v, "%s: data types nested more than %d deep", what,
                           TOPO_VALUE_DEPTH);
    if ((r = topo_function_check(ld, v, what)) != 0)
        return r < 0 ? r : 0;
    if (strcmp(type, "list") == 0 || strcmp(type, "map") == 0) {
        int list = type[0] == 'l';
        if (list ? topo_ld_seq(ld, v, what) < 0 : topo_ld_map(ld, v, what, NULL) < 0)
            return -EINVAL;
        if (entry == NULL)
            return 0;
        if (list) {
            size_t n = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++, n++) {
                snprintf(w, sizeof(w), "%.200s[%zu]", what, n);
                bad |= topo_value_check(ld, topo_ld_node(ld, *it), &e, w);
            }
        } else {
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
                 p++) {
                snprintf(w, sizeof(w), "%.200s.%.64s", what, topo_ld_key(ld, p));
                bad |= topo_value_check(ld, topo_ld_node(ld, p->value), &e, w);
            }
        }
        return bad;
    }
    if (topo_type_primitive(type))
        return topo_check_primitive(ld, v, type, what);
    if ((i = topo_tdef_find(ld->t, TOPO_K_DATA, type)) >= 0)
        return topo_check_data(ld, v, i, what, depth);
    return 0; /* an unknown type is reported once, at its definition */
}

int topo_value_check(struct topo_ld *ld, const yaml_node_t *v, const struct topo_propdef *p,
                     const char *what)
{
    const char *type = p->ttype ? p->ttype : engine_topology_type_name(p->type);
    int r;

    if ((r = topo_function_check(ld, v, what)) != 0)
        return r < 0 ? r : 0;
    if (topo_check_typed(ld, v, type, p->entry, what, 0) < 0)
        return -EINVAL;
    return topo_cons_check(ld, p->cons, p->ncons, type, v, what);
}

/* ---- intrinsic functions (4.3 to 4.7) ---- */

static const struct {
    const char *name;
    int min, max; /* number of arguments */
    const char *usage;
} topo_functions[] = {
    {"get_input", 1, 8, "get_input: NAME or [NAME, INDEX_OR_KEY, ...]"},
    {"get_property", 2, 16, "get_property: [ENTITY, (REQ_OR_CAP,) NAME, ...]"},
    {"get_attribute", 2, 16, "get_attribute: [ENTITY, (REQ_OR_CAP,) NAME, ...]"},
    {"get_operation_output", 4, 4, "get_operation_output: [ENTITY, INTERFACE, OPERATION, OUTPUT]"},
    {"get_artifact", 2, 4, "get_artifact: [ENTITY, ARTIFACT, (LOCATION, (REMOVE))]"},
    {"get_nodes_of_type", 1, 1, "get_nodes_of_type: NODE_TYPE"},
    {"concat", 1, 256, "concat: [VALUE, ...]"},
    {"join", 1, 2, "join: [[VALUE, ...], (DELIMITER)]"},
    {"token", 3, 3, "token: [STRING, SEPARATORS, INDEX]"},
};
#define TOPO_NFUNCTIONS (sizeof(topo_functions) / sizeof(topo_functions[0]))

static int topo_function_index(struct topo_ld *ld, const yaml_node_t *v)
{
    const yaml_node_t *k;
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return -1;
    k = topo_ld_node(ld, v->data.mapping.pairs.start->key);
    if (k->type != YAML_SCALAR_NODE)
        return -1;
    for (size_t i = 0; i < TOPO_NFUNCTIONS; i++)
        if (strcmp((const char *)k->data.scalar.value, topo_functions[i].name) == 0)
            return (int)i;
    return -1;
}

int topo_is_function(struct topo_ld *ld, const yaml_node_t *v)
{
    return topo_function_index(ld, v) >= 0;
}

int topo_ref_add(struct topo_ld *ld, const yaml_node_t *args, const char *function)
{
    size_t n = args->type == YAML_SEQUENCE_NODE
                   ? (size_t)(args->data.sequence.items.top - args->data.sequence.items.start)
                   : 1;
    const yaml_node_t *a = args->type == YAML_SEQUENCE_NODE
                               ? topo_ld_node(ld, args->data.sequence.items.start[0])
                               : args;
    struct topo_ref *r;

    if ((r = topo_push(&ld->t->refs, ld->t->nrefs, sizeof(*r))) == NULL)
        return ld->oom = 1, -ENOMEM;
    ld->t->nrefs++;
    r->function = function;
    r->pos = topo_ld_pos(ld, a);
    r->self = ld->self;
    if ((r->name = topo_ld_strdup(ld, (const char *)a->data.scalar.value)) == NULL)
        return -ENOMEM;
    if (n < 2)
        return 0;
    if ((r->path = calloc(n - 1, sizeof(*r->path))) == NULL ||
        (r->ppos = calloc(n - 1, sizeof(*r->ppos))) == NULL)
        return ld->oom = 1, -ENOMEM;
    r->npath = n - 1;
    for (size_t i = 1; i < n; i++) {
        a = topo_ld_node(ld, args->data.sequence.items.start[i]);
        r->ppos[i - 1] = topo_ld_pos(ld, a);
        if (a->type != YAML_SCALAR_NODE) { /* a function: the path is known at run time only */
            for (size_t j = 0; j + 1 < i; j++)
                free(r->path[j]);
            free(r->path);
            r->path = NULL;
            r->npath = 0;
            break;
        }
        if ((r->path[i - 1] = topo_ld_strdup(ld, (const char *)a->data.scalar.value)) == NULL)
            return -ENOMEM;
    }
    return 0;
}

/* get_input's NAME must be an input of the topology template. */
static int topo_function_input(struct topo_ld *ld, const yaml_node_t *a, const char *what)
{
    const char *s = (const char *)a->data.scalar.value;
    if (a->type != YAML_SCALAR_NODE)
        return topo_ld_err(ld, a, "%s: get_input: expected an input name", what);
    if (!ld->t->inputs_read)
        return 0; /* in a type definition: resolved where the type is used */
    for (size_t i = 0; i < ld->t->ninputs; i++)
        if (strcmp(ld->t->inputs[i].def.name, s) == 0)
            return 0;
    return topo_ld_err(ld, a,
                       "%s: get_input: unknown input '%.64s'; expected one of "
                       "topology_template's inputs",
                       what, s);
}

int topo_function_check(struct topo_ld *ld, const yaml_node_t *v, const char *what)
{
    int f = topo_function_index(ld, v), bad = 0;
    const yaml_node_t *args;
    size_t n;

    if (f < 0)
        return 0;
    args = topo_ld_node(ld, v->data.mapping.pairs.start->value);
    n = args->type == YAML_SEQUENCE_NODE
            ? (size_t)(args->data.sequence.items.top - args->data.sequence.items.start)
            : 1;
    if ((args->type == YAML_SEQUENCE_NODE ? 0 : args->type != YAML_SCALAR_NODE) ||
        n < (size_t)topo_functions[f].min || n > (size_t)topo_functions[f].max ||
        (args->type == YAML_SCALAR_NODE && f != 0 && f != 5 && topo_functions[f].min > 1))
        return topo_ld_err(ld, v, "%s: bad arguments to %s; expected %s", what,
                           topo_functions[f].name, topo_functions[f].usage);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *a = args->type == YAML_SEQUENCE_NODE
                                   ? topo_ld_node(ld, args->data.sequence.items.start[i])
                                   : args;
        int r = topo_function_check(ld, a, what);
        if (r < 0)
            bad = r;
        else if (r == 0 && a->type != YAML_SCALAR_NODE && !(f == 7 && i == 0))
            bad = topo_ld_err(ld, a, "%s: %s: argument %zu: expected a scalar or a function", what,
                              topo_functions[f].name, i + 1);
        else if (r == 0 && f == 0 && i == 0 && topo_function_input(ld, a, what) < 0)
            bad = -EINVAL;
        else if (r == 0 && f == 0 && i == 0 && n > 1 &&
                 topo_ld_since(ld, args, "get_input: [NAME, INDEX_OR_KEY, ...]", 12, "4.4.1") == 0)
            bad |= topo_ref_add(ld, args, "get_input"); /* the path, checked against its type */
        else if (r == 0 && f == 0 && i == 0 && n > 1)
            bad = -EINVAL;
        else if (r == 0 && (f == 1 || f == 2 || f == 3 || f == 4 || f == 5) && i == 0)
            bad |= topo_ref_add(ld, args, topo_functions[f].name);
        else if (r == 0 && f == 8 && i == 2 &&
                 topo_number("integer", (const char *)a->data.scalar.value, &(double){0}) < 0)
            bad = topo_ld_err(ld, a, "%s: token: INDEX: expected an integer", what);
    }
    return bad < 0 ? -EINVAL : 1;
}
