/*
 * credentials.c — the `credentials` file: salted PBKDF2-HMAC-SHA256 hashes only. A line that
 * is not a hash is refused without ever repeating what it holds (it may be a password).
 */
#include "acl_int.h"
#include "common/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CRED_SCHEME "pbkdf2-sha256"

static int cred_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int cred_unhex(uint8_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        int hi = cred_hexval(s[2 * i]), lo = cred_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int engine_acl_cred_parse(struct engine_acl_cred *c, const char *line, size_t len, size_t *col,
                          const char **why)
{
    const char *f[4], *e = line + len, *extra = NULL;
    size_t n[4], k = 0;
    uint64_t it = 0;

    *col = 0;
    /* Split into at most four ':'-separated fields; a fifth ':' is an error. */
    for (const char *p = line; k < 4;) {
        const char *q = memchr(p, ':', (size_t)(e - p));
        f[k] = p;
        n[k] = (size_t)((q ? q : e) - p);
        k++;
        if (q == NULL)
            break;
        p = q + 1;
        if (k == 4)
            extra = q;
    }
    if (n[0] != sizeof(CRED_SCHEME) - 1 || memcmp(f[0], CRED_SCHEME, n[0]) != 0) {
        *why = "not a pbkdf2-sha256 hash";
        return -EINVAL;
    }
    if (extra != NULL) {
        *col = (size_t)(extra - line);
        *why = "too many ':'-separated fields: expected "
               "USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX";
        return -EINVAL;
    }
    if (k < 4) {
        *col = len;
        *why = "missing fields: expected USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX";
        return -EINVAL;
    }
    *col = (size_t)(f[1] - line);
    for (size_t i = 0; i < n[1]; i++) {
        if (f[1][i] < '0' || f[1][i] > '9' || it > ENGINE_ACL_ITER_MAX) {
            it = 0;
            break;
        }
        it = it * 10 + (uint64_t)(f[1][i] - '0');
    }
    if (n[1] == 0 || it < ENGINE_ACL_ITER_MIN || it > ENGINE_ACL_ITER_MAX) {
        *why = "ITERATIONS: expected a decimal number from 1000 to 10000000";
        return -EINVAL;
    }
    *col = (size_t)(f[2] - line);
    if (n[2] % 2 != 0 || n[2] < 2 * ENGINE_ACL_SALT_MIN || n[2] > 2 * ENGINE_ACL_SALT_MAX ||
        cred_unhex(c->salt, f[2], n[2]) < 0) {
        *why = "SALT_HEX: expected 32 to 128 hex digits (16 to 64 bytes)";
        return -EINVAL;
    }
    *col = (size_t)(f[3] - line);
    if (n[3] != 64 || cred_unhex(c->hash, f[3], n[3]) < 0) {
        *why = "HASH_HEX: expected 64 hex digits (a 32-byte PBKDF2-HMAC-SHA256 output)";
        return -EINVAL;
    }
    c->iterations = (uint32_t)it;
    c->salt_len = (uint32_t)(n[2] / 2);
    *col = 0;
    return 0;
}

int engine_acl_cred_verify(const struct engine_acl_cred *c, const void *password, size_t pw_len)
{
    uint8_t dk[32], diff = 0;

    if (c == NULL || (password == NULL && pw_len > 0) || c->salt_len > ENGINE_ACL_SALT_MAX)
        return -EINVAL;
    if (engine_pbkdf2_sha256(dk, sizeof(dk), password, pw_len, c->salt, c->salt_len,
                             c->iterations) < 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(dk); i++)
        diff |= dk[i] ^ c->hash[i];
    memset(dk, 0, sizeof(dk));
    return diff == 0;
}

/*
 * A comment of the credentials file (from its '#' at C to E) that holds a word pairing
 * something with a value — a ':' or '=' with a character on each side, as `alice:hunter2` or
 * `pw=hunter2` — is refused, unless that word is a well-formed hashed record (a credential
 * commented out). Git keeps whatever is committed forever; the message never quotes the word.
 */
static int cred_comment_check(const char *name, uint32_t lineno, const char *line, const char *c,
                              const char *e, struct engine_diag *d)
{
    const char *w = c + 1;

    for (;;) {
        const char *end, *colon;
        struct engine_acl_cred rec;
        size_t col;
        const char *why;
        int pair = 0;

        while (w < e && acl_blank(*w))
            w++;
        if (w == e)
            return 0;
        for (end = w; end < e && !acl_blank(*end); end++)
            if ((*end == ':' || *end == '=') && end > w && end + 1 < e && !acl_blank(end[1]))
                pair = 1;
        colon = memchr(w, ':', (size_t)(end - w));
        if (pair &&
            !(colon != NULL && engine_acl_name_valid(w, (size_t)(colon - w)) &&
              engine_acl_cred_parse(&rec, colon + 1, (size_t)(end - colon - 1), &col, &why) == 0))
            return engine_diag_add(d, name, (int)lineno, (int)(w - line) + 1,
                                   "a comment holds what looks like a plaintext secret (a word "
                                   "NAME:VALUE or NAME=VALUE): not accepted, as history keeps "
                                   "it forever; remove it");
        w = end;
    }
}

int acl_cred_line(struct engine_acl *a, const char *name, uint32_t lineno, const char *p,
                  const char *e, struct engine_diag *d)
{
    const char *line = p, *user, *colon, *end;
    struct engine_acl_cred c;
    size_t col;
    const char *why;
    int64_t uid;

    while (p < e && acl_blank(*p))
        p++;
    if (p == e)
        return 0;
    if (*p == '#')
        return cred_comment_check(name, lineno, line, p, e, d);
    /* The record is one token; after it only blanks and a comment may follow. */
    end = p;
    while (end < e && !acl_blank(*end))
        end++;
    user = p;
    colon = memchr(p, ':', (size_t)(end - p));
    if (colon == NULL || !engine_acl_name_valid(user, (size_t)(colon - user)))
        return engine_diag_add(d, name, (int)lineno, (int)(p - line) + 1,
                               "expected USER:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX with a "
                               "user name before the first ':'; a plaintext secret is not "
                               "accepted: make the line with `unisec acl passwd USER`");
    if (engine_acl_cred_parse(&c, colon + 1, (size_t)(end - colon - 1), &col, &why) < 0) {
        int ulen = (int)(colon - user);
        if (strcmp(why, "not a pbkdf2-sha256 hash") == 0)
            return engine_diag_add(d, name, (int)lineno, (int)(colon + 1 - line) + 1,
                                   "a plaintext secret is not accepted for user '%.*s': expected "
                                   "%.*s:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX; make the "
                                   "line with `unisec acl passwd %.*s`",
                                   ulen, user, ulen, user, ulen, user);
        return engine_diag_add(d, name, (int)lineno, (int)(colon + 1 + col - line) + 1, "%s", why);
    }
    for (const char *q = end; q < e; q++) {
        if (acl_blank(*q))
            continue;
        if (*q == '#') {
            if (cred_comment_check(name, lineno, line, q, e, d) < 0) {
                memset(&c, 0, sizeof(c));
                return -EINVAL;
            }
            break;
        }
        memset(&c, 0, sizeof(c));
        return engine_diag_add(d, name, (int)lineno, (int)(q - line) + 1,
                               "unexpected text after the hash ('#' starts a comment)");
    }
    if ((uid = acl_pool_intern(&a->s, user, (size_t)(colon - user))) < 0)
        return engine_diag_add(d, name, (int)lineno, 0, "out of memory");
    if (a->s.flags[uid] & ACL_F_CRED) {
        uint32_t first = 0;
        for (size_t i = 0; i < a->ncred; i++)
            if (a->cred[i].user == (uint32_t)uid)
                first = a->cred[i].line;
        memset(&c, 0, sizeof(c));
        return engine_diag_add(d, name, (int)lineno, (int)(user - line) + 1,
                               "user '%.*s' already has a credential at line %u",
                               (int)(colon - user), user, first);
    }
    if (engine_grow((void **)&a->cred, &a->credcap, a->ncred + 1, sizeof(*a->cred)) < 0)
        return engine_diag_add(d, name, (int)lineno, 0, "out of memory");
    a->s.flags[uid] |= ACL_F_CRED;
    a->cred[a->ncred++] = (struct acl_cred_rec){(uint32_t)uid, lineno, c};
    memset(&c, 0, sizeof(c));
    return 0;
}

int engine_acl_cred_line(char **out, const char *user, const void *password, size_t pw_len,
                         uint32_t iterations, const uint8_t *salt, size_t salt_len)
{
    uint8_t rnd[16], dk[32];
    char hex_salt[2 * ENGINE_ACL_SALT_MAX + 1], hex_dk[65];
    int r;

    *out = NULL;
    if (iterations == 0)
        iterations = ENGINE_ACL_ITER_DEFAULT;
    if (user == NULL || !engine_acl_name_valid(user, strlen(user)) ||
        iterations < ENGINE_ACL_ITER_MIN || iterations > ENGINE_ACL_ITER_MAX)
        return -EINVAL;
    if (salt == NULL) {
        size_t got = 0;
        while (got < sizeof(rnd)) {
            ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            got += (size_t)n;
        }
        salt = rnd;
        salt_len = sizeof(rnd);
    }
    if (salt_len < ENGINE_ACL_SALT_MIN || salt_len > ENGINE_ACL_SALT_MAX)
        return -EINVAL;
    if ((r = engine_pbkdf2_sha256(dk, sizeof(dk), password, pw_len, salt, salt_len, iterations)) <
        0)
        return r;
    for (size_t i = 0; i < salt_len; i++)
        snprintf(hex_salt + 2 * i, 3, "%02x", salt[i]);
    for (size_t i = 0; i < sizeof(dk); i++)
        snprintf(hex_dk + 2 * i, 3, "%02x", dk[i]);
    r = asprintf(out, "%s:" CRED_SCHEME ":%u:%s:%s", user, iterations, hex_salt, hex_dk);
    memset(dk, 0, sizeof(dk));
    memset(rnd, 0, sizeof(rnd));
    if (r < 0) {
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}
