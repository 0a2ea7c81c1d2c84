/* topology_yaml.c — reading a libyaml document with positions: a file read whole and parsed as
 * one document, then its scalars, maps and typed values. */
#include "topology_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const topo_type_names[] = {"string", "integer", "float", "boolean"};

const char *engine_topology_type_name(enum engine_topology_type t)
{
    return (unsigned)t < 4 ? topo_type_names[t] : "?";
}

int topo_type_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, topo_type_names[i]) == 0)
            return i;
    return -1;
}

/* ---- files and documents ---- */

int topo_read_file(const char *path, const char *name, char **buf, size_t *len,
                   struct engine_diag *d)
{
    struct stat st;
    char *b = NULL;
    size_t off = 0;
    int fd, r = 0;

    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused below */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
        r = -errno;
        engine_diag_add(d, name, 0, 0, "cannot open: %s", strerror(errno));
        return r;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        engine_diag_add(d, name, 0, 0, "expected a regular file");
        goto cleanup;
    }
    if ((uint64_t)st.st_size > ENGINE_TOPOLOGY_FILE_MAX) {
        r = engine_diag_add(d, name, 0, 0, "larger than %u bytes", ENGINE_TOPOLOGY_FILE_MAX);
        goto cleanup;
    }
    if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
        r = -ENOMEM;
        goto cleanup;
    }
    while (off < (size_t)st.st_size) {
        ssize_t n = read(fd, b + off, (size_t)st.st_size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            engine_diag_add(d, name, 0, 0, "cannot read: %s", n < 0 ? strerror(errno) : "short");
            goto cleanup;
        }
        off += (size_t)n;
    }
    b[off] = 0;
    *buf = b;
    *len = off;
    b = NULL;
cleanup:
    free(b);
    close(fd);
    return r;
}

static int topo_yaml_error(struct engine_diag *d, const char *file, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    if (p->error == YAML_MEMORY_ERROR)
        return -ENOMEM;
    engine_diag_add(d, file, (int)m->line + 1, (int)m->column + 1, "invalid YAML: %s%s%s",
                    p->problem ? p->problem : "syntax error", p->context ? " " : "",
                    p->context ? p->context : "");
    return -EINVAL;
}

/* Refuses a document nested deeper than TOPO_DEPTH_MAX before it is loaded: libyaml's
 * scanner takes time quadratic in the nesting depth (a 300 KB file of nested flow sequences
 * took a minute), and the readers recurse along the nesting. Stopping at the first event past
 * the bound keeps the cost linear in the bytes read. */
static int topo_depth_check(struct engine_diag *d, const char *file, const char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, r = 0;

    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            r = topo_yaml_error(d, file, &parser);
            break;
        }
        int type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
            depth--;
        if (depth > TOPO_DEPTH_MAX)
            r = engine_diag_add(d, file, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                                "mappings and sequences nested more than %d deep; expected a "
                                "flatter document",
                                TOPO_DEPTH_MAX);
        yaml_event_delete(&ev);
        if (r < 0 || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return r;
}

int topo_with_document(struct engine_topology *t, const char *file, const char *buf, size_t len,
                       struct engine_diag *d, int (*fn)(struct topo_ld *ld, void *arg), void *arg)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    struct topo_ld ld;
    int r;

    memset(&ld, 0, sizeof(ld));
    if ((ld.file = topo_file_intern(t, file)) == NULL)
        return -ENOMEM;
    if ((r = topo_depth_check(d, ld.file, buf, len)) < 0)
        return r;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        r = topo_yaml_error(d, ld.file, &parser);
        yaml_parser_delete(&parser);
        return r;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        r = topo_yaml_error(d, ld.file, &parser);
        goto cleanup;
    }
    if (yaml_document_get_root_node(&extra) != NULL) {
        r = engine_diag_add(d, ld.file, (int)extra.start_mark.line + 1,
                            (int)extra.start_mark.column + 1,
                            "a second YAML document; expected one document per file");
        yaml_document_delete(&extra);
        goto cleanup;
    }
    yaml_document_delete(&extra);
    ld.t = t;
    ld.d = d;
    ld.doc = &doc;
    r = fn(&ld, arg);
    if (ld.oom)
        r = -ENOMEM;
    else if (r == 0 && ld.errors > 0)
        r = -EINVAL;
    if (r == 0 && ld.visits > TOPO_VISIT_MAX)
        r = engine_diag_add(d, ld.file, 0, 0,
                            "the document expands (through aliases) to more than %u nodes",
                            TOPO_VISIT_MAX);
cleanup:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return r;
}

/* ---- the reader ---- */

static const char *topo_kind_name(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    return "a scalar";
}

int topo_ld_empty(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
           n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

yaml_node_t *topo_ld_node(struct topo_ld *ld, int index)
{
    yaml_node_t *n = yaml_document_get_node(ld->doc, index);
    ld->visits++;
    return n;
}

struct topo_pos topo_ld_pos(const struct topo_ld *ld, const yaml_node_t *n)
{
    struct topo_pos p = {ld->file, 0, 0};
    if (n != NULL) {
        p.line = (int)n->start_mark.line + 1;
        p.col = (int)n->start_mark.column + 1;
    }
    return p;
}

int topo_diag_at(struct engine_diag *d, const struct topo_pos *pos, const char *fmt, ...)
{
    va_list ap;
    if (d == NULL)
        return -EINVAL;
    va_start(ap, fmt);
    engine_diag_vadd(d, pos->file, pos->line, pos->col, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int topo_ld_err(struct topo_ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
    struct topo_pos p = topo_ld_pos(ld, n);
    va_list ap;
    va_start(ap, fmt);
    engine_diag_vadd(ld->d, p.file, p.line, p.col, fmt, ap);
    va_end(ap);
    ld->errors++;
    return -EINVAL;
}

char *topo_ld_strdup(struct topo_ld *ld, const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        ld->oom = 1;
    return c;
}

/* Is the plain scalar S one that YAML reads as null? */
static int topo_is_null(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return s[0] == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

const char *topo_ld_scalar(struct topo_ld *ld, const yaml_node_t *n, const char *what)
{
    const char *s;

    if (n->type != YAML_SCALAR_NODE) {
        topo_ld_err(ld, n, "%s: expected a string, found %s", what, topo_kind_name(n));
        return NULL;
    }
    s = (const char *)n->data.scalar.value;
    if (topo_is_null(n)) {
        topo_ld_err(ld, n, "%s: expected a string, found nothing (null)", what);
        return NULL;
    }
    if (strlen(s) != n->data.scalar.length) {
        topo_ld_err(ld, n, "%s: expected text, found a NUL character", what);
        return NULL;
    }
    return s;
}

int topo_name_valid(const char *s)
{
    /* words a YAML 1.1 reader (such as the TOSCA parsers') takes for a boolean or null */
    static const char *const words[] = {"y",   "n",    "yes",   "no",   "on",
                                        "off", "true", "false", "null", NULL};
    size_t n = strlen(s);

    if (n == 0 || n > TOPO_NAME_MAX)
        return 0;
    for (size_t i = 0; words[i] != NULL; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

const char *topo_ld_name(struct topo_ld *ld, const yaml_node_t *n, const char *what)
{
    const char *s = topo_ld_scalar(ld, n, what);

    if (s != NULL && !topo_name_valid(s)) {
        topo_ld_err(ld, n,
                    "%s '%.*s': expected a name of 1 to %d characters from [A-Za-z0-9_.-], "
                    "starting with a letter or '_', other than a YAML boolean or null word",
                    what, 64, s, TOPO_NAME_MAX);
        return NULL;
    }
    return s;
}

static int topo_ld_prefix_known(const struct topo_ld *ld, const char *s, size_t n)
{
    for (size_t i = 0; i < ld->nprefixes; i++)
        if (strlen(ld->prefixes[i]) == n && strncmp(ld->prefixes[i], s, n) == 0)
            return 1;
    return n == 5 && strncmp(s, "tosca", 5) == 0;
}

int topo_ld_prefix(struct topo_ld *ld, const yaml_node_t *n, const char *prefix)
{
    if (!topo_name_valid(prefix))
        return topo_ld_err(ld, n,
                           "namespace_prefix '%.64s': expected a name from [A-Za-z0-9_.-] "
                           "starting with a letter or '_'",
                           prefix);
    if (topo_ld_prefix_known(ld, prefix, strlen(prefix)))
        return topo_ld_err(ld, n,
                           "namespace_prefix '%.64s' is declared already in this file "
                           "(tosca is the normative types'); expected a prefix of its own",
                           prefix);
    if (ld->nprefixes == TOPO_PREFIX_MAX)
        return topo_ld_err(ld, n, "namespace_prefix '%.64s': more than %d prefixes in one file",
                           prefix, TOPO_PREFIX_MAX);
    ld->prefixes[ld->nprefixes++] = prefix;
    return 0;
}

const char *topo_ld_tname(struct topo_ld *ld, const yaml_node_t *n, const char *what)
{
    const char *s = topo_ld_scalar(ld, n, what), *colon;

    if (s == NULL || (colon = strchr(s, ':')) == NULL)
        return topo_ld_name(ld, n, what);
    if (!topo_ld_prefix_known(ld, s, (size_t)(colon - s))) {
        topo_ld_err(ld, n,
                    "%s '%.64s': unknown namespace prefix '%.*s'; expected one that an import "
                    "of this file declares (namespace_prefix) or tosca",
                    what, s, (int)(colon - s) > 64 ? 64 : (int)(colon - s), s);
        return NULL;
    }
    if (!topo_name_valid(colon + 1)) {
        topo_ld_err(ld, n,
                    "%s '%.64s': expected PREFIX:NAME, NAME of 1 to %d characters from "
                    "[A-Za-z0-9_.-] starting with a letter or '_'",
                    what, s, TOPO_NAME_MAX);
        return NULL;
    }
    return colon - s == 5 && strncmp(s, "tosca", 5) == 0 ? s : colon + 1;
}

const char *topo_ld_key(struct topo_ld *ld, const yaml_node_pair_t *p)
{
    yaml_node_t *k = topo_ld_node(ld, p->key);
    return (const char *)k->data.scalar.value;
}

static int topo_key_cmp(const void *a, const void *b)
{
    const yaml_node_t *x = *(yaml_node_t *const *)a, *y = *(yaml_node_t *const *)b;
    int c = strcmp((const char *)x->data.scalar.value, (const char *)y->data.scalar.value);
    if (c != 0)
        return c;
    if (x->start_mark.index != y->start_mark.index)
        return x->start_mark.index < y->start_mark.index ? -1 : 1;
    return 0;
}

/* Reports every key that appears twice, at its second occurrence. */
static int topo_ld_dupkeys(struct topo_ld *ld, const yaml_node_t *n, const char *what)
{
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    yaml_node_t **keys;
    int bad = 0;

    if (cnt < 2)
        return 0;
    if ((keys = malloc(cnt * sizeof(*keys))) == NULL) {
        ld->oom = 1;
        return -ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++)
        keys[i] = topo_ld_node(ld, n->data.mapping.pairs.start[i].key);
    qsort(keys, cnt, sizeof(*keys), topo_key_cmp);
    for (size_t i = 1; i < cnt; i++) {
        const char *a = (const char *)keys[i - 1]->data.scalar.value;
        if (strcmp(a, (const char *)keys[i]->data.scalar.value) != 0)
            continue;
        /* an alias of the same key node is the same key written twice too */
        bad = topo_ld_err(ld, keys[i], "%s: duplicate key '%.64s' (first at line %d)", what, a,
                          (int)keys[i - 1]->start_mark.line + 1);
    }
    free(keys);
    return bad;
}

static const char *topo_key_at(const void *arg, size_t i)
{
    return ((const char *const *)arg)[i];
}

static void topo_list_keys(char *buf, size_t size, const char *const *keys)
{
    size_t n = 0;
    while (keys[n] != NULL)
        n++;
    topo_join(buf, size, n, topo_key_at, keys, " or ");
}

int topo_ld_map(struct topo_ld *ld, const yaml_node_t *n, const char *what, const char *const *keys)
{
    int bad = 0;

    if (n->type != YAML_MAPPING_NODE)
        return topo_ld_err(ld, n, "%s: expected a mapping, found %s", what, topo_kind_name(n));
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start > TOPO_COLLECTION_MAX)
        return topo_ld_err(ld, n, "%s: more than %d entries", what, TOPO_COLLECTION_MAX);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, "<<") == 0 &&
            k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            bad = topo_ld_err(ld, k,
                              "%s: YAML merge keys (<<) are not supported; expected the keys "
                              "written out, or an alias of the whole mapping",
                              what);
            continue;
        }
        if (k->type != YAML_SCALAR_NODE || topo_is_null(k)) {
            bad = topo_ld_err(ld, k, "%s: expected a key that is a string, found %s", what,
                              k->type == YAML_SCALAR_NODE ? "null" : topo_kind_name(k));
        }
    }
    if (bad)
        return bad;
    if (topo_ld_dupkeys(ld, n, what) < 0)
        return -EINVAL;
    if (keys == NULL)
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = topo_ld_key(ld, p);
        size_t i;
        for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
            ;
        if (keys[i] == NULL) {
            char list[512];
            topo_list_keys(list, sizeof(list), keys);
            bad = topo_ld_err(ld, topo_ld_node(ld, p->key), "%s: unknown key '%.64s'; expected %s",
                              what, k, list);
        }
    }
    return bad;
}

int topo_ld_seq(struct topo_ld *ld, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return topo_ld_err(ld, n, "%s: expected a sequence, found %s", what, topo_kind_name(n));
    if (n->data.sequence.items.top - n->data.sequence.items.start > TOPO_COLLECTION_MAX)
        return topo_ld_err(ld, n, "%s: more than %d entries", what, TOPO_COLLECTION_MAX);
    return 0;
}

yaml_node_t *topo_ld_get(struct topo_ld *ld, const yaml_node_t *n, const char *key)
{
    if (n == NULL || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return topo_ld_node(ld, p->value);
    }
    return NULL;
}

/* ---- typed values ---- */

static int topo_parse_integer(char **out, const char *s, const char **why)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != 0 || errno != 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '+') {
        *why = "expected an integer (decimal digits, optional '-', 64 bits)";
        return -EINVAL;
    }
    return asprintf(out, "%lld", v) < 0 ? (*out = NULL, -ENOMEM) : 0;
}

static int topo_parse_float(char **out, const char *s, const char **why)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != 0 || errno != 0 || !isfinite(v) || s[0] == ' ' || s[0] == '\t' ||
        (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
        *why = "expected a finite decimal number";
        return -EINVAL;
    }
    /* the shortest form that reads back as the same number */
    for (int prec = 15; prec <= 17; prec++) {
        if (asprintf(out, "%.*g", prec, v) < 0)
            return *out = NULL, -ENOMEM;
        if (strtod(*out, NULL) == v || prec == 17)
            break;
        free(*out);
    }
    return 0;
}

static int topo_parse_boolean(char **out, const char *s, const char **why)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strdup(strcmp(s, yes[i]) == 0 ? "true" : "false");
            return *out ? 0 : -ENOMEM;
        }
    }
    *why = "expected true or false";
    return -EINVAL;
}

static int topo_parse_string(char **out, const char *s, const char **why)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *why = "expected text without control characters (no newline or tab)";
            return -EINVAL;
        }
    if (strlen(s) > 4096) {
        *why = "expected at most 4096 bytes";
        return -EINVAL;
    }
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

typedef int (*topo_value_parser)(char **out, const char *s, const char **why);

static const topo_value_parser topo_value_parsers[] = {
    [ENGINE_TOPOLOGY_STRING] = topo_parse_string,
    [ENGINE_TOPOLOGY_INTEGER] = topo_parse_integer,
    [ENGINE_TOPOLOGY_FLOAT] = topo_parse_float,
    [ENGINE_TOPOLOGY_BOOLEAN] = topo_parse_boolean,
};

int engine_topology_value_parse(char **out, enum engine_topology_type type, const char *text,
                                const char **why)
{
    *out = NULL;
    *why = "unknown type";
    if ((unsigned)type >= 4)
        return -EINVAL;
    return topo_value_parsers[type](out, text, why);
}

int topo_ld_value(struct topo_ld *ld, const yaml_node_t *n, enum engine_topology_type type,
                  const char *what, char **out)
{
    const char *why = NULL, *s;
    int r;

    *out = NULL;
    if (n->type != YAML_SCALAR_NODE || topo_is_null(n))
        return topo_ld_err(ld, n, "%s: expected %s %s, found %s", what,
                           type == ENGINE_TOPOLOGY_INTEGER ? "an" : "a",
                           engine_topology_type_name(type),
                           n->type == YAML_SCALAR_NODE ? "nothing (null)" : topo_kind_name(n));
    s = (const char *)n->data.scalar.value;
    if (strlen(s) != n->data.scalar.length)
        return topo_ld_err(ld, n, "%s: expected text, found a NUL character", what);
    if (type != ENGINE_TOPOLOGY_STRING && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return topo_ld_err(ld, n, "%s: expected %s %s, found the quoted string \"%.64s\"", what,
                           type == ENGINE_TOPOLOGY_INTEGER ? "an" : "a",
                           engine_topology_type_name(type), s);
    r = engine_topology_value_parse(out, type, s, &why);
    if (r == -ENOMEM) {
        ld->oom = 1;
        return r;
    }
    if (r < 0)
        return topo_ld_err(ld, n, "%s: '%.64s' is not %s %s: %s", what, s,
                           type == ENGINE_TOPOLOGY_INTEGER ? "an" : "a",
                           engine_topology_type_name(type), why);
    return 0;
}

int topo_ld_since(struct topo_ld *ld, const yaml_node_t *n, const char *key, int version,
                  const char *clause)
{
    if (ld->version == 0 || ld->version >= version)
        return 0;
    return topo_ld_err(ld, n,
                       "%s is not in tosca_simple_yaml_1_%d (TOSCA 1.3 has it, section %s); "
                       "declare a later tosca_definitions_version to use it",
                       key, ld->version % 10, clause);
}

int topo_ld_since_keys(struct topo_ld *ld, const yaml_node_t *n, const struct topo_since *v)
{
    int bad = 0;

    if (ld->version == 0 || ld->version >= 13 || n->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        for (size_t i = 0; v[i].key != NULL; i++)
            if (strcmp((const char *)k->data.scalar.value, v[i].key) == 0 &&
                topo_ld_since(ld, k, v[i].key, v[i].version, v[i].clause) < 0)
                bad = -EINVAL;
    }
    return bad;
}

int topo_ld_keys(struct topo_ld *ld, const yaml_node_t *n, char ***out, size_t *nout)
{
    size_t max;

    if (n->type != YAML_MAPPING_NODE ||
        (max = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start)) == 0)
        return 0;
    if ((*out = calloc(max, sizeof(**out))) == NULL)
        return ld->oom = 1, -ENOMEM;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = topo_ld_node(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        if (((*out)[*nout] = topo_ld_strdup(ld, (const char *)k->data.scalar.value)) == NULL)
            return -ENOMEM;
        (*nout)++;
    }
    return 0;
}
