/* acl_lex.c — the lexical rules of the policy files (ACL.md, "Common lexical rules"): fields,
 * names, methods, path patterns, and how a field is quoted in a message. */
#include "acl_int.h"

#include <stdio.h>
#include <string.h>

static int acl_policy_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int engine_acl_policy_valid(const char *s, size_t n)
{
    if (n == 0 || n > ENGINE_ACL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!acl_policy_char(s[i]))
            return 0;
    return 1;
}

static int acl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

int engine_acl_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > ENGINE_ACL_NAME_MAX || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!acl_name_char(s[i]))
            return 0;
    return 1;
}

int acl_method_valid(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*')
        return 1;
    if (n == 0 || n > ENGINE_ACL_METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* Quotes S for a message when it is short printable ASCII, else describes it. */
const char *acl_quote(char *buf, size_t size, const char *s, size_t n)
{
    if (n > 40) {
        snprintf(buf, size, "(%zu bytes)", n);
        return buf;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '\'') {
            snprintf(buf, size, "(%zu bytes)", n);
            return buf;
        }
    snprintf(buf, size, "'%.*s'", (int)n, s);
    return buf;
}

/*
 * Checks a path pattern. Returns NULL and the stored form (*PLEN bytes of S, *KIND), or a
 * message and in *BAD the offset of the offending byte.
 */
const char *acl_path_check(const char *s, size_t n, size_t *plen, unsigned *kind, size_t *bad)
{
    size_t seg = 1;

    *bad = 0;
    if (s[0] != '/')
        return "expected a path starting with '/'";
    if (n > ENGINE_ACL_PATH_MAX)
        return "path longer than 1024 bytes";
    *kind = ENGINE_ACL_KIND_EXACT;
    *plen = n;
    if (n >= 2 && s[n - 2] == '/' && s[n - 1] == '*') {
        *kind = ENGINE_ACL_KIND_PREFIX;
        *plen = n - 2;
    }
    for (size_t i = 1; i <= *plen; i++) {
        unsigned char c = i < *plen ? (unsigned char)s[i] : '/';
        if (c == '/') {
            size_t len = i - seg;
            *bad = seg;
            /* Only an exact pattern may end with '/' (an empty last segment). */
            if (len == 0 && !(i == *plen && *kind == ENGINE_ACL_KIND_EXACT))
                return "empty path segment ('//')";
            if (len == 1 && s[seg] == '.')
                return "'.' segments are not allowed: write the path without them";
            if (len == 2 && s[seg] == '.' && s[seg + 1] == '.')
                return "'..' segments are not allowed: write the path without them";
            seg = i + 1;
            continue;
        }
        *bad = i;
        if (c < 0x20 || c == 0x7f)
            return "control character in path";
        if (c == '*')
            return "'*' is only allowed as the last segment of a prefix pattern such as /admin/*";
        if (c > 0x7f)
            return "non-ASCII byte in path: use percent-encoding";
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._~!$&'()+,;=:@%", c)))
            return "character not allowed in a path (allowed: letters, digits, -._~!$&'()+,;=:@%)";
    }
    return NULL;
}

/* Splits [P, E) into blank-separated fields up to a '#' at a field start. */
size_t acl_fields(const char *line, const char *e, struct acl_field *f, size_t max)
{
    const char *p = line;
    size_t k = 0;

    for (;;) {
        while (p < e && acl_blank(*p))
            p++;
        if (p == e || *p == '#')
            return k;
        const char *s = p;
        while (p < e && !acl_blank(*p))
            p++;
        if (k < max) {
            f[k].s = s;
            f[k].n = (size_t)(p - s);
            f[k].col = (size_t)(s - line) + 1;
        }
        k++;
    }
}
