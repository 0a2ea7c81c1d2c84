/* routes.c — parsing and matching the dispatch module's static routes. */
#include "routes.h"

#include "mod_str.h"

struct routes_lex {
    const char *p;
    size_t n, i;
};

static int routes_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next blank-separated field of the line; empty at its end. */
static const char *routes_field(struct routes_lex *x, size_t *len)
{
    while (x->i < x->n && routes_blank(x->p[x->i]))
        x->i++;
    size_t s = x->i;
    while (x->i < x->n && !routes_blank(x->p[x->i]))
        x->i++;
    *len = x->i - s;
    return x->p + s;
}

static int routes_path_ok(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
            return 0;
        if (c == '*' && !(i == n - 1 && p[i - 1] == '/'))
            return 0;
    }
    return 1;
}

static int routes_line(struct mod_route *r, const char *line, size_t n, size_t *col,
                       const char **why)
{
    struct routes_lex x = {line, n, 0};
    const char *f;
    size_t fl;

    f = routes_field(&x, &fl);
    *col = (size_t)(f - line) + 1;
    if (!(fl == 1 && f[0] == '*')) {
        for (size_t i = 0; i < fl; i++)
            if (!mod_is_tchar((unsigned char)f[i]) || fl > 32) {
                *why = "the method must be an HTTP token (GET, POST...) or *";
                return -22;
            }
    }
    r->method = f;
    r->method_len = fl;

    f = routes_field(&x, &fl);
    *col = (size_t)(f - line) + 1;
    if (!routes_path_ok(f, fl)) {
        *why = "the path must start with / and be exact or end with /* (no blanks, ? or #)";
        return -22;
    }
    r->prefix = f[fl - 1] == '*';
    r->path = f;
    r->path_len = r->prefix ? fl - 2 : fl;

    f = routes_field(&x, &fl);
    *col = (size_t)(f - line) + 1;
    r->status = 0;
    for (size_t i = 0; i < fl && i < 3; i++)
        r->status = f[i] >= '0' && f[i] <= '9' ? r->status * 10 + (f[i] - '0') : -1;
    if (fl != 3 || r->status < 200 || r->status > 599) {
        *why = "the status must be a number from 200 to 599";
        return -22;
    }

    f = routes_field(&x, &fl);
    r->has_body = fl > 0;
    r->ctype = f;
    r->ctype_len = fl;
    while (x.i < n && routes_blank(line[x.i]))
        x.i++;
    r->body = line + x.i;
    r->body_len = n - x.i;
    for (size_t i = 0; i < r->body_len; i++)
        if ((unsigned char)r->body[i] < 0x20 && r->body[i] != '\t') {
            *col = x.i + i + 1;
            *why = "the body holds a control character";
            return -22;
        }
    if (r->has_body && (r->status == 204 || r->status == 304)) {
        *col = (size_t)(f - line) + 1;
        *why = "a 204 or 304 response has no body";
        return -22;
    }
    return 0;
}

int mod_routes_parse(struct mod_routes *rt, const char *text, size_t len, size_t *line, size_t *col,
                     const char **why)
{
    size_t p = 0, ln = 0;

    rt->n = 0;
    while (p < len) {
        size_t e = p, s = p;
        while (e < len && text[e] != '\n' && text[e] != ';')
            e++;
        ln++;
        size_t end = e > p && text[e - 1] == '\r' ? e - 1 : e;
        while (s < end && routes_blank(text[s]))
            s++;
        if (s < end && text[s] != '#') {
            if (rt->n == MOD_ROUTES_MAX) {
                *line = ln;
                *col = 1;
                *why = "too many routes (at most 64)";
                return -22;
            }
            for (size_t i = p; i < end; i++)
                if (text[i] == '\0') {
                    *line = ln;
                    *col = i - p + 1;
                    *why = "a NUL byte";
                    return -22;
                }
            if (routes_line(&rt->r[rt->n], text + p, end - p, col, why) < 0) {
                *line = ln;
                return -22;
            }
            rt->n++;
        }
        p = e + 1;
    }
    return 0;
}

/* How well pattern R matches PATH: 0 not at all, else 2 * length + (exact ? 2 : 1). */
static size_t routes_score(const struct mod_route *r, const char *path, size_t n)
{
    if (!r->prefix)
        return r->path_len == n && mod_mem_eq(r->path, path, n) ? 2 * n + 2 : 0;
    if (n < r->path_len || !mod_mem_eq(r->path, path, r->path_len))
        return 0;
    if (n == r->path_len || path[r->path_len] == '/')
        return 2 * r->path_len + 1;
    return 0;
}

static int routes_same_pattern(const struct mod_route *a, const struct mod_route *b)
{
    return a->prefix == b->prefix && a->path_len == b->path_len &&
           mod_mem_eq(a->path, b->path, a->path_len);
}

static void routes_allow_add(char *allow, size_t cap, size_t *used, const char *m, size_t n)
{
    if (cap == 0)
        return;
    if (*used > 0 && *used + 2 < cap) {
        allow[(*used)++] = ',';
        allow[(*used)++] = ' ';
    }
    for (size_t i = 0; i < n && *used + 1 < cap; i++)
        allow[(*used)++] = m[i];
    allow[*used] = '\0';
}

int mod_routes_match(const struct mod_routes *rt, const char *method, size_t method_len,
                     const char *path, size_t path_len, const struct mod_route **out, char *allow,
                     size_t cap)
{
    const struct mod_route *best = NULL, *exact = NULL, *any = NULL, *get = NULL;
    size_t best_score = 0;
    int head = method_len == 4 && mod_mem_eq(method, "HEAD", 4);

    for (size_t i = 0; i < rt->n; i++) {
        size_t s = routes_score(&rt->r[i], path, path_len);
        if (s > best_score) {
            best_score = s;
            best = &rt->r[i];
        }
    }
    if (best == NULL)
        return 404;
    for (size_t i = 0; i < rt->n; i++) {
        const struct mod_route *r = &rt->r[i];
        if (!routes_same_pattern(r, best))
            continue;
        if (r->method_len == method_len && mod_mem_eq(r->method, method, method_len))
            exact = exact ? exact : r;
        else if (r->method_len == 1 && r->method[0] == '*')
            any = any ? any : r;
        else if (head && r->method_len == 3 && mod_mem_eq(r->method, "GET", 3))
            get = get ? get : r;
    }
    *out = exact ? exact : get ? get : any;
    if (*out)
        return 200;
    size_t used = 0;
    if (cap)
        allow[0] = '\0';
    int has_get = 0, has_head = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const struct mod_route *r = &rt->r[i];
        if (!routes_same_pattern(r, best))
            continue;
        has_get |= r->method_len == 3 && mod_mem_eq(r->method, "GET", 3);
        has_head |= r->method_len == 4 && mod_mem_eq(r->method, "HEAD", 4);
        routes_allow_add(allow, cap, &used, r->method, r->method_len);
    }
    if (has_get && !has_head)
        routes_allow_add(allow, cap, &used, "HEAD", 4);
    return 405;
}
