/* basic.c — HTTP Basic credentials: scheme, base64, user and password. */
#include "basic.h"

#include "common/mod_str.h"

static int basic_b64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64, padded, to OUT[0..CAP). Returns the decoded length or -1. */
static long basic_b64_decode(char *out, size_t cap, const char *in, size_t n)
{
    size_t o = 0;
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = basic_b64(c)) < 0)
                return -1; /* data after padding, or a byte outside the alphabet */
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical encoding only: the bits that padding drops must be zero. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -1;
        out[o++] = (char)(w >> 16);
        if (pad < 2)
            out[o++] = (char)(w >> 8);
        if (pad < 1)
            out[o++] = (char)w;
    }
    return (long)o;
}

static int basic_user_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int mod_basic_decode(struct mod_basic_cred *c, const char *v, size_t n)
{
    size_t i = 0;
    long len;

    c->user = c->password = NULL;
    c->user_len = c->password_len = 0;
    while (i < n && v[i] != ' ' && v[i] != '\t')
        i++;
    if (!mod_ci_eq(v, i, "basic"))
        return -2;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if ((len = basic_b64_decode(c->buf, sizeof(c->buf), v + i, n - i)) < 0)
        return -22;
    size_t u = 0;
    while (u < (size_t)len && c->buf[u] != ':')
        u++;
    if (u == 0 || u == (size_t)len || u > 64 || c->buf[0] == '-')
        goto bad;
    for (size_t k = 0; k < u; k++)
        if (!basic_user_char(c->buf[k]))
            goto bad;
    for (size_t k = u + 1; k < (size_t)len; k++)
        if ((unsigned char)c->buf[k] < 0x20 || c->buf[k] == 0x7f)
            goto bad;
    c->user = c->buf;
    c->user_len = u;
    c->password = c->buf + u + 1;
    c->password_len = (size_t)len - u - 1;
    return 0;
bad:
    mod_basic_wipe(c);
    return -22;
}

void mod_basic_wipe(struct mod_basic_cred *c)
{
    /* A word-wide memset, kept by the barrier (the buffer counts as read after it), instead
     * of a volatile byte loop: this runs for every authenticated request. */
    __builtin_memset(c->buf, 0, sizeof(c->buf));
    __asm__ __volatile__("" : : "r"(c->buf) : "memory");
    c->user = c->password = NULL;
    c->user_len = c->password_len = 0;
}
